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

    @Test("Target pricing equals enumeration over every count vector")
    func pricing() {
        var rng = RandomWTA(seed: 99)
        for _ in 0..<200 {
            let inst = rng.instance(rng.int(2) == 0 ? .all : .plain)
            let p = WTAProblem(inst)
            let price = (0..<p.types).map { p.cost[$0] + rng.uniform() * 20 }
            var pricer = TargetPricer()
            for j in 0..<p.targets {
                var out = [Int32](repeating: 0, count: p.types)
                var touched: [Int] = []
                let v = pricer.solve(p, target: j, price: price, fixes: [], out: &out, touched: &touched)
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
                    let hi = p.feasible[t * p.targets + j] ? p.count[t] : 0
                    for c in 0...hi { x[t] = c; go(t + 1) }
                }
                go(0)
                #expect(abs(v - best) <= 1e-9 * max(1, best))
                // The reported counts achieve the value.
                var f = p.values[j], c = 0.0
                for s in 0..<p.types { f *= pow(p.q[s * p.targets + j], Double(out[s])); c += Double(out[s]) * price[s] }
                #expect(abs(f + c - v) <= 1e-9 * max(1, v))
            }
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
    }
}
