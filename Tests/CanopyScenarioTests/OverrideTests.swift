import CanopyCore
import Foundation
import Testing

@testable import CanopyScenario

@Suite("Scenario overrides (what sweeps and plans vary)")
struct OverrideTests {
    func loaded(_ o: [ScenarioOverride]) throws -> Scenario {
        try ScenarioLoader.load(text: validYAML, fileName: "test.yaml", overrides: o)
    }
    func message(_ o: [ScenarioOverride]) -> String {
        do { _ = try loaded(o); return "" } catch { return "\(error)" }
    }

    @Test("set, add a key, select by index, by key=value and every element")
    func setting() throws {
        let base = try loaded([])
        var s = try loaded([ScenarioOverride(path: "fireUnits[id=FU2].magazine", .set("7"))])
        #expect(s.fireUnits.map(\.magazine) == [base.fireUnits[0].magazine, 7])
        s = try loaded([ScenarioOverride(path: "fireUnits[*].magazine", .set("11"))])
        #expect(s.fireUnits.map(\.magazine) == [11, 11])
        s = try loaded([ScenarioOverride(path: "fireUnits[0].magazine", .set("3"))])
        #expect(s.fireUnits.map(\.magazine) == [3, base.fireUnits[1].magazine])
        // doctrine has no moneyWorth key: it is added.
        s = try loaded([ScenarioOverride(path: "doctrine.moneyWorth", .set("0.5"))])
        #expect(s.doctrine.moneyWorth == 0.5)
        s = try loaded([ScenarioOverride(path: "seed", .set("99"))])
        #expect(s.seed == 99)
        // A structured value: the reserves list replaced.
        s = try loaded([ScenarioOverride(path: "doctrine.reserves", .set("[{effector: gepard, rounds: 5, for: [drone]}]"))])
        #expect(s.doctrine.reserves.count == 1 && s.doctrine.reserves.first?.rounds == 5)
        #expect(message([ScenarioOverride(path: "doctrine.reserves", .set("[{effector: gepard"))]).contains("not a valid YAML list or mapping"))
    }

    @Test("expected threats: read, and a bad type or asset named with its path")
    func expectedThreats() throws {
        let asset = try loaded([]).assets[0].name
        let s = try loaded([ScenarioOverride(path: "doctrine.expectedThreats", .set("[{type: iskander-m, count: 4, at: \(asset)}]"))])
        #expect(s.doctrine.expectedThreats == [Doctrine.Expected(threatType: "iskander-m", count: 4, asset: asset)])
        let bad = message([ScenarioOverride(path: "doctrine.expectedThreats", .set("[{type: iskandr, count: 0, at: Atlantis}]"))])
        #expect(bad.contains("doctrine.expectedThreats[0].type: unknown threat type 'iskandr'"))
        #expect(bad.contains("doctrine.expectedThreats[0].count"))
        #expect(bad.contains("doctrine.expectedThreats[0].at: must name a defended asset (got 'Atlantis'"))
    }

    @Test("the dearest round per threat class: read (a sweep may vary one class's), and a bad class or cost named")
    func maxShotCost() throws {
        #expect(try loaded([]).doctrine.maxShotCost.isEmpty)
        var s = try loaded([ScenarioOverride(path: "doctrine.maxShotCost", .set("{drone: 150000, decoy: 1.0e+6}"))])
        #expect(s.doctrine.maxShotCost == [.drone: 150_000, .decoy: 1_000_000])
        s = try loaded([ScenarioOverride(path: "doctrine.maxShotCost", .set("{drone: 150000}")),
                        ScenarioOverride(path: "doctrine.maxShotCost.drone", .set("90000"))])
        #expect(s.doctrine.maxShotCost == [.drone: 90_000])
        let bad = message([ScenarioOverride(path: "doctrine.maxShotCost", .set("{drones: 1, cruise: 0, ballistic: cheap}"))])
        #expect(bad.contains("doctrine.maxShotCost") && bad.contains("drones"), "\(bad)")
        #expect(bad.contains("doctrine.maxShotCost.cruise"), "\(bad)")
        #expect(bad.contains("doctrine.maxShotCost.ballistic"), "\(bad)")
    }

    @Test("scale keeps integers integral; keep drops the selected elements beyond n")
    func scaleAndKeep() throws {
        let base = try loaded([])
        let waveThreats = base.waves.reduce(0) { $0 + $1.count }
        var s = try loaded([ScenarioOverride(path: "raids[*].waves[*].count", .scale(2.5))])
        #expect(s.waves.reduce(0) { $0 + $1.count } == 10 && waveThreats == 4)
        s = try loaded([ScenarioOverride(path: "fireUnits[type=gepard]", .keep(0))])
        #expect(s.fireUnits.map(\.id) == ["FU1"])
        s = try loaded([ScenarioOverride(path: "fireUnits[*]", .keep(1))])
        #expect(s.fireUnits.map(\.id) == ["FU1"])
        s = try loaded([ScenarioOverride(path: "raids[0].waves[type=shahed-136].count", .scale(0.4))])
        #expect(s.waves.map(\.count) == [2])
    }

    @Test("bad overrides are refused with the path and the reason; bad values with the scenario's message")
    func errors() {
        #expect(message([ScenarioOverride(path: "fireUnits[id=NOPE].magazine", .set("3"))]).contains("selects nothing"))
        #expect(message([ScenarioOverride(path: "fireUnits[type=gepard]", .keep(2))]).contains("keep 2, but the path selects 1 element"))
        #expect(message([ScenarioOverride(path: "fireUnits[id=FU1", .set("3"))]).contains("has no ']'"))
        #expect(message([ScenarioOverride(path: "fireUnits[x].magazine", .set("3"))]).contains("not [n], [*] or [key=value]"))
        #expect(message([ScenarioOverride(path: "name.x", .set("3"))]).contains("not a mapping"))
        #expect(message([ScenarioOverride(path: "fireUnits[0].id", .scale(2))]).contains("not a number to scale"))
        // A whole number scaled beyond any integer trapped in the conversion.
        #expect(message([ScenarioOverride(path: "fireUnits[0].magazine", .scale(1e300))]).contains("too large for a whole number"))
        #expect(message([ScenarioOverride(path: "fireUnits[0].magazine", .keep(1))]).contains("ends in a list selector"))
        let bad = message([ScenarioOverride(path: "fireUnits[id=FU1].magazine", .set("-1"))])
        #expect(bad.contains("fireUnits[0].magazine") && bad.contains("-1"))
        #expect(ScenarioOverride.problem(in: "a..b") != nil || ScenarioOverride.problem(in: "") != nil)
        #expect(ScenarioOverride.problem(in: "raids[*].waves[type=shahed-136].count") == nil)
    }
}
