import CanopyWTA
import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation

/// A fire unit as the battle manager knows it: its type, where it stands, and what it has left.
public struct FireUnitState: Sendable {
    public var id: String
    public var type: EffectorType { didSet { refreshClassTables() } }
    public var position: Geodetic
    public var frame: LocalFrame
    public var roundsLeft: Int
    /// Engagements being guided now.
    public var channelsBusy: Int
    /// When each launcher can fire again.
    public var launcherFreeAt: [Double]
    /// Rounds held back for `reserveClasses` only.
    public var reserveRounds: Int
    public var reserveClasses: Set<ThreatClass> { didSet { refreshClassTables() } }
    /// By `ThreatClass.allCases` index: the type's kill probability and whether the class may
    /// use the reserve (kept in step with `type` and `reserveClasses`; the assigner reads them
    /// for every unit each cycle, where hashing the class would cost more than the rest).
    private(set) var killByClass: [Double] = []
    private(set) var reserveByClass: [Bool] = []
    /// The type's figures the assigner reads for every unit each cycle (kept in step with
    /// `type`: taking them from the type each time copied it, with its names and tables).
    private(set) var figures: UnitFigures

    public init(id: String, type: EffectorType, position: Geodetic, magazine: Int, launchers: Int,
                reserveRounds: Int = 0, reserveClasses: Set<ThreatClass> = []) {
        self.id = id; self.type = type; self.position = position; self.frame = LocalFrame(origin: position)
        self.figures = UnitFigures(type)
        self.roundsLeft = magazine; self.channelsBusy = 0
        self.launcherFreeAt = Array(repeating: -.infinity, count: max(1, launchers))
        self.reserveRounds = reserveRounds; self.reserveClasses = reserveClasses
        refreshClassTables()
    }

    private mutating func refreshClassTables() {
        figures = UnitFigures(type)
        killByClass = ThreatClass.allCases.map { type.killProbability[$0] ?? 0 }
        reserveByClass = ThreatClass.allCases.map { reserveClasses.contains($0) }
    }

    /// Rounds this unit may spend on a threat of class c.
    public func roundsAvailable(for c: ThreatClass) -> Int {
        roundsAvailable(classIndex: ThreatClass.allCases.firstIndex(of: c)!)
    }

    /// `roundsAvailable` by class index (`ThreatClass.allCases` order).
    @inline(__always) func roundsAvailable(classIndex c: Int) -> Int {
        reserveByClass[c] ? roundsLeft : max(0, roundsLeft - reserveRounds)
    }

    public func freeLaunchers(at t: Double) -> Int { launcherFreeAt.reduce(0) { $0 + ($1 <= t ? 1 : 0) } }

    /// Books `rounds` launched at `launchTime`: rounds, a fire channel, launchers until reloaded.
    public mutating func commit(rounds: Int, at launchTime: Double) {
        roundsLeft -= rounds
        channelsBusy += 1
        var used = 0
        for l in launcherFreeAt.indices where used < rounds && launcherFreeAt[l] <= launchTime {
            launcherFreeAt[l] = launchTime + type.reloadTime
            used += 1
        }
    }
}

/// A predicted intercept.
public struct InterceptSolution: Sendable {
    /// Time (s) of the intercept, and where (ECEF).
    public var time: Double
    public var point: Vector3
    /// Ground range (m) from the fire unit and altitude (m) of the intercept point.
    public var groundRange: Double
    public var altitude: Double

    public init(time: Double, point: Vector3, groundRange: Double, altitude: Double) {
        self.time = time; self.point = point; self.groundRange = groundRange; self.altitude = altitude
    }
}

/// Kinematic feasibility: where and when an interceptor launched after the reaction time meets
/// a target moving along `path`.
public enum InterceptGeometry {
    /// Solves |path(t) − f| = s·(t − launch) for the first t in (launch, launch + maxFlyout].
    /// The caller checks envelope and timing.
    public static func solve(fireUnit frame: LocalFrame, launchTime: Double, speed s: Double, maxFlyout: Double,
                             path: (Double) -> Vector3) -> InterceptSolution? {
        let f = frame.originECEF
        func g(_ t: Double) -> Double { s * (t - launchTime) - norm(path(t) - f) }
        let steps = 48
        let dt = maxFlyout / Double(steps)
        var a = launchTime, ga = g(a)
        if ga >= 0 { return make(frame, launchTime, path(launchTime)) }
        for k in 1...steps {
            let b = launchTime + Double(k) * dt
            let gb = g(b)
            if gb >= 0 {
                var lo = a, hi = b
                for _ in 0..<40 {
                    let m = 0.5 * (lo + hi)
                    if g(m) >= 0 { hi = m } else { lo = m }
                    if hi - lo < 1e-3 { break }
                }
                return make(frame, hi, path(hi))
            }
            a = b; ga = gb
        }
        return nil
    }

    /// The longest an effector's round may fly (s), as the world flies it: 1.5 times its range at
    /// its interceptor's speed; 0 for a jammer, whose effect is at once.
    public static func maxFlyout(kind: EffectorKind, maxRange: Double, speed: Double) -> Double {
        kind == .ew ? 0 : maxRange * 1.5 / max(speed, 1)
    }

    public static func maxFlyout(_ t: EffectorType) -> Double {
        maxFlyout(kind: t.kind, maxRange: t.maxRange, speed: t.interceptorSpeed)
    }

    /// Where and when a round launched at `launchTime` first meets a target moving along `path`:
    /// a jammer's effect at the launch itself; an interceptor's by `solve` within `maxFlyout`.
    @inline(__always)
    public static func first(fireUnit frame: LocalFrame, jammer: Bool, launchTime: Double, speed: Double, maxFlyout: Double,
                             path: (Double) -> Vector3) -> InterceptSolution? {
        if jammer { return make(frame, launchTime, path(launchTime)) }
        return solve(fireUnit: frame, launchTime: launchTime, speed: speed, maxFlyout: maxFlyout, path: path)
    }

    public static func make(_ frame: LocalFrame, _ t: Double, _ p: Vector3) -> InterceptSolution {
        let enu = frame.enu(ecef: p)
        let h = WGS84.geodetic(ecef: p).height
        return InterceptSolution(time: t, point: p, groundRange: (enu.x * enu.x + enu.y * enu.y).squareRoot(), altitude: h)
    }

    /// Whether an intercept point lies inside the effector's envelope, shrunk by `margin` (a
    /// fraction of each extent) so that a plan made on an estimate holds for the truth.
    public static func inEnvelope(_ s: InterceptSolution, _ type: EffectorType, margin: Double = 0) -> Bool {
        inEnvelope(s, UnitFigures(type), margin: margin)
    }

    static func inEnvelope(_ s: InterceptSolution, _ type: UnitFigures, margin: Double = 0) -> Bool {
        let r = (type.maxRange - type.minRange) * margin, h = (type.maxAltitude - type.minAltitude) * margin
        return s.groundRange >= type.minRange + r && s.groundRange <= type.maxRange - r
            && s.altitude >= type.minAltitude + min(h, 50) && s.altitude <= type.maxAltitude - h
    }
}

/// The figures of an effector type the assigner's inner loop reads, as plain numbers (an
/// `EffectorType` carries dictionaries, and copying it per pair cost a fifth of a raid's run).
struct UnitFigures {
    var kind: EffectorKind
    var minRange: Double, maxRange: Double, minAltitude: Double, maxAltitude: Double
    var interceptorSpeed: Double, reactionTime: Double, costPerShot: Double
    var fireChannels: Int
    var maxFlyout: Double

    init(_ t: EffectorType) {
        kind = t.kind; minRange = t.minRange; maxRange = t.maxRange; minAltitude = t.minAltitude; maxAltitude = t.maxAltitude
        interceptorSpeed = t.interceptorSpeed; reactionTime = t.reactionTime; costPerShot = t.costPerShot
        fireChannels = t.fireChannels
        maxFlyout = InterceptGeometry.maxFlyout(t)
    }
}

/// One decided engagement.
public struct EngagementPlan: Sendable {
    public var fireUnit: Int
    public var track: Int
    public var rounds: Int
    public var killProbability: Double
    public var launchTime: Double
    public var intercept: InterceptSolution
    /// Expected value saved minus the money worth of the rounds.
    public var expectedGain: Double

    public init(fireUnit: Int, track: Int, rounds: Int, killProbability: Double, launchTime: Double,
                intercept: InterceptSolution, expectedGain: Double) {
        self.fireUnit = fireUnit; self.track = track; self.rounds = rounds; self.killProbability = killProbability
        self.launchTime = launchTime; self.intercept = intercept; self.expectedGain = expectedGain
    }
}

/// Cost-aware maximum-marginal-return assignment: every feasible (fire unit, threat) pair is
/// scored by expected value saved minus money worth × shot cost, and pairs are taken best first
/// while fire channels, launchers and rounds last. Under shoot-look-shoot a threat gets one
/// engagement per look; salvo fires `salvoSize` rounds at once.
public struct Assigner: Sendable {
    public var doctrine: Doctrine
    public var processNoise: Double
    /// Fraction of the envelope kept clear when planning on estimated tracks.
    public var planningMargin = 0.05

    public init(doctrine: Doctrine, processNoise: Double, expected: [ExpectedThreat] = []) {
        self.doctrine = doctrine
        self.processNoise = processNoise
        self.expected = expected
    }

    /// Threats expected beyond those in sight: with the optimal rule, targets that rounds may be
    /// kept for (see `optimal`).
    public let expected: [ExpectedThreat]

    /// A target's predicted path from its track: straight line, or free flight for ballistic tracks.
    public static func path(track: Track, now: Double, ballistic: Bool, processNoise: Double) -> (Double) -> Vector3 {
        path(state: track.predicted(to: now, processNoise: processNoise).x, now: now, ballistic: ballistic)
    }

    /// The path from a state x already predicted to `now`.
    public static func path(state x: Vector6, now: Double, ballistic: Bool) -> (Double) -> Vector3 {
        let p0 = x.position, v0 = x.velocity
        if !ballistic { return { t in p0 + v0 * (t - now) } }
        // Tabulate free flight at 1 s for up to 10 min, interpolate linearly.
        var table: [Vector3] = [p0]
        var p = p0, v = v0
        for _ in 0..<600 {
            BallisticPredictor.step(&p, &v, dt: 1)
            table.append(p)
            if WGS84.geodetic(ecef: p).height < -1000 { break }
        }
        let tab = table
        return { t in
            let u = max(0, t - now)
            let i = Int(u)
            if i >= tab.count - 1 { return tab[tab.count - 1] }
            let f = u - Double(i)
            return tab[i] + (tab[i + 1] - tab[i]) * f
        }
    }

    /// Decides engagements at time `now`. `engaged` are tracks with an engagement in flight
    /// (shoot-look-shoot waits for its outcome).
    public func assign(now: Double, assessments: [ThreatAssessment], tracks: [Int: Track],
                       fireUnits: [FireUnitState], engaged: Set<Int>) -> [EngagementPlan] {
        assign(now: now, assessments: assessments, states: tracks.mapValues { $0.predicted(to: now, processNoise: processNoise).x },
               fireUnits: fireUnits, engaged: engaged)
    }

    /// As `assign(now:assessments:tracks:…)`, given each track the assigner may engage by its
    /// state predicted to `now` (by `Track.predicted(to:processNoise:)`), not by the whole track.
    public func assign(now: Double, assessments: [ThreatAssessment], states tracks: [Int: Vector6],
                       fireUnits: [FireUnitState], engaged: Set<Int>) -> [EngagementPlan] {
        // Nothing to decide (most cycles of a long raid): skip the per-unit tables.
        guard assessments.contains(where: { !engaged.contains($0.track) && $0.valueAtRisk > 0 && tracks[$0.track] != nil }) else { return [] }
        // Nor when no pair passes the cheap tests a shot now must pass (kill probability, cost
        // rule, a free launcher, rounds and a channel, distance): no shot can be planned, and
        // the rounds kept for later threats are weighed only against shots now.
        guard anyShotPossible(now: now, assessments: assessments, states: tracks, fireUnits: fireUnits, engaged: engaged) else { return [] }
        var candidates: [EngagementPlan] = []
        // Pairs a unit cannot engage now but will be able to before the threat's impact (the
        // optimal rule keeps rounds for them).
        var later: [LaterPair] = []
        let optimalRule = doctrine.assignment == .optimal
        let moneyWorth = doctrine.moneyWorth
        // Per-unit figures looked up once per call, not once per pair.
        let classes = ThreatClass.allCases
        // For the reservations too: per unit, whether it is rationed, its frame and type, and
        // its rounds for each class. One pass reading each unit in place (flat tables by
        // unit × class; no copy of a unit, whose names and tables are reference-counted).
        let nc = classes.count, nu = fireUnits.count
        var pkFlat = [Double](repeating: 0, count: nu * nc)
        var roundsFlat = [Int](repeating: 0, count: nu * nc)
        var unitECEF: [Vector3] = [], freeNow: [Int] = [], rationed: [Bool] = [], frames: [LocalFrame] = []
        var types: [UnitFigures] = [], channelsBusy: [Int] = [], nearBounds: [Double?] = []
        unitECEF.reserveCapacity(nu); freeNow.reserveCapacity(nu); rationed.reserveCapacity(nu)
        frames.reserveCapacity(nu); types.reserveCapacity(nu); channelsBusy.reserveCapacity(nu)
        fireUnits.withUnsafeBufferPointer { fb in
            for u in 0..<nu {
                let f = fb.baseAddress! + u
                for c in 0..<nc {
                    pkFlat[u * nc + c] = f.pointee.killByClass[c]
                    roundsFlat[u * nc + c] = f.pointee.roundsAvailable(classIndex: c)
                }
                unitECEF.append(f.pointee.frame.originECEF)
                freeNow.append(f.pointee.freeLaunchers(at: now))
                rationed.append(f.pointee.type.kind != .ew)
                frames.append(f.pointee.frame)
                types.append(f.pointee.figures)
                channelsBusy.append(f.pointee.channelsBusy)
                nearBounds.append(Self.nearBound(types[u], frames[u], margin: planningMargin))
            }
        }
        // Two passes over the pairs: the shots possible now, then (only when there is one, under
        // the optimal rule) the pairs possible later, which weigh against them.
        for pass in 0..<2 {
        if pass == 1 && (!optimalRule || candidates.isEmpty) { break }
        for a in assessments where !engaged.contains(a.track) && a.valueAtRisk > 0 {
            guard let xNow = tracks[a.track] else { continue }
            var path: ((Double) -> Vector3)? = nil
            let pNow = xNow.position
            let ci = classes.firstIndex(of: a.threatClass) ?? 0
            // Kill probability of n rounds of unit u: of the most probable class, or, when the
            // value at risk is spread over classes, weighted by each class's share of it.
            let share = Self.valueShares(a, classCount: nc)
            @inline(__always) func killProbability(_ u: Int, rounds n: Int) -> Double {
                guard let w = share else { return 1 - pow(1 - pkFlat[u * nc + ci], Double(n)) }
                var p = 0.0
                for c in 0..<nc where w[c] > 0 { p += w[c] * (1 - pow(1 - pkFlat[u * nc + c], Double(n))) }
                return p
            }
            let maxCost = doctrine.maxShotCost[a.threatClass] ?? .infinity
            for u in fireUnits.indices {
                let pk1 = share == nil ? pkFlat[u * nc + ci] : killProbability(u, rounds: 1)
                guard pk1 > 0, pk1 >= doctrine.minKillProbability else { continue }
                // The rule of engagement on dear rounds: neither now nor kept for later.
                guard types[u].costPerShot <= maxCost else { continue }
                if pass == 1 {
                    let engagedNow = candidates.contains { $0.fireUnit == u && $0.track == a.track }
                    // Jammers are not rationed: no reservations for them.
                    if !engagedNow && a.timeToImpact.isFinite && rationed[u] && roundsFlat[u * nc + ci] > 0
                        // Cheap reject: it cannot come within range before its impact.
                        && norm(pNow - unitECEF[u]) - max(a.speed, 100) * 1.5 * min(a.timeToImpact, 1_800) <= types[u].maxRange + 10_000 {
                        let from = now + types[u].reactionTime, until = now + min(a.timeToImpact, 1_800)
                        // A straight path (not ballistic) that never comes near enough is passed
                        // without sampling it (most pairs of a large raid).
                        let far = !a.ballistic && Self.neverNear(within: nearBounds[u], unitECEF[u], p0: pNow, v: xNow.velocity,
                                                                 now: now, from: from, until: until)
                        if !far && path == nil { path = Self.path(state: xNow, now: now, ballistic: a.ballistic) }
                        if !far && Self.reachableLater(frames[u], types[u], path: path!, from: from,
                                                       until: until, margin: planningMargin) {
                            let rounds = doctrine.mode == .salvo && types[u].kind == .missile ? min(doctrine.salvoSize, roundsFlat[u * nc + ci]) : 1
                            let pk = killProbability(u, rounds: rounds)
                            if pk * a.valueAtRisk > moneyWorth * types[u].costPerShot * Double(rounds) {
                                later.append(LaterPair(fireUnit: u, track: a.track, rounds: rounds, killProbability: pk))
                            }
                        }
                    }
                    continue
                }
                guard freeNow[u] > 0 else { continue }
                let type = types[u]
                let maxRange = type.maxRange
                let speed = type.interceptorSpeed
                let reaction = type.reactionTime
                let kind = type.kind
                // Quick reject: too far to reach within the flyout window.
                let dist = norm(pNow - unitECEF[u])
                let flyout = type.maxFlyout
                let reach = maxRange + 2_000 + max(a.speed, 100) * (reaction + flyout) * 1.5
                if dist > reach + 30_000 { continue }
                if !a.ballistic && Self.beyondReach(type, frames[u], dist: dist, speed: norm(xNow.velocity), margin: planningMargin) { continue }
                guard roundsFlat[u * nc + ci] > 0, channelsBusy[u] < type.fireChannels else { continue }
                let launch = now + reaction
                if path == nil { path = Self.path(state: xNow, now: now, ballistic: a.ballistic) }
                guard let solution = InterceptGeometry.first(fireUnit: frames[u], jammer: kind == .ew, launchTime: launch,
                                                             speed: speed, maxFlyout: flyout, path: path!) else { continue }
                guard InterceptGeometry.inEnvelope(solution, type, margin: planningMargin), solution.time < now + a.timeToImpact else { continue }
                let rounds = doctrine.mode == .salvo && kind == .missile
                    ? min(doctrine.salvoSize, roundsFlat[u * nc + ci], freeNow[u]) : 1
                let pk = killProbability(u, rounds: rounds)
                let gain = pk * a.valueAtRisk - moneyWorth * type.costPerShot * Double(rounds)
                guard gain > 0 else { continue }
                candidates.append(EngagementPlan(fireUnit: u, track: a.track, rounds: rounds, killProbability: pk,
                                                 launchTime: launch, intercept: solution, expectedGain: gain))
            }
        }
        }
        if optimalRule {
            return optimal(candidates, later: later, now: now, assessments: assessments, fireUnits: fireUnits)
        }
        // Best first; ties broken by unit then track so the result is deterministic.
        return Self.book(candidates, oncePerTrack: true, now: now, assessments: assessments, fireUnits: fireUnits)
    }

    /// Whether some unengaged threat of value and some fire unit pass every test of `assign`'s
    /// candidate loop (the intercept's geometry included), with the kill probability bounded
    /// above by the best of the classes the value is spread over: when none does, `assign` has
    /// no candidate.
    func anyShotPossible(now: Double, assessments: [ThreatAssessment], states tracks: [Int: Vector6],
                         fireUnits: [FireUnitState], engaged: Set<Int>) -> Bool {
        let classes = ThreatClass.allCases
        let nc = classes.count
        for a in assessments where !engaged.contains(a.track) && a.valueAtRisk > 0 {
            guard let xNow = tracks[a.track] else { continue }
            var path: ((Double) -> Vector3)? = nil
            let ci = classes.firstIndex(of: a.threatClass) ?? 0
            let spread = a.valueByClass.count == nc
            let maxCost = doctrine.maxShotCost[a.threatClass] ?? .infinity
            // The units read in place (a copy of one retains its names and tables).
            let found = fireUnits.withUnsafeBufferPointer { fb -> Bool in
            for u in fb.indices {
                let unit = fb.baseAddress! + u
                let f = unit.pointee.figures
                var pk = unit.pointee.killByClass[ci]
                if spread {
                    for c in 0..<nc where a.valueByClass[c] > 0 { pk = max(pk, unit.pointee.killByClass[c]) }
                }
                guard pk > 0, pk >= doctrine.minKillProbability, f.costPerShot <= maxCost else { continue }
                guard unit.pointee.channelsBusy < f.fireChannels, unit.pointee.roundsAvailable(classIndex: ci) > 0 else { continue }
                let reach = f.maxRange + 2_000 + max(a.speed, 100) * (f.reactionTime + f.maxFlyout) * 1.5
                let dist = norm(xNow.position - unit.pointee.frame.originECEF)
                guard dist <= reach + 30_000 else { continue }
                if !a.ballistic && Self.beyondReach(f, unit.pointee.frame, dist: dist, speed: norm(xNow.velocity), margin: planningMargin) {
                    continue
                }
                guard unit.pointee.launcherFreeAt.contains(where: { $0 <= now }) else { continue }
                // The intercept as `assign` solves it, and its gain with the kill probability's bound.
                if path == nil { path = Self.path(state: xNow, now: now, ballistic: a.ballistic) }
                let launch = now + f.reactionTime
                guard let solution = InterceptGeometry.first(fireUnit: unit.pointee.frame, jammer: f.kind == .ew, launchTime: launch,
                                                             speed: f.interceptorSpeed, maxFlyout: f.maxFlyout, path: path!),
                      InterceptGeometry.inEnvelope(solution, f, margin: planningMargin), solution.time < now + a.timeToImpact else { continue }
                let free = unit.pointee.freeLaunchers(at: now)
                let rounds = doctrine.mode == .salvo && f.kind == .missile
                    ? min(doctrine.salvoSize, unit.pointee.roundsAvailable(classIndex: ci), free) : 1
                let pkBound = 1 - pow(1 - pk, Double(rounds))
                guard pkBound * a.valueAtRisk - doctrine.moneyWorth * f.costPerShot * Double(rounds) > 0 else { continue }
                return true
            }
            return false
            }
            if found { return true }
        }
        return false
    }

    /// Whether a threat on a straight path (at `speed`, now `dist` from the unit) is too far for
    /// any shot launched now: an accepted intercept point lies within √nearBound of the unit and
    /// is met within the reaction and the flyout, in which the threat closes at most speed × that.
    @inline(__always) static func beyondReach(_ f: UnitFigures, _ frame: LocalFrame, dist: Double, speed: Double, margin: Double) -> Bool {
        guard let bound2 = nearBound(f, frame, margin: margin) else { return true }
        return dist > bound2.squareRoot() + speed * (f.reactionTime + f.maxFlyout) + 1
    }

    /// Each class's share of a threat's value at risk (nil when it is all the most probable class's,
    /// or there is no value: that class's figures then stand).
    static func valueShares(_ a: ThreatAssessment, classCount nc: Int) -> [Double]? {
        guard a.valueByClass.count == nc, let ci = ThreatClass.allCases.firstIndex(of: a.threatClass) else { return nil }
        var total = 0.0
        for v in a.valueByClass where v > 0 { total += v }
        guard total > 0, total.isFinite, a.valueByClass[ci] < total else { return nil }
        return a.valueByClass.map { max($0, 0) / total }
    }

    /// Books plans best first (largest expected gain; ties by unit, then track, so the result is
    /// deterministic) while each unit has a free fire channel, launchers and rounds for the
    /// threat's class; `oncePerTrack` skips a threat already booked.
    static func book(_ plans: [EngagementPlan], oncePerTrack: Bool, now: Double, assessments: [ThreatAssessment],
                     fireUnits: [FireUnitState]) -> [EngagementPlan] {
        let ordered = plans.sorted { a, b in
            a.expectedGain != b.expectedGain ? a.expectedGain > b.expectedGain
                : (a.fireUnit != b.fireUnit ? a.fireUnit < b.fireUnit : a.track < b.track)
        }
        let classOf = Dictionary(assessments.map { ($0.track, $0.threatClass) }, uniquingKeysWith: { a, _ in a })
        var units = fireUnits
        var taken = Set<Int>()
        var booked: [EngagementPlan] = []
        for c in ordered where !(oncePerTrack && taken.contains(c.track)) {
            let fu = units[c.fireUnit]
            let cls = classOf[c.track] ?? .drone
            guard fu.channelsBusy < fu.type.fireChannels, fu.roundsAvailable(for: cls) >= c.rounds,
                  fu.freeLaunchers(at: now) >= c.rounds else { continue }
            taken.insert(c.track)
            units[c.fireUnit].commit(rounds: c.rounds, at: c.launchTime)
            booked.append(c)
        }
        return booked
    }

    /// Whether the straight path p0 + v·(t − now), t in [from, until], stays too far from the unit for
    /// `reachableLater` to accept any point of it. A point it accepts has ground range g at most
    /// maxRange − r and |up component| at most U (its altitude window, the unit's height and the
    /// earth's drop over g), so it lies within g + U of the unit.
    static func neverNear(_ type: UnitFigures, _ f: LocalFrame, _ unit: Vector3, p0: Vector3, v: Vector3,
                          now: Double, from: Double, until: Double, margin: Double) -> Bool {
        neverNear(within: nearBound(type, f, margin: margin), unit, p0: p0, v: v, now: now, from: from, until: until)
    }

    /// The distance beyond which `neverNear` passes a path over, squared with its slack: a unit's
    /// figure alone (computed once per unit per look); nil when its shrunk envelope is empty.
    static func nearBound(_ type: UnitFigures, _ f: LocalFrame, margin: Double) -> Double? {
        let r = (type.maxRange - type.minRange) * margin, h = (type.maxAltitude - type.minAltitude) * margin
        let reach = type.maxRange - r
        guard reach > 0 else { return nil }
        // The up component u = altitude − h₀ − g²/2R of an accepted point, both ways.
        let h0 = f.origin.height
        let up = max(type.maxAltitude - h - h0, h0 - type.minAltitude - min(h, 50) + reach * reach / (2 * 6_371_000), 0)
        let bound = reach + up
        return bound * bound * (1 + 1e-9) + 1
    }

    static func neverNear(within bound2: Double?, _ unit: Vector3, p0: Vector3, v: Vector3,
                          now: Double, from: Double, until: Double) -> Bool {
        // The window as `reachableLater` tests it (absolute times), then relative to now.
        guard until > from else { return true }
        guard let bound2 else { return false }
        let from = from - now, until = until - now
        let d0 = p0 - unit
        let vv = dot(v, v)
        let s = vv > 0 ? min(max(-dot(d0, v) / vv, from), until) : from
        let closest = d0 + v * s
        return dot(closest, closest) > bound2
    }

    /// Whether a threat on `path` will pass through the unit's envelope (shrunk by `margin`)
    /// between `from` and `until`: the path sampled every few seconds.
    static func reachableLater(_ f: LocalFrame, _ type: UnitFigures, path: (Double) -> Vector3, from: Double, until: Double,
                               margin: Double) -> Bool {
        guard until > from else { return false }
        let r = (type.maxRange - type.minRange) * margin, h = (type.maxAltitude - type.minAltitude) * margin
        let steps = min(24, max(4, Int((until - from) / 10)))
        for k in 0...steps {
            let t = from + (until - from) * Double(k) / Double(steps)
            // In the unit's local frame; height above the ellipsoid from the frame's up axis and
            // the earth's curvature over the ground range (a screening test, not the intercept).
            let d = path(t) - f.originECEF
            let e = dot(d, f.east), n = dot(d, f.north), u = dot(d, f.up)
            let ground = (e * e + n * n).squareRoot()
            let altitude = f.origin.height + u + ground * ground / (2 * 6_371_000)
            if ground >= type.minRange + r && ground <= type.maxRange - r
                && altitude >= type.minAltitude + min(h, 50) && altitude <= type.maxAltitude - h { return true }
        }
        return false
    }

    /// The weapon–target assignment optimum over the known threats, a rolling horizon re-solved
    /// at every look. Each fire unit is a weapon type whose stock is its magazine (rounds left
    /// for the most favoured class, in engagements); a unit may shoot a threat now (an intercept
    /// in its envelope) or later (the threat's predicted path enters its envelope before
    /// impact). A shot kills with the pair's probability and costs `moneyWorth × cost per shot ×
    /// rounds`; threats are worth their value at risk. Only the shots for now are fired; the
    /// later ones are reservations, so a round is spent now only if that beats keeping it for a
    /// threat already seen coming — the magazine's shadow price is the round's retention value.
    /// Shoot-look-shoot (and a salvo, which is one engagement) gives a threat one engagement per
    /// look while there will be time to look and shoot again; a threat that leaves no such time
    /// may draw up to three units at once. Solved by `WTAExact` under a work limit (the same
    /// answer on every run); the shots for now are booked best first, within channels and
    /// launchers, as the greedy rule books them.
    func optimal(_ candidates: [EngagementPlan], later: [LaterPair], now: Double, assessments: [ThreatAssessment],
                 fireUnits: [FireUnitState]) -> [EngagementPlan] {
        guard !candidates.isEmpty else { return [] }
        let valueOf = Dictionary(assessments.map { ($0.track, $0.valueAtRisk) }, uniquingKeysWith: { a, _ in a })
        let impactOf = Dictionary(assessments.map { ($0.track, now + $0.timeToImpact) }, uniquingKeysWith: { a, _ in a })
        var units: [Int] = [], unitIndex: [Int: Int] = [:]
        var tracks: [Int] = [], trackIndex: [Int: Int] = [:]
        func index(_ u: Int, _ t: Int) {
            if unitIndex[u] == nil { unitIndex[u] = units.count; units.append(u) }
            if trackIndex[t] == nil { trackIndex[t] = tracks.count; tracks.append(t) }
        }
        for c in candidates { index(c.fireUnit, c.track) }
        for l in later { index(l.fireUnit, l.track) }
        // Expected threats beyond those in sight: phantom targets after the tracks (at most 20
        // per entry), which a unit can serve if its type kills their class and their asset lies
        // within its range. Rounds given to them are kept, never fired.
        var phantomValue: [Double] = [], phantomOf: [Int] = []
        for (g, e) in expected.enumerated() {
            for _ in 0..<min(e.count, 20) { phantomValue.append(e.value); phantomOf.append(g) }
        }
        let T = tracks.count + phantomValue.count
        var nowPair: [Int: EngagementPlan] = [:], pk: [Int: Double] = [:]
        var rounds = [Int](repeating: 1, count: units.count)
        for c in candidates {
            let ui = unitIndex[c.fireUnit]!, k = ui * T + trackIndex[c.track]!
            nowPair[k] = c; pk[k] = c.killProbability
            rounds[ui] = max(rounds[ui], c.rounds)
        }
        for l in later {
            let ui = unitIndex[l.fireUnit]!, k = ui * T + trackIndex[l.track]!
            if pk[k] == nil { pk[k] = l.killProbability }
            rounds[ui] = max(rounds[ui], l.rounds)
        }
        // Each unit's engagements left in its magazine (for the most favoured class).
        var weaponType: [Int] = [], kill: [Double] = [], mask: [Bool] = [], cost: [Double] = []
        for (ui, u) in units.enumerated() {
            let fu = fireUnits[u]
            let r = rounds[ui]
            let roundsMax = ThreatClass.allCases.map { fu.roundsAvailable(for: $0) }.max() ?? 0
            // More shots than three per threat in sight are never used.
            let shots = min(roundsMax / r, 3 * T)
            guard shots > 0 else { continue }
            var row = [Double](repeating: 0, count: T), feasible = [Bool](repeating: false, count: T)
            for j in 0..<T { if let q = pk[ui * T + j] { row[j] = q; feasible[j] = true } }
            if !expected.isEmpty {
                // Each entry's kill probability and reach once; its phantoms share them.
                let serves = expected.map { e -> Double? in
                    let q = fu.type.killProbability[e.threatClass] ?? 0
                    let reach = norm(e.targetECEF - fu.frame.originECEF) <= fu.type.maxRange
                    return q >= doctrine.minKillProbability && reach ? q : nil
                }
                for (j, g) in phantomOf.enumerated() {
                    if let q = serves[g] { row[tracks.count + j] = q; feasible[tracks.count + j] = true }
                }
            }
            for _ in 0..<shots {
                weaponType.append(ui)
                kill.append(contentsOf: row)
                mask.append(contentsOf: feasible)
                cost.append(doctrine.moneyWorth * fu.type.costPerShot * Double(r))
            }
        }
        guard !weaponType.isEmpty else { return [] }
        let instance = WTAInstance(name: "decision", weapons: weaponType.count, targets: T,
                                   values: tracks.map { max(valueOf[$0] ?? 0, 1e-9) } + phantomValue, killProbability: kill,
                                   weaponType: weaponType, feasible: mask, weaponCost: cost)
        // One engagement per look while a second look can still be followed by a shot: the
        // earliest outcome, a decision cycle and the quickest reaction before the impact.
        var firstOutcome = [Double](repeating: .infinity, count: T), quickest = [Double](repeating: .infinity, count: T)
        for c in candidates {
            let j = trackIndex[c.track]!
            firstOutcome[j] = min(firstOutcome[j], c.intercept.time)
            quickest[j] = min(quickest[j], c.launchTime - now)
        }
        let cap = (0..<T).map { j in
            j >= tracks.count || firstOutcome[j] == .infinity || firstOutcome[j] + doctrine.cycle + quickest[j] < (impactOf[tracks[j]] ?? .infinity) ? 1 : 3
        }
        let problem = WTAProblem(instance, targetCap: cap)
        let result = WTAExact.solve(problem, timeLimit: .infinity, iterationLimit: 2_000)
        // Fire the shots for now, best first (largest expected gain), as the greedy rule books.
        var chosen: [EngagementPlan] = []
        for t in 0..<problem.types {
            let ui = weaponType[problem.members[t][0]]
            for j in 0..<tracks.count {
                let n = Int(result.best.x[t * T + j])
                guard n > 0, let c = nowPair[ui * T + j] else { continue }
                for _ in 0..<n { chosen.append(c) }
            }
        }
        return Self.book(chosen, oncePerTrack: false, now: now, assessments: assessments, fireUnits: fireUnits)
    }
}

/// Threats expected beyond those in sight (a later wave, the next raid): `count` threats of a
/// class at an asset, each worth `value` (value units: the asset's value times the damage a
/// threat of that type does there).
public struct ExpectedThreat: Sendable, Hashable {
    public var threatClass: ThreatClass
    public var count: Int
    public var target: Geodetic
    public var value: Double
    public init(threatClass: ThreatClass, count: Int, target: Geodetic, value: Double) {
        self.threatClass = threatClass; self.count = count; self.target = target; self.value = value
        targetECEF = WGS84.ecef(target)
    }
    /// The asset's position in ECEF, computed once (the assigner tests reach to it every look).
    public let targetECEF: Vector3
}

/// A unit–threat pair that can be engaged later (not now) before the threat's impact.
struct LaterPair: Sendable {
    var fireUnit: Int
    var track: Int
    var rounds: Int
    var killProbability: Double
}
