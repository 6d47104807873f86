import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

@Suite("Linear assignment against reference vectors")
struct AssignmentVectorSuite {
    struct Case {
        var rows: Int, cols: Int, maximize: Bool, cost: [Double], feasible: Bool, optimal: Double?
    }

    static func cases() throws -> [Case] {
        let url = try #require(Bundle.module.url(forResource: "assignment_vectors", withExtension: "json", subdirectory: "Fixtures"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let list = try #require(root["cases"] as? [[String: Any]])
        return list.map { c in
            let rows = c["rows"] as! Int, cols = c["cols"] as! Int
            let m = c["cost"] as! [[Any]]
            var flat: [Double] = []
            for r in m { for x in r { flat.append((x as? NSNumber)?.doubleValue ?? .infinity) } }
            return Case(rows: rows, cols: cols, maximize: c["maximize"] as? Bool ?? false, cost: flat,
                        feasible: c["feasible"] as? Bool ?? true, optimal: (c["optimal_cost"] as? NSNumber)?.doubleValue)
        }
    }

    @Test("Every reference case: feasibility and optimal cost")
    func referenceVectors() throws {
        let cases = try Self.cases()
        #expect(cases.count == 164)
        var solver = LinearAssignmentSolver()
        for (k, c) in cases.enumerated() {
            let ok = c.cost.withUnsafeBufferPointer { solver.solve(cost: $0, rows: c.rows, cols: c.cols, maximize: c.maximize) }
            #expect(ok == c.feasible, "case \(k) (\(c.rows)×\(c.cols)) feasibility")
            guard ok, let opt = c.optimal else { continue }
            #expect(abs(solver.totalCost - opt) <= 1e-9 * max(1, abs(opt)), "case \(k): \(solver.totalCost) vs \(opt)")
            // The matching covers min(rows, cols), uses no forbidden pair, and its cost is the total.
            var sum = 0.0, used = Set<Int>(), n = 0
            for r in 0..<c.rows where solver.rowToColumn[r] >= 0 {
                let col = solver.rowToColumn[r]
                #expect(!used.contains(col))
                used.insert(col)
                let x = c.cost[r * c.cols + col]
                #expect(x.isFinite)
                sum += x
                n += 1
            }
            #expect(n == min(c.rows, c.cols), "case \(k) coverage")
            #expect(abs(sum - solver.totalCost) <= 1e-9 * max(1, abs(sum)))
        }
    }

    /// Brute force over all injective maps of the smaller side.
    static func brute(_ cost: [Double], _ rows: Int, _ cols: Int) -> Double? {
        let transpose = rows > cols
        let nr = transpose ? cols : rows, nc = transpose ? rows : cols
        func at(_ i: Int, _ j: Int) -> Double { transpose ? cost[j * cols + i] : cost[i * cols + j] }
        var best: Double? = nil
        var used = [Bool](repeating: false, count: nc)
        func go(_ i: Int, _ acc: Double) {
            if i == nr { if best == nil || acc < best! { best = acc }; return }
            for j in 0..<nc where !used[j] && at(i, j).isFinite {
                used[j] = true
                go(i + 1, acc + at(i, j))
                used[j] = false
            }
        }
        go(0, 0)
        return best
    }

    @Test("Random small problems equal brute force, one solver reused across sizes")
    func randomAgainstBruteForce() {
        var rng = RandomStream(seed: 99, component: "lap")
        var solver = LinearAssignmentSolver()
        for _ in 0..<400 {
            let rows = 1 + Int(rng.uniform() * 6), cols = 1 + Int(rng.uniform() * 6)
            var cost: [Double] = []
            for _ in 0..<(rows * cols) { cost.append(rng.bernoulli(0.2) ? .infinity : (rng.uniform(-5, 20) * 100).rounded() / 100) }
            let expected = Self.brute(cost, rows, cols)
            let ok = cost.withUnsafeBufferPointer { solver.solve(cost: $0, rows: rows, cols: cols) }
            #expect(ok == (expected != nil))
            if let e = expected, ok { #expect(abs(solver.totalCost - e) < 1e-9) }
        }
    }
}
