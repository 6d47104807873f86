import CanopyCore
import Foundation

/// The nearly-constant-velocity (NCV) motion model in 3-D: white-noise acceleration with spectral
/// density `q` (m²/s³) on each axis (Bar-Shalom, Li & Kirubarajan 2001, §6.2.2).
public enum NearlyConstantVelocity {
    /// Predicts a position-velocity state and its covariance over `dt` seconds (dt may be negative
    /// for retrodiction; the process noise then uses |dt|). Allocation-free.
    @inlinable
    public static func predict(_ x: inout Vector6, _ P: inout Matrix6, dt: Double, q: Double) {
        if dt == 0 { return }
        x[0] += dt * x[3]; x[1] += dt * x[4]; x[2] += dt * x[5]
        let adt = abs(dt)
        let q11 = q * adt * adt * adt / 3, q12 = q * adt * adt / 2 * (dt < 0 ? -1 : 1), q22 = q * adt
        var r = Matrix6()
        for i in 0..<3 {
            for j in 0..<3 {
                let a = P[i, j], b = P[i, j + 3], c = P[i + 3, j], d = P[i + 3, j + 3]
                let delta = i == j ? 1.0 : 0.0
                r[i, j] = a + dt * (b + c) + dt * dt * d + q11 * delta
                r[i, j + 3] = b + dt * d + q12 * delta
                r[i + 3, j] = c + dt * d + q12 * delta
                r[i + 3, j + 3] = d + q22 * delta
            }
        }
        P = r
        P.symmetrize()
    }
}

/// Result of one measurement update.
public struct UpdateResult: Sendable {
    /// Squared Mahalanobis distance of the innovation.
    public var distanceSquared: Double
    /// ln det S of the innovation covariance.
    public var logDetS: Double
    @inlinable public init(distanceSquared: Double, logDetS: Double) {
        self.distanceSquared = distanceSquared
        self.logDetS = logDetS
    }
}

/// Extended Kalman filter update for measurements that depend on position (and, for an
/// out-of-sequence measurement, on velocity through the retrodiction): `H = [Hp Hv]`, with up to
/// three measurement rows; unused rows are zero and their R diagonal 1. The covariance is updated
/// in Joseph form and symmetrised, so it stays symmetric positive definite.
public enum ExtendedKalman {
    /// Innovation covariance S = H P Hᵀ + R and the gain's left factor P Hᵀ (columns).
    @inlinable
    public static func innovation(P: Matrix6, Hp: Matrix3, Hv: Matrix3, R: Matrix3)
        -> (PHt: (Vector6, Vector6, Vector6), S: Matrix3)
    {
        // Rows of H: row k = (Hp row k, Hv row k). Hp/Hv are stored by columns, so row k = (c0[k], c1[k], c2[k]).
        var cols = (Vector6(), Vector6(), Vector6())
        for k in 0..<3 {
            let hp = Vector3(Hp.c0[k], Hp.c1[k], Hp.c2[k])
            let hv = Vector3(Hv.c0[k], Hv.c1[k], Hv.c2[k])
            var col = Vector6()
            for i in 0..<6 {
                col[i] = P[i, 0] * hp.x + P[i, 1] * hp.y + P[i, 2] * hp.z
                    + P[i, 3] * hv.x + P[i, 4] * hv.y + P[i, 5] * hv.z
            }
            switch k { case 0: cols.0 = col; case 1: cols.1 = col; default: cols.2 = col }
        }
        func hrow(_ k: Int) -> (Vector3, Vector3) {
            (Vector3(Hp.c0[k], Hp.c1[k], Hp.c2[k]), Vector3(Hv.c0[k], Hv.c1[k], Hv.c2[k]))
        }
        var s = R
        for k in 0..<3 {
            let (hp, hv) = hrow(k)
            for l in 0..<3 {
                let col = l == 0 ? cols.0 : (l == 1 ? cols.1 : cols.2)
                let v = hp.x * col[0] + hp.y * col[1] + hp.z * col[2] + hv.x * col[3] + hv.y * col[4] + hv.z * col[5]
                switch l {
                case 0: s.c0[k] += v
                case 1: s.c1[k] += v
                default: s.c2[k] += v
                }
            }
        }
        return (cols, s)
    }

    /// Squared Mahalanobis distance and ln det S of innovation `y`, without changing the state.
    @inlinable
    public static func gate(P: Matrix6, Hp: Matrix3, Hv: Matrix3, R: Matrix3, y: Vector3) -> UpdateResult? {
        let (_, S) = innovation(P: P, Hp: Hp, Hv: Hv, R: R)
        guard let Si = S.inverse else { return nil }
        let det = S.determinant
        guard det > 0 else { return nil }
        return UpdateResult(distanceSquared: dot(y, Si * y), logDetS: Foundation.log(det))
    }

    /// Updates x and P with innovation y = z − h(x̂) (angles already wrapped). Returns nil (and
    /// leaves the state unchanged) when S is not positive definite.
    @inlinable @discardableResult
    ///
    /// `turn`: an estimated turn rate's lanes (`FilterState.turn`), updated as the 7-D state's
    /// seventh row (the measurement does not depend on the rate): with c = cov(x, ω) and
    /// b = Hp c_pos + Hv c_vel, ω += bᵀS⁻¹y, c −= P Hᵀ S⁻¹ b, var ω −= bᵀS⁻¹b.
    public static func update(_ x: inout Vector6, _ P: inout Matrix6, Hp: Matrix3, Hv: Matrix3, R: Matrix3,
                              y: Vector3, turn: UnsafeMutablePointer<Double>? = nil) -> UpdateResult? {
        let (PHt, S) = innovation(P: P, Hp: Hp, Hv: Hv, R: R)
        guard let Si = S.inverse else { return nil }
        let det = S.determinant
        guard det > 0 else { return nil }
        if let t = turn {
            @inline(__always) func row(_ k: Int) -> Double {
                Hp.c0[k] * t[0] + Hp.c1[k] * t[1] + Hp.c2[k] * t[2] + Hv.c0[k] * t[3] + Hv.c1[k] * t[4] + Hv.c2[k] * t[5]
            }
            let b = Vector3(row(0), row(1), row(2))
            let sb = Si * b
            t[7] += dot(sb, y)
            for i in 0..<6 { t[i] -= PHt.0[i] * sb.x + PHt.1[i] * sb.y + PHt.2[i] * sb.z }
            t[6] = max(t[6] - dot(b, sb), FilterKernel.minimumTurnVariance)
        }
        // K = P Hᵀ S⁻¹: column l of K = Σ_k PHt_k · Si[k, l].
        var K = (Vector6(), Vector6(), Vector6())
        for i in 0..<6 {
            let p = Vector3(PHt.0[i], PHt.1[i], PHt.2[i])
            K.0[i] = dot(p, Si.c0)
            K.1[i] = dot(p, Si.c1)
            K.2[i] = dot(p, Si.c2)
        }
        for i in 0..<6 { x[i] += K.0[i] * y.x + K.1[i] * y.y + K.2[i] * y.z }
        // Joseph form: P = (I − K H) P (I − K H)ᵀ + K R Kᵀ.
        var A = Matrix6.identity
        for k in 0..<3 {
            let hp = Vector3(Hp.c0[k], Hp.c1[k], Hp.c2[k]), hv = Vector3(Hv.c0[k], Hv.c1[k], Hv.c2[k])
            let kc = k == 0 ? K.0 : (k == 1 ? K.1 : K.2)
            for i in 0..<6 {
                let ki = kc[i]
                if ki == 0 { continue }
                A[i, 0] -= ki * hp.x; A[i, 1] -= ki * hp.y; A[i, 2] -= ki * hp.z
                A[i, 3] -= ki * hv.x; A[i, 4] -= ki * hv.y; A[i, 5] -= ki * hv.z
            }
        }
        var newP = A * P * A.transposed
        for i in 0..<6 {
            let ki = Vector3(K.0[i], K.1[i], K.2[i])
            let rki = R * ki
            for j in 0..<6 {
                newP[i, j] += rki.x * K.0[j] + rki.y * K.1[j] + rki.z * K.2[j]
            }
        }
        newP.symmetrize()
        P = newP
        return UpdateResult(distanceSquared: dot(y, Si * y), logDetS: Foundation.log(det))
    }
}

/// Chi-square quantiles for gating (1, 2 and 3 degrees of freedom).
public enum ChiSquare {
    /// The value g with P(χ²_dof ≤ g) = p, for dof 1…3 (Wilson–Hilferty start, Newton refined).
    public static func quantile(probability p: Double, dof: Int) -> Double {
        precondition((1...3).contains(dof) && p > 0 && p < 1)
        let k = Double(dof)
        let z = normalQuantile(p)
        var g = k * pow(1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot(), 3)
        if g <= 0 { g = 1e-3 }
        for _ in 0..<50 {
            let f = cdf(g, dof: dof) - p
            let d = pdf(g, dof: dof)
            guard d > 0 else { break }
            let step = f / d
            g = max(g - step, g / 10)
            if abs(step) < 1e-12 * g { break }
        }
        return g
    }

    static func cdf(_ x: Double, dof: Int) -> Double {
        switch dof {
        case 1: return erf((x / 2).squareRoot())
        case 2: return 1 - exp(-x / 2)
        default: return erf((x / 2).squareRoot()) - (2 * x / .pi).squareRoot() * exp(-x / 2)
        }
    }

    static func pdf(_ x: Double, dof: Int) -> Double {
        switch dof {
        case 1: return exp(-x / 2) / (2 * .pi * x).squareRoot()
        case 2: return exp(-x / 2) / 2
        default: return (x / (2 * .pi)).squareRoot() * exp(-x / 2)
        }
    }

    /// Standard normal quantile (Acklam's rational approximation, refined by one Halley step).
    static func normalQuantile(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - 0.02425 {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = 0.5 * erfc(-x / 2.squareRoot()) - p
        let u = e * (2 * .pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
