/// Fixed-size linear algebra for filters: 6-vectors and 6×6 matrices on inline storage, so a
/// predict or an update allocates nothing.

/// A 6-vector (e.g. a position-velocity state).
public struct Vector6: Sendable, Equatable {
    public var v: InlineArray<6, Double>

    @inlinable public init() { v = InlineArray(repeating: 0) }
    @inlinable public init(_ a: Double, _ b: Double, _ c: Double, _ d: Double, _ e: Double, _ f: Double) {
        v = [a, b, c, d, e, f]
    }
    @inlinable public init(position p: Vector3, velocity q: Vector3) {
        v = [p.x, p.y, p.z, q.x, q.y, q.z]
    }
    @inlinable public subscript(i: Int) -> Double {
        get { assert(i >= 0 && i < 6); return v[unchecked: i] }
        set { assert(i >= 0 && i < 6); v[unchecked: i] = newValue }
    }
    @inlinable public var position: Vector3 {
        get { Vector3(v[unchecked: 0], v[unchecked: 1], v[unchecked: 2]) }
        set { v[unchecked: 0] = newValue.x; v[unchecked: 1] = newValue.y; v[unchecked: 2] = newValue.z }
    }
    @inlinable public var velocity: Vector3 {
        get { Vector3(v[unchecked: 3], v[unchecked: 4], v[unchecked: 5]) }
        set { v[unchecked: 3] = newValue.x; v[unchecked: 4] = newValue.y; v[unchecked: 5] = newValue.z }
    }
    public static func == (a: Vector6, b: Vector6) -> Bool {
        for i in 0..<6 where a.v[unchecked: i] != b.v[unchecked: i] { return false }
        return true
    }
}

/// A 6×6 matrix, row-major.
public struct Matrix6: Sendable, Equatable {
    public var m: InlineArray<36, Double>

    @inlinable public init() { m = InlineArray(repeating: 0) }
    @inlinable public static var identity: Matrix6 {
        var r = Matrix6()
        for i in 0..<6 { r.m[unchecked: i * 7] = 1 }
        return r
    }
    @inlinable public static func diagonal(_ d: Vector6) -> Matrix6 {
        var r = Matrix6()
        for i in 0..<6 { r.m[unchecked: i * 7] = d[i] }
        return r
    }
    @inlinable public subscript(i: Int, j: Int) -> Double {
        get { assert(i >= 0 && i < 6 && j >= 0 && j < 6); return m[unchecked: i * 6 + j] }
        set { assert(i >= 0 && i < 6 && j >= 0 && j < 6); m[unchecked: i * 6 + j] = newValue }
    }
    @inlinable public static func * (a: Matrix6, b: Matrix6) -> Matrix6 {
        var r = Matrix6()
        for i in 0..<6 {
            for k in 0..<6 {
                let aik = a.m[unchecked: i * 6 + k]
                if aik == 0 { continue }
                for j in 0..<6 { r.m[unchecked: i * 6 + j] += aik * b.m[unchecked: k * 6 + j] }
            }
        }
        return r
    }
    @inlinable public static func * (a: Matrix6, x: Vector6) -> Vector6 {
        var r = Vector6()
        for i in 0..<6 {
            var s = 0.0
            for j in 0..<6 { s += a.m[unchecked: i * 6 + j] * x.v[unchecked: j] }
            r.v[unchecked: i] = s
        }
        return r
    }
    @inlinable public static func + (a: Matrix6, b: Matrix6) -> Matrix6 {
        var r = a
        for i in 0..<36 { r.m[unchecked: i] += b.m[unchecked: i] }
        return r
    }
    @inlinable public var transposed: Matrix6 {
        var r = Matrix6()
        for i in 0..<6 { for j in 0..<6 { r.m[unchecked: j * 6 + i] = m[unchecked: i * 6 + j] } }
        return r
    }
    /// (A + Aᵀ)/2: keeps a covariance exactly symmetric against rounding.
    @inlinable public mutating func symmetrize() {
        for i in 0..<6 {
            for j in (i + 1)..<6 {
                let s = 0.5 * (m[unchecked: i * 6 + j] + m[unchecked: j * 6 + i])
                m[unchecked: i * 6 + j] = s
                m[unchecked: j * 6 + i] = s
            }
        }
    }
    /// The 3×3 position block (rows/cols 0...2) as columns.
    @inlinable public var positionBlock: Matrix3 {
        Matrix3(columns: (Vector3(m[unchecked: 0], m[unchecked: 6], m[unchecked: 12]), Vector3(m[unchecked: 1], m[unchecked: 7], m[unchecked: 13]), Vector3(m[unchecked: 2], m[unchecked: 8], m[unchecked: 14])))
    }
    public static func == (a: Matrix6, b: Matrix6) -> Bool {
        for i in 0..<36 where a.m[unchecked: i] != b.m[unchecked: i] { return false }
        return true
    }
}

/// A 3×3 matrix stored as three columns.
public struct Matrix3: Sendable, Equatable {
    public var c0: Vector3, c1: Vector3, c2: Vector3
    @inlinable public init(columns: (Vector3, Vector3, Vector3)) { c0 = columns.0; c1 = columns.1; c2 = columns.2 }
    @inlinable public init(rows r0: Vector3, _ r1: Vector3, _ r2: Vector3) {
        c0 = Vector3(r0.x, r1.x, r2.x); c1 = Vector3(r0.y, r1.y, r2.y); c2 = Vector3(r0.z, r1.z, r2.z)
    }
    @inlinable public static func diagonal(_ d: Vector3) -> Matrix3 {
        Matrix3(columns: (Vector3(d.x, 0, 0), Vector3(0, d.y, 0), Vector3(0, 0, d.z)))
    }
    @inlinable public subscript(i: Int, j: Int) -> Double {
        switch j { case 0: c0[i]; case 1: c1[i]; default: c2[i] }
    }
    @inlinable @inline(__always) public static func * (a: Matrix3, v: Vector3) -> Vector3 { a.c0 * v.x + a.c1 * v.y + a.c2 * v.z }
    @inlinable @inline(__always) public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        Matrix3(columns: (a * b.c0, a * b.c1, a * b.c2))
    }
    @inlinable public static func + (a: Matrix3, b: Matrix3) -> Matrix3 {
        Matrix3(columns: (a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2))
    }
    @inlinable public var transposed: Matrix3 {
        Matrix3(rows: c0, c1, c2)
    }
    @inlinable public var determinant: Double {
        (c0 * cross(c1, c2)).sum()
    }
    /// Inverse, or nil when singular.
    @inlinable public var inverse: Matrix3? {
        let det = determinant
        guard det != 0, det.isFinite else { return nil }
        let r0 = cross(c1, c2) / det, r1 = cross(c2, c0) / det, r2 = cross(c0, c1) / det
        return Matrix3(rows: r0, r1, r2)
    }
}

@inlinable public func cross(_ a: Vector3, _ b: Vector3) -> Vector3 {
    Vector3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
@inlinable public func dot(_ a: Vector3, _ b: Vector3) -> Double { (a * b).sum() }
@inlinable public func norm(_ a: Vector3) -> Double { (a * a).sum().squareRoot() }
