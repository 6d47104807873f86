import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

/// Radar plots that carry a radial speed (pulse-Doppler radars): the tracker refuses pairings
/// whose motion contradicts it.
@Suite("Radial speed")
struct RadialSpeedTests {
    static let sigma = Vector3(20, 1e-3, 1e-3)

    /// A flat radar at the origin; σ of the radial speed 2 m/s (0: the radar measures none).
    func radar(sigmaRangeRate: Double) -> TrackerSensor {
        var s = TrackerSensor(name: "r", kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: .zero),
                              sigma: Self.sigma, maxRange: 200_000, minElevation: 0, maxElevation: .pi / 2,
                              period: 2, canInitiate: true, pd: 1, clutterDensity: 1e-9)
        s.sigmaRangeRate = sigmaRangeRate
        return s
    }

    func config() -> TrackerConfiguration {
        TrackerConfiguration(confirmM: 3, confirmN: 5, maxCoast: 10, processNoise: 1, maxSpeed: 3000, cellSize: 20_000,
                             initiation: .mOfN, frame: .flat, oosmWindow: 0)
    }

    static func radialSpeed(_ p: Vector3, _ v: Vector3) -> Double { dot(p / norm(p), v) }

    /// A target flown past the radar for `scans` looks; each plot's radial speed is the true one
    /// plus `bias` (nil: no radial speed). Returns the tracker.
    func fly(sigmaRangeRate: Double, bias: Double?, scans: Int = 4) -> Tracker {
        let sensor = radar(sigmaRangeRate: sigmaRangeRate)
        let tracker = Tracker(configuration: config(), sensors: [sensor])
        let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
        var rng = RandomStream(seed: 11, component: "doppler")
        for k in 0..<scans {
            let t = 2 * Double(k)
            let p = p0 + v * t
            var z = MeasurementModel.h(sensor.source, position: p)
            z.x += 20 * rng.normal(); z.y += 1e-3 * rng.normal(); z.z += 1e-3 * rng.normal()
            let rate = bias.map { Self.radialSpeed(p, v) + $0 + 2 * rng.normal() }
            tracker.processScan([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: z, rangeRate: rate)], sensor: 0, time: t)
            tracker.maintain(now: t)
        }
        return tracker
    }

    @Test("A target whose radial speeds agree with its motion is confirmed; one whose radial speeds contradict it is not; without radial speeds it is")
    func pairingFollowsRadialSpeed() {
        #expect(fly(sigmaRangeRate: 2, bias: 0).confirmedTracks.count == 1)
        #expect(fly(sigmaRangeRate: 2, bias: 400).confirmedTracks.isEmpty)
        #expect(fly(sigmaRangeRate: 2, bias: nil).confirmedTracks.count == 1)
        // A radar that measures no radial speed: whatever its plots carry is ignored.
        #expect(fly(sigmaRangeRate: 0, bias: 400).confirmedTracks.count == 1)
    }

    @Test("A confirmed track does not take a plot in its position gate whose radial speed contradicts its velocity")
    func confirmedTrackRefusesContradictingPlot() {
        let tracker = fly(sigmaRangeRate: 2, bias: 0, scans: 5)
        let before = try! #require(tracker.confirmedTracks.first)
        let t = 10.0
        let p = Vector3(30_000, 40_000, 5_000) + Vector3(200, -100, 0) * t
        let z = MeasurementModel.h(radar(sigmaRangeRate: 2).source, position: p)
        tracker.processScan([Detection(id: 99, time: t, sensor: 0, z: z, rangeRate: Self.radialSpeed(p, Vector3(200, -100, 0)) + 300)],
                            sensor: 0, time: t)
        #expect(tracker.track(id: before.id)?.lastDetection == before.lastDetection)
        // The same plot with its true radial speed is taken.
        let t2 = 12.0
        let p2 = Vector3(30_000, 40_000, 5_000) + Vector3(200, -100, 0) * t2
        let z2 = MeasurementModel.h(radar(sigmaRangeRate: 2).source, position: p2)
        tracker.processScan([Detection(id: 100, time: t2, sensor: 0, z: z2, rangeRate: Self.radialSpeed(p2, Vector3(200, -100, 0)))],
                            sensor: 0, time: t2)
        #expect(tracker.track(id: before.id)?.lastDetection == 100)
    }

    /// Clutter uniform in a 60 km box, radial speeds uniform over ±2,000 m/s when measured.
    func clutterRun(sigmaRangeRate: Double) -> (confirmed: Int, started: Int) {
        let sensor = radar(sigmaRangeRate: sigmaRangeRate)
        let tracker = Tracker(configuration: config(), sensors: [sensor])
        var rng = RandomStream(seed: 5, component: "clutter")
        var id: UInt64 = 0
        var confirmed = Set<Int>()
        for k in 0..<150 {
            let t = 2 * Double(k)
            var batch: [Detection] = []
            for _ in 0..<50 {
                let p = Vector3(rng.uniform(20_000, 80_000), rng.uniform(20_000, 80_000), rng.uniform(500, 3_000))
                id += 1
                batch.append(Detection(id: id, time: t, sensor: 0, z: MeasurementModel.h(sensor.source, position: p),
                                       rangeRate: rng.uniform(-2_000, 2_000)))
            }
            tracker.processScan(batch, sensor: 0, time: t)
            tracker.maintain(now: t)
            for trk in tracker.confirmedTracks { confirmed.insert(trk.id) }
        }
        return (confirmed.count, Int(id))
    }

    @Test("Clutter whose radial speeds spread over the radar's span confirms far fewer false tracks")
    func clutterConfirmsLess() {
        let without = clutterRun(sigmaRangeRate: 0), with = clutterRun(sigmaRangeRate: 2)
        #expect(without.confirmed >= 20, "the clutter must be dense enough to matter: \(without.confirmed)")
        #expect(with.confirmed * 10 <= without.confirmed, "with radial speeds \(with.confirmed), without \(without.confirmed)")
    }

    @Test("The compact record's radial screen refuses only pairs the full test refuses")
    func screenIsConservative() {
        var rng = RandomStream(seed: 17, component: "screen")
        var refusedByScreen = 0, checked = 0
        let gate = ChiSquare.quantile(probability: 0.999, dof: 1)
        for _ in 0..<20_000 {
            let origin1 = Vector3(rng.uniform(-5e4, 5e4), rng.uniform(-5e4, 5e4), 0)
            let origin2 = rng.bernoulli(0.5) ? origin1 : Vector3(rng.uniform(-5e4, 5e4), rng.uniform(-5e4, 5e4), 0)
            let p1 = Vector3(rng.uniform(-1e5, 1e5), rng.uniform(-1e5, 1e5), rng.uniform(100, 1e4))
            let dt = rng.bernoulli(0.2) ? -rng.uniform(0.5, 10) : rng.uniform(0.5, 10)
            let p2 = p1 + Vector3(rng.normal(), rng.normal(), 0.2 * rng.normal()) * (rng.uniform(0, 400) * abs(dt))
            func covariance() -> Matrix3 {
                let a = Matrix3(columns: (Vector3(rng.normal(), rng.normal(), rng.normal()) * rng.uniform(5, 300),
                                          Vector3(rng.normal(), rng.normal(), rng.normal()) * rng.uniform(5, 300),
                                          Vector3(rng.normal(), rng.normal(), rng.normal()) * rng.uniform(5, 300)))
                return a * a.transposed
            }
            let c1 = covariance(), c2 = covariance()
            let u1 = (p1 - origin1) / norm(p1 - origin1), u2 = (p2 - origin2) / norm(p2 - origin2)
            let s1 = rng.uniform(0.5, 5), s2 = rng.uniform(0.5, 5)
            let v = (p2 - p1) / dt
            let r1 = dot(u1, v) + rng.normal() * rng.uniform(0, 1_000), r2 = dot(u2, v) + rng.normal() * rng.uniform(0, 1_000)
            let screen = Tracker.radialScreen(displacement: p2 - p1, dt: dt, lineOfSight: u1, rangeRate: r1,
                                              lineOfSightVariance: dot(u1, c1 * u1), rangeRateVariance: s1 * s1,
                                              secondTrace: c2[0, 0] + c2[1, 1] + c2[2, 2], gate: gate, maxAcceleration: 40)
            let full = Tracker.radialSpeedsAgree(from: p1, to: p2, dt: dt, covariance: c1 + c2, first: (r1, s1, u1),
                                                 second: (r2, s2, u2), gate: gate, maxAcceleration: 40)
            checked += 1
            if !screen {
                refusedByScreen += 1
                #expect(!full, "the screen refused a pair the full test accepts")
            }
        }
        #expect(refusedByScreen > checked / 10, "the cases must exercise the screen: \(refusedByScreen) of \(checked)")
    }

    @Test("One-plot tracks: kept apart from tracks, found and dropped by id, promoted on their second plot with their id, removed after their window")
    func onePlotTracks() throws {
        let sensor = radar(sigmaRangeRate: 0)
        let tracker = Tracker(configuration: config(), sensors: [sensor])
        let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
        func plot(_ id: UInt64, _ t: Double, _ p: Vector3) {
            tracker.processScan([Detection(id: id, time: t, sensor: 0, z: MeasurementModel.h(sensor.source, position: p))], sensor: 0, time: t)
        }
        plot(1, 0, p0)
        #expect(tracker.tracks.isEmpty && tracker.singlePlotTrackCount == 1)
        let one = try #require(tracker.track(id: 1))
        #expect(!one.hasVelocity && one.hits == 1 && one.status == .tentative && norm(one.position - p0) < 1)
        tracker.drop(track: 1, time: 0, reason: "test")
        #expect(tracker.singlePlotTrackCount == 0 && tracker.track(id: 1) == nil)
        // A new one (id 2), then its second plot: a track with a velocity, the same id.
        plot(2, 0, p0)
        plot(3, 2, p0 + v * 2)
        #expect(tracker.tracks.count == 1 && tracker.singlePlotTrackCount == 0)
        let two = try #require(tracker.track(id: 2))
        #expect(two.hasVelocity && two.hits == 2 && two.lastDetection == 3 && norm(two.velocity - v) < 30)
        tracker.maintain(now: 2)
        plot(4, 4, p0 + v * 4)
        tracker.maintain(now: 4)
        #expect(tracker.confirmedTracks.map(\.id) == [2])
        // A plot far from everything starts a one-plot track that goes after its window (5 looks of 2 s).
        let dropped = tracker.tentativeDropped
        plot(5, 6, Vector3(-60_000, -50_000, 3_000))
        #expect(tracker.singlePlotTrackCount == 1)
        tracker.maintain(now: 6 + 5 * 2 + 1)
        #expect(tracker.singlePlotTrackCount == 0 && tracker.tentativeDropped == dropped + 1)
    }

    @Test("A radial-speed update equals the hand-computed EKF update (Joseph form), and returns its log-likelihood")
    func kernelKnownValues() throws {
        // Target 1 km east of the radar, moving (10, 5, 0): h = 10, Hp = (v − h u)/r = (0, 0.005, 0),
        // Hv = u = (1, 0, 0). P = diag(100, 100, 100, 4, 4, 4), R = 1: P Hᵀ = (0, 0.5, 0, 4, 0, 0),
        // S = 100·0.005² + 4 + 1 = 5.0025; measured 12: y = 2.
        var x = [1_000.0, 0, 0, 10, 5, 0]
        var P = [Double](repeating: 0, count: 36)
        for i in 0..<6 { P[i * 6 + i] = i < 3 ? 100 : 4 }
        let l = try #require(x.withUnsafeMutableBufferPointer { xb in
            P.withUnsafeMutableBufferPointer { pb in
                FilterKernel.updateRangeRate(x: xb.baseAddress!, P: pb.baseAddress!, origin: .zero, rate: 12, variance: 1)
            }
        })
        let S = 5.0025
        #expect(abs(x[3] - (10 + 4 * 2 / S)) < 1e-12 && abs(x[1] - 0.5 * 2 / S) < 1e-12)
        #expect(x[0] == 1_000 && x[2] == 0 && x[4] == 5 && x[5] == 0)
        #expect(abs(P[3 * 6 + 3] - (4 - 16 / S)) < 1e-12)
        #expect(abs(P[1 * 6 + 1] - (100 - 0.25 / S)) < 1e-12)
        #expect(abs(P[1 * 6 + 3] - (-0.5 * 4 / S)) < 1e-12 && P[1 * 6 + 3] == P[3 * 6 + 1])
        #expect(P[4 * 6 + 4] == 4 && P[0] == 100)
        #expect(abs(l - (-0.5 * (4 / S + log(S) + log(2 * .pi)))) < 1e-12)
        // At zero range there is no line of sight: refused, state untouched.
        var x0 = [0.0, 0, 0, 10, 5, 0], P0 = P
        let refused = x0.withUnsafeMutableBufferPointer { xb in
            P0.withUnsafeMutableBufferPointer { pb in
                FilterKernel.updateRangeRate(x: xb.baseAddress!, P: pb.baseAddress!, origin: .zero, rate: 12, variance: 1)
            }
        }
        #expect(refused == nil && x0 == [0, 0, 0, 10, 5, 0] && P0 == P)
    }

    /// Tracks of a target flown past a radar with a coarse range (100 m) and radial speeds of
    /// σ 2 m/s, over `runs` noise draws: the RMS error of the velocity along the line of sight
    /// at the last look, and the RMS of the track's own σ there.
    func lineOfSightVelocity(_ use: RadialSpeedUse, runs: Int = 40) -> (rms: Double, sigma: Double) {
        var sensor = TrackerSensor(name: "r", kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: .zero),
                                   sigma: Vector3(100, 1e-3, 1e-3), maxRange: 200_000, minElevation: 0, maxElevation: .pi / 2,
                                   period: 2, canInitiate: true, pd: 1, clutterDensity: 1e-9)
        sensor.sigmaRangeRate = 2
        var configuration = config()
        configuration.radialSpeed = use
        let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
        var sq = 0.0, variance = 0.0, n = 0
        for run in 0..<runs {
            let tracker = Tracker(configuration: configuration, sensors: [sensor])
            var rng = RandomStream(seed: UInt64(100 + run), component: "fused")
            var t = 0.0
            for k in 0..<6 {
                t = 2 * Double(k)
                let p = p0 + v * t
                var z = MeasurementModel.h(sensor.source, position: p)
                z.x += 100 * rng.normal(); z.y += 1e-3 * rng.normal(); z.z += 1e-3 * rng.normal()
                let rate = Self.radialSpeed(p, v) + 2 * rng.normal()
                tracker.processScan([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: z, rangeRate: rate)], sensor: 0, time: t)
                tracker.maintain(now: t)
            }
            guard let trk = tracker.confirmedTracks.first, trk.time == t else { continue }
            let u = (p0 + v * t) / norm(p0 + v * t)
            sq += pow(dot(u, trk.velocity - v), 2)
            for i in 0..<3 { for j in 0..<3 { variance += u[i] * trk.P[i + 3, j + 3] * u[j] } }
            n += 1
        }
        #expect(n == runs, "every run keeps its track to the last look (\(n) of \(runs))")
        return ((sq / Double(max(n, 1))).squareRoot(), (variance / Double(max(n, 1))).squareRoot())
    }

    @Test("Fusing the radial speed makes a track's velocity along the line of sight several times more accurate, and its covariance says so")
    func fusedRadialSpeedSharpensVelocity() {
        let gated = lineOfSightVelocity(.gate), fused = lineOfSightVelocity(.fuse)
        #expect(fused.rms < 0.3 * gated.rms, "RMS error fused \(fused.rms) m/s, position only \(gated.rms) m/s")
        #expect(fused.sigma < 0.3 * gated.sigma, "σ fused \(fused.sigma) m/s, position only \(gated.sigma) m/s")
        // Consistent: the error is of the size the track claims (40 draws: a loose band).
        #expect(fused.rms < 2 * fused.sigma && fused.rms > 0.4 * fused.sigma, "fused: RMS \(fused.rms), σ \(fused.sigma)")
        #expect(gated.rms < 2 * gated.sigma && gated.rms > 0.4 * gated.sigma, "position only: RMS \(gated.rms), σ \(gated.sigma)")
    }

    @Test("A radar that measures no radial speed, and radialSpeed: ignore, leave the update as without radial speeds")
    func ignoredRadialSpeed() throws {
        func last(_ use: RadialSpeedUse, sigmaRangeRate: Double, withRates: Bool) -> Track? {
            var configuration = config()
            configuration.radialSpeed = use
            let sensor = radar(sigmaRangeRate: sigmaRangeRate)
            let tracker = Tracker(configuration: configuration, sensors: [sensor])
            let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
            var rng = RandomStream(seed: 3, component: "ignored")
            for k in 0..<5 {
                let t = 2 * Double(k), p = p0 + v * t
                var z = MeasurementModel.h(sensor.source, position: p)
                z.x += 20 * rng.normal(); z.y += 1e-3 * rng.normal(); z.z += 1e-3 * rng.normal()
                let rate = Self.radialSpeed(p, v) + 2 * rng.normal()
                tracker.processScan([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: z, rangeRate: withRates ? rate : nil)],
                                    sensor: 0, time: t)
                tracker.maintain(now: t)
            }
            return tracker.confirmedTracks.first
        }
        let plain = try #require(last(.fuse, sigmaRangeRate: 2, withRates: false))
        for (use, srr) in [(RadialSpeedUse.ignore, 2.0), (.fuse, 0), (.gate, 2)] {
            let t = try #require(last(use, sigmaRangeRate: srr, withRates: true))
            #expect(t.x == plain.x && t.P == plain.P, "\(use), σ \(srr)")
        }
        let fused = try #require(last(.fuse, sigmaRangeRate: 2, withRates: true))
        #expect(fused.x != plain.x)
    }

    @Test("A radial-speed update off the origin in a general geometry: the gain from a finite-difference Jacobian")
    func kernelFiniteDifference() throws {
        // A radar far from the frame's origin (as in the earth-centred frame), a target in a general
        // direction with a general velocity and a full covariance.
        let o = Vector3(3.9e6, 2.1e6, 4.6e6)
        let x0 = [o.x + 41_000, o.y - 23_000, o.z + 9_000, -180, 95, -40.0]
        var P = [Double](repeating: 0, count: 36)
        let a: [[Double]] = [[300, 20, -10, 5, 1, 0], [0, 250, 15, -2, 3, 1], [0, 0, 200, 1, -1, 2],
                             [0, 0, 0, 8, 0.5, 0.2], [0, 0, 0, 0, 7, -0.3], [0, 0, 0, 0, 0, 6]]
        for i in 0..<6 { for j in 0..<6 { for k in 0..<6 { P[i * 6 + j] += a[k][i] * a[k][j] } } }
        func h(_ x: [Double]) -> Double {
            let d = Vector3(x[0] - o.x, x[1] - o.y, x[2] - o.z)
            return dot(d / norm(d), Vector3(x[3], x[4], x[5]))
        }
        var H = [Double](repeating: 0, count: 6)
        for k in 0..<6 {
            let step = k < 3 ? 1.0 : 1e-3
            var up = x0, down = x0
            up[k] += step; down[k] -= step
            H[k] = (h(up) - h(down)) / (2 * step)
        }
        let R = 9.0, rate = h(x0) + 7
        var PH = [Double](repeating: 0, count: 6)
        for i in 0..<6 { for k in 0..<6 { PH[i] += P[i * 6 + k] * H[k] } }
        var S = R
        for k in 0..<6 { S += H[k] * PH[k] }
        var x = x0, Pk = P
        _ = try #require(x.withUnsafeMutableBufferPointer { xb in
            Pk.withUnsafeMutableBufferPointer { pb in
                FilterKernel.updateRangeRate(x: xb.baseAddress!, P: pb.baseAddress!, origin: o, rate: rate, variance: R)
            }
        })
        for i in 0..<6 {
            let expected = x0[i] + PH[i] * (rate - h(x0)) / S
            #expect(abs(x[i] - expected) < 1e-6 * max(1, abs(PH[i])), "x[\(i)] \(x[i]) against \(expected)")
            for j in 0..<6 {
                let e = P[i * 6 + j] - PH[i] * PH[j] / S
                #expect(abs(Pk[i * 6 + j] - e) < 1e-6 * max(1, abs(P[i * 6 + j])), "P[\(i), \(j)]")
                #expect(Pk[i * 6 + j] == Pk[j * 6 + i])
            }
        }
    }

    /// A confirmed track (fly's target, five looks), then one scan of two plots at equal
    /// Mahalanobis distance either side of the target in azimuth; their radial speeds are the true
    /// one plus `offA` and `offB`. Returns which the track took (its last detection).
    func pick(_ use: RadialSpeedUse, offA: Double, offB: Double) throws -> UInt64 {
        var configuration = config()
        configuration.radialSpeed = use
        var sensor = radar(sigmaRangeRate: 2)
        sensor.rangeRateSpan = 2_000
        let tracker = Tracker(configuration: configuration, sensors: [sensor])
        let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
        for k in 0..<5 {
            let t = 2 * Double(k), p = p0 + v * t
            tracker.processScan([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: MeasurementModel.h(sensor.source, position: p),
                                           rangeRate: Self.radialSpeed(p, v))], sensor: 0, time: t)
            tracker.maintain(now: t)
        }
        let trk = try #require(tracker.confirmedTracks.first)
        let t = 10.0, p = p0 + v * t
        let z = MeasurementModel.h(sensor.source, position: p)
        let rr = Self.radialSpeed(p, v)
        let a = Detection(id: 100, time: t, sensor: 0, z: Vector3(z.x, z.y + 1.5e-3, z.z), rangeRate: rr + offA)
        let b = Detection(id: 101, time: t, sensor: 0, z: Vector3(z.x, z.y - 1.5e-3, z.z), rangeRate: rr + offB)
        tracker.processScan([a, b], sensor: 0, time: t)
        return try #require(tracker.track(id: trk.id)).lastDetection
    }

    @Test("Fused, a plot's radial speed weighs in its association: of two plots equally near, a track takes the one whose radial speed fits")
    func radialSpeedWeighsInAssociation() throws {
        // Both radial speeds inside the gate; B's or A's 8 m/s off (the gate's σ is some 3–4 m/s here).
        #expect(try pick(.fuse, offA: 8, offB: 0) == 101)
        #expect(try pick(.fuse, offA: 0, offB: 8) == 100)
        // Refusing pairings only, the radial speeds inside the gate do not choose: the same plot both times.
        #expect(try pick(.gate, offA: 8, offB: 0) == pick(.gate, offA: 0, offB: 8))
    }

    @Test("A late radar plot whose radial speed contradicts the track is refused, not fused")
    func lateContradictingPlotRefused() throws {
        var configuration = config()
        configuration.oosmWindow = 30
        let sensor = radar(sigmaRangeRate: 2)
        let p0 = Vector3(30_000, 40_000, 5_000), v = Vector3(200, -100, 0)
        func run(late offset: Double?) -> Track? {
            let tracker = Tracker(configuration: configuration, sensors: [sensor])
            for k in [0, 1, 2, 3, 5, 6] {
                let t = 2 * Double(k), p = p0 + v * t
                tracker.processScan([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: MeasurementModel.h(sensor.source, position: p),
                                               rangeRate: Self.radialSpeed(p, v))], sensor: 0, time: t)
                tracker.maintain(now: t)
            }
            if let offset {
                // The look at 8 s arrives after the one at 12 s.
                let t = 8.0, p = p0 + v * t
                tracker.process([Detection(id: 50, time: t, sensor: 0, z: MeasurementModel.h(sensor.source, position: p),
                                           rangeRate: Self.radialSpeed(p, v) + offset)])
            }
            return tracker.confirmedTracks.first
        }
        let none = try #require(run(late: nil)), fits = try #require(run(late: 0)), contradicts = try #require(run(late: 300))
        #expect(fits.hits == none.hits + 1, "a late plot that fits is taken")
        #expect(contradicts.hits == none.hits && contradicts.x == none.x, "a late plot 300 m/s off is refused")
    }
}
