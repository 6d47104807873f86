import CanopyCore
import Foundation

/// The tracker's Cartesian frame: where "up" is and which way gravity pulls.
public enum TrackingFrame: String, Sendable, CaseIterable {
    /// Earth-centred, earth-fixed (the simulation): up is the geocentric radial, gravity μ/r².
    case earthCentred
    /// A flat local ENU plane (the benchmark): up is +z, gravity 9.80665 m/s² down.
    case flat

    @inlinable public func up(at p: Vector3) -> Vector3 {
        switch self {
        case .flat: return Vector3(0, 0, 1)
        case .earthCentred:
            let n = norm(p)
            return n > 0 ? p / n : Vector3(0, 0, 1)
        }
    }

    @inlinable public func gravity(at p: Vector3) -> Vector3 {
        switch self {
        case .flat: return Vector3(0, 0, -9.80665)
        case .earthCentred:
            let r2 = max(dot(p, p), 1)
            return p * (-3.986004418e14 / (r2 * r2.squareRoot()))
        }
    }
}

/// A motion model of the filter bank. The built-in ones are linear in the 6-D position-velocity
/// state (the turn rate of a coordinated turn is a fixed parameter of the model), with
/// white-noise acceleration of spectral density `q` (m²/s³) on each axis; `custom` carries a
/// model of the user's (`TransitionModel`).
///
/// `estimatedTurn` is the exception: a nearly-coordinated turn whose rate is estimated, a
/// seventh state (`FilterState.turn`), by an extended Kalman filter (Bar-Shalom, Li &
/// Kirubarajan 2001, §11.7.2; X. R. Li & V. Jilkov, "Survey of maneuvering target tracking,
/// Part I", 2003, §IV). It runs alone: one filter follows straight flight and turns of either
/// sense, where an IMM runs a filter for each.
public struct MotionModel: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case constantVelocity = "cv", coordinatedTurn = "ct", ballistic
        /// A nearly-coordinated turn at an estimated rate (a bank of this model alone).
        case estimatedTurn = "nct"
        /// A `TransitionModel` of the user's, given in Swift (`MotionModel.custom`).
        case custom
    }
    public var kind: Kind
    public var q: Double
    /// Turn rate (rad/s) about the local vertical, positive to the left (counter-clockwise seen
    /// from above); coordinated turn only. For `estimatedTurn`, the spread (one standard
    /// deviation) of the turn rate a new track starts with.
    public var turnRate: Double
    /// `estimatedTurn` only: the turn rate's random walk, spectral density in rad²/s³ (its
    /// variance grows by this much a second).
    public var turnNoise: Double = 0
    /// Mean time (s) the target stays in this mode (IMM transition probabilities).
    public var sojourn: Double
    /// The user's model, for `kind == .custom` (nil otherwise).
    public var transition: (any TransitionModel)?

    public init(_ kind: Kind, q: Double, turnRate: Double = 0, sojourn: Double = 20) {
        self.kind = kind; self.q = q; self.turnRate = turnRate; self.sojourn = sojourn
    }
    /// A model of the user's in the bank, staying in its mode `sojourn` seconds on average.
    ///
    /// `q` (m²/s³) is the white-noise acceleration of the constant-velocity step that replaces
    /// any step of the model that is not finite; it also counts among the bank's for gating.
    public static func custom(_ model: some TransitionModel, q: Double = 1, sojourn: Double = 20) -> MotionModel {
        var m = MotionModel(.custom, q: q, sojourn: sojourn)
        m.transition = model
        return m
    }
    /// The model's name in reports: its type and figures, or a custom model's own name.
    public var name: String {
        switch kind {
        case .coordinatedTurn: "ct(q=\(q), \(turnRate * 180 / .pi)°/s)"
        case .estimatedTurn:
            "nct(q=\(q), turn noise \(String(format: "%g", turnNoise * (180 / .pi) * (180 / .pi)))°²/s³, start ±\(String(format: "%g", turnRate * 180 / .pi))°/s)"
        case .custom: transition?.name ?? "custom"
        default: "\(kind.rawValue)(q=\(q))"
        }
    }
    public static func == (a: MotionModel, b: MotionModel) -> Bool {
        a.kind == b.kind && a.q == b.q && a.turnRate == b.turnRate && a.sojourn == b.sojourn && a.turnNoise == b.turnNoise
            && a.transition?.name == b.transition?.name
    }
    public static func cv(q: Double, sojourn: Double = 20) -> MotionModel { MotionModel(.constantVelocity, q: q, sojourn: sojourn) }
    public static func ct(q: Double, turnRate: Double, sojourn: Double = 10) -> MotionModel {
        MotionModel(.coordinatedTurn, q: q, turnRate: turnRate, sojourn: sojourn)
    }
    public static func ballistic(q: Double, sojourn: Double = 30) -> MotionModel { MotionModel(.ballistic, q: q, sojourn: sojourn) }
    /// An estimated turn's figures when none are given (the tracking benchmark's, and a
    /// configuration's `nct` without them): a new track's rates spread ±3°/s, a standard-rate
    /// turn; the rate wanders by 1°/s in 10 s (√(0.1 (°/s)²/s × 10 s)).
    public static let nctDefaultSpread = 3 * Double.pi / 180
    public static let nctDefaultTurnNoise = 0.1 * (Double.pi / 180) * (Double.pi / 180)

    /// A nearly-coordinated turn at an estimated rate: acceleration noise q (m²/s³), the rate's
    /// random walk `turnNoise` (rad²/s³), and a new track's spread of rates `initialTurnRate`
    /// (rad/s, one standard deviation).
    public static func nct(q: Double, turnNoise: Double, initialTurnRate: Double) -> MotionModel {
        var m = MotionModel(.estimatedTurn, q: q, turnRate: initialTurnRate)
        m.turnNoise = turnNoise
        return m
    }

    /// Predicts a state and covariance over `dt` (which may be negative: the model runs backwards,
    /// the process noise uses |dt|). Allocation-free. An `estimatedTurn` model's rate is not in
    /// a 6-D state: here it turns at rate zero (`ModelBank` predicts it with its rate).
    @inlinable
    public func predict(_ x: inout Vector6, _ P: inout Matrix6, dt: Double, frame: TrackingFrame) {
        if dt == 0 { return }
        switch kind {
        case .custom:
            withUnsafeMutablePointer(to: &x) { px in
                withUnsafeMutablePointer(to: &P) { pP in
                    FilterKernel.predict(self, x: UnsafeMutableRawPointer(px).assumingMemoryBound(to: Double.self),
                                         P: UnsafeMutableRawPointer(pP).assumingMemoryBound(to: Double.self), dt: dt, frame: frame)
                }
            }
        case .constantVelocity, .estimatedTurn:
            NearlyConstantVelocity.predict(&x, &P, dt: dt, q: q)
        case .ballistic:
            let g = frame.gravity(at: x.position)
            NearlyConstantVelocity.predict(&x, &P, dt: dt, q: q)
            x.position = x.position + g * (0.5 * dt * dt)
            x.velocity = x.velocity + g * dt
        case .coordinatedTurn:
            let u = frame.up(at: x.position)
            let (A, R) = CoordinatedTurn.matrices(axis: u, rate: turnRate, dt: dt)
            let p = x.position, v = x.velocity
            x.position = p + A * v
            x.velocity = R * v
            // F P Fᵀ with F = [I A; 0 R], by 3×3 blocks.
            let Ppp = P.block(0, 0), Ppv = P.block(0, 3), Pvv = P.block(3, 3)
            let Pvp = Ppv.transposed
            let APvv = A * Pvv
            var nPP = Ppp + A * Pvp + Ppv * A.transposed + APvv * A.transposed
            let nPV = (Ppv + APvv) * R.transposed
            var nVV = R * Pvv * R.transposed
            let adt = abs(dt)
            let q11 = q * adt * adt * adt / 3, q12 = q * adt * adt / 2 * (dt < 0 ? -1 : 1), q22 = q * adt
            nPP = nPP + .diagonal(Vector3(repeating: q11))
            nVV = nVV + .diagonal(Vector3(repeating: q22))
            P.setBlock(0, 0, nPP)
            P.setBlock(0, 3, nPV + .diagonal(Vector3(repeating: q12)))
            P.setBlock(3, 0, (nPV + .diagonal(Vector3(repeating: q12))).transposed)
            P.setBlock(3, 3, nVV)
            P.symmetrize()
        }
    }

    /// The mean only.
    @inlinable
    public func predictMean(_ x: Vector6, dt: Double, frame: TrackingFrame) -> Vector6 {
        var r = x
        switch kind {
        case .custom:
            if let t = transition?.transition(x, dt: dt, frame: frame), t.isFinite { return t.x }
            r.position = x.position + x.velocity * dt
        case .constantVelocity, .estimatedTurn:
            r.position = x.position + x.velocity * dt
        case .ballistic:
            let g = frame.gravity(at: x.position)
            r.position = x.position + x.velocity * dt + g * (0.5 * dt * dt)
            r.velocity = x.velocity + g * dt
        case .coordinatedTurn:
            let (A, R) = CoordinatedTurn.matrices(axis: frame.up(at: x.position), rate: turnRate, dt: dt)
            r.position = x.position + A * x.velocity
            r.velocity = R * x.velocity
        }
        return r
    }
}

/// Rotation of the velocity about an axis at a constant rate, and the matrix that integrates it
/// into position (Bar-Shalom, Li & Kirubarajan 2001, §11.7, in 3-D by Rodrigues' formula).
public enum CoordinatedTurn {
    /// R = rotation by ω·dt about unit axis u; A = ∫₀^dt R(ωs) ds. For small ω the series:
    /// sin(ωt)/ω → t, (1−cos ωt)/ω → ωt²/2, t − sin(ωt)/ω → ω²t³/6.
    @inlinable
    public static func matrices(axis u: Vector3, rate w: Double, dt: Double) -> (A: Matrix3, R: Matrix3) {
        let th = w * dt
        let s = sin(th), c = cos(th)
        let a: Double, b: Double, e: Double
        if abs(th) < 1e-4 {
            a = dt * (1 - th * th / 6); b = w * dt * dt / 2; e = w * w * dt * dt * dt / 6
        } else {
            a = s / w; b = (1 - c) / w; e = dt - s / w
        }
        if u.x == 0 && u.y == 0 && u.z == 1 {
            // About the vertical of a flat frame.
            return (Matrix3(columns: (Vector3(a, b, 0), Vector3(-b, a, 0), Vector3(0, 0, a + e))),
                    Matrix3(columns: (Vector3(c, s, 0), Vector3(-s, c, 0), Vector3(0, 0, 1))))
        }
        let K = Matrix3(rows: Vector3(0, -u.z, u.y), Vector3(u.z, 0, -u.x), Vector3(-u.y, u.x, 0))
        let uu = Matrix3(columns: (u * u.x, u * u.y, u * u.z))
        let I = Matrix3.diagonal(Vector3(1, 1, 1))
        let R = I * c + K * s + uu * (1 - c)
        let A = I * a + K * b + uu * e
        return (A, R)
    }
}

extension Matrix3 {
    @inlinable public static func * (a: Matrix3, s: Double) -> Matrix3 { Matrix3(columns: (a.c0 * s, a.c1 * s, a.c2 * s)) }
    @inlinable public static func - (a: Matrix3, b: Matrix3) -> Matrix3 { Matrix3(columns: (a.c0 - b.c0, a.c1 - b.c1, a.c2 - b.c2)) }
    /// Lower Cholesky factor (columns), or nil when not positive definite.
    @inlinable public var cholesky: Matrix3? {
        let a00 = c0.x, a10 = c0.y, a20 = c0.z, a11 = c1.y, a21 = c1.z, a22 = c2.z
        guard a00 > 0 else { return nil }
        let l00 = a00.squareRoot()
        let l10 = a10 / l00, l20 = a20 / l00
        let d1 = a11 - l10 * l10
        guard d1 > 0 else { return nil }
        let l11 = d1.squareRoot()
        let l21 = (a21 - l20 * l10) / l11
        let d2 = a22 - l20 * l20 - l21 * l21
        guard d2 > 0 else { return nil }
        return Matrix3(columns: (Vector3(l00, l10, l20), Vector3(0, l11, l21), Vector3(0, 0, d2.squareRoot())))
    }
}

extension Matrix6 {
    /// The 3×3 block starting at (r, c).
    @inlinable @inline(__always) public func block(_ r: Int, _ c: Int) -> Matrix3 {
        Matrix3(columns: (Vector3(self[r, c], self[r + 1, c], self[r + 2, c]),
                          Vector3(self[r, c + 1], self[r + 1, c + 1], self[r + 2, c + 1]),
                          Vector3(self[r, c + 2], self[r + 1, c + 2], self[r + 2, c + 2])))
    }
    @inlinable public mutating func setBlock(_ r: Int, _ c: Int, _ b: Matrix3) {
        for i in 0..<3 {
            self[r + i, c] = b.c0[i]; self[r + i, c + 1] = b.c1[i]; self[r + i, c + 2] = b.c2[i]
        }
    }
    /// Whether every leading minor is positive (Cholesky succeeds).
    public var isPositiveDefinite: Bool {
        var L = Matrix6()
        for j in 0..<6 {
            var d = self[j, j]
            for k in 0..<j { d -= L[j, k] * L[j, k] }
            guard d > 0 else { return false }
            L[j, j] = d.squareRoot()
            for i in (j + 1)..<6 {
                var s = self[i, j]
                for k in 0..<j { s -= L[i, k] * L[j, k] }
                L[i, j] = s / L[j, j]
            }
        }
        return true
    }
}

/// How measurements update a state.
public enum FilterKind: String, Sendable, CaseIterable {
    /// Extended Kalman filter: linearised h, Joseph-form covariance update.
    case ekf
    /// Unscented Kalman filter (Julier & Uhlmann 1997): the measurement statistics from sigma
    /// points. As every measurement here depends on position only, the sigma points span the
    /// position block (2·3 points, weights 1/6) and the velocity part of the cross-covariance
    /// follows by Gaussian regression, which equals the full 6-D transform's for Gaussian states.
    /// The motion models are linear, so the prediction is the Kalman one.
    case ukf
}

/// Innovation statistics of one measurement against one state: predicted measurement, innovation,
/// its covariance, the gain and (EKF) the Jacobian.
public struct Innovation: Sendable {
    public var y: Vector3
    public var S: Matrix3
    public var Si: Matrix3
    public var logDetS: Double
    public var d2: Double
    /// Gain columns.
    public var K: (Vector6, Vector6, Vector6)
    public var Hp: Matrix3
    public var linear: Bool

    @inlinable public init(y: Vector3, S: Matrix3, Si: Matrix3, logDetS: Double, d2: Double, K: (Vector6, Vector6, Vector6),
                           Hp: Matrix3, linear: Bool) {
        self.y = y; self.S = S; self.Si = Si; self.logDetS = logDetS; self.d2 = d2; self.K = K; self.Hp = Hp; self.linear = linear
    }

    /// ln N(y; 0, S) for a measurement of `dim` rows.
    @inlinable public func logLikelihood(dim: Int) -> Double {
        -0.5 * (d2 + logDetS + Double(dim) * Foundation.log(2 * .pi))
    }
}

public enum MeasurementUpdate {
    /// Innovation statistics, or nil when S is not positive definite.
    @inlinable
    public static func innovation(x: Vector6, P: borrowing Matrix6, source s: MeasurementSource, z: Vector3, filter: FilterKind) -> Innovation? {
        let R = MeasurementModel.noise(s)
        // The EKF, and either filter for a linear (2-D position) measurement.
        switch (filter, s.kind == .position2D) {
        case (.ekf, _), (.ukf, true):
            let (h, Hp) = MeasurementModel.predict(s, position: x.position)
            let y = MeasurementModel.innovation(kind: s.kind, z: z, h: h)
            // P Hᵀ (6×3) with H = [Hp 0]: column k = P[:, 0..<3] · (row k of Hp).
            let r0 = Vector3(Hp.c0.x, Hp.c1.x, Hp.c2.x), r1 = Vector3(Hp.c0.y, Hp.c1.y, Hp.c2.y), r2 = Vector3(Hp.c0.z, Hp.c1.z, Hp.c2.z)
            var PHt = (Vector6(), Vector6(), Vector6())
            for i in 0..<6 {
                let pi = Vector3(P[i, 0], P[i, 1], P[i, 2])
                PHt.0[i] = dot(pi, r0); PHt.1[i] = dot(pi, r1); PHt.2[i] = dot(pi, r2)
            }
            // S = H P Hᵀ + R: S[k, l] = row k of Hp · PHt_l[0..<3].
            let c0 = Vector3(PHt.0[0], PHt.0[1], PHt.0[2]), c1 = Vector3(PHt.1[0], PHt.1[1], PHt.1[2]), c2 = Vector3(PHt.2[0], PHt.2[1], PHt.2[2])
            var S = Matrix3(columns: (Vector3(dot(r0, c0), dot(r1, c0), dot(r2, c0)),
                                      Vector3(dot(r0, c1), dot(r1, c1), dot(r2, c1)),
                                      Vector3(dot(r0, c2), dot(r1, c2), dot(r2, c2))))
            S = S + R
            let det = S.determinant
            guard det > 0, det.isFinite, let Si = S.inverse else { return nil }
            var K = (Vector6(), Vector6(), Vector6())
            for i in 0..<6 {
                let p = Vector3(PHt.0[i], PHt.1[i], PHt.2[i])
                K.0[i] = dot(p, Si.c0); K.1[i] = dot(p, Si.c1); K.2[i] = dot(p, Si.c2)
            }
            return Innovation(y: y, S: S, Si: Si, logDetS: Foundation.log(det), d2: dot(y, Si * y), K: K, Hp: Hp, linear: true)
        case (.ukf, false):
            let Ppp = P.block(0, 0)
            guard let L = Ppp.cholesky else { return nil }
            let scale = 3.0.squareRoot()
            let h0 = MeasurementModel.h(s, position: x.position)
            // Sigma-point measurements as deviations from h(x̂) (angles wrapped around it).
            var zs = (Vector3.zero, Vector3.zero, Vector3.zero, Vector3.zero, Vector3.zero, Vector3.zero)
            let cols = [L.c0, L.c1, L.c2]
            for k in 0..<3 {
                let d = cols[k] * scale
                let zp = MeasurementModel.innovation(kind: s.kind, z: MeasurementModel.h(s, position: x.position + d), h: h0)
                let zm = MeasurementModel.innovation(kind: s.kind, z: MeasurementModel.h(s, position: x.position - d), h: h0)
                switch k {
                case 0: zs.0 = zp; zs.1 = zm
                case 1: zs.2 = zp; zs.3 = zm
                default: zs.4 = zp; zs.5 = zm
                }
            }
            let pts = [zs.0, zs.1, zs.2, zs.3, zs.4, zs.5]
            var mean = Vector3.zero
            for p in pts { mean = mean + p }
            mean = mean / 6
            var S = R
            var Ppz = Matrix3.zero  // position × measurement
            for k in 0..<3 {
                let d = cols[k] * scale
                for (sign, zp) in [(1.0, pts[2 * k]), (-1.0, pts[2 * k + 1])] {
                    let e = zp - mean
                    S = S + Matrix3(columns: (e * (e.x / 6), e * (e.y / 6), e * (e.z / 6)))
                    let dd = d * sign
                    Ppz = Ppz + Matrix3(columns: (dd * (e.x / 6), dd * (e.y / 6), dd * (e.z / 6)))
                }
            }
            // Unused rows: unit variance, zero deviation.
            switch s.kind {
            case .bearing: S.c1 = Vector3(0, 1, 0); S.c2 = Vector3(0, 0, 1); S.c0.y = 0; S.c0.z = 0
            default: break
            }
            guard let Si = S.inverse, let Pinv = Ppp.inverse else { return nil }
            let det = S.determinant
            guard det > 0 else { return nil }
            // Full cross-covariance: [Ppp; Pvp] Ppp⁻¹ Ppz.
            let Pvp = P.block(3, 0)
            let Pvz = Pvp * (Pinv * Ppz)
            let y = MeasurementModel.innovation(kind: s.kind, z: z, h: h0) - mean
            let Kp = Ppz * Si, Kv = Pvz * Si
            var K = (Vector6(), Vector6(), Vector6())
            for i in 0..<3 {
                K.0[i] = Kp.c0[i]; K.1[i] = Kp.c1[i]; K.2[i] = Kp.c2[i]
                K.0[i + 3] = Kv.c0[i]; K.1[i + 3] = Kv.c1[i]; K.2[i + 3] = Kv.c2[i]
            }
            return Innovation(y: y, S: S, Si: Si, logDetS: Foundation.log(det), d2: dot(y, Si * y), K: K, Hp: .zero, linear: false)
        }
    }

    /// Applies an innovation: x += K y; P by Joseph form (EKF) or P − K S Kᵀ (UKF), symmetrised.
    @inlinable
    public static func apply(_ inn: borrowing Innovation, x: inout Vector6, P: inout Matrix6, source s: MeasurementSource) {
        let y = inn.y
        for i in 0..<6 { x[i] += inn.K.0[i] * y.x + inn.K.1[i] * y.y + inn.K.2[i] * y.z }
        posterior(inn, P: &P, source: s)
    }

    /// The covariance after a certain update with this innovation.
    @inlinable
    public static func posterior(_ inn: borrowing Innovation, P: Matrix6, source s: MeasurementSource) -> Matrix6 {
        var r = P
        posterior(inn, P: &r, source: s)
        return r
    }

    /// Replaces P by the covariance after a certain update with this innovation.
    @inlinable
    public static func posterior(_ inn: borrowing Innovation, P: inout Matrix6, source s: MeasurementSource) {
        let K = inn.K
        var newP: Matrix6
        if inn.linear {
            // Joseph form P' = (I − KH) P (I − KH)ᵀ + K R Kᵀ, exploiting that H acts on position
            // only and R is diagonal: M = P − K (H P); P' = M − (M Hᵀ) Kᵀ + K R Kᵀ.
            let R = MeasurementModel.noise(s)
            let Hp = inn.Hp
            let h0 = Vector3(Hp.c0.x, Hp.c1.x, Hp.c2.x), h1 = Vector3(Hp.c0.y, Hp.c1.y, Hp.c2.y), h2 = Vector3(Hp.c0.z, Hp.c1.z, Hp.c2.z)
            var HP = (Vector6(), Vector6(), Vector6())
            for j in 0..<6 {
                let col = Vector3(P[0, j], P[1, j], P[2, j])
                HP.0[j] = dot(h0, col); HP.1[j] = dot(h1, col); HP.2[j] = dot(h2, col)
            }
            var M = P
            for i in 0..<6 {
                let k0 = K.0[i], k1 = K.1[i], k2 = K.2[i]
                for j in 0..<6 { M[i, j] -= k0 * HP.0[j] + k1 * HP.1[j] + k2 * HP.2[j] }
            }
            newP = M
            let rd = Vector3(R.c0.x, R.c1.y, R.c2.z)
            for i in 0..<6 {
                let mi = Vector3(M[i, 0], M[i, 1], M[i, 2])
                let a0 = dot(mi, h0), a1 = dot(mi, h1), a2 = dot(mi, h2)
                let b0 = rd.x * K.0[i], b1 = rd.y * K.1[i], b2 = rd.z * K.2[i]
                let c0 = b0 - a0, c1 = b1 - a1, c2 = b2 - a2
                for j in 0..<6 { newP[i, j] += c0 * K.0[j] + c1 * K.1[j] + c2 * K.2[j] }
            }
        } else {
            newP = P
            for i in 0..<6 {
                let ski = inn.S * Vector3(K.0[i], K.1[i], K.2[i])
                for j in 0..<6 { newP[i, j] -= ski.x * K.0[j] + ski.y * K.1[j] + ski.z * K.2[j] }
            }
        }
        newP.symmetrize()
        P = newP
    }
}

/// A track's filter state: the combined estimate and, for an IMM, each model's estimate and
/// probability (up to four models).
public struct FilterState: Sendable {
    // In this order: what every filter reads (x, P, and an estimated turn's lanes) lies together
    // in memory, ahead of the IMM's per-mode states that a single filter never touches.
    public var time: Double
    public var x: Vector6
    public var P: Matrix6
    /// The estimated turn rate's part of the state, for a bank of one `estimatedTurn` model
    /// (zero otherwise): lanes 0–5 its covariance with x, lane 6 its variance, lane 7 the rate
    /// (rad/s, positive to the left). x, P are the 7-D state's position-velocity marginal, so
    /// whatever reads them needs no change.
    public var turn: SIMD8<Double>
    public var modeCount: Int
    public var mu: SIMD4<Double>
    public var mx: InlineArray<4, Vector6>
    public var mP: InlineArray<4, Matrix6>

    public init(time: Double, x: Vector6, P: Matrix6, models: Int) {
        self.time = time; self.x = x; self.P = P
        modeCount = models
        mx = InlineArray(repeating: x)
        mP = InlineArray(repeating: P)
        mu = SIMD4(repeating: 0)
        turn = SIMD8(repeating: 0)
        for i in 0..<models { mu[i] = 1 / Double(models) }
    }

    /// The estimated turn rate (rad/s) and its standard deviation; zero for other banks.
    public var turnRate: (rate: Double, sigma: Double) { (turn[7], turn[6].squareRoot()) }

    /// Moment-matched combination of the modes into x, P.
    @inlinable public mutating func combine() {
        guard modeCount > 1 else { return }
        let n = modeCount, w = mu
        withStorage { x, P, mx, mP in FilterKernel.combine(n: n, mu: w, mx: mx, mP: mP, x: x, P: P) }
    }
}

/// A motion model's figures alone, a plain value (the filter bank's loops read these).
@usableFromInline
struct ModeFigures: Sendable {
    @usableFromInline var kind: MotionModel.Kind
    @usableFromInline var q: Double
    @usableFromInline var turnRate: Double
    @usableFromInline var sojourn: Double
    @usableFromInline var turnNoise: Double = 0
    @usableFromInline init(kind: MotionModel.Kind, q: Double, turnRate: Double, sojourn: Double) {
        self.kind = kind; self.q = q; self.turnRate = turnRate; self.sojourn = sojourn
    }
    @usableFromInline init(_ m: MotionModel) {
        self.init(kind: m.kind, q: m.q, turnRate: m.turnRate, sojourn: m.sojourn)
        turnNoise = m.turnNoise
    }
}

/// The interacting multiple model estimator (Blom & Bar-Shalom 1988) over a bank of motion
/// models, or a single-model Kalman filter when the bank has one model.
public struct ModelBank: Sendable {
    public let models: [MotionModel]
    public let frame: TrackingFrame
    public let filter: FilterKind

    /// Whether a model of the user's is in the bank: its modes' predictions may lie far from the
    /// others', so an update linearises the measurement about the bank's own predicted mean
    /// rather than reusing the gate's point.
    public let hasCustom: Bool
    /// The modes' figures, inline (copying a bank retains no more than `models`).
    @usableFromInline let figures: InlineArray<4, ModeFigures>
    /// Whether the bank is one `estimatedTurn` model: its states carry a turn rate (`FilterState.turn`).
    public let estimatesTurn: Bool

    /// An estimated turn always updates by the extended Kalman filter: a `.ukf` given with one
    /// (which `TrackerConfiguration.problems()` and the configuration readers refuse) is taken as
    /// `.ekf`. A bank of several models that includes one is a programming error (precondition).
    public init(models: [MotionModel], frame: TrackingFrame, filter: FilterKind) {
        precondition(!models.isEmpty && models.count <= 4, "a model bank has 1 to 4 models")
        self.models = models; self.frame = frame
        self.filter = models.count == 1 && models[0].kind == .estimatedTurn ? .ekf : filter
        hasCustom = models.contains { $0.kind == .custom }
        var f = InlineArray<4, ModeFigures>(repeating: ModeFigures(kind: .constantVelocity, q: 0, turnRate: 0, sojourn: 1))
        for (i, m) in models.enumerated() { f[i] = ModeFigures(m) }
        figures = f
        precondition(models.count == 1 || !models.contains { $0.kind == .estimatedTurn },
                     "an estimated-turn model runs alone, not in an IMM bank")
        estimatesTurn = models[0].kind == .estimatedTurn
    }

    /// A new track's state: x, P as given, every mode alike and equally likely; for an
    /// estimated turn, the rate zero with the model's spread, uncorrelated with x.
    @inlinable
    public func initialState(time: Double, x: Vector6, P: Matrix6) -> FilterState {
        var s = FilterState(time: time, x: x, P: P, models: models.count)
        if estimatesTurn { s.turn[6] = figures[0].turnRate * figures[0].turnRate }
        return s
    }

    /// IMM interaction and prediction of every mode to `t` (mode probabilities become the
    /// predicted ones), then the combined estimate. Single model: the Kalman prediction.
    ///
    /// The probability of switching from model i to model j over dt: stay with exp(−dt/τᵢ), else
    /// move to one of the others uniformly.
    ///
    /// Returns how many modes' steps by a model of the user's were not finite and fell back to
    /// constant velocity (0 for a bank of built-in models).
    @inlinable @discardableResult
    public func predict(_ s: inout FilterState, to t: Double) -> Int {
        let fallbacks = predictModes(&s, to: t)
        s.combine()
        return fallbacks
    }

    /// As `predict` but leaves the combined x, P as they were: for a prediction that an update
    /// (which combines) follows at once.
    @usableFromInline @discardableResult
    func predictModes(_ s: inout FilterState, to t: Double) -> Int {
        let dt = t - s.time
        s.time = t
        if dt == 0 { return 0 }
        let frame = self.frame
        if s.modeCount == 1 {
            let model = figures[0]
            if model.kind == .custom {
                let custom = models[0].transition
                return s.withStorage { x, P, _, _ in FilterKernel.predictUser(custom, q: model.q, x: x, P: P, dt: dt, frame: frame) } ? 0 : 1
            }
            if model.kind == .estimatedTurn {
                s.withTurnStorage { x, P, turn in
                    FilterKernel.predictEstimatedTurn(x: x, P: P, turn: turn, q: model.q, turnNoise: model.turnNoise, dt: dt, frame: frame)
                }
                return 0
            }
            s.withStorage { x, P, _, _ in FilterKernel.predictBuiltIn(model, x: x, P: P, dt: dt, frame: frame) }
            return 0
        }
        let n = s.modeCount
        let mu = s.mu
        var stay = SIMD4<Double>(repeating: 1)
        for i in 0..<n {
            // Models with the same sojourn (the two turns of a bank, usually) share one exponential.
            stay[i] = i > 0 && figures[i].sojourn == figures[i - 1].sojourn ? stay[i - 1] : Foundation.exp(-abs(dt) / figures[i].sojourn)
        }
        let other = 1 / Double(n - 1)
        // pi[i][j] as columns: column j holds P(i → j) for every i.
        var pi = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
        var cbar = SIMD4<Double>(repeating: 0)
        for j in 0..<n {
            var col = SIMD4<Double>()
            for i in 0..<n { col[i] = i == j ? stay[i] : (1 - stay[i]) * other }
            switch j { case 0: pi.0 = col; case 1: pi.1 = col; case 2: pi.2 = col; default: pi.3 = col }
            cbar[j] = (col * mu).sum()
        }
        let fallbacks = withUnsafeTemporaryAllocation(of: Double.self, capacity: 16) { buf -> Int in
            // Mixing weights W[j][i] = P(i → j) μᵢ / c̄ⱼ, then every mode mixed in place and predicted.
            let W = buf.baseAddress!
            for j in 0..<n {
                let col: SIMD4<Double>
                switch j { case 0: col = pi.0; case 1: col = pi.1; case 2: col = pi.2; default: col = pi.3 }
                if cbar[j] > 0 {
                    let wj = col * mu / cbar[j]
                    for i in 0..<n { W[4 * j + i] = wj[i] }
                } else {
                    for i in 0..<n { W[4 * j + i] = i == j ? 1 : 0 }
                }
            }
            var lastTurn: FilterKernel.FlatTurn? = nil
            return s.withStorage { _, _, mx, mP -> Int in
                switch n {
                case 2: FilterKernel.mixModes(n: 2, W: W, mx: mx, mP: mP)
                case 3: FilterKernel.mixModes(n: 3, W: W, mx: mx, mP: mP)
                default: FilterKernel.mixModes(n: n, W: W, mx: mx, mP: mP)
                }
                for j in 0..<n {
                    let m = figures[j]
                    if frame == .flat && m.kind == .coordinatedTurn {
                        // Turns at ±ω share their sine and cosine.
                        let f: FilterKernel.FlatTurn
                        if let l = lastTurn, l.rate == m.turnRate { f = l }
                        else if let l = lastTurn, l.rate == -m.turnRate { f = l.mirrored }
                        else { f = FilterKernel.FlatTurn(rate: m.turnRate, dt: dt) }
                        lastTurn = f
                        let (q11, q12, q22) = FilterKernel.noise(q: m.q, dt: dt)
                        FilterKernel.predictFlatTurn(f, x: mx + 6 * j, P: mP + 36 * j, q11: q11, q12: q12, q22: q22)
                    } else if m.kind != .custom {
                        FilterKernel.predictBuiltIn(m, x: mx + 6 * j, P: mP + 36 * j, dt: dt, frame: frame)
                    }
                }
                // The user's models apart, so that a bank of built-ins runs the loop above alone.
                guard hasCustom else { return 0 }
                var failed = 0
                for j in 0..<n where figures[j].kind == .custom {
                    if !FilterKernel.predictUser(models[j].transition, q: figures[j].q, x: mx + 6 * j, P: mP + 36 * j, dt: dt, frame: frame) {
                        failed += 1
                    }
                }
                return failed
            }
        }
        let total = cbar.sum()
        if total > 0 { s.mu = cbar / total }
        return fallbacks
    }

    /// Predicted mean position-velocity at t (no covariance; for reporting).
    @inlinable
    public func predictedMean(_ s: FilterState, to t: Double) -> Vector6 {
        let dt = t - s.time
        if estimatesTurn { return FilterKernel.turnMean(s.x, rate: s.turn[7], dt: dt, frame: frame) }
        if s.modeCount == 1 { return models[0].predictMean(s.x, dt: dt, frame: frame) }
        var m = Vector6()
        for j in 0..<s.modeCount {
            let xj = models[j].predictMean(s.mx[j], dt: dt, frame: frame)
            for k in 0..<6 { m[k] += s.mu[j] * xj[k] }
        }
        return m
    }

    /// Measurement update of a predicted state (all modes), returning the log-likelihood of the
    /// measurement (ln of the mode-weighted density), or nil when no mode could take it.
    ///
    /// `about`: where the measurement was already linearised (by the gate), reused by an EKF
    /// update: each mode's innovation is then z − h(p̄) − Hp (pⱼ − p̄), first order about p̄.
    ///
    /// `rangeRate`: a radial speed measured with z (a pulse-Doppler radar's plot), fused after it
    /// in every mode by `FilterKernel.updateRangeRate`; each mode's likelihood is the product of
    /// the two, in every mode or none.
    @inlinable @discardableResult
    public func update(_ s: inout FilterState, source: MeasurementSource, z: Vector3,
                       about lin: MeasurementLinearisation? = nil, rangeRate rr: RangeRateMeasurement? = nil) -> Double? {
        let filter = self.filter
        let linear = filter == .ekf || source.kind == .position2D
        let lin = hasCustom ? nil : lin
        if s.modeCount == 1 {
            // An estimated turn's rate is updated with x, P (lin is a linearisation, so `linear` holds).
            let turns = estimatesTurn && linear
            let l: Double? = s.withTurnStorage { x, P, turn in
                let turn = turns ? turn : nil
                if linear, let lin {
                    let y0 = MeasurementModel.innovation(kind: source.kind, z: z, h: lin.h)
                    let y = y0 - lin.Hp * (Vector3(x[0], x[1], x[2]) - lin.position)
                    return FilterKernel.updateLinear(x: x, P: P, source: source, y: y, Hp: lin.Hp, turn: turn)
                }
                if turns { return FilterKernel.updateEKF(x: x, P: P, source: source, z: z, turn: turn) }
                return FilterKernel.update(x: x, P: P, source: source, z: z, filter: filter)
            }
            guard let l, let rr else { return l }
            return l + (s.withTurnStorage { x, P, turn in
                FilterKernel.updateRangeRate(x: x, P: P, origin: rr.origin, rate: rr.rate, variance: rr.variance, turn: turns ? turn : nil)
            } ?? 0)
        }
        let n = s.modeCount
        let mu = s.mu
        let logL = s.withStorage { _, _, mx, mP in
            var logL = SIMD4<Double>(repeating: -.infinity)
            if linear {
                // One linearisation for all modes, about the predicted mixture mean p̄ or the
                // gate's point (the modes' predictions lie metres apart, so the second-order terms
                // are negligible): yⱼ = z − h(p̄) − Hp (pⱼ − p̄), saving every mode's trigonometry.
                let pbar: Vector3, h: Vector3, Hp: Matrix3
                if let lin {
                    (pbar, h, Hp) = (lin.position, lin.h, lin.Hp)
                } else {
                    var p = Vector3.zero
                    for j in 0..<n { p = p + Vector3(mx[6 * j], mx[6 * j + 1], mx[6 * j + 2]) * mu[j] }
                    pbar = p
                    (h, Hp) = MeasurementModel.predict(source, position: p)
                }
                let y0 = MeasurementModel.innovation(kind: source.kind, z: z, h: h)
                for j in 0..<n {
                    let y = y0 - Hp * (Vector3(mx[6 * j], mx[6 * j + 1], mx[6 * j + 2]) - pbar)
                    if let l = FilterKernel.updateLinear(x: mx + 6 * j, P: mP + 36 * j, source: source, y: y, Hp: Hp) { logL[j] = l }
                }
            } else {
                for j in 0..<n {
                    if let l = FilterKernel.update(x: mx + 6 * j, P: mP + 36 * j, source: source, z: z, filter: filter) { logL[j] = l }
                }
            }
            // The radial speed goes into every mode or none: a mode left without its factor would
            // be weighed against the others wrongly. None when any mode's position is the radar's
            // (no line of sight); a mode whose update fails all the same (a non-finite covariance)
            // is given the least of the others' factors.
            if let rr, (0..<n).allSatisfy({ j in
                logL[j] == -.infinity || Vector3(mx[6 * j] - rr.origin.x, mx[6 * j + 1] - rr.origin.y, mx[6 * j + 2] - rr.origin.z) != .zero
            }) {
                var least = Double.infinity
                var failed = SIMD4<Double>(repeating: 0)
                for j in 0..<n where logL[j] > -.infinity {
                    if let l = FilterKernel.updateRangeRate(x: mx + 6 * j, P: mP + 36 * j, origin: rr.origin, rate: rr.rate,
                                                            variance: rr.variance) {
                        logL[j] += l
                        least = min(least, l)
                    } else {
                        failed[j] = 1
                    }
                }
                if least.isFinite { for j in 0..<n where failed[j] != 0 { logL[j] += least } }
            }
            return logL
        }
        var any = false
        for j in 0..<n where logL[j] > -.infinity { any = true }
        guard any else {
            s.combine()
            return nil
        }
        return reweight(&s, logL)
    }

    /// Mode probabilities from per-mode log-likelihoods; returns ln Σ μⱼ Λⱼ and recombines.
    @inlinable
    public func reweight(_ s: inout FilterState, _ logL: SIMD4<Double>) -> Double {
        var mx = -Double.infinity
        for j in 0..<s.modeCount { mx = max(mx, logL[j]) }
        var w = SIMD4<Double>(repeating: 0)
        for j in 0..<s.modeCount where logL[j] > -.infinity { w[j] = s.mu[j] * (logL[j] == mx ? 1 : Foundation.exp(logL[j] - mx)) }
        let total = w.sum()
        if total > 0 {
            // Keep every mode alive: a floor stops a probability reaching exactly zero.
            for j in 0..<s.modeCount { w[j] = max(w[j] / total, 1e-6) }
            s.mu = w / w.sum()
        }
        s.combine()
        return mx + Foundation.log(max(total, 1e-300))
    }
}
