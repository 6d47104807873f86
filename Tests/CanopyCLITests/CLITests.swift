import Foundation
import Testing

/// Runs the built `canopy` executable (SwiftPM builds it beside the test bundle).
func canopyBinary() -> URL {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let bin = dir.appendingPathComponent("canopy")
    // xctest bundles may sit one level deeper.
    return FileManager.default.fileExists(atPath: bin.path) ? bin : dir.deletingLastPathComponent().appendingPathComponent("canopy")
}

func runCanopy(_ args: [String], cwd: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    try run(canopyBinary(), args, cwd: cwd)
}

func run(_ executable: URL, _ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws
    -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite("Command line", .serialized)
struct CLITests {
    @Test("validate accepts the examples and the annotated format sketch")
    func validateExamples() throws {
        for path in ["examples/quickstart.yaml", "examples/winter-raid.yaml", "examples/drone-swarm-2025.yaml", "docs/format-sketch.yaml"] {
            let r = try runCanopy(["validate", root + "/" + path])
            #expect(r.status == 0, "\(path): \(r.stderr)")
            #expect(r.stdout.contains("OK"))
        }
        // The load a run will carry: a winter-raid run sees about 376,000 false plots from its 14
        // radars, ending before its duration; the bound over the whole duration is above that.
        let w = try runCanopy(["validate", root + "/examples/winter-raid.yaml"])
        let line = try #require(w.stdout.split(separator: "\n").first { $0.hasPrefix("radar clutter: about ") })
        let plots = Double(line.dropFirst("radar clutter: about ".count).prefix { $0.isNumber }) ?? 0
        #expect(plots > 376_000 && plots < 600_000, "\(line)")
        #expect(!w.stdout.contains("note: that is more than 5 million plots"))
    }

    @Test("validate reports every problem with file and path, and exits 1")
    func validateBad() throws {
        let dir = NSTemporaryDirectory() + "canopy-cli-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = """
        name: Bad
        origin: {lat: 50.45, lon: 30.52}
        assets:
          - city: Kyiv
        fireUnits:
          - {id: FU1, type: iris-t-slm, lat: 50.4, lon: 30.6, magazine: 0}
          - {id: FU2, type: iris-t-slm, lat: 50.4, lon: 30.6, magazin: 8}
        """
        try bad.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let r = try runCanopy(["validate", dir + "/bad.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.yaml: fireUnits[0].magazine: must be ≥ 1 (got 0)"))
        #expect(r.stderr.contains("fireUnits[1]") && r.stderr.contains("did you mean 'magazine'"))
        // simulate refuses it the same way and writes nothing.
        let s = try runCanopy(["simulate", dir + "/bad.yaml", "--out", dir + "/out", "--quiet"])
        #expect(s.status == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/summary.json"))
    }

    @Test("A missing file is a clean error")
    func missingFile() throws {
        let r = try runCanopy(["validate", "/nonexistent/raid.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("raid.yaml"))
    }

    @Test("serve refuses a data directory that is a file and a webhook that is no URL, before starting")
    func serveArguments() throws {
        let file = NSTemporaryDirectory() + "canopy-serve-data-\(getpid())"
        try Data().write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let d = try runCanopy(["serve", "--data", file])
        #expect(d.status != 0 && d.stderr.contains("--data \(file): is a file"), "\(d.stderr)")
        let w = try runCanopy(["serve", "--webhook", "not a url"])
        #expect(w.status != 0 && w.stderr.contains("--webhook 'not a url': must be an http:// or https:// URL"), "\(w.stderr)")
        let a = try runCanopy(["serve", "--data", file + "-a", "--port", "1", "--asterix-out", "nonsense"])
        #expect(a.status != 0 && a.stderr.contains("--asterix-out must be HOST:PORT (got 'nonsense')"), "\(a.stderr)")
        let same = try runCanopy(["serve", "--live", root + "/examples/quickstart.yaml", "--live-udp", "19022", "--asterix-udp", "19022"])
        #expect(same.status != 0 && same.stderr.contains("--live-udp and --asterix-udp are both 19022"), "\(same.stderr)")
        // Negative numbers are read as the option's value and refused by name ("Missing value"
        // before); an empty token is refused, not replaced; a data directory holding another
        // file as its store is named.
        let port = try runCanopy(["serve", "--port", "-1"])
        #expect(port.status != 0 && port.stderr.contains("--port must be 1 to 65535 (got -1)"), "\(port.stderr)")
        for bad in ["-3", "1e-20"] {
            let speed = try runCanopy(["serve", "--speed", bad])
            #expect(speed.status != 0 && speed.stderr.contains("--speed must be 0 (as fast as possible) or from 0.001"), "\(speed.stderr)")
        }
        let token = try runCanopy(["serve", "--token", ""])
        #expect(token.status != 0 && token.stderr.contains("--token must be a word"), "\(token.stderr)")
        let corrupt = file + "-db"
        try FileManager.default.createDirectory(atPath: corrupt, withIntermediateDirectories: true)
        try "not a database, not at all".write(toFile: corrupt + "/canopy.sqlite", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: corrupt) }
        let db = try runCanopy(["serve", "--data", corrupt, "--port", "1"])
        #expect(db.status == 1 && db.stderr.contains("canopy.sqlite is not a Canopy run store"), "\(db.stderr)")
        let s = try runCanopy(["serve", "--asterix-source", "300/1"])
        #expect(s.status != 0 && s.stderr.contains("--asterix-source must be SAC/SIC"), "\(s.stderr)")
        try? FileManager.default.removeItem(atPath: file + "-a")
    }

    @Test("serve with a scenario on a port in use exits without starting (or storing) the run")
    func servePortInUse() throws {
        // Hold a port: a listening socket on loopback.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let dir = NSTemporaryDirectory() + "canopy-serve-busy-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runCanopy(["serve", "--scenario", root + "/examples/quickstart.yaml", "--port", String(port), "--data", dir])
        #expect(r.status == 1 && r.stderr.contains("the address is in use"), "\(r.stderr)")
        // The run is started once the server listens: none was announced (it had been, and was
        // left in the store as running, then interrupted).
        #expect(!r.stdout.contains("run 1"), "\(r.stdout)")
    }

    @Test("serve refuses a data directory another server holds")
    func serveDataDirectoryBusy() throws {
        let dir = NSTemporaryDirectory() + "canopy-serve-lock-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Hold the directory's lock as a running server does.
        let fd = open(dir + "/serve.lock", O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        _ = "4242\n".withCString { write(fd, $0, 5) }
        defer { close(fd) }
        let r = try runCanopy(["serve", "--data", dir, "--port", "1"])
        #expect(r.status == 1 && r.stderr.contains("another canopy serve (process 4242) is using --data \(dir)"), "\(r.stderr)")
        // Its store was not opened: nothing was created beside the lock.
        #expect(!FileManager.default.fileExists(atPath: dir + "/canopy.sqlite"))
    }

    @Test("simulate prints the summary table and writes the three outputs")
    func simulateQuickstart() throws {
        let dir = NSTemporaryDirectory() + "canopy-cli-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runCanopy(["simulate", root + "/examples/quickstart.yaml", "--out", dir, "--seed", "7"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("threat type") && r.stdout.contains("launched") && r.stdout.contains("lost/jammed"))
        for f in ["summary.json", "events.ndjson", "tracks.csv"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f) missing")
        }
        let summary = try String(contentsOfFile: dir + "/summary.json", encoding: .utf8)
        #expect(summary.contains("\"seed\": \"7\""))
    }
}

@Suite("Command line: study and merge", .serialized)
struct StudyCLITests {
    @Test("study writes its report; sharded runs merge into the same report; bad arguments exit non-zero")
    func studyAndMerge() throws {
        let dir = NSTemporaryDirectory() + "canopy-study-cli-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenario = root + "/examples/quickstart.yaml"
        let r = try runCanopy(["study", scenario, "--runs", "2", "--out", dir + "/one", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("2 replications") && r.stdout.contains("leak rate"))
        for i in 0..<2 {
            let s = try runCanopy(["study", scenario, "--runs", "2", "--shard", "\(i)/2", "--out", dir + "/shards", "--quiet", "--threads", "1"])
            #expect(s.status == 0, "\(s.stderr)")
        }
        let m = try runCanopy(["merge", dir + "/shards/partial-0-of-2.json", dir + "/shards/partial-1-of-2.json", "--out", dir + "/merged"])
        #expect(m.status == 0, "\(m.stderr)")
        let one = try String(contentsOfFile: dir + "/one/study.json", encoding: .utf8)
        let merged = try String(contentsOfFile: dir + "/merged/study.json", encoding: .utf8)
        #expect(one == merged)
        let missing = try runCanopy(["merge", dir + "/shards/partial-1-of-2.json"])
        #expect(missing.status == 1 && missing.stderr.contains("missing shard 0 of 2"))
        let zero = try runCanopy(["study", scenario, "--runs", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--runs must be 2 (for confidence intervals) to 1000000 (got 0)"))
        // A billion replications crashed allocating their records; more shards than replications
        // made partials that could not be merged.
        let huge = try runCanopy(["study", scenario, "--runs", "1000000000"])
        #expect(huge.status != 0 && huge.stderr.contains("to 1000000 (got 1000000000)"))
        let thin = try runCanopy(["study", scenario, "--runs", "2", "--shard", "0/5"])
        #expect(thin.status != 0 && thin.stderr.contains("more shards than the 2 replications"))
        let badShard = try runCanopy(["study", scenario, "--runs", "3", "--shard", "3/3"])
        #expect(badShard.status != 0 && badShard.stderr.contains("--shard must be i/N"))
        // An output directory that cannot be made is refused before any replication runs.
        let file = dir + "/one/study.json"
        for args in [["study", scenario, "--runs", "500"], ["simulate", scenario]] {
            let blocked = try runCanopy(args + ["--out", file + "/sub", "--quiet"])
            #expect(blocked.status == 1 && blocked.stderr.contains("\(file) is a file, not a directory"), "\(blocked.stderr)")
            #expect(!blocked.stdout.contains("leak rate") && !blocked.stdout.contains("wrote"))
        }
        // merge names the path in the way as the others do (it printed Foundation's raw error).
        let mergeBlocked = try runCanopy(["merge", dir + "/shards/partial-0-of-2.json", dir + "/shards/partial-1-of-2.json",
                                          "--out", file + "/sub"])
        #expect(mergeBlocked.status == 1 && mergeBlocked.stderr.contains("\(file) is a file, not a directory"), "\(mergeBlocked.stderr)")
        #expect(!mergeBlocked.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test("sweep writes the tidy CSV, the HTML report and every point's study; a bad sweep file exits 1")
    func sweep() throws {
        let dir = NSTemporaryDirectory() + "canopy-sweep-cli-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Run from the sweep file's own folder by its bare name: its scenario, named relative to
        // it, was looked for at the root of the file system.
        let r = try runCanopy(["sweep", "quickstart-drones.yaml", "--runs", "2", "--out", dir, "--quiet"],
                              cwd: root + "/examples/sweeps")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("6 points × 2 replications"))
        for f in ["sweep.csv", "report.html", "point-0/study.json", "point-5/replications.csv"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f)")
        }
        let bad = dir + "/bad.yaml"
        try Data("scenario: nowhere.yaml\nruns: 2\nparameters: [{path: seed, values: [1]}]\n".utf8).write(to: URL(fileURLWithPath: bad))
        let b = try runCanopy(["sweep", bad, "--out", dir + "/b"])
        #expect(b.status == 1 && b.stderr.contains("nowhere.yaml"))
        // The output folder made before the runs is not left behind, empty, by the failure.
        #expect(!FileManager.default.fileExists(atPath: dir + "/b"))
        // One replication has no confidence interval: refused, on the command line and in the file.
        let one = try runCanopy(["sweep", root + "/examples/sweeps/quickstart-drones.yaml", "--runs", "1", "--out", dir + "/c"])
        #expect(one.status != 0 && one.stderr.contains("--runs must be 2 (for confidence intervals)"), "\(one.stderr)")
        try Data("scenario: \(root)/examples/quickstart.yaml\nruns: 1\nparameters: [{path: seed, values: [1]}]\n".utf8)
            .write(to: URL(fileURLWithPath: bad))
        let oneFile = try runCanopy(["sweep", bad, "--out", dir + "/d"])
        #expect(oneFile.status == 1 && oneFile.stderr.contains("runs: must be a whole number from 2"), "\(oneFile.stderr)")
        let study = try runCanopy(["study", root + "/examples/quickstart.yaml", "--runs", "1", "--out", dir + "/e"])
        #expect(study.status != 0 && study.stderr.contains("--runs must be 2"), "\(study.stderr)")
    }

    @Test("plan and stockpile write their reports; bad inputs exit 1 naming the problem")
    func planAndStockpile() throws {
        let dir = NSTemporaryDirectory() + "canopy-plan-cli-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let sites = dir + "/sites.yaml"
        try Data("sites:\n  - {id: East, lat: 50.45, lon: 30.75}\n  - {id: Lviv, lat: 49.84, lon: 24.03}\n".utf8).write(to: URL(fileURLWithPath: sites))
        let scenario = root + "/examples/quickstart.yaml"
        let p = try runCanopy(["plan", scenario, "--candidates", sites, "--add", "1 x short-range", "--runs", "2", "--out", dir + "/plan", "--quiet"])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stdout.contains("marginal value") && FileManager.default.fileExists(atPath: dir + "/plan/plan.json"))
        let badKind = try runCanopy(["plan", scenario, "--candidates", sites, "--add", "1 x laser", "--runs", "2"])
        #expect(badKind.status == 1 && badKind.stderr.contains("unknown kind 'laser'"))
        let forecast = dir + "/forecast.yaml"
        try Data("days: 3\nruns: 2\npaths: 5\nstocks: {iris-t-slm: 4}\nraids: [{scenario: \(scenario), perWeek: 7}]\n".utf8)
            .write(to: URL(fileURLWithPath: forecast))
        let s = try runCanopy(["stockpile", forecast, "--out", dir + "/stock", "--quiet"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("iris-t-slm") && FileManager.default.fileExists(atPath: dir + "/stock/weekly.csv"))
        try Data("days: 3\nruns: 2\nstocks: {iris-t-slm: 4}\nraids: [{scenario: \(scenario), perWeek: -1}]\n".utf8)
            .write(to: URL(fileURLWithPath: forecast))
        let bad = try runCanopy(["stockpile", forecast])
        #expect(bad.status == 1 && bad.stderr.contains("raids[0].perWeek"))
    }

    @Test("The Slurm array and merge scripts of deploy/ produce the single-process report")
    func slurmScripts() throws {
        let dir = NSTemporaryDirectory() + "canopy-slurm-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bash = URL(fileURLWithPath: "/bin/bash"), scenario = root + "/examples/quickstart.yaml"
        for i in 0..<2 {
            // As Slurm would run task 0 of `sbatch --array=0-1`, and task 1 resubmitted alone
            // (`sbatch --array=1`: an array of one task, still shard 1 of 2).
            let r = try run(bash, [root + "/deploy/slurm/study-array.sh", scenario, "2", dir + "/out", "2"],
                            environment: ["CANOPY": canopyBinary().path, "SLURM_ARRAY_TASK_ID": "\(i)",
                                          "SLURM_ARRAY_TASK_COUNT": i == 0 ? "2" : "1", "SLURM_CPUS_PER_TASK": "1"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let m = try run(bash, [root + "/deploy/slurm/merge.sh", dir + "/out", "2"], environment: ["CANOPY": canopyBinary().path])
        #expect(m.status == 0, "\(m.stderr)")
        let single = try runCanopy(["study", scenario, "--runs", "2", "--out", dir + "/single", "--quiet"])
        #expect(single.status == 0)
        #expect(try String(contentsOfFile: dir + "/out/study.json", encoding: .utf8)
            == String(contentsOfFile: dir + "/single/study.json", encoding: .utf8))
    }
}
