/// Optimal rectangular linear assignment by shortest augmenting paths with dual potentials
/// (Jonker & Volgenant 1987; the rectangular form of Crouse 2016, "On implementing 2D rectangular
/// assignment algorithms", IEEE TAES 52(4)). O(n²m) worst case; no allocation once the solver's
/// buffers have grown to the largest problem seen.
public struct LinearAssignmentSolver: Sendable {
    /// Column of each row, or -1.
    public private(set) var rowToColumn: [Int] = []
    /// Row of each column, or -1.
    public private(set) var columnToRow: [Int] = []
    /// Objective of the last successful solve.
    public private(set) var totalCost: Double = 0

    private var u: [Double] = [], v: [Double] = [], shortest: [Double] = []
    private var path: [Int] = [], col4row: [Int] = [], row4col: [Int] = [], remaining: [Int] = []
    private var scannedRows: [Bool] = [], scannedCols: [Bool] = []
    private var work: [Double] = []

    public init() {}

    /// Minimises (or maximises) Σ cost[r·cols + c] over a matching covering min(rows, cols): every
    /// row when rows ≤ cols, else every column. A forbidden pair is +∞ or NaN (also when
    /// maximising). Returns false when every such matching uses a forbidden pair.
    public mutating func solve(cost: UnsafeBufferPointer<Double>, rows: Int, cols: Int, maximize: Bool = false) -> Bool {
        precondition(cost.count >= rows * cols, "cost has \(cost.count) entries, needs \(rows * cols)")
        rowToColumn.reset(count: rows, repeating: -1)
        columnToRow.reset(count: cols, repeating: -1)
        totalCost = 0
        if rows == 0 || cols == 0 { return true }
        let transpose = rows > cols
        let nr = transpose ? cols : rows, nc = transpose ? rows : cols
        // Working matrix nr × nc, minimisation form, forbidden = +∞.
        work.removeAll(keepingCapacity: true)
        work.reserveCapacity(nr * nc)
        for i in 0..<nr {
            for j in 0..<nc {
                let x = transpose ? cost[j * cols + i] : cost[i * cols + j]
                if x.isNaN || x == .infinity || (maximize && x == -.infinity) {
                    work.append(.infinity)
                } else {
                    work.append(maximize ? -x : x)
                }
            }
        }
        if !augmentAll(nr, nc) { return false }
        for i in 0..<nr {
            let j = col4row[i]
            let (r, c) = transpose ? (j, i) : (i, j)
            rowToColumn[r] = c
            columnToRow[c] = r
            totalCost += cost[r * cols + c]
        }
        return true
    }

    private mutating func augmentAll(_ nr: Int, _ nc: Int) -> Bool {
        u.reset(count: nr, repeating: 0)
        v.reset(count: nc, repeating: 0)
        col4row.reset(count: nr, repeating: -1)
        row4col.reset(count: nc, repeating: -1)
        path.reset(count: nc, repeating: -1)
        shortest.reset(count: nc, repeating: .infinity)
        remaining.reset(count: nc, repeating: 0)
        scannedRows.reset(count: nr, repeating: false)
        scannedCols.reset(count: nc, repeating: false)
        for cur in 0..<nr {
            for j in 0..<nc {
                shortest[j] = .infinity
                path[j] = -1
                remaining[j] = nc - 1 - j
                scannedCols[j] = false
            }
            for i in 0..<nr { scannedRows[i] = false }
            var numRemaining = nc
            var minVal = 0.0
            var i = cur
            var sink = -1
            while sink == -1 {
                scannedRows[i] = true
                var lowest = Double.infinity
                var index = -1
                let base = i * nc
                for it in 0..<numRemaining {
                    let j = remaining[it]
                    let r = minVal + work[base + j] - u[i] - v[j]
                    if r < shortest[j] {
                        path[j] = i
                        shortest[j] = r
                    }
                    if shortest[j] < lowest || (shortest[j] == lowest && row4col[j] == -1) {
                        lowest = shortest[j]
                        index = it
                    }
                }
                minVal = lowest
                if minVal == .infinity || index < 0 { return false }
                let j = remaining[index]
                if row4col[j] == -1 { sink = j } else { i = row4col[j] }
                scannedCols[j] = true
                numRemaining -= 1
                remaining[index] = remaining[numRemaining]
            }
            // Dual update.
            u[cur] += minVal
            for r in 0..<nr where scannedRows[r] && r != cur {
                u[r] += minVal - shortest[col4row[r]]
            }
            for c in 0..<nc where scannedCols[c] {
                v[c] -= minVal - shortest[c]
            }
            // Augment along the path back to the current row.
            var j = sink
            while true {
                let r = path[j]
                row4col[j] = r
                let previous = col4row[r]
                col4row[r] = j
                j = previous
                if r == cur { break }
            }
        }
        return true
    }
}

/// Convenience over `LinearAssignmentSolver` for one-off use.
public enum LinearAssignment {
    /// Solves a dense matrix given as rows; returns nil if infeasible.
    public static func solve(_ cost: [[Double]], maximize: Bool = false) -> (rowToColumn: [Int], totalCost: Double)? {
        let rows = cost.count
        let cols = cost.first?.count ?? 0
        var flat: [Double] = []
        flat.reserveCapacity(rows * cols)
        for r in cost { flat.append(contentsOf: r) }
        var solver = LinearAssignmentSolver()
        let ok = flat.withUnsafeBufferPointer { solver.solve(cost: $0, rows: rows, cols: cols, maximize: maximize) }
        return ok ? (solver.rowToColumn, solver.totalCost) : nil
    }
}

extension Array {
    /// Makes the array `count` copies of `value`, in its existing storage once that is large
    /// enough (the solvers' scratch buffers, reset on every call without allocating).
    @inline(__always) mutating func reset(count n: Int, repeating value: Element) {
        if count > n { removeLast(count - n) }
        withUnsafeMutableBufferPointer { b in b.update(repeating: value) }
        if count < n { append(contentsOf: repeatElement(value, count: n - count)) }
    }
}
