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
/// density, and whether its readings may start tracks. The world holds each reading to its kind:
/// finite values, a slant range of at least 0, a named object that exists and is airborne. A
/// reading that fails is dropped, with a `reading_refused` event.
public protocol SensorModel {
    var trackerSensor: TrackerSensor { get }
    /// One look at time `time`: a reading per object seen, and any false readings. `random` is the
    /// look's own stream (keyed by the sensor and the time, so that it does not depend on the
    /// other sensors or on the objects flying).
    mutating func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading]
}

/// Why a plug-in sensor's configuration cannot run.
public struct SensorModelError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension SensorReading {
    /// Why the world refuses this reading from a sensor of `kind` (`isObject`: whether an index
    /// names an object of the look), or nil when it stands.
    func refusal(kind: MeasurementKind, isObject: (Int) -> Bool) -> String? {
        guard z.x.isFinite, z.y.isFinite, z.z.isFinite else { return "a measurement that is not finite (\(z.x), \(z.y), \(z.z))" }
        if let rr = rangeRate, !rr.isFinite { return "a radial speed that is not finite" }
        if kind == .rangeAzimuthElevation && z.x < 0 { return "a slant range below 0 (\(z.x) m)" }
        if let k = object, !isObject(k) {
            return "object \(k), which is not airborne at the look"
        }
        return nil
    }
}
