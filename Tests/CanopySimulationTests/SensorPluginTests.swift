import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTracking
import Foundation
import Testing

// Sensors of the user's flown in the world, written against the public API only.

/// A short-range radar: sees each object above its horizon plane and within `reach` with
/// probability `pd` a look, with Gaussian noise, and no false plots.
struct GapFiller: SensorModel {
    let trackerSensor: TrackerSensor
    let frame: LocalFrame
    init(at g: Geodetic, reach: Double, pd: Double = 0.9) {
        trackerSensor = TrackerSensor(name: "gap-filler", kind: .rangeAzimuthElevation, position: g,
                                      sigma: Vector3(30, 0.003, 0.003), maxRange: reach, period: 2, canInitiate: true, pd: pd)
        frame = LocalFrame(origin: g)
    }
    func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading] {
        let s = trackerSensor.sigma
        return objects.compactMap { o in
            let aer = frame.aer(ecef: o.position)
            guard aer.range <= trackerSensor.maxRange, aer.elevation >= 0, random.bernoulli(trackerSensor.pd) else { return nil }
            return SensorReading(object: o.index, z: Vector3(aer.range + random.normal() * s.x, aer.azimuth + random.normal() * s.y,
                                                             aer.elevation + random.normal() * s.z))
        }
    }
}

/// Reads what it should not: not finite, a negative range, an object that does not exist, and one
/// good reading of each object.
struct Faulty: SensorModel {
    var inner: GapFiller
    var trackerSensor: TrackerSensor { inner.trackerSensor }
    func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading] {
        let good = inner.look(at: time, objects: objects, random: &random)
        guard !good.isEmpty else { return [] }
        return [SensorReading(object: nil, z: Vector3(.nan, 0, 0)), SensorReading(object: nil, z: Vector3(-5, 0, 0)),
                SensorReading(object: 1_000_000, z: good[0].z), SensorReading(object: nil, z: good[0].z, rangeRate: .infinity)] + good
    }
}

@Suite("Plug-in sensors", .serialized)
struct SensorPluginTests {
    /// The quickstart without a sensor of its own: no radar, acoustic network or citizen reports.
    func blind() throws -> Scenario {
        var s = try example("quickstart")
        s.sensors = []
        s.acousticNetworks = []
        s.citizenNetworks = []
        return s
    }

    @Test("A gap-filler radar of the user's is fused by the battle manager's tracker and brings the defence back")
    func gapFiller() throws {
        let s = try blind()
        let kyiv = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20)
        let without = try Simulation(scenario: s)
        let r0 = without.run()
        let sim = try Simulation(scenario: s, options: RunOptions(sensors: { [GapFiller(at: kyiv, reach: 60_000)] }))
        let r1 = sim.run()
        checkInvariants(s, sim, r1)
        let index = sim.battle.firstExtraSensor
        #expect(sim.battle.tracker.sensors[index].name == "gap-filler")
        #expect(sim.battle.tracker.sensors.count == index + 1)
        let tracked = { (r: RunResult) -> Int in
            guard case .object(let byType) = fieldsOf(r.summary)["threats"] ?? .null else { return -1 }
            return byType.reduce(0) { $0 + Int(fieldsOf($1.1)["tracked"]?.doubleValue ?? 0) }
        }
        #expect(tracked(r1) > tracked(r0), "tracked \(tracked(r1)) against \(tracked(r0))")
        #expect(r1.metrics.valueLost < r0.metrics.valueLost, "value lost \(r1.metrics.valueLost) against \(r0.metrics.valueLost)")
        #expect(!r1.events.contains { $0.kind == "reading_refused" })
        // The same run again: the sensor's draws come from its own keyed stream.
        let again = try Simulation(scenario: s, options: RunOptions(sensors: { [GapFiller(at: kyiv, reach: 60_000)] })).run()
        #expect(again.metrics == r1.metrics && again.events.count == r1.events.count)
        // A sensor added does not move the scenario's own sensors' draws: with a sensor that sees
        // nothing, the run is the plain one.
        let idle = try Simulation(scenario: s, options: RunOptions(sensors: { [GapFiller(at: kyiv, reach: 60_000, pd: 0)] })).run()
        #expect(idle.metrics == r0.metrics && idle.table == r0.table)
    }

    @Test("Readings a sensor should not give are refused, each with its reason; the good ones stand")
    func refusals() throws {
        let s = try blind()
        let kyiv = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20)
        let good = try Simulation(scenario: s, options: RunOptions(sensors: { [GapFiller(at: kyiv, reach: 60_000)] })).run()
        let sim = try Simulation(scenario: s, options: RunOptions(sensors: { [Faulty(inner: GapFiller(at: kyiv, reach: 60_000))] }))
        let r = sim.run()
        checkInvariants(s, sim, r)
        let reasons = r.events.filter { $0.kind == "reading_refused" }.compactMap { fields($0)["reason"]?.stringValue }
        #expect(!reasons.isEmpty && reasons.count % 4 == 0)
        for text in ["not finite (nan", "slant range below 0", "object 1000000, which is not airborne", "radial speed that is not finite"] {
            #expect(reasons.filter { $0.contains(text) }.count == reasons.count / 4, "\(text)")
        }
        // Without the refused readings the run is the good sensor's.
        #expect(r.metrics == good.metrics)
    }

    @Test("A sensor with no period is named in the error")
    func badPeriod() throws {
        let s = try blind()
        var g = GapFiller(at: Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20), reach: 60_000)
        var t = g.trackerSensor
        t.period = 0
        g = GapFiller(copying: g, sensor: t)
        let copy = g
        do {
            _ = try Simulation(scenario: s, options: RunOptions(sensors: { [copy] }))
            Issue.record("a sensor of period 0 was accepted")
        } catch {
            #expect("\(error)".contains("RunOptions.sensors[0] (gap-filler): period must be a number of seconds > 0 (got 0.0)"), "\(error)")
        }
    }
}

extension GapFiller {
    init(copying g: GapFiller, sensor: TrackerSensor) {
        trackerSensor = sensor
        frame = g.frame
    }
}
