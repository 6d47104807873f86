import CanopyCore
import Foundation
import Testing

@testable import CanopyAlerting

@Suite("Alerting")
struct AlertingTests {
    /// Two unit-degree squares side by side, the second with a square hole.
    static func regions() -> [RegionMap.Region] {
        func sq(_ lat0: Double, _ lon0: Double, _ size: Double) -> [SIMD2<Double>] {
            [SIMD2(lat0, lon0), SIMD2(lat0, lon0 + size), SIMD2(lat0 + size, lon0 + size), SIMD2(lat0 + size, lon0)]
                .map { SIMD2(radians($0.x), radians($0.y)) }
        }
        return [RegionMap.Region(id: "A", name: "West", polygons: [[sq(48, 30, 1)]]),
                RegionMap.Region(id: "B", name: "East", polygons: [[sq(48, 31, 1), sq(48.4, 31.4, 0.2)]])]
    }

    @Test("The raster lookup agrees with exact point-in-polygon everywhere, holes included")
    func rasterMatchesExact() {
        let map = RegionMap(regions: Self.regions(), cellDegrees: 0.05)
        var rng = RandomStream(seed: 5, component: "pip")
        for _ in 0..<20_000 {
            let lat = radians(rng.uniform(47.5, 49.5)), lon = radians(rng.uniform(29.5, 32.5))
            #expect(map.region(latitude: lat, longitude: lon) == map.exactRegion(SIMD2(lat, lon)))
        }
        #expect(map.region(latitude: radians(48.5), longitude: radians(31.5)) == nil)  // the hole
        #expect(map.region(latitude: radians(48.5), longitude: radians(30.5)) == 0)
    }

    @Test("Boundary cells: lookups by the row's band edges agree with ray casting over every vertex")
    func bandEdgesMatchExact() {
        // Three regions across 48–50° N, 30–33° E, split by two borders that wander in longitude
        // at every one of 400 steps (so a boundary cell holds edges of two regions, many per row).
        // The middle one has a jagged hole and, as a second polygon, an island inside the hole.
        var rng = RandomStream(seed: 11, component: "jagged")
        let n = 400
        func lat(_ i: Int) -> Double { 48 + 2 * Double(i) / Double(n) }
        let cut1 = (0...n).map { _ in rng.uniform(30.8, 31.2) }, cut2 = (0...n).map { _ in rng.uniform(31.8, 32.2) }
        func ring(_ pts: [(Double, Double)]) -> [SIMD2<Double>] { pts.map { SIMD2(radians($0.0), radians($0.1)) } }
        let border1 = (0...n).map { (lat($0), cut1[$0]) }, border2 = (0...n).map { (lat($0), cut2[$0]) }
        let west = ring([(48, 30)] + border1 + [(50, 30)])
        let east = ring(border2 + [(50, 33), (48, 33)])
        let middle = ring(border1 + border2.reversed())
        let hole = ring((0..<200).map { k -> (Double, Double) in
            let a = 2 * Double.pi * Double(k) / 200, r = rng.uniform(0.12, 0.18)
            return (49 + r * sin(a), 31.5 + r * cos(a))
        })
        let island = ring([(48.97, 31.47), (48.97, 31.53), (49.03, 31.53), (49.03, 31.47)])
        let regions = [RegionMap.Region(id: "W", name: "West", polygons: [[west]]),
                       RegionMap.Region(id: "M", name: "Middle", polygons: [[middle, hole], [island]]),
                       RegionMap.Region(id: "E", name: "East", polygons: [[east]])]
        let map = RegionMap(regions: regions, cellDegrees: 0.05)
        var points: [SIMD2<Double>] = []
        for _ in 0..<40_000 { points.append(SIMD2(radians(rng.uniform(47.9, 50.1)), radians(rng.uniform(29.9, 33.1)))) }
        // Near the borders, on their vertices, and at the vertices' latitudes exactly.
        for i in 0...n {
            for d in [-1e-9, 0, 1e-9, 1e-4] {
                points.append(SIMD2(radians(lat(i)), radians(cut1[i] + d)))
                points.append(SIMD2(radians(lat(i)), radians(cut2[i] - d)))
            }
            points.append(SIMD2(radians(lat(i)), radians(rng.uniform(29.9, 33.1))))
        }
        for p in hole + island { points.append(p); points.append(p + SIMD2(1e-7, -1e-7)) }
        var mismatches = 0, found = Set<Int?>()
        for p in points {
            let got = map.region(latitude: p.x, longitude: p.y), want = map.exactRegion(p)
            if got != want { mismatches += 1 }
            found.insert(want)
        }
        #expect(mismatches == 0)
        #expect(found == [0, 1, 2, nil])  // every region, and outside or in the hole
        #expect(map.region(latitude: radians(49), longitude: radians(31.5)) == 1)  // the island
        #expect(map.region(latitude: radians(49), longitude: radians(31.45)) == nil)  // the hole
    }

    @Test("A shared map is reused only for the same regions and cell size")
    func sharedMaps() {
        let regions = Self.regions()
        let a = RegionMap.shared(regions: regions, cellDegrees: 0.05)
        let b = RegionMap.shared(regions: Self.regions(), cellDegrees: 0.05)
        // Without its hole, region B covers (48.5, 31.5): a different map, not the cached one.
        var holeless = regions
        holeless[1] = RegionMap.Region(id: "B", name: "East", polygons: [[regions[1].polygons[0][0]]])
        let c = RegionMap.shared(regions: holeless, cellDegrees: 0.05)
        let d = RegionMap.shared(regions: regions, cellDegrees: 0.1)
        for (lat, lon) in [(48.5, 31.5), (48.5, 30.5), (48.05, 31.95), (47.9, 30.2)] {
            let p = (radians(lat), radians(lon))
            #expect(a.region(latitude: p.0, longitude: p.1) == b.region(latitude: p.0, longitude: p.1))
            #expect(d.region(latitude: p.0, longitude: p.1) == a.region(latitude: p.0, longitude: p.1))
        }
        #expect(a.region(latitude: radians(48.5), longitude: radians(31.5)) == nil)
        #expect(c.region(latitude: radians(48.5), longitude: radians(31.5)) == 1)
    }

    @Test("A region is alerted after the latency when a path crosses it, and cleared after the delay")
    func onAndOff() {
        var alerter = Alerter(map: RegionMap(regions: Self.regions()), horizon: 600, clearDelay: 120, latency: 10)
        let path = PredictedPath(track: 1, points: [(radians(48.5), radians(30.2), 100), (radians(48.5), radians(30.8), 400)])
        #expect(alerter.update(now: 0, paths: [path]).isEmpty)       // decided, siren pending
        #expect(alerter.pendingOn(0) == 10 && alerter.pendingOn(1) == nil)
        let on = alerter.update(now: 10, paths: [path])
        #expect(alerter.pendingOn(0) == nil)
        #expect(on.count == 1 && on[0].on && on[0].region == 0 && on[0].time == 10 && on[0].tracks == [1])
        // Beyond the horizon: a path 20 minutes out does not alert the east region.
        let far = PredictedPath(track: 2, points: [(radians(48.5), radians(31.9), 20 + 1200)])
        #expect(alerter.update(now: 20, paths: [path, far]).isEmpty)
        #expect(alerter.update(now: 100, paths: []).isEmpty)
        let off = alerter.update(now: 140, paths: [])
        #expect(off.count == 1 && !off[0].on && off[0].region == 0)
        #expect(alerter.isOn == [false, false])
    }

    @Test("With no clear delay and no latency a region stays alerted while threatened and clears at the first update without a threat")
    func zeroDelays() {
        var alerter = Alerter(map: RegionMap(regions: Self.regions()), horizon: 600, clearDelay: 0, latency: 0)
        let path = PredictedPath(track: 1, points: [(radians(48.5), radians(30.2), 100), (radians(48.5), radians(30.8), 400)])
        let on = alerter.update(now: 0, paths: [path])
        #expect(on.count == 1 && on[0].on && on[0].region == 0 && on[0].time == 0)
        // It used to switch off in the same update that switched it on, and flicker after.
        #expect(alerter.isOn == [true, false])
        #expect(alerter.update(now: 4, paths: [path]).isEmpty)
        #expect(alerter.isOn == [true, false])
        let off = alerter.update(now: 8, paths: [])
        #expect(off.count == 1 && !off[0].on && off[0].region == 0 && off[0].time == 8)
    }
}
