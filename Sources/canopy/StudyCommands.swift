import ArgumentParser
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyStudy
import Foundation

struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run many replications of a raid and report statistics with 95 % confidence intervals.",
        discussion: """
            Replication r uses the scenario's seed and r to pick its random streams, so results do not \
            depend on --threads. With --shard i/N only replications ⌊i·runs/N⌋ ..< ⌊(i+1)·runs/N⌋ run and \
            a partial is written; `canopy merge` combines the partials into the same report a single \
            process gives, bit for bit.
            """
    )

    @Argument(help: "Scenario file (.yaml, .yml or .json).")
    var scenario: String

    @Option(help: "Number of replications.")
    var runs: Int

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Random seed (replaces the scenario's).")
    var seed: UInt64?

    @Option(help: "Run shard i of N (0 ≤ i < N) and write partial-i-of-N.json.")
    var shard: String?

    @Option(help: "Output directory (default: out/<scenario file name>-study).")
    var out: String?

    @Option(help: ArgumentHelp(stringLiteral: battleModelHelp))
    var model: BattleModel = .looks

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard runs >= 2 && runs <= StudyLimits.maxRuns else {
            throw ValidationError("--runs must be 2 (for confidence intervals) to \(StudyLimits.maxRuns) (got \(runs)); one run is `canopy simulate`")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let shard {
            guard let (_, n) = StudySlice.parseShard(shard) else { throw ValidationError("--shard must be i/N with 0 ≤ i < N (got '\(shard)')") }
            guard n <= runs else { throw ValidationError("--shard \(shard): more shards than the \(runs) replications") }
        }
    }

    func run() throws {
        var s = try loadScenario(scenario)
        if let seed { s.seed = seed }
        let (i, n) = shard.flatMap(StudySlice.parseShard) ?? (0, 1)
        let slice = StudySlice(runs: runs, shard: i, shards: n)
        let name = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
        let dir = out ?? "out/\(name)-study"
        // A shard's folder is shared with the other shards: never removed by this one's failure.
        try prepareOutputDirectory(dir, removableOnFailure: shard == nil)
        try checkOutputFiles(shard != nil ? [StudyPartial.fileName(shard: i, of: n)] : ["study.json", "replications.csv"], in: dir,
                             inputs: [scenario] + s.inputFiles)
        // A shard's digests, of its inputs as read now (before the run: an error reading them
        // costs no work, and an edit during the run cannot pass for the inputs it ran).
        var inputsDigest = ""
        if shard != nil {
            do { inputsDigest = try StudyPartial.digest(scenarioFile: scenario, namedFiles: s.inputFiles) } catch {
                printError("\(scenario): cannot read the inputs to digest them: \(error)")
                throw ExitCode(1)
            }
        }
        let workers = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let bar = ProgressBar(enabled: !quiet && isatty(2) != 0, label: "replications")
        let start = Date()
        let records: [ReplicationRecord]
        do {
            records = try StudyRunner.run(s, indices: slice.indices, threads: workers, progress: { done, total in bar.update(done, total) },
                                          model: model)
        } catch {
            bar.clear()
            printError("\(scenario): \(error)")
            throw ExitCode(1)
        }
        bar.clear()
        let wall = Date().timeIntervalSince(start)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if shard != nil {
                var partial = StudyPartial(scenario: s.name, scenarioDigest: inputsDigest, programDigest: StudyPartial.programDigestOfThisProcess,
                                           seed: s.seed, slice: slice, records: records)
                partial.model = model
                let path = dir + "/" + StudyPartial.fileName(shard: i, of: n)
                try OutputWriter.atomicWrite(partial.text, to: path)
                print("wrote \(path): replications \(slice.indices.lowerBound)..<\(slice.indices.upperBound) of \(runs)")
            } else {
                let report = StudyReport(scenario: s.name, seed: s.seed, model: model, records: records)
                try writeReport(report, to: dir)
                print(report.table)
                print("wrote \(dir)/study.json and \(dir)/replications.csv")
            }
        } catch {
            printError(outputFailure(error, "cannot write to \(dir): \(error)"))
            throw ExitCode(1)
        }
        if !quiet {
            let used = min(workers, max(records.count, 1))
            printError(String(format: "%d replications in %.1f s wall on %d ", records.count, wall, used)
                       + (used == 1 ? "thread" : "threads")
                       + String(format: ": %.2f replications/s", Double(records.count) / max(wall, 1e-9)))
        }
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the partials of a sharded study into its report.",
        discussion: "Every shard of the study must be given exactly once; partials of another scenario, seed or shard count are refused."
    )

    @Argument(help: "Partial files (partial-i-of-N.json).")
    var partials: [String]

    @Option(help: "Output directory for study.json and replications.csv (default: the first partial's directory).")
    var out: String?

    func validate() throws {
        guard !partials.isEmpty else { throw ValidationError("give the partial files to merge") }
    }

    func run() throws {
        let merged: (scenario: String, seed: UInt64, model: BattleModel, records: [ReplicationRecord])
        do {
            merged = try StudyPartial.merge(partials.map { try StudyPartial.read(path: $0) })
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let dir = out ?? URL(fileURLWithPath: partials[0]).deletingLastPathComponent().path
        let report = StudyReport(scenario: merged.scenario, seed: merged.seed, model: merged.model, records: merged.records)
        try prepareOutputDirectory(dir)
        try checkOutputFiles(["study.json", "replications.csv"], in: dir, inputs: partials)
        do {
            try writeReport(report, to: dir)
        } catch {
            printError(outputFailure(error, "cannot write to \(dir): \(error.localizedDescription)"))
            throw ExitCode(1)
        }
        print(report.table)
        print("wrote \(dir)/study.json and \(dir)/replications.csv (\(merged.records.count) replications from \(partials.count) partials)")
    }
}

func writeReport(_ report: StudyReport, to dir: String) throws {
    var json = ""
    report.json.render(into: &json, pretty: true)
    try OutputWriter.atomicWrite([(dir + "/study.json", Data((json + "\n").utf8)), (dir + "/replications.csv", Data(report.csv.utf8))])
}

/// A progress bar on standard error: done of total, rate and time left.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private let start = Date()

    init(enabled: Bool, label: String) { self.enabled = enabled; self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let left = rate > 0 ? Double(total - done) / rate : 0
        let line = "\r  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + "\(done)/\(total) \(label), " + String(format: "%.2f/s, %@ left", rate, clock(left)) + "   "
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a study at every point of a grid of scenario edits; write a tidy CSV and an HTML report with plots.",
        discussion: "The sweep file names the scenario, the replications per point and the parameters (path and values, scale or keep); see docs/study.md."
    )

    @Argument(help: "Sweep file (.yaml).")
    var sweep: String

    @Option(help: "Replications per point (replaces the sweep file's).")
    var runs: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Output directory (default: out/<sweep file name>).")
    var out: String?

    @Option(help: ArgumentHelp(stringLiteral: battleModelHelp))
    var model: BattleModel = .looks

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if let runs, runs < 2 || runs > StudyLimits.maxRuns {
            throw ValidationError("--runs must be 2 (for confidence intervals) to \(StudyLimits.maxRuns) (got \(runs))")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        var spec: SweepSpec
        do { spec = try SweepSpec.load(path: sweep) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        if let runs { spec.runs = runs }
        let name = URL(fileURLWithPath: sweep).deletingPathExtension().lastPathComponent
        let dir = out ?? "out/\(name)"
        try prepareOutputDirectory(dir)
        try checkOutputFiles(["sweep.csv", "report.html"], in: dir, inputs: [sweep, spec.scenarioPath])
        let bar = ProgressBar(enabled: !quiet && isatty(2) != 0, label: "replications")
        let start = Date()
        let points: [SweepPoint]
        do {
            points = try SweepRunner.run(spec, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, model: model) { bar.update($0, $1) }
        } catch {
            bar.clear()
            printError("\(sweep): \(error)")
            throw ExitCode(1)
        }
        bar.clear()
        let report = SweepReport(spec: spec, points: points)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try OutputWriter.atomicWrite([(dir + "/sweep.csv", Data(report.csv.utf8)), (dir + "/report.html", Data(report.html.utf8))])
            for (k, p) in points.enumerated() {
                try FileManager.default.createDirectory(atPath: dir + "/point-\(k)", withIntermediateDirectories: true)
                try writeReport(p.report, to: dir + "/point-\(k)")
            }
        } catch {
            printError(outputFailure(error, "cannot write to \(dir): \(error)"))
            throw ExitCode(1)
        }
        var rows: [[String]] = []
        for (k, p) in points.enumerated() {
            let est = Dictionary(p.report.estimates.map { ($0.name, $0.estimate) }, uniquingKeysWith: { a, _ in a })
            func cell(_ m: String, _ scale: Double, _ fmt: String) -> String {
                guard let e = est[m], e.count > 0 else { return "-" }
                return e.text { String(format: fmt, $0 * scale) }
            }
            rows.append([String(k)] + zip(spec.parameters, p.point).map { $0.labels[$1] }
                        + [cell("value_protected_share", 100, "%.1f"), cell("interceptor_cost", 1e-6, "%.1f"),
                           cell("false_alarm_region_minutes", 1, "%.0f")])
        }
        print(StudyReport.render(["point"] + spec.parameters.map(\.name) + ["value protected %", "interceptor cost $M", "false-alarm region-min"], rows))
        print("wrote \(dir)/sweep.csv, \(dir)/report.html and point-*/study.json (\(points.count) points × \(spec.runs) replications)")
        if !quiet {
            let n = points.count * spec.runs, wall = Date().timeIntervalSince(start)
            printError(String(format: "%d replications in %.1f s wall: %.2f replications/s", n, wall, Double(n) / max(wall, 1e-9)))
        }
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Choose sites for new fire units that maximise the expected value protected over an ensemble of raids.",
        discussion: """
            Greedy (each new unit in turn to its best candidate site), then local search (move one unit while \
            that improves the mean). Every configuration runs the same replications (common random numbers); \
            each placement's marginal value is reported with a 95 % confidence interval of the paired differences. \
            Each choice among sites is a race (Kim and Nelson's KN): every site runs --first-stage replications, \
            sites that fall clearly behind are dropped, the rest run more, up to --runs.
            """
    )

    @Argument(help: "Scenario file (.yaml, .yml or .json).")
    var scenario: String

    @Option(help: "Candidate sites (and unit kinds) file.")
    var candidates: String

    @Option(help: "Units to add, e.g. \"2 x medium-range, 1 x long-range\".")
    var add: String

    @Option(help: "Replications per configuration: the most a site gets in a race, and what the chosen plan's figures rest on.")
    var runs: Int = 20

    @Option(name: .customLong("first-stage"), help: "Replications every candidate site gets before any is dropped (2 to --runs; default 10, or --runs if fewer; equal to --runs: no races, every site runs --runs).")
    var firstStage: Int?

    @Option(help: "Differences of expected value protected smaller than this are ties, not worth more replications (default: 0.5 % of the mean value at risk).")
    var indifference: Double?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Random seed (replaces the scenario's).")
    var seed: UInt64?

    @Option(help: "Output directory (default: out/<scenario file name>-plan).")
    var out: String?

    @Option(help: ArgumentHelp(stringLiteral: battleModelHelp))
    var model: BattleModel = .looks

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        guard runs >= 2 && runs <= StudyLimits.maxRuns else {
            throw ValidationError("--runs must be 2 (for confidence intervals) to \(StudyLimits.maxRuns) (got \(runs))")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let firstStage, firstStage < 2 || firstStage > runs {
            throw ValidationError("--first-stage must be from 2 to --runs (\(runs)) (got \(firstStage))")
        }
        if let indifference, !(indifference > 0 && indifference.isFinite) {
            throw ValidationError("--indifference must be a positive value (got \(indifference))")
        }
    }

    func run() throws {
        var s = try loadScenario(scenario)
        if let seed { s.seed = seed }
        let spec: PlanSpec, kinds: [String]
        do {
            spec = try PlanSpec.load(path: candidates)
            kinds = try spec.parseAdd(add)
            for k in Set(kinds) where s.catalogue.effectors[spec.units[k]!.type] == nil {
                throw StudyError("\(candidates): units.\(k).type: '\(spec.units[k]!.type)' is not an effector type of the scenario's catalogue (\(s.catalogue.effectors.keys.sorted().joined(separator: ", ")))")
            }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let name = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
        let dir = out ?? "out/\(name)-plan"
        try prepareOutputDirectory(dir)
        try checkOutputFiles(["plan.json", "plan.txt"], in: dir, inputs: [scenario, candidates] + s.inputFiles)
        var planner = DeploymentPlanner(scenario: s, spec: spec, kinds: kinds, runs: runs,
                                        threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                        firstStage: firstStage ?? min(10, runs), indifference: indifference)
        planner.model = model
        let start = Date()
        let result: DeploymentPlanner.Result
        do {
            result = try planner.plan(log: quiet ? nil : { printError("  " + $0) })
        } catch {
            printError("\(scenario): \(error)")
            throw ExitCode(1)
        }
        let site = { (i: Int) in spec.sites[i].id }
        let fmt = { (e: Estimate) in String(format: "%@ ± %.1f", signedTenths(e.mean), e.halfWidth) }
        var text = "Canopy plan — \(s.name): add \(add) among \(spec.sites.count) candidate sites, up to \(runs) replications per configuration\n"
        if result.indifference > 0 {
            text += String(format: "each choice a race: %d replications per site, then sites clearly behind dropped (Kim–Nelson at %.0f %%, indifference %.1f)\n",
                           planner.firstStage, 100 * (1 - planner.alpha), result.indifference)
        }
        text += "\n"
        text += String(format: "value protected without new units: %.1f (of %.1f at risk, mean)\n",
                       DeploymentPlanner.mean(result.baseline), planner.valueAtRiskMean)
        text += String(format: "value protected with the plan:     %.1f\n\n", DeploymentPlanner.mean(result.finalValues))
        var rows: [[String]] = []
        for k in kinds.indices {
            rows.append(["\(k + 1)", kinds[k], site(result.final[k]), fmt(result.marginal[k]),
                         fmt(result.steps[k].gain) + " at " + site(result.steps[k].site)])
        }
        text += StudyReport.render(["unit", "kind", "site", "marginal value (final plan)", "greedy step gain"], rows)
        text += "\nall new units together: " + fmt(result.total) + " value protected (95 % CI of paired differences)\n"
        if !result.moves.isEmpty {
            text += "local search moved: " + result.moves.map { "unit \($0.unit + 1) \(site($0.from)) → \(site($0.to))" }.joined(separator: "; ") + "\n"
        }
        // Each greedy choice against its runner-up: a lead whose interval holds zero is not
        // settled by these replications (more --runs, or a closer look at both sites).
        for (k, step) in result.steps.enumerated() {
            guard let r = step.runnerUp, let lead = step.lead else { continue }
            text += "unit \(k + 1): \(site(step.site)) over \(site(r)) by \(fmt(lead))"
            let over = lead.count < runs ? " (over the \(lead.count) replications both ran)" : ""
            if lead.mean == 0 && lead.halfWidth == 0 {
                text += over + " — a tie on every replication\n"
            } else if step.decided {
                text += over + " — every other site dropped by the race (" + String(format: "best, or within %.1f of the best, at %.0f %%", result.indifference, 100 * (1 - planner.alpha))
                    + (lead.lower > 0 ? "); settled\n" : "); the paired interval still holds 0\n")
            } else {
                text += over + (step.settled ? " — settled at \(lead.count) replications\n"
                    : " — not settled at \(lead.count) replications (the interval holds 0; more --runs would tell them apart)\n")
            }
        }
        text += "\nsites tried for unit 1 (how far behind the chosen site, paired over the replications both ran; replications): "
            + result.steps[0].ranking.prefix(6).enumerated().map { i, e in
                "\(site(e.site)) " + (i == 0 ? "" : signedTenths(-e.behind) + " ") + "(\(e.replications))"
            }.joined(separator: ", ") + "\n"
        print(text)
        var unitsJSON: [JSONValue] = []
        for k in kinds.indices {
            let p = spec.sites[result.final[k]].position
            var ranking: [JSONValue] = []
            for r in result.steps[k].ranking {
                ranking.append(.object([("site", .string(site(r.site))), ("mean", .number(r.mean)), ("replications", .int(r.replications)),
                                        ("behindChosen", .number(r.behind)),
                                        ("droppedAt", r.droppedAt.map { .int($0) } ?? .null)]))
            }
            let fields: [(String, JSONValue)] = [
                ("kind", .string(kinds[k])), ("type", .string(spec.units[kinds[k]]!.type)), ("site", .string(site(result.final[k]))),
                ("lat", .number(degrees(p.latitude))), ("lon", .number(degrees(p.longitude))),
                ("marginalValue", estimateJSON(result.marginal[k])),
                ("greedySite", .string(site(result.steps[k].site))), ("greedyGain", estimateJSON(result.steps[k].gain)),
                ("runnerUp", result.steps[k].runnerUp.map { .string(site($0)) } ?? .null),
                ("lead", result.steps[k].lead.map(estimateJSON) ?? .null), ("settled", .bool(result.steps[k].settled)),
                ("decidedByRace", .bool(result.steps[k].decided)),
                ("ranking", .array(ranking)),
            ]
            unitsJSON.append(.object(fields))
        }
        var movesJSON: [JSONValue] = []
        for m in result.moves {
            movesJSON.append(.object([("unit", .int(m.unit + 1)), ("from", .string(site(m.from))), ("to", .string(site(m.to))), ("mean", .number(m.mean))]))
        }
        let fields: [(String, JSONValue)] = [
            ("scenario", .string(s.name)), ("seed", .string(String(s.seed))), ("model", .string(model.rawValue)), ("replications", .int(runs)),
            ("firstStage", .int(planner.firstStage)), ("indifference", .number(result.indifference)),
            ("add", .array(kinds.map { JSONValue.string($0) })),
            ("baselineValueProtected", .number(DeploymentPlanner.mean(result.baseline))),
            ("planValueProtected", .number(DeploymentPlanner.mean(result.finalValues))),
            ("total", estimateJSON(result.total)),
            ("units", .array(unitsJSON)),
            ("moves", .array(movesJSON)),
            ("configurationsEvaluated", .int(planner.evaluations)), ("simulations", .int(planner.simulations)),
        ]
        let json = JSONValue.object(fields)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var t = ""
            json.render(into: &t, pretty: true)
            try OutputWriter.atomicWrite([(dir + "/plan.json", Data((t + "\n").utf8)), (dir + "/plan.txt", Data(text.utf8))])
        } catch {
            printError(outputFailure(error, "cannot write to \(dir): \(error)"))
            throw ExitCode(1)
        }
        print("wrote \(dir)/plan.json and \(dir)/plan.txt (\(planner.evaluations) configurations, \(planner.simulations) simulations, "
              + String(format: "%.0f s wall)", Date().timeIntervalSince(start)))
    }
}

/// A number to one decimal with its sign, a tie shown as +0.0 (never −0.0).
func signedTenths(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return String(format: "%+.1f", r == 0 ? 0 : r)
}

func estimateJSON(_ e: Estimate) -> JSONValue {
    e.json()
}

struct Stockpile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast the day each interceptor type runs out under a raid tempo, and the protection lost after; compare doctrines.",
        discussion: "The forecast file gives stocks, deliveries, raids per week by kind and the doctrines to compare; see docs/study.md."
    )

    @Argument(help: "Forecast file (.yaml).")
    var forecast: String

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Output directory (default: out/<forecast file name>).")
    var out: String?

    @Option(help: ArgumentHelp(stringLiteral: battleModelHelp))
    var model: BattleModel = .looks

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        let spec: StockpileSpec
        do { spec = try StockpileSpec.load(path: forecast) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let dir = out ?? "out/\(URL(fileURLWithPath: forecast).deletingPathExtension().lastPathComponent)"
        try prepareOutputDirectory(dir)
        try checkOutputFiles(["stockpile.json", "weekly.csv", "stockpile.txt"], in: dir, inputs: [forecast] + spec.raids.map(\.scenarioPath))
        var f = StockpileForecaster(spec: spec, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        f.model = model
        let result: [StockpileForecaster.DoctrineForecast]
        do { result = try f.forecast(log: quiet ? nil : { printError("  " + $0) }) } catch {
            printError("\(forecast): \(error)")
            throw ExitCode(1)
        }
        var text = "Canopy stockpile — \(String(format: "%g", spec.days)) days, raids per week: "
            + spec.raids.map { "\(URL(fileURLWithPath: $0.scenarioPath).lastPathComponent) × \($0.perWeek)" }.joined(separator: ", ")
            + (spec.arrivals == .even ? " (evenly spaced)" : " (at random, Poisson, times)")
            + "; \(spec.paths) campaign paths, \(spec.runs) replications per raid kind and stock state\n"
        var json: [JSONValue] = []
        for d in result {
            text += "\ndoctrine: \(d.name)\n"
            var rows: [[String]] = []
            var typesJSON: [(String, JSONValue)] = []
            for t in d.types {
                let days = t.runOutDays.compactMap { $0 }.sorted()
                let frac = Double(days.count) / Double(max(t.runOutDays.count, 1))
                let stock = spec.stocks.first { $0.type == t.type }!.rounds
                rows.append([t.type, String(stock), String(format: "%.0f %%", 100 * frac),
                             days.isEmpty ? "-" : String(format: "%.0f", percentile(days, 0.5)),
                             days.isEmpty ? "-" : String(format: "%.0f–%.0f", percentile(days, 0.1), percentile(days, 0.9))])
                typesJSON.append((t.type, .object([
                    ("stock", .int(stock)), ("runOutShare", .number(frac)),
                    ("runOutDayMedian", days.isEmpty ? .null : .number(percentile(days, 0.5))),
                    ("runOutDayP10", days.isEmpty ? .null : .number(percentile(days, 0.1))),
                    ("runOutDayP90", days.isEmpty ? .null : .number(percentile(days, 0.9))),
                ])))
            }
            text += StudyReport.render(["type", "stock", "runs out (paths)", "day (median)", "day (10–90 %)"], rows)
            let pct = { (e: Estimate) in e.count == 0 ? "-" : e.text { String(format: "%.1f %%", 100 * $0) } }
            text += "value protected per raid while every type has stock: \(pct(d.beforeRunOut)); after a type runs out: \(pct(d.afterRunOut))\n"
            for st in d.states where !st.depleted.isEmpty {
                text += "  \(URL(fileURLWithPath: spec.raids[st.raid].scenarioPath).lastPathComponent) without \(st.depleted.joined(separator: ", ")): \(pct(st.share))\n"
            }
            json.append(.object([
                ("doctrine", .string(d.name)), ("types", .object(typesJSON)),
                ("valueProtectedShareBeforeRunOut", estimateJSON(d.beforeRunOut)),
                ("valueProtectedShareAfterRunOut", estimateJSON(d.afterRunOut)),
                ("weeklyValueProtectedShare", .array(d.weekly.map { $0.isNaN ? .null : .number($0) })),
                ("states", .array(d.states.map { st in .object([
                    ("raid", .string(URL(fileURLWithPath: spec.raids[st.raid].scenarioPath).lastPathComponent)),
                    ("depleted", .array(st.depleted.map { .string($0) })), ("valueProtectedShare", estimateJSON(st.share)),
                    ("firedPerRaid", .object(st.firedPerRaid.map { ($0.0, JSONValue.number($0.1)) })),
                ]) })),
            ]))
        }
        print(text)
        var csv = "week," + result.map { OutputWriter.csvField($0.name) }.joined(separator: ",") + "\n"
        let weeks = result.first?.weekly.count ?? 0
        for w in 0..<weeks {
            csv += String(w + 1) + "," + result.map { $0.weekly[w].isNaN ? "" : String(format: "%.6f", $0.weekly[w]) }.joined(separator: ",") + "\n"
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var t = ""
            JSONValue.object([("days", .number(spec.days)), ("paths", .int(spec.paths)), ("replications", .int(spec.runs)),
                              ("arrivals", .string(spec.arrivals.rawValue)),
                              ("doctrines", .array(json))]).render(into: &t, pretty: true)
            try OutputWriter.atomicWrite([(dir + "/stockpile.json", Data((t + "\n").utf8)), (dir + "/weekly.csv", Data(csv.utf8)),
                                          (dir + "/stockpile.txt", Data(text.utf8))])
        } catch {
            printError(outputFailure(error, "cannot write to \(dir): \(error)"))
            throw ExitCode(1)
        }
        print("wrote \(dir)/stockpile.json, weekly.csv and stockpile.txt (\(f.simulations) simulations)")
    }
}

/// The help of the study commands' --model.
let battleModelHelp = "The model of the battle: looks (every radar look and plot, the default) or events (several times faster; docs/study.md#the-event-model)."
