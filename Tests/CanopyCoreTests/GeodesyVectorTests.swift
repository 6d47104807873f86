import Foundation
import Testing

@testable import CanopyCore

/// Every case of shared/data/reference/geo_vectors.json (copied into Fixtures), at its suggested tolerances.
@Suite("Geodesy against reference vectors")
struct GeodesyVectorSuite {
    nonisolated(unsafe) static let root: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "geo_vectors", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return obj
    }()

    static func cases(_ section: String) -> [[String: Any]] { root[section] as? [[String: Any]] ?? [] }
    static func d(_ c: [String: Any], _ k: String) -> Double { (c[k] as? NSNumber)?.doubleValue ?? .nan }
    static func geo(_ c: [String: Any], _ lat: String = "lat", _ lon: String = "lon", _ h: String = "h") -> Geodetic {
        Geodetic(latitudeDegrees: d(c, lat), longitudeDegrees: d(c, lon), height: c[h] == nil ? 0 : d(c, h))
    }
    static func ref(_ c: [String: Any]) -> LocalFrame { LocalFrame(origin: geo(c, "ref_lat", "ref_lon", "ref_h")) }
    /// Angular difference in degrees, modulo 360.
    static func angleDiff(_ a: Double, _ b: Double) -> Double {
        var x = (a - b).truncatingRemainder(dividingBy: 360)
        if x > 180 { x -= 360 }
        if x < -180 { x += 360 }
        return abs(x)
    }
    static func high(_ c: [String: Any]) -> Bool {
        let tag = c["tag"] as? String
        return tag == "high" || tag == "edge"
    }

    @Test("The fixture holds every section")
    func counts() {
        let counts = Self.root["counts"] as? [String: Int] ?? [:]
        #expect(counts.count == 10)
        for (k, n) in counts { #expect(Self.cases(k).count == n, "\(k)") }
    }

    @Test("geodetic → ECEF")
    func geodeticToECEF() {
        for c in Self.cases("geodetic_to_ecef") {
            let e = WGS84.ecef(Self.geo(c))
            #expect(norm(e - Vector3(Self.d(c, "x"), Self.d(c, "y"), Self.d(c, "z"))) < 1e-6, "\(c)")
        }
    }

    @Test("ECEF → geodetic")
    func ecefToGeodetic() {
        for c in Self.cases("ecef_to_geodetic") {
            let x = Vector3(Self.d(c, "x"), Self.d(c, "y"), Self.d(c, "z"))
            let g = WGS84.geodetic(ecef: x)
            let high = Self.high(c)
            if abs(Self.d(c, "lat")) == 90 {
                // Longitude is arbitrary at the poles: compare in ECEF.
                #expect(norm(WGS84.ecef(g) - x) < 1e-6)
                continue
            }
            #expect(abs(g.latitudeDegrees - Self.d(c, "lat")) < (high ? 1e-6 : 1e-10), "\(c)")
            #expect(Self.angleDiff(g.longitudeDegrees, Self.d(c, "lon")) < (high ? 1e-6 : 1e-10), "\(c)")
            #expect(abs(g.height - Self.d(c, "h")) < (high ? 1e-3 : 1e-6), "\(c)")
        }
    }

    @Test("geodetic → ENU and back, ENU ↔ AER, geodetic ↔ AER")
    func localFrames() {
        for c in Self.cases("geodetic_to_enu") {
            let v = Self.ref(c).enu(Self.geo(c))
            #expect(norm(v - Vector3(Self.d(c, "e"), Self.d(c, "n"), Self.d(c, "u"))) < 1e-6, "\(c)")
        }
        for c in Self.cases("enu_to_geodetic") {
            let g = Self.ref(c).geodetic(enu: Vector3(Self.d(c, "e"), Self.d(c, "n"), Self.d(c, "u")))
            #expect(abs(g.latitudeDegrees - Self.d(c, "lat")) < 1e-10 && Self.angleDiff(g.longitudeDegrees, Self.d(c, "lon")) < 1e-10, "\(c)")
            #expect(abs(g.height - Self.d(c, "h")) < 1e-6, "\(c)")
        }
        for c in Self.cases("enu_to_aer") {
            let a = AER(enu: Vector3(Self.d(c, "e"), Self.d(c, "n"), Self.d(c, "u")))
            #expect(abs(a.range - Self.d(c, "range")) < 1e-6, "\(c)")
            if a.range > 0 {
                #expect(abs(degrees(a.elevation) - Self.d(c, "el")) < 1e-9, "\(c)")
                if abs(Self.d(c, "el")) < 90 - 1e-9 { #expect(Self.angleDiff(degrees(a.azimuth), Self.d(c, "az")) < 1e-9, "\(c)") }
            }
        }
        for c in Self.cases("aer_to_enu") {
            let v = AER(azimuth: radians(Self.d(c, "az")), elevation: radians(Self.d(c, "el")), range: Self.d(c, "range")).enu
            #expect(norm(v - Vector3(Self.d(c, "e"), Self.d(c, "n"), Self.d(c, "u"))) < 1e-6, "\(c)")
        }
        for c in Self.cases("geodetic_to_aer") {
            let a = Self.ref(c).aer(Self.geo(c))
            #expect(abs(a.range - Self.d(c, "range")) < 1e-6, "\(c)")
            #expect(abs(degrees(a.elevation) - Self.d(c, "el")) < 1e-9, "\(c)")
            #expect(Self.angleDiff(degrees(a.azimuth), Self.d(c, "az")) < 1e-9, "\(c)")
        }
        for c in Self.cases("aer_to_geodetic") {
            let g = Self.ref(c).geodetic(aer: AER(azimuth: radians(Self.d(c, "az")), elevation: radians(Self.d(c, "el")),
                                                  range: Self.d(c, "range")))
            #expect(abs(g.latitudeDegrees - Self.d(c, "lat")) < 1e-10 && Self.angleDiff(g.longitudeDegrees, Self.d(c, "lon")) < 1e-10, "\(c)")
            #expect(abs(g.height - Self.d(c, "h")) < 1e-6, "\(c)")
        }
    }

    @Test("Geodesic inverse problem, near-antipodal points included")
    func inverse() {
        for c in Self.cases("geodesic_inverse") {
            let r = Geodesic.inverse(Self.geo(c, "lat1", "lon1"), Self.geo(c, "lat2", "lon2"))
            let tag = c["tag"] as? String ?? ""
            #expect(abs(r.distance - Self.d(c, "s12")) < 1e-4, "\(tag): \(r.distance) vs \(Self.d(c, "s12"))")
            // Azimuths are not unique between coincident points, or between the poles.
            guard Self.d(c, "s12") > 0.01, tag != "pole_to_pole", abs(Self.d(c, "lat1")) != 90, abs(Self.d(c, "lat2")) != 90 else { continue }
            #expect(Self.angleDiff(degrees(r.azimuth1), Self.d(c, "azi1")) < 1e-8, "\(tag) azi1 \(degrees(r.azimuth1)) vs \(Self.d(c, "azi1"))")
            #expect(Self.angleDiff(degrees(r.azimuth2), Self.d(c, "azi2")) < 1e-8, "\(tag) azi2 \(degrees(r.azimuth2)) vs \(Self.d(c, "azi2"))")
        }
    }

    @Test("Geodesic direct problem")
    func direct() {
        for c in Self.cases("geodesic_direct") {
            let r = Geodesic.direct(from: Self.geo(c, "lat1", "lon1"), azimuth: radians(Self.d(c, "azi1")), distance: Self.d(c, "s12"))
            let want = Self.geo(c, "lat2", "lon2")
            // Position error in metres, and the final azimuth.
            let err = norm(WGS84.ecef(r.position) - WGS84.ecef(want))
            #expect(err < 1e-4, "\(c["tag"] ?? ""): \(err) m")
            #expect(Self.angleDiff(degrees(r.azimuth2), Self.d(c, "azi2")) < 1e-8)
        }
    }

    @Test("Round trips: direct(inverse) returns to the second point, on random pairs")
    func roundTrip() {
        var rng = RandomStream(seed: 1, component: "geo")
        for _ in 0..<500 {
            let p = Geodetic(latitudeDegrees: rng.uniform(-89, 89), longitudeDegrees: rng.uniform(-180, 180))
            let q = Geodetic(latitudeDegrees: rng.uniform(-89, 89), longitudeDegrees: rng.uniform(-180, 180))
            let inv = Geodesic.inverse(p, q)
            let dir = Geodesic.direct(from: p, azimuth: inv.azimuth1, distance: inv.distance)
            #expect(norm(WGS84.ecef(dir.position) - WGS84.ecef(q)) < 1e-5)
        }
    }
}
