import Foundation
import Testing

/// Runs the built `canopy` executable (SwiftPM builds it beside the test bundle).
func runCanopy(_ args: [String], cwd: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var bin = dir.appendingPathComponent("canopy")
    if !FileManager.default.fileExists(atPath: bin.path) {
        // xctest bundles may sit one level deeper.
        bin = dir.deletingLastPathComponent().appendingPathComponent("canopy")
    }
    let p = Process()
    p.executableURL = bin
    p.arguments = args
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
    @Test("validate accepts the examples")
    func validateExamples() throws {
        for ex in ["quickstart", "winter-raid", "drone-swarm-2025"] {
            let r = try runCanopy(["validate", root + "/examples/\(ex).yaml"])
            #expect(r.status == 0, "\(ex): \(r.stderr)")
            #expect(r.stdout.contains("OK"))
        }
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
        #expect(summary.contains("\"seed\": 7"))
    }
}
