import CanopyCore
import CanopyScenario
import Foundation
import Yams

/// Where new fire units should stand: candidate sites, what each kind of unit is, and how many
/// of each to add.
///
/// ```yaml
/// sites:                                  # where a new unit may stand
///   - {id: Kyiv-North, lat: 50.62, lon: 30.50}
///   - {id: Kharkiv-West, lat: 49.98, lon: 36.05}
/// units:                                  # optional: what a kind of unit is (defaults below)
///   medium-range: {type: nasams, magazine: 24, launchers: 4}
/// ```
///
/// Built-in kinds: `long-range` (Patriot PAC-3: 32 rounds, 4 launchers), `medium-range`
/// (NASAMS: 24, 4), `short-range` (Gepard: 18, 1); any effector type of the catalogue may also
/// be named directly (`2 x iris-t-slm`), with the magazine and launchers given under `units`.
public struct PlanSpec: Sendable {
    public struct Site: Sendable, Equatable {
        public var id: String
        public var position: Geodetic
    }
    public struct UnitKind: Sendable, Equatable {
        public var type: String
        public var magazine: Int
        public var launchers: Int
    }

    public var sites: [Site]
    public var units: [String: UnitKind]

    public static let builtInUnits: [String: UnitKind] = [
        "long-range": UnitKind(type: "patriot-pac3", magazine: 32, launchers: 4),
        "medium-range": UnitKind(type: "nasams", magazine: 24, launchers: 4),
        "short-range": UnitKind(type: "gepard", magazine: 18, launchers: 1),
    ]

    public static func load(path: String) throws -> PlanSpec {
        let (top, fail) = try StudyFile.mapping(path: path, known: ["sites", "units"], shape: "a mapping with sites (and optionally units)")
        guard let list = top["sites"] as? [Any], !list.isEmpty else { throw fail("sites", "must be a non-empty list of {id, lat, lon}") }
        var sites: [Site] = []
        for (i, raw) in list.enumerated() {
            let f = "sites[\(i)]"
            guard let m = raw as? [String: Any] else { throw fail(f, "must be a mapping {id, lat, lon}") }
            for k in m.keys where !["id", "lat", "lon"].contains(k) { throw fail(f + "." + k, "unknown field (known: id, lat, lon)") }
            guard let id = (m["id"] as? String) ?? (m["id"] as? Int).map(String.init), !id.isEmpty else { throw fail(f + ".id", "missing") }
            guard !sites.contains(where: { $0.id == id }) else { throw fail(f + ".id", "'\(id)' is used twice") }
            guard let lat = (m["lat"] as? Double) ?? (m["lat"] as? Int).map(Double.init), abs(lat) <= 90 else {
                throw fail(f + ".lat", "must be a latitude in degrees (−90…90)")
            }
            guard let lon = (m["lon"] as? Double) ?? (m["lon"] as? Int).map(Double.init), abs(lon) <= 180 else {
                throw fail(f + ".lon", "must be a longitude in degrees (−180…180)")
            }
            sites.append(Site(id: id, position: Geodetic(latitudeDegrees: lat, longitudeDegrees: lon)))
        }
        var units = builtInUnits
        if let u = top["units"] {
            guard let m = u as? [String: Any] else { throw fail("units", "must be a mapping of kind: {type, magazine, launchers}") }
            for (kind, raw) in m {
                let f = "units.\(kind)"
                guard let d = raw as? [String: Any], let type = d["type"] as? String else { throw fail(f, "needs {type, magazine, launchers}") }
                guard let mag = d["magazine"] as? Int, mag >= 1 else { throw fail(f + ".magazine", "must be a whole number ≥ 1") }
                let launchers = (d["launchers"] as? Int) ?? 1
                guard launchers >= 1 else { throw fail(f + ".launchers", "must be a whole number ≥ 1") }
                units[kind] = UnitKind(type: type, magazine: mag, launchers: launchers)
            }
        }
        return PlanSpec(sites: sites, units: units)
    }

    /// Parses "2 x medium-range, 1 x long-range" into the kinds to add, one entry per unit.
    public func parseAdd(_ text: String) throws -> [String] {
        var out: [String] = []
        for part in text.split(separator: ",") {
            let words = part.split(whereSeparator: { $0 == " " || $0 == "×" }).filter { $0 != "x" }
            let count: Int, kind: String
            if words.count == 2, let n = Int(words[0]) { (count, kind) = (n, String(words[1])) }
            else if words.count == 1, Int(words[0]) == nil { (count, kind) = (1, String(words[0])) }
            else { throw StudyError("--add: '\(part.trimmingCharacters(in: .whitespaces))' is not 'N x kind'") }
            guard count >= 1 else { throw StudyError("--add: a count must be at least 1 (got \(count))") }
            // One unit per site: more units than sites cannot be placed (and a count of a
            // billion was expanded before anything was checked).
            guard out.count + count <= sites.count else {
                throw StudyError("--add: \(out.count + count) units or more, but only \(sites.count) candidate sites (one unit per site)")
            }
            guard units[kind] != nil else {
                throw StudyError("--add: unknown kind '\(kind)' (known: \(units.keys.sorted().joined(separator: ", ")); define others under units in the candidates file)")
            }
            out += Array(repeating: kind, count: count)
        }
        guard !out.isEmpty else { throw StudyError("--add: nothing to add") }
        return out
    }
}

/// One evaluated configuration: the added units' sites and every replication's value protected.
public struct PlanEvaluation: Sendable {
    public var sites: [Int]
    public var valueProtected: [Double]
    public var mean: Double { valueProtected.reduce(0, +) / Double(max(valueProtected.count, 1)) }
}

/// Chooses sites for new fire units to maximise the expected value protected over an ensemble of
/// raids: greedy (each unit in turn to its best site given those already placed), then local
/// search (move one unit to another site while that improves the mean). Every configuration is
/// evaluated on the same replications (common random numbers), so comparisons are paired.
public struct DeploymentPlanner {
    public var scenario: Scenario
    public var spec: PlanSpec
    public var kinds: [String]
    public var runs: Int
    public var threads: Int
    /// At most this many units of the added ones on one site.
    public var perSite = 1

    private var cache: [String: [Double]] = [:]
    /// Mean value at risk of the ensemble (the raid does not depend on the defence).
    public private(set) var valueAtRiskMean = Double.nan
    public private(set) var evaluations = 0
    public private(set) var simulations = 0

    public init(scenario: Scenario, spec: PlanSpec, kinds: [String], runs: Int, threads: Int) {
        self.scenario = scenario; self.spec = spec; self.kinds = kinds; self.runs = runs; self.threads = threads
    }

    /// The scenario with unit k of `kinds` at site `sites[k]` (−1: not placed).
    public func configured(_ sites: [Int]) -> Scenario {
        var s = scenario
        for (k, site) in sites.enumerated() where site >= 0 {
            let u = spec.units[kinds[k]]!
            s.fireUnits.append(FireUnit(id: "NEW-\(k + 1)-\(kinds[k])@\(spec.sites[site].id)", type: u.type,
                                        position: spec.sites[site].position, magazine: u.magazine, launchers: u.launchers))
        }
        return s
    }

    /// Value protected per replication of a configuration (cached: a configuration is the
    /// multiset of (kind, site)).
    public mutating func evaluate(_ sites: [Int], progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Double] {
        let key = zip(kinds, sites).filter { $0.1 >= 0 }.map { "\($0.0)@\($0.1)" }.sorted().joined(separator: ";")
        if let v = cache[key] { return v }
        let records = try StudyRunner.run(configured(sites), indices: 0..<runs, threads: threads, progress: progress)
        let v = records.map { $0.metrics.valueProtected }
        if valueAtRiskMean.isNaN { valueAtRiskMean = Self.mean(records.map { $0.metrics.valueAtRisk }) }
        cache[key] = v
        evaluations += 1
        simulations += runs
        return v
    }

    public struct Step: Sendable {
        public var unit: Int
        public var kind: String
        public var site: Int
        /// Paired differences of value protected against the configuration before this unit.
        public var gain: Estimate
        /// Every site tried for this unit: (site, mean value protected), best first.
        public var ranking: [(site: Int, mean: Double)]
        /// The second-best site, and the chosen site's lead over it (paired differences).
        public var runnerUp: Int?
        public var lead: Estimate?
        /// Whether the lead's 95 % interval lies above zero: the replications tell the two apart.
        public var settled: Bool { lead.map { $0.lower > 0 } ?? true }
    }

    public struct Result: Sendable {
        public var baseline: [Double]
        public var greedy: [Int]
        public var steps: [Step]
        public var final: [Int]
        public var finalValues: [Double]
        /// Moves local search made: (unit, from site, to site, mean after).
        public var moves: [(unit: Int, from: Int, to: Int, mean: Double)]
        /// Each unit's marginal value in the final plan: the plan against the plan without it.
        public var marginal: [Estimate]
        public var total: Estimate
    }

    static func diff(_ a: [Double], _ b: [Double]) -> Estimate { Estimate(zip(a, b).map { $0 - $1 }) }

    public mutating func plan(log: ((String) -> Void)? = nil) throws -> Result {
        let n = kinds.count
        let baseline = try evaluate(Array(repeating: -1, count: n))
        log?(String(format: "baseline: value protected %.1f (mean of %d replications)", Self.mean(baseline), runs))
        var sites = Array(repeating: -1, count: n)
        var steps: [Step] = []
        var current = baseline
        for k in 0..<n {
            var ranking: [(Int, Double, [Double])] = []
            for s in spec.sites.indices where sites.filter({ $0 == s }).count < perSite {
                var trial = sites
                trial[k] = s
                let v = try evaluate(trial)
                ranking.append((s, Self.mean(v), v))
            }
            // Best mean; ties to the earlier site (deterministic).
            ranking.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            guard let best = ranking.first else { throw StudyError("no free candidate site for unit \(k + 1) (\(kinds[k]))") }
            sites[k] = best.0
            let second = ranking.count > 1 ? ranking[1] : nil
            steps.append(Step(unit: k, kind: kinds[k], site: best.0, gain: Self.diff(best.2, current),
                              ranking: ranking.map { ($0.0, $0.1) }, runnerUp: second?.0,
                              lead: second.map { Self.diff(best.2, $0.2) }))
            log?(String(format: "unit %d (%@): %@, value protected %.1f (+%.1f)", k + 1, kinds[k], spec.sites[best.0].id, best.1,
                        best.1 - Self.mean(current)))
            current = best.2
        }
        let greedy = sites
        // Local search: move one unit to another site; first improvement, until none improves.
        var moves: [(Int, Int, Int, Double)] = []
        var improved = true
        while improved {
            improved = false
            for k in 0..<n {
                for s in spec.sites.indices where s != sites[k] && sites.filter({ $0 == s }).count < perSite {
                    var trial = sites
                    trial[k] = s
                    let v = try evaluate(trial)
                    if Self.mean(v) > Self.mean(current) + 1e-9 {
                        moves.append((k, sites[k], s, Self.mean(v)))
                        log?(String(format: "move unit %d %@ → %@: value protected %.1f", k + 1, spec.sites[sites[k]].id, spec.sites[s].id, Self.mean(v)))
                        sites = trial
                        current = v
                        improved = true
                    }
                }
            }
        }
        var marginal: [Estimate] = []
        for k in 0..<n {
            var without = sites
            without[k] = -1
            marginal.append(Self.diff(current, try evaluate(without)))
        }
        return Result(baseline: baseline, greedy: greedy, steps: steps, final: sites, finalValues: current, moves: moves,
                      marginal: marginal, total: Self.diff(current, baseline))
    }

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(xs.count, 1)) }
}
