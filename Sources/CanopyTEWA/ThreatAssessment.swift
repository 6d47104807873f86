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
}

/// Kinematic memory the assessor keeps per track (a class should not flicker).
public struct TrackHistory: Sendable {
    public var maxSpeed: Double = 0
    public var maxAltitude: Double = -.infinity
    public var updates: Int = 0
    public init() {}
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

    public init(assets: [Asset], catalogue: Catalogue) {
        self.assets = assets
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
        let (x, _) = track.predicted(to: now, processNoise: processNoise)
        let p = x.position, v = x.velocity
        let here = WGS84.geodetic(ecef: p)
        let frame = LocalFrame(origin: here)
        let venu = frame.enuVector(v)
        let ground = (venu.x * venu.x + venu.y * venu.y).squareRoot()
        let cls = Self.classify(speed: norm(v), altitude: here.height, verticalSpeed: venu.z, history: history)
        let warhead = warheadByClass[cls] ?? 100
        var result = ThreatAssessment(track: track.id, threatClass: cls, aimAsset: nil, aimPoint: here,
                                      timeToImpact: .infinity, valueAtRisk: 0, populationAtRisk: 0,
                                      speed: ground, altitude: here.height, ballistic: false)
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
                if let (k, _) = best { setAim(&result, asset: k, warhead: warhead) }
            }
            return result
        }
        guard ground > 1 else { return result }
        let dir = Vector3(venu.x / ground, venu.y / ground, 0)
        var best: (k: Int, score: Double, along: Double)? = nil
        for (k, a) in assetECEF.enumerated() {
            let rel = frame.enuVector(a - p)
            let along = rel.x * dir.x + rel.y * dir.y
            guard along > 0 else { continue }
            let cross = abs(rel.x * dir.y - rel.y * dir.x)
            let angle = atan2(max(0, cross - assets[k].radius), along)
            guard angle <= aimCone else { continue }
            // Nearer-to-the-line first, then nearer.
            let score = angle + along * 1e-7
            if best == nil || score < best!.score { best = (k, score, along) }
        }
        if let b = best {
            setAim(&result, asset: b.k, warhead: warhead)
            result.aimPoint = assets[b.k].position
            result.timeToImpact = b.along / ground
        }
        return result
    }

    private func setAim(_ r: inout ThreatAssessment, asset k: Int, warhead: Double) {
        let a = assets[k]
        let frac = min(1, warhead * a.damagePerKg)
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
