import CanopyCore
import CanopyScenario
import CanopyTEWA
import Foundation

/// The true trajectory of one threat: position as a function of time since launch.
public enum FlightPath: Sendable {
    case waypoints(WaypointPath)
    case ballistic(BallisticPath)

    /// Seconds from launch to impact.
    public var duration: Double {
        switch self {
        case .waypoints(let w): w.duration
        case .ballistic(let b): b.duration
        }
    }

    /// An upper bound on the speed (m/s) of `position(at:)` over the whole flight: no two
    /// positions Δτ apart are farther than maxSpeed · Δτ (what a sensor's distance prefilter needs).
    public var maxSpeed: Double {
        switch self {
        case .waypoints(let w): w.maxSpeed
        case .ballistic(let b): b.maxSpeed
        }
    }

    /// ECEF position at time τ after launch (clamped to [0, duration]).
    public func position(at tau: Double) -> Vector3 {
        switch self {
        case .waypoints(let w): w.position(at: tau)
        case .ballistic(let b): b.position(at: tau)
        }
    }

    public var impactPoint: Geodetic { WGS84.geodetic(ecef: position(at: duration)) }
}

/// Great-circle legs between waypoints flown at constant ground speed, with an altitude profile:
/// climb after launch, cruise, terminal dive onto the aim point. A class: every sensor reads
/// every flying threat's path at each look, and a struct of four arrays was copied (and each
/// array retained) out of the enum on every read.
public final class WaypointPath: Sendable {
    /// Unit vectors (geocentric) of the route points, and the cumulative ground distance to each.
    let units: [Vector3]
    let cumulative: [Double]
    let legAngles: [Double]
    let cruise: [Double]
    public let length: Double
    public let speed: Double
    let climb: Double, dive: Double, launchAltitude: Double
    /// See `FlightPath.maxSpeed`.
    public let maxSpeed: Double

    public init(route: [Geodetic], cruiseAltitudes: [Double], speed: Double, climbAngle: Double, diveAngle: Double,
                launchAltitude: Double) {
        var u: [Vector3] = [], cum: [Double] = [0], ang: [Double] = []
        for p in route {
            let e = WGS84.ecef(Geodetic(latitude: p.latitude, longitude: p.longitude, height: 0))
            u.append(e / norm(e))
        }
        for k in 1..<route.count {
            let d = Geodesic.inverse(route[k - 1], route[k]).distance
            cum.append(cum[k - 1] + d)
            ang.append(acos(min(1, max(-1, dot(u[k - 1], u[k])))))
        }
        units = u; cumulative = cum; legAngles = ang; cruise = cruiseAltitudes
        length = cum.last ?? 0
        self.speed = speed; climb = tan(climbAngle); dive = tan(diveAngle); self.launchAltitude = launchAltitude
        // Per metre of ground track: the direction turns by at most max(leg angle / leg length)
        // radians, which moves the point by at most (the largest radius of curvature, a/√(1 − e²)
        // at the poles, plus the highest altitude) times that, times 1/(1 − e²) for the geocentric-to-geodetic
        // latitude; the height changes by at most the steepest of climb, dive and cruise slopes.
        var turn = 0.0, slope = max(abs(climb), abs(dive))
        for k in ang.indices {
            let leg = cum[k + 1] - cum[k]
            guard leg > 0 else { continue }
            turn = max(turn, ang[k] / leg)
            if k + 1 < cruiseAltitudes.count { slope = max(slope, abs(cruiseAltitudes[k + 1] - cruiseAltitudes[k]) / leg) }
        }
        let top = max(launchAltitude, cruiseAltitudes.max() ?? 0, 0)
        let horizontal = (WGS84.a / (1 - WGS84.e2).squareRoot() + top) * turn / (1 - WGS84.e2)
        maxSpeed = 1.01 * speed * (horizontal * horizontal + slope * slope).squareRoot()
    }

    public var duration: Double { length / speed }

    /// Ground distance flown → (leg, fraction along the leg).
    @inline(__always) func locate(_ s: Double) -> (Int, Double) {
        var k = 0
        while k < legAngles.count - 1 && cumulative[k + 1] < s { k += 1 }
        let legLength = cumulative[k + 1] - cumulative[k]
        return (k, legLength > 0 ? (s - cumulative[k]) / legLength : 1)
    }

    /// Point on the great circle of leg k at fraction f (spherical linear interpolation of the
    /// geocentric directions, which keeps it in the plane through the earth's centre).
    @inline(__always) func groundDirection(leg k: Int, fraction f: Double) -> Vector3 {
        let a = units[k], b = units[k + 1], om = legAngles[k]
        if om < 1e-12 { return a }
        let so = sin(om)
        return a * (sin((1 - f) * om) / so) + b * (sin(f * om) / so)
    }

    public func altitude(atDistance s: Double) -> Double {
        let (k, f) = locate(s)
        let cruiseHere = cruise[k] + (cruise[k + 1] - cruise[k]) * f
        return max(0, min(cruiseHere, launchAltitude + s * climb, (length - s) * dive))
    }

    public func position(at tau: Double) -> Vector3 {
        let s = min(max(tau, 0), duration) * speed
        let (k, f) = locate(s)
        let dir = groundDirection(leg: k, fraction: f)
        // Geocentric direction → geodetic latitude on the ellipsoid.
        let psi = asin(max(-1, min(1, dir.z)))
        let lat = atan(tan(psi) / (1 - WGS84.e2))
        let lon = atan2(dir.y, dir.x)
        return WGS84.ecef(Geodetic(latitude: lat, longitude: lon, height: altitude(atDistance: s)))
    }
}

/// A ballistic or aeroballistic arc: free flight under central gravity from the launch point to
/// the aim point, solved once and tabulated. A class, for the reason `WaypointPath` is one.
public final class BallisticPath: Sendable {
    let table: [Vector3]
    let step: Double
    public let duration: Double
    /// See `FlightPath.maxSpeed`: the fastest of the table's linear segments.
    public let maxSpeed: Double

    /// Propagates a launch state until the ground (height 0); returns the sampled positions and the time of flight.
    public static func fly(from p0: Vector3, velocity v0: Vector3, step: Double, maxTime: Double = 3600)
        -> (table: [Vector3], duration: Double)
    {
        var table = [p0]
        table.reserveCapacity(Int(min(maxTime, 1200) / step))
        let (_, duration) = propagate(from: p0, velocity: v0, step: step, maxTime: maxTime, table: &table, keep: true)
        return (table, duration)
    }

    /// Where the arc from a launch state meets the ground, and when: `fly`'s last sample and
    /// duration, by the same arithmetic, without keeping the samples (the launch solver's trials).
    public static func landing(from p0: Vector3, velocity v0: Vector3, step: Double, maxTime: Double = 3600)
        -> (end: Vector3, duration: Double)
    {
        var none: [Vector3] = []
        return propagate(from: p0, velocity: v0, step: step, maxTime: maxTime, table: &none, keep: false)
    }

    @inline(__always)
    static func propagate(from p0: Vector3, velocity v0: Vector3, step: Double, maxTime: Double,
                          table: inout [Vector3], keep: Bool) -> (end: Vector3, duration: Double)
    {
        var p = p0, v = v0, t = 0.0
        var h = WGS84.geodetic(ecef: p).height
        /// Height above the ellipsoid: a cheap bound high up (within ~25 m of the truth), exact near the ground.
        @inline(__always) func height(_ p: Vector3) -> Double {
            let r = norm(p)
            let s = p.z / r
            let approx = r - WGS84.a * (1 - WGS84.f * s * s)
            return approx > 2_000 ? approx : WGS84.geodetic(ecef: p).height
        }
        while t < maxTime {
            let pp = p
            BallisticPredictor.step(&p, &v, dt: step)
            let hn = height(p)
            if hn <= 0 && t > 0 {
                let f = h / (h - hn)
                let end = pp + (p - pp) * f
                if keep { table.append(end) }
                return (end, t + f * step)
            }
            if keep { table.append(p) }
            h = hn
            t += step
        }
        return (p, t)
    }

    /// Launch velocity (ECEF) for speed v, flight-path angle gamma above the local horizontal and azimuth az at p.
    static func launchVelocity(at g: Geodetic, speed: Double, loft gamma: Double, azimuth az: Double) -> Vector3 {
        let f = LocalFrame(origin: g)
        return f.ecefVector(Vector3(speed * cos(gamma) * sin(az), speed * cos(gamma) * cos(az), speed * sin(gamma)))
    }

    /// Solves the launch speed (and corrects the azimuth) so that the arc from `launch` with
    /// loft angle `gamma` falls on `target`; nil if out of reach of a sub-orbital arc.
    ///
    /// The range grows with the launch speed (below escape), so the speed is a root of
    /// range(v) − wanted. Trials only find where an arc lands (`landing`); the samples are kept
    /// once, for the speed and azimuth found. The root is found by the Illinois variant of
    /// regula falsi (Dowell & Jarratt 1971) inside a bracket that starts at [10, 7,500] m/s and
    /// narrows with every trial, starting from the speed of a spherical, non-rotating earth's
    /// symmetric arc (`BallisticFormula`), and from the last speed found when the azimuth is
    /// corrected. A trial that would leave the bracket is replaced by its midpoint; 60 trials at
    /// most, as with the bisection this replaced. Building the winter raid's 34 arcs took about
    /// a fifth of the time it did by bisection.
    public init?(launch: Geodetic, target: Geodetic, loft gamma: Double, step: Double = 0.5) {
        let p0 = WGS84.ecef(launch)
        let aim = Geodesic.inverse(launch, target)
        var azimuth = aim.azimuth1
        let wanted = aim.distance
        var best: (speed: Double, azimuth: Double, end: Geodetic)? = nil
        var guess = Self.sphericalSpeed(distance: wanted, loft: gamma)
        for _ in 0..<8 {
            var lo = 10.0, hi = 7_500.0
            var gLo = -Double.infinity, gHi = Double.infinity   // range − wanted at lo and hi, when tried
            var v = min(max(guess, lo), hi)
            var found: (speed: Double, end: Geodetic)? = nil
            var side = 0                                        // the end kept twice in a row (Illinois)
            var reach = max(v * 0.01, 1)
            for _ in 0..<60 {
                let (endECEF, _) = Self.landing(from: p0, velocity: Self.launchVelocity(at: launch, speed: v, loft: gamma, azimuth: azimuth), step: step)
                let end = WGS84.geodetic(ecef: endECEF)
                let g = Geodesic.inverse(launch, end).distance - wanted
                found = (v, end)
                if abs(g) < 0.5 { break }
                // Short at the ceiling: out of reach of a sub-orbital arc at this loft.
                if g < 0 && v >= hi { return nil }
                if g < 0 {
                    lo = v; gLo = g
                    if side == -1, gHi.isFinite { gHi /= 2 }
                    side = -1
                } else {
                    hi = v; gHi = g
                    if side == 1, gLo.isFinite { gLo /= 2 }
                    side = 1
                }
                if gLo.isFinite && gHi.isFinite {
                    v = lo + (hi - lo) * (-gLo) / (gHi - gLo)
                } else {
                    // One side tried so far: a step towards the other, one per cent of the speed
                    // and doubling each time, until the root is bracketed (a first guess is
                    // within a few per cent).
                    v = g < 0 ? min(v + reach, hi) : max(v - reach, lo)
                    reach *= 2
                }
                // Inside the bracket, or at its ceiling while that is untried (short there: out of
                // reach, said at once); otherwise its middle.
                if !(v > lo && (v < hi || !gHi.isFinite)) || hi - lo < 1e-9 { v = 0.5 * (lo + hi) }
            }
            guard let f = found else { return nil }
            best = (f.speed, azimuth, f.end)
            guess = f.speed
            // Correct the azimuth by the miss direction; stop when the arc lands within a metre.
            if Geodesic.inverse(f.end, target).distance < 1 { break }
            let miss = Geodesic.inverse(launch, f.end)
            azimuth += wrapAngle(aim.azimuth1 - miss.azimuth1)
        }
        guard let b = best else { return nil }
        let (tab, dur) = Self.fly(from: p0, velocity: Self.launchVelocity(at: launch, speed: b.speed, loft: gamma, azimuth: b.azimuth), step: step)
        let end = b.end
        // Out of reach (the speed search ends at its ceiling, short of the aim): no arc, rather
        // than one that falls hundreds of kilometres short.
        guard dur > 0, Geodesic.inverse(end, target).distance < 1_000 else { return nil }
        table = tab; self.step = step; duration = dur
        var fastest = 0.0
        for i in 0..<(tab.count - 1) {
            let span = i == tab.count - 2 ? dur / step - Double(i) : 1
            if span > 0 { fastest = max(fastest, norm(tab[i + 1] - tab[i]) / (span * step)) }
        }
        maxSpeed = 1.01 * fastest
    }

    /// The launch speed whose symmetric arc over a spherical, non-rotating earth spans `distance`
    /// (m along the surface) at loft `gamma`: the solver's first guess. Bisection on the closed
    /// form; 7,500 m/s when no sub-orbital arc reaches.
    static func sphericalSpeed(distance: Double, loft gamma: Double) -> Double {
        let psi = distance / WGS84.a
        var lo = 10.0, hi = 7_500.0
        for _ in 0..<50 {
            let v = 0.5 * (lo + hi)
            let r = BallisticFormula.rangeAngle(speed: v, loft: gamma, radius: WGS84.a)
            if r.isFinite && r < psi { lo = v } else { hi = v }
        }
        return 0.5 * (lo + hi)
    }

    public func position(at tau: Double) -> Vector3 {
        if tau >= duration { return table[table.count - 1] }
        let u = max(tau, 0) / step
        let i = Int(u)
        if i >= table.count - 1 { return table[table.count - 1] }
        // The last sample sits at the impact time, less than a step after the one before it.
        let span = i == table.count - 2 ? duration / step - Double(i) : 1
        let f = span > 0 ? (u - Double(i)) / span : 1
        return table[i] + (table[i + 1] - table[i]) * f
    }
}

/// Analytic free-flight range and time of flight over a spherical, non-rotating earth for a
/// symmetric trajectory (Bate, Mueller & White 1971, §6.2): launch and re-entry at radius r,
/// speed v, flight-path angle γ.
public enum BallisticFormula {
    /// Range angle Ψ (rad): cos(Ψ/2) = (1 − Q cos²γ) / sqrt(1 + Q(Q − 2) cos²γ), Q = v² r / μ.
    public static func rangeAngle(speed v: Double, loft gamma: Double, radius r: Double, mu: Double = WGS84.mu) -> Double {
        let q = v * v * r / mu
        let c2 = cos(gamma) * cos(gamma)
        return 2 * acos((1 - q * c2) / (1 + q * (q - 2) * c2).squareRoot())
    }

    /// Time of flight (s) from Kepler's equation on the free-flight ellipse.
    public static func timeOfFlight(speed v: Double, loft gamma: Double, radius r: Double, mu: Double = WGS84.mu) -> Double {
        let q = v * v * r / mu
        let a = r / (2 - q)                                  // semi-major axis (vis-viva)
        let h = r * v * cos(gamma)                           // specific angular momentum
        let p = h * h / mu                                   // semi-latus rectum
        let e = (max(0, 1 - p / a)).squareRoot()
        // True anomaly at launch, on the rising branch (0, π): r = p / (1 + e cos ν).
        let cosNu = (p / r - 1) / e
        let nu = acos(max(-1, min(1, cosNu)))
        let E = 2 * atan(((1 - e) / (1 + e)).squareRoot() * tan(nu / 2))
        let M = E - e * sin(E)
        let n = (mu / (a * a * a)).squareRoot()
        // Symmetric arc: from ν to apogee (M = π) and down again.
        return 2 * (.pi - M) / n
    }

    /// Flat-earth, constant-gravity range v² sin 2γ / g and time of flight 2 v sin γ / g.
    public static func flatEarth(speed v: Double, loft gamma: Double, g: Double) -> (range: Double, time: Double) {
        (v * v * sin(2 * gamma) / g, 2 * v * sin(gamma) / g)
    }
}
