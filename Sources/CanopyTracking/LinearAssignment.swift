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

/// Optimal assignment of every row of a sparse problem (each row lists its allowed columns and
/// their costs): shortest augmenting paths by Dijkstra's method on reduced costs, with dual
/// potentials (the successive-shortest-path form of the Hungarian method; Jonker & Volgenant 1987
/// use the same duals on dense matrices). Each augmentation touches only the columns reachable
/// at less than the path's length, so a large cluster whose rows each gate a few detections
/// costs about its number of pairs, where the dense solver costs rows × columns per row. No
/// allocation once the buffers have grown to the largest problem seen.
public struct SparseAssignmentSolver: Sendable {
    /// Column of each row (every row has one after a successful solve).
    public private(set) var rowToColumn: [Int32] = []
    /// Objective of the last successful solve.
    public private(set) var totalCost: Double = 0

    private var u: [Double] = [], v: [Double] = [], dist: [Double] = []
    private var row4col: [Int32] = [], pred: [Int32] = []
    private var final: [Bool] = []
    private var touched: [Int32] = [], settled: [Int32] = []
    private var heap: [(Double, Int32)] = []

    public init() {}

    /// Minimises Σ cost over a matching that gives every row one of its columns, each column to at
    /// most one row. Row r's entries are `rowStart[r] ..< rowStart[r + 1]` of `column` and `cost`
    /// (finite costs, columns below `cols`, no column twice in a row). Returns false when no such
    /// matching exists.
    public mutating func solve(rows: Int, cols: Int, rowStart: UnsafeBufferPointer<Int32>,
                               column: UnsafeBufferPointer<Int32>, cost: UnsafeBufferPointer<Double>) -> Bool {
        precondition(rowStart.count > rows && Int(rowStart[rows]) <= min(column.count, cost.count), "sparse problem's arrays too short")
        rowToColumn.reset(count: rows, repeating: -1)
        totalCost = 0
        if rows == 0 { return true }
        if rows > cols { return false }
        // Potentials start at 0 and column ones only fall, so a column left free keeps v = 0, as a
        // rectangular problem's optimality needs. Reduced costs out of an assigned row stay ≥ 0;
        // those out of the row being added may be negative, but they only start the search.
        u.reset(count: rows, repeating: 0)
        v.reset(count: cols, repeating: 0)
        dist.reset(count: cols, repeating: .infinity)
        row4col.reset(count: cols, repeating: -1)
        pred.reset(count: cols, repeating: -1)
        final.reset(count: cols, repeating: false)
        for cur in 0..<rows {
            touched.removeAll(keepingCapacity: true)
            settled.removeAll(keepingCapacity: true)
            heap.removeAll(keepingCapacity: true)
            var sink = -1
            var i = cur, di = 0.0
            while true {
                // Relax row i's entries, i reached at distance di (its matched entry costs 0).
                for e in Int(rowStart[i])..<Int(rowStart[i + 1]) {
                    let k = Int(column[e])
                    if final[k] { continue }
                    let r = di + cost[e] - u[i] - v[k]
                    if r < dist[k] {
                        if dist[k] == .infinity { touched.append(Int32(k)) }
                        dist[k] = r
                        pred[k] = Int32(i)
                        push(r, Int32(k))
                    }
                }
                // The nearest column not yet settled; free ones first among equals.
                var j = -1
                while let (d, k) = pop() {
                    if final[Int(k)] || d > dist[Int(k)] { continue }
                    j = Int(k)
                    break
                }
                if j < 0 { break }
                final[j] = true
                settled.append(Int32(j))
                if row4col[j] < 0 { sink = j; break }
                i = Int(row4col[j])
                di = dist[j]
            }
            if sink < 0 {
                clear()
                return false
            }
            // Dual update over the settled columns and their rows, then augment back to `cur`.
            let minVal = dist[sink]
            u[cur] += minVal
            for j32 in settled where Int(j32) != sink {
                let j = Int(j32), delta = minVal - dist[j]
                u[Int(row4col[j])] += delta
                v[j] -= delta
            }
            var j = sink
            while true {
                let r = Int(pred[j])
                let previous = Int(rowToColumn[r])
                row4col[j] = Int32(r)
                rowToColumn[r] = Int32(j)
                if r == cur { break }
                j = previous
            }
            clear()
        }
        for r in 0..<rows {
            let c = rowToColumn[r]
            for e in Int(rowStart[r])..<Int(rowStart[r + 1]) where column[e] == c { totalCost += cost[e]; break }
        }
        return true
    }

    /// Resets what one augmentation touched.
    private mutating func clear() {
        for k in touched { dist[Int(k)] = .infinity; final[Int(k)] = false; pred[Int(k)] = -1 }
    }

    // A binary min-heap of (distance, column), ties to the lower column; stale entries are
    // skipped when popped.
    private mutating func push(_ d: Double, _ k: Int32) {
        heap.append((d, k))
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard less(heap[c], heap[p]) else { break }
            heap.swapAt(c, p)
            c = p
        }
    }

    private mutating func pop() -> (Double, Int32)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var p = 0
        let n = heap.count
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < n && less(heap[l], heap[m]) { m = l }
            if r < n && less(heap[r], heap[m]) { m = r }
            if m == p { break }
            heap.swapAt(p, m)
            p = m
        }
        return top
    }

    @inline(__always) private func less(_ a: (Double, Int32), _ b: (Double, Int32)) -> Bool {
        a.0 < b.0 || (a.0 == b.0 && (isFree(a.1) && !isFree(b.1) || (isFree(a.1) == isFree(b.1) && a.1 < b.1)))
    }

    @inline(__always) private func isFree(_ k: Int32) -> Bool { row4col[Int(k)] < 0 }
}
