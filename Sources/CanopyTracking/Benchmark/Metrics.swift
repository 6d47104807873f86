import CanopyCore
import Foundation

/// Point-set metrics for multi-target tracking: GOSPA (Rahmathullah, García-Fernández & Svensson
/// 2017), OSPA (Schuhmacher, Vo & Vo 2008), CLEAR MOT (Bernardin & Stiefelhagen 2008, with the
/// conventions of the `motmetrics` package) and identity scores IDF1/IDP/IDR (Ristani et al. 2016).
///
/// GOSPA and OSPA share one optimisation. With cost min(d, c)^p, a pair at d ≥ c costs as much as
/// leaving both points unassigned, so only pairs closer than c matter: the points split into
/// connected components of the "closer than c" graph and each component is one small rectangular
/// assignment. Both metrics follow from W, the largest Σ (c^p − d^p) over matchings of close pairs.
public enum SetMetrics {
    public struct GOSPA: Sendable {
        public var distance: Double
        public var localisation: Double
        public var missed: Double
        public var falseTracks: Double
        public var assigned: Int
    }

    public struct OSPA: Sendable {
        public var distance: Double
        public var localisation: Double
        public var cardinality: Double
    }

    /// Result of the shared assignment: pairs closer than c, Σ d^p over them, and Σ min(d,c)^p
    /// over an optimal full matching of min(|X|, |Y|) pairs.
    public struct Matching: Sendable {
        public var closePairs: Int
        public var closeCost: Double
        public var fullCost: Double
        /// (x index, y index, d) of the close pairs of the optimal matching.
        public var pairs: [(Int, Int, Double)]
    }

    /// Optimal matching of point sets X and Y (flat arrays of `dim` coordinates per point).
    public static func match(X: [Double], Y: [Double], dim: Int, c: Double, p: Double) -> Matching {
        let nx = X.count / dim, ny = Y.count / dim
        let cp = pow(c, p)
        func dist(_ i: Int, _ j: Int) -> Double {
            var s = 0.0
            for k in 0..<dim { let d = X[i * dim + k] - Y[j * dim + k]; s += d * d }
            return s.squareRoot()
        }
        // Close pairs through a uniform grid of side c on the first (up to three) coordinates.
        var edges: [(Int, Int, Double)] = []
        if nx > 0 && ny > 0 {
            if nx * ny <= 4096 || dim > 3 {
                for i in 0..<nx { for j in 0..<ny { let d = dist(i, j); if d < c { edges.append((i, j, d)) } } }
            } else {
                let gd = min(dim, 3)
                func cell(_ pts: [Double], _ i: Int) -> SIMD3<Int64> {
                    var r = SIMD3<Int64>(0, 0, 0)
                    for k in 0..<gd { r[k] = Int64((pts[i * dim + k] / c).rounded(.down)) }
                    return r
                }
                var grid: [SIMD3<Int64>: [Int]] = [:]
                for j in 0..<ny { grid[cell(Y, j), default: []].append(j) }
                for i in 0..<nx {
                    let ci = cell(X, i)
                    for dx in -1...1 { for dy in (gd > 1 ? -1 : 0)...(gd > 1 ? 1 : 0) { for dz in (gd > 2 ? -1 : 0)...(gd > 2 ? 1 : 0) {
                        guard let js = grid[ci &+ SIMD3(Int64(dx), Int64(dy), Int64(dz))] else { continue }
                        for j in js { let d = dist(i, j); if d < c { edges.append((i, j, d)) } }
                    } } }
                }
            }
        }
        // Components of the close-pair graph over x ∪ y.
        let compEdges = Components.group(edges, left: nx, right: ny) { ($0.0, $0.1) }
        var W = 0.0
        var closePairs = 0, closeCost = 0.0
        var pairs: [(Int, Int, Double)] = []
        var solver = LinearAssignmentSolver()
        for (_, es) in compEdges {
            var xs: [Int] = [], ys: [Int] = []
            var xi: [Int: Int] = [:], yi: [Int: Int] = [:]
            for (i, j, _) in es {
                if xi[i] == nil { xi[i] = xs.count; xs.append(i) }
                if yi[j] == nil { yi[j] = ys.count; ys.append(j) }
            }
            var cost = [Double](repeating: cp, count: xs.count * ys.count)
            for (i, j, d) in es { cost[xi[i]! * ys.count + yi[j]!] = pow(d, p) }
            _ = cost.withUnsafeBufferPointer { solver.solve(cost: $0, rows: xs.count, cols: ys.count) }
            var lap = 0.0
            for r in 0..<xs.count {
                let col = solver.rowToColumn[r]
                guard col >= 0 else { continue }
                let v = cost[r * ys.count + col]
                lap += v
                let d = dist(xs[r], ys[col])
                if d < c {
                    closePairs += 1
                    closeCost += pow(d, p)
                    pairs.append((xs[r], ys[col], d))
                }
            }
            W += cp * Double(min(xs.count, ys.count)) - lap
        }
        let m = min(nx, ny)
        return Matching(closePairs: closePairs, closeCost: closeCost, fullCost: cp * Double(m) - W, pairs: pairs)
    }

    /// GOSPA with α = 2 (missed and false each cost c^p/2).
    public static func gospa(X: [Double], Y: [Double], dim: Int, c: Double, p: Double) -> GOSPA {
        let m = match(X: X, Y: Y, dim: dim, c: c, p: p)
        return gospa(m, nx: X.count / dim, ny: Y.count / dim, c: c, p: p)
    }

    public static func gospa(_ m: Matching, nx: Int, ny: Int, c: Double, p: Double) -> GOSPA {
        let half = pow(c, p) / 2
        let missed = half * Double(nx - m.closePairs), falseT = half * Double(ny - m.closePairs)
        let total = m.closeCost + missed + falseT
        return GOSPA(distance: pow(max(total, 0), 1 / p), localisation: m.closeCost, missed: missed, falseTracks: falseT,
                     assigned: m.closePairs)
    }

    public static func ospa(X: [Double], Y: [Double], dim: Int, c: Double, p: Double) -> OSPA {
        let m = match(X: X, Y: Y, dim: dim, c: c, p: p)
        return ospa(m, nx: X.count / dim, ny: Y.count / dim, c: c, p: p)
    }

    public static func ospa(_ m: Matching, nx: Int, ny: Int, c: Double, p: Double) -> OSPA {
        let n = max(nx, ny), k = min(nx, ny)
        if n == 0 { return OSPA(distance: 0, localisation: 0, cardinality: 0) }
        let loc = m.fullCost / Double(n)
        let card = pow(c, p) * Double(n - k) / Double(n)
        return OSPA(distance: pow(max(loc + card, 0), 1 / p), localisation: pow(max(loc, 0), 1 / p), cardinality: pow(card, 1 / p))
    }
}

/// CLEAR MOT and identity metrics over a sequence of frames, with the `motmetrics` conventions:
/// a pair may match when its distance is at most `threshold`; a truth keeps last frame's partner
/// when still allowed; the rest are matched by most matches, then least total distance; a switch
/// is counted (instead of a match) when a truth's partner differs from its last one. MOTP is the mean
/// distance over matches and switches
/// (in whatever distance is given, e.g. squared metres).
public struct MOTAccumulator {
    public struct Summary: Sendable {
        public var frames = 0, objects = 0, predictions = 0, matches = 0, misses = 0, falsePositives = 0, switches = 0
        public var distanceSum = 0.0
        public var idtp = 0, idfn = 0, idfp = 0
        public var mota: Double { objects > 0 ? 1 - Double(misses + falsePositives + switches) / Double(objects) : 0 }
        public var motp: Double { matches + switches > 0 ? distanceSum / Double(matches + switches) : 0 }
        public var idf1: Double { (2 * idtp + idfp + idfn) > 0 ? 2 * Double(idtp) / Double(2 * idtp + idfp + idfn) : 0 }
        public var idp: Double { (idtp + idfp) > 0 ? Double(idtp) / Double(idtp + idfp) : 0 }
        public var idr: Double { (idtp + idfn) > 0 ? Double(idtp) / Double(idtp + idfn) : 0 }
    }

    public let threshold: Double
    private var last: [Int: Int] = [:]          // truth id → last matched hypothesis id
    private var counts = Summary()
    private var truthFrames: [Int: Int] = [:], hypFrames: [Int: Int] = [:]
    private var together: [SIMD2<Int>: Int] = [:]  // (truth, hyp) → frames within threshold
    private var solver = LinearAssignmentSolver()

    public init(threshold: Double) { self.threshold = threshold }

    /// Adds one frame. `distance(i, j)` is the distance of truth i and hypothesis j (any
    /// monotone measure, compared with `threshold`).
    public mutating func update(truthIDs: [Int], hypothesisIDs: [Int], distance: (Int, Int) -> Double) {
        counts.frames += 1
        counts.objects += truthIDs.count
        counts.predictions += hypothesisIDs.count
        for g in truthIDs { truthFrames[g, default: 0] += 1 }
        for h in hypothesisIDs { hypFrames[h, default: 0] += 1 }
        let nt = truthIDs.count, nh = hypothesisIDs.count
        var D = [Double](repeating: .nan, count: nt * nh)
        for i in 0..<nt {
            for j in 0..<nh {
                let d = distance(i, j)
                if d <= threshold {
                    D[i * nh + j] = d
                    together[SIMD2(truthIDs[i], hypothesisIDs[j]), default: 0] += 1
                }
            }
        }
        var tUsed = [Bool](repeating: false, count: nt), hUsed = [Bool](repeating: false, count: nh)
        var hIndex: [Int: Int] = [:]
        for (j, h) in hypothesisIDs.enumerated() { hIndex[h] = j }
        // 1. Keep last frame's partners when still allowed.
        for i in 0..<nt {
            guard let h = last[truthIDs[i]], let j = hIndex[h], !hUsed[j], !D[i * nh + j].isNaN else { continue }
            tUsed[i] = true; hUsed[j] = true
            counts.matches += 1
            counts.distanceSum += D[i * nh + j]
        }
        // 2. The rest: most matches, then least distance (a penalty larger than any total distance).
        let freeT = (0..<nt).filter { !tUsed[$0] }, freeH = (0..<nh).filter { !hUsed[$0] }
        if !freeT.isEmpty && !freeH.isEmpty {
            var total = 0.0
            for i in freeT { for j in freeH where !D[i * nh + j].isNaN { total += abs(D[i * nh + j]) } }
            let big = 2 * (total + 1)
            var cost = [Double](repeating: big, count: freeT.count * freeH.count)
            var any = false
            for (a, i) in freeT.enumerated() {
                for (b, j) in freeH.enumerated() where !D[i * nh + j].isNaN { cost[a * freeH.count + b] = D[i * nh + j]; any = true }
            }
            if any {
                _ = cost.withUnsafeBufferPointer { solver.solve(cost: $0, rows: freeT.count, cols: freeH.count) }
                for (a, i) in freeT.enumerated() {
                    let b = solver.rowToColumn[a]
                    guard b >= 0 else { continue }
                    let j = freeH[b]
                    guard !D[i * nh + j].isNaN else { continue }
                    tUsed[i] = true; hUsed[j] = true
                    counts.distanceSum += D[i * nh + j]
                    let g = truthIDs[i], h = hypothesisIDs[j]
                    // A switch is its own event, not also a match (as in motmetrics).
                    if let prev = last[g], prev != h { counts.switches += 1 } else { counts.matches += 1 }
                    last[g] = h
                }
            }
        }
        counts.misses += tUsed.lazy.filter { !$0 }.count
        counts.falsePositives += hUsed.lazy.filter { !$0 }.count
    }

    /// The totals, with the identity scores from the best one-to-one truth–hypothesis pairing.
    public mutating func summary() -> Summary {
        var s = counts
        // Maximise Σ together(g, h) over one-to-one pairings, per connected component.
        let gs = Array(Set(together.keys.map { $0.x })).sorted(), hs = Array(Set(together.keys.map { $0.y })).sorted()
        var best = 0
        if !gs.isEmpty {
            var gi: [Int: Int] = [:], hi: [Int: Int] = [:]
            for (k, g) in gs.enumerated() { gi[g] = k }
            for (k, h) in hs.enumerated() { hi[h] = k }
            let comps = Components.group(together.map { ($0.key, $0.value) }, left: gs.count, right: hs.count) {
                (gi[$0.0.x]!, hi[$0.0.y]!)
            }
            for (_, es) in comps {
                var rows: [Int: Int] = [:], cols: [Int: Int] = [:]
                for (k, _) in es {
                    if rows[k.x] == nil { rows[k.x] = rows.count }
                    if cols[k.y] == nil { cols[k.y] = cols.count }
                }
                var cost = [Double](repeating: 0, count: rows.count * cols.count)
                for (k, v) in es { cost[rows[k.x]! * cols.count + cols[k.y]!] = Double(v) }
                _ = cost.withUnsafeBufferPointer { solver.solve(cost: $0, rows: rows.count, cols: cols.count, maximize: true) }
                for r in 0..<rows.count {
                    let c = solver.rowToColumn[r]
                    if c >= 0 { best += Int(cost[r * cols.count + c]) }
                }
            }
        }
        let totalT = truthFrames.values.reduce(0, +), totalH = hypFrames.values.reduce(0, +)
        s.idtp = best
        s.idfn = totalT - best
        s.idfp = totalH - best
        return s
    }
}

/// Connected components of a bipartite graph (union-find with path halving), for splitting an
/// assignment problem into independent small ones.
enum Components {
    /// Groups `edges` by component, in order of each component's root; `ends` gives an edge's
    /// left index (< left) and right index (< right).
    static func group<E>(_ edges: [E], left: Int, right: Int, ends: (E) -> (Int, Int)) -> [(key: Int, value: [E])] {
        var parent = Array(0..<(left + right))
        func find(_ a: Int) -> Int {
            var a = a
            while parent[a] != a { parent[a] = parent[parent[a]]; a = parent[a] }
            return a
        }
        for e in edges {
            let (i, j) = ends(e)
            let a = find(i), b = find(left + j)
            if a != b { parent[a] = b }
        }
        var groups: [Int: [E]] = [:]
        for e in edges { groups[find(ends(e).0), default: []].append(e) }
        return groups.sorted { $0.key < $1.key }
    }
}

