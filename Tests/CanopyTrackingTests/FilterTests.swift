import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

@Suite("Filters")
struct FilterTests {
    @Test("NCV predict matches the hand-computed state and covariance")
    func ncvPredict() {
        var x = Vector6(0, 0, 0, 10, -4, 2)
        var P = Matrix6.identity
        NearlyConstantVelocity.predict(&x, &P, dt: 2, q: 1)
        #expect(x.position == Vector3(20, -8, 4))
        #expect(x.velocity == Vector3(10, -4, 2))
        // P_pp = 1 + dt²·1 + q dt³/3 = 1 + 4 + 8/3; P_pv = dt + q dt²/2 = 4; P_vv = 1 + q dt = 3.
        #expect(abs(P[0, 0] - (5 + 8.0 / 3)) < 1e-12)
        #expect(abs(P[0, 3] - 4) < 1e-12)
        #expect(abs(P[3, 0] - 4) < 1e-12)
        #expect(abs(P[3, 3] - 3) < 1e-12)
        #expect(P[0, 1] == 0 && P[0, 4] == 0)
    }

    @Test("Bearing-only EKF update matches the hand-computed gain")
    func bearingUpdate() {
        // Sensor on the equator at longitude 0: east = +y, north = +z in ECEF.
        let sensor = TrackerSensor(name: "n", kind: .bearing, position: Geodetic(latitude: 0, longitude: 0, height: 0),
                                   sigma: Vector3(0.01, 0, 0), maxRange: 5000, period: 5, canInitiate: false)
        let p0 = sensor.frame.origin + Vector3(0, 1000, 0)  // 1 km east: azimuth 90°
        var x = Vector6(position: p0, velocity: .zero)
        var P = Matrix6.diagonal(Vector6(1e4, 1e4, 1e4, 1, 1, 1))
        let (h, Hp) = MeasurementModel.predict(sensor.source, position: p0)
        #expect(abs(h.x - .pi / 2) < 1e-12)
        let z = Vector3(.pi / 2 + 0.01, 0, 0)
        let y = MeasurementModel.innovation(kind: .bearing, z: z, h: h)
        let r = ExtendedKalman.update(&x, &P, Hp: Hp, Hv: .zero, R: MeasurementModel.noise(sensor.source), y: y)
        // H = (0, 0, -1e-3); S = 1e-6·1e4 + 1e-4 = 0.0101; K_z = -10 / 0.0101; Δz = K_z · 0.01.
        #expect(r != nil)
        #expect(abs(r!.distanceSquared - 0.0001 / 0.0101) < 1e-12)
        #expect(abs((x.position.z - p0.z) - (-10 / 0.0101 * 0.01)) < 1e-9)
        #expect(abs(x.position.y - p0.y) < 1e-9)
        #expect(abs(P[2, 2] - 1e4 * 0.0001 / 0.0101) < 1e-6)
        #expect(abs(P[1, 1] - 1e4) < 1e-9)
    }

    @Test("Radar measurement function and its polar-to-Cartesian inverse agree")
    func radarRoundTrip() {
        let sensor = TrackerSensor(name: "r", kind: .rangeAzimuthElevation,
                                   position: Geodetic(latitudeDegrees: 50.4, longitudeDegrees: 30.5, height: 150),
                                   sigma: Vector3(50, radians(0.3), radians(0.3)), maxRange: 300_000, period: 10, canInitiate: true)
        let z = Vector3(123_456, radians(211.5), radians(3.2))
        let (p, C) = MeasurementModel.radarToCartesian(sensor.source, z: z)
        let (h, Hp) = MeasurementModel.predict(sensor.source, position: p)
        #expect(abs(h.x - z.x) < 1e-6)
        #expect(abs(wrapAngle(h.y - z.y)) < 1e-12)
        #expect(abs(h.z - z.z) < 1e-12)
        // The Jacobian matches finite differences.
        for axis in 0..<3 {
            var d = Vector3.zero
            d[axis] = 1
            let (h2, _) = MeasurementModel.predict(sensor.source, position: p + d)
            let fd = h2 - h
            let row = Vector3(Hp.c0[0], Hp.c1[0], Hp.c2[0])
            #expect(abs(fd.x - row[axis]) < 1e-5)
        }
        // Cross-range standard deviation ≈ range × σ_az.
        #expect(C.determinant > 0)
    }

    @Test("Chi-square quantiles match tables")
    func chiSquare() {
        #expect(abs(ChiSquare.quantile(probability: 0.99, dof: 1) - 6.634897) < 1e-5)
        #expect(abs(ChiSquare.quantile(probability: 0.99, dof: 2) - 9.210340) < 1e-5)
        #expect(abs(ChiSquare.quantile(probability: 0.999, dof: 3) - 16.266236) < 1e-5)
    }
}

@Suite("Tracker")
struct TrackerTests {
    static let radarSite = Geodetic(latitudeDegrees: 50.0, longitudeDegrees: 30.0, height: 100)

    func makeTracker() -> Tracker {
        let s = TrackerSensor(name: "R", kind: .rangeAzimuthElevation, position: Self.radarSite,
                              sigma: Vector3(40, radians(0.2), radians(0.2)), maxRange: 250_000, period: 5, canInitiate: true)
        return Tracker(configuration: TrackerConfiguration(confirmM: 3, confirmN: 5, maxCoast: 30, processNoise: 2), sensors: [s])
    }

    /// Two targets on straight lines, seen every 5 s with noise and clutter.
    func scan(_ tracker: Tracker, _ t: Double, _ targets: [Vector3], _ rng: inout RandomStream, clutter: Int, idBase: inout UInt64) {
        let s = tracker.sensors[0]
        var batch: [Detection] = []
        for p in targets {
            let aer = LocalFrame(origin: Self.radarSite).aer(ecef: p)
            _ = s
            idBase += 1
            batch.append(Detection(id: idBase, time: t, sensor: 0,
                                   z: Vector3(aer.range + 40 * rng.normal(), aer.azimuth + radians(0.2) * rng.normal(),
                                              aer.elevation + radians(0.2) * rng.normal())))
        }
        for _ in 0..<clutter {
            idBase += 1
            batch.append(Detection(id: 1_000_000 + idBase, time: t, sensor: 0,
                                   z: Vector3(rng.uniform(5_000, 240_000), rng.uniform(0, 2 * .pi), rng.uniform(0, 0.1))))
        }
        tracker.process(batch)
        tracker.maintain(now: t)
    }

    @Test("Two targets are tracked, confirmed, accurate, and clutter makes no confirmed track")
    func twoTargets() {
        let tracker = makeTracker()
        let f = LocalFrame(origin: Self.radarSite)
        var rng = RandomStream(seed: 7, component: "test")
        var id: UInt64 = 0
        let a0 = Vector3(-40_000, 60_000, 3_000), va = Vector3(200, 0, 0)
        let b0 = Vector3(40_000, 80_000, 1_000), vb = Vector3(-50, -30, 0)
        for k in 0..<60 {
            let t = Double(k) * 5
            scan(tracker, t, [f.ecef(enu: a0 + va * t), f.ecef(enu: b0 + vb * t)], &rng, clutter: 3, idBase: &id)
        }
        let confirmed = tracker.confirmedTracks
        #expect(confirmed.count == 2)
        let t = 295.0
        for truth in [a0 + va * t, b0 + vb * t] {
            let p = f.ecef(enu: truth)
            let best = confirmed.map { norm($0.position - p) }.min() ?? .infinity
            #expect(best < 300)
        }
        // Velocity of the fast one within 15 m/s.
        let fast = confirmed.max { norm($0.velocity) < norm($1.velocity) }!
        #expect(abs(norm(fast.velocity) - 200) < 15)
    }

    @Test("A track coasts, then is dropped after maxCoast without updates")
    func deletion() {
        let tracker = makeTracker()
        let f = LocalFrame(origin: Self.radarSite)
        var rng = RandomStream(seed: 3, component: "test")
        var id: UInt64 = 0
        for k in 0..<10 { scan(tracker, Double(k) * 5, [f.ecef(enu: Vector3(0, 50_000 + 100 * Double(k) * 5, 2_000))], &rng, clutter: 0, idBase: &id) }
        #expect(tracker.confirmedTracks.count == 1)
        tracker.maintain(now: 45 + 29)
        #expect(tracker.confirmedTracks.count == 1)
        tracker.maintain(now: 45 + 31)
        #expect(tracker.confirmedTracks.isEmpty)
        #expect(tracker.events.contains { $0.kind == .dropped })
    }

    @Test("An out-of-sequence measurement moves the estimate like the in-order one")
    func outOfSequence() {
        let f = LocalFrame(origin: Self.radarSite)
        var rng = RandomStream(seed: 11, component: "test")
        var id: UInt64 = 0
        let inOrder = makeTracker(), late = makeTracker()
        for k in 0..<8 {
            var r1 = rng, r2 = rng
            scan(inOrder, Double(k) * 5, [f.ecef(enu: Vector3(1000, 40_000 + 150 * Double(k) * 5, 2_000))], &r1, clutter: 0, idBase: &id)
            id -= 1
            scan(late, Double(k) * 5, [f.ecef(enu: Vector3(1000, 40_000 + 150 * Double(k) * 5, 2_000))], &r2, clutter: 0, idBase: &id)
            rng = r1
        }
        // A bearing sensor reports at t = 37 (in order for one tracker, after t = 40 for the other).
        let node = TrackerSensor(name: "n", kind: .bearing, position: f.geodetic(enu: Vector3(-3000, 45_500, 0)),
                                 sigma: Vector3(radians(1), 0, 0), maxRange: 10_000, period: 5, canInitiate: false)
        let truth = f.ecef(enu: Vector3(1000, 40_000 + 150 * 37, 2_000))
        let az = LocalFrame(origin: f.geodetic(enu: Vector3(-3000, 45_500, 0))).aer(ecef: truth).azimuth + radians(0.5)
        let det = Detection(id: 999, time: 37, sensor: 0, z: Vector3(az, 0, 0))
        inOrder.process([det], sensorOverride: node)
        var r1 = rng
        scan(inOrder, 40, [f.ecef(enu: Vector3(1000, 40_000 + 150 * 40, 2_000))], &r1, clutter: 0, idBase: &id)
        var r2 = rng
        id -= 1
        scan(late, 40, [f.ecef(enu: Vector3(1000, 40_000 + 150 * 40, 2_000))], &r2, clutter: 0, idBase: &id)
        let before = late.confirmedTracks[0]
        late.process([det], sensorOverride: node)
        let a = inOrder.confirmedTracks[0], b = late.confirmedTracks[0]
        // The late measurement was used, and the re-filtered estimate is the in-order one.
        #expect(b.lastDetection == 999)
        #expect(norm(before.position - a.position) > 0.01)
        #expect(norm(a.position - b.position) < 1e-6)
        #expect(norm(a.velocity - b.velocity) < 1e-9)
        for i in 0..<6 { for j in 0..<6 { #expect(abs(a.P[i, j] - b.P[i, j]) <= 1e-9 * max(1, abs(a.P[i, j]))) } }
        #expect(late.outOfSequenceExact == 1)
    }
}

/// The in-place kernels the tracker runs must give what the readable value-typed filters give.
@Suite("Filter kernels")
struct FilterKernelTests {
    static func randomState(_ rng: inout SplitMix) -> (Vector6, Matrix6) {
        let x = Vector6(rng.uniform(-50_000, 50_000), rng.uniform(-50_000, 50_000), rng.uniform(100, 9_000),
                        rng.uniform(-300, 300), rng.uniform(-300, 300), rng.uniform(-20, 20))
        // A random SPD covariance: L Lᵀ + diag.
        var L = Matrix6()
        for i in 0..<6 { for j in 0...i { L[i, j] = rng.uniform(-1, 1) * (i < 3 ? 40 : 8) } }
        var P = L * L.transposed
        for i in 0..<6 { P[i, i] += i < 3 ? 100 : 4 }
        return (x, P)
    }

    @Test("Kernel predictions equal MotionModel.predict for CV, CT and ballistic, forwards and backwards",
          arguments: [MotionModel.cv(q: 0.7), .ct(q: 0.4, turnRate: 0.05), .ct(q: 0.4, turnRate: -0.02), .ballistic(q: 0.1)])
    func predictions(model: MotionModel) {
        var rng = SplitMix(seed: 7)
        for frame in TrackingFrame.allCases {
            for dt in [1.5, -0.8, 4.0] {
                var (x, P) = Self.randomState(&rng)
                if frame == .earthCentred { x.position = x.position + Vector3(6_371_000, 0, 0) }
                var xr = x, Pr = P
                model.predict(&xr, &Pr, dt: dt, frame: frame)
                withUnsafeMutablePointer(to: &x) { px in
                    withUnsafeMutablePointer(to: &P) { pP in
                        FilterKernel.predict(model, x: UnsafeMutableRawPointer(px).assumingMemoryBound(to: Double.self),
                                             P: UnsafeMutableRawPointer(pP).assumingMemoryBound(to: Double.self), dt: dt, frame: frame)
                    }
                }
                for i in 0..<6 { #expect(abs(x[i] - xr[i]) <= 1e-9 * max(1, abs(xr[i]))) }
                for i in 0..<6 {
                    for j in 0..<6 {
                        #expect(abs(P[i, j] - Pr[i, j]) <= 1e-9 * max(1, abs(Pr[i, j])))
                        #expect(P[i, j] == P[j, i])
                    }
                }
            }
        }
    }

    @Test("Flat turn coefficients by series equal the library's sine and cosine to rounding")
    func flatTurnSeries() {
        for w in [0.05, -0.05, 0.3, 1.0] {
            for dt in [-2.0, -0.3, 1e-6, 0.4, 1.0, 1.6] {
                let f = FilterKernel.FlatTurn(rate: w, dt: dt)
                let th = w * dt
                #expect(abs(f.s - sin(th)) <= 4e-16 * max(abs(sin(th)), 1e-300) + 1e-300)
                #expect(abs(f.c - cos(th)) <= 2.3e-16)
                #expect(abs(f.a - sin(th) / w) <= 1e-15 * abs(sin(th) / w))
                // 1 − cos θ straight from the library cancels, so compare with its half-angle form.
                let omc = 2 * sin(th / 2) * sin(th / 2)
                #expect(abs(f.b - omc / w) <= 1e-14 * abs(omc / w))
            }
        }
    }

    @Test("Kernel EKF update (Joseph form) equals MeasurementUpdate for radar, bearing and 2-D position")
    func updates() {
        var rng = SplitMix(seed: 11)
        let sources = [
            MeasurementSource(kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: Vector3(1_000, -2_000, 30)),
                              sigma: Vector3(25, 1e-3, 1.5e-3)),
            MeasurementSource(kind: .bearing, frame: SensorFrame(flatOrigin: Vector3(-5_000, 3_000, 0)), sigma: Vector3(0.02, 0, 0)),
            MeasurementSource(kind: .position2D, frame: SensorFrame(flatOrigin: .zero), sigma: Vector3(150, 150, 0)),
        ]
        for src in sources {
            for _ in 0..<20 {
                var (x, P) = Self.randomState(&rng)
                var z = MeasurementModel.h(src, position: x.position + Vector3(rng.uniform(-80, 80), rng.uniform(-80, 80), rng.uniform(-40, 40)))
                if src.kind == .position2D { z = Vector3(z.x, z.y, 0) }
                var xr = x, Pr = P
                let inn = MeasurementUpdate.innovation(x: xr, P: Pr, source: src, z: z, filter: .ekf)!
                MeasurementUpdate.apply(inn, x: &xr, P: &Pr, source: src)
                let lr = inn.logLikelihood(dim: MeasurementModel.dimension(src.kind))
                let l = withUnsafeMutablePointer(to: &x) { px in
                    withUnsafeMutablePointer(to: &P) { pP in
                        FilterKernel.updateEKF(x: UnsafeMutableRawPointer(px).assumingMemoryBound(to: Double.self),
                                               P: UnsafeMutableRawPointer(pP).assumingMemoryBound(to: Double.self), source: src, z: z)
                    }
                }
                #expect(abs(l! - lr) < 1e-9)
                for i in 0..<6 { #expect(abs(x[i] - xr[i]) <= 1e-8 * max(1, abs(xr[i]))) }
                for i in 0..<6 {
                    for j in 0..<6 {
                        #expect(abs(P[i, j] - Pr[i, j]) <= 1e-8 * max(1, abs(P[i, i] * P[j, j]).squareRoot()))
                        #expect(P[i, j] == P[j, i])
                    }
                }
                #expect(P.isPositiveDefinite)
            }
        }
    }
}

/// The IMM's interaction and prediction against the textbook (Blom & Bar-Shalom 1988): mixing
/// weights from the transition matrix, each mode's mixed mean and covariance with its spread
/// term written out, then each model's own prediction.
@Suite("IMM kernels")
struct IMMKernelTests {
    @Test("IMM predict equals the textbook mixing and per-model prediction, 2 to 4 modes", arguments: [2, 3, 4])
    func mixing(modes n: Int) {
        let all: [MotionModel] = [.cv(q: 0.3, sojourn: 30), .ct(q: 0.3, turnRate: 0.05, sojourn: 15),
                                  .ct(q: 0.3, turnRate: -0.05, sojourn: 15), .ballistic(q: 0.2, sojourn: 25)]
        let models = Array(all.prefix(n))
        var rng = SplitMix(seed: 23 + UInt64(n))
        for frame in TrackingFrame.allCases {
            let bank = ModelBank(models: models, frame: frame, filter: .ekf)
            for dt in [1.0, 4.5] {
                let (x0, P0) = FilterKernelTests.randomState(&rng)
                var s = FilterState(time: 10, x: x0, P: P0, models: n)
                var mu = SIMD4<Double>(repeating: 0), total = 0.0
                for j in 0..<n {
                    var (x, P) = FilterKernelTests.randomState(&rng)
                    if frame == .earthCentred { x.position = x.position + Vector3(6_371_000, 0, 0) }
                    // Modes near one another, as in a filter: metres to a hundred metres apart.
                    if j > 0 { for k in 0..<6 { x[k] = s.mx[0][k] + rng.uniform(-100, 100) / (k < 3 ? 1 : 10) } }
                    s.mx[j] = x; s.mP[j] = P
                    mu[j] = rng.uniform(0.05, 1); total += mu[j]
                }
                s.mu = mu / total
                // Reference.
                var stay = [Double](), c = [Double](repeating: 0, count: n)
                for i in 0..<n { stay.append(exp(-dt / models[i].sojourn)) }
                func pij(_ i: Int, _ j: Int) -> Double { i == j ? stay[i] : (1 - stay[i]) / Double(n - 1) }
                for j in 0..<n { for i in 0..<n { c[j] += pij(i, j) * s.mu[i] } }
                var rx = [Vector6](), rP = [Matrix6]()
                for j in 0..<n {
                    var xm = Vector6()
                    for i in 0..<n { for k in 0..<6 { xm[k] += pij(i, j) * s.mu[i] / c[j] * s.mx[i][k] } }
                    var Pm = Matrix6()
                    for i in 0..<n {
                        let w = pij(i, j) * s.mu[i] / c[j]
                        for a in 0..<6 {
                            for b in 0..<6 {
                                Pm[a, b] += w * (s.mP[i][a, b] + (s.mx[i][a] - xm[a]) * (s.mx[i][b] - xm[b]))
                            }
                        }
                    }
                    models[j].predict(&xm, &Pm, dt: dt, frame: frame)
                    rx.append(xm); rP.append(Pm)
                }
                let cs = c.reduce(0, +)
                bank.predict(&s, to: 10 + dt)
                for j in 0..<n {
                    #expect(abs(s.mu[j] - c[j] / cs) < 1e-12)
                    for k in 0..<6 { #expect(abs(s.mx[j][k] - rx[j][k]) <= 1e-9 * max(1, abs(rx[j][k]))) }
                    for a in 0..<6 {
                        for b in 0..<6 {
                            let scale = (rP[j][a, a] * rP[j][b, b]).squareRoot()
                            #expect(abs(s.mP[j][a, b] - rP[j][a, b]) <= 1e-9 * max(1, scale))
                            #expect(s.mP[j][a, b] == s.mP[j][b, a])
                        }
                    }
                    #expect(s.mP[j].isPositiveDefinite)
                }
            }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(next() >> 11) / Double(1 << 53) }
}
