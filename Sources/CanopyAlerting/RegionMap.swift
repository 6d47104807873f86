import CanopyCore
import Foundation
import Synchronization

/// Fast point-in-region lookup over a set of polygonal regions in latitude/longitude.
///
/// A raster over the regions' bounding box stores, per cell, the region containing the cell's
/// centre, and flags cells crossed by a boundary; lookups in unflagged cells are one array read,
/// flagged cells fall back to exact ray casting over the edges that cross the cell's row.
public struct RegionMap: Sendable {
    public struct Region: Sendable, Equatable {
        public var id: String
        public var name: String
        /// Polygons, each a list of rings of (lat, lon) radians; ring 0 outer, others holes.
        public var polygons: [[[SIMD2<Double>]]]
        public var bboxMin: SIMD2<Double>
        public var bboxMax: SIMD2<Double>
        /// Representative point (lat, lon) radians: the centre of the largest polygon's bounding box
        /// moved inside if needed; used for labels.
        public init(id: String, name: String, polygons: [[[SIMD2<Double>]]]) {
            self.id = id; self.name = name; self.polygons = polygons
            var lo = SIMD2(Double.infinity, Double.infinity), hi = -lo
            for poly in polygons { for p in poly.first ?? [] { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) } }
            bboxMin = lo; bboxMax = hi
        }

        /// Exact point-in-region test (even-odd rule over all rings of each polygon).
        public func contains(_ p: SIMD2<Double>) -> Bool {
            guard boxContains(p) else { return false }
            for poly in polygons {
                var inside = false
                for ring in poly where ring.count >= 3 {
                    var j = ring.count - 1
                    for i in 0..<ring.count {
                        if Self.crosses(ring[i], ring[j], p) { inside.toggle() }
                        j = i
                    }
                }
                if inside { return true }
            }
            return false
        }

        @inline(__always) func boxContains(_ p: SIMD2<Double>) -> Bool {
            p.x >= bboxMin.x && p.x <= bboxMax.x && p.y >= bboxMin.y && p.y <= bboxMax.y
        }

        /// Whether the ray from p towards increasing longitude crosses the edge a–b (the even-odd
        /// rule's toggle; shared by `contains` and the raster's boundary lookup).
        @inline(__always) static func crosses(_ a: SIMD2<Double>, _ b: SIMD2<Double>, _ p: SIMD2<Double>) -> Bool {
            guard (a.x > p.x) != (b.x > p.x) else { return false }
            return p.y < a.y + (p.x - a.x) / (b.x - a.x) * (b.y - a.y)
        }
    }

    public let regions: [Region]
    private let origin: SIMD2<Double>
    private let step: Double
    private let rows: Int, cols: Int
    /// Region index + 1 at the cell centre (0 = none); negative = boundary cell.
    private let cells: [Int32]
    /// For each raster row and region (`row * regions.count + region`), the edges of the region's
    /// rings (of three or more points) whose latitude span meets the row, ordered by polygon:
    /// `band[bandStart[b] ..< bandStart[b + 1]]`. Ray casting from a point of the row needs no
    /// other edge (an edge can toggle only for latitudes within its span), and these toggle by
    /// the same test as in `Region.contains` (`Region.crosses`), so a boundary cell's lookup gives
    /// the exact answer from a few edges instead of every vertex of the region.
    private let bandStart: [Int32]
    private let band: [BandEdge]
    private struct BandEdge: Sendable {
        var a: SIMD2<Double>, b: SIMD2<Double>
        var polygon: Int32
    }

    /// The map of these regions, built once per process and shared afterwards (a study builds one
    /// battle manager per replication from the same scenario; the raster of Ukraine's oblasts
    /// costs about 0.3G instructions). The last few maps are kept, matched on the regions
    /// themselves (every vertex compared) and the cell size.
    public static func shared(regions: [Region], cellDegrees: Double = 0.05) -> RegionMap {
        if let m = cache.withLock({ c in c.first { $0.regions == regions && $0.cellDegrees == cellDegrees }?.map }) { return m }
        let m = RegionMap(regions: regions, cellDegrees: cellDegrees)
        cache.withLock { c in
            c.append((regions, cellDegrees, m))
            if c.count > 4 { c.removeFirst(c.count - 4) }
        }
        return m
    }
    private static let cache = Mutex<[(regions: [Region], cellDegrees: Double, map: RegionMap)]>([])

    /// Builds the raster with cells of `cellDegrees` (default 0.05°, about 5 km).
    public init(regions: [Region], cellDegrees: Double = 0.05) {
        self.regions = regions
        step = radians(cellDegrees)
        guard !regions.isEmpty else {
            origin = .zero; rows = 0; cols = 0; cells = []; bandStart = [0]; band = []
            return
        }
        var lo = SIMD2(Double.infinity, Double.infinity), hi = -lo
        for r in regions { lo = pointwiseMin(lo, r.bboxMin); hi = pointwiseMax(hi, r.bboxMax) }
        origin = lo - step
        rows = Int(((hi.x - origin.x) / step).rounded(.up)) + 2
        cols = Int(((hi.y - origin.y) / step).rounded(.up)) + 2
        var grid = [Int32](repeating: 0, count: rows * cols)
        // Centre classification, with per-region bounding boxes limiting the work.
        for (k, r) in regions.enumerated() {
            let r0 = max(0, Int((r.bboxMin.x - origin.x) / step)), r1 = min(rows - 1, Int((r.bboxMax.x - origin.x) / step))
            let c0 = max(0, Int((r.bboxMin.y - origin.y) / step)), c1 = min(cols - 1, Int((r.bboxMax.y - origin.y) / step))
            if r0 > r1 || c0 > c1 { continue }
            for i in r0...r1 {
                for j in c0...c1 where grid[i * cols + j] == 0 {
                    let centre = SIMD2(origin.x + (Double(i) + 0.5) * step, origin.y + (Double(j) + 0.5) * step)
                    if r.contains(centre) { grid[i * cols + j] = Int32(k + 1) }
                }
            }
        }
        // Flag every cell an edge passes through (and its neighbours, for safety at corners).
        var flagged = [Bool](repeating: false, count: rows * cols)
        let o = origin, s = step, nr = rows, nc = cols
        func flag(_ p: SIMD2<Double>) {
            let i = Int((p.x - o.x) / s), j = Int((p.y - o.y) / s)
            for di in -1...1 {
                for dj in -1...1 {
                    let a = i + di, b = j + dj
                    if a >= 0 && a < nr && b >= 0 && b < nc { flagged[a * nc + b] = true }
                }
            }
        }
        for r in regions {
            for poly in r.polygons {
                for ring in poly where ring.count >= 2 {
                    for e in 0..<ring.count {
                        let a = ring[e], b = ring[(e + 1) % ring.count]
                        let n = max(1, Int((max(abs(b.x - a.x), abs(b.y - a.y)) / (s * 0.5)).rounded(.up)))
                        for t in 0...n { flag(a + (b - a) * (Double(t) / Double(n))) }
                    }
                }
            }
        }
        for k in 0..<grid.count where flagged[k] { grid[k] = -1 }
        cells = grid
        // Band edges: counted, then placed (a counting sort by row and region, keeping each
        // list in polygon order).
        let nreg = regions.count
        var start = [Int32](repeating: 0, count: rows * nreg + 1)
        func rowSpan(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> ClosedRange<Int>? {
            // The rows of the span's ends as `region` computes a point's row: the arithmetic is
            // monotone, so a point whose latitude lies within the span is in one of these rows.
            let lo = Int(((min(a.x, b.x) - o.x) / s).rounded(.down))
            let hi = Int(((max(a.x, b.x) - o.x) / s).rounded(.down))
            let r0 = max(lo, 0), r1 = min(hi, nr - 1)
            return r0 <= r1 ? r0...r1 : nil
        }
        func eachEdge(_ body: (_ region: Int, _ polygon: Int, _ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Void) {
            for (k, r) in regions.enumerated() {
                for (q, poly) in r.polygons.enumerated() {
                    for ring in poly where ring.count >= 3 {
                        var j = ring.count - 1
                        for i in 0..<ring.count {
                            body(k, q, ring[i], ring[j])
                            j = i
                        }
                    }
                }
            }
        }
        eachEdge { k, _, a, b in
            if let span = rowSpan(a, b) { for row in span { start[row * nreg + k + 1] += 1 } }
        }
        for x in 0..<(rows * nreg) { start[x + 1] += start[x] }
        var fill = start
        var edges = [BandEdge](repeating: BandEdge(a: .zero, b: .zero, polygon: 0), count: Int(start[rows * nreg]))
        eachEdge { k, q, a, b in
            guard let span = rowSpan(a, b) else { return }
            for row in span {
                let x = row * nreg + k
                edges[Int(fill[x])] = BandEdge(a: a, b: b, polygon: Int32(q))
                fill[x] += 1
            }
        }
        bandStart = start
        band = edges
    }

    /// Index of the region containing (lat, lon) in radians, or nil.
    public func region(latitude: Double, longitude: Double) -> Int? {
        guard rows > 0 else { return nil }
        let i = Int(((latitude - origin.x) / step).rounded(.down))
        let j = Int(((longitude - origin.y) / step).rounded(.down))
        guard i >= 0, i < rows, j >= 0, j < cols else { return nil }
        let v = cells[i * cols + j]
        if v > 0 { return Int(v - 1) }
        if v == 0 { return nil }
        // A boundary cell: the first region holding the point, as `exactRegion` finds it, by ray
        // casting over the row's band edges only.
        let p = SIMD2(latitude, longitude)
        let nreg = regions.count
        for k in 0..<nreg {
            guard regions[k].boxContains(p) else { continue }
            let x = i * nreg + k
            var polygon: Int32 = -1
            var inside = false
            for e in Int(bandStart[x])..<Int(bandStart[x + 1]) {
                let edge = band[e]
                if edge.polygon != polygon {
                    if inside { return k }
                    polygon = edge.polygon
                }
                if Region.crosses(edge.a, edge.b, p) { inside.toggle() }
            }
            if inside { return k }
        }
        return nil
    }

    /// Exact lookup without the raster.
    public func exactRegion(_ p: SIMD2<Double>) -> Int? {
        for (k, r) in regions.enumerated() where r.contains(p) { return k }
        return nil
    }
}
