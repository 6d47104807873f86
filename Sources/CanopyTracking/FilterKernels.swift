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
    @usableFromInline
    static func predict(_ model: MotionModel, x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>,
                        dt: Double, frame: TrackingFrame) {
        if dt == 0 { return }
        let adt = abs(dt)
        let q = model.q
        let q11 = q * adt * adt * adt / 3, q12 = q * adt * adt / 2 * (dt < 0 ? -1 : 1), q22 = q * adt
        switch model.kind {
        case .constantVelocity, .ballistic:
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
        case .coordinatedTurn:
            let p = Vector3(x[0], x[1], x[2]), v = Vector3(x[3], x[4], x[5])
            let (A, R) = CoordinatedTurn.matrices(axis: frame.up(at: p), rate: model.turnRate, dt: dt)
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
            for i in 0..<3 {
                P[i * 7] += q11
                P[i * 6 + i + 3] += q12
                P[(i + 3) * 6 + i] += q12
                P[(i + 3) * 7] += q22
            }
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
                          z: Vector3) -> Double? {
        let (h, Hp) = MeasurementModel.predict(s, position: Vector3(x[0], x[1], x[2]))
        let y = MeasurementModel.innovation(kind: s.kind, z: z, h: h)
        return updateLinear(x: x, P: P, source: s, y: y, Hp: Hp)
    }

    /// The update of `updateEKF` given the innovation y and the Jacobian Hp at the linearisation point.
    @usableFromInline
    static func updateLinear(x: UnsafeMutablePointer<Double>, P: UnsafeMutablePointer<Double>, source s: MeasurementSource,
                             y: Vector3, Hp: Matrix3) -> Double? {
        let rd = s.kind == .rangeAzimuthElevation ? s.sigma * s.sigma
            : (s.kind == .bearing ? Vector3(s.sigma.x * s.sigma.x, 1, 1) : Vector3(s.sigma.x * s.sigma.x, s.sigma.y * s.sigma.y, 1))
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 102) { buf -> Double? in
            let ph = buf.baseAddress!          // P Hᵀ, 6×3 (row i at 3i)
            let K = ph + 18, H = ph + 36      // K 6×3; H 3×3
            let Vt = ph + 48, C = ph + 66     // Vᵀ 3×6 (column k of V at 6k); C = K Vᵀ 6×6
            H[0] = Hp.c0.x; H[1] = Hp.c1.x; H[2] = Hp.c2.x
            H[3] = Hp.c0.y; H[4] = Hp.c1.y; H[5] = Hp.c2.y
            H[6] = Hp.c0.z; H[7] = Hp.c1.z; H[8] = Hp.c2.z
            for i in 0..<6 {
                let p0 = P[i * 6], p1 = P[i * 6 + 1], p2 = P[i * 6 + 2]
                for k in 0..<3 { ph[i * 3 + k] = p0 * H[k * 3] + p1 * H[k * 3 + 1] + p2 * H[k * 3 + 2] }
            }
            // H P Hᵀ (upper triangle) and S = H P Hᵀ + R.
            func hph(_ k: Int, _ l: Int) -> Double { H[k * 3] * ph[l] + H[k * 3 + 1] * ph[3 + l] + H[k * 3 + 2] * ph[6 + l] }
            let g00 = hph(0, 0), g01 = hph(0, 1), g02 = hph(0, 2), g11 = hph(1, 1), g12 = hph(1, 2), g22 = hph(2, 2)
            let s00 = g00 + rd.x, s11 = g11 + rd.y, s22 = g22 + rd.z
            let c00 = s11 * s22 - g12 * g12, c01 = g02 * g12 - g01 * s22, c02 = g01 * g12 - g02 * s11
            let det = s00 * c00 + g01 * c01 + g02 * c02
            guard det > 0, det.isFinite else { return nil }
            let id = 1 / det
            let i00 = c00 * id, i01 = c01 * id, i02 = c02 * id
            let i11 = (s00 * s22 - g02 * g02) * id, i12 = (g01 * g02 - s00 * g12) * id, i22 = (s00 * s11 - g01 * g01) * id
            let yi = Vector3(i00 * y.x + i01 * y.y + i02 * y.z, i01 * y.x + i11 * y.y + i12 * y.z, i02 * y.x + i12 * y.y + i22 * y.z)
            let d2 = y.x * yi.x + y.y * yi.y + y.z * yi.z
            for i in 0..<6 {
                let a0 = ph[i * 3], a1 = ph[i * 3 + 1], a2 = ph[i * 3 + 2]
                let k0 = a0 * i00 + a1 * i01 + a2 * i02
                let k1 = a0 * i01 + a1 * i11 + a2 * i12
                let k2 = a0 * i02 + a1 * i12 + a2 * i22
                K[i * 3] = k0; K[i * 3 + 1] = k1; K[i * 3 + 2] = k2
                x[i] += a0 * yi.x + a1 * yi.y + a2 * yi.z
                Vt[i] = 2 * a0 - rd.x * k0 - (k0 * g00 + k1 * g01 + k2 * g02)
                Vt[6 + i] = 2 * a1 - rd.y * k1 - (k0 * g01 + k1 * g11 + k2 * g12)
                Vt[12 + i] = 2 * a2 - rd.z * k2 - (k0 * g02 + k1 * g12 + k2 * g22)
            }
            for i in 0..<6 {
                let ki0 = K[i * 3], ki1 = K[i * 3 + 1], ki2 = K[i * 3 + 2]
                for j in 0..<6 { C[i * 6 + j] = ki0 * Vt[j] + ki1 * Vt[6 + j] + ki2 * Vt[12 + j] }
            }
            for i in 0..<6 {
                for j in i..<6 {
                    let v = P[i * 6 + j] - 0.5 * (C[i * 6 + j] + C[j * 6 + i])
                    P[i * 6 + j] = v
                    P[j * 6 + i] = v
                }
            }
            return -0.5 * (d2 + Foundation.log(det) + Double(MeasurementModel.dimension(s.kind)) * Foundation.log(2 * .pi))
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
        var m = SIMD8<Double>()
        for j in 0..<n { for i in 0..<6 { m[i] += mu[j] * mx[6 * j + i] } }
        for i in 0..<36 { P[i] = 0 }
        for j in 0..<n {
            let w = mu[j]
            var d = SIMD8<Double>()
            for i in 0..<6 { d[i] = mx[6 * j + i] - m[i] }
            let Pj = mP + 36 * j
            for a in 0..<6 {
                let wda = w * d[a]
                for b in a..<6 { P[a * 6 + b] += w * Pj[a * 6 + b] + wda * d[b] }
            }
        }
        for a in 1..<6 { for b in 0..<a { P[a * 6 + b] = P[b * 6 + a] } }
        for i in 0..<6 { x[i] = m[i] }
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
