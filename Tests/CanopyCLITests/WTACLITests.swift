import Foundation
import Testing

@Suite("Command line: wta", .serialized)
struct WTACLITests {
    @Test("wta solves to the known optimum and writes the solution; bad files exit 1 and write nothing")
    func wta() throws {
        let fixtures = root + "/Tests/CanopyWTATests/Fixtures"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-cli-wta-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/solution.json"
        let r = try runCanopy(["wta", fixtures + "/typed_feas_cost_40x40_s7040041.json", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let f = try #require((obj["objective"] as? NSNumber)?.doubleValue)
        let lb = try #require((obj["lower_bound"] as? NSNumber)?.doubleValue)
        #expect(abs(f - 485.878321) < 1e-5)
        #expect(lb <= f + 1e-9 && (f - lb) / f < 1e-9)
        let sol = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        #expect((sol["assignment"] as? [Any])?.count == 45)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        var objectives: [String: Double] = [:]
        for solver in [["greedy"], ["local", "--quick"], ["local"], ["local", "--kicks", "10"]] {
            let h = try runCanopy(["wta", fixtures + "/ahuja_20x20_s20001.json", "--json", "--solver"] + solver)
            #expect(h.status == 0, "\(h.stderr)")
            let o = try JSONSerialization.jsonObject(with: Data(h.stdout.utf8)) as? [String: Any]
            #expect(o?["lower_bound"] == nil && (o?["setup_cpu_seconds"] as? NSNumber) != nil)
            objectives[solver.joined(separator: " ")] = (o?["objective"] as? NSNumber)?.doubleValue
        }
        // Each stage starts from the one before: never worse.
        let g = try #require(objectives["greedy"]), q = try #require(objectives["local --quick"])
        let l = try #require(objectives["local"]), k = try #require(objectives["local --kicks 10"])
        #expect(q <= g + 1e-9 && l <= q + 1e-9 && k <= l + 1e-9, "\(objectives)")
        let kb = try runCanopy(["wta", fixtures + "/ahuja_20x20_s20001.json", "--kicks", "-1"])
        #expect(kb.status != 0 && kb.stderr.contains("kicks"))
        // A bad instance: the field is named, nothing is written.
        let bad = dir + "/bad.json"
        try #"{"weapons": 2, "targets": 2, "values": [10, 20], "kill_prob": [[0.5, 0.4], [0.3, 7]]}"#
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let b = try runCanopy(["wta", bad, "--out", dir + "/x.json"])
        #expect(b.status == 1 && b.stderr.contains("bad.json: kill_prob[1][1]"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.json"))
        let n = try runCanopy(["wta", dir + "/nope.json"])
        #expect(n.status == 1 && n.stderr.contains("nope.json"))
        let t = try runCanopy(["wta", bad, "--time-limit", "-1"])
        #expect(t.status != 0 && t.stderr.contains("time-limit"))
        // The solution is never written over the instance, by its own name or through a link.
        let inst = dir + "/inst.json"
        try FileManager.default.copyItem(atPath: fixtures + "/ahuja_20x20_s20001.json", toPath: inst)
        let before = try Data(contentsOf: URL(fileURLWithPath: inst))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: inst)
        for target in [inst, dir + "/./inst.json", dir + "/link.json"] {
            let o = try runCanopy(["wta", inst, "--solver", "greedy", "--out", target])
            #expect(o.status == 1 && o.stderr.contains("is the input file"), "\(o.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: inst)) == before)
    }
}
