import CanopyCore
import Foundation
import Testing

@testable import CanopyTracking

/// GOSPA, OSPA and CLEAR MOT / identity scores against the reference vectors of
/// `metric_vectors.json` (made with scipy and motmetrics; cross-checked with Stone Soup).
@Suite("Tracking metrics against reference vectors")
struct MetricVectorTests {
    static func root() throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: "metric_vectors", withExtension: "json", subdirectory: "Fixtures"))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func flat(_ a: Any?) -> [Double] {
        ((a as? [[NSNumber]]) ?? []).flatMap { $0.map(\.doubleValue) }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }

    @Test("Every GOSPA case: distance and its parts")
    func gospa() throws {
        let cases = try #require(try Self.root()["gospa"] as? [[String: Any]])
        #expect(cases.count == 146)
        for (k, c) in cases.enumerated() {
            let dim = (c["dim"] as! NSNumber).intValue
            let g = SetMetrics.gospa(X: Self.flat(c["X"]), Y: Self.flat(c["Y"]), dim: dim,
                                     c: (c["c"] as! NSNumber).doubleValue, p: (c["p"] as! NSNumber).doubleValue)
            #expect(Self.close(g.distance, (c["distance"] as! NSNumber).doubleValue), "gospa case \(k)")
            #expect(Self.close(g.localisation, (c["localisation"] as! NSNumber).doubleValue), "gospa case \(k) localisation")
            #expect(Self.close(g.missed, (c["missed"] as! NSNumber).doubleValue), "gospa case \(k) missed")
            #expect(Self.close(g.falseTracks, (c["false"] as! NSNumber).doubleValue), "gospa case \(k) false")
            #expect(g.assigned == (c["n_assigned"] as! NSNumber).intValue, "gospa case \(k) assigned")
        }
    }

    @Test("Every OSPA case: distance, localisation, cardinality")
    func ospa() throws {
        let cases = try #require(try Self.root()["ospa"] as? [[String: Any]])
        #expect(cases.count == 146)
        for (k, c) in cases.enumerated() {
            let dim = (c["dim"] as! NSNumber).intValue
            let o = SetMetrics.ospa(X: Self.flat(c["X"]), Y: Self.flat(c["Y"]), dim: dim,
                                    c: (c["c"] as! NSNumber).doubleValue, p: (c["p"] as! NSNumber).doubleValue)
            #expect(Self.close(o.distance, (c["distance"] as! NSNumber).doubleValue), "ospa case \(k): \(o.distance)")
            #expect(Self.close(o.localisation, (c["localisation"] as! NSNumber).doubleValue), "ospa case \(k) localisation")
            #expect(Self.close(o.cardinality, (c["cardinality"] as! NSNumber).doubleValue), "ospa case \(k) cardinality")
        }
    }

    @Test("Every CLEAR MOT case: counts, MOTA, MOTP, switches, IDF1/IDP/IDR")
    func clearMOT() throws {
        let cases = try #require(try Self.root()["clear_mot"] as? [[String: Any]])
        #expect(cases.count == 30)
        for (k, c) in cases.enumerated() {
            let thr = (c["thr"] as! NSNumber).doubleValue
            var acc = MOTAccumulator(threshold: thr * thr)
            for f in c["frames"] as! [[String: Any]] {
                let gid = (f["gt_ids"] as! [NSNumber]).map(\.intValue), hid = (f["hyp_ids"] as! [NSNumber]).map(\.intValue)
                let gt = Self.flat(f["gt"]), hyp = Self.flat(f["hyp"])
                let dim = gid.isEmpty ? 2 : gt.count / gid.count
                acc.update(truthIDs: gid, hypothesisIDs: hid) { i, j in
                    var s = 0.0
                    for d in 0..<dim { let e = gt[i * dim + d] - hyp[j * dim + d]; s += e * e }
                    return s
                }
            }
            let s = acc.summary()
            let e = c["expected"] as! [String: NSNumber]
            func v(_ key: String) -> Double { e[key]!.doubleValue }
            #expect(Double(s.frames) == v("num_frames") && Double(s.objects) == v("num_objects")
                    && Double(s.predictions) == v("num_predictions"), "mot case \(k) sizes")
            #expect(Double(s.matches) == v("num_matches"), "mot case \(k) matches \(s.matches) vs \(v("num_matches"))")
            #expect(Double(s.misses) == v("num_misses"), "mot case \(k) misses")
            #expect(Double(s.falsePositives) == v("num_false_positives"), "mot case \(k) false positives")
            #expect(Double(s.switches) == v("num_switches"), "mot case \(k) switches \(s.switches) vs \(v("num_switches"))")
            #expect(Self.close(s.mota, v("mota")), "mot case \(k) mota")
            #expect(Self.close(s.motp, v("motp")), "mot case \(k) motp \(s.motp) vs \(v("motp"))")
            #expect(Self.close(s.idf1, v("idf1")) && Self.close(s.idp, v("idp")) && Self.close(s.idr, v("idr")),
                    "mot case \(k) idf1 \(s.idf1) vs \(v("idf1"))")
        }
    }
}
