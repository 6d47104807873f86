import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

/// The gating index (`HashGrid`): what a query yields, and in what order.
@Suite("Gating index")
struct GatingIndexTests {
    /// The items a query must yield, in its order: the square's cells by (dx, dy), each cell's
    /// items newest (highest index) first, whether rebuilt or inserted since.
    static func expected(_ cells: [(Int64, Int64)], base: Int, center: (Int64, Int64), reach: Int64) -> [Int32] {
        var out: [Int32] = []
        for dx in -reach...reach {
            for dy in -reach...reach {
                let c = (center.0 + dx, center.1 + dy)
                for i in (base..<cells.count).reversed() where cells[i] == c { out.append(Int32(i)) }
                for i in (0..<base).reversed() where cells[i] == c { out.append(Int32(i)) }
            }
        }
        return out
    }

    @Test("A query yields exactly the items of its square's cells, in the documented order, with a far item and with items inserted since the rebuild",
          arguments: [false, true])
    func queryMatchesBruteForce(farItem: Bool) {
        var rng = SplitMix(seed: farItem ? 7 : 8)
        let cell = 1_000.0
        var positions: [Vector3] = (0..<300).map { _ in Vector3(rng.uniform(-20_000, 20_000), rng.uniform(-15_000, 15_000), 0) }
        if farItem { positions.append(Vector3(9e9, -3e9, 0)) }
        var grid = HashGrid(cellSize: cell)
        grid.rebuild(count: positions.count) { positions[$0] }
        let base = positions.count
        // Inserted after the rebuild, some in occupied cells.
        for k in 0..<40 {
            // Twelve about the first item (more than a query keeps aside), then some in occupied
            // cells and some anywhere.
            let p = k < 12 ? positions[0] + Vector3(Double(k) * 60, 0, 0)
                : (k % 2 == 0 ? positions[k] + Vector3(1, 1, 0) : Vector3(rng.uniform(-20_000, 20_000), rng.uniform(-15_000, 15_000), 0))
            let ok = grid.insert(Int32(positions.count), at: p)
            #expect(ok)
            positions.append(p)
        }
        #expect(grid.count == positions.count)
        let cells = positions.map { (HashGrid.floor($0.x / cell), HashGrid.floor($0.y / cell)) }
        let out = UnsafeMutablePointer<Int32>.allocate(capacity: positions.count)
        defer { out.deallocate() }
        for q in 0..<200 {
            let c = q < 3 ? positions[0] + Vector3(Double(q) * 500, 0, 0) : Vector3(rng.uniform(-22_000, 22_000), rng.uniform(-17_000, 17_000), 0)
            let radius = rng.uniform(100, 2_500)
            let n = grid.query(near: c, radius: radius, into: out)
            let got = Array(UnsafeBufferPointer(start: out, count: n))
            let reach = Int64((radius / cell).rounded(.up))
            #expect(got == Self.expected(cells, base: base, center: (HashGrid.floor(c.x / cell), HashGrid.floor(c.y / cell)), reach: reach))
        }
        // The far item is found where it is.
        if farItem {
            let n = grid.query(near: Vector3(9e9, -3e9, 0), radius: 10, into: out)
            #expect(n == 1 && out[0] == 300)
        }
        // Inserting stops when the table is half full, asking for a rebuild.
        var inserted = 40
        while grid.insert(Int32(positions.count), at: .zero) { positions.append(.zero); inserted += 1 }
        #expect(inserted < 2 * base + 64)
    }
}
