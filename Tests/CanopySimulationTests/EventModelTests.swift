import CanopyCore
import CanopyScenario
import Foundation
import Testing

@testable import CanopyBattle
@testable import CanopySimulation
@testable import CanopyTEWA

@Suite("The event model")
struct EventModelTests {
    func run(_ s: Scenario, replication: UInt64 = 0, model: BattleModel = .events) throws -> (Simulation, RunResult) {
        var options = RunOptions(replication: replication, trackRowInterval: 0)
        options.model = model
        let sim = try Simulation(scenario: s, options: options)
        return (sim, sim.run())
    }

    @Test("Holds every run's invariants on the examples (conservation, magazines, envelopes)")
    func invariants() throws {
        for name in ["quickstart", "winter-raid"] {
            let s = try example(name)
            for rep in 0..<2 {
                let (sim, result) = try run(s, replication: UInt64(rep))
                checkInvariants(s, sim, result)
                #expect(result.metrics.valueAtRisk > 0)
            }
        }
    }

    @Test("Flies the raid the look model flies, and is deterministic")
    func sameRaid() throws {
        let s = try example("winter-raid")
        let (_, events) = try run(s)
        let (_, looks) = try run(s, model: .looks)
        func launches(_ r: RunResult) -> [String] {
            r.events.filter { $0.kind == "launch" }.map { "\($0.time) \(fields($0)["threat"]?.stringValue ?? "")" }
        }
        #expect(launches(events) == launches(looks))
        #expect(launches(events).count == 158)
        let (_, again) = try run(s)
        #expect(again.metrics == events.metrics)
        #expect(again.events.map(\.kind) == events.events.map(\.kind))
        // It does not decide every cycle as the look model does.
        #expect(events.timings.battle.cycles < looks.timings.battle.cycles / 2)
    }

    @Test("Tracks start, are confirmed and are dropped in order; engagements cue confirmed tracks; a kill drops its track")
    func trackLifecycle() throws {
        let s = try example("winter-raid")
        let (_, result) = try run(s)
        var started: [Int: Double] = [:], confirmed: [Int: Double] = [:], dropped: [Int: (Double, String)] = [:]
        for e in result.events {
            let f = fields(e)
            guard let id = f["track"]?.doubleValue.map({ Int($0) }) else { continue }
            switch e.kind {
            case "track_start": started[id] = e.time
            case "track_confirm":
                #expect(started[id].map { $0 <= e.time } == true, "track \(id) confirmed before it started")
                confirmed[id] = e.time
            case "track_drop":
                #expect(confirmed[id].map { $0 <= e.time } == true, "track \(id) dropped before it was confirmed")
                dropped[id] = (e.time, f["reason"]?.stringValue ?? "")
            case "engage":
                #expect(confirmed[id].map { $0 <= e.time } == true, "track \(id) engaged unconfirmed")
                #expect(f["target"]?.stringValue != "false", "the event model draws no false tracks")
            default: break
            }
        }
        #expect(confirmed.count >= 140)
        // Each kill ends its threat's track then, and the track is not dropped twice.
        var killsChecked = 0
        for e in result.events where e.kind == "intercept" {
            guard let id = fields(e)["track"]?.doubleValue.map({ Int($0) }) else { continue }
            // (A track that coasted out while the interceptor flew was dropped before.)
            if let (t, reason) = dropped[id], !(t < e.time && reason.hasPrefix("no update")) {
                #expect(reason == "killed" && t == e.time, "track \(id) of a kill at \(e.time): dropped at \(t), \(reason)")
                killsChecked += 1
            }
        }
        #expect(killsChecked > 50)
        #expect(result.events.filter { $0.kind == "track_drop" }.count == dropped.count)
    }

    @Test("Without sensors nothing is detected, tracked or engaged, and every threat leaks")
    func blind() throws {
        var s = try example("quickstart")
        s.sensors = []
        s.acousticNetworks = []
        s.citizenNetworks = []
        let (_, result) = try run(s)
        #expect(!result.events.contains { $0.kind.hasPrefix("track_") || $0.kind == "engage" })
        let launched = result.metrics.classes.reduce(0) { $0 + $1.1.launched }
        #expect(launched > 0 && result.metrics.classes.reduce(0) { $0 + $1.1.leaked } == launched)
        #expect(result.metrics.interceptorCost == 0)
    }

    @Test("Answers like the look model over replications (the quickstart: leaks and value protected)")
    func agreesWithLooks() throws {
        let s = try example("quickstart")
        var leaked = [0, 0], launched = [0, 0], protected = [0.0, 0.0], atRisk = [0.0, 0.0]
        for (m, model) in [BattleModel.looks, .events].enumerated() {
            for rep in 0..<12 {
                let (_, r) = try run(s, replication: UInt64(rep), model: model)
                leaked[m] += r.metrics.classes.reduce(0) { $0 + $1.1.leaked }
                launched[m] += r.metrics.classes.reduce(0) { $0 + $1.1.launched }
                protected[m] += r.metrics.valueProtected
                atRisk[m] += r.metrics.valueAtRisk
            }
        }
        #expect(launched[0] == launched[1])
        let leakLooks = Double(leaked[0]) / Double(launched[0]), leakEvents = Double(leaked[1]) / Double(launched[1])
        #expect(abs(leakLooks - leakEvents) < 0.1, "leak rate: looks \(leakLooks), events \(leakEvents)")
        let shareLooks = protected[0] / atRisk[0], shareEvents = protected[1] / atRisk[1]
        #expect(abs(shareLooks - shareEvents) < 0.1, "value protected: looks \(shareLooks), events \(shareEvents)")
    }

    @Test("A height along the radius is within a metre of the geodetic height")
    func radialHeight() {
        for lat in stride(from: -80.0, through: 80.0, by: 10) {
            for h in [-100.0, 0, 60, 3_000, 20_000, 90_000] {
                let p = WGS84.ecef(Geodetic(latitude: radians(lat), longitude: radians(31), height: h))
                #expect(abs(EventModel.height(p) - h) < 1, "latitude \(lat)°, height \(h) m: \(EventModel.height(p))")
            }
        }
    }
}
