import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTracking
import Foundation
import Testing

/// A constant-velocity model written as a user would (white acceleration noise of density q).
private struct UserCV: TransitionModel {
    var q: Double
    var name: String { "user-cv" }
    func transition(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Transition {
        var F = Matrix6.identity
        for i in 0..<3 { F[i, i + 3] = dt }
        let a = abs(dt)
        var Q = Matrix6()
        for i in 0..<3 {
            Q[i, i] = q * a * a * a / 3; Q[i + 3, i + 3] = q * a
            Q[i, i + 3] = q * a * a / 2 * (dt < 0 ? -1 : 1); Q[i + 3, i] = Q[i, i + 3]
        }
        return Transition(x: F * x, F: F, Q: Q)
    }
}

@Suite("The simulation's tracker: its filter bank from the scenario or from Swift")
struct TrackerModelTests {
    @Test("A scenario's tracker.models make the battle manager's tracker an IMM, and the raid is fought")
    func scenarioIMM() throws {
        var s = try example("quickstart")
        s.tracker.models = [TrackerModel(kind: .constantVelocity, q: 5), TrackerModel(kind: .coordinatedTurn, q: 5, turnRate: 0.05),
                            TrackerModel(kind: .coordinatedTurn, q: 5, turnRate: -0.05)]
        let sim = try Simulation(scenario: s)
        #expect(sim.battle.tracker.bank.models.map(\.kind) == [.constantVelocity, .coordinatedTurn, .coordinatedTurn])
        let r = sim.run()
        checkInvariants(s, sim, r)
        let cv = try Simulation(scenario: try example("quickstart"))
        #expect(cv.battle.tracker.bank.models.count == 1)
        let r0 = cv.run()
        // The same raid is tracked and engaged either way (not the same numbers: other filters).
        let tracked = { (r: RunResult) -> Int in
            guard case .object(let byType) = fieldsOf(r.summary)["threats"] ?? .null else { return -1 }
            return byType.reduce(0) { $0 + Int(fieldsOf($1.1)["tracked"]?.doubleValue ?? 0) }
        }
        #expect(r.metrics.interceptorCost > 0 && r0.metrics.interceptorCost > 0)
        #expect(tracked(r) >= tracked(r0) - 1 && tracked(r) > 0, "tracked \(tracked(r)) against \(tracked(r0))")
    }

    @Test("RunOptions.trackerModels puts a model of the user's in the tracker; a bad bank is refused when the run is made")
    func userModelInRun() throws {
        let s = try example("quickstart")
        var options = RunOptions()
        options.trackerModels = [.custom(UserCV(q: 50), q: 50)]
        let sim = try Simulation(scenario: s, options: options)
        #expect(sim.battle.tracker.bank.models.first?.name == "user-cv")
        let r = sim.run()
        checkInvariants(s, sim, r)
        #expect(sim.battle.tracker.transitionFallbacks == 0)
        // The user's constant velocity fights the raid as the built-in one does, to within a few
        // shots (the updates linearise about the bank's own mean, not the gate's point).
        let r0 = try Simulation(scenario: s).run()
        let shots = { (r: RunResult) in r.events.filter { $0.kind == "engage" }.count }
        #expect(abs(shots(r) - shots(r0)) <= max(3, shots(r0) / 5), "\(shots(r)) against \(shots(r0))")
        for bad in [[MotionModel](), [.custom(UserCV(q: 1)), .custom(UserCV(q: 2))]] {
            var o = RunOptions()
            o.trackerModels = bad
            do {
                _ = try Simulation(scenario: s, options: o)
                Issue.record("accepted \(bad.map(\.name))")
            } catch let e as RunOptionsError {
                #expect(e.description.hasPrefix("RunOptions.trackerModels: models"), "\(e.description)")
            }
        }
    }
}
