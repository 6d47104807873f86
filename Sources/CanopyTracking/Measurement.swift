import CanopyCore
import Foundation

/// What a sensor measures.
public enum MeasurementKind: UInt8, Sendable {
    /// Radar: slant range (m), azimuth (rad, clockwise from the sensor's north), elevation (rad).
    case rangeAzimuthElevation
    /// Bearing only: azimuth (rad) in the sensor's frame (acoustic node, citizen report).
    case bearing
    /// 2-D position: (east, north) of the target relative to the sensor, in its frame (m).
    case position2D
}

/// Where a sensor is and how it is turned, in the tracker's Cartesian frame (ECEF for the
/// simulation, a flat ENU plane for the benchmark): its origin and the unit axes of its local
/// east, north and up.
public struct SensorFrame: Sendable, Hashable {
    public var origin: Vector3
    public var east: Vector3, north: Vector3, up: Vector3

    /// A sensor on the WGS-84 ellipsoid, in ECEF.
    public init(_ f: LocalFrame) {
        origin = f.originECEF; east = f.east; north = f.north; up = f.up
    }

    /// A sensor at `origin` of a flat frame whose axes are east, north, up.
    public init(flatOrigin origin: Vector3) {
        self.origin = origin
        east = Vector3(1, 0, 0); north = Vector3(0, 1, 0); up = Vector3(0, 0, 1)
    }

    /// A vector of the tracker frame in the sensor's ENU axes.
    @inlinable public func local(_ v: Vector3) -> Vector3 { Vector3(dot(east, v), dot(north, v), dot(up, v)) }
    /// A vector of the sensor's ENU axes in the tracker frame.
    @inlinable public func global(_ v: Vector3) -> Vector3 { east * v.x + north * v.y + up * v.z }
}

/// Where a measurement model was linearised: the point p̄, h(p̄) and the Jacobian H at p̄ (with
/// respect to position), so that an update can reuse what the gate computed.
public struct MeasurementLinearisation: Sendable {
    public var position: Vector3
    public var h: Vector3
    public var Hp: Matrix3
    @inlinable public init(position: Vector3, h: Vector3, Hp: Matrix3) { self.position = position; self.h = h; self.Hp = Hp }
}

/// A sensor as the filter needs it: what it measures, where, and its noise. Plain data, so it
/// can be stored with every update (for out-of-sequence reprocessing).
public struct MeasurementSource: Sendable {
    public var kind: MeasurementKind
    public var frame: SensorFrame
    /// Noise standard deviations: (range m, azimuth rad, elevation rad) for radar; (bearing rad, _, _)
    /// for bearing; (east m, north m, _) for 2-D position.
    public var sigma: Vector3
    public init(kind: MeasurementKind, frame: SensorFrame, sigma: Vector3) {
        self.kind = kind; self.frame = frame; self.sigma = sigma
    }
}

/// A sensor as the tracker knows it: its measurement model, coverage, detection and clutter
/// statistics, and how tracks are started from it. Sensors are registered once; detections name
/// them by index.
public struct TrackerSensor: Sendable {
    public var name: String
    public var source: MeasurementSource
    /// Coverage: slant range (m) and elevation (rad) intervals in which the sensor can see.
    public var minRange: Double
    public var maxRange: Double
    public var minElevation: Double
    public var maxElevation: Double
    /// Time between looks (s); sets the confirmation window of tracks it starts.
    public var period: Double
    /// Whether an unassociated detection starts a tentative track.
    public var canInitiate: Bool
    /// Probability of detecting a target in coverage on one look.
    public var pd: Double
    /// False detections per unit of measurement space (per m·rad² for radar, per rad for bearing,
    /// per m² for 2-D position).
    public var clutterDensity: Double
    /// Bearing sensors: distance (m) along the bearing at which a new track is placed, and its altitude (m).
    public var initiationRange: Double
    public var initiationAltitude: Double
    /// Radar: standard deviation (m/s) of its plots' radial speed; 0 when it measures none (the
    /// radial speed of its detections is then ignored).
    public var sigmaRangeRate: Double = 0
    /// Radar: its false plots' radial speeds spread uniformly over ±this (m/s). When the tracker
    /// fuses radial speeds, a plot's radial-speed likelihood against a track enters its
    /// association score against this density; 0: unknown, left out.
    public var rangeRateSpan: Double = 0

    public var kind: MeasurementKind { source.kind }
    public var sigma: Vector3 { source.sigma }
    public var frame: SensorFrame {
        get { source.frame }
        set { source.frame = newValue }
    }

    /// A sensor on the earth (the tracker works in ECEF).
    public init(name: String, kind: MeasurementKind, position: Geodetic, sigma: Vector3, maxRange: Double,
                period: Double, canInitiate: Bool, initiationRange: Double = 0, initiationAltitude: Double = 0,
                pd: Double = 0.8, clutterDensity: Double? = nil) {
        self.init(name: name, kind: kind, frame: SensorFrame(LocalFrame(origin: position)), sigma: sigma, maxRange: maxRange,
                  period: period, canInitiate: canInitiate, initiationRange: initiationRange,
                  initiationAltitude: initiationAltitude, pd: pd, clutterDensity: clutterDensity)
    }

    /// A sensor in any Cartesian frame.
    public init(name: String, kind: MeasurementKind, frame: SensorFrame, sigma: Vector3, minRange: Double = 0,
                maxRange: Double, minElevation: Double = -.pi / 2, maxElevation: Double = .pi / 2,
                period: Double, canInitiate: Bool, initiationRange: Double = 0, initiationAltitude: Double = 0,
                pd: Double = 0.8, clutterDensity: Double? = nil) {
        self.name = name
        source = MeasurementSource(kind: kind, frame: frame, sigma: sigma)
        self.minRange = minRange; self.maxRange = maxRange
        self.minElevation = minElevation; self.maxElevation = maxElevation
        self.period = period; self.canInitiate = canInitiate
        self.initiationRange = initiationRange; self.initiationAltitude = initiationAltitude
        self.pd = pd
        // Default: about one false detection per look spread over the coverage.
        switch kind {
        case .rangeAzimuthElevation:
            self.clutterDensity = clutterDensity ?? 1 / (max(maxRange - minRange, 1) * 2 * .pi * max(maxElevation - minElevation, 1e-3))
        case .bearing:
            self.clutterDensity = clutterDensity ?? 1 / (2 * .pi)
        case .position2D:
            self.clutterDensity = clutterDensity ?? 1 / (.pi * maxRange * maxRange)
        }
    }

    /// A radar's detection probability by range and its horizon, for the misses of score
    /// initiation (nil: `pd` everywhere in the coverage).
    public var detectionModel: RadarDetectionModel?

    /// The probability that the sensor detects a target at p on one look, or nil when p is out of
    /// its coverage (for a radar with a detection model, also below its horizon).
    @inlinable public func lookProbability(_ p: Vector3) -> Double? {
        let d = source.frame.local(p - source.frame.origin)
        guard covers(local: d) else { return nil }
        guard let m = detectionModel else { return pd }
        return m.probability(range: norm(d), up: d.z)
    }

    /// Whether a point of the tracker frame is inside the coverage.
    @inlinable public func covers(_ p: Vector3) -> Bool { covers(local: source.frame.local(p - source.frame.origin)) }

    /// Whether a point in the sensor's local axes (from its origin) is inside the coverage.
    @inlinable public func covers(local d: Vector3) -> Bool {
        let rho2 = d.x * d.x + d.y * d.y
        let r = (rho2 + d.z * d.z).squareRoot()
        guard r >= minRange && r <= maxRange else { return false }
        if kind != .rangeAzimuthElevation { return true }
        let el = atan2(d.z, rho2.squareRoot())
        return el >= minElevation && el <= maxElevation
    }
}

/// One detection: an opaque id (the caller's, returned in associations), the time it was measured,
/// the sensor index, and the measurement vector ((range, az, el), (az, 0, 0) or (east, north, 0)).
public struct Detection: Sendable, Hashable {
    public var id: UInt64
    public var time: Double
    public var sensor: Int32
    public var z: Vector3
    /// A radar plot's radial speed (m/s, positive receding), when the radar measures it (a
    /// pulse-Doppler radar's plot, ASTERIX CAT048 item I048/120). The tracker refuses pairings
    /// whose motion it contradicts and, by default, fuses it in the update
    /// (`TrackerConfiguration.radialSpeed`).
    public var rangeRate: Double?
    public init(id: UInt64, time: Double, sensor: Int, z: Vector3, rangeRate: Double? = nil) {
        self.id = id; self.time = time; self.sensor = Int32(sensor); self.z = z; self.rangeRate = rangeRate
    }
}

/// A radial speed to fuse in an update: the measured rate (m/s, positive receding), its noise
/// variance, and the radar's position in the tracker's frame (the line of sight starts there).
public struct RangeRateMeasurement: Sendable, Hashable {
    public var rate: Double
    public var variance: Double
    public var origin: Vector3
    public init(rate: Double, variance: Double, origin: Vector3) {
        self.rate = rate; self.variance = variance; self.origin = origin
    }
}

/// Measurement functions h(x) and their Jacobians with respect to position.
public enum MeasurementModel {
    /// Predicted measurement and the Jacobian rows (over position) for a target at `p`.
    @inlinable
    public static func predict(_ s: MeasurementSource, position p: Vector3) -> (h: Vector3, Hp: Matrix3) {
        let f = s.frame
        let d = f.local(p - f.origin)
        switch s.kind {
        case .position2D:
            return (Vector3(d.x, d.y, 0), Matrix3(rows: f.east, f.north, .zero))
        case .rangeAzimuthElevation, .bearing:
            break
        }
        let rho2 = d.x * d.x + d.y * d.y
        let rho = rho2.squareRoot()
        let r2 = rho2 + d.z * d.z
        let r = r2.squareRoot()
        let az = atan2(d.x, d.y)
        // Jacobians in the sensor's axes, then rotated: ∂/∂p = ∂/∂d · Rot, Rot rows = east, north, up.
        let dAz = rho2 > 0 ? Vector3(d.y / rho2, -d.x / rho2, 0) : Vector3(0, 0, 0)
        if s.kind == .bearing {
            return (Vector3(az, 0, 0), Matrix3(rows: f.global(dAz), .zero, .zero))
        }
        let el = atan2(d.z, rho)
        let dR = r > 0 ? d / r : Vector3(0, 0, 0)
        let dEl = (r2 > 0 && rho > 0) ? Vector3(-d.x * d.z / (r2 * rho), -d.y * d.z / (r2 * rho), rho / r2) : Vector3(0, 0, 0)
        return (Vector3(r, az, el), Matrix3(rows: f.global(dR), f.global(dAz), f.global(dEl)))
    }

    /// The measurement alone (no Jacobian).
    @inlinable
    public static func h(_ s: MeasurementSource, position p: Vector3) -> Vector3 {
        let d = s.frame.local(p - s.frame.origin)
        switch s.kind {
        case .position2D: return Vector3(d.x, d.y, 0)
        case .bearing: return Vector3(atan2(d.x, d.y), 0, 0)
        case .rangeAzimuthElevation:
            let rho = (d.x * d.x + d.y * d.y).squareRoot()
            return Vector3((rho * rho + d.z * d.z).squareRoot(), atan2(d.x, d.y), atan2(d.z, rho))
        }
    }

    /// Innovation z − h with the angle components wrapped to [-π, π).
    @inlinable
    public static func innovation(kind: MeasurementKind, z: Vector3, h: Vector3) -> Vector3 {
        switch kind {
        case .rangeAzimuthElevation: Vector3(z.x - h.x, wrapAngle(z.y - h.y), z.z - h.z)
        case .bearing: Vector3(wrapAngle(z.x - h.x), 0, 0)
        case .position2D: Vector3(z.x - h.x, z.y - h.y, 0)
        }
    }

    /// Measurement noise covariance, padded with ones for unused rows.
    @inlinable
    public static func noise(_ s: MeasurementSource) -> Matrix3 {
        let g = s.sigma
        switch s.kind {
        case .rangeAzimuthElevation: return .diagonal(g * g)
        case .bearing: return .diagonal(Vector3(g.x * g.x, 1, 1))
        case .position2D: return .diagonal(Vector3(g.x * g.x, g.y * g.y, 1))
        }
    }

    /// Number of measurement rows.
    @inlinable public static func dimension(_ kind: MeasurementKind) -> Int {
        switch kind {
        case .rangeAzimuthElevation: 3
        case .bearing: 1
        case .position2D: 2
        }
    }

    /// Position and its covariance from a radar measurement (linearised; for initiation).
    /// The position of a radar measurement alone (`radarToCartesian` without the covariance).
    @inlinable public static func radarPosition(_ s: MeasurementSource, z: Vector3) -> Vector3 {
        let (r, az, el) = (z.x, z.y, z.z)
        let ce = cos(el)
        return s.frame.origin + s.frame.global(Vector3(r * ce * sin(az), r * ce * cos(az), r * sin(el)))
    }

    public static func radarToCartesian(_ s: MeasurementSource, z: Vector3) -> (position: Vector3, covariance: Matrix3) {
        let (r, az, el) = (z.x, z.y, z.z)
        let ce = cos(el), se = sin(el), sa = sin(az), ca = cos(az)
        let enu = Vector3(r * ce * sa, r * ce * ca, r * se)
        // Jacobian of ENU with respect to (r, az, el), columns.
        let J = Matrix3(columns: (Vector3(ce * sa, ce * ca, se),
                                  Vector3(r * ce * ca, -r * ce * sa, 0),
                                  Vector3(-r * se * sa, -r * se * ca, r * ce)))
        let g = s.sigma
        let covENU = J * Matrix3.diagonal(g * g) * J.transposed
        let f = s.frame
        let rot = Matrix3(columns: (f.east, f.north, f.up))  // sensor axes → tracker frame
        return (f.origin + f.global(enu), rot * covENU * rot.transposed)
    }

    /// ln of the volume element of measurement space per unit of Cartesian volume at a radar
    /// measurement: dV = r² cos(el) dr daz del.
    @inlinable public static func radarLogJacobian(_ z: Vector3) -> Double {
        Foundation.log(max(z.x * z.x * cos(z.z), 1e-6))
    }
}

extension Matrix3 {
    public static let zero = Matrix3(columns: (.zero, .zero, .zero))
}

/// A radar's single-look detection probability for a target of a design cross section, and its
/// 4/3-earth horizon: the formulas the simulation's radars detect by (`Simulation` calls the
/// static ones), so that the tracker's expectation of a look is the world's for that target.
public struct RadarDetectionModel: Sendable, Hashable {
    public var referenceRange: Double
    public var referenceRCS: Double
    public var falseAlarmProbability: Double
    /// The cross section the tracker assumes of a target it has not seen (m²).
    public var designRCS: Double
    /// Antenna height above the surface (m).
    public var antennaHeight: Double

    public init(referenceRange: Double, referenceRCS: Double, falseAlarmProbability: Double, designRCS: Double, antennaHeight: Double) {
        self.referenceRange = referenceRange; self.referenceRCS = referenceRCS
        self.falseAlarmProbability = falseAlarmProbability; self.designRCS = designRCS; self.antennaHeight = antennaHeight
    }

    /// 4/3-earth radar horizon: the farthest distance (m) at which a target at height ht is above
    /// the horizon of an antenna at height hr (heights above the surface).
    @inlinable public static func horizonDistance(antennaHeight hr: Double, targetHeight ht: Double) -> Double {
        let k = 4.0 / 3.0 * WGS84.meanRadius
        return (2 * k * max(hr, 0)).squareRoot() + (2 * k * max(ht, 0)).squareRoot()
    }

    /// Swerling I detection probability: Pd = Pfa^(1/(1+SNR)), with SNR ∝ RCS / R⁴ scaled so that
    /// Pd = 0.5 at the reference range for the reference cross section.
    @inlinable public static func detectionProbability(falseAlarmProbability pfa: Double, referenceRange: Double, referenceRCS: Double,
                                                       rcs: Double, range: Double) -> Double {
        let snr0 = Foundation.log(pfa) / Foundation.log(0.5) - 1
        let ratio = referenceRange / max(range, 1)
        let snr = snr0 * (rcs / referenceRCS) * ratio * ratio * ratio * ratio
        return Foundation.pow(pfa, 1 / (1 + snr))
    }

    /// Pd of the design target at slant range r (the radar equation alone, no horizon).
    @inlinable public func probability(range r: Double) -> Double {
        Self.detectionProbability(falseAlarmProbability: falseAlarmProbability, referenceRange: referenceRange,
                                  referenceRCS: referenceRCS, rcs: designRCS, range: r)
    }

    /// Pd at slant range r of a design target `up` metres above the antenna's horizontal plane,
    /// or 0 beyond the horizon (its height above the surface from the 4/3-radius earth's curvature).
    @inlinable public func probability(range r: Double, up: Double) -> Double {
        let targetHeight = antennaHeight + up + r * r / (2 * 4.0 / 3.0 * WGS84.meanRadius)
        guard r <= Self.horizonDistance(antennaHeight: antennaHeight, targetHeight: targetHeight) else { return 0 }
        return probability(range: r)
    }
}
