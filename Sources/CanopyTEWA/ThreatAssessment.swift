import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation

/// What the defence believes about one track.
public struct ThreatAssessment: Sendable {
    public var track: Int
    public var threatClass: ThreatClass
    /// Index of the predicted aimed-at asset, or nil when no defended asset lies ahead.
    public var aimAsset: Int?
    /// Predicted impact or aim point.
    public var aimPoint: Geodetic
    /// Seconds until predicted impact (at the aim point).
    public var timeToImpact: Double
    /// Value (value units) and people the threat would destroy or affect at its aim point.
    public var valueAtRisk: Double
    public var populationAtRisk: Double
    /// Ground speed (m/s) and altitude (m).
    public var speed: Double
    public var altitude: Double
    /// Whether the track is predicted on a ballistic (gravity) path.
    public var ballistic: Bool
    /// Probability of each threat class, in `ThreatClass.allCases` order (one-hot under the
    /// kinematic rule); `threatClass` is the most probable.
    public var classProbabilities: [Double] = []
    /// The assets the threat may be aimed at, most probable first, with their probabilities
    /// (the rest of the mass: no defended asset); `aimAsset` is the first.
    public var aimProbabilities: [(asset: Int, probability: Double)] = []
    /// The value at risk carried by each threat class, in `ThreatClass.allCases` order, summing to
    /// `valueAtRisk`; empty when it is all `threatClass`'s. A track likely a decoy (no warhead)
    /// may carry all its value as the Shahed it might be: the assigner weighs kill probabilities
    /// by this, not by the most probable class.
    public var valueByClass: [Double] = []

    /// An assessment as given (the assessor makes them; a test of a planner may make its own).
    public init(track: Int, threatClass: ThreatClass, aimAsset: Int?, aimPoint: Geodetic, timeToImpact: Double,
                valueAtRisk: Double, populationAtRisk: Double, speed: Double, altitude: Double, ballistic: Bool) {
        self.track = track; self.threatClass = threatClass; self.aimAsset = aimAsset; self.aimPoint = aimPoint
        self.timeToImpact = timeToImpact; self.valueAtRisk = valueAtRisk; self.populationAtRisk = populationAtRisk
        self.speed = speed; self.altitude = altitude; self.ballistic = ballistic
    }

    public func probability(of c: ThreatClass) -> Double {
        guard let i = ThreatClass.allCases.firstIndex(of: c), i < classProbabilities.count else { return c == threatClass ? 1 : 0 }
        return classProbabilities[i]
    }
}

/// Kinematic memory the assessor keeps per track (a class should not flicker).
public struct TrackHistory: Sendable {
    public var maxSpeed: Double = 0
    public var maxAltitude: Double = -.infinity
    public var updates: Int = 0
    /// Sum and number of the speed estimates seen (one per decision cycle once the track is
    /// steady): their mean tells types of one class apart better than any single estimate.
    public var speedSum: Double = 0
    public var speedSamples: Int = 0
    public init() {}
    public var meanSpeed: Double? { speedSamples > 0 ? speedSum / Double(speedSamples) : nil }
}

/// Threat evaluation from kinematics alone: class, aim point among defended assets, time to
/// impact, value at risk.
public struct ThreatAssessor: Sendable {
    public let assets: [Asset]
    public let assetECEF: [Vector3]
    /// Typical warhead (kg) per class, from the catalogue the defence was told about.
    public let warheadByClass: [ThreatClass: Double]
    /// Half-angle (rad) of the cone ahead of a track in which an asset counts as aimed at.
    public var aimCone: Double = radians(12)
    public var rule: AssessmentRule
    /// The slow, level-flying types (drones, decoys, subsonic cruise missiles) the probabilistic
    /// rule weighs: class, cruise speed, cruise altitude, warhead.
    public let slowTypes: [(threatClass: ThreatClass, speed: Double, altitude: Double, warheadKg: Double)]

    public init(assets: [Asset], catalogue: Catalogue, rule: AssessmentRule = .probabilistic) {
        self.assets = assets
        self.rule = rule
        slowTypes = catalogue.threats.keys.sorted().compactMap { name in
            let t = catalogue.threats[name]!
            guard [.drone, .decoy, .cruise].contains(t.threatClass) else { return nil }
            return (t.threatClass, t.speed, t.cruiseAltitude, t.warheadKg)
        }
        assetECEF = assets.map { WGS84.ecef($0.position) }
        var sums: [ThreatClass: (Double, Double)] = [:]
        for t in catalogue.threats.values {
            let s = sums[t.threatClass] ?? (0, 0)
            sums[t.threatClass] = (s.0 + t.warheadKg, s.1 + 1)
        }
        var w: [ThreatClass: Double] = [:]
        for c in ThreatClass.allCases { if let s = sums[c], s.1 > 0 { w[c] = s.0 / s.1 } else { w[c] = 100 } }
        // Drones and decoys look alike to kinematics: a "drone" is assessed with the strike drone's warhead.
        warheadByClass = w
    }

    /// Class from speed, altitude and climb, with the track's history.
    public static func classify(speed: Double, altitude: Double, verticalSpeed: Double, history: TrackHistory) -> ThreatClass {
        let v = max(speed, history.maxSpeed * 0.8)
        let h = max(altitude, history.maxAltitude)
        if v > 2300 && h > 10_000 { return .aeroballistic }
        if h > 30_000 || (v > 900 && abs(verticalSpeed) > 0.35 * speed) { return .ballistic }
        if v > 650 { return .supersonicCruise }
        if v > 110 { return .cruise }
        return .drone
    }

    /// Assesses one track at time `now`.
    public func assess(track: Track, now: Double, history: TrackHistory, processNoise: Double) -> ThreatAssessment {
        assess(id: track.id, state: track.predicted(to: now, processNoise: processNoise).x, history: history)
    }

    /// Assesses a track given by its id and its state at the time of the assessment (ECEF, m and
    /// m/s): a track of this battle manager's tracker predicted to now, or one reported from
    /// outside (the event model's).
    /// As `assess(id:state:history:)`, first taking this look into the history: once the
    /// track has `hits` ≥ 4 detections, its speed and height (the fastest, the highest, the mean speed).
    public func assess(id: Int, state x: Vector6, history h: inout TrackHistory, hits: Int) -> ThreatAssessment {
        let k = Kinematics(state: x)
        if hits >= 4 {
            let speed = norm(x.velocity)
            h.maxSpeed = max(h.maxSpeed, speed)
            h.maxAltitude = max(h.maxAltitude, k.here.height)
            h.speedSum += speed
            h.speedSamples += 1
        }
        h.updates = hits
        return rule == .kinematic ? assessKinematic(id: id, k, history: h) : assessProbabilistic(id: id, k, history: h)
    }

    public func assess(id: Int, state x: Vector6, history: TrackHistory) -> ThreatAssessment {
        let k = Kinematics(state: x)
        return rule == .kinematic ? assessKinematic(id: id, k, history: history)
            : assessProbabilistic(id: id, k, history: history)
    }

    /// Probability of each slow type given the mean speed and the altitude: Gaussian likelihoods
    /// around the type's cruise speed (σ: the larger of 3 m/s and 6 % of it, type to type and
    /// wind, plus the estimate's own error, 5 m/s over every ~5 samples) and cruise altitude
    /// (σ: the larger of 300 m and 30 %), equal priors.
    public func slowTypePosterior(meanSpeed: Double, samples: Int, altitude: Double) -> [Double] {
        var logL = [Double](repeating: 0, count: slowTypes.count)
        let nEff = max(1, Double(samples) / 5)
        for (k, t) in slowTypes.enumerated() {
            let sv2 = max(3, 0.06 * t.speed) * max(3, 0.06 * t.speed) + 25 / nEff
            let sh = max(300, 0.3 * t.altitude)
            let dv = meanSpeed - t.speed, dh = altitude - t.altitude
            logL[k] = -0.5 * (dv * dv / sv2 + dh * dh / (sh * sh)) - 0.5 * Foundation.log(sv2) - Foundation.log(sh)
        }
        let m = logL.max() ?? 0
        var w = logL.map { Foundation.exp($0 - m) }
        let total = w.reduce(0, +)
        if total > 0 { w = w.map { $0 / total } }
        return w
    }

    /// The probabilistic rule: a distribution over threat types (hence classes and warheads) and
    /// over the assets ahead; value at risk is its expectation.
    func assessProbabilistic(id: Int, _ k: Kinematics, history: TrackHistory) -> ThreatAssessment {
        var r = assessKinematic(id: id, k, history: history, aim: false)
        let classes = ThreatClass.allCases
        var probs = [Double](repeating: 0, count: classes.count)
        // Expected damage fraction at an asset: Σ over types of P(type) · min(1, warhead · damage per kg).
        var typeWeights: [(p: Double, warhead: Double, classIndex: Int)]
        var mixed = false
        if r.ballistic || r.threatClass == .supersonicCruise || slowTypes.isEmpty {
            let ci = classes.firstIndex(of: r.threatClass)!
            probs[ci] = 1
            typeWeights = [(1, warheadByClass[r.threatClass] ?? 100, ci)]
        } else {
            let post = slowTypePosterior(meanSpeed: history.meanSpeed ?? r.speed, samples: history.speedSamples, altitude: r.altitude)
            typeWeights = []
            for (k, t) in slowTypes.enumerated() {
                let ci = classes.firstIndex(of: t.threatClass)!
                probs[ci] += post[k]
                typeWeights.append((post[k], t.warheadKg, ci))
            }
            mixed = true
            var best = 0
            for i in probs.indices where probs[i] > probs[best] { best = i }
            r.threatClass = classes[best]
        }
        r.classProbabilities = probs
        func expectedFraction(_ a: Asset) -> Double { typeWeights.reduce(0) { $0 + $1.p * a.damageFraction(warheadKg: $1.warhead) } }
        /// The expected damage fraction at asset a (as `expectedFraction`), adding w × value × each
        /// class's part of it to `byClass` when the classes are mixed: one pass over the types.
        var byClass = [Double](repeating: 0, count: mixed ? classes.count : 0)
        func fractionSplitting(_ a: Asset, _ w: Double) -> Double {
            var f = 0.0
            for t in typeWeights {
                let df = a.damageFraction(warheadKg: t.warhead)
                f += t.p * df
                if mixed { byClass[t.classIndex] += w * a.value * t.p * df }
            }
            return f
        }
        if r.ballistic {
            // The impact point is predicted; the asset is the one it falls on (as the kinematic rule).
            if let k = r.aimAsset {
                r.aimProbabilities = [(k, 1)]
                r.valueAtRisk = assets[k].value * expectedFraction(assets[k])
                r.populationAtRisk = assets[k].population * expectedFraction(assets[k])
            }
            return r
        }
        // Aim: weight exp(−½ (θ/σ)²) per asset ahead, θ the angle off the track's heading to the
        // asset's edge, σ half the aim cone; no asset at all weighs as θ = 2.5 σ.
        let aims = aimCandidates(k), ground = k.ground
        guard ground > 1, !aims.isEmpty else { return r }
        let sigma = aimCone / 2
        var weights = aims.map { Foundation.exp(-0.5 * ($0.angle / sigma) * ($0.angle / sigma)) }
        let none = Foundation.exp(-0.5 * 2.5 * 2.5)
        let total = weights.reduce(none, +)
        weights = weights.map { $0 / total }
        var order = Array(aims.indices)
        order.sort { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : aims[$0].score < aims[$1].score }
        r.aimProbabilities = order.map { (aims[$0].asset, weights[$0]) }
        var value = 0.0, people = 0.0
        for i in aims.indices {
            let a = assets[aims[i].asset]
            let f = fractionSplitting(a, weights[i])
            value += weights[i] * a.value * f
            people += weights[i] * a.population * f
        }
        r.valueByClass = byClass
        let top = aims[order[0]]
        r.aimAsset = top.asset
        r.aimPoint = assets[top.asset].position
        r.timeToImpact = top.along / ground
        r.valueAtRisk = value
        r.populationAtRisk = people
        return r
    }

    /// Assets ahead of the track within 2.5 half-cones of its heading: index, angle off the heading
    /// to the asset's edge, distance along the heading, and the kinematic rule's ranking score.
    func aimCandidates(_ k: Kinematics) -> [(asset: Int, angle: Double, along: Double, score: Double)] {
        let p = k.position, frame = k.frame, venu = k.venu, ground = k.ground
        guard ground > 1 else { return [] }
        let dir = Vector3(venu.x / ground, venu.y / ground, 0)
        var out: [(Int, Double, Double, Double)] = []
        for (k, a) in assetECEF.enumerated() {
            let rel = frame.enuVector(a - p)
            let along = rel.x * dir.x + rel.y * dir.y
            guard along > 0 else { continue }
            let cross = abs(rel.x * dir.y - rel.y * dir.x)
            let angle = atan2(max(0, cross - assets[k].radius), along)
            guard angle <= 1.25 * aimCone else { continue }
            out.append((k, angle, along, angle + along * 1e-7))
        }
        return out
    }

    /// A track's state at `now` in the local frame under it (computed once per assessment).
    struct Kinematics {
        var position: Vector3, velocity: Vector3
        var here: Geodetic, frame: LocalFrame
        var venu: Vector3, ground: Double

        init(state x: Vector6) {
            position = x.position; velocity = x.velocity
            here = WGS84.geodetic(ecef: position)
            frame = LocalFrame(origin: here)
            venu = frame.enuVector(velocity)
            ground = (venu.x * venu.x + venu.y * venu.y).squareRoot()
        }
    }

    /// The kinematic rule: one class from speed and altitude, one aim point (the asset nearest the
    /// track's line ahead), the class's mean warhead.
    func assessKinematic(id: Int, _ k: Kinematics, history: TrackHistory, aim: Bool = true) -> ThreatAssessment {
        let p = k.position, v = k.velocity, here = k.here, venu = k.venu, ground = k.ground
        let cls = Self.classify(speed: norm(v), altitude: here.height, verticalSpeed: venu.z, history: history)
        let warhead = warheadByClass[cls] ?? 100
        var result = ThreatAssessment(track: id, threatClass: cls, aimAsset: nil, aimPoint: here,
                                      timeToImpact: .infinity, valueAtRisk: 0, populationAtRisk: 0,
                                      speed: ground, altitude: here.height, ballistic: false)
        result.classProbabilities = ThreatClass.allCases.map { $0 == cls ? 1 : 0 }
        if cls == .ballistic || cls == .aeroballistic {
            result.ballistic = true
            if let (impact, tof) = BallisticPredictor.impact(position: p, velocity: v) {
                result.aimPoint = impact
                result.timeToImpact = tof
                let ie = WGS84.ecef(impact)
                var best: (Int, Double)? = nil
                for (k, a) in assetECEF.enumerated() {
                    let d = norm(a - ie)
                    if d <= assets[k].radius + 15_000, d < (best?.1 ?? .infinity) { best = (k, d) }
                }
                if let (k, _) = best {
                    result.aimProbabilities = [(k, 1)]
                    setAim(&result, asset: k, warhead: warhead)
                }
            }
            return result
        }
        guard ground > 1, aim else { return result }
        // Nearer-to-the-line first, then nearer (the first of equal scores).
        var best: (k: Int, score: Double, along: Double)? = nil
        for c in aimCandidates(k) where c.angle <= aimCone {
            if best == nil || c.score < best!.score { best = (c.asset, c.score, c.along) }
        }
        if let b = best {
            result.aimProbabilities = [(b.k, 1)]
            setAim(&result, asset: b.k, warhead: warhead)
            result.aimPoint = assets[b.k].position
            result.timeToImpact = b.along / ground
        }
        return result
    }

    private func setAim(_ r: inout ThreatAssessment, asset k: Int, warhead: Double) {
        let a = assets[k]
        let frac = a.damageFraction(warheadKg: warhead)
        r.aimAsset = k
        r.valueAtRisk = a.value * frac
        r.populationAtRisk = a.population * frac
    }
}

/// Free flight under central gravity (no drag), for predicting where a ballistic track falls.
public enum BallisticPredictor {
    /// Acceleration of central gravity at ECEF position p.
    @inlinable public static func gravity(_ p: Vector3) -> Vector3 {
        let r2 = dot(p, p)
        let r = r2.squareRoot()
        return p * (-WGS84.mu / (r2 * r))
    }

    /// Propagates (p, v) by dt with one RK4 step.
    @inlinable public static func step(_ p: inout Vector3, _ v: inout Vector3, dt: Double) {
        let a1 = gravity(p)
        let p2 = p + v * (dt / 2), v2 = v + a1 * (dt / 2)
        let a2 = gravity(p2)
        let p3 = p + v2 * (dt / 2), v3 = v + a2 * (dt / 2)
        let a3 = gravity(p3)
        let p4 = p + v3 * dt, v4 = v + a3 * dt
        let a4 = gravity(p4)
        p += (v + 2 * v2 + 2 * v3 + v4) * (dt / 6)
        v += (a1 + 2 * a2 + 2 * a3 + a4) * (dt / 6)
    }

    /// Where and after how long a body at (p, v) reaches height 0, or nil if not within `maxTime`.
    public static func impact(position: Vector3, velocity: Vector3, maxTime: Double = 1800, dt: Double = 1)
        -> (Geodetic, Double)?
    {
        var p = position, v = velocity, t = 0.0
        var h = WGS84.geodetic(ecef: p).height
        if h <= 0 { return (WGS84.geodetic(ecef: p), 0) }
        while t < maxTime {
            let pp = p, vv = v
            step(&p, &v, dt: dt)
            let hn = WGS84.geodetic(ecef: p).height
            if hn <= 0 {
                // Linear interpolation inside the last step.
                let f = h / (h - hn)
                let pi = pp + (p - pp) * f
                _ = vv
                return (WGS84.geodetic(ecef: pi), t + f * dt)
            }
            h = hn
            t += dt
        }
        return nil
    }

    /// Position after dt seconds of free flight.
    public static func position(after dt: Double, position: Vector3, velocity: Vector3, step h: Double = 1) -> Vector3 {
        var p = position, v = velocity, t = 0.0
        while t < dt {
            let s = min(h, dt - t)
            step(&p, &v, dt: s)
            t += s
        }
        return p
    }
}
