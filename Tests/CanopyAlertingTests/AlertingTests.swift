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
        let on = alerter.update(now: 10, paths: [path])
        #expect(on.count == 1 && on[0].on && on[0].region == 0 && on[0].time == 10 && on[0].tracks == [1])
        // Beyond the horizon: a path 20 minutes out does not alert the east region.
        let far = PredictedPath(track: 2, points: [(radians(48.5), radians(31.9), 20 + 1200)])
        #expect(alerter.update(now: 20, paths: [path, far]).isEmpty)
        #expect(alerter.update(now: 100, paths: []).isEmpty)
        let off = alerter.update(now: 140, paths: [])
        #expect(off.count == 1 && !off[0].on && off[0].region == 0)
        #expect(alerter.isOn == [false, false])
    }
}
