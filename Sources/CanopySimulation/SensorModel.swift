import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation

/// One airborne object as a plug-in sensor's look sees it: truth, which only the world (and its
/// sensors) may see. The battle manager gets the sensor's readings, never these.
public struct SensedObject: Sendable {
    /// The object's index in the run (a reading names its object by it).
    public var index: Int
    /// ECEF position (m) and velocity (m/s) at the look.
    public var position: Vector3
    public var velocity: Vector3
    public var threatClass: ThreatClass
    /// The threat type's name in the catalogue, and its radar cross section (m²).
    public var typeName: String
    public var rcs: Double
}

/// One measurement of a plug-in sensor's look.
public struct SensorReading: Sendable {
    /// The object measured (its `SensedObject.index`), or nil for a false reading (clutter).
    public var object: Int?
    /// The measurement in the sensor's kind (`TrackerSensor.kind`): (slant range m, azimuth rad,
    /// elevation rad) for a radar; (azimuth rad, 0, 0) for a bearing; (east m, north m, 0) for a
    /// 2-D position; angles in the sensor's local frame, azimuth clockwise from north.
    public var z: Vector3
    /// A radar's radial speed (m/s, positive receding), when it measures one.
    public var rangeRate: Double?
    public init(object: Int?, z: Vector3, rangeRate: Double? = nil) {
        self.object = object; self.z = z; self.rangeRate = rangeRate
    }
}

/// A sensor of the user's, flown in the world beside the scenario's own: a new radar model, a
/// passive direction finder, an optical post. Every `trackerSensor.period` seconds (from a random
/// offset) it looks at the airborne objects and returns readings. Its whole look goes to the
/// battle manager as one scan, fused by the same tracker as the scenario's sensors.
///
/// `trackerSensor` tells the tracker what the readings are: kind, noise, where the sensor stands
/// (`TrackerSensor(name:kind:position:…)` places it on the earth), coverage, Pd and clutter
/// density, and whether its readings may start tracks. It is checked when the run is made
/// (`SensorModelError`). The world holds each reading to its kind (`SensorReading`); a reading
/// that fails is dropped, with a `reading_refused` event.
///
/// A look is a complete scan (`scansAreComplete`, true unless the sensor says otherwise): under
/// score initiation, each track in the sensor's coverage that took none of its readings is
/// charged a miss at `trackerSensor.pd`. A sensor that sees only some kinds of objects, or
/// whose Pd varies in ways that figure does not tell, should say false: its readings then go in
/// one by one, and no track is charged a miss for it.
public protocol SensorModel {
    var trackerSensor: TrackerSensor { get }
    /// Whether a look tells of the objects it missed (see above).
    var scansAreComplete: Bool { get }
    /// One look at time `time`: a reading per object seen, and any false readings. `random` is the
    /// look's own stream (keyed by the sensor and the time, so that it does not depend on the
    /// other sensors or on the objects flying).
    mutating func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading]
}

extension SensorModel {
    public var scansAreComplete: Bool { true }
}

/// Why a plug-in sensor's configuration cannot run.
public struct SensorModelError: Error, CustomStringConvertible, Sendable {
    public var description: String

    /// What is wrong with a plug-in sensor's figures for the tracker, or nil.
    static func problem(_ s: TrackerSensor) -> String? {
        if s.name.isEmpty { return "a name is needed (events and tracks name the sensor)" }
        guard s.period.isFinite, s.period >= 1e-3 else { return "period must be a number of seconds ≥ 0.001 (got \(s.period))" }
        guard s.pd.isFinite, s.pd > 0, s.pd <= 1 else { return "pd must be in (0, 1] (got \(s.pd))" }
        guard s.clutterDensity.isFinite, s.clutterDensity > 0 else {
            return "clutterDensity must be a number > 0 (got \(s.clutterDensity)); give a small one for a sensor without false readings"
        }
        let used = s.kind == .rangeAzimuthElevation ? [s.sigma.x, s.sigma.y, s.sigma.z]
            : (s.kind == .bearing ? [s.sigma.x] : [s.sigma.x, s.sigma.y])
        guard used.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            return "sigma must be finite and > 0 for each component a \(s.kind) reading has (got \(s.sigma.x), \(s.sigma.y), \(s.sigma.z))"
        }
        guard s.minRange.isFinite, s.maxRange.isFinite, s.minRange >= 0, s.minRange < s.maxRange else {
            return "ranges must satisfy 0 ≤ minRange < maxRange (got \(s.minRange), \(s.maxRange))"
        }
        guard s.minElevation <= s.maxElevation, !s.minElevation.isNaN, !s.maxElevation.isNaN else {
            return "minElevation must be at most maxElevation (got \(s.minElevation), \(s.maxElevation))"
        }
        if s.kind == .bearing && s.canInitiate && !(s.initiationRange > 0 && s.initiationRange.isFinite) {
            return "a bearing sensor that starts tracks needs initiationRange > 0 (m along the bearing; got \(s.initiationRange))"
        }
        guard s.sigmaRangeRate.isFinite, s.sigmaRangeRate >= 0, s.rangeRateSpan.isFinite, s.rangeRateSpan >= 0 else {
            return "sigmaRangeRate and rangeRateSpan must be ≥ 0 (got \(s.sigmaRangeRate), \(s.rangeRateSpan))"
        }
        if s.kind != .rangeAzimuthElevation && (s.detectionModel != nil || s.sigmaRangeRate > 0) {
            return "a radar detection model and radial speeds are for a rangeAzimuthElevation sensor only"
        }
        return nil
    }
}

extension SensorReading {
    /// Why the world refuses this reading from `sensor` (`isObject`: whether an index names an
    /// object airborne at the look), or nil when it stands.
    func refusal(_ sensor: TrackerSensor, isObject: (Int) -> Bool) -> String? {
        guard z.x.isFinite, z.y.isFinite, z.z.isFinite else { return "a measurement that is not finite (\(z.x), \(z.y), \(z.z))" }
        if let rr = rangeRate, !rr.isFinite { return "a radial speed that is not finite" }
        if rangeRate != nil && sensor.kind != .rangeAzimuthElevation { return "a radial speed from a \(sensor.kind) sensor (radars only)" }
        if sensor.kind == .rangeAzimuthElevation {
            if z.x < 0 { return "a slant range below 0 (\(z.x) m)" }
            if z.x > 2 * sensor.maxRange { return "a slant range of \(z.x) m, beyond twice the sensor's maxRange" }
            if abs(z.z) > .pi / 2 { return "an elevation beyond ±90° (\(z.z) rad)" }
        }
        if let k = object, !isObject(k) {
            return "object \(k), which is not airborne at the look"
        }
        return nil
    }
}
