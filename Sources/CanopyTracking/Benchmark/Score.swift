import CanopyCore
import Foundation

/// Scores tracks against a scenario's truth by the rules of the benchmark format (§4): at every
/// scan time, truth positions X against track positions Y; GOSPA (c = 1000 m, p = 2, α = 2) and
/// OSPA; their means over scan times; RMS error over pairs closer than c; mean missed, false,
/// truth and track counts. Also CLEAR MOT and IDF1 with the same gate (d ≤ c, Euclidean metres).
public struct BenchmarkScore: Sendable {
    public var scanTimes = 0
    public var gospaMean = 0.0
    public var ospaMean = 0.0
    public var matchedPositionError = 0.0
    public var missedPerTime = 0.0
    public var falsePerTime = 0.0
    public var truthPerTime = 0.0
    public var tracksPerTime = 0.0
    /// √(mean over scan times of GOSPA² ÷ mean truth count): a per-target figure that does not
    /// grow with the number of targets (mean GOSPA grows like its square root).
    public var gospaPerTarget = 0.0
    public var mot = MOTAccumulator.Summary()
    /// Per scan time: (t, GOSPA).
    public var gospaSeries: [(Double, Double)] = []

    public static let c = 1000.0, p = 2.0

    /// A time in whole microseconds; saturated beyond ±9·10¹⁸ µs (about 290,000 years), where
    /// the conversion would trap.
    @inline(__always) static func timeKey(_ t: Double) -> Int64 {
        let u = (t * 1e6).rounded()
        return u.isNaN ? 0 : Int64(max(-9e18, min(9e18, u)))
    }

    public static func score(scenario: BenchmarkScenario, tracks: [BenchmarkTrack]) -> BenchmarkScore {
        // Scan times, the union over sensors (1 µs matching).
        var keys = scenario.scans.map { timeKey($0.time) }
        keys.sort()
        var uniq: [Int64] = []
        for k in keys where uniq.last != k { uniq.append(k) }
        var slot: [Int64: Int] = [:]
        for (i, k) in uniq.enumerated() { slot[k] = i }
        let n = uniq.count
        // Bucket truth and track positions by scan time.
        var X = [[Double]](repeating: [], count: n), Y = [[Double]](repeating: [], count: n)
        var Xid = [[Int]](repeating: [], count: n), Yid = [[Int]](repeating: [], count: n)
        for tr in scenario.truth {
            for (k, t) in tr.times.enumerated() {
                guard let s = slot[timeKey(t)] else { continue }
                let p = tr.positions[k]
                X[s].append(contentsOf: [p.x, p.y, p.z]); Xid[s].append(tr.id)
            }
        }
        for (ti, tr) in tracks.enumerated() {
            // The last state at a time wins.
            var lastAt: [Int: Int] = [:]
            for (k, t) in tr.times.enumerated() {
                if let s = slot[timeKey(t)] { lastAt[s] = k }
            }
            for (s, k) in lastAt {
                let p = tr.positions[k]
                Y[s].append(contentsOf: [p.x, p.y, p.z]); Yid[s].append(ti)
            }
        }
        var out = BenchmarkScore()
        out.scanTimes = n
        var sumG2 = 0.0
        var sumG = 0.0, sumO = 0.0, sumD = 0.0, pairs = 0
        var missed = 0, falseT = 0, truthN = 0, trackN = 0
        var mot = MOTAccumulator(threshold: c)
        for s in 0..<n {
            let m = SetMetrics.match(X: X[s], Y: Y[s], dim: 3, c: c, p: p)
            let nx = Xid[s].count, ny = Yid[s].count
            let g = SetMetrics.gospa(m, nx: nx, ny: ny, c: c, p: p)
            let o = SetMetrics.ospa(m, nx: nx, ny: ny, c: c, p: p)
            sumG += g.distance; sumO += o.distance
            sumG2 += g.distance * g.distance
            sumD += m.closeCost; pairs += m.closePairs
            missed += nx - m.closePairs; falseT += ny - m.closePairs
            truthN += nx; trackN += ny
            out.gospaSeries.append((Double(uniq[s]) / 1e6, g.distance))
            let xs = X[s], ys = Y[s]
            mot.update(truthIDs: Xid[s], hypothesisIDs: Yid[s]) { i, j in
                let dx = xs[3 * i] - ys[3 * j], dy = xs[3 * i + 1] - ys[3 * j + 1], dz = xs[3 * i + 2] - ys[3 * j + 2]
                return (dx * dx + dy * dy + dz * dz).squareRoot()
            }
        }
        let nd = Double(max(n, 1))
        out.gospaMean = sumG / nd
        out.ospaMean = sumO / nd
        out.matchedPositionError = pairs > 0 ? (sumD / Double(pairs)).squareRoot() : 0
        out.missedPerTime = Double(missed) / nd
        out.falsePerTime = Double(falseT) / nd
        out.truthPerTime = Double(truthN) / nd
        out.tracksPerTime = Double(trackN) / nd
        out.gospaPerTarget = out.truthPerTime > 0 ? (sumG2 / nd / out.truthPerTime).squareRoot() : 0
        out.mot = mot.summary()
        return out
    }

    /// The summary as JSON fields (format §4 names, then the CLEAR MOT and identity extras).
    public var fields: [(String, Double)] {
        [("gospa_mean", gospaMean), ("ospa_mean", ospaMean), ("matched_pos_err", matchedPositionError),
         ("missed_per_time", missedPerTime), ("false_per_time", falsePerTime), ("truth_per_time", truthPerTime),
         ("tracks_per_time", tracksPerTime), ("gospa_per_target", gospaPerTarget), ("scan_times", Double(scanTimes)),
         ("mota", mot.mota), ("motp_m", mot.motp), ("id_switches", Double(mot.switches)),
         ("idf1", mot.idf1), ("idp", mot.idp), ("idr", mot.idr)]
    }
}
