import CanopyCore
import CanopyScenario
import CanopySimulation
import Foundation
import Yams

/// How long interceptor stocks last under a raid tempo, and what protection is lost after.
///
/// ```yaml
/// days: 120                          # forecast horizon
/// runs: 10                           # replications per raid kind and stock state (≥ 2)
/// paths: 200                         # Monte Carlo paths of the campaign (default 200)
/// stocks: {patriot-pac3: 120, nasams: 200}    # rounds at day 0; types not listed never run out
/// deliveries:
///   - {day: 30, type: patriot-pac3, rounds: 24}
///   - {every: 14, type: nasams, rounds: 20}      # recurring, from day `every`
/// raids:                             # the tempo: raids per week of each kind
///   - {scenario: ../winter-raid.yaml, perWeek: 1}
/// arrivals: even                     # or poisson: random raid times at the same tempo
/// doctrines:                         # compared; each is edits of every raid scenario
///   - name: as written
///   - name: Patriot held for ballistic threats
///     set: {doctrine.reserves: "[{effector: patriot-pac3, rounds: 24, for: [ballistic, aeroballistic]}]"}
/// ```
public struct StockpileSpec: Sendable {
    public struct Delivery: Sendable { public var day: Double; public var every: Double?; public var type: String; public var rounds: Int }
    public struct RaidKind: Sendable { public var scenarioPath: String; public var perWeek: Double }
    public struct Doctrine: Sendable { public var name: String; public var overrides: [ScenarioOverride] }
    /// When the raids of a kind come: evenly spaced at their tempo, or as a Poisson process of
    /// that rate (independent gaps, exponential with mean 7 / perWeek days), drawn anew on every
    /// campaign path.
    public enum Arrivals: String, Sendable, CaseIterable { case even, poisson }

    public var days: Double
    public var runs: Int
    public var paths: Int
    public var seed: UInt64
    public var stocks: [(type: String, rounds: Int)]
    public var deliveries: [Delivery]
    public var raids: [RaidKind]
    public var arrivals: Arrivals = .even
    public var doctrines: [Doctrine]

    public static func load(path: String) throws -> StockpileSpec {
        let (top, fail) = try StudyFile.mapping(path: path, known: ["days", "runs", "paths", "seed", "stocks", "deliveries", "raids", "arrivals", "doctrines"],
                                                shape: "a mapping (days, runs, stocks, deliveries, raids, doctrines)")
        func number(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }
        guard let days = number(top["days"]), days > 0, days <= 3650 else { throw fail("days", "must be a number of days > 0 and ≤ 3650 (ten years)") }
        guard let runs = top["runs"] as? Int, runs >= 2, runs <= StudyLimits.maxRuns else {
            throw fail("runs", "must be a whole number from 2 (for confidence intervals) to \(StudyLimits.maxRuns)")
        }
        // A field that is present must be of its kind: a wrong one is an error, never the default.
        var paths = 200
        if let p = top["paths"] {
            guard let n = p as? Int, n >= 1, n <= 100_000 else { throw fail("paths", "must be a whole number from 1 to 100000 (got \(p))") }
            paths = n
        }
        var seed: UInt64 = 1
        if let s = top["seed"] {
            guard let v = StudyFile.seed(s) else { throw fail("seed", StudyFile.seedRule(s)) }
            seed = v
        }
        guard let st = top["stocks"] as? [String: Any], !st.isEmpty else { throw fail("stocks", "must map effector types to rounds at day 0") }
        var stocks: [(String, Int)] = []
        for (k, v) in st.sorted(by: { $0.key < $1.key }) {
            guard let n = v as? Int, n >= 0 else { throw fail("stocks.\(k)", "must be a whole number of rounds ≥ 0") }
            stocks.append((k, n))
        }
        var deliveries: [Delivery] = []
        if let d = top["deliveries"], !(d is [Any]) {
            throw fail("deliveries", "must be a list of {day or every, type, rounds} (one '- ' item each)")
        }
        for (i, raw) in ((top["deliveries"] as? [Any]) ?? []).enumerated() {
            let f = "deliveries[\(i)]"
            guard let d = raw as? [String: Any] else { throw fail(f, "must be {day or every, type, rounds}") }
            guard let type = d["type"] as? String, stocks.contains(where: { $0.0 == type }) else {
                throw fail(f + ".type", "must be one of the stocked types (\(stocks.map(\.0).joined(separator: ", ")))")
            }
            guard let r = d["rounds"] as? Int, r >= 1 else { throw fail(f + ".rounds", "must be a whole number ≥ 1") }
            let day = number(d["day"]), every = number(d["every"])
            guard (day == nil) != (every == nil) else { throw fail(f, "give either day or every") }
            if let every { guard every >= 0.1 else { throw fail(f + ".every", "must be at least 0.1 days (got \(every))") } }
            if let day { guard day >= 0 else { throw fail(f + ".day", "must be ≥ 0") } }
            deliveries.append(Delivery(day: day ?? every!, every: every, type: type, rounds: r))
        }
        guard let rl = top["raids"] as? [Any], !rl.isEmpty else { throw fail("raids", "must be a non-empty list of {scenario, perWeek}") }
        var raids: [RaidKind] = []
        for (i, raw) in rl.enumerated() {
            let f = "raids[\(i)]"
            guard let d = raw as? [String: Any], let sc = d["scenario"] as? String else { throw fail(f + ".scenario", "missing") }
            guard let pw = number(d["perWeek"]), pw > 0, pw <= 100 else { throw fail(f + ".perWeek", "must be a number of raids per week > 0 and ≤ 100") }
            raids.append(RaidKind(scenarioPath: StudyFile.resolve(sc, besideFile: path), perWeek: pw))
        }
        var arrivals = Arrivals.even
        if let a = top["arrivals"] {
            guard let name = a as? String, let v = Arrivals(rawValue: name) else {
                throw fail("arrivals", "must be \(Arrivals.allCases.map(\.rawValue).joined(separator: " or ")) (got '\(a)')")
            }
            arrivals = v
        }
        var doctrines: [Doctrine] = []
        if let d = top["doctrines"], !(d is [Any]) {
            throw fail("doctrines", "must be a list of {name, set} (one '- ' item each)")
        }
        for (i, raw) in ((top["doctrines"] as? [Any]) ?? [["name": "as written"]]).enumerated() {
            let f = "doctrines[\(i)]"
            guard let d = raw as? [String: Any], let name = d["name"] as? String else { throw fail(f + ".name", "missing") }
            var overrides: [ScenarioOverride] = []
            if let set = d["set"] {
                guard let m = set as? [String: Any] else { throw fail(f + ".set", "must map paths to values") }
                for (p, v) in m.sorted(by: { $0.key < $1.key }) {
                    if let problem = ScenarioOverride.problem(in: p) { throw fail(f + ".set." + p, problem) }
                    guard let text = StudyFile.overrideText(v) else {
                        throw fail(f + ".set." + p, "must be a number, a word, true/false, a list or a mapping")
                    }
                    overrides.append(ScenarioOverride(path: p, .set(text)))
                }
            }
            if doctrines.contains(where: { $0.name == name }) { throw fail(f + ".name", "'\(name)' names an earlier doctrine too") }
            doctrines.append(Doctrine(name: name, overrides: overrides))
        }
        if doctrines.isEmpty { throw fail("doctrines", "must list at least one doctrine (leave it out for the scenarios as written)") }
        return StockpileSpec(days: days, runs: runs, paths: paths, seed: seed, stocks: stocks, deliveries: deliveries,
                             raids: raids, arrivals: arrivals, doctrines: doctrines)
    }
}

/// The campaign forecast: raids at the tempo (evenly spaced per kind, or at Poisson times), each drawing its rounds
/// from the national stock. A raid's consumption and protection come from simulated
/// replications of that raid under the current stock state: a type whose stock is exhausted has
/// no rounds left in any unit (its units are removed). Monte Carlo over campaign paths: each
/// raid draws one of its kind's replications at random.
public struct StockpileForecaster {
    public var spec: StockpileSpec
    public var threads: Int
    /// The model of the battle its replications run under.
    public var model: BattleModel = .looks
    private var cache: [String: [RunMetrics]] = [:]
    public private(set) var simulations = 0

    public init(spec: StockpileSpec, threads: Int) { self.spec = spec; self.threads = threads }

    public struct TypeForecast: Sendable {
        public var type: String
        /// Day of running out on each path (nil: lasted the horizon).
        public var runOutDays: [Double?]
    }

    public struct DoctrineForecast: Sendable {
        public var name: String
        public var types: [TypeForecast]
        /// Mean value-protected share of the raids in each week, over paths.
        public var weekly: [Double]
        /// Value-protected share of the raids while every type had stock, and after the first ran
        /// out: per path the mean over its raids, then the estimate over paths (its interval is
        /// over campaign paths, not over the replications each state's outcomes come from).
        public var beforeRunOut: Estimate
        public var afterRunOut: Estimate
        /// Per raid kind: value-protected share with full stock, per depleted state seen.
        public var states: [(raid: Int, depleted: [String], share: Estimate, firedPerRaid: [(String, Double)])]
    }

    mutating func outcomes(raid: Int, doctrine: StockpileSpec.Doctrine, depleted: [String]) throws -> [RunMetrics] {
        let key = "\(raid)|\(doctrine.name)|\(depleted.joined(separator: ","))"
        if let v = cache[key] { return v }
        let path = spec.raids[raid].scenarioPath
        var base = try ScenarioLoader.load(path: path, overrides: doctrine.overrides)
        // A type that has run out has no rounds in any unit: its units leave the defence.
        base.fireUnits.removeAll { depleted.contains($0.type) }
        let records = try StudyRunner.run(base, indices: 0..<spec.runs, threads: threads, model: model)
        simulations += spec.runs
        let v = records.map(\.metrics)
        cache[key] = v
        return v
    }

    /// The raids of campaign path `path` within the horizon, by day (then kind). Even: kind k at
    /// days (i + ½)·7/perWeek, the same on every path. Poisson: each kind's gaps drawn from its
    /// own stream of (seed, path), so a path's raids do not depend on the other paths, the
    /// doctrine or the outcomes drawn.
    func schedule(path: Int) -> [(day: Double, raid: Int)] {
        var events: [(day: Double, raid: Int)] = []
        for (k, r) in spec.raids.enumerated() {
            let gap = 7 / r.perWeek
            switch spec.arrivals {
            case .even:
                var d = gap / 2
                while d < spec.days { events.append((d, k)); d += gap }
            case .poisson:
                var rng = RandomStream(seed: spec.seed, replication: UInt64(path), component: "stockpile-arrivals-\(k)")
                var d = rng.exponential(mean: gap)
                while d < spec.days { events.append((d, k)); d += rng.exponential(mean: gap) }
            }
        }
        events.sort { $0.day != $1.day ? $0.day < $1.day : $0.raid < $1.raid }
        return events
    }

    public mutating func forecast(log: ((String) -> Void)? = nil) throws -> [DoctrineForecast] {
        // A stocked type must be an interceptor of the raids' catalogues (a misspelt one never
        // ran out, silently).
        var known = Set<String>()
        for r in spec.raids { known.formUnion(try ScenarioLoader.load(path: r.scenarioPath).catalogue.effectors.keys) }
        for (type, _) in spec.stocks where !known.contains(type) {
            throw StudyError("stocks.\(type): not an effector type of the raids' scenarios (\(known.sorted().joined(separator: ", ")))")
        }
        let even = spec.arrivals == .even ? schedule(path: 0) : nil
        let expected = spec.raids.reduce(0) { $0 + $1.perWeek / 7 * spec.days }
        let stocked = spec.stocks.map(\.type)
        var out: [DoctrineForecast] = []
        for doctrine in spec.doctrines {
            log?("doctrine '\(doctrine.name)': " + (even.map { "\($0.count) raids" } ?? String(format: "%.1f raids expected (Poisson times)", expected))
                 + " over \(String(format: "%g", spec.days)) days, \(spec.paths) paths")
            let weeks = Int((spec.days / 7).rounded(.up))
            var weekSum = [Double](repeating: 0, count: weeks), weekN = [Double](repeating: 0, count: weeks)
            var before: [Double] = [], after: [Double] = []
            var runOut = [[Double?]](repeating: [], count: stocked.count)
            var seen: [String: (raid: Int, depleted: [String])] = [:]
            for p in 0..<spec.paths {
                var rng = RandomStream(seed: spec.seed, replication: UInt64(p), component: "stockpile")
                var stock = spec.stocks.map { Double($0.rounds) }
                var out = [Double?](repeating: nil, count: stocked.count)
                var nextDelivery = spec.deliveries.map(\.day)
                var pathBefore: [Double] = [], pathAfter: [Double] = []
                for e in even ?? schedule(path: p) {
                    // Deliveries due by this raid.
                    for (i, d) in spec.deliveries.enumerated() {
                        while nextDelivery[i] <= e.day {
                            let t = stocked.firstIndex(of: d.type)!
                            stock[t] += Double(d.rounds)
                            nextDelivery[i] = d.every.map { nextDelivery[i] + $0 } ?? .infinity
                        }
                    }
                    let depleted = stocked.indices.filter { stock[$0] < 0.5 }.map { stocked[$0] }
                    let runs = try outcomes(raid: e.raid, doctrine: doctrine, depleted: depleted)
                    seen["\(e.raid)|\(depleted.joined(separator: ","))"] = (e.raid, depleted)
                    let m = runs[Int(rng.next() % UInt64(runs.count))]
                    for (t, type) in stocked.enumerated() where stock[t] >= 0.5 {
                        let fired = Double(m.effectors.first { $0.0 == type }?.1.fired ?? 0)
                        stock[t] = max(0, stock[t] - fired)
                        if stock[t] < 0.5 && out[t] == nil { out[t] = e.day }
                    }
                    let share = m.valueAtRisk > 0 ? m.valueProtected / m.valueAtRisk : 1
                    let w = min(Int(e.day / 7), weeks - 1)
                    weekSum[w] += share; weekN[w] += 1
                    if depleted.isEmpty { pathBefore.append(share) } else { pathAfter.append(share) }
                }
                if !pathBefore.isEmpty { before.append(pathBefore.reduce(0, +) / Double(pathBefore.count)) }
                if !pathAfter.isEmpty { after.append(pathAfter.reduce(0, +) / Double(pathAfter.count)) }
                for t in stocked.indices { runOut[t].append(out[t]) }
            }
            var states: [(Int, [String], Estimate, [(String, Double)])] = []
            for key in seen.keys.sorted() {
                let (raid, depleted) = seen[key]!
                let ms = try outcomes(raid: raid, doctrine: doctrine, depleted: depleted)
                let share = Estimate(ms.map { $0.valueAtRisk > 0 ? $0.valueProtected / $0.valueAtRisk : 1 })
                var fired: [(String, Double)] = []
                for type in stocked {
                    var total = 0.0
                    for m in ms { total += Double(m.effectors.first { $0.0 == type }?.1.fired ?? 0) }
                    fired.append((type, total / Double(ms.count)))
                }
                states.append((raid, depleted, share, fired))
            }
            out.append(DoctrineForecast(name: doctrine.name,
                                        types: stocked.indices.map { TypeForecast(type: stocked[$0], runOutDays: runOut[$0]) },
                                        weekly: zip(weekSum, weekN).map { $1 > 0 ? $0 / $1 : .nan },
                                        beforeRunOut: Estimate(before), afterRunOut: Estimate(after), states: states))
        }
        return out
    }
}
