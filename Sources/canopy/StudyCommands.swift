import ArgumentParser
import CanopyCore
import CanopyScenario
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

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1 (got \(runs))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let shard, StudySlice.parseShard(shard) == nil {
            throw ValidationError("--shard must be i/N with 0 ≤ i < N (got '\(shard)')")
        }
    }

    func run() throws {
        var s = try loadScenario(scenario)
        if let seed { s.seed = seed }
        let bytes = (try? InputFile.read(path: scenario)) ?? []
        let (i, n) = shard.flatMap(StudySlice.parseShard) ?? (0, 1)
        let slice = StudySlice(runs: runs, shard: i, shards: n)
        let name = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
        let dir = out ?? "out/\(name)-study"
        let workers = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let bar = ProgressBar(enabled: !quiet && isatty(2) != 0, label: "replications")
        let start = Date()
        let records: [ReplicationRecord]
        do {
            records = try StudyRunner.run(s, indices: slice.indices, threads: workers) { done, total in bar.update(done, total) }
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
                let partial = StudyPartial(scenario: s.name, scenarioDigest: StudyPartial.digest(bytes), seed: s.seed,
                                           slice: slice, records: records)
                let path = dir + "/" + StudyPartial.fileName(shard: i, of: n)
                try atomicWrite(partial.text, to: path)
                print("wrote \(path): replications \(slice.indices.lowerBound)..<\(slice.indices.upperBound) of \(runs)")
            } else {
                let report = StudyReport(scenario: s.name, seed: s.seed, records: records)
                try writeReport(report, to: dir)
                print(report.table)
                print("wrote \(dir)/study.json and \(dir)/replications.csv")
            }
        } catch {
            printError("cannot write to \(dir): \(error)")
            throw ExitCode(1)
        }
        if !quiet {
            printError(String(format: "%d replications in %.1f s wall on %d threads: %.2f replications/s",
                              records.count, wall, min(workers, max(records.count, 1)), Double(records.count) / max(wall, 1e-9)))
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
        let merged: (scenario: String, seed: UInt64, records: [ReplicationRecord])
        do {
            merged = try StudyPartial.merge(partials.map { try StudyPartial.read(path: $0) })
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let dir = out ?? URL(fileURLWithPath: partials[0]).deletingLastPathComponent().path
        let report = StudyReport(scenario: merged.scenario, seed: merged.seed, records: merged.records)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try writeReport(report, to: dir)
        } catch {
            printError("cannot write to \(dir): \(error)")
            throw ExitCode(1)
        }
        print(report.table)
        print("wrote \(dir)/study.json and \(dir)/replications.csv (\(merged.records.count) replications from \(partials.count) partials)")
    }
}

func writeReport(_ report: StudyReport, to dir: String) throws {
    var json = ""
    report.json.render(into: &json, pretty: true)
    try atomicWrite(json + "\n", to: dir + "/study.json")
    try atomicWrite(report.csv, to: dir + "/replications.csv")
}

func atomicWrite(_ text: String, to path: String) throws {
    let tmp = path + ".partial-write"
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
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

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if let runs, runs < 1 { throw ValidationError("--runs must be at least 1 (got \(runs))") }
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
        let bar = ProgressBar(enabled: !quiet && isatty(2) != 0, label: "replications")
        let start = Date()
        let points: [SweepPoint]
        do {
            points = try SweepRunner.run(spec, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) { bar.update($0, $1) }
        } catch {
            bar.clear()
            printError("\(sweep): \(error)")
            throw ExitCode(1)
        }
        bar.clear()
        let report = SweepReport(spec: spec, points: points)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try atomicWrite(report.csv, to: dir + "/sweep.csv")
            try atomicWrite(report.html, to: dir + "/report.html")
            for (k, p) in points.enumerated() {
                try FileManager.default.createDirectory(atPath: dir + "/point-\(k)", withIntermediateDirectories: true)
                try writeReport(p.report, to: dir + "/point-\(k)")
            }
        } catch {
            printError("cannot write to \(dir): \(error)")
            throw ExitCode(1)
        }
        var rows: [[String]] = []
        for (k, p) in points.enumerated() {
            let est = Dictionary(p.report.estimates.map { ($0.name, $0.estimate) }, uniquingKeysWith: { a, _ in a })
            func cell(_ m: String, _ scale: Double, _ fmt: String) -> String {
                guard let e = est[m], e.count > 0 else { return "-" }
                return String(format: fmt, e.mean * scale) + " ± " + String(format: fmt, e.halfWidth * scale)
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
