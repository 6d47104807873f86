import Foundation

/// A solution under construction or improvement: type counts x, each target's surviving value
/// sⱼ = Vⱼ Πₜ qₜⱼ^xₜⱼ, and the weapons of each type still unfired.
public struct WTAState: Sendable {
    public let problem: WTAProblem
    public var x: [Int32]
    public var survive: [Double]
    public var spare: [Int]
    /// Shots at each target.
    public var shots: [Int]
    /// A target each type fires at (−1: none): exact for a type of one weapon, which the local
    /// search uses to find it without scanning its row.
    public var at: [Int32]

    public init(_ p: WTAProblem) {
        problem = p
        x = [Int32](repeating: 0, count: p.types * p.targets)
        survive = p.values
        spare = p.count
        shots = [Int](repeating: 0, count: p.targets)
        at = [Int32](repeating: -1, count: p.types)
    }

    /// Whether target j may take one more shot.
    @inlinable public func open(_ j: Int) -> Bool { shots[j] < problem.capacity(j) }

    /// Fires one more type-t shot at j (from the stock).
    @inlinable public mutating func add(_ t: Int, _ j: Int) {
        x[t * problem.targets + j] += 1; survive[j] *= problem.q[t * problem.targets + j]; spare[t] -= 1; shots[j] += 1
        at[t] = Int32(j)
    }

    /// Takes one type-t shot back from j (to the stock).
    @inlinable public mutating func remove(_ t: Int, _ j: Int) {
        x[t * problem.targets + j] -= 1; survive[j] /= problem.q[t * problem.targets + j]; spare[t] += 1; shots[j] -= 1
        if x[t * problem.targets + j] == 0 && at[t] == Int32(j) { at[t] = -1 }
    }

    public init(_ p: WTAProblem, counts: [Int32]) {
        self.init(p)
        x = counts
        refresh()
    }

    public var objective: Double {
        var f = survive.reduce(0, +)
        for t in 0..<problem.types { f += Double(problem.count[t] - spare[t]) * problem.cost[t] }
        return f
    }

    /// Recomputes target j's surviving value and shots from x, as `refresh` does.
    public mutating func refreshTarget(_ j: Int) {
        let m = problem.targets
        var s = problem.values[j], n = 0
        for t in 0..<problem.types where x[t * m + j] > 0 {
            s *= pow(problem.q[t * m + j], Double(x[t * m + j]))
            n += Int(x[t * m + j])
        }
        survive[j] = s
        shots[j] = n
    }

    /// Recomputes `at[t]` from x, as `refresh` does (the last target type t fires at).
    public mutating func refreshAt(_ t: Int) {
        let m = problem.targets
        at[t] = -1
        for j in 0..<m where x[t * m + j] > 0 { at[t] = Int32(j) }
    }

    /// Recomputes the surviving values from x (removes drift after many multiplicative updates).
    public mutating func refresh() {
        survive = problem.values
        let m = problem.targets
        for j in 0..<m { shots[j] = 0 }
        for t in 0..<problem.types {
            spare[t] = problem.count[t]
            at[t] = -1
            for j in 0..<m where x[t * m + j] > 0 {
                at[t] = Int32(j)
                survive[j] *= pow(problem.q[t * m + j], Double(x[t * m + j]))
                spare[t] -= Int(x[t * m + j])
                shots[j] += Int(x[t * m + j])
            }
        }
    }
}

public enum WTAHeuristics {
    /// Maximum-marginal-return greedy, globally best pair first: repeatedly fire the (type,
    /// target) pair of largest gain sⱼ pₜⱼ − cₜ while one is positive (or zero at no cost:
    /// without costs every weapon that can hurt a target fires).
    ///
    /// Lazy evaluation: gains only fall as shots are assigned, so a type's cached best gain is an
    /// upper bound; types sit in a max-heap on it and only the one on top is re-examined (when a
    /// shot has since gone to its best target), which gives the eager algorithm's choices.
    public static func greedy(_ p: WTAProblem, candidates: WTACandidates? = nil) -> WTAState {
        if p.uniformCost {
            var run = TargetGreedyRun(p, candidates ?? WTACandidates(p))
            run.run()
            return run.st
        }
        var run = GreedyRun(p)
        run.run()
        return run.st
    }

    /// Local search to a local optimum of a candidate neighbourhood: moving one shot to another
    /// target (or, with costs, firing a spare weapon or holding a fired one), replacing a shot by a
    /// spare weapon of another type, and swapping two shots of different types between their
    /// targets. The neighbourhood is cut down by the problem's candidate lists (each target's most
    /// lethal types): a shot at j can be swapped with or replaced by a type on j's list, and a type
    /// moves only to targets whose lists hold it. A pass costs O(k C) rather than the O(n²) of all
    /// swaps. Stops at `deadline` (CPU seconds of `WTAClock`) if given. Returns the improvements made.
    @discardableResult
    public static func localSearch(_ st: inout WTAState, candidates: WTACandidates? = nil,
                                   deadline: Double = .infinity) -> Int {
        var search = CandidateSearch(st.problem, candidates ?? WTACandidates(st.problem))
        return search.run(&st, deadline: deadline)
    }
}

extension WTAHeuristics {
    /// Local search to a local optimum of the whole neighbourhood: moving one weapon to any other
    /// target (or, with costs, holding or firing it), and swapping any two weapons of different
    /// types between targets: O(n m + n²) a pass. Run after the candidate search (`localSearch`),
    /// whose optimum it starts from. Stops at `deadline` (CPU seconds of `WTAClock`) if given.
    @discardableResult
    public static func exhaustiveLocalSearch(_ st: inout WTAState, deadline: Double = .infinity) -> Int {
        let p = st.problem, m = p.targets, k = p.types
        var improvements = 0
        let eps = 1e-12
        var improved = true
        var pass = 0
        while improved {
            improved = false
            pass += 1
            if pass % 4 == 0 { st.refresh() }
            if WTAClock.now() > deadline { break }
            // Moves of one weapon of type t from j (or from the spare pool, jFrom = −1).
            for t in 0..<k {
                let row = t * m
                for jFrom in -1..<m {
                    if jFrom >= 0 && st.x[row + jFrom] == 0 { continue }
                    if jFrom < 0 && st.spare[t] == 0 { continue }
                    // Gain of taking the weapon away (negative of the loss).
                    let release = jFrom >= 0 ? st.survive[jFrom] * (1 / p.q[row + jFrom] - 1) : 0
                    // Best destination: the target of largest s p, or the pool (saves the cost).
                    let (bj, bg) = bestDestination(st, row: row, except: jFrom)
                    // delta = new − old objective.
                    var delta = Double.infinity, dest = -2
                    if bj >= 0 { delta = release - bg + (jFrom < 0 ? p.cost[t] : 0); dest = bj }
                    if jFrom >= 0 && p.cost[t] > 0 && release - p.cost[t] < delta { delta = release - p.cost[t]; dest = -1 }
                    guard delta < -eps * max(1, st.survive[max(jFrom, 0)]) else { continue }
                    if jFrom >= 0 { st.remove(t, jFrom) }
                    if dest >= 0 { st.add(t, dest) }
                    improvements += 1
                    improved = true
                }
            }
            // Swaps: a type-t1 weapon at j1 and a type-t2 weapon at j2 trade targets.
            var placed: [(t: Int, j: Int)] = []
            for t in 0..<k { for j in 0..<m where st.x[t * m + j] > 0 { placed.append((t, j)) } }
            for a in 0..<placed.count {
                let (t1, j1) = placed[a]
                if st.x[t1 * m + j1] == 0 { continue }
                // The first later shot to trade with (read in place; the state changes only after).
                let b = firstSwap(st, placed, from: a, eps: eps)
                guard b >= 0 else { continue }
                let (t2, j2) = placed[b]
                st.remove(t1, j1); st.add(t2, j1)
                st.remove(t2, j2); st.add(t1, j2)
                placed[a] = (t2, j1); placed[b] = (t1, j2)
                improvements += 1
                improved = true
            }
        }
        st.refresh()
        return improvements
    }

    /// The open, feasible target other than `except` where a shot of the type whose row of q
    /// starts at `row` takes most (sⱼ pₜⱼ, the first of the largest), and that gain; −1 if none.
    @inline(__always)
    static func bestDestination(_ st: WTAState, row: Int, except jFrom: Int) -> (Int, Double) {
        let p = st.problem, m = p.targets
        return st.survive.withUnsafeBufferPointer { S in
        p.q.withUnsafeBufferPointer { Q in
        p.feasible.withUnsafeBufferPointer { F in
        st.shots.withUnsafeBufferPointer { N in
            var bj = -1, bg = -Double.infinity
            let q = Q.baseAddress! + row, f = F.baseAddress! + row
            if let cap = p.cap {
                for j in 0..<m where j != jFrom && f[j] && N[j] < cap[j] {
                    let g = S[j] * (1 - q[j])
                    if g > bg { bg = g; bj = j }
                }
            } else {
                for j in 0..<m where j != jFrom && f[j] {
                    let g = S[j] * (1 - q[j])
                    if g > bg { bg = g; bj = j }
                }
            }
            return (bj, bg)
        }
        }
        }
        }
    }

    /// The first b after a whose shot trades targets with shot a to the objective's gain, or −1.
    @inline(__always)
    static func firstSwap(_ st: WTAState, _ placed: [(t: Int, j: Int)], from a: Int, eps: Double) -> Int {
        let p = st.problem, m = p.targets
        let (t1, j1) = placed[a]
        return st.survive.withUnsafeBufferPointer { S in
        p.q.withUnsafeBufferPointer { Q in
        p.feasible.withUnsafeBufferPointer { F in
        st.x.withUnsafeBufferPointer { X in
        placed.withUnsafeBufferPointer { PL in
            let s1 = S[j1], q11 = Q[t1 * m + j1]
            for b in (a + 1)..<PL.count {
                let (t2, j2) = PL[b]
                guard t1 != t2, j1 != j2, X[t2 * m + j2] > 0 else { continue }
                guard F[t2 * m + j1], F[t1 * m + j2] else { continue }
                let f1 = Q[t2 * m + j1] / q11, f2 = Q[t1 * m + j2] / Q[t2 * m + j2]
                let s2 = S[j2]
                let delta = s1 * (f1 - 1) + s2 * (f2 - 1)
                guard delta < -eps * max(1, s1 + s2) else { continue }
                return b
            }
            return -1
        }
        }
        }
        }
        }
    }
}

extension WTAHeuristics {
    /// Very-large-scale neighbourhood search (Ahuja et al. 2007): improving cyclic exchanges of
    /// shots between targets (ejection chains), found as negative cycles of the exchange graph
    /// (see `WTAExact.exchangePrices`), until none is left or the deadline.
    public static func ejectionChains(_ st: inout WTAState, deadline: Double = .infinity) {
        _ = WTAExact.exchangePrices(&st, deadline: deadline)
    }
}

/// Process CPU time in seconds.
public enum WTAClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// The state of one lazy greedy run (kept in one struct so that the hot loops touch its arrays
/// directly rather than through closure captures).
struct GreedyRun {
    let p: WTAProblem
    var st: WTAState
    let m: Int, k: Int, L: Int
    var bestTarget: [Int], seenVersion: [Int], version: [Int]
    // Each type's L targets of largest bound (first Vⱼ pₜⱼ, later the gain when the list was
    // rebuilt), in decreasing order.
    var top: [Int32], topBound: [Double], topCount: [Int]
    var heap = GainHeap()

    init(_ p: WTAProblem) {
        self.p = p
        st = WTAState(p)
        m = p.targets; k = p.types; L = min(p.targets, 16)
        bestTarget = [Int](repeating: -1, count: k)
        seenVersion = [Int](repeating: 0, count: k)
        version = [Int](repeating: 0, count: m)
        top = [Int32](repeating: 0, count: k * L)
        topBound = [Double](repeating: 0, count: k * L)
        topCount = [Int](repeating: 0, count: k)
        heap.reserve(k)
    }

    /// Inserts (bound b, target j) into type t's list holding c entries; returns the new count.
    @inline(__always) mutating func insert(_ t: Int, _ c: Int, _ b: Double, _ j: Int) -> Int {
        let base = t * L
        if c == L && b <= topBound[base + L - 1] { return c }
        var i = c < L ? c : L - 1
        while i > 0 && topBound[base + i - 1] < b {
            topBound[base + i] = topBound[base + i - 1]; top[base + i] = top[base + i - 1]; i -= 1
        }
        topBound[base + i] = b; top[base + i] = Int32(j)
        return c < L ? c + 1 : c
    }

    mutating func buildLists() {
        for t in 0..<k {
            let row = t * m
            var c = 0
            for j in 0..<m where p.feasible[row + j] { c = insert(t, c, p.values[j] * (1 - p.q[row + j]), j) }
            topCount[t] = c
        }
    }

    /// Type t's best open target now and its gain less cost.
    mutating func scan(_ t: Int) -> Double {
        var bj = -1, bg = -Double.infinity
        let row = t * m, base = t * L
        var settled = false
        for r in 0..<topCount[t] {
            if topBound[base + r] <= bg { settled = true; break }
            let j = Int(top[base + r])
            guard st.open(j) else { continue }
            let g = st.survive[j] * (1 - p.q[row + j])
            if g > bg || (g == bg && j < bj) { bg = g; bj = j }
        }
        // The short list ran out while its bounds still beat the best: scan everything and
        // rebuild the list from the current gains (still upper bounds for what follows).
        if !settled && topCount[t] == L && L < m {
            bj = -1; bg = -Double.infinity
            var c = 0
            for j in 0..<m where p.feasible[row + j] {
                let g = st.open(j) ? st.survive[j] * (1 - p.q[row + j]) : -Double.infinity
                if g > bg || (g == bg && j < bj) { bg = g; bj = j }
                c = insert(t, c, g, j)
            }
            topCount[t] = c
        }
        bestTarget[t] = bj
        if bj >= 0 { seenVersion[t] = version[bj] }
        return bj < 0 ? -.infinity : bg - p.cost[t]
    }

    mutating func run() {
        buildLists()
        for t in 0..<k where st.spare[t] > 0 {
            let g = scan(t)
            if bestTarget[t] >= 0 { heap.push(g, t) }
        }
        while !heap.isEmpty {
            let (g, t) = heap.pop()
            let j = bestTarget[t]
            if version[j] != seenVersion[t] {
                // A shot went to j since: re-examine (its gain can only have fallen).
                let g2 = scan(t)
                if bestTarget[t] >= 0 { heap.push(g2, t) }
                continue
            }
            guard g > 0 || (g == 0 && p.cost[t] == 0) else { break }
            st.add(t, j)
            version[j] += 1
            if st.spare[t] > 0 {
                let g2 = scan(t)
                if bestTarget[t] >= 0 { heap.push(g2, t) }
            }
        }
    }
}

/// Greedy from the targets' side, for problems where every type costs the same: at one target the
/// types then rank by kill probability alone, a static order. Each target keeps its L most lethal
/// types (rebuilt from the types with stock left when they run out) and a pointer to the first with
/// stock; targets sit in a max-heap on the gain Sⱼ pₜⱼ − c of that pair. A target's gain changes
/// only when it is shot at (then re-keyed) or when its type runs out (found stale on popping and
/// re-keyed lower), so the heap's top is always the globally best pair: the same choices as the
/// eager algorithm, in O(k m) to build the lists and O(log m) per shot.
struct TargetGreedyRun {
    let p: WTAProblem
    var st: WTAState
    let m: Int, k: Int, L: Int
    let c: Double
    var list: [Int32], listCount: [Int], pos: [Int], truncated: [Bool]
    var heap = GainHeap()
    /// The types with stock left, in index order.
    var alive: [Int32]

    init(_ p: WTAProblem, _ cand: WTACandidates) {
        self.p = p
        st = WTAState(p)
        alive = (0..<p.types).filter { p.count[$0] > 0 }.map(Int32.init)
        m = p.targets; k = p.types; L = cand.width
        c = p.types > 0 ? p.cost[0] : 0
        // Every type has stock at the start, so the first lists are the candidate lists.
        list = cand.list
        listCount = cand.count
        pos = [Int](repeating: 0, count: m)
        truncated = (0..<m).map { p.usableTypes[$0] > cand.count[$0] }
        heap.reserve(m)
    }

    /// Refills target j's list with its L most lethal types that still have stock.
    mutating func fill(_ j: Int) {
        let (n, usable) = WTACandidates.mostLethal(p.killByTarget, types: k, target: j, among: alive, width: L, into: &list)
        listCount[j] = n; pos[j] = 0; truncated[j] = usable > n
    }

    /// Target j's best type with stock (refilling its list when it runs out), or −1.
    mutating func current(_ j: Int) -> Int {
        while true {
            let base = j * L
            while pos[j] < listCount[j] {
                let t = Int(list[base + pos[j]])
                if st.spare[t] > 0 { return t }
                pos[j] += 1
            }
            guard truncated[j] else { return -1 }
            fill(j)
        }
    }

    /// Pushes target j with the gain of its current best pair, if it has one and room for a shot.
    mutating func offer(_ j: Int) {
        guard st.open(j) else { return }
        let t = current(j)
        if t >= 0 { heap.push(st.survive[j] * p.killByTarget[j * k + t] - c, j) }
    }

    mutating func run() {
        for j in 0..<m { offer(j) }
        while !heap.isEmpty {
            let (g, j) = heap.pop()
            let t = current(j)
            guard t >= 0 else { continue }
            let now = st.survive[j] * p.killByTarget[j * k + t] - c
            if now < g { heap.push(now, j); continue }  // its type ran out since it was keyed
            guard g > 0 || (g == 0 && c == 0) else { break }
            st.add(t, j)
            if st.spare[t] == 0, let i = alive.firstIndex(of: Int32(t)) { alive.remove(at: i) }
            offer(j)
        }
    }
}

/// The state of one candidate local search (see `WTAHeuristics.localSearch`).
struct CandidateSearch {
    let p: WTAProblem
    let m: Int, k: Int, C: Int
    let cand: WTACandidates

    /// Change stamps: a counter bumped by every applied change, the stamp of the targets and types
    /// it touched, and the counter when each single weapon was last found with no improvement.
    var clock = 1
    var targetStamp: [Int], typeStamp: [Int], lastSeen: [Int]

    init(_ p: WTAProblem, _ cand: WTACandidates) {
        self.p = p
        self.cand = cand
        m = p.targets; k = p.types; C = cand.width
        targetStamp = [Int](repeating: 0, count: m)
        typeStamp = [Int](repeating: 0, count: k)
        lastSeen = [Int](repeating: 0, count: k)
    }

    /// The best improving change involving one type-a shot at j1 (or, for j1 = −1, one spare
    /// type-a weapon), applied if found. Returns whether it improved.
    mutating func improve(_ st: inout WTAState, type a: Int, at j1: Int) -> Bool {
        let rowA = a * m
        var best = 0.0
        var kind = 0, bj = -1, bb = -1
        if j1 < 0 {
            // Fire a spare weapon at a target whose list holds it.
            for e in Int(cand.invStart[a])..<Int(cand.invStart[a + 1]) {
                let j2 = Int(cand.invTarget[e])
                guard st.open(j2) else { continue }
                let d = p.cost[a] - st.survive[j2] * p.killByTarget[j2 * k + a]
                if d < best { best = d; kind = 1; bj = j2 }
            }
        } else {
            let s1 = st.survive[j1], qa1 = p.q[rowA + j1]
            let release = s1 * (1 / qa1 - 1)  // what j1 loses without this shot
            // Hold it (saves its cost).
            if p.cost[a] > 0 && release - p.cost[a] < best { best = release - p.cost[a]; kind = 2 }
            // Move it to a target whose list holds a.
            for e in Int(cand.invStart[a])..<Int(cand.invStart[a + 1]) {
                let j2 = Int(cand.invTarget[e])
                guard j2 != j1, st.open(j2) else { continue }
                let d = release - st.survive[j2] * p.killByTarget[j2 * k + a]
                if d < best { best = d; kind = 3; bj = j2 }
            }
            // Replace it by, or swap it with, a more lethal type at j1.
            let base = j1 * C
            let col1 = j1 &* k
            for r in 0..<cand.count[j1] {
                let b = Int(cand.list[base + r])
                guard b != a else { continue }
                // Survival read as 1 − p from the by-target copy: one target's types share a few
                // cache lines there, where q's rows would each cost one.
                let gain1 = s1 * ((1 - p.killByTarget[col1 + b]) / qa1 - 1)  // j1 with b instead of a
                if st.spare[b] > 0 {
                    let d = gain1 + p.cost[b] - p.cost[a]
                    if d < best { best = d; kind = 4; bb = b }
                }
                // A swap where b does no better at j1 is found from b's side, if at all.
                if gain1 >= 0 { continue }
                // Swap: b leaves some target j2 to a.
                if p.count[b] == 1 {
                    let j2 = Int(st.at[b])
                    let col2 = j2 &* k
                    if j2 >= 0 && j2 != j1 && p.killByTarget[col2 + a] > 0 {
                        let d = gain1 + st.survive[j2] * ((1 - p.killByTarget[col2 + a]) / (1 - p.killByTarget[col2 + b]) - 1)
                        if d < best { best = d; kind = 5; bj = j2; bb = b }
                    }
                } else if st.spare[b] < p.count[b] {
                    trySwap(st, a, j1, b, gain1, &best, &kind, &bj, &bb)
                }
            }
        }
        guard best < -1e-12 * max(1, j1 >= 0 ? st.survive[j1] : 1) else { return false }
        switch kind {
        case 1: st.add(a, bj)
        case 2: st.remove(a, j1)
        case 3: st.remove(a, j1); st.add(a, bj)
        case 4: st.remove(a, j1); st.add(bb, j1)
        default: st.remove(a, j1); st.add(bb, j1); st.remove(bb, bj); st.add(a, bj)
        }
        clock &+= 1
        if j1 >= 0 { targetStamp[j1] = clock }
        if bj >= 0 { targetStamp[bj] = clock }
        typeStamp[a] = clock
        if bb >= 0 { typeStamp[bb] = clock }
        return true
    }

    /// Whether the neighbourhood of single weapon a at j1 is unchanged since it was last found
    /// with no improvement: the targets it reads (j1, those it could move to, those of its swap
    /// partners) and the types it reads (the partners' stock and place) all older than that.
    func unchanged(_ at: [Int32], _ a: Int, _ j1: Int) -> Bool {
        let seen = lastSeen[a]
        guard seen > 0, targetStamp[j1] < seen, typeStamp[a] < seen else { return false }
        for e in Int(cand.invStart[a])..<Int(cand.invStart[a + 1]) where targetStamp[Int(cand.invTarget[e])] >= seen { return false }
        let base = j1 * C
        for r in 0..<cand.count[j1] {
            let b = Int(cand.list[base + r])
            if typeStamp[b] >= seen { return false }
            let j2 = Int(at[b])
            if j2 >= 0 && targetStamp[j2] >= seen { return false }
        }
        return true
    }

    /// Swaps of a (at j1) with each type-b shot at another target j2 that a may hit.
    @inline(__always)
    func trySwap(_ st: WTAState, _ a: Int, _ j1: Int, _ b: Int, _ gain1: Double,
                 _ best: inout Double, _ kind: inout Int, _ bj: inout Int, _ bb: inout Int) {
        let rowA = a * m, rowB = b * m
        for j2 in 0..<m where j2 != j1 && st.x[rowB + j2] > 0 && p.killByTarget[j2 * k + a] > 0 {
            let d = gain1 + st.survive[j2] * (p.q[rowA + j2] / p.q[rowB + j2] - 1)
            if d < best { best = d; kind = 5; bj = j2; bb = b }
        }
    }

    mutating func run(_ st: inout WTAState, deadline: Double) -> Int {
        var improvements = 0
        var improved = true
        while improved {
            improved = false
            if WTAClock.now() > deadline { break }
            for a in 0..<k {
                if st.spare[a] > 0 && improve(&st, type: a, at: -1) { improvements += 1; improved = true }
                if p.count[a] == 1 {
                    let j1 = Int(st.at[a])
                    guard j1 >= 0, !unchanged(st.at, a, j1) else { continue }
                    if improve(&st, type: a, at: j1) { improvements += 1; improved = true } else { lastSeen[a] = clock }
                    continue
                }
                guard st.spare[a] < p.count[a] else { continue }
                let row = a * m
                for j1 in 0..<m where st.x[row + j1] > 0 {
                    if improve(&st, type: a, at: j1) { improvements += 1; improved = true }
                }
            }
        }
        return improvements
    }
}

extension WTAHeuristics {
    /// Iterated local search: from the best solution so far, a *kick* moves a few shots chosen at
    /// random (about one in ten, 2 to 10) to random targets they can hurt, and the descent runs
    /// again (candidate search, exhaustive search, cyclic exchanges); the result is kept if it is
    /// better. Stops after `patience` kicks in a row without improvement, or at `deadline`.
    /// Deterministic for a given seed. Returns the number of kicks that improved.
    @discardableResult
    public static func iteratedLocalSearch(_ st: inout WTAState, candidates: WTACandidates, patience: Int,
                                           seed: UInt64 = 0x5EED, deadline: Double = .infinity) -> Int {
        let p = st.problem, m = p.targets, k = p.types
        var rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ n: Int) -> Int {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Int(rng % UInt64(n))
        }
        var best = st
        var bestValue = best.objective
        var sinceBetter = 0, improvements = 0
        var fired: [(t: Int, j: Int)] = []
        fired.reserveCapacity(p.weapons)
        while sinceBetter < patience && WTAClock.now() < deadline {
            var trial = best
            fired.removeAll(keepingCapacity: true)
            for t in 0..<k where trial.spare[t] < p.count[t] {
                for j in 0..<m { for _ in 0..<Int(trial.x[t * m + j]) { fired.append((t, j)) } }
            }
            guard !fired.isEmpty else { break }
            let kicks = max(2, min(10, fired.count / 10))
            for _ in 0..<kicks {
                let (t, j) = fired[next(fired.count)]
                guard trial.x[t * m + j] > 0 else { continue }
                let to = next(m)
                guard to != j, p.feasible[t * m + to], trial.open(to) else { continue }
                trial.remove(t, j); trial.add(t, to)
            }
            localSearch(&trial, candidates: candidates, deadline: deadline)
            exhaustiveLocalSearch(&trial, deadline: deadline)
            ejectionChains(&trial, deadline: deadline)
            let value = trial.objective
            if value < bestValue - 1e-12 * max(1, bestValue) {
                best = trial; bestValue = value; sinceBetter = 0; improvements += 1
            } else {
                sinceBetter += 1
            }
        }
        st = best
        return improvements
    }
}

/// A max-heap of (gain, item), ties to the lower item: the lazy greedy runs' queue.
struct GainHeap {
    private var gain: [Double] = [], item: [Int32] = []

    var isEmpty: Bool { gain.isEmpty }
    mutating func reserve(_ n: Int) { gain.reserveCapacity(n); item.reserveCapacity(n) }

    @inline(__always) private func above(_ a: Int, _ b: Int) -> Bool {
        gain[a] > gain[b] || (gain[a] == gain[b] && item[a] < item[b])
    }

    mutating func push(_ g: Double, _ x: Int) {
        gain.append(g); item.append(Int32(x))
        var i = gain.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(i, parent) else { break }
            gain.swapAt(i, parent); item.swapAt(i, parent); i = parent
        }
    }

    mutating func pop() -> (Double, Int) {
        let top = (gain[0], Int(item[0]))
        let lg = gain.removeLast(), li = item.removeLast()
        if !gain.isEmpty {
            gain[0] = lg; item[0] = li
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var b = i
                if l < gain.count && above(l, b) { b = l }
                if r < gain.count && above(r, b) { b = r }
                if b == i { break }
                gain.swapAt(i, b); item.swapAt(i, b); i = b
            }
        }
        return top
    }
}
