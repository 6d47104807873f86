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

    /// A random problem shaped like a cluster of gates: each row gates a few of nd detections and
    /// has its own miss column (nd + r) at missCost; as a dense matrix (+∞ outside the gates) and as
    /// sparse rows.
    static func gatingProblem(_ rng: inout RandomStream, rows: Int, nd: Int, perRow: Int, ties: Bool)
        -> (dense: [Double], rowStart: [Int32], column: [Int32], cost: [Double]) {
        let cols = nd + rows
        var dense = [Double](repeating: .infinity, count: rows * cols)
        var rowStart: [Int32] = [], column: [Int32] = [], cost: [Double] = []
        let missCost = ties ? 3.0 : rng.uniform(-2, 8)
        for r in 0..<rows {
            rowStart.append(Int32(column.count))
            // Detections near the row's own place, as gates of neighbours along a wave.
            var picked = Set<Int>()
            for _ in 0..<perRow {
                let c = min(max(r * nd / max(rows, 1) + Int(rng.uniform(-3, 4)), 0), nd - 1)
                picked.insert(c)
            }
            for c in picked.sorted() {
                let x = ties ? Double(Int(rng.uniform() * 4)) : rng.uniform(0, 10)
                dense[r * cols + c] = x
                column.append(Int32(c)); cost.append(x)
            }
            dense[r * cols + nd + r] = missCost
            column.append(Int32(nd + r)); cost.append(missCost)
        }
        rowStart.append(Int32(column.count))
        return (dense, rowStart, column, cost)
    }

    @Test("Sparse solver equals the dense one on gating-shaped problems, ties included, one solver reused")
    func sparseAgainstDense() {
        var rng = RandomStream(seed: 7, component: "sparse-lap")
        var dense = LinearAssignmentSolver(), sparse = SparseAssignmentSolver()
        for trial in 0..<600 {
            let rows = 1 + Int(rng.uniform() * 40), nd = 1 + Int(rng.uniform() * 40)
            let perRow = 1 + Int(rng.uniform() * 6)
            let ties = trial % 3 == 0
            let p = Self.gatingProblem(&rng, rows: rows, nd: nd, perRow: perRow, ties: ties)
            let okDense = p.dense.withUnsafeBufferPointer { dense.solve(cost: $0, rows: rows, cols: nd + rows) }
            let okSparse = p.rowStart.withUnsafeBufferPointer { rs in
                p.column.withUnsafeBufferPointer { c in p.cost.withUnsafeBufferPointer { sparse.solve(rows: rows, cols: nd + rows, rowStart: rs, column: c, cost: $0) } }
            }
            #expect(okDense && okSparse)
            #expect(abs(dense.totalCost - sparse.totalCost) < 1e-9, "trial \(trial): dense \(dense.totalCost), sparse \(sparse.totalCost)")
            // A valid matching: every row one of its own columns, no column twice; its cost the total.
            var used = Set<Int32>(), sum = 0.0
            for r in 0..<rows {
                let c = sparse.rowToColumn[r]
                #expect(used.insert(c).inserted, "trial \(trial): column \(c) twice")
                let x = p.dense[r * (nd + rows) + Int(c)]
                #expect(x.isFinite, "trial \(trial): row \(r) took column \(c) outside its entries")
                sum += x
            }
            #expect(abs(sum - sparse.totalCost) < 1e-9)
            // Without ties the optimum is unique, so both solvers choose the same columns.
            if !ties {
                for r in 0..<rows { #expect(Int(sparse.rowToColumn[r]) == dense.rowToColumn[r], "trial \(trial) row \(r)") }
            }
        }
    }

    @Test("Sparse solver: an infeasible problem (a row with no entries) is refused")
    func sparseInfeasible() {
        var sparse = SparseAssignmentSolver()
        let rowStart: [Int32] = [0, 1, 1], column: [Int32] = [0], cost: [Double] = [1]
        let ok = rowStart.withUnsafeBufferPointer { rs in
            column.withUnsafeBufferPointer { c in cost.withUnsafeBufferPointer { sparse.solve(rows: 2, cols: 2, rowStart: rs, column: c, cost: $0) } }
        }
        #expect(!ok)
    }
}
