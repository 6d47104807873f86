import Foundation
import Testing

@testable import CanopyWTA

/// Small random instances of every variant, solved by enumeration.
struct RandomWTA {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    enum Variant: CaseIterable { case plain, typed, masked, costed, all }

    mutating func instance(_ v: Variant) -> WTAInstance {
        let m = 2 + int(3)
        var types: [Int] = []
        let typed = v == .typed || v == .all
        if typed {
            let kinds = 2 + int(2)
            for k in 0..<kinds { types += Array(repeating: k, count: 1 + int(3)) }
        } else {
            types = Array(0..<(3 + int(4)))
        }
        let n = types.count
        var rowOf: [Int: [Double]] = [:], maskOf: [Int: [Bool]] = [:], costOf: [Int: Double] = [:]
        var p: [Double] = [], mask: [Bool] = [], cost: [Double] = []
        for i in 0..<n {
            let t = types[i]
            if rowOf[t] == nil {
                rowOf[t] = (0..<m).map { _ in (uniform() * 0.95 * 1e4).rounded() / 1e4 }
                maskOf[t] = (0..<m).map { _ in uniform() < 0.7 }
                costOf[t] = (uniform() * 30 * 100).rounded() / 100
            }
            p += rowOf[t]!; mask += maskOf[t]!; cost.append(costOf[t]!)
        }
        let values = (0..<m).map { _ in Double(10 + int(90)) }
        return WTAInstance(name: "random", weapons: n, targets: m, values: values, killProbability: p,
                           weaponType: typed ? types : nil,
                           feasible: (v == .masked || v == .all) ? mask : nil,
                           weaponCost: (v == .costed || v == .all) ? cost : nil)
    }
}

func bruteForce(_ inst: WTAInstance, cap: [Int]? = nil) -> Double {
    var a = [Int](repeating: -1, count: inst.weapons)
    var shots = [Int](repeating: 0, count: inst.targets)
    var best = Double.infinity
    func go(_ i: Int) {
        if i == inst.weapons { if let f = inst.objective(a) { best = min(best, f) }; return }
        for j in -1..<inst.targets where j < 0 || (inst.isFeasible(i, j) && shots[j] < (cap?[j] ?? .max)) {
            a[i] = j
            if j >= 0 { shots[j] += 1 }
            go(i + 1)
            if j >= 0 { shots[j] -= 1 }
        }
    }
    go(0)
    return best
}

@Suite("Weapon-target assignment")
struct WTATests {
    @Test("Exact equals brute force on random small instances of every variant; the bound never exceeds it",
          arguments: RandomWTA.Variant.allCases)
    func exactEqualsBruteForce(variant: RandomWTA.Variant) {
        var rng = RandomWTA(seed: UInt64(17 + RandomWTA.Variant.allCases.firstIndex(of: variant)!))
        for _ in 0..<40 {
            let inst = rng.instance(variant)
            let truth = bruteForce(inst)
            let p = WTAProblem(inst)
            let r = WTAExact.solve(p, timeLimit: 5)
            let a = p.assignment(r.best.x)
            let f = inst.objective(a)
            #expect(f != nil)
            #expect(abs(f! - truth) <= 1e-9 * max(1, truth), "exact \(f!) vs brute force \(truth)")
            #expect(r.provenOptimal)
            #expect(r.lowerBound <= truth + 1e-9 * max(1, truth))
            // Heuristics: feasible (mask, stock), never better than the optimum, never below the bound.
            var ls = WTAHeuristics.greedy(p)
            let g = inst.objective(p.assignment(ls.x))!
            WTAHeuristics.localSearch(&ls)
            let l = inst.objective(p.assignment(ls.x))!
            #expect(p.isFeasible(ls.x))
            #expect(g >= truth - 1e-9 && l >= truth - 1e-9 && l <= g + 1e-9)
            #expect(r.lowerBound <= l + 1e-9)
            // Cyclic exchanges never make it worse and keep it feasible.
            WTAHeuristics.ejectionChains(&ls)
            let e = inst.objective(p.assignment(ls.x))!
            #expect(p.isFeasible(ls.x) && e <= l + 1e-9 && e >= truth - 1e-9)
        }
    }

    @Test("Exchange search: at its prices no removal, addition or unbarred replacement pays; it never worsens and stays feasible")
    func exchangeDualFeasible() {
        var rng = RandomWTA(seed: 4242)
        var priced = 0, improved = 0
        for round in 0..<120 {
            // Typed instances larger than the brute-force ones: 4–23 types of 1–3 weapons, 3–22
            // targets, masks, costs, and shot caps on every third.
            let k = 4 + rng.int(20), m = 3 + rng.int(20)
            var types: [Int] = []
            for t in 0..<k { types += Array(repeating: t, count: 1 + rng.int(3)) }
            let rows = (0..<k).map { _ in (0..<m).map { _ in (rng.uniform() * 0.95 * 1e4).rounded() / 1e4 } }
            let masks = (0..<k).map { _ in (0..<m).map { _ in rng.uniform() < 0.7 } }
            let costs = (0..<k).map { _ in round % 2 == 0 ? 0 : (rng.uniform() * 10 * 100).rounded() / 100 }
            let inst = WTAInstance(name: "exchange", weapons: types.count, targets: m,
                                   values: (0..<m).map { _ in Double(10 + rng.int(90)) },
                                   killProbability: types.flatMap { rows[$0] }, weaponType: types,
                                   feasible: types.flatMap { masks[$0] }, weaponCost: types.map { costs[$0] })
            let cap: [Int]? = round % 3 == 0 ? (0..<m).map { _ in 1 + rng.int(2) } : nil
            let p = WTAProblem(inst, targetCap: cap)
            var st = WTAHeuristics.greedy(p)
            let start = st.objective
            var removed = Set<Int64>()
            // Two replacements a shot first (many rebuilds of small blocks), then the whole graph.
            _ = WTAExact.exchangeSearch(&st, candidates: 2, removed: &removed, stopAfterCycle: false, deadline: .infinity)
            let fast = st.objective
            let u = WTAExact.exchangeSearch(&st, candidates: nil, removed: &removed, stopAfterCycle: false, deadline: .infinity)
            let fresh = WTAState(p, counts: st.x)
            #expect(p.isFeasible(st.x))
            #expect(abs(fresh.objective - st.objective) <= 1e-9 * max(1, start), "kept in place: \(st.objective), afresh: \(fresh.objective)")
            #expect(fast <= start + 1e-9 && st.objective <= fast + 1e-9)
            if st.objective < start - 1e-9 { improved += 1 }
            guard let u else { continue }
            priced += 1
            let tol = 1e-9 * (p.values.max() ?? 1)
            for t in 0..<k {
                #expect(u[t] >= -tol)
                if fresh.spare[t] > 0 { #expect(u[t] <= tol, "type \(t) has stock left but price \(u[t])") }
            }
            for j in 0..<m {
                let s = fresh.survive[j]
                for t in 0..<k where p.feasible[t * m + j] {
                    if fresh.open(j) {
                        #expect(s * (1 - p.q[t * m + j]) - p.cost[t] <= u[t] + tol, "adding \(t) at \(j) pays")
                    }
                    guard fresh.x[t * m + j] > 0 else { continue }
                    let qts = p.q[t * m + j]
                    #expect(u[t] <= s * (1 / qts - 1) - p.cost[t] + tol, "removing \(t) at \(j) pays")
                    for r in 0..<k where r != t && p.feasible[r * m + j] && !removed.contains(Int64(j) << 40 | Int64(r) << 20 | Int64(t)) {
                        let change = s * (p.q[r * m + j] / qts - 1) + p.cost[r] - p.cost[t]
                        #expect(u[t] <= u[r] + change + tol, "replacing \(t) by \(r) at \(j) pays")
                    }
                }
            }
        }
        // The checks above must have had something to check.
        #expect(priced >= 100 && improved >= 20, "priced \(priced), improved \(improved)")
    }

    @Test("With shots per target capped (shoot-look-shoot), exact equals brute force and heuristics keep the caps")
    func capped() {
        var rng = RandomWTA(seed: 5)
        for round in 0..<60 {
            let inst = rng.instance(RandomWTA.Variant.allCases[round % 5])
            let cap = (0..<inst.targets).map { _ in rng.int(3) }  // 0, 1 or 2 shots
            let truth = bruteForce(inst, cap: cap)
            let p = WTAProblem(inst, targetCap: cap)
            let r = WTAExact.solve(p, timeLimit: 5)
            #expect(p.isFeasible(r.best.x))
            #expect(abs(r.objective - truth) <= 1e-9 * max(1, truth), "exact \(r.objective) vs brute force \(truth)")
            #expect(r.provenOptimal && r.lowerBound <= truth + 1e-9 * max(1, truth))
            var ls = WTAHeuristics.greedy(p)
            #expect(p.isFeasible(ls.x))
            WTAHeuristics.localSearch(&ls)
            #expect(p.isFeasible(ls.x) && ls.objective >= truth - 1e-9)
        }
    }

    @Test("Target pricing equals enumeration over every count vector, with and without branching fixes and free types")
    func pricing() {
        var rng = RandomWTA(seed: 99)
        for round in 0..<300 {
            let inst = rng.instance(rng.int(2) == 0 ? .all : .plain)
            let p = WTAProblem(inst)
            // Some types free (price 0) in a third of the rounds.
            let price = (0..<p.types).map { t in round % 3 == 2 && rng.int(4) == 0 ? 0 : p.cost[t] + rng.uniform() * 20 }
            var pricer = TargetPricer()
            for j in 0..<p.targets {
                var out = [Int32](repeating: 0, count: p.types)
                var touched: [Int] = []
                // Bounds on one or two types' counts in half of the rounds (as branching sets them).
                var fixes: [WTAFix] = []
                if round % 2 == 1 {
                    for t in Set((0..<2).map { _ in rng.int(p.types) }) where p.feasible[t * p.targets + j] {
                        let lo = Int32(rng.int(p.count[t] + 1)), hi = lo + Int32(rng.int(p.count[t] - Int(lo) + 1))
                        fixes.append(WTAFix(type: t, target: j, lo: lo, hi: hi))
                    }
                }
                let v = pricer.solve(p, target: j, price: price, fixes: fixes[...], out: &out, touched: &touched)
                // Enumerate counts 0...count[t] for every feasible type.
                var best = Double.infinity
                var x = [Int](repeating: 0, count: p.types)
                func go(_ t: Int) {
                    if t == p.types {
                        var f = p.values[j], c = 0.0
                        for s in 0..<p.types { f *= pow(p.q[s * p.targets + j], Double(x[s])); c += Double(x[s]) * price[s] }
                        best = min(best, f + c)
                        return
                    }
                    var lo = 0, hi = p.feasible[t * p.targets + j] ? p.count[t] : 0
                    if let f = fixes.first(where: { $0.type == t }) { lo = Int(f.lo); hi = Int(f.hi) }
                    for c in lo...hi { x[t] = c; go(t + 1) }
                }
                go(0)
                #expect(abs(v - best) <= 1e-9 * max(1, best))
                // The reported counts achieve the value.
                var f = p.values[j], c = 0.0
                for s in 0..<p.types { f *= pow(p.q[s * p.targets + j], Double(out[s])); c += Double(out[s]) * price[s] }
                #expect(abs(f + c - v) <= 1e-9 * max(1, v))
                for fx in fixes { #expect(out[fx.type] >= fx.lo && out[fx.type] <= fx.hi) }
            }
        }
    }

    @Test("The column pool's Lagrangian bounds the exact one from above and meets it once it holds the exact columns")
    func columnPool() {
        var rng = RandomWTA(seed: 123)
        for _ in 0..<60 {
            let inst = rng.instance(rng.int(2) == 0 ? .all : .plain)
            let p = WTAProblem(inst), m = p.targets
            var lag = WTALagrangian(p)
            var pool = ColumnPool(p)
            func addExactColumns() {
                for j in 0..<m {
                    let r = lag.columnStart[j]..<lag.columnStart[j + 1]
                    pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r], fixes: [])
                }
            }
            func randomU() -> [Double] { (0..<p.types).map { _ in rng.uniform() * 15 } }
            _ = lag.evaluate(randomU(), fixesByTarget: [])
            addExactColumns()
            var used = [Int](repeating: 0, count: p.types)
            for _ in 0..<6 {
                let u = randomU()
                let price = (0..<p.types).map { p.cost[$0] + u[$0] }
                let exact = lag.evaluate(u, fixesByTarget: [])
                // The columns reported are the subproblem's solution x.
                var x = [Int32](repeating: 0, count: p.types * m)
                for j in 0..<m { for e in lag.columnStart[j]..<lag.columnStart[j + 1] { x[Int(lag.columnType[e]) * m + j] = lag.columnCount[e] } }
                #expect(x == lag.x)
                let estimate = pool.evaluate(price: price, u: u, used: &used)
                #expect(estimate >= exact - 1e-9 * max(1, abs(exact)))
                addExactColumns()
                let met = pool.evaluate(price: price, u: u, used: &used)
                #expect(abs(met - exact) <= 1e-9 * max(1, abs(exact)), "pool \(met) vs exact \(exact)")
                // The chosen columns' stock and objective are those of the assignment they make.
                let chosen = pool.chosenCounts()
                for t in 0..<p.types { #expect((0..<m).reduce(0) { $0 + Int(chosen[t * m + $1]) } == used[t]) }
                if p.isFeasible(chosen) {
                    let st = WTAState(p, counts: chosen)
                    #expect(abs(pool.chosenObjective(used: used) - st.objective) <= 1e-9 * max(1, st.objective))
                }
            }
        }
    }

    @Test("The pool keeps a column once: the same entries again are known, other counts are new")
    func poolKnowsItsColumns() {
        var rng = RandomWTA(seed: 61)
        for _ in 0..<20 {
            let p = WTAProblem(rng.instance(.typed)), m = p.targets
            var pool = ColumnPool(p)
            var lag = WTALagrangian(p)
            _ = lag.evaluate((0..<p.types).map { _ in rng.uniform() * 10 }, fixesByTarget: [])
            for j in 0..<m {
                let r = lag.columnStart[j]..<lag.columnStart[j + 1]
                let added1 = pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r], fixes: [])
                #expect(added1)
                let again = pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r], fixes: [])
                #expect(!again)
                if !r.isEmpty {
                    // One more shot of the first type: another column of the same target.
                    var counts = Array(lag.columnCount[r]); counts[0] += 1
                    let more = pool.add(target: j, types: lag.columnType[r], counts: counts[...], fixes: [])
                    #expect(more)
                }
            }
            let n = pool.base.count
            for j in 0..<m {
                let r = lag.columnStart[j]..<lag.columnStart[j + 1]
                let known = pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r], fixes: [])
                #expect(!known)
            }
            #expect(pool.base.count == n)
        }
    }

    @Test("The pool's evaluation after a few prices moved (only their columns valued again) equals a full one to the bit")
    func poolIncremental() {
        var rng = RandomWTA(seed: 909)
        var partial = 0
        for round in 0..<40 {
            let inst = rng.instance(RandomWTA.Variant.allCases[round % 5])
            let p = WTAProblem(inst), m = p.targets
            var lag = WTALagrangian(p)
            var pool = ColumnPool(p)
            func addColumns(_ u: [Double]) {
                _ = lag.evaluate(u, fixesByTarget: [])
                for j in 0..<m {
                    let r = lag.columnStart[j]..<lag.columnStart[j + 1]
                    pool.add(target: j, types: lag.columnType[r], counts: lag.columnCount[r], fixes: [])
                }
            }
            var u = (0..<p.types).map { _ in rng.uniform() * 15 }
            for _ in 0..<4 { addColumns((0..<p.types).map { _ in rng.uniform() * 15 }) }
            var used = [Int](repeating: 0, count: p.types), usedFull = used
            for step in 0..<30 {
                // Move one or two prices (a sparse subgradient step), now and then none or all.
                let moves = step % 10 == 9 ? p.types : (step % 10 == 4 ? 0 : 1 + rng.int(2))
                var moved: [Int32] = []
                for _ in 0..<moves {
                    let t = rng.int(p.types)
                    u[t] = rng.int(3) == 0 ? 0 : rng.uniform() * 15
                    moved.append(Int32(t))
                }
                if step == 15 {
                    // New columns and a restriction: the pool is packed again.
                    addColumns(u)
                    var by = [[WTAFix]](repeating: [], count: m)
                    let t = rng.int(p.types), j = rng.int(m)
                    by[j] = [WTAFix(type: t, target: j, lo: 0, hi: 0)]
                    pool.restrict(to: by)
                }
                let price = (0..<p.types).map { p.cost[$0] + u[$0] }
                // Odd steps tell the pool which prices moved (as the solver does), even ones not.
                let incremental = step % 2 == 1 && moves < p.types
                    ? moved.withUnsafeBufferPointer { pool.evaluate(price: price, u: u, moved: $0) }
                    : pool.evaluate(price: price, u: u, moved: nil)
                used = pool.usedNow
                var fresh = pool  // a copy, packed again from scratch
                fresh.invalidate()
                let full = fresh.evaluate(price: price, u: u, used: &usedFull)
                #expect(incremental.bitPattern == full.bitPattern, "incremental \(incremental) vs full \(full)")
                #expect(used == usedFull)
                #expect(pool.chosen == fresh.chosen)
                if moves > 0 && moves < p.types { partial += 1 }
            }
        }
        #expect(partial > 500)
    }

    @Test("A child's first evaluation, reusing its parent's where the parent's answer respects the child's fixes, equals a full one")
    func snapshotReuse() {
        var rng = RandomWTA(seed: 77)
        var checked = 0, reusedTargets = 0, repriced = 0
        for _ in 0..<80 {
            let inst = rng.instance(rng.int(2) == 0 ? .all : .plain)
            let p = WTAProblem(inst), m = p.targets
            let u = (0..<p.types).map { _ in rng.uniform() * 10 }
            // The parent: no fixes, or one or two at random pairs.
            var parentFixes: [WTAFix] = []
            for _ in 0..<rng.int(3) {
                let t = rng.int(p.types), j = rng.int(m)
                guard !parentFixes.contains(where: { $0.type == t && $0.target == j }) else { continue }
                let a = Int32(rng.int(p.count[t] + 1)), b = Int32(rng.int(p.count[t] + 1))
                parentFixes.append(WTAFix(type: t, target: j, lo: min(a, b), hi: max(a, b)))
            }
            guard let parent = WTAExact.propagate(parentFixes, p) else { continue }
            var lag = WTALagrangian(p)
            _ = lag.evaluate(u, fixesByTarget: parent)
            let snap = lag.snapshot
            // The child: one pair's range tightened, as a branch does (its propagation may cap
            // the type at every other target too).
            let j = rng.int(m), t = rng.int(p.types)
            var childFixes = parentFixes
            var lo: Int32 = 0, hi = Int32(p.count[t])
            if let k = childFixes.firstIndex(where: { $0.type == t && $0.target == j }) { lo = childFixes[k].lo; hi = childFixes[k].hi; childFixes.remove(at: k) }
            let v = lo + Int32(rng.int(Int(hi - lo) + 1))
            childFixes.append(rng.int(2) == 0 ? WTAFix(type: t, target: j, lo: lo, hi: v) : WTAFix(type: t, target: j, lo: v, hi: hi))
            guard let child = WTAExact.propagate(childFixes, p) else { continue }
            for jj in 0..<m {
                if WTALagrangian.respects(snap, target: jj, fixes: child.isEmpty ? [] : child[jj]) { reusedTargets += 1 } else { repriced += 1 }
            }
            var fresh = WTALagrangian(p)
            let full = fresh.evaluate(u, fixesByTarget: child)
            let reused = lag.evaluate(u, fixesByTarget: child, reusing: snap)
            // A forced count is priced by another route than a free one: equal to rounding.
            #expect(abs(reused - full) <= 1e-12 * max(1, abs(full)))
            #expect(lag.x == fresh.x)
            #expect(zip(lag.targetValue, fresh.targetValue).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
            checked += 1
        }
        #expect(checked >= 40 && reusedTargets > 0 && repriced > 0)
    }

    @Test("Repair (drop over-used shots where they cost least, then fill greedily) makes the full scan's choices")
    func repairMatchesFullScan() {
        // The fill as a full scan over every (type, target) pair for each shot.
        func reference(_ p: WTAProblem, _ x: [Int32]) -> WTAState {
            let m = p.targets
            var st = WTAState(p, counts: x)
            for t in 0..<p.types where st.spare[t] < 0 {
                while st.spare[t] < 0 {
                    var bj = -1, bl = Double.infinity
                    for j in 0..<m where st.x[t * m + j] > 0 {
                        let loss = st.survive[j] * (1 / p.q[t * m + j] - 1) - p.cost[t]
                        if loss < bl { bl = loss; bj = j }
                    }
                    st.remove(t, bj)
                }
            }
            while true {
                var bt = -1, bj = -1, bg = 0.0
                for t in 0..<p.types where st.spare[t] > 0 {
                    for j in 0..<m where p.feasible[t * m + j] && st.open(j) {
                        let g = st.survive[j] * (1 - p.q[t * m + j]) - p.cost[t]
                        if g > bg { bg = g; bt = t; bj = j }
                    }
                }
                guard bt >= 0 else { break }
                st.add(bt, bj)
            }
            st.refresh()
            return st
        }
        var rng = RandomWTA(seed: 404)
        var instances: [WTAInstance] = []
        for v in RandomWTA.Variant.allCases { for _ in 0..<20 { instances.append(rng.instance(v)) } }
        // Larger ones, with ties: kill probabilities on a coarse grid.
        for big in 0..<12 {
            let n = 30 + rng.int(30), m = 10 + rng.int(30)
            let p = (0..<(n * m)).map { _ in Double(rng.int(5)) / 5 }
            let values = (0..<m).map { _ in Double(1 + rng.int(5)) * 10 }
            let cost = big % 2 == 0 ? nil : (0..<n).map { _ in Double(rng.int(4)) }
            instances.append(WTAInstance(name: "grid", weapons: n, targets: m, values: values, killProbability: p,
                                         weaponType: nil, feasible: nil, weaponCost: cost))
        }
        var filled = 0
        for inst in instances {
            let p = WTAProblem(inst), m = p.targets
            // A relaxation's answer: random counts, some types over their stock.
            var x = [Int32](repeating: 0, count: p.types * m)
            for t in 0..<p.types { for j in 0..<m where p.feasible[t * m + j] && rng.int(4) == 0 { x[t * m + j] = Int32(1 + rng.int(2)) } }
            let a = WTAExact.repair(p, x), b = reference(p, x)
            #expect(a.x == b.x)
            #expect(a.objective == b.objective)
            #expect(p.isFeasible(a.x))
            if a.x != x { filled += 1 }
        }
        #expect(filled > 50)
    }

    @Test("The exhaustive local search makes the moves and swaps of its plain definition, in the same order")
    func exhaustiveSearchMatchesDefinition() {
        // The search written plainly: every scan over the whole arrays.
        func reference(_ st: inout WTAState) -> Int {
            let deadline = Double.infinity
            let p = st.problem, m = p.targets, k = p.types
            var improvements = 0
            let eps = 1e-12
            var improved = true
            var pass = 0
            while improved {
                improved = false
                pass += 1
                if pass % 4 == 0 { st.refresh() }
                if deadline < 0 { break }
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

        var rng = RandomWTA(seed: 2718)
        var moved = 0
        for round in 0..<120 {
            var inst = rng.instance(RandomWTA.Variant.allCases[round % 5])
            if round % 3 == 0 {
                // Larger, with ties (probabilities on a coarse grid) and per-target caps.
                let n = 20 + rng.int(30), m = 8 + rng.int(20)
                inst = WTAInstance(name: "grid", weapons: n, targets: m, values: (0..<m).map { _ in Double(1 + rng.int(5)) * 10 },
                                   killProbability: (0..<(n * m)).map { _ in Double(rng.int(5)) / 5 },
                                   weaponCost: round % 2 == 0 ? nil : (0..<n).map { _ in Double(rng.int(4)) })
            }
            // Every fourth with a cap on each target's shots (the start may exceed it: the moves
            // then only leave such a target).
            let caps: [Int]? = round % 4 == 1 ? (0..<inst.targets).map { _ in 1 + rng.int(3) } : nil
            let p = WTAProblem(inst, targetCap: caps), m = p.targets
            // A random start (each weapon at a random feasible target, or held).
            var x = [Int32](repeating: 0, count: p.types * m)
            for t in 0..<p.types {
                for _ in 0..<p.count[t] {
                    let j = rng.int(m + 1) - 1
                    if j >= 0 && p.feasible[t * m + j] { x[t * m + j] += 1 }
                }
            }
            var a = WTAState(p, counts: x), b = a
            let na = WTAHeuristics.exhaustiveLocalSearch(&a)
            let nb = reference(&b)
            #expect(na == nb)
            #expect(a.x == b.x)
            #expect(a.objective == b.objective)
            moved += na
        }
        #expect(moved > 200)
    }

    @Test("Fixes propagate across targets: a forced shot uses its type's stock everywhere else")
    func fixPropagation() {
        var rng = RandomWTA(seed: 5)
        for _ in 0..<40 {
            let inst = rng.instance(rng.int(2) == 0 ? .all : .plain)
            let p = WTAProblem(inst), m = p.targets
            guard m >= 2 else { continue }
            let t = rng.int(p.types), j = rng.int(m)
            let n = Int32(p.count[t])
            let lo = Int32(1 + rng.int(Int(n)))
            guard let by = WTAExact.propagate([WTAFix(type: t, target: j, lo: lo, hi: n)], p) else {
                Issue.record("a forced count within the stock is feasible"); continue
            }
            for jj in 0..<m {
                let caps = by[jj].filter { $0.type == t }
                #expect(caps.count == 1)
                if jj == j { #expect(caps.first?.lo == lo && caps.first?.hi == n) } else { #expect(caps.first?.lo == 0 && caps.first?.hi == n - lo) }
            }
            // At any multipliers, no other target's answer fires more than what is left (each
            // alone: the relaxation still lets several take it).
            var lag = WTALagrangian(p)
            _ = lag.evaluate((0..<p.types).map { _ in rng.uniform() }, fixesByTarget: by)
            for jj in 0..<m where jj != j { #expect(lag.x[t * m + jj] <= n - lo) }
            #expect(lag.x[t * m + j] >= lo)
            // More than the stock forced in all: no assignment, so no node.
            let other = (j + 1) % m
            #expect(WTAExact.propagate([WTAFix(type: t, target: j, lo: n, hi: n), WTAFix(type: t, target: other, lo: 1, hi: n)], p) == nil)
        }
    }

    @Test("Stopped at once, the exact solver still returns a feasible assignment and a finite valid bound")
    func stoppedAtOnce() {
        var rng = RandomWTA(seed: 31)
        for _ in 0..<10 {
            let inst = rng.instance(.all)
            let p = WTAProblem(inst)
            let r = WTAExact.solve(p, timeLimit: 0)
            #expect(p.isFeasible(r.best.x))
            #expect(r.lowerBound.isFinite && r.lowerBound >= 0)
            #expect(r.lowerBound <= bruteForce(inst) + 1e-9)
        }
    }

    @Test("Shipped instances are solved to their proven optima, deterministically")
    func shipped() throws {
        let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        for name in ["ahuja_5x5_s5001", "ahuja_10x10_s10003", "ahuja_20x20_s20001", "ahuja_40x40_s40002",
                     "typed_feas_cost_40x40_s7040041"] {
            let inst = try WTAInstance.load(path: dir.appendingPathComponent(name + ".json").path)
            let best = try WTASolution.load(path: dir.appendingPathComponent(name + ".best.json").path)
            #expect(abs(inst.objective(best.assignment)! - best.objective) < 1e-6)
            let p = WTAProblem(inst)
            let r1 = WTAExact.solve(p, timeLimit: 20)
            let r2 = WTAExact.solve(p, timeLimit: 20)
            #expect(r1.provenOptimal)
            #expect(abs(r1.objective - best.objective) <= 1e-6 * best.objective, "\(name): \(r1.objective) vs \(best.objective)")
            #expect(r1.lowerBound <= best.objective + 1e-6)
            #expect(p.assignment(r1.best.x) == p.assignment(r2.best.x))
        }
    }

    @Test("A certain kill of a target worth 10¹² times another: the optimum, and a bound not above it")
    func certainKillScales() throws {
        let inst = try WTAInstance.parse(Data(#"{"weapons": 2, "targets": 2, "values": [1e12, 1], "kill_prob": [[1, 0.5], [0.5, 0.5]]}"#.utf8), path: "x.json")
        let p = WTAProblem(inst)
        let r = WTAExact.solve(p, timeLimit: 5)
        let objective = try #require(inst.objective(p.assignment(r.best.x)))
        // Weapon 0 kills the big target for certain; weapon 1 halves the other: 0.5 (with the
        // survival of a certain kill at 1e-12, the solver had taken 1.0 and a bound of 1.5).
        #expect(abs(objective - 0.5) < 1e-9, "\(objective)")
        #expect(r.lowerBound <= objective * (1 + 1e-9), "\(r.lowerBound)")
    }

    @Test("Bad instance files are refused with the field named")
    func badFiles() throws {
        func error(_ json: String) -> String {
            do { _ = try WTAInstance.parse(Data(json.utf8), path: "x.json"); return "accepted" } catch {
                return String(describing: error)
            }
        }
        #expect(error("[1]").contains("top level"))
        #expect(error(#"{"weapons": 2, "targets": 1, "values": [5], "kill_prob": [[0.5]]}"#).contains("kill_prob: has 1 rows, 2 expected"))
        #expect(error(#"{"weapons": 1, "targets": 1, "values": [5], "kill_prob": [[1.5]]}"#).contains("kill_prob[0][0]"))
        #expect(error(#"{"weapons": 1, "targets": 1, "values": [-5], "kill_prob": [[0.5]]}"#).contains("values[0]"))
        #expect(error(#"{"weapons": 0, "targets": 1, "values": [5], "kill_prob": []}"#).contains("weapons"))
        #expect(error(#"{"weapons": 2, "targets": 1, "values": [5], "kill_prob": [[0.5], [0.6]], "weapon_type": [0, 0]}"#)
            .contains("differs from weapon 0"))
        #expect(error(#"{"weapons": 1, "targets": 2, "values": [5, 6], "kill_prob": [[0.5, 0.4]], "feasible": [[1, 2]]}"#)
            .contains("feasible[0][1]"))
        #expect(error("{") .contains("not valid JSON"))
        #expect(error(#"{"weapons": 2,,}"#).contains("around character"))
        // Values whose sum is infinite made an infinite objective and a solver that ran to its limit.
        #expect(error(#"{"weapons": 1, "targets": 2, "values": [1.7e308, 1.7e308], "kill_prob": [[0, 0]]}"#)
            .contains("values: sum to inf; at most 1e300 in all"))
        // What was found, as the file has it: a quoted number is a string, true is not 1.
        #expect(error(#"{"weapons": "2", "targets": 1, "values": [5], "kill_prob": [[0.5], [0.5]]}"#)
            .contains(#"weapons: must be an integer ≥ 1, found the string "2""#))
        #expect(error(#"{"weapons": 1, "targets": 1, "values": [5], "kill_prob": [[true]]}"#).contains("kill_prob[0][0]: must be a finite number, found true"))
        // A misspelt key is named, with the key it resembles; a name must be a string; type
        // counts need the types they count.
        #expect(error(#"{"weapons": 1, "targets": 1, "values": [5], "kill_prob": [[0.5]], "weapon_costs": [1]}"#)
            .contains("weapon_costs: unknown key (did you mean weapon_cost?)"))
        #expect(error(#"{"name": 7, "weapons": 1, "targets": 1, "values": [5], "kill_prob": [[0.5]]}"#).contains("name: must be a string"))
        #expect(error(#"{"weapons": 1, "targets": 1, "values": [5], "kill_prob": [[0.5]], "type_counts": [1]}"#)
            .contains("type_counts: given without weapon_type"))
        // A certain kill among values more than 10¹⁸ apart cannot be weighed exactly: refused.
        #expect(error(#"{"weapons": 1, "targets": 2, "values": [1e300, 1], "kill_prob": [[1, 0.5]]}"#).contains("values: span from"))
        // A feasibility mask may say true/false as well as 1/0.
        #expect(error(#"{"weapons": 1, "targets": 2, "values": [5, 6], "kill_prob": [[0.5, 0.4]], "feasible": [[true, false]]}"#) == "accepted")
        #expect(error(" \n").hasSuffix("the file is empty"))
        // Files that are not there or not files: the reason, not the platform's error code.
        func loadError(_ path: String) -> String {
            do { _ = try WTAInstance.load(path: path); return "accepted" } catch { return String(describing: error) }
        }
        #expect(loadError(FileManager.default.temporaryDirectory.path).hasSuffix("is a directory, not a file"))
        #expect(loadError("/nonexistent/instance.json") == "/nonexistent/instance.json: no such file")
    }
}

/// The greedy's choices, the candidate lists and the candidate local search, each against a
/// plain reference written from its definition.
@Suite("WTA heuristics against their definitions")
struct WTAHeuristicsTests {
    /// Full-precision random instances (ties between pairs have probability zero).
    static func instance(_ rng: inout RandomWTA, weapons n: Int, targets m: Int, typed: Bool, masked: Bool,
                         costs: Bool) -> WTAInstance {
        var types: [Int] = []
        if typed { while types.count < n { types += Array(repeating: types.count, count: 1 + rng.int(3)) }; types = Array(types.prefix(n)) }
        var rows: [Int: ([Double], [Bool], Double)] = [:]
        var p: [Double] = [], mask: [Bool] = [], cost: [Double] = []
        for i in 0..<n {
            let t = typed ? types[i] : i
            if rows[t] == nil {
                rows[t] = ((0..<m).map { _ in 0.05 + 0.9 * rng.uniform() }, (0..<m).map { _ in rng.uniform() < 0.8 },
                           costs ? 5 * rng.uniform() : 0)
            }
            p += rows[t]!.0; mask += rows[t]!.1; cost.append(rows[t]!.2)
        }
        return WTAInstance(name: "random", weapons: n, targets: m, values: (0..<m).map { _ in 10 + 90 * rng.uniform() },
                           killProbability: p, weaponType: typed ? types : nil, feasible: masked ? mask : nil,
                           weaponCost: costs ? cost : nil)
    }

    /// Maximum marginal return by its definition: recompute every pair's gain at every step.
    static func eagerGreedy(_ p: WTAProblem) -> [Int32] {
        var st = WTAState(p)
        while true {
            var bt = -1, bj = -1, bg = -Double.infinity
            for t in 0..<p.types where st.spare[t] > 0 {
                for j in 0..<p.targets where p.feasible[t * p.targets + j] && st.open(j) {
                    let g = st.survive[j] * (1 - p.q[t * p.targets + j]) - p.cost[t]
                    if g > bg { bg = g; bt = t; bj = j }
                }
            }
            guard bt >= 0, bg > 0 || (bg == 0 && p.cost[bt] == 0) else { return st.x }
            st.add(bt, bj)
        }
    }

    @Test("The greedy (both the target-side and the type-side runs) makes the eager algorithm's choices")
    func greedyIsEager() {
        var rng = RandomWTA(seed: 404)
        for round in 0..<120 {
            let inst = Self.instance(&rng, weapons: 3 + rng.int(40), targets: 2 + rng.int(30), typed: round % 2 == 0,
                                     masked: round % 3 == 0, costs: round % 4 == 1)
            let cap = round % 5 == 0 ? (0..<inst.targets).map { _ in rng.int(3) } : nil
            let p = WTAProblem(inst, targetCap: cap)
            #expect(p.uniformCost == !(round % 4 == 1))
            let g = WTAHeuristics.greedy(p)
            #expect(g.x == Self.eagerGreedy(p), "round \(round)")
            #expect(p.isFeasible(g.x))
        }
    }

    @Test("Candidate lists are each target's most lethal types in order, on both selection paths")
    func candidateLists() {
        var rng = RandomWTA(seed: 77)
        for round in 0..<30 {
            let k = [5, 16, 17, 64, 200][round % 5], m = 1 + rng.int(12)
            var p = (0..<(k * m)).map { _ in rng.uniform() }
            if round % 3 == 0 {
                // Skewed columns: many ties, and a target only three types can hurt.
                for i in 0..<(k * m) where rng.uniform() < 0.7 { p[i] = 0.5 }
                for t in 3..<k { p[t * m] = 0 }
            }
            let inst = WTAInstance(name: "c", weapons: k, targets: m, values: Array(repeating: 1, count: m), killProbability: p)
            let prob = WTAProblem(inst)
            let c = WTACandidates(prob)
            #expect(c.width == min(k, 16))
            for j in 0..<m {
                let want = (0..<k).filter { p[$0 * m + j] > 0 }
                    .sorted { (p[$0 * m + j], -$0) > (p[$1 * m + j], -$1) }.prefix(c.width).map(Int32.init)
                #expect(Array(c.list[(j * c.width)..<(j * c.width + c.count[j])]) == want, "round \(round), target \(j)")
                #expect(prob.usableTypes[j] == (0..<k).filter { p[$0 * m + j] > 0 }.count)
            }
            // The inverse lists name exactly the targets whose lists hold each type.
            for t in 0..<k {
                let inv = Set(c.invTarget[Int(c.invStart[t])..<Int(c.invStart[t + 1])].map(Int.init))
                let want = Set((0..<m).filter { j in c.list[(j * c.width)..<(j * c.width + c.count[j])].contains(Int32(t)) })
                #expect(inv == want)
            }
        }
    }

    @Test("The candidate local search ends where no move, hold, firing, replacement or swap improves (lists cover every type)")
    func localOptimum() {
        var rng = RandomWTA(seed: 909)
        for round in 0..<60 {
            let inst = Self.instance(&rng, weapons: 2 + rng.int(14), targets: 2 + rng.int(8), typed: round % 2 == 1,
                                     masked: round % 3 == 0, costs: round % 2 == 0)
            let cap = round % 4 == 0 ? (0..<inst.targets).map { _ in 1 + rng.int(2) } : nil
            let p = WTAProblem(inst, targetCap: cap)
            var st = WTAHeuristics.greedy(p)
            let before = p.objective(st.x)
            WTAHeuristics.localSearch(&st)
            let x = st.x, f = p.objective(x)
            #expect(p.isFeasible(x) && f <= before + 1e-9)
            #expect(abs(st.objective - f) <= 1e-9 * max(1, f))
            for t in 0..<p.types where p.count[t] == 1 {
                let j = (0..<p.targets).first { x[t * p.targets + $0] > 0 }
                #expect(st.at[t] == Int32(j ?? -1))
            }
            // Every neighbour by its definition: change one or two counts and re-evaluate.
            let (k, m) = (p.types, p.targets)
            func check(_ y: [Int32], _ what: String) {
                guard p.isFeasible(y) else { return }
                #expect(p.objective(y) >= f - 1e-9 * max(1, f), "round \(round): \(what) improves")
            }
            for a in 0..<k {
                var y = x
                // Fire a spare one anywhere.
                for j in 0..<m { y = x; y[a * m + j] += 1; check(y, "firing \(a) at \(j)") }
                for j1 in 0..<m where x[a * m + j1] > 0 {
                    y = x; y[a * m + j1] -= 1; check(y, "holding \(a)")
                    for j2 in 0..<m where j2 != j1 { y = x; y[a * m + j1] -= 1; y[a * m + j2] += 1; check(y, "moving \(a)") }
                    for b in 0..<k where b != a {
                        y = x; y[a * m + j1] -= 1; y[b * m + j1] += 1; check(y, "replacing \(a) by \(b)")
                        for j2 in 0..<m where j2 != j1 && x[b * m + j2] > 0 {
                            y = x; y[a * m + j1] -= 1; y[b * m + j1] += 1; y[b * m + j2] -= 1; y[a * m + j2] += 1
                            check(y, "swapping \(a) and \(b)")
                        }
                    }
                }
            }
        }
    }

    @Test("Iterated local search never loses, keeps stock, masks and caps, and repeats itself for a seed")
    func iterated() {
        var rng = RandomWTA(seed: 31)
        var reachedOptimum = 0
        for round in 0..<40 {
            let inst = Self.instance(&rng, weapons: 3 + rng.int(5), targets: 2 + rng.int(3), typed: round % 2 == 1,
                                     masked: round % 3 == 0, costs: round % 2 == 0)
            let cap = round % 4 == 0 ? (0..<inst.targets).map { _ in 1 + rng.int(2) } : nil
            let p = WTAProblem(inst, targetCap: cap)
            let cand = WTACandidates(p)
            var a = WTAHeuristics.greedy(p, candidates: cand)
            WTAHeuristics.localSearch(&a, candidates: cand)
            let descent = p.objective(a.x)
            var b = a
            WTAHeuristics.iteratedLocalSearch(&a, candidates: cand, patience: 20, seed: 9)
            WTAHeuristics.iteratedLocalSearch(&b, candidates: cand, patience: 20, seed: 9)
            #expect(a.x == b.x)
            #expect(p.isFeasible(a.x) && p.objective(a.x) <= descent + 1e-9)
            let truth = bruteForce(inst, cap: cap)
            #expect(p.objective(a.x) >= truth - 1e-9)
            if abs(p.objective(a.x) - truth) <= 1e-9 * max(1, truth) { reachedOptimum += 1 }
        }
        // On instances this small the kicks reach the optimum nearly always.
        #expect(reachedOptimum >= 36, "\(reachedOptimum) of 40")
    }
}
