// The code of docs/library.md, run as tests so that the guide cannot drift from the library.
// Each test is one of the guide's sections; change both together.

import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyStudy
import CanopyTEWA
import CanopyTracking
import Foundation
import Testing

// MARK: Section "A plug-in engagement planner"

/// The built-in assigner's plans, less any round costing `maxCost` or more fired at a drone or
/// a decoy.
struct NoDearRoundsAtDrones: EngagementPlanner {
    var builtIn: Assigner
    var maxCost: Double
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        builtIn.plan(s).filter { p in
            let cls = s.assessment(of: p.track)?.threatClass
            let cheap = s.fireUnits[p.fireUnit].type.costPerShot < maxCost
            return cheap || (cls != .drone && cls != .decoy)
        }
    }
}

// MARK: Section "A sensor of your own"

/// A passive direction finder: a bearing to every drone within `reach` of it, a look every 2 s.
/// It hears drones only, so its looks tell of no misses (`scansAreComplete`).
struct DirectionFinder: SensorModel {
    let trackerSensor: TrackerSensor
    let frame: LocalFrame
    var scansAreComplete: Bool { false }
    init(name: String, at g: Geodetic, reach: Double) {
        trackerSensor = TrackerSensor(name: name, kind: .bearing, position: g, sigma: Vector3(0.02, 0, 0), maxRange: reach,
                                      period: 2, canInitiate: true, initiationRange: reach / 2, initiationAltitude: 300,
                                      pd: 0.8)
        frame = LocalFrame(origin: g)
    }
    func look(at time: Double, objects: [SensedObject], random: inout RandomStream) -> [SensorReading] {
        objects.compactMap { o in
            let aer = frame.aer(ecef: o.position)
            guard o.threatClass == .drone, aer.range <= trackerSensor.maxRange, random.bernoulli(trackerSensor.pd) else { return nil }
            return SensorReading(object: o.index, z: Vector3(aer.azimuth + random.normal() * trackerSensor.sigma.x, 0, 0))
        }
    }
}

@Suite("The library guide's examples (docs/library.md)", .serialized)
struct LibraryGuideTests {
    @Test("Tracking: one radar, one target flying east")
    func tracking() {
        // One radar at the origin of a flat east-north-up frame, a plot a second.
        let radar = TrackerSensor(name: "radar", kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: .zero),
                                  sigma: Vector3(25, 1e-3, 1.5e-3), maxRange: 100_000, period: 1, canInitiate: true,
                                  pd: 0.9, clutterDensity: 1e-12)
        let tracker = Tracker(configuration: TrackerConfiguration(frame: .flat), sensors: [radar])
        for k in 0..<20 {
            let t = Double(k)
            let truth = Vector3(20_000 + 150 * t, 10_000, 1_000)  // east at 150 m/s, 1 km up
            let z = MeasurementModel.h(radar.source, position: truth)  // range, azimuth, elevation
            tracker.processScan([Detection(id: UInt64(k), time: t, sensor: 0, z: z)], sensor: 0, time: t)
            tracker.maintain(now: t)
        }
        let confirmed = tracker.confirmedTracks
        #expect(confirmed.count == 1)
        guard let track = confirmed.first else { return }
        #expect(norm(track.position - Vector3(20_000 + 150 * 19, 10_000, 1_000)) < 30)
        #expect(norm(track.velocity - Vector3(150, 0, 0)) < 5)
    }

    @Test("A simulation run from Swift")
    func simulation() throws {
        let scenario = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        let result = try Simulation(scenario: scenario, options: RunOptions(replication: 0)).run()
        let m = result.metrics
        #expect(m.interceptorCost > 0 && m.valueProtected > 0 && m.valueProtected <= m.valueAtRisk)
        #expect(result.table.contains("value protected"))
        #expect(result.events.contains { $0.kind == "intercept" })
    }

    @Test("Two direction finders of the user's track the drones on their own")
    func sensors() throws {
        var scenario = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        (scenario.sensors, scenario.acousticNetworks, scenario.citizenNetworks) = ([], [], [])  // blind, but for these
        let finders: @Sendable () -> [any SensorModel] = {
            [DirectionFinder(name: "DF-east", at: Geodetic(latitudeDegrees: 50.50, longitudeDegrees: 31.05), reach: 60_000),
             DirectionFinder(name: "DF-south", at: Geodetic(latitudeDegrees: 50.20, longitudeDegrees: 30.80), reach: 60_000)]
        }
        let result = try Simulation(scenario: scenario, options: RunOptions(sensors: finders)).run()
        print(result.table)  // the five drones tracked and engaged from bearings alone; the cruise missile unseen
        let plain = try Simulation(scenario: scenario).run()
        #expect(!plain.events.contains { $0.kind == "track_confirm" })
        // Every drone tracked, and no track of the cruise missile.
        let tracked = Set(result.events.filter { $0.kind == "track_confirm" }.compactMap { e in
            e.fields.first { $0.0 == "truth" }.flatMap { if case .string(let id) = $0.1 { id } else { nil } }
        })
        let drones = result.events.filter { e in e.kind == "launch" && e.fields.contains { $0.0 == "threatType" && "\($0.1)".contains("shahed") } }
            .compactMap { e in e.fields.first { $0.0 == "threat" }.flatMap { if case .string(let id) = $0.1 { id } else { nil } } }
        #expect(drones.count == 5 && Set(drones).isSubset(of: tracked), "tracked \(tracked), drones \(drones)")
        #expect(tracked.count == 5)
        #expect(result.events.contains { $0.kind == "intercept" || $0.kind == "jam" })
        #expect(result.metrics.valueLost < plain.metrics.valueLost)
    }

    @Test("A plug-in planner against the built-in, replication by replication")
    func planner() throws {
        let scenario = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        let builtIn = Assigner(briefing: Briefing(scenario: scenario))
        let runs = 0..<4
        let base = try StudyRunner.run(scenario, indices: runs, threads: 2)
        let mine = try StudyRunner.run(scenario, indices: runs, threads: 2,
                                       planner: { _ in NoDearRoundsAtDrones(builtIn: builtIn, maxCost: 400_000) })
        // The same replications (the same raids and draws), so the differences are paired.
        let cost = Estimate(zip(mine, base).map { $0.metrics.interceptorCost - $1.metrics.interceptorCost })
        let lost = Estimate(zip(mine, base).map { $0.metrics.valueLost - $1.metrics.valueLost })
        #expect(cost.count == 4 && lost.count == 4)
        // The quickstart's IRIS-T SLM ($430k a round) no longer fires at its five drones.
        #expect(cost.mean < 0, "interceptor cost \(cost.mean) ± \(cost.halfWidth)")
        #expect(mine.allSatisfy { $0.metrics.plansRefused == 0 })
        let iris = { (r: ReplicationRecord) in r.metrics.effectors.first { $0.0 == "iris-t-slm" }?.1.fired ?? 0 }
        #expect(zip(mine, base).allSatisfy { iris($0) <= iris($1) })
    }
}
