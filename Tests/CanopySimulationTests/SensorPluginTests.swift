import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTracking
import Foundation
import Testing

// Sensors of the user's flown in the world, written against the public API only.

/// A short-range radar: sees each object above its horizon plane and within `reach` with
/// probability `pd` a look (`seeing` false: none), with Gaussian noise, and no false plots.
struct GapFiller: SensorModel {
    var trackerSensor: TrackerSensor
    let frame: LocalFrame
    var seeing = true
    var scansAreComplete = true
    var readings: Counter? = nil
    init(at g: Geodetic, reach: Double, pd: Double = 0.9) {
        trackerSensor = TrackerSensor(name: "gap-filler", kind: .rangeAzimuthElevation, position: g,
                                      sigma: Vector3(30, 0.003, 0.003), maxRange: reach, period: 2, canInitiate: true, pd: pd)
        frame = LocalFrame(origin: g)
    }
    func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading] {
        let s = trackerSensor.sigma
        return objects.compactMap { o in
            let aer = frame.aer(ecef: o.position)
            guard seeing, aer.range <= trackerSensor.maxRange, aer.elevation >= 0, random.bernoulli(trackerSensor.pd) else { return nil }
            readings?.add()
            return SensorReading(object: o.index, z: Vector3(aer.range + random.normal() * s.x, aer.azimuth + random.normal() * s.y,
                                                             aer.elevation + random.normal() * s.z))
        }
    }
}

/// Reads what it should not (not finite, a negative or far range, an elevation past the zenith,
/// an object that does not exist, an endless radial speed), and one good reading of each object.
struct Faulty: SensorModel {
    var inner: GapFiller
    var trackerSensor: TrackerSensor { inner.trackerSensor }
    func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading] {
        let good = inner.look(at: time, objects: objects, random: &random)
        guard !good.isEmpty else { return [] }
        return [SensorReading(object: nil, z: Vector3(.nan, 0, 0)), SensorReading(object: nil, z: Vector3(-5, 0, 0)),
                SensorReading(object: nil, z: Vector3(1e9, 0, 0)), SensorReading(object: nil, z: Vector3(1000, 0, 2)),
                SensorReading(object: 1_000_000, z: good[0].z), SensorReading(object: nil, z: good[0].z, rangeRate: .infinity)] + good
    }
}

@Suite("Plug-in sensors", .serialized)
struct SensorPluginTests {
    /// A run of `s` with a gap-filler at Kyiv that counts its readings.
    func countedRun(_ s: Scenario) throws -> (Simulation, Counter) {
        let count = Counter()
        var g = GapFiller(at: Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20), reach: 60_000)
        g.readings = count
        let counted = g
        return (try Simulation(scenario: s, options: RunOptions(sensors: { [counted] })), count)
    }

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
        let (sim, count) = try countedRun(s)
        let r1 = sim.run()
        checkInvariants(s, sim, r1)
        // Its only sensor: every reading, and nothing else, reached the tracker.
        #expect(count.value > 100 && sim.battle.tracker.detectionsProcessed == count.value)
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
        #expect(again.metrics == r1.metrics && text(again) == text(r1))
    }

    @Test("Beside the scenario's own sensors, under score initiation: it follows them in the tracker's registry and changes the battle; one that sees nothing and tells no misses changes nothing")
    func besideTheScenario() throws {
        var s = try example("quickstart")
        s.tracker.initiation = .score
        let kyiv = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20)
        let plain = try Simulation(scenario: s).run()
        let (sim, count) = try countedRun(s)
        let r = sim.run()
        checkInvariants(s, sim, r)
        // After two radars, 81 acoustic nodes and the citizen template.
        #expect(sim.battle.firstExtraSensor == 2 + 81 + 1)
        #expect(sim.battle.tracker.sensors[sim.battle.firstExtraSensor].name == "gap-filler")
        #expect(count.value > 100)
        #expect(r.metrics != plain.metrics)
        // Its draws are its own, and its offset is drawn after the scenario's sensors': blind and
        // telling no misses, it leaves the run as it was.
        var idle = GapFiller(at: kyiv, reach: 60_000)
        idle.seeing = false
        idle.scansAreComplete = false
        let quiet = idle
        let q = try Simulation(scenario: s, options: RunOptions(sensors: { [quiet] })).run()
        #expect(q.metrics == plain.metrics && text(q) == text(plain))
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
        let kinds = ["not finite (nan", "slant range below 0", "beyond twice the sensor's maxRange", "elevation beyond ±90°",
                     "object 1000000, which is not airborne", "radial speed that is not finite"]
        #expect(!reasons.isEmpty && reasons.count % kinds.count == 0)
        for text in kinds {
            #expect(reasons.filter { $0.contains(text) }.count == reasons.count / kinds.count, "\(text)")
        }
        // Without the refused readings the run is the good sensor's.
        #expect(r.metrics == good.metrics)
    }

    @Test("A sensor's figures the tracker cannot use are an error naming the sensor and the figure")
    func badFigures() throws {
        let s = try blind()
        let good = GapFiller(at: Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.75, height: 20), reach: 60_000)
        let cases: [(String, (inout TrackerSensor) -> Void)] = [
            ("period must be a number of seconds ≥ 0.001 (got 0.0)", { $0.period = 0 }),
            ("period must be a number of seconds ≥ 0.001 (got 1e-300)", { $0.period = 1e-300 }),
            ("period must be a number of seconds ≥ 0.001 (got nan)", { $0.period = .nan }),
            ("pd must be in (0, 1] (got 0.0)", { $0.pd = 0 }),
            ("pd must be in (0, 1] (got 1.5)", { $0.pd = 1.5 }),
            ("clutterDensity must be a number > 0 (got 0.0)", { $0.clutterDensity = 0 }),
            ("sigma must be finite and > 0", { $0.source.sigma.y = .nan }),
            ("0 ≤ minRange < maxRange (got 0.0, 0.0)", { $0.maxRange = 0 }),
            ("a name is needed", { $0.name = "" }),
            ("the name of another sensor of the run", { $0.name = "citizen" }),
            ("initiationRange > 0", { $0.source.kind = .bearing; $0.initiationRange = 0 }),
            ("for a rangeAzimuthElevation sensor only", { $0.source.kind = .bearing; $0.initiationRange = 1000; $0.sigmaRangeRate = 2 }),
        ]
        for (message, change) in cases {
            var g = good
            change(&g.trackerSensor)
            let bad = g
            do {
                _ = try Simulation(scenario: s, options: RunOptions(sensors: { [good, bad] }))
                Issue.record("accepted: \(message)")
            } catch {
                #expect("\(error)".hasPrefix("RunOptions.sensors[1] (\(g.trackerSensor.name)): ") && "\(error)".contains(message), "\(error)")
            }
        }
        // The name of one of the scenario's own sensors in the tracker's registry: an acoustic node.
        var node = good
        node.trackerSensor.name = "A-Kyiv#3"
        let clash = node
        do {
            _ = try Simulation(scenario: try example("quickstart"), options: RunOptions(sensors: { [clash] }))
            Issue.record("the name of an acoustic node accepted")
        } catch {
            #expect("\(error)".contains("RunOptions.sensors[0] (A-Kyiv#3): the name of another sensor"), "\(error)")
        }
        // Two sensors of one name (the second is named).
        do {
            _ = try Simulation(scenario: s, options: RunOptions(sensors: { [good, good] }))
            Issue.record("two sensors of one name accepted")
        } catch {
            #expect("\(error)".contains("RunOptions.sensors[1] (gap-filler): the name of another sensor"), "\(error)")
        }
    }
}

/// An event log as text, to compare two runs event for event.
func text(_ r: RunResult) -> [String] { r.events.map { "\($0.time) \($0.kind) \(JSONValue.object($0.fields).rendered())" } }
