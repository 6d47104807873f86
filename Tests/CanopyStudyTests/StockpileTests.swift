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
        #expect(message(ok + "arrivals: poisson") == "")
        #expect(message(ok + "arrivals: sometimes").contains("arrivals: must be even or poisson (got 'sometimes')"))
        // Sizes that ran for hours or ate the memory.
        #expect(message(ok.replacingOccurrences(of: "days: 10", with: "days: 1000000000")).contains("days: must be a number of days > 0 and ≤ 3650"))
        #expect(message(ok + "paths: 1000000000").contains("paths: must be a whole number from 1 to 100000"))
        #expect(message(ok + "deliveries: [{every: 1e-300, type: nasams, rounds: 4}]").contains("deliveries[0].every: must be at least 0.1 days"))
        #expect(message(ok.replacingOccurrences(of: "perWeek: 1}", with: "perWeek: 1000000000}")).contains("raids[0].perWeek"))
        #expect(message(ok + "doctrines: []").contains("doctrines: must list at least one doctrine"))
        #expect(message(ok + "doctrines: [{name: a}, {name: a}]").contains("doctrines[1].name: 'a' names an earlier doctrine too"))
        // A field present with the wrong kind of value is an error, not its default.
        #expect(message(ok + "paths: lots").contains("paths: must be a whole number from 1 to 100000 (got lots)"))
        #expect(message(ok + "deliveries: {day: 3, type: nasams, rounds: 4}").contains("deliveries: must be a list"))
        #expect(message(ok + "doctrines: {name: a}").contains("doctrines: must be a list"))
        #expect(message(ok + "seed: -5").contains("seed: must be a whole number from 0 to 18446744073709551615"))
        #expect(message(ok + "seed: 2.5").contains("seed: must be a whole number"))
        #expect(message(ok + "seed: '18446744073709551615'") == "")
        #expect(message(ok.replacingOccurrences(of: "runs: 2", with: "runs: 1")).contains("runs: must be a whole number from 2"))
    }

    @Test("A doctrine's list or mapping value is set as that structure, the same text every time")
    func doctrineStructuredValues() throws {
        let spec = try StockpileSpec.load(path: try writeTemporary("""
            days: 10
            runs: 2
            stocks: {nasams: 5}
            raids: [{scenario: x.yaml, perWeek: 1}]
            doctrines:
              - name: dear rounds kept off drones
                set: {doctrine.maxShotCost: {drone: 999999, decoy: 500000, cruise: 4000000}, doctrine.reserves: [{effector: nasams, rounds: 2, for: [cruise]}]}
            """))
        let o = spec.doctrines[0].overrides
        #expect(o.map(\.path) == ["doctrine.maxShotCost", "doctrine.reserves"])
        #expect(o[0].operation == .set("{\"cruise\":4000000,\"decoy\":500000,\"drone\":999999}"))
        #expect(o[1].operation == .set("[{\"effector\":\"nasams\",\"for\":[\"cruise\"],\"rounds\":2}]"))
    }

    @Test("Raid times: evenly spaced, or a Poisson process at the tempo drawn per path and reproducible")
    func arrivals() throws {
        func forecaster(_ arrivals: String) throws -> StockpileForecaster {
            let spec = try StockpileSpec.load(path: try writeTemporary("""
                days: 70
                runs: 2
                stocks: {nasams: 5}
                raids: [{scenario: x.yaml, perWeek: 3.5}, {scenario: y.yaml, perWeek: 0.5}]
                arrivals: \(arrivals)
                """))
            return StockpileForecaster(spec: spec, threads: 1)
        }
        let even = try forecaster("even")
        let e = even.schedule(path: 0)
        // Kind 0 every 2 days from day 1, kind 1 every 14 days from day 7.
        let first: [Double] = e.filter { $0.raid == 0 }.map(\.day), second: [Double] = e.filter { $0.raid == 1 }.map(\.day)
        let firstWanted: [Double] = (0..<35).map { 1 + 2 * Double($0) }, secondWanted: [Double] = [7, 21, 35, 49, 63]
        #expect(first == firstWanted)
        #expect(second == secondWanted)
        #expect(even.schedule(path: 7).map(\.day) == e.map(\.day))

        let poisson = try forecaster("poisson")
        var counts = [0.0, 0.0], squares = 0.0, firstDay = 0.0
        let paths = 2000
        for p in 0..<paths {
            let s = poisson.schedule(path: p)
            let inHorizon = s.allSatisfy { $0.day >= 0 && $0.day < 70 }
            let sorted = zip(s, s.dropFirst()).allSatisfy { $0.day <= $1.day }
            #expect(inHorizon && sorted)
            for k in 0..<2 { counts[k] += Double(s.filter { $0.raid == k }.count) }
            let n0 = Double(s.filter { $0.raid == 0 }.count)
            squares += n0 * n0
            firstDay += s.first { $0.raid == 0 }?.day ?? 70
        }
        // Raids per path: Poisson with means 35 and 5 (standard errors of the means over 2000
        // paths 0.13 and 0.05), so the count's variance is about its mean (35, not the even
        // schedule's 0); the first raid of a kind is exponential with mean 7 / 3.5 = 2 days
        // (standard error 0.045).
        let mean0 = counts[0] / Double(paths)
        let variance0 = squares / Double(paths) - mean0 * mean0
        #expect(abs(mean0 - 35) < 0.7, "\(mean0)")
        #expect(abs(counts[1] / Double(paths) - 5) < 0.3, "\(counts[1] / Double(paths))")
        #expect(variance0 > 29 && variance0 < 41, "\(variance0)")
        #expect(abs(firstDay / Double(paths) - 2) < 0.2, "\(firstDay / Double(paths))")
        // Each path its own times, the same on every call.
        #expect(poisson.schedule(path: 3).map(\.day) == poisson.schedule(path: 3).map(\.day))
        #expect(poisson.schedule(path: 3).map(\.day) != poisson.schedule(path: 4).map(\.day))
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
        // A stock of a type the raids do not know is named, before any simulation.
        let misspelt = try StockpileSpec.load(path: try writeTemporary("""
            days: 12
            runs: 2
            stocks: {iris-t: 6}
            raids: [{scenario: \(scenario), perWeek: 7}]
            """))
        var f = StockpileForecaster(spec: misspelt, threads: 1)
        var text = ""
        do { _ = try f.forecast() } catch { text = "\(error)" }
        #expect(text.contains("stocks.iris-t: not an effector type") && f.simulations == 0, "\(text)")
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
