import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

/// The nearly-coordinated turn with its rate estimated (`MotionModel.nct`): its kernels against
/// the textbook 7-state extended Kalman filter, and the tracker with it.
@Suite("Estimated turn (7-state EKF)")
struct EstimatedTurnTests {
    /// A 7-D state as plain arrays: x (7) and P (7 × 7, row-major).
    struct State7 {
        var x: [Double]
        var P: [Double]
    }

    /// FilterState's layout to a 7-D state and back.
    static func state7(_ s: FilterState) -> State7 {
        var x = (0..<6).map { s.x[$0] }
        x.append(s.turn[7])
        var P = [Double](repeating: 0, count: 49)
        for i in 0..<6 {
            for j in 0..<6 { P[i * 7 + j] = s.P[i, j] }
            P[i * 7 + 6] = s.turn[i]
            P[6 * 7 + i] = s.turn[i]
        }
        P[48] = s.turn[6]
        return State7(x: x, P: P)
    }

    /// A random state with a turn rate correlated with the rest (a random SPD 7 × 7 covariance).
    static func randomState(_ rng: inout SplitMix) -> FilterState {
        let (x, P6) = FilterKernelTests.randomState(&rng)
        var s = FilterState(time: 0, x: x, P: P6, models: 1)
        // Cross-covariances well inside the Schur bound: c = P6 a for a small a, var ω > aᵀ P6 a.
        var a = [Double](repeating: 0, count: 6)
        for i in 0..<6 { a[i] = rng.uniform(-1, 1) * (i < 3 ? 2e-6 : 2e-5) }
        var quad = 0.0
        for i in 0..<6 {
            var c = 0.0
            for j in 0..<6 { c += P6[i, j] * a[j] }
            s.turn[i] = c
            quad += a[i] * c
        }
        s.turn[6] = quad + 4e-4
        s.turn[7] = rng.uniform(-0.08, 0.08)
        return s
    }

    /// Expects `got` to be `want` to 1e-9: the means relatively (or absolutely near 0), the
    /// covariances as correlations, by the diagonal of `scale` (the state before the update).
    static func expectSame(_ got: State7, _ want: State7, scale: State7, _ what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        for i in 0..<7 {
            #expect(close(got.x[i], want.x[i], rel: 1e-9, abs: 1e-9), "\(what): x[\(i)]", sourceLocation: sourceLocation)
        }
        for i in 0..<7 {
            for j in 0..<7 {
                let s = (scale.P[i * 7 + i] * scale.P[j * 7 + j]).squareRoot()
                #expect(abs(got.P[i * 7 + j] - want.P[i * 7 + j]) <= 1e-9 * s, "\(what): P[\(i), \(j)]", sourceLocation: sourceLocation)
            }
        }
    }

    static func close(_ a: Double, _ b: Double, rel: Double, abs absTol: Double) -> Bool {
        Swift.abs(a - b) <= absTol + rel * max(Swift.abs(a), Swift.abs(b))
    }

    @Test("The flat turn's derivatives in ω, by series and in closed form, equal central differences of its coefficients")
    func derivatives() {
        for dt in [0.5, 1.0, 3.0, -1.0] {
            for th in [-2.0, -0.5, -0.3, -1e-3, 0, 1e-9, 0.2, 0.4999, 0.5001, 1.5] {
                let w = th / dt
                let f = FilterKernel.FlatTurn(rate: w, dt: dt)
                let (da, db) = FilterKernel.turnDerivatives(f)
                let h = 1e-6 / abs(dt)
                let fp = FilterKernel.FlatTurn(rate: w + h, dt: dt), fm = FilterKernel.FlatTurn(rate: w - h, dt: dt)
                let nda = (fp.a - fm.a) / (2 * h), ndb = (fp.b - fm.b) / (2 * h)
                #expect(Self.close(da, nda, rel: 1e-6, abs: 1e-9 * dt * dt), "θ \(th), dt \(dt): da \(da) vs \(nda)")
                #expect(Self.close(db, ndb, rel: 1e-6, abs: 1e-9 * dt * dt), "θ \(th), dt \(dt): db \(db) vs \(ndb)")
            }
        }
    }

    /// The 7-state transition: x₆ turned at ω over dt about the axis (the local vertical at the
    /// state's position, held for the step, as the model defines it), ω unchanged.
    static func transition(_ x: [Double], dt: Double, axis: Vector3) -> [Double] {
        let (A, R) = CoordinatedTurn.matrices(axis: axis, rate: x[6], dt: dt)
        let p = Vector3(x[0], x[1], x[2]) + A * Vector3(x[3], x[4], x[5]), v = R * Vector3(x[3], x[4], x[5])
        return [p.x, p.y, p.z, v.x, v.y, v.z, x[6]]
    }

    @Test("The 7-state prediction equals F P Fᵀ + Q with F the transition's Jacobian by central differences (flat and earth-centred frames, both ways in time, turns within and beyond the series' half radian)",
          arguments: [TrackingFrame.flat, .earthCentred], [2.0, -1.5, 8.0])
    func prediction(frame: TrackingFrame, dt: Double) {
        var rng = SplitMix(seed: 71)
        for _ in 0..<20 {
            var s = Self.randomState(&rng)
            if frame == .earthCentred {
                // Somewhere over Ukraine, 5 km up.
                let p = WGS84.ecef(Geodetic(latitude: 50 * .pi / 180, longitude: 30 * .pi / 180, height: 5_000))
                s.x[0] = p.x; s.x[1] = p.y; s.x[2] = p.z
            }
            let before = Self.state7(s)
            let axis = frame.up(at: Vector3(s.x[0], s.x[1], s.x[2]))
            let q = 0.3, qw = 3e-5
            let bank = ModelBank(models: [.nct(q: q, turnNoise: qw, initialTurnRate: 0.05)], frame: frame, filter: .ekf)
            bank.predict(&s, to: dt)
            let after = Self.state7(s)
            // Jacobian column by column.
            var F = [Double](repeating: 0, count: 49)
            for j in 0..<7 {
                let h = j < 3 ? 1.0 : (j < 6 ? 1e-3 : 1e-6)
                var xp = before.x, xm = before.x
                xp[j] += h; xm[j] -= h
                let fp = Self.transition(xp, dt: dt, axis: axis), fm = Self.transition(xm, dt: dt, axis: axis)
                for i in 0..<7 { F[i * 7 + j] = (fp[i] - fm[i]) / (2 * h) }
            }
            var FP = [Double](repeating: 0, count: 49), expected = [Double](repeating: 0, count: 49)
            for i in 0..<7 { for j in 0..<7 { for k in 0..<7 { FP[i * 7 + j] += F[i * 7 + k] * before.P[k * 7 + j] } } }
            for i in 0..<7 { for j in 0..<7 { for k in 0..<7 { expected[i * 7 + j] += FP[i * 7 + k] * F[j * 7 + k] } } }
            let a = abs(dt)
            for i in 0..<3 {
                expected[i * 7 + i] += q * a * a * a / 3
                expected[i * 7 + i + 3] += q * a * a / 2 * (dt < 0 ? -1 : 1)
                expected[(i + 3) * 7 + i] += q * a * a / 2 * (dt < 0 ? -1 : 1)
                expected[(i + 3) * 7 + i + 3] += q * a
            }
            expected[48] += qw * a
            let mean = Self.transition(before.x, dt: dt, axis: axis)
            for i in 0..<7 { #expect(Self.close(after.x[i], mean[i], rel: 1e-12, abs: 1e-9), "x[\(i)]") }
            for i in 0..<7 {
                for j in 0..<7 {
                    // Scale by the diagonal: entries are compared as correlations.
                    let scale = (expected[i * 7 + i] * expected[j * 7 + j]).squareRoot()
                    #expect(abs(after.P[i * 7 + j] - expected[i * 7 + j]) <= 1e-6 * scale,
                            "\(frame) dt \(dt): P[\(i), \(j)] \(after.P[i * 7 + j]) vs \(expected[i * 7 + j])")
                }
            }
        }
    }

    /// The textbook Kalman update of a 7-D state by y with H (m × 7, row-major) and R (diagonal).
    static func kalman(_ s: State7, y: [Double], H: [Double], R: [Double]) -> State7 {
        let m = y.count
        var PHt = [Double](repeating: 0, count: 7 * m)
        for i in 0..<7 { for k in 0..<m { for j in 0..<7 { PHt[i * m + k] += s.P[i * 7 + j] * H[k * 7 + j] } } }
        var S = [Double](repeating: 0, count: m * m)
        for a in 0..<m { for b in 0..<m { for j in 0..<7 { S[a * m + b] += H[a * 7 + j] * PHt[j * m + b] } }; S[a * m + a] += R[a] }
        // S⁻¹ by Gauss–Jordan.
        var A = S, Si = [Double](repeating: 0, count: m * m)
        for i in 0..<m { Si[i * m + i] = 1 }
        for c in 0..<m {
            let p = A[c * m + c]
            for j in 0..<m { A[c * m + j] /= p; Si[c * m + j] /= p }
            for r in 0..<m where r != c {
                let f = A[r * m + c]
                for j in 0..<m { A[r * m + j] -= f * A[c * m + j]; Si[r * m + j] -= f * Si[c * m + j] }
            }
        }
        var K = [Double](repeating: 0, count: 7 * m)
        for i in 0..<7 { for k in 0..<m { for l in 0..<m { K[i * m + k] += PHt[i * m + l] * Si[l * m + k] } } }
        var out = s
        for i in 0..<7 { for k in 0..<m { out.x[i] += K[i * m + k] * y[k] } }
        for i in 0..<7 { for j in 0..<7 { for k in 0..<m { out.P[i * 7 + j] -= K[i * m + k] * PHt[j * m + k] } } }
        return out
    }

    @Test("The 7-state updates (radar position, an old report's retrodiction, radial speed) equal the textbook Kalman update of the 7-D state")
    func update() throws {
        var rng = SplitMix(seed: 5)
        let src = MeasurementSource(kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: Vector3(1_000, -2_000, 30)),
                                    sigma: Vector3(25, 1e-3, 1.5e-3))
        for _ in 0..<20 {
            var s = Self.randomState(&rng)
            let before = Self.state7(s)
            let p = Vector3(s.x[0], s.x[1], s.x[2])
            let (h, Hp) = MeasurementModel.predict(src, position: p)
            let z = h + Vector3(60 * rng.uniform(-1, 1), 3e-3 * rng.uniform(-1, 1), 3e-3 * rng.uniform(-1, 1))
            let y = MeasurementModel.innovation(kind: src.kind, z: z, h: h)
            let l = s.withTurnStorage { x, P, t in FilterKernel.updateLinear(x: x, P: P, source: src, y: y, Hp: Hp, turn: t) }
            #expect(l != nil)
            var H = [Double](repeating: 0, count: 21)
            for k in 0..<3 { for j in 0..<3 { H[k * 7 + j] = Hp[k, j] } }
            let expected = Self.kalman(before, y: [y.x, y.y, y.z], H: H, R: [625, 1e-6, 2.25e-6])
            Self.expectSame(Self.state7(s), expected, scale: before, "radar")
            // The one-step retrodiction of a report older than the out-of-sequence window:
            // H = [Hp, Hv, 0] (`ExtendedKalman.update`).
            var xr = s.x, Pr = s.P, tr = s.turn
            let before2 = Self.state7(s)
            let Hv = Matrix3(columns: (Hp.c0 * -1.5, Hp.c1 * -1.5, Hp.c2 * -1.5))
            let Rr = Matrix3.diagonal(Vector3(900, 4e-6, 4e-6))
            let ok = withUnsafeMutablePointer(to: &tr) { t in
                ExtendedKalman.update(&xr, &Pr, Hp: Hp, Hv: Hv, R: Rr, y: y, turn: UnsafeMutableRawPointer(t).assumingMemoryBound(to: Double.self))
            }
            #expect(ok != nil)
            var H7 = [Double](repeating: 0, count: 21)
            for k in 0..<3 { for j in 0..<3 { H7[k * 7 + j] = Hp[k, j]; H7[k * 7 + 3 + j] = Hv[k, j] } }
            let expectedR = Self.kalman(before2, y: [y.x, y.y, y.z], H: H7, R: [900, 4e-6, 4e-6])
            var sr = s
            sr.x = xr; sr.P = Pr; sr.turn = tr
            Self.expectSame(Self.state7(sr), expectedR, scale: before2, "retrodiction")
            // A radial speed after it: H = [(v − ṙ u)ᵀ/r, uᵀ, 0].
            let o = src.frame.origin
            let d = Vector3(s.x[0], s.x[1], s.x[2]) - o
            let r = norm(d), u = d / r, v = Vector3(s.x[3], s.x[4], s.x[5])
            let rr = dot(u, v), hp = (v - u * rr) / r
            let measured = rr + 5 * rng.uniform(-1, 1)
            let mid = Self.state7(s)
            let lr = s.withTurnStorage { x, P, t in FilterKernel.updateRangeRate(x: x, P: P, origin: o, rate: measured, variance: 4, turn: t) }
            #expect(lr != nil)
            let expectedRR = Self.kalman(mid, y: [measured - rr], H: [hp.x, hp.y, hp.z, u.x, u.y, u.z, 0], R: [4])
            Self.expectSame(Self.state7(s), expectedRR, scale: mid, "radial speed")
        }
    }

    /// The 2 g turn of `runTwoGTurn`: the track ids seen, the largest error of the estimate as
    /// reported, the rate in straight flight and from 15 s into the turn, and the last state.
    static func turnRun(_ config: TrackerConfiguration, sense: Double)
        -> (ids: Set<Int>, worst: Double, straight: [Double], turning: [Double], last: FilterState?) {
        var ids = Set<Int>()
        var worst = 0.0
        var straight: [Double] = [], turning: [Double] = []
        var last: FilterState? = nil
        runTwoGTurn(config, sense: sense) { k, tracker, truth in
            guard let trk = tracker.confirmedTracks.first else { return }
            ids.insert(trk.id)
            // The estimate as reported at k (predicted when the plot missed the gate).
            if k >= 10 { tracker.forEachConfirmed(at: Double(k)) { _, _, x in worst = max(worst, norm(x.position - truth)) } }
            if (30..<60).contains(k) { straight.append(trk.state.turnRate.rate) }
            if k >= 75 { turning.append(trk.state.turnRate.rate) }
            last = trk.state
        }
        return (ids, worst, straight, turning, last)
    }

    @Test("One estimated-turn filter holds a track through a 2 g turn of either sense, and its rate is the turn's (GNN, and JPDA's combined update)",
          arguments: [1.0, -1.0], [AssociationMethod.gnn, .jpda])
    func twoGTurn(sense: Double, association: AssociationMethod) throws {
        let w = sense * 2 * 9.80665 / 250
        let config = TrackerConfiguration(maxCoast: 5, processNoise: 0.5, maxSpeed: 400, cellSize: 5000,
                                          models: [.nct(q: 0.3, turnNoise: 3e-5, initialTurnRate: 0.05)],
                                          association: association, initiation: .mOfN, frame: .flat, oosmWindow: 0)
        #expect(config.problems().isEmpty)
        let run = Self.turnRun(config, sense: sense)
        #expect(run.ids.count == 1, "one track through the turn, got \(run.ids)")
        #expect(run.worst < 150, "largest position error \(run.worst) m")
        let mean = { (a: [Double]) in a.reduce(0, +) / Double(max(a.count, 1)) }
        #expect(run.straight.count == 30 && abs(mean(run.straight)) < 0.005, "straight flight: mean rate \(mean(run.straight)) rad/s")
        #expect(run.turning.count == 25 && abs(mean(run.turning) - w) < 0.005,
                "in the turn: mean rate \(mean(run.turning)) rad/s, the turn's \(w)")
        // Its spread says how well it knows: tighter than the starting spread, and the error within 3σ.
        let last = try #require(run.last)
        #expect(last.turnRate.sigma < 0.025 && abs(last.turnRate.rate - w) < 3 * last.turnRate.sigma, "\(last.turnRate)")
    }

    @Test("JPDA with an estimated turn keeps two crossing targets apart")
    func jpdaCrossing() {
        var a: [Vector3] = [], b: [Vector3] = []
        for k in 0..<100 {
            let t = Double(k)
            a.append(Vector3(30_000 + 200 * t, 40_000 + 40 * (t - 50), 5_000))
            b.append(Vector3(30_000 + 200 * t, 40_000 - 40 * (t - 50), 5_200))
        }
        let config = TrackerConfiguration(confirmM: 3, confirmN: 4, maxCoast: 5, processNoise: 1, maxSpeed: 400, cellSize: 5000,
                                          models: [.nct(q: 1, turnNoise: 3e-5, initialTurnRate: 0.05)],
                                          association: .jpda, initiation: .mOfN, frame: .flat, oosmWindow: 0)
        let (tracker, history) = AdvancedTrackerTests().radarRun(config, truths: [a, b], seed: 9)
        #expect(tracker.confirmedTracks.count == 2)
        for k in [70, 99] {
            let row = history[k]
            #expect(row.count == 2)
            guard row.count == 2 else { continue }
            let da = row.map { norm($0.position - a[k]) }.min()!, db = row.map { norm($0.position - b[k]) }.min()!
            #expect(da < 150 && db < 150, "t=\(k): errors \(da), \(db)")
        }
        // Straight targets: the rates stay near zero.
        for trk in tracker.confirmedTracks { #expect(abs(trk.state.turnRate.rate) < 0.02, "\(trk.state.turnRate)") }
    }

    @Test("A configuration with an estimated turn is checked: alone in its bank, with the EKF, a positive spread and noise")
    func problems() {
        let nct = MotionModel.nct(q: 0.3, turnNoise: 3e-5, initialTurnRate: 0.05)
        #expect(TrackerConfiguration(models: [nct]).problems().isEmpty)
        #expect(TrackerConfiguration(models: [nct, .cv(q: 1)]).problems().contains { $0.contains("runs alone") })
        #expect(TrackerConfiguration(models: [nct], filter: .ukf).problems().contains { $0.contains("filter ekf") })
        // A bank made directly with the UKF updates the rate by the EKF all the same.
        #expect(ModelBank(models: [nct], frame: .flat, filter: .ukf).filter == .ekf)
        #expect(ModelBank(models: [.cv(q: 1)], frame: .flat, filter: .ukf).filter == .ukf)
        #expect(TrackerConfiguration(models: [.nct(q: 0.3, turnNoise: 0, initialTurnRate: 0.05)]).problems()
            .contains { $0.contains("turnNoise") })
        #expect(TrackerConfiguration(models: [.nct(q: 0.3, turnNoise: 1e-5, initialTurnRate: -1)]).problems()
            .contains { $0.contains("turnRate") })
    }
}
