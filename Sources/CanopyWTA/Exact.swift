import Foundation

/// Bounds on one (type, target) count fixed by branching.
public struct WTAFix: Sendable, Equatable {
    public var type: Int
    public var target: Int
    public var lo: Int32
    public var hi: Int32

    /// Whether the (type, count) entries in `range` (a column; a type not listed has count 0)
    /// keep every count within its fix.
    static func allow(_ fixes: [WTAFix], types: [Int32], counts: [Int32], _ range: Range<Int>) -> Bool {
        for f in fixes {
            var n: Int32 = 0
            for e in range where Int(types[e]) == f.type { n = counts[e] }
            if n < f.lo || n > f.hi { return false }
        }
        return true
    }
}

/// Exact pricing of one target: given a price wₜ per weapon of type t (its firing cost plus the
/// Lagrange multiplier of its stock), the counts minimising Vⱼ Πₜ qₜⱼ^xₜ + Σₜ wₜ xₜ.
///
/// Depth-first branch and bound over the useful types in decreasing order of aₜ / wₜ
/// (aₜ = −ln qₜⱼ); the bound is the continuous relaxation, min of V e^(−Σ a y) + Σ w y over
/// 0 ≤ y ≤ multiplicity, which the same order solves greedily (the function is convex in Σ a y).
/// A type is useful only if wₜ < Vⱼ pₜⱼ: no later shot gains more than the first.
struct TargetPricer {
    /// One item of the search's order: a = −ln q, q, the price w, w / a (the value V e^(−Σ a y)
    /// at or below which another copy no longer pays), q^mult, the copies that may be fired
    /// and the type.
    struct Item {
        var a: Double, q: Double, w: Double, wa: Double, qm: Double
        var mult: Int, type: Int
    }
    /// The items in the search's order (decreasing aᵢ / wᵢ), materialised as they are drawn.
    var items: [Item] = []
    /// The candidate types (ascending) and their keys aₜ / wₜ; `heap` holds positions into them.
    /// Items are drawn lazily from the heap: the search and its bound rarely look past the first
    /// few, so sorting all of them (when every type can hurt every target, most of the time) is
    /// wasted.
    var cand: [Int32] = [], key: [Double] = []
    var heap: [Int32] = []
    var heapCount = 0
    /// The first `topCount` positions of the order (the largest keys, ties to the lower position),
    /// found by one pass: most searches draw only these. The others wait in `heap`, which is
    /// built only if the search reaches past them. Either way the items come in the same order.
    var top: [Int32] = [], topKey: [Double] = []
    var topCount = 0, topNext = 0
    var heapBuilt = false
    static let topSize = 16
    var take: [Int] = [], bestTake: [Int] = []
    var best = 0.0
    var nodes = 0
    /// Shots the target may still take in this search.
    var room = Int.max
    /// Copies of each type the search may add (its stock, or what the target's fixes leave):
    /// set from the fixes at the start of a pricing and restored at its end, so that a type's
    /// allowance is one load instead of a scan of the fixes.
    var allowance: [Int32] = []
    /// qₜⱼ and −ln qₜⱼ by target (m × k: one target's types contiguous), filled on first use.
    var survival: [Double] = [], logSurvival: [Double] = []
    /// The target being priced: its offset into the by-target tables, its value after the
    /// forced and free shots, prices, fixes and stocks.
    private var base = 0, V0 = 0.0, filterAgain = false
    private var price: [Double] = [], fixes: ArraySlice<WTAFix> = [], stock: [Int] = []

    /// Returns the minimum and writes the chosen count of each type into `out` (by type index,
    /// only entries listed in `touched` are set; the caller clears them).
    mutating func solve(_ p: WTAProblem, target j: Int, price: [Double], fixes: ArraySlice<WTAFix>,
                        out: inout [Int32], touched: inout [Int]) -> Double {
        let m = p.targets, k = p.types
        if survival.isEmpty {
            survival = p.qByTarget  // the problem's own by-target copy, shared (not copied)
            logSurvival = survival.map { -Foundation.log($0) }
        }
        if cand.count < k {
            cand = [Int32](repeating: 0, count: k); key = [Double](repeating: 0, count: k); heap = [Int32](repeating: 0, count: k)
            top = [Int32](repeating: 0, count: Self.topSize); topKey = [Double](repeating: 0, count: Self.topSize)
        }
        self.price = price; self.fixes = fixes; self.stock = p.count; base = j &* k
        if allowance.count != k { allowance = p.count.map { Int32($0) } }
        for f in fixes { allowance[f.type] = f.hi - f.lo }
        defer { for f in fixes { allowance[f.type] = Int32(p.count[f.type]) } }
        var V = p.values[j]
        var W = 0.0
        room = p.capacity(j)
        // Forced counts first.
        for f in fixes where f.lo > 0 {
            room -= Int(f.lo)
            V *= pow(p.q[f.type * m + j], Double(f.lo))
            W += Double(f.lo) * price[f.type]
            out[f.type] += f.lo
            touched.append(f.type)
        }
        var freeW0 = 0  // types at zero price: every copy helps, take them all
        var n = 0
        p.killByTarget.withUnsafeBufferPointer { kb in
        logSurvival.withUnsafeBufferPointer { lb in
        survival.withUnsafeBufferPointer { sb in
        price.withUnsafeBufferPointer { pb in
        cand.withUnsafeMutableBufferPointer { cb in
        key.withUnsafeMutableBufferPointer { keyb in
        allowance.withUnsafeBufferPointer { ab in
            let kill = kb.baseAddress! + base, logQ = lb.baseAddress! + base, surv = sb.baseAddress! + base
            // Any choice that fires a type-t shot costs at least wₜ (prices are never negative),
            // so a type priced at or above the best single shot (or no shot) cannot be in a
            // better choice. Fixes that only cap counts (a branch's, or a stock another target's
            // forced shots have used) keep this: a type with no copy left is no single shot.
            // With forced shots the search decides alone.
            var bound = Double.infinity
            if !fixes.contains(where: { $0.lo > 0 }) {
                bound = V
                if fixes.isEmpty {
                    for t in 0..<k where kill[t] > 0 && pb[t] > 0 { bound = Swift.min(bound, V * surv[t] + pb[t]) }
                } else {
                    for t in 0..<k where kill[t] > 0 && pb[t] > 0 && ab[t] > 0 {
                        bound = Swift.min(bound, V * surv[t] + pb[t])
                    }
                }
            }
            for t in 0..<k {
                let pk = kill[t]
                let wt = pb[t]
                // Infeasible pairs have p = 0; a type is useful only if its first shot pays.
                guard pk > 0, wt < V * pk, wt < bound else { continue }
                let extra = Int(ab[t])
                guard extra > 0 else { continue }
                if wt <= 0 && p.cap == nil {
                    V *= pow(surv[t], Double(extra))
                    out[t] += Int32(extra)
                    touched.append(t)
                    freeW0 += 1
                    continue
                }
                cb[n] = Int32(t)
                keyb[n] = logQ[t] / wt
                n &+= 1
            }
        }
        }
        }
        }
        }
        }
        }
        // A zero-priced type may have made others useless: they are filtered again as drawn.
        V0 = V
        filterAgain = freeW0 > 0
        selectTop(n)
        items.removeAll(keepingCapacity: true)
        best = V
        nodes = 0
        search(0, V, 0, max(room, 0))
        for r in 0..<items.count where bestTake[r] > 0 {
            let t = items[r].type
            out[t] += Int32(bestTake[r])
            touched.append(t)
        }
        return best + W
    }

    /// Splits positions 0..<n into the `topSize` first of the order (sorted, in `top`) and the
    /// rest (unordered, in `heap`).
    private mutating func selectTop(_ n: Int) {
        var tc = 0, rest = 0
        key.withUnsafeBufferPointer { kb in
        top.withUnsafeMutableBufferPointer { tb in
        topKey.withUnsafeMutableBufferPointer { tk in
        heap.withUnsafeMutableBufferPointer { h in
            let kp = kb.baseAddress!, cap = Self.topSize
            // The held keys beside their positions, and the least of them once full (the bar a
            // later key must clear), so that the common case is one comparison in registers.
            var bar = -Double.infinity
            for i in 0..<n {
                let ki = kp[i]
                // A later position loses ties, so it goes after every equal key already held.
                if tc == cap {
                    guard ki > bar else { h[rest] = Int32(i); rest &+= 1; continue }
                    h[rest] = tb[cap &- 1]; rest &+= 1
                    tc &-= 1
                }
                var r = tc
                while r > 0 && ki > tk[r &- 1] { tb[r] = tb[r &- 1]; tk[r] = tk[r &- 1]; r &-= 1 }
                tb[r] = Int32(i); tk[r] = ki
                tc &+= 1
                if tc == cap { bar = tk[cap &- 1] }
            }
        }
        }
        }
        }
        topCount = tc; topNext = 0
        heapCount = rest; heapBuilt = false
    }

    /// Max-heap on the keys; ties go to the lower position (the lower type).
    private mutating func siftDown(_ start: Int) {
        let n = heapCount
        key.withUnsafeBufferPointer { kb in
            heap.withUnsafeMutableBufferPointer { h in
                let kp = kb.baseAddress!
                @inline(__always) func before(_ x: Int32, _ y: Int32) -> Bool {
                    let l = kp[Int(x)], r = kp[Int(y)]
                    return l > r || (l == r && x < y)
                }
                var i = start
                let item = h[i]
                while true {
                    let l = 2 &* i &+ 1
                    if l >= n { break }
                    var c = l
                    if l &+ 1 < n && before(h[l &+ 1], h[l]) { c = l &+ 1 }
                    if !before(h[c], item) { break }
                    h[i] = h[c]
                    i = c
                }
                h[i] = item
            }
        }
    }

    /// Whether the item at position r of the order exists (drawing it from the heap if needed).
    @inline(__always) private mutating func has(_ r: Int) -> Bool {
        while items.count <= r {
            let position: Int  // of the drawn item in `cand` and `key`
            if topNext < topCount {
                position = Int(top[topNext])
                topNext += 1
            } else {
                guard heapCount > 0 else { return false }
                if !heapBuilt {
                    heapBuilt = true
                    if heapCount > 1 { for i in stride(from: heapCount / 2 - 1, through: 0, by: -1) { siftDown(i) } }
                }
                position = Int(heap[0])
                heapCount -= 1
                if heapCount > 0 { heap[0] = heap[heapCount]; siftDown(0) }
            }
            let t = Int(cand[position])
            let qt = survival[base &+ t], wt = price[t]
            if filterAgain && !(wt < V0 * (1 - qt)) { continue }
            if take.count <= items.count { take.append(0); bestTake.append(0) }
            take[items.count] = 0
            bestTake[items.count] = 0
            let a = logSurvival[base &+ t], mult = Int(allowance[t])
            items.append(Item(a: a, q: qt, w: wt, wa: wt / a, qm: mult == 1 ? qt : pow(qt, Double(mult)),
                              mult: mult, type: t))
        }
        return true
    }

    /// Lower bound on V·Π q^y + Σ w y over the items from position k on (continuous y).
    ///
    /// Items are taken in order while the marginal gain E a of the next copy (E = V e^(−Σ a y),
    /// the value left) exceeds its price w: whole while E qᵐ ≥ w / a still holds after all its m
    /// copies, else in part, up to E = w / a, where this item stops paying and so does every
    /// later one (their a / w is no larger). So only that last, partial item needs a logarithm.
    private mutating func relaxation(_ k: Int, _ V: Double) -> Double {
        var E = V, cost = 0.0
        var r = k
        while r < items.count || has(r) {
            let stop: Bool = items.withUnsafeBufferPointer { ib in
                while r < ib.count {
                    let it = ib[r]
                    if E <= it.wa { return true }
                    let left = E * it.qm
                    if left >= it.wa {
                        E = left
                        cost += it.w * Double(it.mult)
                        r &+= 1
                        continue
                    }
                    cost += it.w * (Foundation.log(E / it.wa) / it.a)
                    E = it.wa
                    return true
                }
                return false
            }
            if stop { break }
        }
        return E + cost
    }

    private mutating func search(_ k: Int, _ V: Double, _ W: Double, _ room: Int) {
        nodes += 1
        if V + W < best {
            best = V + W
            for r in 0..<items.count { bestTake[r] = r < k ? take[r] : 0 }
        }
        guard has(k) else { return }
        guard W + relaxation(k, V) < best * (1 - 1e-13) else { return }
        let q = items[k].q, w = items[k].w, mult = items[k].mult
        // Copies worth firing at the current V (more are never useful).
        var kmax = 0, Vk = V
        while kmax < mult && kmax < room && Vk * (1 - q) > w { Vk *= q; kmax += 1 }
        var c = kmax
        while c >= 0 {
            take[k] = c
            // The usual counts without a call to pow.
            let qc = c == 0 ? 1 : (c == 1 ? q : (c == 2 ? q * q : pow(q, Double(c))))
            search(k + 1, V * qc, W + Double(c) * w, room - c)
            c -= 1
        }
        take[k] = 0
    }
}

/// The Lagrangian relaxation of the stock constraints Σⱼ xₜⱼ ≤ nₜ with multipliers uₜ ≥ 0:
/// L(u) = Σⱼ minₓ [Vⱼ Πₜ qₜⱼ^xₜⱼ + Σₜ (cₜ + uₜ) xₜⱼ] − Σₜ uₜ nₜ, a lower bound on the optimum for
/// every u ≥ 0 (each target's minimum is exact). Its maximum equals the bound of the set-
/// partitioning LP that column generation solves (each target's columns are its weapon subsets).
public struct WTALagrangian {
    public let problem: WTAProblem
    var pricer = TargetPricer()
    var price: [Double]
    var out: [Int32]
    var touched: [Int] = []
    public var pricerNodes: Int { pricer.nodes }
    /// Subproblem solution of the last evaluation (k × m counts).
    public private(set) var x: [Int32]

    public init(_ p: WTAProblem) {
        problem = p
        price = p.cost
        out = [Int32](repeating: 0, count: p.types)
        x = [Int32](repeating: 0, count: p.types * p.targets)
    }

    /// Each target's minimising counts of the last evaluation, as (type, count) entries:
    /// target j's are `columnType[columnStart[j]..<columnStart[j + 1]]`.
    public private(set) var columnStart: [Int] = []
    public private(set) var columnType: [Int32] = [], columnCount: [Int32] = []

    /// Each target's minimum at the last evaluation (without the −Σₜ uₜ nₜ term).
    public private(set) var targetValue: [Double] = []

    /// One evaluation's answer for every target (its minimum and minimising counts): a later
    /// evaluation at the same multipliers, where only one target's fixes differ (a child node's
    /// first evaluation at its parent's best multipliers), takes the others' from it.
    public struct Snapshot: Sendable {
        var value: [Double], start: [Int], type: [Int32], count: [Int32]
    }
    public var snapshot: Snapshot { Snapshot(value: targetValue, start: columnStart, type: columnType, count: columnCount) }

    /// L(u) under branching fixes (each target's fixes grouped by target). With `reusing`, a
    /// snapshot of an evaluation at the same u under looser fixes (a child node's first
    /// evaluation at its parent's best multipliers; a child's fixes only ever tighten its
    /// parent's): a target whose answer there respects its fixes here keeps it, for the minimum
    /// over a smaller set that still holds the old minimiser is the old minimum. Only the others
    /// are priced again.
    public mutating func evaluate(_ u: [Double], fixesByTarget: [[WTAFix]], reusing snap: Snapshot? = nil) -> Double {
        let p = problem, m = p.targets
        var total = 0.0
        for t in 0..<p.types { price[t] = p.cost[t] + u[t]; total -= u[t] * Double(p.count[t]) }
        // Clear the last evaluation's entries of x (not all k × m of it).
        if columnStart.count == m + 1 {
            for j in 0..<m { for e in columnStart[j]..<columnStart[j + 1] { x[Int(columnType[e]) * m + j] = 0 } }
        }
        columnStart.removeAll(keepingCapacity: true); columnType.removeAll(keepingCapacity: true)
        columnCount.removeAll(keepingCapacity: true)
        if targetValue.count != m { targetValue = [Double](repeating: 0, count: m) }
        for j in 0..<m {
            columnStart.append(columnType.count)
            if let s = snap, Self.respects(s, target: j, fixes: fixesByTarget.isEmpty ? [] : fixesByTarget[j]) {
                for e in s.start[j]..<s.start[j + 1] {
                    let t = s.type[e], c = s.count[e]
                    x[Int(t) * m + j] = c
                    columnType.append(t); columnCount.append(c)
                }
                targetValue[j] = s.value[j]
                total += s.value[j]
                continue
            }
            touched.removeAll(keepingCapacity: true)
            let v = pricer.solve(p, target: j, price: price, fixes: fixesByTarget.isEmpty ? [] : fixesByTarget[j][...],
                                 out: &out, touched: &touched)
            targetValue[j] = v
            total += v
            for t in touched where out[t] != 0 {
                x[t * m + j] = out[t]
                columnType.append(Int32(t)); columnCount.append(out[t])
                out[t] = 0
            }
        }
        columnStart.append(columnType.count)
        return total
    }

    /// Whether target j's answer in a snapshot has every count within its fixes.
    static func respects(_ s: Snapshot, target j: Int, fixes: [WTAFix]) -> Bool {
        WTAFix.allow(fixes, types: s.type, counts: s.count, s.start[j]..<s.start[j + 1])
    }
}

/// Columns (one target's counts of each type) found by exact pricing, kept so that the
/// multipliers can be moved many times between two exact evaluations: the Lagrangian over the
/// pool, min over the pool's columns instead of over all subsets, is an upper estimate of L(u)
/// that costs a few additions per column. Column generation in Lagrangian form.
struct ColumnPool {
    let problem: WTAProblem
    /// Each column's target, Vⱼ Πₜ qₜⱼ^xₜ and (type, count) entries.
    var target: [Int32] = []
    var base: [Double] = []
    var entryStart: [Int32] = [0]
    var entryType: [Int32] = [], entryCount: [Int32] = []
    /// Whether each column respects the current node's fixes.
    var valid: [Bool] = []
    /// Each target's columns (ids), to tell a new column from a known one.
    var ofTarget: [[Int32]]
    /// The minimising column of each target at the last `evaluate`.
    var chosen: [Int32]
    /// Column ids grouped by target, in the order they were added: target j's are
    /// tCols[tStart[j]..<tStart[j + 1]] (regrouped after columns were added).
    var tStart: [Int32] = [], tCols: [Int32] = []

    init(_ p: WTAProblem) {
        problem = p
        chosen = [Int32](repeating: -1, count: p.targets)
        ofTarget = [[Int32]](repeating: [], count: p.targets)
    }

    private mutating func group() {
        let m = problem.targets
        guard tStart.count != m + 1 || tCols.count != base.count else { return }
        tStart = [Int32](repeating: 0, count: m + 1)
        for j in target { tStart[Int(j) + 1] += 1 }
        for j in 0..<m { tStart[j + 1] += tStart[j] }
        var fill = tStart
        tCols = [Int32](repeating: 0, count: base.count)
        for (c, j) in target.enumerated() { tCols[Int(fill[Int(j)])] = Int32(c); fill[Int(j)] += 1 }
    }

    /// Adds target j's column of (type, count) entries unless known; returns whether it was new.
    @discardableResult
    mutating func add(target j: Int, types: ArraySlice<Int32>, counts: ArraySlice<Int32>, fixes: [WTAFix]) -> Bool {
        let p = problem, m = p.targets
        // Known if one of the target's columns has the same entries in the same order.
        for c in ofTarget[j] {
            let a = Int(entryStart[Int(c)]), b = Int(entryStart[Int(c) + 1])
            guard b - a == types.count else { continue }
            var same = true
            var e = a
            for (t, n) in zip(types, counts) {
                if entryType[e] != t || entryCount[e] != n { same = false; break }
                e += 1
            }
            if same { return false }
        }
        var v = p.values[j]
        for (t, c) in zip(types, counts) { v *= pow(p.q[Int(t) * m + j], Double(c)) }
        base.append(v)
        entryType.append(contentsOf: types); entryCount.append(contentsOf: counts)
        entryStart.append(Int32(entryType.count))
        let id = Int32(base.count - 1)
        target.append(Int32(j))
        ofTarget[j].append(id)
        valid.append(respects(id, fixes: fixes))
        return true
    }

    func respects(_ c: Int32, fixes: [WTAFix]) -> Bool {
        WTAFix.allow(fixes, types: entryType, counts: entryCount, Int(entryStart[Int(c)])..<Int(entryStart[Int(c) + 1]))
    }

    /// Marks the columns that respect a node's fixes (grouped by target; empty: no fixes).
    mutating func restrict(to fixesByTarget: [[WTAFix]]) {
        restrictions &+= 1
        for c in valid.indices {
            valid[c] = fixesByTarget.isEmpty || respects(Int32(c), fixes: fixesByTarget[Int(target[c])])
        }
    }

    /// The valid columns packed in evaluation order (by target, then as added), each with its
    /// base and entries (type, count as a double) contiguous: the pool's ascent reads them
    /// sequentially. Repacked after columns are added or the fixes change.
    private var packStart: [Int32] = [], packId: [Int32] = [], packBase: [Double] = [], packEnd: [Int32] = []
    private var packType: [Int32] = [], packCount: [Double] = []
    private var packedColumns = -1, packedRestrictions = -1
    private var restrictions = 0

    private mutating func pack() {
        group()
        guard packedColumns != base.count || packedRestrictions != restrictions else { return }
        packedColumns = base.count; packedRestrictions = restrictions
        let m = problem.targets
        packStart.removeAll(keepingCapacity: true); packId.removeAll(keepingCapacity: true)
        packBase.removeAll(keepingCapacity: true); packEnd.removeAll(keepingCapacity: true)
        packType.removeAll(keepingCapacity: true); packCount.removeAll(keepingCapacity: true)
        for j in 0..<m {
            packStart.append(Int32(packId.count))
            for r in Int(tStart[j])..<Int(tStart[j + 1]) {
                let c = Int(tCols[r])
                guard valid[c] else { continue }
                packId.append(Int32(c))
                packBase.append(base[c])
                for e in Int(entryStart[c])..<Int(entryStart[c + 1]) {
                    packType.append(entryType[e]); packCount.append(Double(entryCount[e]))
                }
                packEnd.append(Int32(packType.count))
            }
        }
        packStart.append(Int32(packId.count))
        // Which packed columns hold each type, and each packed column's target.
        let k = problem.types, n = packId.count
        packTarget.removeAll(keepingCapacity: true)
        for j in 0..<m { for _ in Int(packStart[j])..<Int(packStart[j + 1]) { packTarget.append(Int32(j)) } }
        typeStart = [Int32](repeating: 0, count: k + 1)
        for t in packType { typeStart[Int(t) + 1] += 1 }
        for t in 0..<k { typeStart[t + 1] += typeStart[t] }
        var fill = typeStart
        typeCol = [Int32](repeating: 0, count: packType.count)
        var e = 0
        for r in 0..<n {
            while e < Int(packEnd[r]) {
                let t = Int(packType[e])
                typeCol[Int(fill[t])] = Int32(r); fill[t] += 1
                e += 1
            }
        }
        cacheValid = false
    }

    /// Forgets what `evaluate` keeps, so that the next call values every column (for tests).
    mutating func invalidate() { cacheValid = false }

    /// What `evaluate` keeps between calls: each packed column's value and each target's least
    /// (value, packed column) at the prices `lastW`, and the stock the chosen columns use. Valid
    /// until the pool is packed again.
    private var colValue: [Double] = [], targetBest: [Double] = [], targetBr: [Int32] = []
    private var lastW: [Double] = []
    /// The stock each type's chosen columns use, at the last `evaluate`.
    private(set) var usedNow: [Int] = []
    private var typeStart: [Int32] = [], typeCol: [Int32] = [], packTarget: [Int32] = []
    private var dirty: [Bool] = [], dirtyList: [Int32] = []
    private var cacheValid = false

    /// The Lagrangian over the pool at prices w = c + u, writing the stock each type would use
    /// into `used`. Every target has a valid column (an exact evaluation at the node adds one).
    ///
    /// Between exact evaluations the subgradient is sparse (a type used exactly as often as its
    /// stock keeps its multiplier: on u01_100x100 about 10 prices of 100 move per step), so only
    /// the columns holding a type whose price moved are valued again, and only their targets'
    /// minima taken again. Each value is computed by the same sum in the same order as a full
    /// evaluation, and each minimum over the same values in the same order, so the result is
    /// the full evaluation's to the bit.
    mutating func evaluate(price w: [Double], u: [Double], used: inout [Int]) -> Double {
        let total = evaluate(price: w, u: u, moved: nil)
        used = usedNow
        return total
    }

    /// The same, with `moved` (if not nil) holding every type whose price may have changed since
    /// the last call (others may be listed too): only those are compared. The stock used is
    /// left in `usedNow`.
    mutating func evaluate(price w: [Double], u: [Double], moved: UnsafeBufferPointer<Int32>?) -> Double {
        // Not `let p = problem`: a copy of the problem retains each of its arrays, per step.
        let m = problem.targets, k = problem.types
        pack()
        if cacheValid { update(w, moved: moved) } else { evaluateAll(w) }
        return u.withUnsafeBufferPointer { U in
        problem.count.withUnsafeBufferPointer { N in
        targetBest.withUnsafeBufferPointer { TB in
            var total = 0.0
            for t in 0..<k { total -= U[t] * Double(N[t]) }
            for j in 0..<m { total += TB[j] }
            return total
        }
        }
        }
    }

    /// Column r's value at prices W: its base plus its entries' prices times counts, in order.
    @inline(__always) private static func value(_ r: Int, _ B: UnsafeBufferPointer<Double>, _ PE: UnsafeBufferPointer<Int32>,
                                                _ ET: UnsafeBufferPointer<Int32>, _ EC: UnsafeBufferPointer<Double>,
                                                _ W: UnsafeBufferPointer<Double>) -> Double {
        var v = B[r]
        var e = r == 0 ? 0 : Int(PE[r &- 1])
        let end = Int(PE[r])
        while e < end { v += W[Int(ET[e])] * EC[e]; e &+= 1 }
        return v
    }

    /// Every column valued and every target's minimum taken (after packing).
    private mutating func evaluateAll(_ w: [Double]) {
        let m = problem.targets, k = problem.types, n = packId.count
        colValue = [Double](repeating: 0, count: n)
        if targetBest.count != m {
            targetBest = [Double](repeating: 0, count: m); targetBr = [Int32](repeating: -1, count: m)
            dirty = [Bool](repeating: false, count: m)
        }
        usedNow = [Int](repeating: 0, count: k)
        packBase.withUnsafeBufferPointer { B in
        packEnd.withUnsafeBufferPointer { PE in
        packType.withUnsafeBufferPointer { ET in
        packCount.withUnsafeBufferPointer { EC in
        w.withUnsafeBufferPointer { W in
            for r in 0..<n { colValue[r] = Self.value(r, B, PE, ET, EC, W) }
        }
        }
        }
        }
        }
        for j in 0..<m { takeMinimum(j) }
        lastW = w
        cacheValid = true
    }

    /// Only the columns of the types whose price changed since the last call valued again, and
    /// their targets' minima taken again.
    private mutating func update(_ w: [Double], moved: UnsafeBufferPointer<Int32>?) {
        let k = problem.types
        if dirtyList.count < problem.targets { dirtyList = [Int32](repeating: 0, count: problem.targets) }
        packBase.withUnsafeBufferPointer { B in
        packEnd.withUnsafeBufferPointer { PE in
        packType.withUnsafeBufferPointer { ET in
        packCount.withUnsafeBufferPointer { EC in
        packStart.withUnsafeBufferPointer { PS in
        packId.withUnsafeBufferPointer { PI in
        packTarget.withUnsafeBufferPointer { PT in
        typeStart.withUnsafeBufferPointer { TS in
        typeCol.withUnsafeBufferPointer { TC in
        w.withUnsafeBufferPointer { W in
        lastW.withUnsafeMutableBufferPointer { LW in
        colValue.withUnsafeMutableBufferPointer { CV in
        dirty.withUnsafeMutableBufferPointer { D in
        dirtyList.withUnsafeMutableBufferPointer { DL in
        targetBest.withUnsafeMutableBufferPointer { TB in
        targetBr.withUnsafeMutableBufferPointer { TR in
        usedNow.withUnsafeMutableBufferPointer { US in
        chosen.withUnsafeMutableBufferPointer { CH in
            var nd = 0
            @inline(__always) func visit(_ t: Int) {
                guard W[t] != LW[t] else { return }
                LW[t] = W[t]
                for i in Int(TS[t])..<Int(TS[t &+ 1]) {
                    let r = Int(TC[i])
                    CV[r] = Self.value(r, B, PE, ET, EC, W)
                    let j = Int(PT[r])
                    if !D[j] { D[j] = true; DL[nd] = Int32(j); nd &+= 1 }
                }
            }
            if let mv = moved { for i in 0..<mv.count { visit(Int(mv[i])) } } else { for t in 0..<k { visit(t) } }
            for d in 0..<nd {
                let j = Int(DL[d])
                D[j] = false
                var best = Double.infinity, br = -1
                for r in Int(PS[j])..<Int(PS[j &+ 1]) where CV[r] < best { best = CV[r]; br = r }
                TB[j] = best
                let old = Int(TR[j])
                if old == br { continue }
                if old >= 0 {
                    for x in (old == 0 ? 0 : Int(PE[old &- 1]))..<Int(PE[old]) { US[Int(ET[x])] &-= Int(EC[x]) }
                }
                TR[j] = Int32(br)
                if br >= 0 {
                    CH[j] = PI[br]
                    for x in (br == 0 ? 0 : Int(PE[br &- 1]))..<Int(PE[br]) { US[Int(ET[x])] &+= Int(EC[x]) }
                } else {
                    CH[j] = -1
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
        }
        }
        }
        }
        }
        }
        }
        }
    }

    /// Target j's least column (the first of least value, in packing order), its choice and
    /// the stock it uses (counted afresh: `usedNow` was cleared).
    private mutating func takeMinimum(_ j: Int) {
        var best = Double.infinity, br = -1
        for r in Int(packStart[j])..<Int(packStart[j + 1]) where colValue[r] < best { best = colValue[r]; br = r }
        targetBest[j] = best
        targetBr[j] = Int32(br)
        if br >= 0 {
            chosen[j] = packId[br]
            for x in (br == 0 ? 0 : Int(packEnd[br - 1]))..<Int(packEnd[br]) { usedNow[Int(packType[x])] += Int(packCount[x]) }
        } else {
            chosen[j] = -1
        }
    }

    /// The objective of the columns chosen at the last evaluation (`used`: their stock by type).
    func chosenObjective(used: [Int]) -> Double {
        var f = 0.0
        for j in 0..<problem.targets where chosen[j] >= 0 { f += base[Int(chosen[j])] }
        for t in 0..<problem.types { f += problem.cost[t] * Double(used[t]) }
        return f
    }

    /// The counts (k × m) of the columns chosen at the last evaluation.
    func chosenCounts() -> [Int32] {
        let p = problem, m = p.targets
        var x = [Int32](repeating: 0, count: p.types * m)
        for j in 0..<m where chosen[j] >= 0 {
            let c = Int(chosen[j])
            for e in Int(entryStart[c])..<Int(entryStart[c + 1]) { x[Int(entryType[e]) * m + j] = entryCount[e] }
        }
        return x
    }
}

/// The result of an exact (or time-limited) solve.
public struct WTAResult: Sendable {
    public var best: WTAState
    public var objective: Double
    public var lowerBound: Double
    public var nodes: Int
    public var iterations: Int
    public var seconds: Double
    public var provenOptimal: Bool
    public var gap: Double { objective > 0 ? max(0, (objective - lowerBound) / objective) : 0 }
}

/// Branch and bound with Lagrangian bounds: at each node the multipliers are raised by
/// subgradient ascent with Polyak steps towards a level above the incumbent (warm-started from the
/// parent's), the subproblem solutions are repaired into feasible assignments and improved by
/// local search, and a node is closed when its bound reaches the incumbent. Anytime: at the time
/// limit it returns the incumbent and the least bound of the open nodes (a valid lower bound).
public enum WTAExact {
    /// `iterationLimit` bounds the subgradient iterations over all nodes: a work limit that, unlike
    /// the CPU-time limit, gives the same answer on every run (for the simulation's re-solves).
    public static func solve(_ p: WTAProblem, timeLimit: Double = 10, relativeGap: Double = 1e-9,
                             iterationLimit: Int = .max, start: WTAState? = nil) -> WTAResult {
        let t0 = WTAClock.now()
        let deadline = t0 + timeLimit
        // The first incumbent: greedy, then the candidate and the exhaustive local searches (with
        // the column pool, starting from the candidate search's optimum no longer slows the
        // tree, and on the 2:1 instances it starts from a better solution).
        let cands = WTACandidates(p)
        var incumbent = start ?? {
            var s = WTAHeuristics.greedy(p, candidates: cands)
            WTAHeuristics.localSearch(&s, candidates: cands, deadline: deadline)
            WTAHeuristics.exhaustiveLocalSearch(&s, deadline: deadline)
            return s
        }()
        var lag = WTALagrangian(p)
        var pool = ColumnPool(p)
        let m = p.targets
        // `snap`: the parent's evaluation at u (under the parent's fixes, which the node's tighten).
        struct Node { var fixes: [WTAFix]; var u: [Double]; var bound: Double; var snap: WTALagrangian.Snapshot? = nil }
        let rootU = exchangePrices(&incumbent, deadline: deadline) ?? [Double](repeating: 0, count: p.types)
        var ub = incumbent.objective
        var open: [Node] = [Node(fixes: [], u: rootU, bound: -.infinity)]
        var nodes = 0, iterations = 0
        var closedMin = Double.infinity  // least bound of the nodes closed so far
        var unresolved = Double.infinity  // least bound of nodes left without a branching pair
        func closed(_ lb: Double) -> Bool { lb >= ub - relativeGap * max(1, abs(ub)) }

        while !open.isEmpty {
            // Best-bound node first.
            var bi = 0
            for k in open.indices where open[k].bound < open[bi].bound { bi = k }
            let node = open.remove(at: bi)
            if closed(node.bound) { closedMin = min(closedMin, node.bound); continue }
            if WTAClock.now() > deadline || iterations >= iterationLimit {
                open.append(node)
                break
            }
            // A node whose forced shots need more of a type than its stock holds no assignment.
            guard let byTarget = propagate(node.fixes, p) else { continue }
            nodes += 1
            // Subgradient ascent on the pool's Lagrangian, with an exact evaluation (a valid bound,
            // and new columns) first and then whenever the pool's ascent has run its course.
            pool.restrict(to: byTarget)
            var u = node.u
            var bestL = node.bound, bestU = u, bestX = lag.x
            var bestSnap: WTALagrangian.Snapshot? = nil
            var price = p.cost
            var used = [Int](repeating: 0, count: p.types)
            // The subgradient g, and the types where it is not zero (`active`): only their
            // multipliers move in a step, so only their prices, which is all the pool needs to
            // look at. After any other change of u, every price is set again, on that pass and the
            // next: the first step's max(0, ·) could move a negative uₜ whose gₜ = 0.
            let k = p.types
            var g = [Double](repeating: 0, count: k)
            var active = [Int32](repeating: 0, count: k), activeCount = 0
            var densePasses = 2
            var step = 1.0, sinceImproved = 0
            var poolBest = -Double.infinity, poolBestU = u
            // Below the root a node whose bound stalls short of the incumbent is better branched on
            // than pushed: its children each need only part of the rise.
            let innerLimit = nodes == 1 ? 1_000_000 : 600
            var inner = 0, sinceExact = 0, exacts = 0
            var lastExactL = -Double.infinity  // the node's previous exact evaluation
            var exactU: [Double]? = u  // where to evaluate exactly next
            while true {
                if let ue = exactU {
                    exactU = nil
                    if WTAClock.now() > deadline || iterations >= iterationLimit { break }
                    iterations += 1
                    exacts += 1
                    // The first evaluation is at the node's u, its parent's best: only the branched
                    // target's subproblem has changed.
                    let L = exacts == 1 ? lag.evaluate(ue, fixesByTarget: byTarget, reusing: node.snap)
                        : lag.evaluate(ue, fixesByTarget: byTarget)
                    if exacts == 1 { bestSnap = lag.snapshot }  // at bestU = u, until a better one
                    if L > bestL + 1e-12 * max(1, abs(L)) { bestL = L; bestU = ue; bestX = lag.x; bestSnap = lag.snapshot }
                    var added = 0
                    for j in 0..<m {
                        let r = lag.columnStart[j]..<lag.columnStart[j + 1]
                        if pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r],
                                    fixes: byTarget.isEmpty ? [] : byTarget[j]) { added += 1 }
                    }
                    // The subproblem's answer: an incumbent if it respects every stock, else repaired.
                    for t in 0..<p.types { used[t] = 0 }
                    for (t, c) in zip(lag.columnType, lag.columnCount) { used[Int(t)] += Int(c) }
                    let feasible = (0..<p.types).allSatisfy { used[$0] <= p.count[$0] }
                    if feasible {
                        let st = WTAState(p, counts: lag.x)
                        if st.objective < ub { incumbent = st; ub = st.objective }
                    } else if exacts % 4 == 1 {
                        // Repairs (each with local search) on the first evaluation at a node and
                        // every fourth after: most of the multipliers' moves change little.
                        var st = repair(p, lag.x)
                        // The candidate search first; the exhaustive one only polishes a repair that
                        // already beats the incumbent. (On the public and 18 generated instances it
                        // never took one that did not across the line: it found 0.1–5 on repairs
                        // that stayed 0.4–35 above the incumbent, at a tenth of the solve's work.)
                        WTAHeuristics.localSearch(&st, candidates: cands, deadline: deadline)
                        if st.objective < ub - 1e-12 * max(1, ub) {
                            WTAHeuristics.exhaustiveLocalSearch(&st, deadline: deadline)
                            incumbent = st; ub = st.objective
                        }
                    }
                    if closed(bestL) { break }
                    // Tailing off: the pool already held every answer at this point and the bound
                    // rose by less than a hundredth of the gap left since the last exact
                    // evaluation; branching gains more than polishing the multipliers (Lübbecke &
                    // Desrosiers 2005). On u01_100x100 the root's last 500 pool steps raised the
                    // bound by 5 × 10⁻⁷ with a gap of 0.06.
                    if added == 0 && exacts > 1 && L - lastExactL < Self.tailingOff * (ub - L) { break }
                    lastExactL = L
                    if (added == 0 && step < 1e-6) || inner >= innerLimit || iterations >= iterationLimit { break }
                    if added > 0 {
                        // The pool's Lagrangian fell where the new columns pay: start its ascent afresh.
                        poolBest = -.infinity; sinceImproved = 0; step = max(step, 0.25)
                    }
                    u = ue
                    densePasses = 2
                    sinceExact = 0
                }
                inner += 1; sinceExact += 1
                if inner % 16 == 0 { iterations += 1 }  // the work limit counts 16 pool steps as one
                if inner % 64 == 0 && WTAClock.now() > deadline { break }
                let dense = densePasses > 0
                price.withUnsafeMutableBufferPointer { PR in
                u.withUnsafeBufferPointer { U in
                p.cost.withUnsafeBufferPointer { C in
                active.withUnsafeBufferPointer { A in
                    if dense {
                        for t in 0..<k { PR[t] = C[t] + U[t] }
                    } else {
                        for i in 0..<activeCount { let t = Int(A[i]); PR[t] = C[t] + U[t] }
                    }
                }
                }
                }
                }
                let Lp = active.withUnsafeBufferPointer { A in
                    pool.evaluate(price: price, u: u, moved: dense ? nil : UnsafeBufferPointer(rebasing: A[0..<activeCount]))
                }
                if Lp > poolBest + 1e-12 * max(1, abs(Lp)) {
                    poolBest = Lp; poolBestU = u; sinceImproved = 0
                } else {
                    sinceImproved += 1
                    if sinceImproved >= 20 { step *= 0.5; sinceImproved = 0 }
                }
                // The subgradient: each type's use beyond its stock (not below zero at u = 0).
                // Over every type without branches (at a hundred types this is cheaper than
                // keeping it sparse), listing the types where it is not zero as it goes.
                var n = 0
                let (norm2, feasible) = pool.usedNow.withUnsafeBufferPointer { US in
                p.count.withUnsafeBufferPointer { N in
                u.withUnsafeBufferPointer { U in
                g.withUnsafeMutableBufferPointer { G in
                active.withUnsafeMutableBufferPointer { A -> (Int, Bool) in
                    // In integers: the squared norm of whole numbers is exact in any order (the
                    // same value as a sum in doubles).
                    var norm2 = 0, over = 0
                    for t in 0..<k {
                        let d = US[t] &- N[t]
                        over |= d > 0 ? 1 : 0
                        let gt = U[t] <= 0 && d < 0 ? 0 : d
                        G[t] = Double(gt)
                        norm2 &+= gt &* gt
                        A[n] = Int32(t)
                        n &+= gt != 0 ? 1 : 0
                    }
                    return (norm2, over == 0)
                }
                }
                }
                }
                }
                activeCount = n
                if feasible && pool.chosenObjective(used: pool.usedNow) < ub - 1e-12 * max(1, ub) {
                    // Columns are real subsets: an assignment that respects every stock.
                    let st = WTAState(p, counts: pool.chosenCounts())
                    if st.objective < ub - 1e-12 * max(1, ub) { incumbent = st; ub = st.objective }
                }
                // Back to exact pricing when the pool's ascent has converged or closed the gap
                // (the pool's value is only an estimate from above), or now and then.
                if norm2 == 0 || closed(poolBest) || step < 1e-6 || sinceExact >= 400 || inner >= innerLimit
                    || iterations >= iterationLimit {
                    exactU = poolBestU
                    continue
                }
                // Polyak's step towards a level above the incumbent by the current gap: aimed at the
                // incumbent alone, the steps shrink as the incumbent nears the optimum (with the
                // optimal value known from the start, u01_100x100 took 41 nodes instead of 9).
                let target = bestL.isFinite ? ub + max(ub - bestL, 0) : ub
                let s = step * max(target - Lp, 1e-9 * max(1, abs(ub))) / Double(norm2)
                u.withUnsafeMutableBufferPointer { U in
                g.withUnsafeBufferPointer { G in
                    for t in 0..<k { U[t] = max(0, U[t] + s * G[t]) }
                }
                }
                // Only the listed types' uₜ moved, unless this was the first step from a new u.
                densePasses = max(0, densePasses - 1)
            }
            if closed(bestL) { closedMin = min(closedMin, bestL); continue }
            // Branch on a (type, target) pair the relaxation uses: an over-used type first.
            var bt = -1, bj = -1, score = -Double.infinity
            for t in 0..<p.types {
                var used = 0
                for j in 0..<m { used += Int(bestX[t * m + j]) }
                let over = used - p.count[t]
                for j in 0..<m where bestX[t * m + j] > 0 {
                    let fixedHere = node.fixes.contains { $0.type == t && $0.target == j && $0.lo == $0.hi }
                    if fixedHere { continue }
                    let sc = Double(over) * 1e6 + bestU[t]
                    if sc > score { score = sc; bt = t; bj = j }
                }
            }
            // Nothing left to branch on (every pair the relaxation uses is fixed): keep the node's
            // bound as unresolved rather than claim it closed.
            guard bt >= 0 else { unresolved = min(unresolved, bestL); continue }
            var lo: Int32 = 0, hi = Int32(p.count[bt])
            var rest = node.fixes
            if let k = rest.firstIndex(where: { $0.type == bt && $0.target == bj }) { lo = rest[k].lo; hi = rest[k].hi; rest.remove(at: k) }
            let v = max(bestX[bt * m + bj], lo + 1) - 1  // x ≤ v  or  x ≥ v + 1
            if v >= lo {
                open.append(Node(fixes: rest + [WTAFix(type: bt, target: bj, lo: lo, hi: min(hi, v))], u: bestU, bound: bestL,
                                 snap: bestSnap))
            }
            if v + 1 <= hi {
                open.append(Node(fixes: rest + [WTAFix(type: bt, target: bj, lo: v + 1, hi: hi)], u: bestU, bound: bestL,
                                 snap: bestSnap))
            }
        }
        let proven = open.allSatisfy { closed($0.bound) } && unresolved == .infinity
        var lb = min(open.map(\.bound).min() ?? .infinity, closedMin, unresolved)
        if lb == .infinity { lb = ub }
        // Stopped before the root's first evaluation: the objective (surviving value plus firing
        // costs) is never negative.
        lb = max(lb, 0)
        lb = min(lb, ub)
        return WTAResult(best: incumbent, objective: ub, lowerBound: lb, nodes: nodes,
                         iterations: iterations, seconds: WTAClock.now() - t0, provenOptimal: proven)
    }

    /// A node's ascent stops when an exact evaluation adds no column and raised the bound by less
    /// than this share of the gap left. The figures are flat from 0.003 to 0.1 on the public
    /// instances that branch (u01_100x100, typed_feas_cost_150x100).
    static let tailingOff = 0.01

    /// A node's fixes grouped by target, with what they imply across targets: shots forced at
    /// some targets use a type's stock, so every other target may take at most what is left
    /// (xₜⱼ ≤ nₜ − Σⱼ′≠ⱼ loₜⱼ′; with single weapons, a weapon forced on one target is barred from
    /// every other). The Lagrangian then cannot price a forced weapon a second time elsewhere,
    /// which is what makes the branch that forces a shot raise the bound. Nil when the forced
    /// shots of a type exceed its stock. Empty (no grouping) when there are no fixes.
    static func propagate(_ fixes: [WTAFix], _ p: WTAProblem) -> [[WTAFix]]? {
        if fixes.isEmpty { return [] }
        let m = p.targets
        var by = [[WTAFix]](repeating: [], count: m)
        for f in fixes { by[f.target].append(f) }
        var forced: [(type: Int, lo: Int32)] = []
        for f in fixes where f.lo > 0 {
            if let k = forced.firstIndex(where: { $0.type == f.type }) { forced[k].lo += f.lo } else { forced.append((f.type, f.lo)) }
        }
        forced.sort { $0.type < $1.type }
        for (t, total) in forced {
            let n = Int32(p.count[t])
            if total > n { return nil }
            for j in 0..<m {
                if let k = by[j].firstIndex(where: { $0.type == t }) {
                    by[j][k].hi = min(by[j][k].hi, n - (total - by[j][k].lo))
                } else {
                    by[j].append(WTAFix(type: t, target: j, lo: 0, hi: n - total))
                }
            }
        }
        return by
    }

    /// A feasible assignment from a relaxed one: drop the least useful shots of every over-used
    /// type, then fire spare weapons greedily.
    static func repair(_ p: WTAProblem, _ x: [Int32]) -> WTAState {
        let m = p.targets
        var st = WTAState(p, counts: x)
        for t in 0..<p.types where st.spare[t] < 0 {
            while st.spare[t] < 0 {
                // Remove the shot whose removal costs least.
                var bj = -1, bl = Double.infinity
                for j in 0..<m where st.x[t * m + j] > 0 {
                    let loss = st.survive[j] * (1 / p.q[t * m + j] - 1) - p.cost[t]
                    if loss < bl { bl = loss; bj = j }
                }
                st.remove(t, bj)
            }
        }
        // Greedy fill: the shot of largest positive gain sⱼ pₜⱼ − cₜ, the first by type and then
        // target among equals, while there is one. Lazily: each type with stock keeps its best
        // target (the first of largest gain). A shot at j lowers only target j's gains (and may
        // close it), so only the types whose best was j look again; the others' best stands.
        let k = p.types
        var bestG = [Double](repeating: 0, count: k), bestJ = [Int](repeating: -1, count: k)
        func scan(_ t: Int) {
            var bj = -1, bg = 0.0
            for j in 0..<m where p.feasible[t * m + j] && st.open(j) {
                let g = st.survive[j] * (1 - p.q[t * m + j]) - p.cost[t]
                if g > bg { bg = g; bj = j }
            }
            bestG[t] = bg; bestJ[t] = bj
        }
        for t in 0..<k where st.spare[t] > 0 { scan(t) }
        while true {
            var bt = -1, bg = 0.0
            for t in 0..<k where st.spare[t] > 0 && bestJ[t] >= 0 && bestG[t] > bg { bg = bestG[t]; bt = t }
            guard bt >= 0 else { break }
            let bj = bestJ[bt]
            st.add(bt, bj)
            for t in 0..<k where st.spare[t] > 0 && bestJ[t] == bj { scan(t) }
        }
        st.refresh()
        return st
    }
}
