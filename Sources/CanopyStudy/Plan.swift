import CanopyCore
import CanopyScenario
import CanopySimulation
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
                for k in d.keys.sorted() where !["type", "magazine", "launchers"].contains(k) {
                    throw fail(f + "." + k, "unknown field (known: type, magazine, launchers)")
                }
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
/// search (move one unit to another site while that is better). Every configuration is
/// evaluated on the same replications (common random numbers), so comparisons are paired.
///
/// Each choice among sites is a ranking-and-selection race, Kim & Nelson's fully sequential
/// procedure KN (ACM TOMACS 11(3), 2001): every site gets `firstStage` replications, then sites
/// are dropped as soon as their mean falls behind another's by more than a margin that shrinks
/// as replications accumulate; the survivors get more, up to `runs`. KN's guarantee (for normally
/// distributed paired differences): with probability at least 1 − α no site better than the
/// others by `indifference` or more is dropped. A race that ends with one site left is decided;
/// one still open at `runs` is decided by the best mean, and its lead judged by its interval.
/// `firstStage == runs` (the default here) runs every site `runs` times and takes the best mean.
public struct DeploymentPlanner {
    public var scenario: Scenario
    public var spec: PlanSpec
    public var kinds: [String]
    /// The most replications one configuration gets.
    public var runs: Int
    public var threads: Int
    /// The model of the battle its replications run under.
    public var model: BattleModel = .looks
    /// At most this many units of the added ones on one site.
    public var perSite = 1
    /// Replications every site of a race gets before any is dropped (2…runs; runs: no racing).
    public var firstStage: Int
    /// Differences of expected value protected below this are not worth replications (value
    /// units; nil: 0.5 % of the mean value at risk).
    public var indifference: Double?
    /// 1 − the probability of correct selection a race aims at.
    public var alpha = 0.05

    private var cache: [String: [Double]] = [:]
    /// Mean value at risk of the ensemble's first `runs` replications (the raid does not depend
    /// on the defence: any configuration's replication j gives replication j's).
    public var valueAtRiskMean: Double { valueAtRisk.isEmpty ? .nan : Self.mean(Array(valueAtRisk.prefix(runs))) }
    private var valueAtRisk: [Double] = []
    public private(set) var evaluations = 0
    public private(set) var simulations = 0

    public init(scenario: Scenario, spec: PlanSpec, kinds: [String], runs: Int, threads: Int, firstStage: Int? = nil,
                indifference: Double? = nil) {
        self.scenario = scenario; self.spec = spec; self.kinds = kinds; self.runs = runs; self.threads = threads
        self.firstStage = max(2, min(firstStage ?? runs, runs))
        self.indifference = indifference
    }

    /// The scenario with unit k of `kinds` at site `sites[k]` (−1: not placed).
    ///
    /// The new units are appended in one order for every arrangement of the same placements (by
    /// kind, then site), and named by kind and site: a configuration is the multiset of (kind,
    /// site), and its scenario — fire-unit indices included, which key the engagement draws — is
    /// the same whichever unit number took which site. So the cache's results for a multiset are
    /// exactly what a run of any of its arrangements would give.
    public func configured(_ sites: [Int]) -> Scenario {
        var s = scenario
        let placed = zip(kinds, sites).filter { $0.1 >= 0 }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var seen: [String: Int] = [:]
        for (kind, site) in placed {
            let u = spec.units[kind]!
            let name = "NEW-\(kind)@\(spec.sites[site].id)"
            seen[name, default: 0] += 1
            let id = seen[name]! == 1 ? name : "\(name)#\(seen[name]!)"   // (# in no site id: the names cannot meet)
            s.fireUnits.append(FireUnit(id: id, type: u.type, position: spec.sites[site].position, magazine: u.magazine, launchers: u.launchers))
        }
        return s
    }

    /// Value protected in replications 0..<count of a configuration (cached, and extended when
    /// more are asked for: a configuration is the multiset of (kind, site)).
    public mutating func evaluate(_ sites: [Int], count: Int? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Double] {
        let n = count ?? runs
        let key = zip(kinds, sites).filter { $0.1 >= 0 }.map { "\($0.0)@\($0.1)" }.sorted().joined(separator: ";")
        let have = cache[key] ?? []
        if have.count >= n { return Array(have.prefix(n)) }
        let records = try StudyRunner.run(configured(sites), indices: have.count..<n, threads: threads, progress: progress, model: model)
        for rec in records where rec.index == valueAtRisk.count { valueAtRisk.append(rec.metrics.valueAtRisk) }
        let v = have + records.map { $0.metrics.valueProtected }
        cache[key] = v
        if have.isEmpty { evaluations += 1 }
        simulations += n - have.count
        return v
    }

    /// One site in a race: its mean value protected over the replications it ran, and when it
    /// was dropped (nil: it ran to the end).
    public struct Entry: Sendable {
        public var site: Int
        public var mean: Double
        public var replications: Int
        public var droppedAt: Int?
        /// The chosen site's mean lead over this one, paired over the replications both ran
        /// (means over different replications are not comparable: the raids differ).
        public var behind: Double
    }

    /// The outcome of a race among configurations.
    struct Race {
        var winner: Int
        /// Every entrant, the winner first, then the survivors by mean, then the dropped ones
        /// latest first (each by mean).
        var order: [Int]
        var means: [Double]
        var counts: [Int]
        var droppedAt: [Int?]
        /// Whether every other entrant was dropped.
        var decided: Bool
    }

    /// The indifference the races use: as set, or 0.5 % of the mean value at risk.
    var delta: Double { indifference ?? 0.005 * valueAtRiskMean }
    /// Whether choices are races (a first stage short of `runs` and a positive indifference).
    var racing: Bool { firstStage < runs && delta > 0 }

    /// KN among `trials`, each a placement of every unit. The winner ends with `runs` replications.
    mutating func race(_ trials: [[Int]]) throws -> Race {
        let delta = racing ? self.delta : 0
        return try Self.race(entrants: trials.count, firstStage: firstStage, runs: runs, indifference: delta, alpha: alpha) { i, n in
            try evaluate(trials[i], count: n)
        }
    }

    /// Kim & Nelson's KN among `k` entrants, whose first `n` replications `sample(i, n)` gives
    /// (common random numbers: replication j of every entrant from the same draws). The winner
    /// is sampled to `runs` at the end.
    ///
    /// η = ½ ((2α / (k − 1))^(−2 / (n₀ − 1)) − 1), h² = 2η (n₀ − 1), S²ᵢₗ the variance of the
    /// paired differences i − l; at r replications entrant i is dropped when its mean is below
    /// some survivor l's by more than Wᵢₗ(r) = max(0, δ / (2r) (h² S²ᵢₗ / δ² − r)).
    ///
    /// Two departures from the paper, both toward dropping less:
    /// - S²ᵢₗ is the larger of the first stage's variance and that of all r replications so far.
    ///   Outcomes here are lumpy (an asset saved or not): two sites can agree on every first-stage
    ///   replication, S² = 0, and KN would then drop either on its first shortfall, however small.
    /// - The test is made at r = n₀, then every max(4, r / 2) more replications, not after each.
    static func race(entrants k: Int, firstStage n0: Int, runs: Int, indifference delta: Double, alpha: Double,
                     sample: (Int, Int) throws -> [Double]) rethrows -> Race {
        precondition(k >= 1 && n0 >= 2 && runs >= 2)
        let racing = k > 1 && n0 < runs && delta > 0
        var r = racing ? n0 : runs
        var values: [[Double]] = []
        for i in 0..<k { values.append(try sample(i, r)) }
        var alive = Array(0..<k)
        var droppedAt = [Int?](repeating: nil, count: k)
        let eta = racing ? 0.5 * (pow(2 * alpha / Double(k - 1), -2 / Double(n0 - 1)) - 1) : 0
        let h2 = 2 * eta * Double(n0 - 1)
        /// The variance of the paired differences i − l over the first n replications, by
        /// `Estimate`'s arithmetic (its standard deviation, squared), without building the array.
        func variance(_ i: Int, _ l: Int, _ n: Int) -> Double {
            var sum = 0.0
            for j in 0..<n { sum += values[i][j] - values[l][j] }
            let m = sum / Double(n)
            var ss = 0.0
            for j in 0..<n { let d = values[i][j] - values[l][j]; ss += (d - m) * (d - m) }
            let sd = (ss / Double(n - 1)).squareRoot()
            return sd * sd
        }
        var s2 = [Double](repeating: 0, count: k * k)
        if racing {
            for i in 0..<k {
                for l in (i + 1)..<k {
                    s2[i * k + l] = variance(i, l, n0)
                    s2[l * k + i] = s2[i * k + l]
                }
            }
        }
        /// Mean of entrant i's first r replications (summed in order, as `mean` does).
        func mean(_ i: Int) -> Double {
            var sum = 0.0
            for j in 0..<r { sum += values[i][j] }
            return sum / Double(max(r, 1))
        }
        while racing && alive.count > 1 {
            // Elimination at r against the survivors as they stood (KN drops simultaneously).
            let m = alive.map(mean)
            var kept: [Int] = []
            for (a, i) in alive.enumerated() {
                var out = false
                for (b, l) in alive.enumerated() where l != i {
                    let v = max(s2[i * k + l], variance(i, l, r))
                    let w = max(0, delta / (2 * Double(r)) * (h2 * v / (delta * delta) - Double(r)))
                    if m[a] < m[b] - w { out = true; break }
                }
                if out { droppedAt[i] = r } else { kept.append(i) }
            }
            alive = kept
            if alive.count <= 1 || r >= runs { break }
            r = min(runs, r + max(4, r / 2))
            for i in alive { values[i] = try sample(i, r) }
        }
        // The best mean among the survivors (ties to the earlier entrant).
        var winner = alive[0]
        for i in alive where mean(i) > mean(winner) { winner = i }
        let decided = alive.count == 1 && k > 1
        if values[winner].count < runs { values[winner] = try sample(winner, runs) }
        let means = values.map { DeploymentPlanner.mean($0) }
        let counts = values.map(\.count)
        let rest = (0..<k).filter { $0 != winner }.sorted { a, b in
            let da = droppedAt[a] ?? Int.max, db = droppedAt[b] ?? Int.max
            if da != db { return da > db }
            return means[a] != means[b] ? means[a] > means[b] : a < b
        }
        return Race(winner: winner, order: [winner] + rest, means: means, counts: counts, droppedAt: droppedAt, decided: decided)
    }

    public struct Step: Sendable {
        public var unit: Int
        public var kind: String
        public var site: Int
        /// Paired differences of value protected against the configuration before this unit.
        public var gain: Estimate
        /// Every site tried for this unit, the chosen one first, then in the order the race
        /// ranked them (survivors by mean, then the last dropped first).
        public var ranking: [Entry]
        /// The second-best site, and the chosen site's lead over it (paired differences over the
        /// replications both ran).
        public var runnerUp: Int?
        public var lead: Estimate?
        /// Whether the race dropped every other site.
        public var decided: Bool
        /// Whether the race dropped every other site, or the lead's 95 % interval lies above zero.
        public var settled: Bool { decided || (lead.map { $0.lower > 0 } ?? true) }
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
        /// The indifference zone the races used (value units; 0 without races).
        public var indifference: Double
    }

    static func diff(_ a: [Double], _ b: [Double]) -> Estimate { Estimate(zip(a, b).map { $0 - $1 }) }

    public mutating func plan(log: ((String) -> Void)? = nil) throws -> Result {
        let n = kinds.count
        let baseline = try evaluate(Array(repeating: -1, count: n))
        log?(String(format: "baseline: value protected %.1f (mean of %d replications)", Self.mean(baseline), runs))
        let racing = self.racing
        let delta = racing ? self.delta : 0
        if racing {
            log?(String(format: "races: %d replications per site, then Kim–Nelson elimination (indifference %.1f, α %.2f), at most %d", firstStage, delta, alpha, runs))
        }
        var sites = Array(repeating: -1, count: n)
        var steps: [Step] = []
        var current = baseline
        for k in 0..<n {
            let free = spec.sites.indices.filter { s in sites.filter({ $0 == s }).count < perSite }
            guard !free.isEmpty else { throw StudyError("no free candidate site for unit \(k + 1) (\(kinds[k]))") }
            let trials = free.map { s -> [Int] in var t = sites; t[k] = s; return t }
            let race = try self.race(trials)
            let best = free[race.winner]
            let bestValues = try evaluate(trials[race.winner])
            sites[k] = best
            // Each site against the chosen one, paired over the replications both ran; the
            // runner-up's difference is the choice's lead.
            var lead: Estimate? = nil, runnerUp: Int? = nil
            var ranking: [Entry] = []
            for (rank, i) in race.order.enumerated() {
                let m = race.counts[i]
                let d = Self.diff(Array(bestValues.prefix(m)), try evaluate(trials[i], count: m))
                if rank == 1 { lead = d; runnerUp = free[i] }
                ranking.append(Entry(site: free[i], mean: race.means[i], replications: m, droppedAt: race.droppedAt[i], behind: d.mean))
            }
            steps.append(Step(unit: k, kind: kinds[k], site: best, gain: Self.diff(bestValues, current), ranking: ranking,
                              runnerUp: runnerUp, lead: lead, decided: race.decided))
            log?(String(format: "unit %d (%@): %@, value protected %.1f (+%.1f)", k + 1, kinds[k], spec.sites[best].id, Self.mean(bestValues),
                        Self.mean(bestValues) - Self.mean(current)))
            current = bestValues
        }
        let greedy = sites
        // Local search: race each unit's present site against every free one; move to the
        // winner when it is another site, until a pass moves nothing.
        var moves: [(Int, Int, Int, Double)] = []
        var improved = true
        while improved {
            // Each move raises the mean over the same replications, so this ends.
            improved = false
            for k in 0..<n {
                let others = spec.sites.indices.filter { s in s != sites[k] && sites.filter({ $0 == s }).count < perSite }
                guard !others.isEmpty else { continue }
                let trials = [sites] + others.map { s -> [Int] in var t = sites; t[k] = s; return t }
                let race = try self.race(trials)
                guard race.winner != 0 else { continue }
                let v = try evaluate(trials[race.winner])
                // A move must beat staying on the same replications, not only win the race.
                guard Self.mean(v) > Self.mean(current) + 1e-9 else { continue }
                moves.append((k, sites[k], others[race.winner - 1], Self.mean(v)))
                log?(String(format: "move unit %d %@ → %@: value protected %.1f", k + 1, spec.sites[sites[k]].id,
                            spec.sites[others[race.winner - 1]].id, Self.mean(v)))
                sites = trials[race.winner]
                current = v
                improved = true
            }
        }
        var marginal: [Estimate] = []
        for k in 0..<n {
            var without = sites
            without[k] = -1
            marginal.append(Self.diff(current, try evaluate(without)))
        }
        return Result(baseline: baseline, greedy: greedy, steps: steps, final: sites, finalValues: current, moves: moves,
                      marginal: marginal, total: Self.diff(current, baseline), indifference: delta)
    }

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(xs.count, 1)) }
}
