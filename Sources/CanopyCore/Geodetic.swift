import Foundation

/// A Cartesian 3-vector (metres or m/s); the frame is named by the variable or type that holds it.
public typealias Vector3 = SIMD3<Double>

/// Degrees ↔ radians at the edges of the system; inside everything is radians.
@inlinable public func radians(_ degrees: Double) -> Double { degrees * (.pi / 180) }
@inlinable public func degrees(_ radians: Double) -> Double { radians * (180 / .pi) }

/// A position on the WGS-84 ellipsoid: geodetic latitude and longitude (radians) and height above
/// the ellipsoid (m).
public struct Geodetic: Sendable, Hashable, CustomStringConvertible {
    public var latitude: Double
    public var longitude: Double
    public var height: Double

    public init(latitude: Double, longitude: Double, height: Double = 0) {
        self.latitude = latitude
        self.longitude = longitude
        self.height = height
    }

    public init(latitudeDegrees: Double, longitudeDegrees: Double, height: Double = 0) {
        self.init(latitude: radians(latitudeDegrees), longitude: radians(longitudeDegrees), height: height)
    }

    public var latitudeDegrees: Double { degrees(latitude) }
    public var longitudeDegrees: Double { degrees(longitude) }

    public var description: String {
        String(format: "(%.6f°, %.6f°, %.1f m)", latitudeDegrees, longitudeDegrees, height)
    }
}

/// The WGS-84 ellipsoid and conversions between geodetic and Earth-centred Earth-fixed (ECEF) coordinates.
public enum WGS84 {
    /// Semi-major axis (m).
    public static let a = 6_378_137.0
    /// Flattening.
    public static let f = 1 / 298.257223563
    /// Semi-minor axis (m).
    public static let b = a * (1 - f)
    /// First eccentricity squared.
    public static let e2 = f * (2 - f)
    /// Second eccentricity squared.
    public static let ep2 = e2 / (1 - e2)
    /// Earth's gravitational parameter GM (m³/s²).
    public static let mu = 3.986004418e14
    /// Mean radius R1 = (2a + b) / 3 (m).
    public static let meanRadius = (2 * a + b) / 3

    /// Geodetic → ECEF (m).
    @inlinable
    public static func ecef(_ p: Geodetic) -> Vector3 {
        let sl = sin(p.latitude), cl = cos(p.latitude)
        let n = a / (1 - e2 * sl * sl).squareRoot()
        return Vector3((n + p.height) * cl * cos(p.longitude),
                       (n + p.height) * cl * sin(p.longitude),
                       (n * (1 - e2) + p.height) * sl)
    }

    /// ECEF → geodetic, exact to well below a micrometre at any height (Vermeille 2004's
    /// closed form, with care at the poles and the centre).
    public static func geodetic(ecef r: Vector3) -> Geodetic {
        let x = r.x, y = r.y, z = r.z
        let w2 = x * x + y * y
        let w = w2.squareRoot()
        let lon = w2 > 0 ? atan2(y, x) : 0
        let a2 = a * a
        let e4 = e2 * e2
        let p = w2 / a2
        let q = (1 - e2) / a2 * z * z
        let rr = (p + q - e4) / 6
        if w < 1e-9 * a {
            // On the polar axis.
            let lat = z >= 0 ? Double.pi / 2 : -Double.pi / 2
            return Geodetic(latitude: lat, longitude: lon, height: abs(z) - b)
        }
        let s = e4 * p * q / (4 * rr * rr * rr)
        let t = cbrt(1 + s + (s * (2 + s)).squareRoot())
        let u = rr * (1 + t + 1 / t)
        let v = (u * u + e4 * q).squareRoot()
        let wk = e2 * (u + v - q) / (2 * v)
        let k = (u + v + wk * wk).squareRoot() - wk
        let d = k * w / (k + e2)
        let lat = 2 * atan2(z, d + (d * d + z * z).squareRoot())
        let h = (k + e2 - 1) / k * (d * d + z * z).squareRoot()
        return Geodetic(latitude: lat, longitude: lon, height: h)
    }
}

/// A local East-North-Up tangent frame at a reference point (axes along the geodetic normal).
public struct LocalFrame: Sendable, Hashable {
    public let origin: Geodetic
    public let originECEF: Vector3
    /// Rows of the ECEF→ENU rotation.
    public let east: Vector3
    public let north: Vector3
    public let up: Vector3

    public init(origin: Geodetic) {
        self.origin = origin
        originECEF = WGS84.ecef(origin)
        let sl = sin(origin.latitude), cl = cos(origin.latitude)
        let so = sin(origin.longitude), co = cos(origin.longitude)
        east = Vector3(-so, co, 0)
        north = Vector3(-sl * co, -sl * so, cl)
        up = Vector3(cl * co, cl * so, sl)
    }

    /// Rotates an ECEF vector (a difference or a velocity) into ENU.
    @inlinable public func enuVector(_ v: Vector3) -> Vector3 {
        Vector3((east * v).sum(), (north * v).sum(), (up * v).sum())
    }

    /// Rotates an ENU vector into ECEF.
    @inlinable public func ecefVector(_ v: Vector3) -> Vector3 {
        east * v.x + north * v.y + up * v.z
    }

    @inlinable public func enu(ecef p: Vector3) -> Vector3 { enuVector(p - originECEF) }
    @inlinable public func ecef(enu p: Vector3) -> Vector3 { originECEF + ecefVector(p) }
    @inlinable public func enu(_ p: Geodetic) -> Vector3 { enu(ecef: WGS84.ecef(p)) }
    public func geodetic(enu p: Vector3) -> Geodetic { WGS84.geodetic(ecef: ecef(enu: p)) }

    /// Azimuth, elevation, range of an ECEF point seen from the origin.
    @inlinable public func aer(ecef p: Vector3) -> AER { AER(enu: enu(ecef: p)) }
    public func aer(_ p: Geodetic) -> AER { AER(enu: enu(p)) }
    public func geodetic(aer: AER) -> Geodetic { geodetic(enu: aer.enu) }
}

/// Azimuth (rad, clockwise from true north, in [0, 2π)), elevation above the local horizontal
/// (rad), slant range (m).
public struct AER: Sendable, Hashable {
    public var azimuth: Double
    public var elevation: Double
    public var range: Double

    public init(azimuth: Double, elevation: Double, range: Double) {
        self.azimuth = azimuth
        self.elevation = elevation
        self.range = range
    }

    @inlinable public init(enu v: Vector3) {
        let horizontal = (v.x * v.x + v.y * v.y).squareRoot()
        var az = atan2(v.x, v.y)
        if az < 0 { az += 2 * .pi }
        if az >= 2 * .pi { az -= 2 * .pi }
        azimuth = az
        elevation = atan2(v.z, horizontal)
        range = (horizontal * horizontal + v.z * v.z).squareRoot()
    }

    @inlinable public var enu: Vector3 {
        let ce = cos(elevation)
        return Vector3(range * ce * sin(azimuth), range * ce * cos(azimuth), range * sin(elevation))
    }
}

/// Wraps an angle into [-π, π).
@inlinable public func wrapAngle(_ a: Double) -> Double {
    var x = a.truncatingRemainder(dividingBy: 2 * .pi)
    if x >= .pi { x -= 2 * .pi }
    if x < -.pi { x += 2 * .pi }
    return x
}
