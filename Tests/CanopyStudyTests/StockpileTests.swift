import CanopyCore
import CanopyScenario
import Foundation
import Testing

@testable import CanopyStudy

@Suite("Stockpile forecasts", .serialized)
struct StockpileTests {
    func message(_ text: String) -> String {
        do { _ = try StockpileSpec.load(path: try writeTemporary(text)); return "" } catch { return "\(error)" }
    }

    @Test("Forecast files: errors name the field")
    func spec() {
        let ok = "days: 10\nruns: 2\nstocks: {nasams: 5}\nraids: [{scenario: x.yaml, perWeek: 1}]\n"
        #expect(message(ok) == "")
        #expect(message("runs: 2\nstocks: {nasams: 5}\nraids: [{scenario: x.yaml, perWeek: 1}]").contains("days:"))
        #expect(message(ok + "deliveries: [{day: 3, type: gepard, rounds: 4}]").contains("deliveries[0].type"))
        #expect(message(ok + "deliveries: [{day: 3, every: 4, type: nasams, rounds: 4}]").contains("either day or every"))
        #expect(message("days: 10\nruns: 2\nstocks: {nasams: -1}\nraids: [{scenario: x.yaml, perWeek: 1}]").contains("stocks.nasams"))
        #expect(message("days: 10\nruns: 2\nstocks: {nasams: 5}\nraids: [{scenario: x.yaml, perWeek: 0}]").contains("raids[0].perWeek"))
        #expect(message(ok + "doctrines: [{name: a, set: {'x[': 1}}]").contains("doctrines[0].set.x["))
        #expect(message(ok + "tempo: 3").contains("tempo: unknown field"))
    }

    @Test("A stock runs out when the raids use it up, later with a delivery, and protection falls after")
    func forecast() throws {
        let scenario = repositoryRoot + "/examples/quickstart.yaml"
        func run(_ deliveries: String) throws -> StockpileForecaster.DoctrineForecast {
            let spec = try StockpileSpec.load(path: try writeTemporary("""
                days: 12
                runs: 2
                paths: 30
                stocks: {iris-t-slm: 6, gepard: 100000}
                deliveries: \(deliveries)
                raids: [{scenario: \(scenario), perWeek: 7}]
                """))
            var f = StockpileForecaster(spec: spec, threads: 2)
            return try f.forecast()[0]
        }
        let plain = try run("[]")
        let iris = plain.types.first { $0.type == "iris-t-slm" }!
        let gepard = plain.types.first { $0.type == "gepard" }!
        // The quickstart fires several IRIS-T rounds a night: 6 last one or two nights.
        #expect(iris.runOutDays.allSatisfy { $0 != nil && $0! < 3 })
        #expect(gepard.runOutDays.allSatisfy { $0 == nil })
        // Without IRIS-T the cruise missile and drones get through more often.
        #expect(plain.afterRunOut.count > 0 && plain.afterRunOut.mean < plain.beforeRunOut.mean)
        #expect(plain.states.contains { $0.depleted == ["iris-t-slm"] })
        // A large delivery before the first raid keeps it going longer on every path.
        let supplied = try run("[{day: 0, type: iris-t-slm, rounds: 30}]")
        let later = supplied.types.first { $0.type == "iris-t-slm" }!
        for (a, b) in zip(iris.runOutDays, later.runOutDays) { #expect((b ?? .infinity) > a!) }
    }
}
