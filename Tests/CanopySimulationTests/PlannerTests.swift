import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTEWA
import Foundation
import Testing

// The engagement planner as a library user plugs it in: these planners use only the public API.

/// Never fires.
struct HoldFire: EngagementPlanner {
    func plan(_ s: EngagementSituation) -> [EngagementPlan] { [] }
}

/// The built-in assigner behind the protocol, counting the cycles it was asked.
struct Counting: EngagementPlanner {
    var inner: Assigner
    let calls: Counter
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        calls.add()
        return inner.plan(s)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// A planner a user might write: each engageable track, most value at risk first, gets one round
/// from the cheapest unit that reaches it inside its envelope before the impact.
struct CheapestShot: EngagementPlanner {
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        var units = s.fireUnits
        var out: [EngagementPlan] = []
        let ordered = s.assessments.filter { s.states[$0.track] != nil }
            .sorted { $0.valueAtRisk != $1.valueAtRisk ? $0.valueAtRisk > $1.valueAtRisk : $0.track < $1.track }
        for a in ordered {
            var best: (cost: Double, unit: Int, solution: InterceptSolution)?
            for (u, fu) in units.enumerated() {
                let launch = s.now + fu.type.reactionTime
                guard fu.roundsLeft > 0, fu.channelsBusy < fu.type.fireChannels, fu.freeLaunchers(at: launch) >= 1,
                      let sol = s.intercept(fireUnit: u, track: a.track), InterceptGeometry.inEnvelope(sol, fu.type, margin: 0.05),
                      sol.time < s.now + a.timeToImpact else { continue }
                if best == nil || fu.type.costPerShot < best!.cost { best = (fu.type.costPerShot, u, sol) }
            }
            guard let b = best else { continue }
            let launch = s.now + units[b.unit].type.reactionTime
            out.append(EngagementPlan(fireUnit: b.unit, track: a.track, rounds: 1, killProbability: 0, launchTime: launch,
                                      intercept: b.solution, expectedGain: 0))
            units[b.unit].commit(rounds: 1, at: launch)
        }
        return out
    }
}

/// At the first cycle with a track it can engage, plans one good shot from a unit of one fire
/// channel and one launcher behind ten it cannot carry out, and the same shot again after it;
/// then plans nothing.
final class Rogue: EngagementPlanner, @unchecked Sendable {
    var fired = false
    var goodUnit = -1
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        guard !fired, let u = s.fireUnits.firstIndex(where: { $0.type.fireChannels == 1 }) else { return [] }
        let launch = s.now + s.fireUnits[u].type.reactionTime
        guard let (track, solution) = s.states.keys.sorted().lazy.compactMap({ id -> (Int, InterceptSolution)? in
            guard let sol = s.intercept(fireUnit: u, track: id), InterceptGeometry.inEnvelope(sol, s.fireUnits[u].type) else { return nil }
            return (id, sol)
        }).first else { return [] }
        let good = EngagementPlan(fireUnit: u, track: track, rounds: 1, killProbability: 0, launchTime: launch, intercept: solution,
                                  expectedGain: 0)
        fired = true
        goodUnit = good.fireUnit
        func variant(_ change: (inout EngagementPlan) -> Void) -> EngagementPlan {
            var p = good
            change(&p)
            return p
        }
        return [
            variant { $0.fireUnit = 99 },
            variant { $0.track = 987_654 },
            variant { $0.rounds = 0 },
            variant { $0.rounds = 10_000 },
            variant { $0.launchTime = s.now - 10 },
            variant { $0.launchTime += s.doctrine.cycle + 100 },
            variant { $0.rounds = 2 },
            variant { $0.intercept.time = $0.launchTime - 1 },
            variant { $0.intercept.time = $0.launchTime + 1e6 },
            variant { $0.intercept.point = Vector3(.nan, 0, 0) },
            good,
            good,
        ]
    }
}

@Suite("Plug-in engagement planners", .serialized)
struct PlannerTests {
    @Test("The built-in assigner behind the protocol gives the default run, to the byte; its plans always hold",
          arguments: ["optimal", "greedy", "salvo", "expected"])
    func builtInThroughProtocol(_ variant: String) throws {
        var s = try example("quickstart")
        switch variant {
        case "greedy": s.doctrine.assignment = .greedy
        case "salvo": s.doctrine.mode = .salvo
        case "expected":  // rounds kept for threats still to come (the optimal rule's lookahead)
            s.doctrine.expectedThreats = [.init(threatType: "kh-101", count: 4, asset: s.assets[0].name)]
        default: s.doctrine.assignment = .optimal
        }
        let plain = try Simulation(scenario: s).run()
        let calls = Counter()
        let inner = Assigner(briefing: Briefing(scenario: s))
        let viaPlanner = try Simulation(scenario: s, options: RunOptions(planner: { _ in Counting(inner: inner, calls: calls) })).run()
        #expect(calls.value > 0)
        #expect(viaPlanner.metrics == plain.metrics)
        #expect(viaPlanner.table == plain.table)
        #expect(text(viaPlanner) == text(plain))
        #expect(plain.events.contains { $0.kind == "engage" })
        #expect(!plain.events.contains { $0.kind == "plan_refused" })
        #expect(plain.metrics.plansRefused == 0)
    }

    @Test("A planner that holds fire: no engagement, nothing spent, more leaks than the built-in")
    func holdFire() throws {
        let s = try example("quickstart")
        let plain = try Simulation(scenario: s).run()
        let sim = try Simulation(scenario: s, options: RunOptions(planner: { _ in HoldFire() }))
        let held = sim.run()
        checkInvariants(s, sim, held)
        #expect(!held.events.contains { $0.kind == "engage" })
        #expect(held.metrics.interceptorCost == 0)
        #expect(held.metrics.valueLost > plain.metrics.valueLost)
        #expect(plain.metrics.interceptorCost > 0)
    }

    @Test("A planner written against the public API engages, and every plan of it holds")
    func cheapestShot() throws {
        let s = try example("quickstart")
        let sim = try Simulation(scenario: s, options: RunOptions(planner: { _ in CheapestShot() }))
        let r = sim.run()
        checkInvariants(s, sim, r)
        #expect(r.metrics.plansRefused == 0)
        #expect(r.events.filter { $0.kind == "engage" }.count >= 3)
        #expect(r.events.contains { $0.kind == "intercept" || $0.kind == "jam" })
        // One round an engagement, from the cheapest unit in reach: the cheap units take part.
        let engages = r.events.filter { $0.kind == "engage" }
        #expect(engages.allSatisfy { fields($0)["rounds"]?.doubleValue == 1 })
        let engaged = Set(engages.compactMap { fields($0)["effector"]?.stringValue })
        #expect(engaged.contains("mobile-fire-group") || engaged.contains("gepard") || engaged.contains("ew-gnss-jammer"), "\(engaged)")
    }

    @Test("doctrine.maxShotCost: the built-in assigner fires no dearer round at a track of that class")
    func maxShotCost() throws {
        var s = try example("quickstart")
        let dear = { (r: RunResult) in
            r.events.filter { $0.kind == "engage" && fields($0)["effector"]?.stringValue == "iris-t-slm"
                && fields($0)["class"]?.stringValue == "drone" }.count
        }
        let plain = try Simulation(scenario: s).run()
        #expect(dear(plain) > 0)
        s.doctrine.maxShotCost = [.drone: 400_000]  // the IRIS-T SLM's round is $430k
        let sim = try Simulation(scenario: s)
        let capped = sim.run()
        checkInvariants(s, sim, capped)
        #expect(dear(capped) == 0)
        #expect(capped.metrics.interceptorCost < plain.metrics.interceptorCost)
        #expect(capped.events.contains { $0.kind == "engage" && fields($0)["class"]?.stringValue == "drone" })
        // Other classes keep the IRIS-T.
        #expect(capped.events.contains { $0.kind == "engage" && fields($0)["effector"]?.stringValue == "iris-t-slm" }
            == plain.events.contains { $0.kind == "engage" && fields($0)["effector"]?.stringValue == "iris-t-slm" && fields($0)["class"]?.stringValue != "drone" })
    }

    @Test("Plans beyond the fire units are refused with their reasons; the good one stands")
    func refusals() throws {
        let s = try example("quickstart")
        let rogue = Rogue()
        let sim = try Simulation(scenario: s, options: RunOptions(planner: { _ in rogue }))
        let r = sim.run()
        checkInvariants(s, sim, r)
        #expect(rogue.fired)
        let refused = r.events.filter { $0.kind == "plan_refused" }
        guard !refused.isEmpty else { Issue.record("nothing refused"); return }
        let reasons = refused.compactMap { fields($0)["reason"]?.stringValue }
        let expected = ["no fire unit 99", "track 987654 may not be engaged now", "0 rounds (at least 1)", "10000 rounds,",
                        "before GEPARD-Kyiv-E can fire", "beyond the next decision", "2 rounds, GEPARD-Kyiv-E has 1 launchers free",
                        "outside the flight", "outside the flight", "point that is not finite", "all 1 fire channels busy"]
        #expect(reasons.count == expected.count, "\(reasons)")
        for (k, text) in expected.enumerated() where k < reasons.count {
            #expect(reasons[k].contains(text), "refusal \(k): \(reasons[k])")
        }
        #expect(r.metrics.plansRefused == expected.count)
        #expect(r.table.contains("engagement plans refused"))
        // The good plan was carried out, at the refusals' time, by its unit.
        let t = refused[0].time
        let engage = r.events.filter { $0.kind == "engage" && $0.time == t }
        #expect(engage.count == 1)
        #expect(engage.first.flatMap { fields($0)["fireUnit"]?.stringValue } == s.fireUnits[rogue.goodUnit].id)
        guard case .object(let summary) = r.summary else { Issue.record("summary is not an object"); return }
        #expect(summary.contains { $0.0 == "plansRefused" && $0.1.doubleValue == Double(expected.count) })
    }
}
