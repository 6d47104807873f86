import Foundation

extension WTAExact {
    /// Dual prices from the one-for-one exchanges of an assignment: multipliers u ≥ 0 (zero
    /// for types with stock left) under which, at every target, no single removal, addition or
    /// replacement of a shot pays. These are difference constraints (uₜ − uₜ' ≥ d), solved as
    /// shortest paths from a reference node (queue-based Bellman–Ford); the distances are the
    /// largest such prices. An edge's weight is the objective change of its exchange, so a
    /// negative cycle is an improving cyclic exchange of weapons between targets (the very-large-
    /// scale neighbourhood of Ahuja et al. 2007): it is applied and the search repeated. Returns
    /// the prices of the final assignment, or nil if a cycle could not be applied (it met a
    /// target twice and did not improve).
    public static func exchangePrices(_ st: inout WTAState, deadline: Double = .infinity) -> [Double]? {
        // A fast search on the few best replacements of each shot finds most improving cycles;
        // the prices then come from the complete graph (which may find further cycles).
        var removed = Set<Int64>()
        while true {
            _ = exchangeSearch(&st, candidates: 16, removed: &removed, stopAfterCycle: false, deadline: deadline)
            let before = st.objective
            let u = exchangeSearch(&st, candidates: nil, removed: &removed, stopAfterCycle: true, deadline: deadline)
            if st.objective >= before - 1e-12 * max(1, before) || WTAClock.now() > deadline { return u }
        }
    }

    /// One exchange search (see `exchangePrices`): applies improving cycles until none is left
    /// (or, with `stopAfterCycle`, after the first). With `candidates`, each shot keeps only that
    /// many best replacements. A cycle that visits a target twice and does not improve has its
    /// dearest edge barred (`removed`). The graph is kept per target and only the targets a
    /// cycle touched are rebuilt.
    static func exchangeSearch(_ st: inout WTAState, candidates: Int?, removed: inout Set<Int64>, stopAfterCycle: Bool,
                               deadline: Double) -> [Double]? {
        let p = st.problem
        return p.qByTarget.withUnsafeBufferPointer { qT in
        p.feasibleByTarget.withUnsafeBufferPointer { fT in
        p.q.withUnsafeBufferPointer { q in
        p.feasible.withUnsafeBufferPointer { f in
        p.cost.withUnsafeBufferPointer { c in
            var g = ExchangeGraph(p, candidates: candidates ?? 0, qByTarget: qT, feasibleByTarget: fT, q: q, feasible: f, cost: c)
            defer { g.free() }
            return g.run(&st, removed: &removed, stopAfterCycle: stopAfterCycle, deadline: deadline)
        }
        }
        }
        }
        }
    }
}

/// The graph of one exchange search. Node t < k is type t, node k the source. Edge kinds:
/// removal of `out` at target j (source → out), addition of `into` at j (into → source),
/// replacement of `out` by `into` at j (into → out), and the fixed edges (t → source at 0:
/// uₜ ≥ 0; source → t at 0 for a type with stock left: uₜ = 0). An edge's weight is the
/// objective change of its exchange.
///
/// Each target's removals and replacements (its block) sit in one segment of an edge pool and are
/// rebuilt only when a cycle changes the target; each round lays the graph out by tail (the fixed
/// edges first, then the blocks in target order) for the Bellman–Ford scans. All state is in
/// buffers owned by the graph: the search relaxes millions of edges and rebuilds thousands of
/// blocks, and arrays would check bounds and uniqueness at every write.
struct ExchangeGraph {
    struct Edge { var from: Int32; var to: Int32; var w: Double; var target: Int32; var into: Int32; var out: Int32 }

    let p: WTAProblem
    let m: Int, k: Int, source: Int
    /// Replacements kept per shot (the cheapest), or 0 for all.
    let candidates: Int
    let qT: UnsafeBufferPointer<Double>, fT: UnsafeBufferPointer<Bool>  // by target (j·k + t)
    let q: UnsafeBufferPointer<Double>, f: UnsafeBufferPointer<Bool>    // by type (t·m + j)
    let cost: UnsafeBufferPointer<Double>
    let tol: Double

    // The blocks: target j's edges are pool[segStart[j] ..< segStart[j] + segCount[j]].
    var pool: UnsafeMutablePointer<Edge>, poolCap: Int, poolEnd = 0, live = 0
    let segStart: UnsafeMutablePointer<Int>, segCount: UnsafeMutablePointer<Int>
    /// Barred exchanges by target (keys as in `removed`; most targets have none).
    var bars: [[Int64]]
    // Scratch for one block: the shots' types and the cheapest replacements of one of them.
    let usedTypes: UnsafeMutablePointer<Int>
    let bestC: UnsafeMutablePointer<Double>, bestT: UnsafeMutablePointer<Int32>

    // Each type's best addition (gain, target; −1 for none that pays).
    let addGain: UnsafeMutablePointer<Double>, addTarget: UnsafeMutablePointer<Int>
    // The fixed edges of a round.
    let fixed: UnsafeMutablePointer<Edge>

    // The round's layout by tail: edges start[a] ..< start[a + 1] leave node a; `code` names
    // an edge (≥ 0: its pool index; < 0: fixed edge −1 − code).
    let start: UnsafeMutablePointer<Int32>, fill: UnsafeMutablePointer<Int32>
    var heads: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Double>
    var tails: UnsafeMutablePointer<Int32>, code: UnsafeMutablePointer<Int32>
    var layoutCap: Int

    // The Bellman–Ford state, one entry per node, and its FIFO queue as a ring (a node is queued
    // at most once).
    let dist: UnsafeMutablePointer<Double>, pred: UnsafeMutablePointer<Int32>  // pred: layout index of the edge in
    let inQueue: UnsafeMutablePointer<Bool>, stamp: UnsafeMutablePointer<Int>, ring: UnsafeMutablePointer<Int>

    init(_ p: WTAProblem, candidates: Int, qByTarget: UnsafeBufferPointer<Double>, feasibleByTarget: UnsafeBufferPointer<Bool>,
         q: UnsafeBufferPointer<Double>, feasible: UnsafeBufferPointer<Bool>, cost: UnsafeBufferPointer<Double>) {
        self.p = p
        m = p.targets; k = p.types; source = p.types
        self.candidates = candidates
        qT = qByTarget; fT = feasibleByTarget; self.q = q; f = feasible; self.cost = cost
        tol = 1e-12 * max(1, p.values.max() ?? 1)
        poolCap = max(64, m * 2 * ((candidates > 0 ? min(candidates, k) : k) + 1))
        pool = .allocate(capacity: poolCap)
        segStart = .allocate(capacity: m); segStart.initialize(repeating: 0, count: m)
        segCount = .allocate(capacity: m); segCount.initialize(repeating: 0, count: m)
        bars = [[Int64]](repeating: [], count: m)
        usedTypes = .allocate(capacity: k)
        bestC = .allocate(capacity: max(candidates, 1)); bestT = .allocate(capacity: max(candidates, 1))
        addGain = .allocate(capacity: k); addGain.initialize(repeating: 0, count: k)
        addTarget = .allocate(capacity: k); addTarget.initialize(repeating: -1, count: k)
        fixed = .allocate(capacity: 3 * k)
        start = .allocate(capacity: k + 2); fill = .allocate(capacity: k + 2)
        layoutCap = poolCap + 3 * k
        heads = .allocate(capacity: layoutCap); weights = .allocate(capacity: layoutCap)
        tails = .allocate(capacity: layoutCap); code = .allocate(capacity: layoutCap)
        dist = .allocate(capacity: k + 1); pred = .allocate(capacity: k + 1)
        inQueue = .allocate(capacity: k + 1); stamp = .allocate(capacity: k + 1); ring = .allocate(capacity: k + 2)
    }

    func free() {
        pool.deallocate(); segStart.deallocate(); segCount.deallocate(); usedTypes.deallocate()
        bestC.deallocate(); bestT.deallocate(); addGain.deallocate(); addTarget.deallocate(); fixed.deallocate()
        start.deallocate(); fill.deallocate(); heads.deallocate(); weights.deallocate(); tails.deallocate(); code.deallocate()
        dist.deallocate(); pred.deallocate(); inQueue.deallocate(); stamp.deallocate(); ring.deallocate()
    }

    /// Room for `need` more edges at the pool's end: a full pool is copied, block by block, into
    /// one twice the live size (which drops the segments of rebuilt blocks).
    private mutating func reserve(_ need: Int) {
        guard poolEnd + need > poolCap else { return }
        let cap = max(poolCap, 2 * (live + need))
        let fresh = UnsafeMutablePointer<Edge>.allocate(capacity: cap)
        var end = 0
        for j in 0..<m {
            (fresh + end).update(from: pool + segStart[j], count: segCount[j])
            segStart[j] = end
            end += segCount[j]
        }
        pool.deallocate()
        pool = fresh; poolCap = cap; poolEnd = end
    }

    /// Rebuilds target j's block at the pool's end: for each type it fires, the removal of one
    /// shot, then its replacements by each other feasible type (all; or the `candidates` cheapest
    /// in increasing order, the first type among equals first, or in type order when there are
    /// no more than that), barred ones left out.
    mutating func buildBlock(_ j: Int, _ st: borrowing WTAState) {
        var nUsed = 0
        st.x.withUnsafeBufferPointer { x in
            for t in 0..<k where x[t &* m &+ j] > 0 { usedTypes[nUsed] = t; nUsed &+= 1 }
        }
        let perShot = candidates > 0 ? min(candidates, k) : k
        reserve(nUsed * (perShot + 1))
        live -= segCount[j]
        let s = st.survive[j], col = j &* k, jj = Int32(j)
        let out = pool + poolEnd
        var n = 0
        let barred = !bars[j].isEmpty
        for u in 0..<nUsed {
            let ts = usedTypes[u]
            let qts = qT[col &+ ts], cts = cost[ts], outT = Int32(ts)
            out[n] = Edge(from: Int32(source), to: outT, w: s * (1 / qts - 1) - cts, target: jj, into: -1, out: outT)
            n &+= 1
            var nb = 0
            for t in 0..<k where t != ts && fT[col &+ t] {
                let change = s * (qT[col &+ t] / qts - 1) + cost[t] - cts
                if barred && bars[j].contains(Int64(j) << 40 | Int64(t) << 20 | Int64(ts)) { continue }
                if candidates == 0 {
                    out[n] = Edge(from: Int32(t), to: outT, w: change, target: jj, into: Int32(t), out: outT)
                    n &+= 1
                    continue
                }
                if nb < candidates {
                    // The first ones in type order; sorted (stably) once there are enough.
                    bestC[nb] = change; bestT[nb] = Int32(t)
                    nb &+= 1
                    if nb == candidates {
                        for r in 1..<nb {
                            let cr = bestC[r], tr = bestT[r]
                            var i = r
                            while i > 0 && bestC[i &- 1] > cr { bestC[i] = bestC[i &- 1]; bestT[i] = bestT[i &- 1]; i &-= 1 }
                            bestC[i] = cr; bestT[i] = tr
                        }
                    }
                } else if change < bestC[candidates &- 1] {
                    var i = candidates &- 1
                    while i > 0 && bestC[i &- 1] > change { bestC[i] = bestC[i &- 1]; bestT[i] = bestT[i &- 1]; i &-= 1 }
                    bestC[i] = change; bestT[i] = Int32(t)
                }
            }
            for i in 0..<nb {
                out[n] = Edge(from: bestT[i], to: outT, w: bestC[i], target: jj, into: bestT[i], out: outT)
                n &+= 1
            }
        }
        segStart[j] = poolEnd; segCount[j] = n
        poolEnd += n; live += n
    }

    /// The addition of type t that pays most (uₜ ≥ its gain): only each type's best target binds.
    mutating func bestAddition(_ t: Int, _ st: borrowing WTAState) {
        var bj = -1, bg = 0.0
        let c = cost[t], row = t &* m
        st.survive.withUnsafeBufferPointer { sb in
            if let cap = p.cap {
                st.shots.withUnsafeBufferPointer { nb in
                    cap.withUnsafeBufferPointer { cb in
                        for j in 0..<m where f[row &+ j] && nb[j] < cb[j] {
                            let gain = sb[j] * (1 - q[row &+ j]) - c
                            if gain > bg { bg = gain; bj = j }
                        }
                    }
                }
            } else {
                for j in 0..<m where f[row &+ j] {
                    let gain = sb[j] * (1 - q[row &+ j]) - c
                    if gain > bg { bg = gain; bj = j }
                }
            }
        }
        addGain[t] = bg; addTarget[t] = bj
    }

    /// Lays the round's graph out by tail: a stable counting sort of the fixed edges and then
    /// the blocks in target order.
    private mutating func layout(_ st: borrowing WTAState) {
        var nf = 0
        st.spare.withUnsafeBufferPointer { spare in
            for t in 0..<k {
                fixed[nf] = Edge(from: Int32(t), to: Int32(source), w: 0, target: -1, into: -1, out: -1); nf &+= 1
                if spare[t] > 0 { fixed[nf] = Edge(from: Int32(source), to: Int32(t), w: 0, target: -1, into: -1, out: -1); nf &+= 1 }
                if addTarget[t] >= 0 {
                    fixed[nf] = Edge(from: Int32(t), to: Int32(source), w: -addGain[t], target: Int32(addTarget[t]), into: Int32(t), out: -1)
                    nf &+= 1
                }
            }
        }
        let total = nf + live
        if total > layoutCap {
            heads.deallocate(); weights.deallocate(); tails.deallocate(); code.deallocate()
            layoutCap = 2 * total
            heads = .allocate(capacity: layoutCap); weights = .allocate(capacity: layoutCap)
            tails = .allocate(capacity: layoutCap); code = .allocate(capacity: layoutCap)
        }
        for i in 0...(k + 1) { start[i] = 0 }
        for i in 0..<nf { start[Int(fixed[i].from) &+ 1] &+= 1 }
        for j in 0..<m {
            let b = pool + segStart[j]
            for i in 0..<segCount[j] { start[Int(b[i].from) &+ 1] &+= 1 }
        }
        for i in 0...k { start[i &+ 1] &+= start[i] }
        for i in 0...(k + 1) { fill[i] = start[i] }
        @inline(__always) func place(_ e: Edge, _ c: Int32) {
            let a = Int(e.from)
            let i = Int(fill[a])
            heads[i] = e.to; weights[i] = e.w; tails[i] = e.from; code[i] = c
            fill[a] = Int32(i &+ 1)
        }
        for i in 0..<nf { place(fixed[i], Int32(-1 - i)) }
        for j in 0..<m {
            let s0 = segStart[j]
            for i in s0..<(s0 + segCount[j]) { place(pool[i], Int32(i)) }
        }
    }

    /// The edge at a layout index.
    private func edge(_ i: Int) -> Edge {
        let c = Int(code[i])
        return c >= 0 ? pool[c] : fixed[-1 - c]
    }

    /// Queue-based Bellman–Ford from the source; every k + 1 relaxations the predecessor graph is
    /// searched for a cycle (found early instead of after k passes). Returns a node on a
    /// negative cycle, or −1 when the distances are final.
    private func shortestPaths() -> Int {
        for i in 0...k { dist[i] = .infinity; pred[i] = -1; inQueue[i] = false; stamp[i] = 0 }
        dist[source] = 0
        let slots = k + 2
        var qh = 0, queued = 1
        ring[0] = source; inQueue[source] = true
        var relaxations = 0, walk = 0
        while queued > 0 {
            let a = ring[qh]
            qh = qh &+ 1 == slots ? 0 : qh &+ 1
            queued &-= 1
            inQueue[a] = false
            let da = dist[a]
            for e in Int(start[a])..<Int(start[a &+ 1]) {
                let b = Int(heads[e])
                let nd = da + weights[e]
                guard nd < dist[b] - tol else { continue }
                dist[b] = nd
                pred[b] = Int32(truncatingIfNeeded: e)
                relaxations &+= 1
                if b == source { return source }
                if relaxations % (k &+ 1) == 0 {
                    // Walk the predecessors from b: meeting this walk's stamp is a cycle.
                    walk &+= 1
                    var v = b
                    while v != source && pred[v] >= 0 && stamp[v] != walk {
                        stamp[v] = walk
                        v = Int(tails[Int(pred[v])])
                    }
                    if v != source && pred[v] >= 0 && stamp[v] == walk { return v }
                }
                if !inQueue[b] {
                    inQueue[b] = true
                    let tail = qh &+ queued
                    ring[tail >= slots ? tail &- slots : tail] = b
                    queued &+= 1
                }
            }
        }
        return -1
    }

    /// The search (see `WTAExact.exchangeSearch`).
    mutating func run(_ st: inout WTAState, removed: inout Set<Int64>, stopAfterCycle: Bool, deadline: Double) -> [Double]? {
        for key in removed { bars[Int(key >> 40)].append(key) }
        // The cycles are applied in place and only their targets recomputed: start exact.
        st.refresh()
        for j in 0..<m { buildBlock(j, st) }
        for t in 0..<k { bestAddition(t, st) }
        var cycle: [Edge] = []
        var touched: [Int] = [], changed: [(Int, Int)] = [], oldSurvive: [Double] = [], oldShots: [Int] = []
        var walk = 0
        var rounds = 0
        while true {
            rounds += 1
            if rounds > 100_000 || WTAClock.now() > deadline { return nil }
            layout(st)
            let cycleAt = shortestPaths()
            if cycleAt < 0 {
                return (0..<k).map { max(0, dist[$0].isFinite ? dist[$0] : 0) }
            }
            // The cycle: walk back until a node repeats, then collect the ring from there.
            walk += 1
            for i in 0...k { stamp[i] = 0 }
            var v = cycleAt
            while stamp[v] != walk {
                stamp[v] = walk
                guard pred[v] >= 0 else { return nil }
                v = Int(tails[Int(pred[v])])
            }
            cycle.removeAll(keepingCapacity: true)
            var u = v
            repeat {
                let e = edge(Int(pred[u]))
                cycle.append(e)
                u = Int(e.from)
            } while u != v
            // Apply the cycle in place; undo it if it is not a valid improvement.
            let before = st.objective
            touched.removeAll(keepingCapacity: true)
            changed.removeAll(keepingCapacity: true)
            for ed in cycle {
                let j = Int(ed.target)
                if j < 0 { continue }
                touched.append(j)
                if ed.out >= 0 { st.x[Int(ed.out) * m + j] -= 1; st.spare[Int(ed.out)] += 1; changed.append((Int(ed.out), j)) }
                if ed.into >= 0 { st.x[Int(ed.into) * m + j] += 1; st.spare[Int(ed.into)] -= 1; changed.append((Int(ed.into), j)) }
            }
            touched.sort()
            var distinct = 0
            for i in touched.indices where i == 0 || touched[i] != touched[i - 1] { touched[distinct] = touched[i]; distinct += 1 }
            touched.removeLast(touched.count - distinct)
            oldSurvive.removeAll(keepingCapacity: true)
            oldShots.removeAll(keepingCapacity: true)
            for j in touched { oldSurvive.append(st.survive[j]); oldShots.append(st.shots[j]); st.refreshTarget(j) }
            let valid = changed.allSatisfy { st.spare[$0.0] >= 0 && st.x[$0.0 * m + $0.1] >= 0 }
                && touched.allSatisfy { st.shots[$0] <= p.capacity($0) }
            guard valid, st.objective < before - tol else {
                // Undo.
                for ed in cycle.reversed() {
                    let j = Int(ed.target)
                    if j < 0 { continue }
                    if ed.into >= 0 { st.x[Int(ed.into) * m + j] -= 1; st.spare[Int(ed.into)] += 1 }
                    if ed.out >= 0 { st.x[Int(ed.out) * m + j] += 1; st.spare[Int(ed.out)] -= 1 }
                }
                for (r, j) in touched.enumerated() { st.survive[j] = oldSurvive[r]; st.shots[j] = oldShots[r] }
                // Not a valid improvement (a target met twice): bar the cycle's dearest exchange.
                var worst = -1, ww = -Double.infinity
                for (i, ed) in cycle.enumerated() where ed.target >= 0 && ed.into >= 0 && ed.out >= 0 && ed.w > ww {
                    ww = ed.w; worst = i
                }
                guard worst >= 0, removed.count < 10_000 else { return nil }
                let ed = cycle[worst]
                let key = Int64(ed.target) << 40 | Int64(ed.into) << 20 | Int64(ed.out)
                removed.insert(key)
                bars[Int(ed.target)].append(key)
                buildBlock(Int(ed.target), st)
                continue
            }
            for (t, _) in changed { st.refreshAt(t) }
            if stopAfterCycle { return nil }
            // Rebuild what the cycle changed: its targets' blocks and the additions they affect.
            for (r, j) in touched.enumerated() {
                buildBlock(j, st)
                let col = j * k, sj = st.survive[j], open = st.open(j)
                // A type whose best addition was here must look again if j got worse for it.
                let worse = sj < oldSurvive[r] || !open
                for t in 0..<k where fT[col &+ t] {
                    if worse && addTarget[t] == j {
                        bestAddition(t, st)
                    } else if open {
                        let gain = sj * (1 - qT[col &+ t]) - cost[t]
                        if gain > addGain[t] { addGain[t] = gain; addTarget[t] = j }
                    }
                }
            }
        }
    }
}
