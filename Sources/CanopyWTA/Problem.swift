import Foundation

/// The representation every solver shares: identical weapons grouped into types, survival
/// probabilities q = 1 − p per (type, target), the kill probabilities by target, feasibility and
/// firing costs (the exact solver's pricing keeps q and −ln q by target itself). A solution is a count xₜⱼ of type-t weapons fired at target j (row-major k × m).
public struct WTAProblem: Sendable {
    public let name: String
    /// Number of weapon types k and targets m.
    public let types: Int
    public let targets: Int
    public let values: [Double]
    /// Weapons of each type, and their original indices.
    public let count: [Int]
    public let members: [[Int]]
    /// Cost of firing one weapon of each type.
    public let cost: [Double]
    /// Survival probability qₜⱼ = 1 − pₜⱼ, k × m.
    public let q: [Double]
    /// Whether type t may fire at target j (and pₜⱼ > 0: a shot that cannot kill is never useful).
    public let feasible: [Bool]
    /// Kill probability pₜⱼ = 1 − qₜⱼ where feasible, 0 where not, by target (m × k: one
    /// target's column is contiguous); the hot loops read it without a separate mask test.
    public let killByTarget: [Double]
    /// q and the feasibility by target (m × k), the same values as `q` and `feasible`: for the
    /// exchange graph, which is built one target at a time.
    public let qByTarget: [Double]
    public let feasibleByTarget: [Bool]
    /// Types that can hurt each target (kill probability > 0).
    public let usableTypes: [Int]
    /// Most shots each target may take (nil: no limit). Not in the file format: a decision rule
    /// such as shoot-look-shoot (one engagement per threat per look) sets it.
    public let cap: [Int]?
    public var weapons: Int { count.reduce(0, +) }
    @inlinable public func capacity(_ j: Int) -> Int { cap?[j] ?? Int.max }
    public var hasCosts: Bool { cost.contains { $0 > 0 } }
    /// Whether every type costs the same to fire (then, at one target, the types rank by kill
    /// probability alone).
    public let uniformCost: Bool

    public init(_ inst: WTAInstance, targetCap: [Int]? = nil) {
        precondition(targetCap == nil || targetCap!.count == inst.targets, "one cap per target")
        cap = targetCap
        name = inst.name
        targets = inst.targets
        values = inst.values
        var typeOf = [Int](repeating: 0, count: inst.weapons)
        var members: [[Int]] = []
        if let wt = inst.weaponType {
            var index = [Int: Int]()
            for i in 0..<inst.weapons {
                if let k = index[wt[i]] { typeOf[i] = k; members[k].append(i) } else {
                    index[wt[i]] = members.count; typeOf[i] = members.count; members.append([i])
                }
            }
        } else {
            for i in 0..<inst.weapons { typeOf[i] = i; members.append([i]) }
        }
        self.members = members
        types = members.count
        count = members.map(\.count)
        cost = members.map { inst.cost($0[0]) }
        let (k, m) = (members.count, inst.targets)
        var q = [Double](repeating: 1, count: k * m)
        var f = [Bool](repeating: false, count: k * m)
        var byTarget = [Double](repeating: 0, count: k * m)
        var qT = [Double](repeating: 1, count: k * m)
        var fT = [Bool](repeating: false, count: k * m)
        var usable = [Int](repeating: 0, count: m)
        let first = members.map { $0[0] }
        let mask = inst.feasible ?? [], masked = inst.feasible != nil
        // The survival kept for a certain kill (p = 1): 1e-12 of the least valuable target's
        // value over the most valuable one's (1e-12 when they are equal), so that the remnant
        // is within the solvers' tolerance of the objective and decides nothing (1e-12 had let a
        // target worth 10¹² "survive" with 1 and turned the optimum); not below 1e-24, so that a dozen certain
        // kills of one target stay a normal double (the solvers divide by it to take a shot
        // back). Not zero, so that logs and ratios stay finite. Instances whose values span more
        // than 10¹⁸ with a certain kill are refused when read (`WTAInstance.parse`).
        let vMax = inst.values.max() ?? 1, vMin = inst.values.filter { $0 > 0 }.min() ?? 1
        let certainKillSurvival = max(min(1e-12, 1e-12 * vMin / vMax), 1e-24)
        // One pass in 32 × 32 tiles, so that the row-major and the by-target writes stay in cache.
        mask.withUnsafeBufferPointer { M in
            inst.killProbability.withUnsafeBufferPointer { P in
                q.withUnsafeMutableBufferPointer { Q in
                    f.withUnsafeMutableBufferPointer { F in
                        byTarget.withUnsafeMutableBufferPointer { B in
                          qT.withUnsafeMutableBufferPointer { QT in
                          fT.withUnsafeMutableBufferPointer { FT in
                            usable.withUnsafeMutableBufferPointer { U in
                                for t0 in stride(from: 0, to: k, by: 32) {
                                    for j0 in stride(from: 0, to: m, by: 32) {
                                        for t in t0..<min(t0 + 32, k) {
                                            let i = first[t]
                                            let pRow = P.baseAddress! + i &* m, mRow = i &* m
                                            let qRow = Q.baseAddress! + t &* m, fRow = F.baseAddress! + t &* m
                                            for j in j0..<min(j0 + 32, m) {
                                                let pk = pRow[j]
                                                // A certain kill (p = 1, e.g. a rounded 0.99997)
                                                // keeps a tiny survival so that logs and ratios
                                                // stay finite; the objective is checked on the
                                                // instance itself.
                                                let qq = max(1 - pk, certainKillSurvival)
                                                let ok = masked ? (pk > 0) && M[mRow &+ j] : pk > 0
                                                qRow[j] = qq
                                                fRow[j] = ok
                                                B[j &* k &+ t] = ok ? 1 - qq : 0
                                                QT[j &* k &+ t] = qq
                                                FT[j &* k &+ t] = ok
                                                U[j] &+= ok ? 1 : 0
                                            }
                                        }
                                    }
                                }
                            }
                          }
                          }
                        }
                    }
                }
            }
        }
        self.q = q
        feasible = f
        killByTarget = byTarget
        qByTarget = qT
        feasibleByTarget = fT
        usableTypes = usable
        uniformCost = members.allSatisfy { inst.cost($0[0]) == inst.cost(members[0][0]) }
    }

    /// Expected surviving value plus firing cost of type counts x.
    public func objective(_ x: [Int32]) -> Double {
        var total = 0.0
        for j in 0..<targets {
            var s = values[j]
            for t in 0..<types where x[t * targets + j] > 0 {
                s *= pow(q[t * targets + j], Double(x[t * targets + j]))
            }
            total += s
        }
        for t in 0..<types {
            var n = 0
            for j in 0..<targets { n += Int(x[t * targets + j]) }
            total += Double(n) * cost[t]
        }
        return total
    }

    /// Whether x respects the stock of every type and the feasibility mask.
    public func isFeasible(_ x: [Int32]) -> Bool {
        guard x.count == types * targets else { return false }
        for t in 0..<types {
            var n = 0
            for j in 0..<targets {
                let c = Int(x[t * targets + j])
                if c < 0 || (c > 0 && !feasible[t * targets + j]) { return false }
                n += c
            }
            if n > count[t] { return false }
        }
        if let cap {
            for j in 0..<targets {
                var n = 0
                for t in 0..<types { n += Int(x[t * targets + j]) }
                if n > cap[j] { return false }
            }
        }
        return true
    }

    /// Each weapon's target (−1: not fired): the weapons of a type in index order.
    public func assignment(_ x: [Int32]) -> [Int] {
        var a = [Int](repeating: -1, count: weapons)
        for t in 0..<types {
            var k = 0
            for j in 0..<targets {
                for _ in 0..<Int(x[t * targets + j]) { a[members[t][k]] = j; k += 1 }
            }
        }
        return a
    }

    /// Type counts of a per-weapon assignment.
    public func counts(of a: [Int]) -> [Int32] {
        var x = [Int32](repeating: 0, count: types * targets)
        for t in 0..<types {
            for i in members[t] where a[i] >= 0 { x[t * targets + a[i]] += 1 }
        }
        return x
    }
}

/// Each target's C = min(types, 16) most lethal types, in decreasing kill probability (ties: lower
/// type): the greedy's first lists and the local search's neighbourhood (the types that could
/// replace a shot at j; the targets a type could move to, through the inverse lists). Built by the
/// solvers that use it, in O(k m), and counted in their time.
public struct WTACandidates: Sendable {
    public let width: Int
    /// m × width, of which `count[j]` are set for target j.
    public let list: [Int32]
    public let count: [Int]
    /// For each type, the targets whose lists hold it (CSR: `invTarget[invStart[t] ..< invStart[t+1]]`).
    public let invStart: [Int32]
    public let invTarget: [Int32]

    public init(_ p: WTAProblem) {
        let (k, m) = (p.types, p.targets)
        let width = max(1, min(k, 16))
        self.width = width
        var cand = [Int32](repeating: 0, count: m * width)
        var candCount = [Int](repeating: 0, count: m)
        var scratch = [Int32](repeating: 0, count: k + 1)
        for j in 0..<m {
            candCount[j] = WTACandidates.mostLethal(p.killByTarget, types: k, target: j, width: width, into: &cand, scratch: &scratch)
        }
        list = cand
        count = candCount
        var start = [Int32](repeating: 0, count: k + 1)
        for j in 0..<m { for r in 0..<candCount[j] { start[Int(cand[j * width + r]) + 1] += 1 } }
        for t in 0..<k { start[t + 1] += start[t] }
        var fillAt = start
        var target = [Int32](repeating: 0, count: Int(start[k]))
        for j in 0..<m {
            for r in 0..<candCount[j] {
                let t = Int(cand[j * width + r])
                target[Int(fillAt[t])] = Int32(j); fillAt[t] += 1
            }
        }
        invStart = start; invTarget = target
    }

    /// Writes target j's `width` most lethal types among `among` (type indices in increasing order)
    /// into `list[j·width ..<]`, in decreasing kill probability (ties: lower type); returns how many
    /// were written and how many of `among` can hurt j. One comparison per type in the common case:
    /// a type enters only if more lethal than the list's least (0 until the list is full, which
    /// also keeps out the types that cannot hurt j).
    static func mostLethal(_ killByTarget: [Double], types k: Int, target j: Int, among: [Int32], width L: Int,
                           into list: inout [Int32]) -> (written: Int, usable: Int) {
        var n = 0, usable = 0
        killByTarget.withUnsafeBufferPointer { kb in
            among.withUnsafeBufferPointer { al in
                list.withUnsafeMutableBufferPointer { lb in
                    var ranking = Ranking(column: kb.baseAddress! + j * k, out: lb.baseAddress! + j * L, width: L)
                    for t in al {
                        let pk = ranking.column[Int(t)]
                        usable &+= pk > 0 ? 1 : 0
                        ranking.offer(t, pk)
                    }
                    n = ranking.n
                }
            }
        }
        return (n, usable)
    }

    /// `mostLethal` among all types, returning only how many were written. A threshold τ is taken
    /// from a sample (every 8th type: its 4th most lethal), the types at or above τ are gathered
    /// without branching, and only those (about 2 L of k) are ranked. If fewer than L are gathered,
    /// τ is lowered by the sample's spread and the gathering repeated; if still too few (a skewed
    /// column), the column goes through the one-by-one insertion instead.
    static func mostLethal(_ killByTarget: [Double], types k: Int, target j: Int, width L: Int,
                           into list: inout [Int32], scratch: inout [Int32]) -> Int {
        var n = 0
        killByTarget.withUnsafeBufferPointer { kb in
            list.withUnsafeMutableBufferPointer { lb in
                scratch.withUnsafeMutableBufferPointer { sb in
                    let kc = kb.baseAddress! + j * k, out = lb.baseAddress! + j * L, sc = sb.baseAddress!
                    var gathered = 0
                    if k >= 64 {
                        // The sample's 4 largest, in decreasing order.
                        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                        var t = 0
                        while t < k {
                            let v = kc[t]
                            if v > s3 {
                                if v > s1 {
                                    s3 = s2; s2 = s1
                                    if v > s0 { s1 = s0; s0 = v } else { s1 = v }
                                } else if v > s2 { s3 = s2; s2 = v } else { s3 = v }
                            }
                            t &+= 8
                        }
                        // Kill probabilities are non-negative, so their bit patterns order as
                        // the numbers do: the test is an integer subtraction's sign, no branch.
                        // Too few gathered (a sample above the column's run): once more with
                        // the threshold lowered by the sample's spread, then one by one.
                        let bits = UnsafeRawPointer(kc).assumingMemoryBound(to: Int64.self)
                        var threshold = s3
                        for attempt in 0..<2 {
                            if attempt == 1 { threshold = s3 - (s0 - s3) }
                            let tau = Int64(bitPattern: max(threshold, Double.leastNonzeroMagnitude).bitPattern)
                            gathered = 0
                            var u = 0
                            while u < k {
                                sc[gathered] = Int32(truncatingIfNeeded: u)
                                gathered &+= 1 &- Int(UInt64(bitPattern: bits[u] &- tau) >> 63)
                                u &+= 1
                            }
                            if gathered >= L { break }
                        }
                    }
                    var ranking = Ranking(column: kc, out: out, width: L)
                    if gathered >= L {
                        // Only the gathered types (in type order, so ties keep the lower first).
                        for a in 0..<gathered { ranking.offer(sc[a], kc[Int(sc[a])]) }
                    } else {
                        for t in 0..<k { ranking.offer(Int32(truncatingIfNeeded: t), kc[t]) }
                    }
                    n = ranking.n
                }
            }
        }
        return n
    }

}

/// A list of at most `width` types in decreasing kill probability, built by offering types one by
/// one (ties keep the one offered first). A type enters only if more lethal than the list's least
/// (0 until the list is full, which also keeps out the types that cannot hurt the target).
struct Ranking {
    let column: UnsafePointer<Double>
    let out: UnsafeMutablePointer<Int32>
    let width: Int
    private(set) var n = 0
    private var last = 0.0

    init(column: UnsafePointer<Double>, out: UnsafeMutablePointer<Int32>, width: Int) {
        self.column = column; self.out = out; self.width = width
    }

    @inline(__always) mutating func offer(_ t: Int32, _ pk: Double) {
        guard pk > last else { return }
        var i = n < width ? n : width &- 1
        while i > 0 && column[Int(out[i &- 1])] < pk { out[i] = out[i &- 1]; i &-= 1 }
        out[i] = t
        if n < width { n &+= 1 }
        if n == width { last = column[Int(out[width &- 1])] }
    }
}
