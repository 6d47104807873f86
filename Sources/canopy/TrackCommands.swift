import ArgumentParser
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTracking
import Foundation

func loadBenchmark(_ path: String, truth: Bool, origins: Bool) throws -> BenchmarkScenario {
    do {
        return try BenchmarkScenario.load(path: path, readTruth: truth, readOrigins: origins)
    } catch let e as BenchmarkFileError {
        printError(e.description)
        printError("See the tracking benchmark format (docs/tracking.md).")
        throw ExitCode(1)
    }
}

struct Track: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the tracker on a tracking-benchmark scenario and write its tracks.",
        discussion: "Reads the canopy-tracking-scenario format (plain or gzip JSON); never reads the scans' origins.")

    @Argument(help: "Scenario file (.json or .json.gz).")
    var scenario: String

    @Option(help: "Tracks file to write (canopy-tracks JSON).")
    var out: String

    @Option(help: "Tracker configuration (YAML or JSON); see docs/tracking.md.")
    var config: String?

    @Flag(help: "Also score the tracks against the scenario's truth and print the summary.")
    var score = false

    @Flag(help: "No report on stderr.")
    var quiet = false

    @Option(name: .customLong("repeat"), help: "Run the tracking loop this many times (a fresh tracker each time, the same tracks) and report the least CPU time, and the least time of the Kalman step timed after each run (for benchmarks on a shared machine).")
    var repeats: Int = 1

    @Flag(help: "Also time the tracker's stages (gating, association, updates, …) and print each per detection, as a multiple of the Kalman step.")
    var phases = false

    func run() throws {
        guard repeats >= 1 && repeats <= 100 else {
            printError("--repeat \(repeats): must be between 1 and 100")
            throw ExitCode(1)
        }
        try refuseOverwritingInput(out: out, inputs: [scenario] + (config.map { [$0] } ?? []))
        guard !out.lowercased().hasSuffix(".gz") else {
            printError("--out \(out): writing gzip is not supported; name the file .json")
            throw ExitCode(1)
        }
        // Where the tracks go, checked before the run (a folder in the way, or a file where the
        // folder should be, had been found only after it).
        let outDir = URL(fileURLWithPath: out).deletingLastPathComponent().path
        try prepareOutputDirectory(outDir)
        try checkOutputFiles([URL(fileURLWithPath: out).lastPathComponent], in: outDir, inputs: [scenario] + (config.map { [$0] } ?? []))
        var cfg = BenchmarkRunner.defaultConfiguration()
        if let config {
            do { cfg = try TrackerConfigFile.load(path: config, base: cfg) } catch let e as ScenarioError {
                printError(e.description)
                throw ExitCode(1)
            }
        }
        let t0 = BenchmarkRunner.cpuSeconds()
        let s = try loadBenchmark(scenario, truth: score, origins: false)
        let loadCPU = BenchmarkRunner.cpuSeconds() - t0
        // Each run is followed by the yardstick, so that both see the same minutes of a shared
        // machine; the least of each is the least disturbed.
        let r = BenchmarkRunner.run(s, configuration: cfg, phaseTiming: phases)
        var trackingCPU = r.trackingCPUSeconds
        var quietest = r  // the run with the least CPU time, whose stages are reported
        var kf = quiet && !phases ? 0 : BenchmarkRunner.kalmanStepSeconds()
        for _ in 1..<repeats {
            let again = BenchmarkRunner.run(s, configuration: cfg, phaseTiming: phases)
            if again.trackingCPUSeconds < trackingCPU { quietest = again }
            trackingCPU = min(trackingCPU, again.trackingCPUSeconds)
            if !quiet || phases { kf = min(kf, BenchmarkRunner.kalmanStepSeconds()) }
        }
        let modelText = cfg.models.map { m in
            m.name
        }.joined(separator: "+")
        let bytes = TracksFile.render(tracks: r.tracks, scenario: s.name, tracker: [
            ("name", "canopy"), ("filter", cfg.filter.rawValue), ("models", modelText),
            ("association", cfg.association.rawValue), ("initiation", cfg.initiation.rawValue),
        ])
        do {
            let dir = URL(fileURLWithPath: out).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try OutputWriter.atomicWrite(Data(bytes), to: out)
        } catch {
            printError(outputFailure(error, "\(out): cannot write (\(error.localizedDescription))"))
            throw ExitCode(1)
        }
        if !quiet {
            let perDet = trackingCPU / Double(max(r.detections, 1))
            printError(String(format: "%@: %d scans, %d detections, %d confirmed tracks", s.name, r.scans, r.detections, r.confirmedTracks))
            if r.detections > 0 {
                printError(String(format: "tracking CPU %.3f s%@ (%.0f detections/s, %.2f µs per detection = %.1f× one 6-state KF predict+update of %.3f µs); reading %.3f s",
                                  trackingCPU, repeats > 1 ? " (least of \(repeats) runs)" : "", Double(r.detections) / max(trackingCPU, 1e-9), perDet * 1e6,
                                  perDet / kf, kf * 1e6, loadCPU))
            } else {
                printError(String(format: "no detections to track (tracking CPU %.3f s); reading %.3f s", trackingCPU, loadCPU))
            }
        }
        if phases { printPhases(quietest, kalmanStep: kf, runs: repeats) }
        if score {
            // The tracks as written (positions to the millimetre), so that the figures are those
            // `canopy score` gives for the file (they differed in the fourth decimal).
            let written = (try? TracksFile.load(path: out)) ?? r.tracks
            let sc = BenchmarkScore.score(scenario: s, tracks: written)
            printScore(sc, json: false)
        }
    }
}

/// The tracker's stages of one run (the least disturbed of several), per detection and as
/// multiples of one Kalman step, on stdout.
func printPhases(_ r: BenchmarkRunner.Result, kalmanStep kf: Double, runs: Int) {
    let n = Double(max(r.detections, 1))
    let p = r.phases
    print(runs > 1 ? "stages of the least run of \(runs) (elapsed time; run pinned to one core):" : "stages (elapsed time; run pinned to one core):")
    let rows: [(String, Double)] = [
        ("gating", p.gating), ("association", p.association), ("updates", p.updates), ("misses", p.misses),
        ("initiation", p.initiation), ("index", p.index), ("upkeep", p.upkeep), ("reporting", r.reportingSeconds),
        ("all", p.total + r.reportingSeconds),
    ]
    for (name, sec) in rows {
        let label = name + String(repeating: " ", count: max(0, 12 - name.count))
        print("  " + label + String(format: "%7.3f s  %6.3f µs/detection  %4.1f× KF", sec, sec / n * 1e6, sec / n / max(kf, 1e-12)))
    }
    print(String(format: "  gating examined %.1f candidates a detection; %.2f pairs a detection passed the gate", Double(p.candidates) / n,
                 Double(p.pairs) / n))
}

func printScore(_ sc: BenchmarkScore, json: Bool) {
    if json {
        var w = ByteWriter()
        w.text("{")
        for (i, (k, v)) in sc.fields.enumerated() {
            if i > 0 { w.text(",") }
            w.string(k); w.text(":"); w.fixed(v, decimals: 6)
        }
        w.text("}\n")
        FileHandle.standardOutput.write(Data(w.bytes))
    } else {
        for (k, v) in sc.fields {
            let shown = v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.4f", v)
            print("\(k.padding(toLength: 16, withPad: " ", startingAt: 0)) \(shown)")
        }
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a tracks file against a tracking-benchmark scenario (GOSPA, OSPA, CLEAR MOT, IDF1).")

    @Argument(help: "Scenario file (.json or .json.gz).")
    var scenario: String

    @Argument(help: "Tracks file (canopy-tracks, .json or .json.gz).")
    var tracks: String

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func run() throws {
        let s = try loadBenchmark(scenario, truth: true, origins: false)
        let t: [BenchmarkTrack], madeFrom: String?
        do { (t, madeFrom) = try TracksFile.loadWithScenario(path: tracks) } catch let e as BenchmarkFileError {
            printError(e.description)
            throw ExitCode(1)
        }
        // Files may be renamed, so a different name is a warning, not an error.
        func stem(_ p: String) -> String {
            var n = URL(fileURLWithPath: p).lastPathComponent
            for ext in [".gz", ".json"] where n.hasSuffix(ext) { n.removeLast(ext.count) }
            return n
        }
        if let madeFrom, stem(madeFrom) != stem(scenario) {
            printError("warning: \(tracks) was made from scenario \(madeFrom), and is scored against \(scenario)")
        }
        printScore(BenchmarkScore.score(scenario: s, tracks: t), json: json)
    }
}
