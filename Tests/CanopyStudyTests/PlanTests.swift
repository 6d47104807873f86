import CanopyCore
import CanopyScenario
import Foundation
import Testing

@testable import CanopyStudy

@Suite("Deployment planning", .serialized)
struct PlanTests {
    func message(_ text: String) -> String {
        do { _ = try PlanSpec.load(path: try writeTemporary(text)); return "" } catch { return "\(error)" }
    }

    @Test("Candidate files and --add are read, and their errors name the field")
    func spec() throws {
        let spec = try PlanSpec.load(path: try writeTemporary("""
            sites:
              - {id: A, lat: 50.4, lon: 30.5}
              - {id: B, lat: 49.8, lon: 24.0}
              - {id: C, lat: 46.5, lon: 30.7}
            units:
              point-defence: {type: gepard, magazine: 10}
            """))
        #expect(spec.sites.map(\.id) == ["A", "B", "C"])
        #expect(spec.units["point-defence"] == PlanSpec.UnitKind(type: "gepard", magazine: 10, launchers: 1))
        #expect(spec.units["medium-range"]?.type == "nasams")
        #expect(try spec.parseAdd("2 x medium-range, 1 x long-range") == ["medium-range", "medium-range", "long-range"])
        #expect(try spec.parseAdd("point-defence") == ["point-defence"])
        var text = ""
        do { _ = try spec.parseAdd("2 x laser") } catch { text = "\(error)" }
        #expect(text.contains("unknown kind 'laser'"))
        do { _ = try spec.parseAdd("0 x long-range") } catch { text = "\(error)" }
        #expect(text.contains("at least 1"))
        // More units than sites is refused before anything runs (a billion used to be expanded).
        do { _ = try spec.parseAdd("2 x medium-range, 1000000000 x long-range") } catch { text = "\(error)" }
        #expect(text.contains("but only 3 candidate sites"))
        do { _ = try spec.parseAdd("1 x") } catch { text = "\(error)" }
        #expect(text.contains("'1 x' is not 'N x kind'"))
        #expect(message("sites: []").contains("sites: must be a non-empty list"))
        #expect(message("sites: [{id: A, lat: 95, lon: 30}]").contains("sites[0].lat"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30}, {id: A, lat: 51, lon: 30}]").contains("'A' is used twice"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30, alt: 3}]").contains("sites[0].alt: unknown field"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30}]\nunits: {x: {type: gepard, magazine: 0}}").contains("units.x.magazine"))
    }

    @Test("The planner puts a unit where it protects, and its marginal value is measured on paired runs")
    func placement() throws {
        // The quickstart raid against no defence at all: every drone that flies reaches Kyiv.
        let undefended = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml",
                                                  overrides: [ScenarioOverride(path: "fireUnits[*]", .keep(0))])
        let spec = try PlanSpec.load(path: try writeTemporary("""
            sites:
              - {id: Lviv, lat: 49.84, lon: 24.03}
              - {id: Kyiv-East, lat: 50.45, lon: 30.75}
            """))
        var planner = DeploymentPlanner(scenario: undefended, spec: spec, kinds: ["short-range"], runs: 3, threads: 2)
        let r = try planner.plan()
        #expect(r.final == [1] && r.greedy == [1])
        let ranking = r.steps[0].ranking
        #expect(ranking.map(\.site) == [1, 0])
        // A unit 470 km from every threat changes nothing, run for run.
        #expect(ranking[1].mean == DeploymentPlanner.mean(r.baseline))
        #expect(ranking[0].mean > ranking[1].mean)
        #expect(r.marginal[0].mean > 0 && r.total.mean == r.marginal[0].mean)
        #expect(planner.evaluations == 3)  // baseline and two sites; the rest came from the cache
        // The choice against the runner-up: Kyiv-East's lead over Lviv is the step's gain (Lviv
        // changes nothing), paired run for run.
        #expect(r.steps[0].runnerUp == 0)
        let lead = try #require(r.steps[0].lead)
        #expect(lead == r.steps[0].gain && lead.count == 3)
        #expect(r.steps[0].settled == (lead.lower > 0))
        #expect(planner.configured([1]).fireUnits.last?.type == "gepard")
    }
}
