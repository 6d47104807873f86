import CanopyCore
import Foundation

/// The filter bank's inner loops on raw storage: a state is 6 doubles (position, velocity), a
/// covariance 36 doubles row-major. Working in place through pointers keeps the 288-byte
/// matrices from being copied on every step (the value-typed versions in `MotionModel` and
/// `MeasurementUpdate` stay as the readable reference; tests hold the two to the same results).
@usableFromInline
enum FilterKernel {
    @inline(__always) @usableFromInline
    static func block(_ P: UnsafePointer<Double>, _ r: Int, _ c: Int) -> Matrix3 {
        Matrix3(columns: (Vector3(P[r * 6 + c], P[(r + 1) * 6 + c], P[(r + 2) * 6 + c]),
                          Vector3(P[r * 6 + c + 1], P[(r + 1) * 6 + c + 1], P[(r + 2) * 6 + c + 1]),
                          Vector3(P[r * 6 + c + 2], P[(r + 1) * 6 + c + 2], P[(r + 2) * 6 + c + 2])))
    }

    /// Predicts x, P over dt by one motion model (dt < 0 runs the model backwards with the noise
    /// of |dt|). Every model is F = [I A; 0 R] in the position-velocity blocks.
    ///
    /// Returns false when a model of the user's gave a step that is not finite: that step is then
    /// the constant-velocity one with the model's `q`.
    @usableFromInline @discardableResult
    static func predict(_ model: MotionModel, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                        dt: Double, frame: TrackingFrame) -> Bool {
        if model.kind == .custom { return predictUser(model.transition, q: model.q, x: x, P: P, dt: dt, frame: frame) }
        predictBuiltIn(ModeFigures(model), x: x, P: P, dt: dt, frame: frame)
        return true
    }

    /// The prediction by a model of the user's, or when it is missing or its step is not finite,
    /// the constant-velocity one with noise q; false then.
    @usableFromInline
    static func predictUser(_ model: (any TransitionModel)?, q: Double, x: UnsafeMutablePointer<Double>,
                            P: UnsafeMutablePointer<Double>, dt: Double, frame: TrackingFrame) -> Bool {
        if dt == 0 { return true }
        if let model, predictCustom(model, x: x, P: P, dt: dt, frame: frame) { return true }
        predictBuiltIn(ModeFigures(kind: .constantVelocity, q: q, turnRate: 0, sojourn: 1), x: x, P: P, dt: dt, frame: frame)
        return false
    }

    /// `predict` of a built-in model by its figures (the filter bank's loop reads plain figures:
    /// a `MotionModel` holds an existential, costly to copy). A custom kind is left unpredicted.
    @usableFromInline
    static func predictBuiltIn(_ model: ModeFigures, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                               dt: Double, frame: TrackingFrame) {
        if dt == 0 { return }
        let (q11, q12, q22) = noise(q: model.q, dt: dt)
        switch model.kind {
        case .custom:
            return
        case .constantVelocity, .ballistic, .estimatedTurn:
            // (An estimated turn's rate is not in a 6-D state: here it goes straight, as
            // `MotionModel.predict` has it; `predictEstimatedTurn` predicts it with its rate.)
            if model.kind == .ballistic {
                let g = frame.gravity(at: Vector3(x[0], x[1], x[2]))
                for i in 0..<3 {
                    x[i] += dt * x[i + 3] + 0.5 * dt * dt * g[i]
                    x[i + 3] += dt * g[i]
                }
            } else {
                for i in 0..<3 { x[i] += dt * x[i + 3] }
            }
            // Each (i, j) reads and writes only its own four entries: safe in place.
            let dt2 = dt * dt
            for i in 0..<3 {
                for j in 0..<3 {
                    let pp = P[i * 6 + j], pv = P[i * 6 + j + 3], vp = P[(i + 3) * 6 + j], vv = P[(i + 3) * 6 + j + 3]
                    let d = i == j ? 1.0 : 0.0
                    P[i * 6 + j] = pp + dt * (pv + vp) + dt2 * vv + q11 * d
                    P[i * 6 + j + 3] = pv + dt * vv + q12 * d
                    P[(i + 3) * 6 + j] = vp + dt * vv + q12 * d
                    P[(i + 3) * 6 + j + 3] = vv + q22 * d
                }
            }
            symmetrize(P)
        case .coordinatedTurn where frame == .flat:
            predictFlatTurn(FlatTurn(rate: model.turnRate, dt: dt), x: x, P: P, q11: q11, q12: q12, q22: q22)
        case .coordinatedTurn:
            let p = Vector3(x[0], x[1], x[2])
            let (A, R) = CoordinatedTurn.matrices(axis: frame.up(at: p), rate: model.turnRate, dt: dt)
            predictTurn(A: A, R: R, x: x, P: P, q11: q11, q12: q12, q22: q22)
        }
    }

    /// x, P over a turn F = [I A; 0 R] (position, velocity blocks), plus white-noise acceleration.
    @usableFromInline
    static func predictTurn(A: Matrix3, R: Matrix3, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                            q11: Double, q12: Double, q22: Double) {
            let p = Vector3(x[0], x[1], x[2]), v = Vector3(x[3], x[4], x[5])
            let np = p + A * v, nv = R * v
            x[0] = np.x; x[1] = np.y; x[2] = np.z; x[3] = nv.x; x[4] = nv.y; x[5] = nv.z
            // F = [I A; 0 R]: FP = F P by rows, then (F P) Fᵀ on the upper triangle, mirrored.
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 54) { buf in
                let FP = buf.baseAddress!, a = FP + 36, r = FP + 45
                a[0] = A.c0.x; a[1] = A.c1.x; a[2] = A.c2.x; a[3] = A.c0.y; a[4] = A.c1.y; a[5] = A.c2.y
                a[6] = A.c0.z; a[7] = A.c1.z; a[8] = A.c2.z
                r[0] = R.c0.x; r[1] = R.c1.x; r[2] = R.c2.x; r[3] = R.c0.y; r[4] = R.c1.y; r[5] = R.c2.y
                r[6] = R.c0.z; r[7] = R.c1.z; r[8] = R.c2.z
                for i in 0..<3 {
                    let a0 = a[i * 3], a1 = a[i * 3 + 1], a2 = a[i * 3 + 2]
                    let r0 = r[i * 3], r1 = r[i * 3 + 1], r2 = r[i * 3 + 2]
                    for c in 0..<6 {
                        let v0 = P[18 + c], v1 = P[24 + c], v2 = P[30 + c]
                        FP[i * 6 + c] = P[i * 6 + c] + a0 * v0 + a1 * v1 + a2 * v2
                        FP[(i + 3) * 6 + c] = r0 * v0 + r1 * v1 + r2 * v2
                    }
                }
                // Whole rows: (F P Fᵀ)[i, j] = FP[i, j] + FP[i, 3...5]·A[j, :] (j < 3), FP[i, 3...5]·R[j−3, :].
                for i in 0..<6 {
                    let f3 = FP[i * 6 + 3], f4 = FP[i * 6 + 4], f5 = FP[i * 6 + 5]
                    for j in 0..<3 {
                        P[i * 6 + j] = FP[i * 6 + j] + f3 * a[j * 3] + f4 * a[j * 3 + 1] + f5 * a[j * 3 + 2]
                        P[i * 6 + j + 3] = f3 * r[j * 3] + f4 * r[j * 3 + 1] + f5 * r[j * 3 + 2]
                    }
                }
                symmetrize(P)
            }
            addNoise(P, q11, q12, q22)
    }

    /// White-noise acceleration over dt (|dt| for the variances; the cross term keeps dt's sign).
    @inline(__always) @usableFromInline
    static func noise(q: Double, dt: Double) -> (Double, Double, Double) {
        let adt = abs(dt)
        return (q * adt * adt * adt / 3, q * adt * adt / 2 * (dt < 0 ? -1 : 1), q * adt)
    }

    /// A turn about +z over dt in a flat frame: F = [I A; 0 R] with R the rotation by θ = ω dt
    /// in the horizontal plane and A = ∫R: A = [[a, −b, 0], [b, a, 0], [0, 0, dt]],
    /// R = [[c, −s, 0], [s, c, 0], [0, 0, 1]].
    @usableFromInline
    struct FlatTurn {
        @usableFromInline var a: Double, b: Double, c: Double, s: Double, dt: Double, rate: Double
        @inlinable init(rate w: Double, dt: Double) {
            rate = w
            let th = w * dt
            self.dt = dt
            if abs(th) <= 0.5 {
                // Taylor series in θ² to θ¹⁸ (the first term left out is below 2⁻⁵³ of the sum
                // for |θ| ≤ ½): cheaper than the library's sin and cos, and 1 − cos θ without
                // cancellation.
                let t2 = th * th
                // Odd and even parts separately: sin θ / θ = Σ (−θ²)ᵏ/(2k+1)!, (1 − cos θ)/θ² = Σ (−θ²)ᵏ/(2k+2)!.
                var so = 1 / 355687428096000.0, ce = 1 / 6402373705728000.0
                so = 1 / 1307674368000.0 - t2 * so; ce = 1 / 20922789888000.0 - t2 * ce
                so = 1 / 6227020800.0 - t2 * so; ce = 1 / 87178291200.0 - t2 * ce
                so = 1 / 39916800.0 - t2 * so; ce = 1 / 479001600.0 - t2 * ce
                so = 1 / 362880.0 - t2 * so; ce = 1 / 3628800.0 - t2 * ce
                so = 1 / 5040.0 - t2 * so; ce = 1 / 40320.0 - t2 * ce
                so = 1 / 120.0 - t2 * so; ce = 1 / 720.0 - t2 * ce
                so = 1 / 6.0 - t2 * so; ce = 1 / 24.0 - t2 * ce
                so = 1 - t2 * so; ce = 0.5 - t2 * ce
                // sin θ / ω = dt · sin θ / θ; (1 − cos θ) / ω = ω dt² · (1 − cos θ) / θ².
                s = th * so; c = 1 - t2 * ce
                a = dt * so; b = w * dt * dt * ce
            } else {
                s = sin(th); c = cos(th)
                a = s / w; b = (1 - c) / w
            }
        }
        /// The same turn at the opposite rate (sin, b odd in ω; cos, a even).
        @inlinable var mirrored: FlatTurn { var m = self; m.s = -s; m.b = -b; m.rate = -rate; return m }
    }

    /// `predict` of a coordinated turn in a flat frame, exploiting F's sparsity: each row of F
    /// has at most three non-zeros, so F P Fᵀ is row operations on P, then the same operations
    /// on the columns of the result.
    @usableFromInline
    static func predictFlatTurn(_ f: FlatTurn, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                                q11: Double, q12: Double, q22: Double) {
        let a = f.a, b = f.b, c = f.c, s = f.s, dt = f.dt
        let vx = x[3], vy = x[4]
        x[0] += a * vx - b * vy; x[1] += b * vx + a * vy; x[2] += dt * x[5]
        x[3] = c * vx - s * vy; x[4] = s * vx + c * vy
        @inline(__always) func lo(_ r: Int) -> SIMD4<Double> { UnsafeRawPointer(P + 6 * r).loadUnaligned(as: SIMD4<Double>.self) }
        @inline(__always) func hi(_ r: Int) -> SIMD2<Double> { UnsafeRawPointer(P + 6 * r + 4).loadUnaligned(as: SIMD2<Double>.self) }
        // M = F P, row by row.
        let l0 = lo(0), l1 = lo(1), l2 = lo(2), l3 = lo(3), l4 = lo(4), l5 = lo(5)
        let h0 = hi(0), h1 = hi(1), h2 = hi(2), h3 = hi(3), h4 = hi(4), h5 = hi(5)
        let ml = (l0 + a * l3 - b * l4, l1 + b * l3 + a * l4, l2 + dt * l5, c * l3 - s * l4, s * l3 + c * l4, l5)
        let mh = (h0 + a * h3 - b * h4, h1 + b * h3 + a * h4, h2 + dt * h5, c * h3 - s * h4, s * h3 + c * h4, h5)
        // P' = M Fᵀ: the same operations on the columns of each row of M.
        @inline(__always) func row(_ r: Int, _ l: SIMD4<Double>, _ h: SIMD2<Double>) {
            let m0 = l[0], m1 = l[1], m2 = l[2], m3 = l[3], m4 = h[0], m5 = h[1]
            P[6 * r] = m0 + a * m3 - b * m4
            P[6 * r + 1] = m1 + b * m3 + a * m4
            P[6 * r + 2] = m2 + dt * m5
            P[6 * r + 3] = c * m3 - s * m4
            P[6 * r + 4] = s * m3 + c * m4
            P[6 * r + 5] = m5
        }
        row(0, ml.0, mh.0); row(1, ml.1, mh.1); row(2, ml.2, mh.2)
        row(3, ml.3, mh.3); row(4, ml.4, mh.4); row(5, ml.5, mh.5)
        symmetrize(P)
        addNoise(P, q11, q12, q22)
    }

    /// Adds white-noise acceleration (per axis: q11 on position, q12 across, q22 on velocity).
    @inline(__always) @usableFromInline
    static func addNoise(_ P: UnsafeMutablePointer<Double>, _ q11: Double, _ q12: Double, _ q22: Double) {
        for i in 0..<3 {
            P[i * 7] += q11
            P[i * 6 + i + 3] += q12
            P[(i + 3) * 6 + i] += q12
            P[(i + 3) * 7] += q22
        }
    }

    @inline(__always) @usableFromInline
    static func symmetrize(_ P: UnsafeMutablePointer<Double>) {
        for i in 0..<6 {
            for j in (i + 1)..<6 {
                let s = 0.5 * (P[i * 6 + j] + P[j * 6 + i])
                P[i * 6 + j] = s
                P[j * 6 + i] = s
            }
        }
    }

    /// Extended Kalman update in place for a measurement of position (H = [Hp 0], R diagonal),
    /// covariance by the Joseph form, symmetrised. Returns ln N(ν; 0, S), or nil when S is not
    /// positive definite (x, P untouched).
    ///
    /// With M = P − K H P, the Joseph form P' = M − M Hᵀ Kᵀ + K R Kᵀ symmetrised is
    /// P − ½ Σₖ (Kₖ Vₖᵀ + Vₖ Kₖᵀ), Vₖ = 2 (P Hᵀ)ₖ − Rₖₖ Kₖ − Σₘ Kₘ (H P Hᵀ)ₘₖ (columns k of
    /// the 6×3 matrices), which for the optimal gain is P − K S Kᵀ.
    @usableFromInline
    static func updateEKF(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, source s: MeasurementSource,
                          z: Vector3, turn: UnsafeMutablePointer<Double>? = nil) -> Double? {
        let (h, Hp) = MeasurementModel.predict(s, position: Vector3(x[0], x[1], x[2]))
        let y = MeasurementModel.innovation(kind: s.kind, z: z, h: h)
        return updateLinear(x: x, P: P, source: s, y: y, Hp: Hp, turn: turn)
    }

    /// The update of `updateEKF` given the innovation y and the Jacobian Hp at the linearisation point.
    ///
    /// `turn`: an estimated turn rate's part of the state (`FilterState.turn`), updated with x, P
    /// as the 7-D state's seventh row: the measurement does not depend on the rate, so with
    /// c = cov(x, ω), b = Hp c_pos and A = P Hᵀ, ω += bᵀ S⁻¹ y, c −= A S⁻¹ b, var ω −= bᵀ S⁻¹ b.
    @usableFromInline
    static func updateLinear(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, source s: MeasurementSource,
                             y: Vector3, Hp: Matrix3, turn: UnsafeMutablePointer<Double>? = nil) -> Double? {
        let rd = s.kind == .rangeAzimuthElevation ? s.sigma * s.sigma
            : (s.kind == .bearing ? Vector3(s.sigma.x * s.sigma.x, 1, 1) : Vector3(s.sigma.x * s.sigma.x, s.sigma.y * s.sigma.y, 1))
        // Columns of P Hᵀ, K and V as 6-vectors (4 + 2 lanes); P's rows double as its columns.
        @inline(__always) func lo(_ r: Int) -> SIMD4<Double> { UnsafeRawPointer(P + 6 * r).loadUnaligned(as: SIMD4<Double>.self) }
        @inline(__always) func hi(_ r: Int) -> SIMD2<Double> { UnsafeRawPointer(P + 6 * r + 4).loadUnaligned(as: SIMD2<Double>.self) }
        let H = Hp.transposed  // H.cₖ = row k of Hp
        let p0l = lo(0), p1l = lo(1), p2l = lo(2), p0h = hi(0), p1h = hi(1), p2h = hi(2)
        @inline(__always) func phCol(_ h: Vector3) -> (SIMD4<Double>, SIMD2<Double>) {
            (h.x * p0l + h.y * p1l + h.z * p2l, h.x * p0h + h.y * p1h + h.z * p2h)
        }
        let (a0l, a0h) = phCol(H.c0), (a1l, a1h) = phCol(H.c1), (a2l, a2h) = phCol(H.c2)
        // H P Hᵀ (symmetric) from the position rows of P Hᵀ, and S = H P Hᵀ + R.
        @inline(__always) func g(_ h: Vector3, _ al: SIMD4<Double>) -> Double { h.x * al[0] + h.y * al[1] + h.z * al[2] }
        let g00 = g(H.c0, a0l), g01 = g(H.c0, a1l), g02 = g(H.c0, a2l)
        let g11 = g(H.c1, a1l), g12 = g(H.c1, a2l), g22 = g(H.c2, a2l)
        let s00 = g00 + rd.x, s11 = g11 + rd.y, s22 = g22 + rd.z
        let c00 = s11 * s22 - g12 * g12, c01 = g02 * g12 - g01 * s22, c02 = g01 * g12 - g02 * s11
        let det = s00 * c00 + g01 * c01 + g02 * c02
        guard det > 0, det.isFinite else { return nil }
        let id = 1 / det
        let i00 = c00 * id, i01 = c01 * id, i02 = c02 * id
        let i11 = (s00 * s22 - g02 * g02) * id, i12 = (g01 * g02 - s00 * g12) * id, i22 = (s00 * s11 - g01 * g01) * id
        let yi = Vector3(i00 * y.x + i01 * y.y + i02 * y.z, i01 * y.x + i11 * y.y + i12 * y.z, i02 * y.x + i12 * y.y + i22 * y.z)
        let d2 = y.x * yi.x + y.y * yi.y + y.z * yi.z
        if let t = turn {
            let cp = Vector3(t[0], t[1], t[2])
            let b = Vector3(dot(H.c0, cp), dot(H.c1, cp), dot(H.c2, cp))
            let sb = Vector3(i00 * b.x + i01 * b.y + i02 * b.z, i01 * b.x + i11 * b.y + i12 * b.z, i02 * b.x + i12 * b.y + i22 * b.z)
            t[7] += sb.x * y.x + sb.y * y.y + sb.z * y.z
            let dl = sb.x * a0l + sb.y * a1l + sb.z * a2l, dh = sb.x * a0h + sb.y * a1h + sb.z * a2h
            t[0] -= dl[0]; t[1] -= dl[1]; t[2] -= dl[2]; t[3] -= dl[3]; t[4] -= dh[0]; t[5] -= dh[1]
            t[6] = max(t[6] - (b.x * sb.x + b.y * sb.y + b.z * sb.z), minimumTurnVariance)
        }
        // x += P Hᵀ S⁻¹ y.
        let xl = UnsafeRawPointer(x).loadUnaligned(as: SIMD4<Double>.self) + yi.x * a0l + yi.y * a1l + yi.z * a2l
        let xh = UnsafeRawPointer(x + 4).loadUnaligned(as: SIMD2<Double>.self) + yi.x * a0h + yi.y * a1h + yi.z * a2h
        UnsafeMutableRawPointer(x).storeBytes(of: xl, as: SIMD4<Double>.self)
        UnsafeMutableRawPointer(x + 4).storeBytes(of: xh, as: SIMD2<Double>.self)
        // K = P Hᵀ S⁻¹ by columns.
        let k0l = i00 * a0l + i01 * a1l + i02 * a2l, k0h = i00 * a0h + i01 * a1h + i02 * a2h
        let k1l = i01 * a0l + i11 * a1l + i12 * a2l, k1h = i01 * a0h + i11 * a1h + i12 * a2h
        let k2l = i02 * a0l + i12 * a1l + i22 * a2l, k2h = i02 * a0h + i12 * a1h + i22 * a2h
        // V = 2 P Hᵀ − K R − K (H P Hᵀ) by columns.
        let v0l = 2 * a0l - rd.x * k0l - (g00 * k0l + g01 * k1l + g02 * k2l)
        let v0h = 2 * a0h - rd.x * k0h - (g00 * k0h + g01 * k1h + g02 * k2h)
        let v1l = 2 * a1l - rd.y * k1l - (g01 * k0l + g11 * k1l + g12 * k2l)
        let v1h = 2 * a1h - rd.y * k1h - (g01 * k0h + g11 * k1h + g12 * k2h)
        let v2l = 2 * a2l - rd.z * k2l - (g02 * k0l + g12 * k1l + g22 * k2l)
        let v2h = 2 * a2h - rd.z * k2h - (g02 * k0h + g12 * k1h + g22 * k2h)
        // Row i of P −= ½ Σₖ (Kₖ[i] Vₖ + Vₖ[i] Kₖ): symmetric term by term, so exactly symmetric.
        @inline(__always) func row(_ i: Int, _ k0: Double, _ k1: Double, _ k2: Double, _ v0: Double, _ v1: Double, _ v2: Double) {
            let rl = lo(i) - 0.5 * ((k0 * v0l + v0 * k0l) + (k1 * v1l + v1 * k1l) + (k2 * v2l + v2 * k2l))
            let rh = hi(i) - 0.5 * ((k0 * v0h + v0 * k0h) + (k1 * v1h + v1 * k1h) + (k2 * v2h + v2 * k2h))
            UnsafeMutableRawPointer(P + 6 * i).storeBytes(of: rl, as: SIMD4<Double>.self)
            UnsafeMutableRawPointer(P + 6 * i + 4).storeBytes(of: rh, as: SIMD2<Double>.self)
        }
        for i in 0..<4 { row(i, k0l[i], k1l[i], k2l[i], v0l[i], v1l[i], v2l[i]) }
        for i in 0..<2 { row(4 + i, k0h[i], k1h[i], k2h[i], v0h[i], v1h[i], v2h[i]) }
        return -0.5 * (d2 + Foundation.log(det) + Double(MeasurementModel.dimension(s.kind)) * Foundation.log(2 * .pi))
    }

    /// Extended Kalman update in place by a radial speed: h(x) = u·v, u = (p − o)/|p − o| the line
    /// of sight from the radar at o, measured as `rate` with variance `variance`. H = [(v − h u)ᵀ/r, uᵀ].
    /// The covariance by the Joseph form P' = (I − KH) P (I − KH)ᵀ + K R Kᵀ, symmetrised. Returns
    /// ln N(y; 0, S), or nil (x, P untouched) at zero range or when S is not positive.
    ///
    /// A radar's range, angles and radial speed have independent noise, so processing the radial
    /// speed after the position update, as a scalar, is the joint update (exactly so when h is
    /// linear); its log-likelihood adds to the position's.
    @usableFromInline
    static func updateRangeRate(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, origin o: Vector3,
                                rate: Double, variance: Double, turn: UnsafeMutablePointer<Double>? = nil) -> Double? {
        let d = Vector3(x[0] - o.x, x[1] - o.y, x[2] - o.z)
        let r = norm(d)
        guard r > 0, r.isFinite else { return nil }
        let u = d / r
        let v = Vector3(x[3], x[4], x[5])
        let h = dot(u, v)
        let hp = (v - u * h) / r
        let H = (hp.x, hp.y, hp.z, u.x, u.y, u.z)
        @inline(__always) func Hk(_ k: Int) -> Double {
            switch k { case 0: H.0; case 1: H.1; case 2: H.2; case 3: H.3; case 4: H.4; default: H.5 }
        }
        // a = P Hᵀ, S = H a + R.
        var a = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return withUnsafeMutableBytes(of: &a) { ab in
            let a = ab.baseAddress!.assumingMemoryBound(to: Double.self)
            for i in 0..<6 {
                var s = 0.0
                for k in 0..<6 { s += P[i * 6 + k] * Hk(k) }
                a[i] = s
            }
            var ha = 0.0
            for k in 0..<6 { ha += Hk(k) * a[k] }
            let S = ha + variance
            guard S > 0, S.isFinite else { return nil }
            let y = rate - h
            let gain = y / S
            if let t = turn {
                // The seventh row, as in `updateLinear`: b = H c.
                var b = 0.0
                for k in 0..<6 { b += Hk(k) * t[k] }
                t[7] += b * gain
                for k in 0..<6 { t[k] -= a[k] * b / S }
                t[6] = max(t[6] - b * b / S, minimumTurnVariance)
            }
            for i in 0..<6 { x[i] += a[i] * gain }
            // With K = a/S and b = M Hᵀ = a − K (H a), P' = P − K aᵀ − b Kᵀ + R K Kᵀ; each (i, j)
            // and (j, i) pair averaged.
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 12) { kb in
                let K = kb.baseAddress!, b = K + 6
                for i in 0..<6 { K[i] = a[i] / S; b[i] = a[i] - K[i] * ha }
                for i in 0..<6 {
                    for j in i..<6 {
                        let pij = P[i * 6 + j] - K[i] * a[j] - b[i] * K[j] + variance * K[i] * K[j]
                        let pji = P[j * 6 + i] - K[j] * a[i] - b[j] * K[i] + variance * K[j] * K[i]
                        let m = 0.5 * (pij + pji)
                        P[i * 6 + j] = m
                        P[j * 6 + i] = m
                    }
                }
            }
            return -0.5 * (y * y / S + Foundation.log(S) + Foundation.log(2 * .pi))
        }
    }

    /// Any update through the value-typed `MeasurementUpdate` (the UKF path).
    @usableFromInline
    static func updateGeneric(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, source s: MeasurementSource,
                              z: Vector3, filter: FilterKind) -> Double? {
        var xv = Vector6(), Pv = Matrix6()
        for i in 0..<6 { xv[i] = x[i] }
        for i in 0..<36 { Pv.m[unchecked: i] = P[i] }
        guard let inn = MeasurementUpdate.innovation(x: xv, P: Pv, source: s, z: z, filter: filter) else { return nil }
        MeasurementUpdate.apply(inn, x: &xv, P: &Pv, source: s)
        for i in 0..<6 { x[i] = xv[i] }
        for i in 0..<36 { P[i] = Pv.m[unchecked: i] }
        return inn.logLikelihood(dim: MeasurementModel.dimension(s.kind))
    }

    @inline(__always) @usableFromInline
    static func update(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, source s: MeasurementSource,
                       z: Vector3, filter: FilterKind) -> Double? {
        if filter == .ekf || s.kind == .position2D { return updateEKF(x: x, P: P, source: s, z: z) }
        return updateGeneric(x: x, P: P, source: s, z: z, filter: filter)
    }

    /// Moment-matched combination of n modes (means at mx + 6j, covariances at mP + 36j).
    @usableFromInline
    static func combine(n: Int, mu: SIMD4<Double>, mx: UnsafePointer<Double>, mP: UnsafePointer<Double>,
                        x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 4) { w in
            for j in 0..<4 { w[j] = j < n ? mu[j] : 0 }
            mixture(n: n, w: UnsafePointer(w.baseAddress!), mx: mx, mP: mP, x: x, P: P)
        }
    }

    /// x = Σᵢ wᵢ xᵢ and P = Σᵢ wᵢ (Pᵢ + dᵢ dᵢᵀ), dᵢ = xᵢ − x, over n modes (means at mx + 6i,
    /// covariances at mP + 36i; weights summing to 1): the moment-matched mixture, used both
    /// for the IMM's mixing and for its output. Works on the upper triangle, then mirrors.
    @inline(__always) @usableFromInline
    static func mixture(n: Int, w: UnsafePointer<Double>, mx: UnsafePointer<Double>, mP: UnsafePointer<Double>,
                        x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>) {
        // Rows as 4 + 2 lanes; the sum of symmetric terms is symmetric, so whole rows need no mirroring.
        @inline(__always) func lo(_ p: UnsafePointer<Double>) -> SIMD4<Double> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self) }
        @inline(__always) func hi(_ p: UnsafePointer<Double>) -> SIMD2<Double> { UnsafeRawPointer(p + 4).loadUnaligned(as: SIMD2<Double>.self) }
        var mLo = SIMD4<Double>(), mHi = SIMD2<Double>()
        for i in 0..<n {
            let wi = w[i], xi = mx + 6 * i
            mLo += wi * lo(xi); mHi += wi * hi(xi)
        }
        var r0 = SIMD4<Double>(), r1 = SIMD4<Double>(), r2 = SIMD4<Double>(), r3 = SIMD4<Double>(), r4 = SIMD4<Double>(), r5 = SIMD4<Double>()
        var h0 = SIMD2<Double>(), h1 = SIMD2<Double>(), h2 = SIMD2<Double>(), h3 = SIMD2<Double>(), h4 = SIMD2<Double>(), h5 = SIMD2<Double>()
        for i in 0..<n {
            let wi = w[i]
            if wi == 0 { continue }
            let xi = mx + 6 * i, Pi = mP + 36 * i
            let dLo = lo(xi) - mLo, dHi = hi(xi) - mHi
            let e = wi * dLo, f = wi * dHi
            r0 += wi * lo(Pi) + e[0] * dLo; h0 += wi * hi(Pi) + e[0] * dHi
            r1 += wi * lo(Pi + 6) + e[1] * dLo; h1 += wi * hi(Pi + 6) + e[1] * dHi
            r2 += wi * lo(Pi + 12) + e[2] * dLo; h2 += wi * hi(Pi + 12) + e[2] * dHi
            r3 += wi * lo(Pi + 18) + e[3] * dLo; h3 += wi * hi(Pi + 18) + e[3] * dHi
            r4 += wi * lo(Pi + 24) + f[0] * dLo; h4 += wi * hi(Pi + 24) + f[0] * dHi
            r5 += wi * lo(Pi + 30) + f[1] * dLo; h5 += wi * hi(Pi + 30) + f[1] * dHi
        }
        @inline(__always) func store(_ p: UnsafeMutablePointer<Double>, _ l: SIMD4<Double>, _ h: SIMD2<Double>) {
            UnsafeMutableRawPointer(p).storeBytes(of: l, as: SIMD4<Double>.self)
            UnsafeMutableRawPointer(p + 4).storeBytes(of: h, as: SIMD2<Double>.self)
        }
        store(P, r0, h0); store(P + 6, r1, h1); store(P + 12, r2, h2)
        store(P + 18, r3, h3); store(P + 24, r4, h4); store(P + 30, r5, h5)
        store(x, mLo, mHi)
    }
}

extension FilterKernel {
    /// The IMM's interaction in place: mode j's mean and covariance become the mixture of all n
    /// modes with weights W[4j + i] (each row of W summing to 1).
    ///
    /// By second moments about mode 0's mean r: with dᵢ = xᵢ − r, Mᵢ = Pᵢ + dᵢ dᵢᵀ and
    /// eⱼ = Σᵢ Wⱼᵢ dᵢ, the mixture is x⁰ⱼ = r + eⱼ, P⁰ⱼ = Σᵢ Wⱼᵢ Mᵢ − eⱼ eⱼᵀ, which is
    /// Σᵢ Wⱼᵢ (Pᵢ + (xᵢ − x⁰ⱼ)(xᵢ − x⁰ⱼ)ᵀ) rearranged. Row k of every output needs only row k of
    /// every input, so the covariances are overwritten row by row with no copy of the old modes;
    /// and the n² mixtures cost n² row combinations instead of n² rank-one corrections on top.
    /// Each term is symmetric operation by operation, so the results are exactly symmetric.
    @inline(__always) @usableFromInline
    static func mixModes(n: Int, W: UnsafePointer<Double>, mx: UnsafeMutablePointer<Double>, mP: UnsafeMutablePointer<Double>) {
        @inline(__always) func lo(_ p: UnsafePointer<Double>) -> SIMD4<Double> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self) }
        @inline(__always) func hi(_ p: UnsafePointer<Double>) -> SIMD2<Double> { UnsafeRawPointer(p + 4).loadUnaligned(as: SIMD2<Double>.self) }
        @inline(__always) func store(_ p: UnsafeMutablePointer<Double>, _ l: SIMD4<Double>, _ h: SIMD2<Double>) {
            UnsafeMutableRawPointer(p).storeBytes(of: l, as: SIMD4<Double>.self)
            UnsafeMutableRawPointer(p + 4).storeBytes(of: h, as: SIMD2<Double>.self)
        }
        // Deviations dᵢ and shifts eⱼ, as 4 + 2 lanes (at most four modes).
        let rl = lo(mx), rh = hi(mx)
        sixVectors { DL, DH in
            for i in 1..<n { DL[i] = lo(mx + 6 * i) - rl; DH[i] = hi(mx + 6 * i) - rh }
            sixVectors { EL, EH in
                for j in 0..<n {
                    var a = SIMD4<Double>(), b = SIMD2<Double>()
                    for i in 1..<n { a += W[4 * j + i] * DL[i]; b += W[4 * j + i] * DH[i] }
                    EL[j] = a; EH[j] = b
                    store(mx + 6 * j, rl + a, rh + b)
                }
                // Row k of each output from row k of each input.
                @inline(__always) func mixRow(_ k: Int, _ dk: (Int) -> Double, _ ek: (Int) -> Double) {
                    sixVectors { ML, MH in
                        let P0 = mP + 6 * k
                        ML[0] = lo(P0); MH[0] = hi(P0)
                        for i in 1..<n {
                            let Pi = mP + 36 * i + 6 * k, di = dk(i)
                            ML[i] = lo(Pi) + di * DL[i]; MH[i] = hi(Pi) + di * DH[i]
                        }
                        for j in 0..<n {
                            let w = W + 4 * j, e = ek(j)
                            var a = w[0] * ML[0] - e * EL[j], b = w[0] * MH[0] - e * EH[j]
                            for i in 1..<n { a += w[i] * ML[i]; b += w[i] * MH[i] }
                            store(mP + 36 * j + 6 * k, a, b)
                        }
                    }
                }
                for k in 0..<4 { mixRow(k, { DL[$0][k] }, { EL[$0][k] }) }
                for k in 0..<2 { mixRow(4 + k, { DH[$0][k] }, { EH[$0][k] }) }
            }
        }
    }

    /// Stack scratch for up to four 6-vectors as 4 + 2 lanes each (a temporary allocation of
    /// 32-byte-aligned elements would go to the heap).
    @inline(__always) @usableFromInline
    static func sixVectors<R>(_ body: (UnsafeMutablePointer<SIMD4<Double>>, UnsafeMutablePointer<SIMD2<Double>>) -> R) -> R {
        var l = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
        var h = (SIMD2<Double>(), SIMD2<Double>(), SIMD2<Double>(), SIMD2<Double>())
        return withUnsafeMutableBytes(of: &l) { lb in
            withUnsafeMutableBytes(of: &h) { hb in
                body(lb.baseAddress!.assumingMemoryBound(to: SIMD4<Double>.self), hb.baseAddress!.assumingMemoryBound(to: SIMD2<Double>.self))
            }
        }
    }
}

extension FilterState {
    /// Pointers to the combined state and covariance and the per-mode ones (mode j's mean at
    /// mx + 6j, covariance at mP + 36j), valid inside `body`.
    @inline(__always) @usableFromInline
    mutating func withStorage<R>(_ body: (_ x: UnsafeMutablePointer<Double>, _ P: UnsafeMutablePointer<Double>,
                                          _ mx: UnsafeMutablePointer<Double>, _ mP: UnsafeMutablePointer<Double>) -> R) -> R {
        withUnsafeMutablePointer(to: &x) { px in
            withUnsafeMutablePointer(to: &P) { pP in
                withUnsafeMutablePointer(to: &mx) { pmx in
                    withUnsafeMutablePointer(to: &mP) { pmP in
                        body(UnsafeMutableRawPointer(px).assumingMemoryBound(to: Double.self),
                             UnsafeMutableRawPointer(pP).assumingMemoryBound(to: Double.self),
                             UnsafeMutableRawPointer(pmx).assumingMemoryBound(to: Double.self),
                             UnsafeMutableRawPointer(pmP).assumingMemoryBound(to: Double.self))
                    }
                }
            }
        }
    }
}

extension FilterState {
    /// Pointers to x, P and the turn-rate lanes (`turn`), valid inside `body`.
    @inline(__always) @usableFromInline
    mutating func withTurnStorage<R>(_ body: (_ x: UnsafeMutablePointer<Double>, _ P: UnsafeMutablePointer<Double>,
                                              _ turn: UnsafeMutablePointer<Double>) -> R) -> R {
        withUnsafeMutablePointer(to: &x) { px in
            withUnsafeMutablePointer(to: &P) { pP in
                withUnsafeMutablePointer(to: &turn) { pt in
                    body(UnsafeMutableRawPointer(px).assumingMemoryBound(to: Double.self),
                         UnsafeMutableRawPointer(pP).assumingMemoryBound(to: Double.self),
                         UnsafeMutableRawPointer(pt).assumingMemoryBound(to: Double.self))
                }
            }
        }
    }
}

extension FilterKernel {
    /// The least variance (rad²/s²) an estimated turn rate keeps after an update: rounding must not
    /// take it to zero or below.
    @usableFromInline static let minimumTurnVariance = 1e-12

    /// da/dω and db/dω of a flat turn (a = sin θ/ω, b = (1 − cos θ)/ω, θ = ω dt): with
    /// f(θ) = sin θ/θ and g(θ) = (1 − cos θ)/θ, a = dt f(θ) and b = dt g(θ), so the derivatives are
    /// dt² f′(θ) and dt² g′(θ); by their series for |θ| ≤ ½ (no division by a small ω), else in
    /// closed form, (dt cos θ − a)/ω and (dt sin θ − b)/ω.
    @inlinable
    static func turnDerivatives(_ f: FlatTurn) -> (da: Double, db: Double) {
        let w = f.rate, dt = f.dt, th = w * dt
        guard abs(th) <= 0.5 else { return ((dt * f.c - f.a) / w, (dt * f.s - f.b) / w) }
        let t2 = th * th
        // f′(θ) = θ Σ_{k≥1} 2k uₖ, uₖ = (−1)ᵏ θ^(2k−2)/(2k+1)!; g′(θ) = Σ_{k≥0} (2k+1) vₖ, vₖ = (−1)ᵏ θ^(2k)/(2k+2)!.
        var u = -1.0 / 6, v = 0.5
        var fs = 2 * u, gs = v
        // Seven terms of each: the first left out is below 2⁻⁵³ of the sum for |θ| ≤ ½.
        for k in 1...6 {
            let dk = Double(k)
            u *= -t2 / ((2 * dk + 2) * (2 * dk + 3))
            v *= -t2 / ((2 * dk + 1) * (2 * dk + 2))
            fs += 2 * (dk + 1) * u
            gs += (2 * dk + 1) * v
        }
        return (dt * dt * th * fs, dt * dt * gs)
    }

    /// The mean of a turn at `rate` about the local vertical over dt.
    @inlinable
    public static func turnMean(_ x: Vector6, rate: Double, dt: Double, frame: TrackingFrame) -> Vector6 {
        if dt == 0 { return x }
        let (A, R) = CoordinatedTurn.matrices(axis: frame.up(at: x.position), rate: rate, dt: dt)
        var r = x
        r.position = x.position + A * x.velocity
        r.velocity = R * x.velocity
        return r
    }

    /// Prediction of a nearly-coordinated turn whose rate ω is the state's seventh element
    /// (`FilterState.turn`: lanes 0–5 cov(x, ω), 6 var ω, 7 ω), by the extended Kalman filter:
    /// x₆ turns at the estimated ω, ω is a random walk. With F₆ the turn's Jacobian in x₆ and
    /// g = ∂x₆′/∂ω, the 7-D F P Fᵀ is F₆ P F₆ᵀ + u gᵀ + g uᵀ + var ω g gᵀ with u = F₆ c, and the
    /// new c is u + var ω g. Acceleration noise q as the other models'; var ω grows by
    /// `turnNoise` |dt|. A flat frame's derivatives are in closed form; another frame's turn
    /// about the local vertical is differentiated by central differences in ω.
    @usableFromInline
    static func predictEstimatedTurn(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, turn t: UnsafeMutablePointer<Double>,
                                     q: Double, turnNoise: Double, dt: Double, frame: TrackingFrame) {
        if dt == 0 { return }
        let w = t[7]
        let (q11, q12, q22) = noise(q: q, dt: dt)
        var g = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), u = g
        let c = (t[0], t[1], t[2], t[3], t[4], t[5])
        if frame == .flat {
            let f = FlatTurn(rate: w, dt: dt)
            let (da, db) = turnDerivatives(f)
            let vx = x[3], vy = x[4]
            g = (da * vx - db * vy, db * vx + da * vy, 0, -dt * (f.s * vx + f.c * vy), dt * (f.c * vx - f.s * vy), 0)
            u = (c.0 + f.a * c.3 - f.b * c.4, c.1 + f.b * c.3 + f.a * c.4, c.2 + dt * c.5, f.c * c.3 - f.s * c.4, f.s * c.3 + f.c * c.4, c.5)
            predictFlatTurn(f, x: x, P: P, q11: q11, q12: q12, q22: q22)
        } else {
            let axis = frame.up(at: Vector3(x[0], x[1], x[2]))
            let v = Vector3(x[3], x[4], x[5])
            let (A, R) = CoordinatedTurn.matrices(axis: axis, rate: w, dt: dt)
            let d = 1e-5
            let (Ap, Rp) = CoordinatedTurn.matrices(axis: axis, rate: w + d, dt: dt)
            let (Am, Rm) = CoordinatedTurn.matrices(axis: axis, rate: w - d, dt: dt)
            let gp = (Ap * v - Am * v) / (2 * d), gv = (Rp * v - Rm * v) / (2 * d)
            g = (gp.x, gp.y, gp.z, gv.x, gv.y, gv.z)
            let cp = Vector3(c.0, c.1, c.2), cv = Vector3(c.3, c.4, c.5)
            let up = cp + A * cv, uv = R * cv
            u = (up.x, up.y, up.z, uv.x, uv.y, uv.z)
            predictTurn(A: A, R: R, x: x, P: P, q11: q11, q12: q12, q22: q22)
        }
        let vw = t[6]
        withUnsafeBytes(of: g) { gb in
            withUnsafeBytes(of: u) { ub in
                let g = gb.baseAddress!.assumingMemoryBound(to: Double.self), u = ub.baseAddress!.assumingMemoryBound(to: Double.self)
                // Symmetric operation by operation: u_i g_j + g_i u_j and (g_i g_j) var ω.
                for i in 0..<6 {
                    for j in 0..<6 { P[i * 6 + j] += (u[i] * g[j] + g[i] * u[j]) + (g[i] * g[j]) * vw }
                    t[i] = u[i] + vw * g[i]
                }
            }
        }
        t[6] = vw + turnNoise * abs(dt)
    }
}
