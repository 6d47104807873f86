import ArgumentParser
import CanopyCore
import CanopyScenario
import CanopySimulation
import Foundation

@main
struct Canopy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy",
        abstract: "Canopy: an open engine for defending cities against missile and drone raids.",
        discussion: "For simulation, analysis, training and decision support.",
        subcommands: [Simulate.self, Validate.self, Study.self, Merge.self, Sweep.self, Plan.self, Stockpile.self, Serve.self, Track.self, Score.self, WTA.self, AsterixDecode.self]
    )

    /// As ArgumentParser's, and a command that fails leaves no empty output folder of its own
    /// making behind (`prepareOutputDirectory` makes them before a long run).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            OutputDirectories.removeEmptyCreated()
            exit(withError: error)
        }
    }
}

/// The output folders this process made (the topmost new one of each path), so that a failed
/// command can remove those it left empty.
enum OutputDirectories {
    nonisolated(unsafe) static var created: [String] = []
    static let lock = NSLock()

    static func record(_ path: String) { lock.lock(); created.append(path); lock.unlock() }

    /// Removes the recorded folders, and the new ones inside them, that hold nothing, deepest
    /// first, by rmdir(2): a folder something else has written into since is left, whatever the
    /// timing (a recursive delete after a check could have taken another process's file).
    static func removeEmptyCreated() {
        lock.lock(); defer { lock.unlock() }
        let fm = FileManager.default
        for top in created.reversed() {
            let inner = ((try? fm.subpathsOfDirectory(atPath: top)) ?? []).sorted { $0.count > $1.count }
            for d in inner { _ = rmdir(top + "/" + d) }
            _ = rmdir(top)
        }
        created.removeAll()
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Makes an output directory (with its parents) and checks that a file can be written in it,
/// before a long run: a study whose results cannot be written at the end is lost.
func prepareOutputDirectory(_ dir: String, removableOnFailure: Bool = true) throws {
    let fm = FileManager.default
    guard !dir.isEmpty else {
        printError("--out: an empty path; name a directory")
        throw ExitCode(1)
    }
    // The topmost folder of the path that does not exist yet: made here, removed again if the
    // command fails and leaves it empty.
    var firstNew: String? = nil
    var q = URL(fileURLWithPath: dir).standardizedFileURL
    while q.path != "/" && !fm.fileExists(atPath: q.path) {
        firstNew = q.path
        q = q.deletingLastPathComponent()
    }
    do {
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let firstNew, removableOnFailure { OutputDirectories.record(firstNew) }
    } catch {
        // Name the part of the path in the way, if a file stands where a directory should.
        var reason = error.localizedDescription
        var p = URL(fileURLWithPath: dir).standardizedFileURL
        while p.path != "/" {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: p.path, isDirectory: &isDir) {
                if !isDir.boolValue { reason = "\(p.path) is a file, not a directory" }
                break
            }
            p = p.deletingLastPathComponent()
        }
        printError("cannot write to \(dir): \(reason)")
        throw ExitCode(1)
    }
    let probe = dir + "/.canopy-write-check-\(ProcessInfo.processInfo.processIdentifier)"
    guard fm.createFile(atPath: probe, contents: Data()) else {
        printError("cannot write to \(dir): files cannot be created there")
        throw ExitCode(1)
    }
    try? fm.removeItem(atPath: probe)
}

/// The message for an output that could not be written: the writer's own, which names the file
/// and the reason, or else `fallback`.
/// Refuses an output file that is one of the inputs (a run would replace what it reads), by
/// their real paths (links resolved); prints why and exits with status 1.
func refuseOverwritingInput(out: String, option: String = "--out", inputs: [String]) throws {
    func real(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().standardized.path }
    let o = real(out)
    for input in inputs where real(input) == o {
        printError("\(option) \(out): is the input file \(input); write the output to another path")
        throw ExitCode(1)
    }
}

/// Before a run: none of the files a command will write in `dir` is one of its inputs (a run would
/// replace what it read), and none is a folder (found only after the run, when the work was done).
func checkOutputFiles(_ files: [String], in dir: String, inputs: [String]) throws {
    for f in files {
        let path = dir + "/" + f
        try refuseOverwritingInput(out: path, inputs: inputs)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            printError("cannot write \(path): a folder of that name is in the way")
            throw ExitCode(1)
        }
    }
}

func outputFailure(_ error: Error, _ fallback: @autoclosure () -> String) -> String {
    (error as? OutputWriter.WriteError)?.message ?? fallback()
}

/// Loads a scenario or prints every problem and exits with status 1.
func loadScenario(_ path: String) throws -> Scenario {
    do {
        return try ScenarioLoader.load(path: path)
    } catch let e as ScenarioError {
        printError(e.description)
        printError("\(e.problems.count) problem\(e.problems.count == 1 ? "" : "s") found; see docs/scenario.md for the format.")
        throw ExitCode(1)
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a scenario file and report every problem in it.")

    @Argument(help: "Scenario file (.yaml, .yml or .json).")
    var scenario: String

    func run() throws {
        let s = try loadScenario(scenario)
        let nodes = s.acousticNetworks.reduce(0) { $0 + $1.nodeCount }
        let threats = s.threats.count + s.waves.reduce(0) { $0 + $1.count }
        print("\(scenario): OK — \(threats) threats, \(s.assets.count) assets, \(s.regions.count) regions, "
              + "\(s.sensors.count) sensors, \(nodes) acoustic nodes, \(s.fireUnits.count) fire units")
        // What a run will have to process: the radars' false plots alone, over the whole duration
        // (a run may end sooner, once every threat is resolved). A valid scenario can still be
        // one that runs for hours.
        let clutter = clutterPlots(s)
        print(String(format: "radar clutter: about %.0f false plots a run at most, each one tracked", clutter))
        if clutter > 5e6 {
            print("note: that is more than 5 million plots; a run will be slow (a study of it, slower). Fewer clutterPerScan or a longer period would help.")
        }
    }
}

/// The radars' expected false plots over a scenario's whole duration.
func clutterPlots(_ s: Scenario) -> Double {
    s.sensors.reduce(0.0) { sum, site in
        guard let r = s.catalogue.sensors[site.type]?.radar else { return sum }
        return sum + r.clutterPerScan * s.duration / r.period
    }
}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a raid scenario and report what the defence achieved.")

    @Argument(help: "Scenario file (.yaml, .yml or .json).")
    var scenario: String

    @Option(help: "Random seed (replaces the scenario's).")
    var seed: UInt64?

    @Option(help: "Output directory for summary.json, events.ndjson and tracks.csv (default: out/<scenario file name>).")
    var out: String?

    @Option(help: "The model of the battle: looks (every radar look and plot, the default) or events (for studies; docs/study.md#the-event-model).")
    var model: BattleModel = .looks

    @Flag(help: "No progress line and no timing report.")
    var quiet = false

    func run() throws {
        var s = try loadScenario(scenario)
        if let seed { s.seed = seed }
        let name = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
        let dir = out ?? "out/\(name)"
        let showProgress = !quiet
        let progress: @Sendable (Double, Double) -> Void = { t, end in
            guard showProgress else { return }
            let pct = end > 0 ? 100 * t / end : 0
            let line = "\r  simulated \(clock(t)) of at most \(clock(end)) (" + String(format: "%.0f", pct) + " %)   "
            FileHandle.standardError.write(Data(line.utf8))
        }
        let sim: Simulation
        do {
            var options = RunOptions(progress: progress)
            options.model = model
            sim = try Simulation(scenario: s, options: options)
        } catch {
            printError("\(scenario): \(error)")
            throw ExitCode(1)
        }
        try prepareOutputDirectory(dir)
        try checkOutputFiles(["summary.json", "events.ndjson", "tracks.csv"], in: dir, inputs: [scenario] + s.inputFiles)
        let result = sim.run()
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(result.table)
        do {
            try OutputWriter.write(result, to: dir)
        } catch {
            printError(outputFailure(error, "cannot write outputs to \(dir): \(error.localizedDescription)"))
            throw ExitCode(1)
        }
        print("wrote \(dir)/summary.json, \(dir)/events.ndjson (\(result.events.count) events), \(dir)/tracks.csv (\(result.trackRows.count) rows)")
        if !quiet {
            let t = result.timings
            print(String(format: "wall %.2f s; %.0f simulated s per wall s; stages: world %.2f s, sensing %.2f s, tracking %.2f s, assessment %.2f s, assignment %.2f s, alerting %.2f s",
                         t.total, result.simulatedSeconds / max(t.total, 1e-9), t.world, t.sensing, t.battle.tracking,
                         t.battle.assessment, t.battle.assignment, t.battle.alerting))
            print(String(format: "assignment per decision cycle: mean %.2f ms, longest %.1f ms (%d cycles)",
                         1000 * t.battle.assignment / Double(max(t.battle.cycles, 1)), 1000 * t.battle.longestAssignment, t.battle.cycles))
        }
    }
}

func clock(_ t: Double) -> String {
    let s = Int(t.rounded())
    return String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
}

extension BattleModel: ExpressibleByArgument {}
