import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTEWA
import CanopyTracking
import Foundation

/// One replication's outcome, by its index (the index selects the replication's random streams).
public struct ReplicationRecord: Sendable, Equatable {
    public var index: Int
    public var metrics: RunMetrics
    public init(index: Int, metrics: RunMetrics) { self.index = index; self.metrics = metrics }
}

/// Which replications a process runs: all of 0..<runs, or shard i of n (a contiguous block).
/// Bounds on study sizes: every replication's record is held at once, and a count beyond these
/// is a typing slip (a million winter raids take days on a large machine), not a study.
public enum StudyLimits {
    public static let maxRuns = 1_000_000
}

public struct StudySlice: Sendable, Equatable {
    public var runs: Int
    public var shard: Int
    public var shards: Int

    public init(runs: Int, shard: Int = 0, shards: Int = 1) {
        self.runs = runs; self.shard = shard; self.shards = shards
    }

    /// Shard i of n holds replications ⌊i·runs/n⌋ ..< ⌊(i+1)·runs/n⌋.
    public var indices: Range<Int> { (shard * runs / shards)..<((shard + 1) * runs / shards) }

    /// Parses "i/N" (0 ≤ i < N).
    public static func parseShard(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        return (i, n)
    }
}

public struct StudyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Runs replications in parallel. Each replication is a whole simulation with its own random
/// streams (the scenario's seed and the replication index), so the records do not depend on
/// the number of threads or on which thread ran which replication.
public enum StudyRunner {
    /// Runs the replications `indices` on `threads` threads; `progress(done, total)` is called
    /// after each (from any thread, one call at a time). `planner` makes each replication's
    /// engagement planner (nil: the built-in assigner; `RunOptions.planner`), `sensors` its
    /// sensors of the user's (`RunOptions.sensors`), and `trackerModels` its tracker's filter bank
    /// (`RunOptions.trackerModels`).
    public static func run(_ scenario: Scenario, indices: Range<Int>, threads: Int,
                           progress: (@Sendable (Int, Int) -> Void)? = nil,
                           planner: (@Sendable (_ replication: UInt64) -> any EngagementPlanner)? = nil,
                           sensors: (@Sendable () -> [any SensorModel])? = nil,
                           trackerModels: [MotionModel]? = nil, model: BattleModel = .looks) throws -> [ReplicationRecord] {
        let work = Work(indices: indices)
        let workers = max(1, min(threads, indices.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = work.next() {
                do {
                    var options = RunOptions(replication: UInt64(i), trackRowInterval: 0, planner: planner, sensors: sensors)
                    options.trackerModels = trackerModels
                    options.model = model
                    let sim = try Simulation(scenario: scenario, options: options)
                    let result = sim.run()
                    let done = work.finish(ReplicationRecord(index: i, metrics: result.metrics))
                    progress?(done, indices.count)
                } catch {
                    work.fail(StudyError("replication \(i): \(error)"))
                }
            }
        }
        return try work.records()
    }

    /// Shared state of the workers: the next index to run and the finished records.
    final class Work: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex: Int
        private let end: Int
        private let start: Int
        private var slots: [ReplicationRecord?]
        private var done = 0
        private var error: StudyError?

        init(indices: Range<Int>) {
            nextIndex = indices.lowerBound; start = indices.lowerBound; end = indices.upperBound
            slots = Array(repeating: nil, count: indices.count)
        }

        func next() -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard error == nil, nextIndex < end else { return nil }
            nextIndex += 1
            return nextIndex - 1
        }

        func finish(_ r: ReplicationRecord) -> Int {
            lock.lock(); defer { lock.unlock() }
            slots[r.index - start] = r
            done += 1
            return done
        }

        func fail(_ e: StudyError) {
            lock.lock(); defer { lock.unlock() }
            if error == nil { error = e }
        }

        func records() throws -> [ReplicationRecord] {
            lock.lock(); defer { lock.unlock() }
            if let error { throw error }
            return slots.map { $0! }
        }
    }
}

/// A study's statistics, computed from its records in replication order (so that a study run in
/// one process and the same study merged from shards give bit-identical reports).
public struct StudyReport: Sendable {
    public var scenario: String
    public var seed: UInt64
    /// The model of the battle the replications ran under.
    public var model: BattleModel
    public var records: [ReplicationRecord]

    public init(scenario: String, seed: UInt64, model: BattleModel = .looks, records: [ReplicationRecord]) {
        self.scenario = scenario; self.seed = seed; self.model = model
        self.records = records.sorted { $0.index < $1.index }
    }

    /// Threat classes present in any replication, in `ThreatClass` order; effector types by name.
    var classNames: [String] {
        let present = Set(records.flatMap { $0.metrics.classes.map(\.0) })
        return ThreatClass.allCases.map(\.rawValue).filter { present.contains($0) }
    }
    var effectorNames: [String] { Set(records.flatMap { $0.metrics.effectors.map(\.0) }).sorted() }

    func outcome(_ m: RunMetrics, _ name: String) -> RunMetrics.ClassOutcome {
        m.classes.first { $0.0 == name }?.1 ?? RunMetrics.ClassOutcome()
    }
    func use(_ m: RunMetrics, _ name: String) -> RunMetrics.EffectorUse {
        m.effectors.first { $0.0 == name }?.1 ?? RunMetrics.EffectorUse(fired: 0, cost: 0)
    }

    static func share(_ part: Double, _ whole: Double) -> Double? { whole > 0 ? part / whole : nil }

    public var json: JSONValue {
        let ms = records.map(\.metrics)
        // Every quantity here is ≥ 0 and the shares ≤ 1: the intervals' bounds stay within.
        func est(_ xs: [Double], share: Bool = false) -> JSONValue {
            let e = Estimate(xs, within: share ? 0...1 : 0...Double.infinity)
            guard e.count > 0 else { return .null }
            return e.json(standardDeviation: true)
        }
        var classes: [(String, JSONValue)] = []
        for c in classNames {
            let o = ms.map { outcome($0, c) }
            classes.append((c, .object([
                ("launched", est(o.map { Double($0.launched) })),
                ("engaged", est(o.map { Double($0.engaged) })),
                ("destroyed", est(o.map { Double($0.destroyed) })),
                ("lostJammed", est(o.map { Double($0.lostJammed) })),
                ("leaked", est(o.map { Double($0.leaked) })),
                ("leakRate", est(o.compactMap { Self.share(Double($0.leaked), Double($0.launched)) }, share: true)),
            ])))
        }
        var effectors: [(String, JSONValue)] = []
        for e in effectorNames {
            let u = ms.map { use($0, e) }
            effectors.append((e, .object([("fired", est(u.map { Double($0.fired) })), ("cost", est(u.map(\.cost)))])))
        }
        let leads = ms.flatMap(\.leadTimes).sorted()
        let alerts: JSONValue = .object([
            ("impacts", est(ms.map { Double($0.impacts) })),
            ("warnedShare", est(ms.compactMap { Self.share(Double($0.leadTimes.count), Double($0.impacts)) }, share: true)),
            ("leadTimeMean", est(ms.compactMap { $0.leadTimes.isEmpty ? nil : $0.leadTimes.reduce(0, +) / Double($0.leadTimes.count) })),
            ("leadTimePooled", leads.isEmpty ? .null : .object([
                ("n", .int(leads.count)), ("p10", .number(percentile(leads, 0.1))),
                ("median", .number(percentile(leads, 0.5))), ("p90", .number(percentile(leads, 0.9)))])),
            ("falseAlarmRegionMinutes", est(ms.map(\.falseAlarmRegionMinutes))),
            ("alertRegionMinutes", est(ms.map(\.alertRegionMinutes))),
        ])
        return .object([
            ("scenario", .string(scenario)),
            ("seed", .string(String(seed))),
            ("model", .string(model.rawValue)),
            ("replications", .int(records.count)),
            ("note", .string("mean and 95 % confidence interval (Student's t) over independent replications, its bounds kept within the quantity's range (shares 0 to 1, the rest ≥ 0); null with one value")),
            ("threatClasses", .object(classes)),
            ("valueProtectedShare", est(ms.compactMap { Self.share($0.valueProtected, $0.valueAtRisk) }, share: true)),
            ("valueProtected", est(ms.map(\.valueProtected))),
            ("valueAtRisk", est(ms.map(\.valueAtRisk))),
            ("populationProtectedShare", est(ms.compactMap { Self.share($0.populationProtected, $0.populationAtRisk) }, share: true)),
            ("populationProtected", est(ms.map(\.populationProtected))),
            ("interceptors", .object(effectors)),
            ("interceptorCost", est(ms.map(\.interceptorCost))),
            ("roundsAtDecoys", .object([("rounds", est(ms.map { Double($0.decoyRounds) })),
                                        ("expensiveRounds", est(ms.map { Double($0.expensiveDecoyRounds) })),
                                        ("cost", est(ms.map(\.decoyCost)))])),
            ("roundsAtFalseTracks", .object([("rounds", est(ms.map { Double($0.falseTrackRounds) })),
                                             ("cost", est(ms.map(\.falseTrackCost)))])),
            ("alerts", alerts),
        ] + (ms.contains { $0.plansRefused > 0 } ? [("plansRefused", est(ms.map { Double($0.plansRefused) }))] : []))
    }

    /// The headline quantities as named estimates (the metrics a sweep tabulates and plots):
    /// shares protected, cost, alerts, then leak rate per threat class and rounds per effector.
    public var estimates: [(name: String, estimate: Estimate)] {
        let ms = records.map(\.metrics)
        // Shares within 0...1, the rest ≥ 0, as in the JSON.
        let share = { (xs: [Double]) in Estimate(xs, within: 0...1) }
        let amount = { (xs: [Double]) in Estimate(xs, within: 0...Double.infinity) }
        var out: [(String, Estimate)] = [
            ("value_protected_share", share(ms.compactMap { Self.share($0.valueProtected, $0.valueAtRisk) })),
            ("population_protected_share", share(ms.compactMap { Self.share($0.populationProtected, $0.populationAtRisk) })),
            ("interceptor_cost", amount(ms.map(\.interceptorCost))),
            ("warned_share", share(ms.compactMap { Self.share(Double($0.leadTimes.count), Double($0.impacts)) })),
            ("false_alarm_region_minutes", amount(ms.map(\.falseAlarmRegionMinutes))),
        ]
        for c in classNames {
            out.append(("leak_rate_\(c)", share(ms.compactMap { m in
                let o = outcome(m, c)
                return Self.share(Double(o.leaked), Double(o.launched))
            })))
        }
        for e in effectorNames { out.append(("fired_\(e)", amount(ms.map { Double(use($0, e).fired) }))) }
        out.append(("rounds_at_decoys", amount(ms.map { Double($0.decoyRounds) })))
        out.append(("expensive_rounds_at_decoys", amount(ms.map { Double($0.expensiveDecoyRounds) })))
        out.append(("cost_at_decoys", amount(ms.map(\.decoyCost))))
        out.append(("rounds_at_false_tracks", amount(ms.map { Double($0.falseTrackRounds) })))
        out.append(("cost_at_false_tracks", amount(ms.map(\.falseTrackCost))))
        return out
    }

    /// One row per replication (for plots and further analysis).
    public var csv: String {
        let cn = classNames, en = effectorNames
        var header = ["replication", "value_at_risk", "value_lost", "value_protected_share", "population_at_risk",
                      "population_affected", "interceptor_cost", "impacts", "warned_impacts", "mean_lead_s",
                      "false_alarm_region_minutes", "alert_region_minutes", "rounds_at_decoys", "expensive_rounds_at_decoys",
                      "rounds_at_false_tracks", "cost_at_false_tracks"]
        for c in cn { header += ["launched_\(c)", "leaked_\(c)", "destroyed_\(c)"] }
        for e in en { header += ["fired_\(e)"] }
        var out = header.map(OutputWriter.csvField).joined(separator: ",") + "\n"
        for r in records {
            let m = r.metrics
            var row = [String(r.index), Self.num(m.valueAtRisk), Self.num(m.valueLost),
                       Self.share(m.valueProtected, m.valueAtRisk).map(Self.num) ?? "",
                       Self.num(m.populationAtRisk), Self.num(m.populationAffected), Self.num(m.interceptorCost),
                       String(m.impacts), String(m.leadTimes.count),
                       m.leadTimes.isEmpty ? "" : Self.num(m.leadTimes.reduce(0, +) / Double(m.leadTimes.count)),
                       Self.num(m.falseAlarmRegionMinutes), Self.num(m.alertRegionMinutes), String(m.decoyRounds),
                       String(m.expensiveDecoyRounds), String(m.falseTrackRounds), Self.num(m.falseTrackCost)]
            for c in cn { let o = outcome(m, c); row += [String(o.launched), String(o.leaked), String(o.destroyed)] }
            for e in en { row.append(String(use(m, e).fired)) }
            out += row.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A number as in study.json (at most 6 decimals), an integral value without a fraction.
    static func num(_ x: Double) -> String {
        guard x.isFinite else { return "" }
        let r = (x * 1e6).rounded() / 1e6
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : "\(r)"
    }

    /// The report as a terminal table.
    public var table: String {
        let ms = records.map(\.metrics)
        func ci(_ xs: [Double], _ f: (Double) -> String) -> String {
            let e = Estimate(xs)
            guard e.count > 0 else { return "-" }
            return e.text(f)
        }
        let pct = { (x: Double) in String(format: "%.1f %%", 100 * x) }
        let one = { (x: Double) in String(format: "%.2f", x) }
        // Dollars in the unit their size needs (a jammer's $70 a raid showed as $0k).
        let money = { (x: Double) -> String in
            let a = abs(x)
            return a >= 1e6 ? String(format: "$%.1fM", x / 1e6) : a >= 1e4 ? String(format: "$%.0fk", x / 1e3)
                : a >= 1e3 ? String(format: "$%.1fk", x / 1e3) : String(format: "$%.0f", x)
        }
        var s = "Canopy study — \(scenario) (seed \(seed)), \(records.count) replications"
            + (model == .looks ? "" : " under the \(model.rawValue) model") + "; mean ± 95 % CI\n\n"
        var rows: [[String]] = []
        for c in classNames {
            let o = ms.map { outcome($0, c) }
            rows.append([c, ci(o.map { Double($0.launched) }, one), ci(o.map { Double($0.destroyed) }, one),
                         ci(o.map { Double($0.leaked) }, one), ci(o.compactMap { Self.share(Double($0.leaked), Double($0.launched)) }, pct)])
        }
        s += Self.render(["threat class", "launched", "destroyed", "leaked", "leak rate"], rows) + "\n"
        var erows: [[String]] = []
        for e in effectorNames {
            let u = ms.map { use($0, e) }
            erows.append([e, ci(u.map { Double($0.fired) }, one), ci(u.map(\.cost), money)])
        }
        erows.append(["total", "", ci(ms.map(\.interceptorCost), money)])
        s += Self.render(["effector", "fired", "cost"], erows) + "\n"
        s += "value protected:      \(ci(ms.compactMap { Self.share($0.valueProtected, $0.valueAtRisk) }, pct)) of value at risk\n"
        s += "population protected: \(ci(ms.compactMap { Self.share($0.populationProtected, $0.populationAtRisk) }, pct))\n"
        s += "impacts warned:       \(ci(ms.compactMap { Self.share(Double($0.leadTimes.count), Double($0.impacts)) }, pct))"
        let leads = ms.flatMap(\.leadTimes).sorted()
        if !leads.isEmpty { s += String(format: "; lead time median %.0f s (10th percentile %.0f s)", percentile(leads, 0.5), percentile(leads, 0.1)) }
        s += "\nfalse-alarm region-minutes: \(ci(ms.map(\.falseAlarmRegionMinutes), { String(format: "%.0f", $0) }))\n"
        if ms.contains(where: { $0.decoyRounds > 0 }) {
            s += "rounds at decoys: \(ci(ms.map { Double($0.decoyRounds) }, one)), of which costing $100k or more: "
                + "\(ci(ms.map { Double($0.expensiveDecoyRounds) }, one)); their cost \(ci(ms.map(\.decoyCost), money))\n"
        }
        if ms.contains(where: { $0.falseTrackRounds > 0 }) {
            s += "rounds at false tracks (clutter, false reports): \(ci(ms.map { Double($0.falseTrackRounds) }, one)); their cost \(ci(ms.map(\.falseTrackCost), money))\n"
        }
        if ms.contains(where: { $0.plansRefused > 0 }) {
            s += "engagement plans refused (beyond the fire units): \(ci(ms.map { Double($0.plansRefused) }, one))\n"
        }
        return s
    }

    public static func render(_ header: [String], _ rows: [[String]]) -> String { TextTable.render(header, rows) }
}

extension Estimate {
    /// As written in study files: mean, 95 % interval and (optionally) standard deviation, the
    /// last two null for a single value (no interval), with the count.
    public func json(standardDeviation: Bool = false) -> JSONValue {
        var fields: [(String, JSONValue)] = [("mean", .number(mean)),
                                             ("ci95", hasInterval ? .array([.number(lower), .number(upper)]) : .null)]
        if standardDeviation { fields.append(("sd", hasInterval ? .number(self.standardDeviation) : .null)) }
        fields.append(("n", .int(count)))
        return .object(fields)
    }
}
