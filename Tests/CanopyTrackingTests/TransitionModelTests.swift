import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

/// A ballistic target with air drag: a = g − ρ(h) |v| v / (2β), with the exponential atmosphere
/// ρ(h) = ρ₀ exp(−h / H) and a known ballistic coefficient β (kg/m²). Integrated by Euler steps
/// of at most 0.25 s; the Jacobian is the product of the steps' own; the noise is white
/// acceleration of density q on each axis, as the built-in models'.
struct DragBallistic: TransitionModel {
    var beta: Double
    var q: Double
    var name: String { "drag(β=\(beta))" }
    var gatingAcceleration: Double { 200 }
    static let rho0 = 1.225, scaleHeight = 7_200.0

    func acceleration(_ p: Vector3, _ v: Vector3, frame: TrackingFrame) -> (a: Vector3, dadp: Matrix3, dadv: Matrix3) {
        let up = frame.up(at: p)
        let h = frame == .flat ? p.z : norm(p) - 6_371_000
        let rho = Self.rho0 * Foundation.exp(-max(h, -1_000) / Self.scaleHeight)
        let s = norm(v)
        let k = rho / (2 * beta)
        let a = frame.gravity(at: p) - v * (k * s)
        // ∂a/∂v = −k (|v| I + v vᵀ / |v|); ∂a/∂p = −(|v| v / 2β) (∂ρ/∂p)ᵀ, ∂ρ/∂p = −ρ up / H.
        var dadv = Matrix3.diagonal(Vector3(repeating: -k * s))
        if s > 0 { dadv = dadv - Matrix3(columns: (v * (k * v.x / s), v * (k * v.y / s), v * (k * v.z / s))) }
        let c = v * (k * s / Self.scaleHeight)
        let dadp = Matrix3(columns: (c * up.x, c * up.y, c * up.z))
        return (a, dadp, dadv)
    }

    func transition(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Transition {
        let steps = max(1, Int((abs(dt) / 0.25).rounded(.up)))
        let h = dt / Double(steps)
        var p = x.position, v = x.velocity
        var F = Matrix6.identity
        for _ in 0..<steps {
            let (a, dadp, dadv) = acceleration(p, v, frame: frame)
            // One step's Jacobian: [I, hI; h ∂a/∂p, I + h ∂a/∂v].
            var J = Matrix6.identity
            for i in 0..<3 {
                J[i, i + 3] = h
                for j in 0..<3 {
                    J[i + 3, j] = h * dadp[i, j]
                    J[i + 3, j + 3] += h * dadv[i, j]
                }
            }
            F = J * F
            p = p + v * h
            v = v + a * h
        }
        var Q = Matrix6()
        let (q11, q12, q22) = FilterKernel.noise(q: q, dt: dt)
        for i in 0..<3 { Q[i, i] = q11; Q[i, i + 3] = q12; Q[i + 3, i] = q12; Q[i + 3, i + 3] = q22 }
        return Transition(x: Vector6(position: p, velocity: v), F: F, Q: Q)
    }
}

/// A constant-velocity model written as a user would, to hold the generic path to the built-in.
struct PlainCV: TransitionModel {
    var q: Double
    var name: String { "plain-cv" }
    func transition(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Transition {
        var F = Matrix6.identity
        for i in 0..<3 { F[i, i + 3] = dt }
        var Q = Matrix6()
        let (q11, q12, q22) = FilterKernel.noise(q: q, dt: dt)
        for i in 0..<3 { Q[i, i] = q11; Q[i, i + 3] = q12; Q[i + 3, i] = q12; Q[i + 3, i + 3] = q22 }
        return Transition(x: F * x, F: F, Q: Q)
    }
}

/// A model that misbehaves in the ways `problem(frame:)` and the fallback must catch.
struct Faulty: TransitionModel {
    enum Fault { case nanAlways, nanBelow(Double), asymmetric, negativeNoise, negativeVelocityNoise, movesAtRest, none }
    var fault: Fault
    var name: String
    func transition(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Transition {
        var t = PlainCV(q: 1).transition(x, dt: dt, frame: frame)
        switch fault {
        case .nanAlways: t.x[0] = .nan
        case .nanBelow(let h): if x[2] < h { t.F[3, 3] = .infinity }
        case .asymmetric: t.Q[0, 1] = 5
        case .negativeNoise: t.Q[2, 2] = -abs(dt) - 1
        case .negativeVelocityNoise:
            // Large position variances beside slightly negative velocity ones: a tolerance scaled
            // by the largest entry let it pass.
            t.Q = Matrix6.diagonal(Vector6(1e6, 1e6, 1e6, -1e-5, -1e-5, -1e-5))
        case .movesAtRest: t.x[1] += 1
        case .none: break
        }
        return t
    }
}

@Suite("Motion models of the user's")
struct TransitionModelTests {
    @Test("A constant-velocity model written as a TransitionModel predicts as the built-in one, forwards and back")
    func plainMatchesBuiltIn() {
        for dt in [0.7, 5.0, -3.0] {
            var a = Vector6(1_000, -2_000, 3_000, 120, -40, 7), b = a
            var Pa = Matrix6.identity, Pb = Pa
            for i in 0..<3 { Pa[i, i + 3] = 0.3; Pa[i + 3, i] = 0.3 }
            Pb = Pa
            MotionModel.custom(PlainCV(q: 2)).predict(&a, &Pa, dt: dt, frame: .flat)
            MotionModel.cv(q: 2).predict(&b, &Pb, dt: dt, frame: .flat)
            for i in 0..<6 { #expect(abs(a[i] - b[i]) < 1e-9) }
            for i in 0..<36 { #expect(abs(Pa.m[i] - Pb.m[i]) < 1e-9 * max(1, abs(Pb.m[i]))) }
            #expect(Pa.isPositiveDefinite)
        }
        // The mean alone too.
        let x = Vector6(1, 2, 3, 4, 5, 6)
        let m = MotionModel.custom(PlainCV(q: 1)).predictMean(x, dt: 2, frame: .flat)
        #expect(m == MotionModel.cv(q: 1).predictMean(x, dt: 2, frame: .flat))
    }

    @Test("n10 with the bank's constant-velocity mode given as a model of the user's tracks as the built-in bank")
    func n10WithCustomMode() throws {
        let url = try #require(Bundle.module.url(forResource: "n10.json", withExtension: "gz", subdirectory: "Fixtures"))
        let scenario = try BenchmarkScenario.load(path: url.path)
        var base = BenchmarkRunner.defaultConfiguration()
        base.models = BenchmarkRunner.immModels
        var config = base
        let cv = try #require(base.models.first { $0.kind == .constantVelocity })
        config.models = base.models.map { $0.kind == .constantVelocity ? .custom(PlainCV(q: cv.q), q: cv.q, sojourn: cv.sojourn) : $0 }
        #expect(config.problems().isEmpty)
        let builtIn = BenchmarkScore.score(scenario: scenario, tracks: BenchmarkRunner.run(scenario, configuration: base).tracks)
        let run = BenchmarkRunner.run(scenario, configuration: config)
        let score = BenchmarkScore.score(scenario: scenario, tracks: run.tracks)
        // Not bit for bit: with a model of the user's in the bank every update linearises about
        // the bank's own predicted mean instead of the gate's point.
        #expect(abs(score.gospaMean - builtIn.gospaMean) < 2, "GOSPA \(score.gospaMean) against \(builtIn.gospaMean)")
        #expect(score.mot.switches == builtIn.mot.switches)
    }

    /// A re-entry vehicle from 40 km at 2.1 km/s, seen by a radar every second; truth by fine
    /// steps of the same physics. Returns the largest and root-mean-square position errors of the
    /// confirmed track below 30 km, the track ids seen, and the tracker.
    func descent(models: [MotionModel], beta: Double = 4_000) -> (worst: Double, rms: Double, ids: Set<Int>, steps: Int, tracker: Tracker) {
        let truthModel = DragBallistic(beta: beta, q: 0)
        var p = Vector3(0, 0, 40_000), v = Vector3(1_200, 0, -1_700)
        var truth: [Vector3] = []
        while p.z > 2_000 {
            truth.append(p)
            for _ in 0..<100 {
                let (a, _, _) = truthModel.acceleration(p, v, frame: .flat)
                p = p + v * 0.01; v = v + a * 0.01
            }
        }
        let config = TrackerConfiguration(maxCoast: 5, processNoise: 1, maxSpeed: 3_000, cellSize: 20_000, models: models,
                                          initiation: .mOfN, frame: .flat, oosmWindow: 0)
        let sensor = TrackerSensor(name: "r", kind: .rangeAzimuthElevation, frame: SensorFrame(flatOrigin: Vector3(60_000, 20_000, 0)),
                                   sigma: Vector3(20, 1e-3, 1e-3), maxRange: 300_000, period: 1, canInitiate: true, pd: 1)
        let tracker = Tracker(configuration: config, sensors: [sensor])
        var rng = RandomStream(seed: 11, component: "descent")
        var ids = Set<Int>()
        var worst = 0.0, sum = 0.0, n = 0
        for (k, tp) in truth.enumerated() {
            var z = MeasurementModel.h(sensor.source, position: tp)
            z.x += 20 * rng.normal(); z.y += 1e-3 * rng.normal(); z.z += 1e-3 * rng.normal()
            tracker.processScan([Detection(id: UInt64(k), time: Double(k), sensor: 0, z: z)], sensor: 0, time: Double(k))
            tracker.maintain(now: Double(k))
            guard let trk = tracker.confirmedTracks.first, tp.z < 30_000 else { continue }
            ids.insert(trk.id)
            let e = norm(trk.position - tp)
            worst = max(worst, e); sum += e * e; n += 1
        }
        return (worst, (sum / Double(max(n, 1))).squareRoot(), ids, truth.count, tracker)
    }

    @Test("A drag model of the user's in an IMM holds a re-entry vehicle through its deceleration, far closer than the built-in ballistic model")
    func dragModelTracksReentry() {
        let drag = descent(models: [.cv(q: 1), .custom(DragBallistic(beta: 4_000, q: 1), sojourn: 60)])
        let plain = descent(models: [.cv(q: 1), .ballistic(q: 1, sojourn: 60)])
        #expect(drag.steps > 20)
        #expect(drag.ids.count == 1, "one track through the descent, got \(drag.ids)")
        #expect(drag.tracker.transitionFallbacks == 0)
        #expect(drag.rms < 0.5 * plain.rms, "drag model RMS \(drag.rms) m against the ballistic model's \(plain.rms) m")
        #expect(drag.worst < 150, "largest error \(drag.worst) m")
        // The drag mode carries the track once the air thickens.
        let mu = drag.tracker.confirmedTracks.first?.modeProbabilities ?? []
        #expect(mu.count == 2 && mu[1] > 0.5, "mode probabilities at the end \(mu)")
    }

    @Test("A model's steps that are not finite fall back to constant velocity, are counted, and leave the track finite")
    func fallbackOnNonFinite() {
        let r = descent(models: [.cv(q: 1), .custom(Faulty(fault: .nanBelow(20_000), name: "bad-low"), q: 1)])
        #expect(r.tracker.transitionFallbacks > 0)
        #expect(r.ids.count >= 1)
        for t in r.tracker.confirmedTracks {
            for i in 0..<6 { #expect(t.state.x[i].isFinite) }
            for i in 0..<36 { #expect(t.state.P.m[i].isFinite) }
            #expect(t.state.P.isPositiveDefinite)
        }
    }

    @Test("A configuration's problems name the model and what is wrong")
    func problemsAreNamed() {
        func problems(_ models: [MotionModel]) -> [String] {
            var c = TrackerConfiguration(frame: .flat)
            c.models = models
            return c.problems()
        }
        #expect(problems([.cv(q: 1), .custom(DragBallistic(beta: 4_000, q: 1))]).isEmpty)
        var ecef = TrackerConfiguration(frame: .earthCentred)
        ecef.models = [.custom(DragBallistic(beta: 4_000, q: 1))]
        #expect(ecef.problems().isEmpty, "\(ecef.problems())")
        let cases: [([MotionModel], String)] = [
            ([], "models: a bank has 1 to 4 motion models (got 0)"),
            ([.cv(q: 1), .cv(q: 1), .cv(q: 1), .cv(q: 1), .cv(q: 1)], "got 5"),
            ([.cv(q: 0)], "models[0].q: must be a number > 0 (got 0.0)"),
            ([.cv(q: 1, sojourn: .nan)], "models[0].sojourn"),
            ([.cv(q: 1), MotionModel(.custom, q: 1)], "models[1]: a custom model needs its TransitionModel"),
            ([.custom(Faulty(fault: .nanAlways, name: "n"))], "models[0] (n): its transition over 0 s is not finite"),
            ([.custom(Faulty(fault: .asymmetric, name: "a"))], "models[0] (a): its process noise over 1.0 s is not symmetric"),
            ([.custom(Faulty(fault: .negativeNoise, name: "q"))], "models[0] (q): its process noise over 1.0 s is not positive semi-definite"),
            ([.custom(Faulty(fault: .movesAtRest, name: "m"))], "models[0] (m): its transition over 0 s moves the state"),
            ([.custom(Faulty(fault: .negativeVelocityNoise, name: "v"))], "models[0] (v): its process noise over 1.0 s is not positive semi-definite"),
            ([.custom(Faulty(fault: .none, name: "")), .cv(q: 1)], "models[0]: a custom model needs a name"),
            ([.custom(Faulty(fault: .none, name: "x")), .custom(PlainCV(q: 1)), .custom(Faulty(fault: .none, name: "x"))],
             "models[2] (x): the name of models[0] too"),
        ]
        // A rank-deficient noise (one acceleration per axis, Q = σ² G Gᵀ, G = (dt²/2, dt)) is
        // semi-definite and passes; a zero noise too.
        var rank3 = Matrix6()
        for i in 0..<3 { rank3[i, i] = 0.25 * 0.09; rank3[i, i + 3] = 0.5 * 0.09; rank3[i + 3, i] = 0.5 * 0.09; rank3[i + 3, i + 3] = 0.09 }
        #expect(DragBallistic.positiveSemiDefinite(rank3) && DragBallistic.positiveSemiDefinite(Matrix6()))
        for (models, expected) in cases {
            let found = problems(models)
            #expect(found.contains { $0.contains(expected) }, "expected \(expected), got \(found)")
        }
    }
}
