import CanopyCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the tracker on a benchmark scenario: every scan in time order, the tracks file's states
/// (each confirmed track at each scan time, updated or predicted), and the CPU time the
/// tracking took.
public enum BenchmarkRunner {
    public struct Result: Sendable {
        public var tracks: [BenchmarkTrack]
        /// CPU seconds (this process) spent in the tracking loop alone.
        public var trackingCPUSeconds: Double
        public var detections: Int
        public var scans: Int
        public var confirmedTracks: Int
        public var jpdaFallbacks: Int
        /// The tracker's stages (`run(_:configuration:phaseTiming:)` with timing on; zero otherwise).
        public var phases: TrackerPhases
        /// Seconds (elapsed) spent reporting every confirmed track's state at every scan (timing on).
        public var reportingSeconds: Double
    }

    /// The default configuration for the benchmark's radars: flat frame, score-based initiation,
    /// one extended Kalman filter of a nearly-coordinated turn with its rate estimated (acceleration
    /// noise 0.3 m²/s³; a new track's rates spread ±3°/s; the rate wanders 1°/s in 10 s).
    public static func defaultConfiguration() -> TrackerConfiguration {
        TrackerConfiguration(confirmM: 3, confirmN: 4, maxCoast: 6, gateProbability: 0.9999, processNoise: 0.5,
                             maxSpeed: 450, cellSize: 5_000,
                             models: [.nct(q: 0.3, turnNoise: MotionModel.nctDefaultTurnNoise, initialTurnRate: MotionModel.nctDefaultSpread)],
                             filter: .ekf, association: .gnn, initiation: .score, frame: .flat, oosmWindow: 0,
                             scoreAlpha: 1e-6, scoreBeta: 0.1, scoreDrop: 14, newTargetDensityRatio: 0.05)
    }

    /// The IMM bank that was the default until December 2026: a quiet constant-velocity model and
    /// two coordinated turns (±3°/s). A little more accurate on the public scenarios (docs/tracking.md),
    /// at three filters a detection.
    public static let immModels: [MotionModel] = [.cv(q: 0.3, sojourn: 30), .ct(q: 0.3, turnRate: 3 * .pi / 180, sojourn: 15),
                                                  .ct(q: 0.3, turnRate: -3 * .pi / 180, sojourn: 15)]

    public static func sensors(of scenario: BenchmarkScenario) -> [TrackerSensor] {
        scenario.sensors.map { s in
            TrackerSensor(name: "radar \(s.id)", kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: s.position),
                          sigma: s.sigma, minRange: s.minRange, maxRange: s.maxRange, minElevation: s.minElevation,
                          maxElevation: s.maxElevation, period: s.period, canInitiate: true, pd: s.pd,
                          clutterDensity: max(s.clutterDensity, 1e-30))
        }
    }

    public static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Runs the tracker over every scan. `phaseTiming` times its stages and the reporting (a few
    /// clock reads per scan, within the loop's CPU time).
    public static func run(_ scenario: BenchmarkScenario, configuration: TrackerConfiguration, phaseTiming: Bool = false) -> Result {
        let tracker = Tracker(configuration: configuration, sensors: sensors(of: scenario))
        tracker.recordAssociations = false
        tracker.phaseTiming = phaseTiming
        var reporting = 0.0
        var out: [BenchmarkTrack] = []
        var slot: [Int32] = []  // output slot by track id (ids are 1, 2, 3, …), −1 if none yet
        // Estimates as reported, in fixed-size chunks (so that a growing record is never copied;
        // grouped into per-track series after the clock stops: that is formatting the output,
        // not tracking).
        struct Estimate { var slot: Int32; var time: Double; var x: Vector6 }
        let chunkSize = 1 << 15
        var chunks: [[Estimate]] = []
        var batch: [Detection] = []
        let start = cpuSeconds()
        var lastMaintain = -Double.infinity
        scenario.measurements.withUnsafeBufferPointer { meas in
            for scan in scenario.scans {
                batch.removeAll(keepingCapacity: true)
                for k in 0..<scan.count {
                    batch.append(Detection(id: UInt64(scan.first + k), time: scan.time, sensor: scan.sensor, z: meas[scan.first + k]))
                }
                tracker.processScan(batch, sensor: scan.sensor, time: scan.time)
                if scan.time - lastMaintain >= 0.5 {
                    tracker.maintain(now: scan.time)
                    lastMaintain = scan.time
                }
                let reportStart = phaseTiming ? TrackerPhases.clock() : 0
                defer { if phaseTiming { reporting += TrackerPhases.clock() - reportStart } }
                tracker.forEachConfirmed(at: scan.time) { id, confirmedAt, x in
                    if id >= slot.count { slot.append(contentsOf: repeatElement(-1, count: id + 1 - slot.count)) }
                    var k = Int(slot[id])
                    if k < 0 {
                        k = out.count
                        slot[id] = Int32(k)
                        out.append(BenchmarkTrack(id: String(id), confirmedAt: confirmedAt))
                    }
                    if chunks.isEmpty || chunks[chunks.count - 1].count == chunkSize {
                        chunks.append([])
                        chunks[chunks.count - 1].reserveCapacity(chunkSize)
                    }
                    chunks[chunks.count - 1].append(Estimate(slot: Int32(k), time: scan.time, x: x))
                }
            }
        }
        let cpu = cpuSeconds() - start
        for chunk in chunks {
            for e in chunk {
                let k = Int(e.slot)
                out[k].times.append(e.time)
                out[k].positions.append(e.x.position)
                out[k].velocities.append(e.x.velocity)
            }
        }
        return Result(tracks: out, trackingCPUSeconds: cpu, detections: scenario.detectionCount, scans: scenario.scans.count,
                      confirmedTracks: out.count, jpdaFallbacks: tracker.jpdaFallbacks, phases: tracker.phases,
                      reportingSeconds: reporting)
    }

    /// CPU seconds of one 6-state Kalman predict (constant velocity) + radar EKF update, measured
    /// here and now: the least of five timed blocks of `iterations / 5` steps (a shared machine's
    /// interruptions only ever add time). The yardstick for the tracker's cost per detection.
    public static func kalmanStepSeconds(iterations: Int = 200_000) -> Double {
        let src = MeasurementSource(kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: .zero), sigma: Vector3(25, 1e-3, 1.5e-3))
        let x = Vector6(30_000, 40_000, 5_000, 200, -100, 0)
        var P = Matrix6.identity
        for i in 0..<6 { P[i, i] = i < 3 ? 2500 : 400 }
        let bank = ModelBank(models: [.cv(q: 0.5)], frame: .flat, filter: .ekf)
        var st = FilterState(time: 0, x: x, P: P, models: 1)
        var sink = 0.0
        let block = max(iterations / 5, 1)
        var best = Double.infinity
        var i = 0
        for _ in 0..<5 {
            let t0 = cpuSeconds()
            for _ in 0..<block {
                let t = Double(i + 1)
                bank.predict(&st, to: t)
                let truth = Vector3(30_000 + 200 * t, 40_000 - 100 * t, 5_000)
                var z = MeasurementModel.h(src, position: truth)
                z.x += Double(i % 7) - 3
                if let l = bank.update(&st, source: src, z: z) { sink += l }
                if i % 1000 == 999 { st = FilterState(time: t, x: Vector6(position: truth, velocity: x.velocity), P: P, models: 1) }
                i += 1
            }
            best = min(best, (cpuSeconds() - t0) / Double(block))
        }
        if sink == .infinity { print(sink) }
        return best
    }
}
