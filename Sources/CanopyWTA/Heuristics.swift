import Foundation

/// A solution under construction or improvement: type counts x, each target's surviving value
/// sⱼ = Vⱼ Πₜ qₜⱼ^xₜⱼ, and the weapons of each type still unfired.
public struct WTAState: Sendable {
    public let problem: WTAProblem
    public var x: [Int32]
    public var survive: [Double]
    public var spare: [Int]

    public init(_ p: WTAProblem) {
        problem = p
        x = [Int32](repeating: 0, count: p.types * p.targets)
        survive = p.values
        spare = p.count
    }

    public init(_ p: WTAProblem, counts: [Int32]) {
        self.init(p)
        for t in 0..<p.types {
            for j in 0..<p.targets where counts[t * p.targets + j] > 0 {
                let c = Int(counts[t * p.targets + j])
                x[t * p.targets + j] = Int32(c)
                survive[j] *= pow(p.q[t * p.targets + j], Double(c))
                spare[t] -= c
            }
        }
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
        for t in 0..<problem.types {
            for j in 0..<m where x[t * m + j] > 0 { survive[j] *= pow(problem.q[t * m + j], Double(x[t * m + j])) }
        }
    }
}

public enum WTAHeuristics {
    /// Maximum-marginal-return greedy, globally best pair first: repeatedly fire the (type,
    /// target) pair of largest gain sⱼ pₜⱼ − cₜ while one is positive (or zero at no cost:
    /// without costs every weapon that can hurt a target fires).
    public static func greedy(_ p: WTAProblem) -> WTAState {
        var st = WTAState(p)
        let m = p.targets, k = p.types
        var bestTarget = [Int](repeating: -1, count: k)
        var bestGain = [Double](repeating: -.infinity, count: k)
        func rescan(_ t: Int, _ st: WTAState) {
            var bj = -1, bg = -Double.infinity
            let row = t * m
            for j in 0..<m where p.feasible[row + j] {
                let g = st.survive[j] * (1 - p.q[row + j])
                if g > bg { bg = g; bj = j }
            }
            bestTarget[t] = bj
            bestGain[t] = bj < 0 ? -.infinity : bg - p.cost[t]
        }
        for t in 0..<k { rescan(t, st) }
        while true {
            var tb = -1, gb = -Double.infinity
            for t in 0..<k where st.spare[t] > 0 && bestTarget[t] >= 0 && bestGain[t] > gb { gb = bestGain[t]; tb = t }
            guard tb >= 0, gb > 0 || (gb == 0 && p.cost[tb] == 0) else { break }
            let j = bestTarget[tb]
            st.x[tb * m + j] += 1
            st.survive[j] *= p.q[tb * m + j]
            st.spare[tb] -= 1
            // Gains at j fell; only types whose best was j (and tb) need a new best.
            for t in 0..<k where st.spare[t] > 0 && bestTarget[t] == j { rescan(t, st) }
        }
        return st
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
                    for j in 0..<m where j != jFrom && p.feasible[row + j] {
                        let g = st.survive[j] * (1 - p.q[row + j])
                        if g > bg { bg = g; bj = j }
                    }
                    // delta = new − old objective.
                    var delta = Double.infinity, dest = -2
                    if bj >= 0 { delta = release - bg + (jFrom < 0 ? p.cost[t] : 0); dest = bj }
                    if jFrom >= 0 && p.cost[t] > 0 && release - p.cost[t] < delta { delta = release - p.cost[t]; dest = -1 }
                    guard delta < -eps * max(1, st.survive[max(jFrom, 0)]) else { continue }
                    if jFrom >= 0 {
                        st.x[row + jFrom] -= 1; st.survive[jFrom] /= p.q[row + jFrom]
                    } else {
                        st.spare[t] -= 1
                    }
                    if dest >= 0 {
                        st.x[row + dest] += 1; st.survive[dest] *= p.q[row + dest]
                    } else {
                        st.spare[t] += 1
                    }
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
                    st.x[t1 * m + j1] -= 1; st.x[t2 * m + j1] += 1
                    st.x[t2 * m + j2] -= 1; st.x[t1 * m + j2] += 1
                    st.survive[j1] *= f1; st.survive[j2] *= f2
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

/// Process CPU time in seconds.
public enum WTAClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
