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

    public init(_ p: WTAProblem) {
        problem = p
        x = [Int32](repeating: 0, count: p.types * p.targets)
        survive = p.values
        spare = p.count
        shots = [Int](repeating: 0, count: p.targets)
    }

    /// Whether target j may take one more shot.
    @inlinable public func open(_ j: Int) -> Bool { shots[j] < problem.capacity(j) }

    /// Fires one more type-t shot at j (from the stock).
    @inlinable public mutating func add(_ t: Int, _ j: Int) {
        x[t * problem.targets + j] += 1; survive[j] *= problem.q[t * problem.targets + j]; spare[t] -= 1; shots[j] += 1
    }

    /// Takes one type-t shot back from j (to the stock).
    @inlinable public mutating func remove(_ t: Int, _ j: Int) {
        x[t * problem.targets + j] -= 1; survive[j] /= problem.q[t * problem.targets + j]; spare[t] += 1; shots[j] -= 1
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

    /// Recomputes the surviving values from x (removes drift after many multiplicative updates).
    public mutating func refresh() {
        survive = problem.values
        let m = problem.targets
        for j in 0..<m { shots[j] = 0 }
        for t in 0..<problem.types {
            spare[t] = problem.count[t]
            for j in 0..<m where x[t * m + j] > 0 {
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
    public static func greedy(_ p: WTAProblem) -> WTAState {
        var run = GreedyRun(p)
        run.run()
        return run.st
    }

    /// Local search to a local optimum of: moving one weapon to another target (or, with costs,
    /// holding or firing it), and swapping two weapons of different types between targets.
    /// Stops at `deadline` (CPU seconds of `WTAClock`) if given.
    @discardableResult
    public static func localSearch(_ st: inout WTAState, deadline: Double = .infinity) -> Int {
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
                    var bj = -1, bg = -Double.infinity
                    for j in 0..<m where j != jFrom && p.feasible[row + j] && st.open(j) {
                        let g = st.survive[j] * (1 - p.q[row + j])
                        if g > bg { bg = g; bj = j }
                    }
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
                for b in (a + 1)..<placed.count {
                    let (t2, j2) = placed[b]
                    guard t1 != t2, j1 != j2, st.x[t2 * m + j2] > 0 else { continue }
                    guard p.feasible[t2 * m + j1], p.feasible[t1 * m + j2] else { continue }
                    let f1 = p.q[t2 * m + j1] / p.q[t1 * m + j1], f2 = p.q[t1 * m + j2] / p.q[t2 * m + j2]
                    let delta = st.survive[j1] * (f1 - 1) + st.survive[j2] * (f2 - 1)
                    guard delta < -eps * max(1, st.survive[j1] + st.survive[j2]) else { continue }
                    st.remove(t1, j1); st.add(t2, j1)
                    st.remove(t2, j2); st.add(t1, j2)
                    placed[a] = (t2, j1); placed[b] = (t1, j2)
                    improvements += 1
                    improved = true
                    break
                }
            }
        }
        st.refresh()
        return improvements
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
    var heapGain: [Double] = [], heapType: [Int32] = []

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
        heapGain.reserveCapacity(k); heapType.reserveCapacity(k)
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

    // Max-heap of (gain, type); ties to the lower type index.
    @inline(__always) func above(_ a: Int, _ b: Int) -> Bool {
        heapGain[a] > heapGain[b] || (heapGain[a] == heapGain[b] && heapType[a] < heapType[b])
    }
    mutating func push(_ g: Double, _ t: Int) {
        heapGain.append(g); heapType.append(Int32(t))
        var i = heapGain.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(i, parent) else { break }
            heapGain.swapAt(i, parent); heapType.swapAt(i, parent); i = parent
        }
    }
    mutating func pop() -> (Double, Int) {
        let top = (heapGain[0], Int(heapType[0]))
        let lg = heapGain.removeLast(), lt = heapType.removeLast()
        if !heapGain.isEmpty {
            heapGain[0] = lg; heapType[0] = lt
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var b = i
                if l < heapGain.count && above(l, b) { b = l }
                if r < heapGain.count && above(r, b) { b = r }
                if b == i { break }
                heapGain.swapAt(i, b); heapType.swapAt(i, b); i = b
            }
        }
        return top
    }

    mutating func run() {
        buildLists()
        for t in 0..<k where st.spare[t] > 0 {
            let g = scan(t)
            if bestTarget[t] >= 0 { push(g, t) }
        }
        while !heapGain.isEmpty {
            let (g, t) = pop()
            let j = bestTarget[t]
            if version[j] != seenVersion[t] {
                // A shot went to j since: re-examine (its gain can only have fallen).
                let g2 = scan(t)
                if bestTarget[t] >= 0 { push(g2, t) }
                continue
            }
            guard g > 0 || (g == 0 && p.cost[t] == 0) else { break }
            st.add(t, j)
            version[j] += 1
            if st.spare[t] > 0 {
                let g2 = scan(t)
                if bestTarget[t] >= 0 { push(g2, t) }
            }
        }
    }
}
