import CanopyCore
import Foundation

/// What a sensor measures.
public enum MeasurementKind: UInt8, Sendable {
    /// Radar: slant range (m), azimuth (rad, clockwise from north), elevation (rad) in the sensor's ENU frame.
    case rangeAzimuthElevation
    /// Bearing only: azimuth (rad) in the sensor's ENU frame (acoustic node, citizen report).
    case bearing
}

/// A sensor as the tracker knows it: where it is, what it measures and how well. Sensors are
/// registered once; detections name them by index.
public struct TrackerSensor: Sendable {
    public var name: String
    public var kind: MeasurementKind
    public var frame: LocalFrame
    /// Noise standard deviations: (range m, azimuth rad, elevation rad) for radar; (bearing rad, _, _) for bearing.
    public var sigma: Vector3
    /// Farthest range (m) at which this sensor can see a target (coverage test and candidate search).
    public var maxRange: Double
    /// Time between looks (s); sets the confirmation window of tracks it starts.
    public var period: Double
    /// Whether an unassociated detection starts a tentative track.
    public var canInitiate: Bool
    /// Bearing sensors: distance (m) along the bearing at which a new track is placed, and its altitude (m).
    public var initiationRange: Double
    public var initiationAltitude: Double

    public init(name: String, kind: MeasurementKind, position: Geodetic, sigma: Vector3, maxRange: Double,
                period: Double, canInitiate: Bool, initiationRange: Double = 0, initiationAltitude: Double = 0) {
        self.name = name; self.kind = kind; self.frame = LocalFrame(origin: position); self.sigma = sigma
        self.maxRange = maxRange; self.period = period; self.canInitiate = canInitiate
        self.initiationRange = initiationRange; self.initiationAltitude = initiationAltitude
    }
}

/// One detection: an opaque id (the caller's, returned in associations), the time it was measured,
/// the sensor index, and the measurement vector ((range, az, el) or (az, 0, 0)).
public struct Detection: Sendable, Hashable {
    public var id: UInt64
    public var time: Double
    public var sensor: Int32
    public var z: Vector3
    public init(id: UInt64, time: Double, sensor: Int, z: Vector3) {
        self.id = id; self.time = time; self.sensor = Int32(sensor); self.z = z
    }
}

/// Measurement functions h(x) and their Jacobians with respect to ECEF position.
public enum MeasurementModel {
    /// Predicted measurement and the Jacobian rows (over position) for a target at ECEF `p`.
    @inlinable
    public static func predict(sensor: TrackerSensor, position p: Vector3) -> (h: Vector3, Hp: Matrix3) {
        let f = sensor.frame
        let d = f.enuVector(p - f.originECEF)
        let rho2 = d.x * d.x + d.y * d.y
        let rho = rho2.squareRoot()
        let r2 = rho2 + d.z * d.z
        let r = r2.squareRoot()
        var az = atan2(d.x, d.y)
        if az < 0 { az += 2 * .pi }
        // Jacobians in ENU, then rotated: ∂/∂p = ∂/∂d · Rot, Rot rows = east, north, up.
        let dAz = rho2 > 0 ? Vector3(d.y / rho2, -d.x / rho2, 0) : Vector3(0, 0, 0)
        func toECEF(_ g: Vector3) -> Vector3 { f.east * g.x + f.north * g.y + f.up * g.z }
        switch sensor.kind {
        case .rangeAzimuthElevation:
            let el = atan2(d.z, rho)
            let dR = r > 0 ? d / r : Vector3(0, 0, 0)
            let dEl = (r2 > 0 && rho > 0) ? Vector3(-d.x * d.z / (r2 * rho), -d.y * d.z / (r2 * rho), rho / r2) : Vector3(0, 0, 0)
            return (Vector3(r, az, el), Matrix3(rows: toECEF(dR), toECEF(dAz), toECEF(dEl)))
        case .bearing:
            return (Vector3(az, 0, 0), Matrix3(rows: toECEF(dAz), .zero, .zero))
        }
    }

    /// Innovation z − h with the angle components wrapped to [-π, π).
    @inlinable
    public static func innovation(kind: MeasurementKind, z: Vector3, h: Vector3) -> Vector3 {
        switch kind {
        case .rangeAzimuthElevation: Vector3(z.x - h.x, wrapAngle(z.y - h.y), z.z - h.z)
        case .bearing: Vector3(wrapAngle(z.x - h.x), 0, 0)
        }
    }

    /// Measurement noise covariance, padded with ones for unused rows.
    @inlinable
    public static func noise(_ sensor: TrackerSensor) -> Matrix3 {
        let s = sensor.sigma
        switch sensor.kind {
        case .rangeAzimuthElevation: return .diagonal(s * s)
        case .bearing: return .diagonal(Vector3(s.x * s.x, 1, 1))
        }
    }

    /// Number of measurement rows.
    @inlinable public static func dimension(_ kind: MeasurementKind) -> Int {
        kind == .rangeAzimuthElevation ? 3 : 1
    }

    /// ECEF position and its covariance from a radar measurement (unbiased enough for initiation).
    public static func radarToECEF(sensor: TrackerSensor, z: Vector3) -> (position: Vector3, covariance: Matrix3) {
        let (r, az, el) = (z.x, z.y, z.z)
        let ce = cos(el), se = sin(el), sa = sin(az), ca = cos(az)
        let enu = Vector3(r * ce * sa, r * ce * ca, r * se)
        // Jacobian of ENU with respect to (r, az, el), columns.
        let J = Matrix3(columns: (Vector3(ce * sa, ce * ca, se),
                                  Vector3(r * ce * ca, -r * ce * sa, 0),
                                  Vector3(-r * se * sa, -r * se * ca, r * ce)))
        let s = sensor.sigma
        let covENU = J * Matrix3.diagonal(s * s) * J.transposed
        let f = sensor.frame
        let rot = Matrix3(columns: (f.east, f.north, f.up))  // ENU → ECEF
        return (f.ecef(enu: enu), rot * covENU * rot.transposed)
    }
}

extension Matrix3 {
    public static let zero = Matrix3(columns: (.zero, .zero, .zero))
}
