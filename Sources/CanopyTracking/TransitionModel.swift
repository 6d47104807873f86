import CanopyCore
import Foundation

/// A motion model of the user's for the tracker's filter bank (Stone Soup's "transition model"):
/// how a target's 6-D state (position, velocity in the tracker's frame) moves over a time step,
/// with what uncertainty. It joins the bank beside the built-in models (`MotionModel.custom`), in
/// a single Kalman filter or as one mode of an IMM.
///
/// The filter predicts as an extended Kalman filter: the mean by the model, the covariance by
/// its Jacobian at the mean, P ← F P Fᵀ + Q, whichever filter (`FilterKind`) then updates.
/// A model may be nonlinear and depend on the state (air drag, a climb schedule); it must be
/// deterministic and free of side effects, as the tracker may predict any state more than once.
///
/// The tracker checks a model when it is built (`TrackerConfiguration.problems`) and holds every
/// prediction to finite values: a prediction that is not finite is replaced by the constant-
/// velocity one for that step and counted (`Tracker.transitionFallbacks`).
///
/// Gating uses one constant-velocity prediction for every track, widened for the bank's
/// manoeuvres; `gatingAcceleration` says how far this model's motion departs from a straight
/// line, so that the gate holds the measurements it predicts.
public protocol TransitionModel: Sendable {
    /// A short name for reports and errors; two models of a bank must not share one.
    var name: String { get }
    /// The largest acceleration (m/s²) this model's mean motion has, other than a straight line
    /// at constant speed; 0 by default. The gate widens to cover it.
    var gatingAcceleration: Double { get }
    /// The state moved over `dt` seconds. `dt` may be negative (a state carried back to the time
    /// of a late report): then the mean runs backwards, and the noise is that of |dt|.
    ///
    /// Returns the new mean f(x); the Jacobian F = ∂f/∂x at x (rows of position then velocity);
    /// and the process noise Q gathered over the step, symmetric and positive semi-definite.
    func transition(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Transition
}

extension TransitionModel {
    public var gatingAcceleration: Double { 0 }
}

/// One step of a `TransitionModel`: the predicted mean, the Jacobian of the prediction at the
/// prior mean, and the process noise.
public struct Transition: Sendable {
    public var x: Vector6
    public var F: Matrix6
    public var Q: Matrix6
    public init(x: Vector6, F: Matrix6, Q: Matrix6) { self.x = x; self.F = F; self.Q = Q }

    /// Whether every number is finite.
    public var isFinite: Bool {
        for i in 0..<6 where !x[i].isFinite { return false }
        for i in 0..<36 where !F.m[i].isFinite || !Q.m[i].isFinite { return false }
        return true
    }
}

extension TransitionModel {
    /// What is wrong with this model, found by predicting a few plausible states (an aircraft, a
    /// drone, a missile in descent; east, north, up of the frame) over ±1 s and 10 s, or nil:
    /// a result that is not finite, a Q that is not symmetric or has a negative eigenvalue (to
    /// rounding), a mean that moves with dt = 0.
    public func problem(frame: TrackingFrame) -> String? {
        let base: Vector3 = frame == .flat ? Vector3(20_000, -5_000, 3_000) : Vector3(3_430_000, 2_370_000, 4_900_000)
        let up = frame.up(at: base)
        let c = cross(Vector3(0, 0, 1), up)
        let east = norm(c) > 0 ? c / norm(c) : Vector3(1, 0, 0)
        let north = cross(up, east)
        let velocities = [east * 250, north * 50 + up * 2, (east * 900 - up * 1_500)]
        for v in velocities {
            let x = Vector6(position: base, velocity: v)
            let still = transition(x, dt: 0, frame: frame)
            guard still.isFinite else { return "its transition over 0 s is not finite" }
            for i in 0..<6 where abs(still.x[i] - x[i]) > 1e-9 * max(1, abs(x[i])) {
                return "its transition over 0 s moves the state (component \(i): \(x[i]) → \(still.x[i]))"
            }
            for dt in [1.0, -1.0, 10.0] {
                let t = transition(x, dt: dt, frame: frame)
                guard t.isFinite else { return "its transition over \(dt) s of state \(x) is not finite" }
                for i in 0..<6 {
                    for j in (i + 1)..<6 {
                        let a = t.Q[i, j], b = t.Q[j, i]
                        if abs(a - b) > 1e-9 * max(1, abs(a), abs(b)) {
                            return "its process noise over \(dt) s is not symmetric (Q[\(i), \(j)] = \(a), Q[\(j), \(i)] = \(b))"
                        }
                    }
                }
                if !Self.positiveSemiDefinite(t.Q) {
                    return "its process noise over \(dt) s is not positive semi-definite"
                }
            }
        }
        return nil
    }

    /// Positive semi-definite to rounding: no negative diagonal entry, and positive definite once
    /// each diagonal entry is raised by 10⁻¹⁰ of itself (a tolerance per entry: position and
    /// velocity variances differ by orders of magnitude), by `Matrix6.isPositiveDefinite`.
    static func positiveSemiDefinite(_ Q: Matrix6) -> Bool {
        var J = Q
        for j in 0..<6 {
            guard Q[j, j] >= 0 else { return false }
            J[j, j] += 1e-10 * Q[j, j] + 1e-300
        }
        return J.isPositiveDefinite
    }
}

extension FilterKernel {
    /// The prediction by a model of the user's: x ← f(x), P ← F P Fᵀ + Q, symmetrised. Returns
    /// false (x, P untouched) when the model's step is not finite.
    static func predictCustom(_ model: any TransitionModel, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                              dt: Double, frame: TrackingFrame) -> Bool {
        var x0 = Vector6()
        for i in 0..<6 { x0[i] = x[i] }
        let t = model.transition(x0, dt: dt, frame: frame)
        guard t.isFinite else { return false }
        var FP = Matrix6()
        for i in 0..<6 {
            for k in 0..<6 {
                let f = t.F[i, k]
                if f == 0 { continue }
                for j in 0..<6 { FP[i, j] += f * P[k * 6 + j] }
            }
        }
        var out = t.Q
        for i in 0..<6 {
            for j in 0..<6 {
                var s = 0.0
                for k in 0..<6 { s += FP[i, k] * t.F[j, k] }
                out[i, j] += s
            }
        }
        out.symmetrize()
        for i in 0..<36 where !out.m[i].isFinite { return false }
        for i in 0..<6 { x[i] = t.x[i] }
        for i in 0..<36 { P[i] = out.m[i] }
        return true
    }
}
