import CanopyCore
import CanopyScenario
import Foundation

/// What an engagement planner is shown at one decision cycle: the battle manager's own picture,
/// never truth.
public struct EngagementSituation: Sendable {
    /// The cycle's time (s since scenario start).
    public var now: Double
    /// Every confirmed track's assessment (class, aim point, time to impact, value at risk).
    public var assessments: [ThreatAssessment]
    /// The tracks that may be engaged now, by track id: confirmed, with value at risk, and with
    /// no engagement in flight (shoot-look-shoot waits for its outcome). Each is the track's
    /// state (ECEF position and velocity) predicted to `now`. A dictionary's order differs from
    /// run to run: a planner that goes through the tracks in turn should take `engageable`.
    public var states: [Int: Vector6]
    /// The ids of `states`, ascending (computed when asked: the built-in planner never asks).
    public var engageable: [Int] { states.keys.sorted() }
    /// The fire units as the battle manager books them: rounds left, fire channels busy,
    /// launchers reloading.
    public var fireUnits: [FireUnitState]
    /// Tracks with an engagement in flight.
    public var engaged: Set<Int>
    /// The scenario's doctrine. It binds only the built-in planner, but its `cycle` (seconds
    /// between decisions) also bounds a plan's launch: a shot for later is planned later.
    public var doctrine: Doctrine

    public init(now: Double, assessments: [ThreatAssessment], states: [Int: Vector6], fireUnits: [FireUnitState],
                engaged: Set<Int>, doctrine: Doctrine = Doctrine()) {
        self.now = now; self.assessments = assessments; self.states = states; self.fireUnits = fireUnits
        self.engaged = engaged; self.doctrine = doctrine
    }

    /// The assessment of track `id`, if it is confirmed.
    public func assessment(of id: Int) -> ThreatAssessment? { assessments.first { $0.track == id } }

    /// Where and when fire unit `u`, launching at the earliest (now + its reaction time), meets
    /// track `track` flying on as the assessor expects (a straight line, or free flight for a
    /// ballistic track): nil when the track may not be engaged, the unit does not exist, or the
    /// interceptor cannot reach the track within 1.5 times its range's flight time. The point
    /// may still lie outside the unit's envelope: check `InterceptGeometry.inEnvelope`.
    public func intercept(fireUnit u: Int, track: Int) -> InterceptSolution? {
        guard fireUnits.indices.contains(u), let x = states[track] else { return nil }
        let type = fireUnits[u].type
        let path = Assigner.path(state: x, now: now, ballistic: assessment(of: track)?.ballistic ?? false)
        return InterceptGeometry.first(fireUnit: fireUnits[u].frame, jammer: type.kind == .ew, launchTime: now + type.reactionTime,
                                       speed: type.interceptorSpeed, maxFlyout: InterceptGeometry.maxFlyout(type), path: path)
    }
}

/// The assign stage as a plug-in: a weapon–target assignment policy the battle manager asks each
/// decision cycle which fire units should engage which tracks. The built-in `Assigner` (cost-aware
/// marginal return, the scenario's doctrine) is one; a study can run its own in the same raids and
/// compare (`RunOptions.planner` in CanopySimulation).
///
/// The battle manager holds every plan to what the fire units can physically do, whatever the
/// planner (`EngagementSituation.refusal(of:units:)`). A plan that fails is refused, with its
/// reason (`CycleOutput.refusedPlans`; the simulation's `plan_refused` events), and the others
/// stand. Doctrine (money worth, reserves, salvo size) binds only the built-in planner. The world
/// decides each engagement from truth (its own intercept geometry, envelope and kill
/// probability): a plan's `killProbability` and `expectedGain` are the planner's own expectation,
/// and its `intercept` time only says when a shot at a track with nothing there (clutter) is
/// over.
///
/// `plan` is `mutating` so that a planner may learn between cycles; the battle manager keeps its
/// planner in a variable.
public protocol EngagementPlanner {
    /// The engagements to start at `situation.now`, booked in the order given.
    mutating func plan(_ situation: EngagementSituation) -> [EngagementPlan]
}

extension Assigner: EngagementPlanner {
    public func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        assign(now: s.now, assessments: s.assessments, states: s.states, fireUnits: s.fireUnits, engaged: s.engaged)
    }
}

/// A plan the battle manager refused, and why.
public struct RefusedPlan: Sendable {
    public var plan: EngagementPlan
    public var reason: String
    public init(plan: EngagementPlan, reason: String) { self.plan = plan; self.reason = reason }
}

extension EngagementSituation {
    /// Why fire unit `plan.fireUnit` cannot carry out `plan`, given `units` (the cycle's units with
    /// the plans already accepted booked), or nil when it can.
    public func refusal(of plan: EngagementPlan, units: [FireUnitState]) -> String? {
        guard units.indices.contains(plan.fireUnit) else {
            return "no fire unit \(plan.fireUnit) (the battle has \(units.count))"
        }
        let fu = units[plan.fireUnit]
        guard states[plan.track] != nil else {
            return "track \(plan.track) may not be engaged now (not confirmed, no value at risk, or an engagement in flight)"
        }
        guard plan.rounds >= 1 else { return "\(plan.rounds) rounds (at least 1)" }
        guard plan.rounds <= fu.roundsLeft else { return "\(plan.rounds) rounds, \(fu.id) has \(fu.roundsLeft) left" }
        guard fu.channelsBusy < fu.type.fireChannels else {
            return "\(fu.id) has all \(fu.type.fireChannels) fire channels busy"
        }
        let earliest = now + fu.type.reactionTime
        guard plan.launchTime.isFinite, plan.launchTime >= earliest - 1e-6 else {
            return "launch at \(plan.launchTime) s, before \(fu.id) can fire (\(earliest) s: now plus its reaction time)"
        }
        guard plan.launchTime <= earliest + doctrine.cycle + 1e-6 else {
            return "launch at \(plan.launchTime) s, beyond the next decision (\(earliest + doctrine.cycle) s: plan it then)"
        }
        let free = fu.freeLaunchers(at: plan.launchTime)
        guard free >= plan.rounds else { return "\(plan.rounds) rounds, \(fu.id) has \(free) launchers free then" }
        let flyout = InterceptGeometry.maxFlyout(fu.type)
        guard plan.intercept.time.isFinite, plan.intercept.time >= plan.launchTime - 1e-6,
              plan.intercept.time <= plan.launchTime + flyout + 1e-6 else {
            return "predicted intercept at \(plan.intercept.time) s, outside the flight of \(fu.id)'s round "
                + "(\(plan.launchTime)–\(plan.launchTime + flyout) s)"
        }
        let q = plan.intercept.point
        guard q.x.isFinite, q.y.isFinite, q.z.isFinite else { return "a predicted intercept point that is not finite" }
        return nil
    }
}
