import Foundation
import Testing

@Suite("Command line: track and score", .serialized)
struct TrackCLITests {
    @Test("track writes a tracks file that score reads back; bad configs and files exit 1")
    func trackAndScore() throws {
        let scenario = root + "/Tests/CanopyTrackingTests/Fixtures/n10.json.gz"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-cli-track-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/tracks.json"
        let r = try runCanopy(["track", scenario, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("detections") && r.stderr.contains("KF predict+update"))
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        let s = try runCanopy(["score", scenario, out, "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
        let gospa = try #require((obj["gospa_mean"] as? NSNumber)?.doubleValue)
        #expect(gospa > 0 && gospa < 127.1)
        for key in ["ospa_mean", "matched_pos_err", "missed_per_time", "false_per_time", "truth_per_time", "tracks_per_time", "mota", "idf1"] {
            #expect(obj[key] != nil, "missing \(key)")
        }
        // Repeated runs: the same tracks, the least time reported; a repeat count out of range exits 1.
        let again = dir + "/again.json"
        let rr = try runCanopy(["track", scenario, "--out", again, "--repeat", "2"])
        #expect(rr.status == 0, "\(rr.stderr)")
        #expect(rr.stderr.contains("least of 2 runs"))
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: out))
        // track --score gives the figures score gives for the file it wrote.
        let scored = try runCanopy(["track", scenario, "--out", dir + "/s.json", "--score", "--quiet"])
        let rescored = try runCanopy(["score", scenario, dir + "/s.json"])
        #expect(scored.status == 0 && rescored.status == 0 && scored.stdout.contains("gospa_mean"))
        #expect(scored.stdout == rescored.stdout, "\(scored.stdout)\n---\n\(rescored.stdout)")
        // --phases prints each stage's time per detection, on stdout.
        let staged = try runCanopy(["track", scenario, "--out", dir + "/p.json", "--phases", "--quiet"])
        #expect(staged.status == 0, "\(staged.stderr)")
        for stage in ["gating", "association", "updates", "initiation", "upkeep", "reporting", "all", "candidates a detection"] {
            #expect(staged.stdout.contains(stage), "\(stage) missing from \(staged.stdout)")
        }
        #expect(FileManager.default.contents(atPath: dir + "/p.json") == FileManager.default.contents(atPath: out))
        let zero = try runCanopy(["track", scenario, "--out", dir + "/z.json", "--repeat", "0"])
        #expect(zero.status == 1 && zero.stderr.contains("--repeat 0"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/z.json"))
        // A bad configuration: every problem, with file, key and line.
        let cfg = dir + "/bad.yaml"
        try "filter: ekff\nassociation: jpda\nmodels:\n  - {type: ct, q: -1, turn_rate: 3}\njpda_max_events: 1000000000000\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let b = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(b.status == 1)
        #expect(b.stderr.contains("bad.yaml: filter") && b.stderr.contains("did you mean 'ekf'"))
        #expect(b.stderr.contains("models[0].q"))
        #expect(b.stderr.contains("jpda_max_events: must be ≤ 10000000"), "\(b.stderr)")
        // Settings the chosen methods do not read are refused, and so is null.
        try "confirm_m: 1\nconfirm_n: 1\njpda_max_events: 5\nmax_coast: null\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let unread = try runCanopy(["track", scenario, "--config", cfg, "--out", dir + "/u.json"])
        #expect(unread.status == 1 && unread.stderr.contains("confirm_m: applies only with initiation m-of-n (the initiation is score)")
                && unread.stderr.contains("jpda_max_events: applies only with association jpda") && unread.stderr.contains("max_coast: is null"), "\(unread.stderr)")
        // A model of the user's cannot come from a file.
        try "models:\n  - {type: custom, q: 1}\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let custom = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(custom.status == 1 && custom.stderr.contains("models[0].type: must be one of cv, ct, ballistic, nct (got custom"), "\(custom.stderr)")
        // An estimated turn (nct) runs alone and with the EKF; its keys belong to it.
        try "filter: ukf\nmodels:\n  - {type: nct, q: 0.3, turn_rate: 3, turn_noise: 0.1}\n  - {type: cv, q: 1, turn_noise: 2}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let nct = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(nct.status == 1)
        #expect(nct.stderr.contains("models[0].type: an nct model runs alone"), "\(nct.stderr)")
        #expect(nct.stderr.contains("models[1].turn_noise: applies only to type nct"), "\(nct.stderr)")
        try "filter: ukf\nmodels:\n  - {type: nct, q: 0.3, turn_noise: -1}\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let ukf = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(ukf.status == 1 && ukf.stderr.contains("models[0].turn_noise"), "\(ukf.stderr)")
        try "filter: ukf\nmodels:\n  - {type: nct, q: 0.3}\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let ukf2 = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(ukf2.status == 1 && ukf2.stderr.contains("filter: must be ekf with an nct model"), "\(ukf2.stderr)")
        // The default models are one nct model: a file that asks for the UKF alone is refused too.
        try "filter: ukf\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let ukf3 = try runCanopy(["track", scenario, "--out", dir + "/x.json", "--config", cfg])
        #expect(ukf3.status == 1 && ukf3.stderr.contains("filter: must be ekf with an nct model") && ukf3.stderr.contains("default models"),
                "\(ukf3.stderr)")
        // The IMM bank that was the default, from a file, tracks n10 as well.
        let imm = dir + "/imm.yaml"
        try "models:\n  - {type: cv, q: 0.3, sojourn: 30}\n  - {type: ct, q: 0.3, turn_rate: 3, sojourn: 15}\n  - {type: ct, q: 0.3, turn_rate: -3, sojourn: 15}\n"
            .write(toFile: imm, atomically: true, encoding: .utf8)
        let i = try runCanopy(["track", scenario, "--out", dir + "/imm.json", "--config", imm, "--score"])
        #expect(i.status == 0, "\(i.stderr)")
        #expect(i.stdout.contains("gospa_mean"), "\(i.stdout)")
        // The tracks are never written over the scenario or the configuration.
        let before = FileManager.default.contents(atPath: cfg)
        for target in [scenario, cfg] {
            let o = try runCanopy(["track", scenario, "--out", target, "--config", cfg, "--quiet"])
            #expect(o.status == 1 && o.stderr.contains("is the input file"), "\(o.stderr)")
        }
        #expect(FileManager.default.contents(atPath: cfg) == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.json"))
        // A missing scenario and a tracks file that is not one.
        let m = try runCanopy(["track", dir + "/nope.json", "--out", dir + "/y.json"])
        #expect(m.status == 1 && m.stderr.contains("nope.json"))
        let n = try runCanopy(["score", scenario, cfg])
        #expect(n.status == 1 && n.stderr.contains("bad.yaml"))
        #expect(!s.stderr.contains("warning"))
        // Tracks scored against another scenario than the one they name: scored, with a warning.
        let renamed = dir + "/other.json.gz"
        try FileManager.default.copyItem(atPath: scenario, toPath: renamed)
        let w = try runCanopy(["score", renamed, out])
        #expect(w.status == 0 && w.stderr.contains("made from scenario n10.json"))
        // A cut gzip file is an error naming the file, not a crash.
        let cut = dir + "/cut.json.gz"
        let whole = try #require(FileManager.default.contents(atPath: scenario))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let c = try runCanopy(["track", cut, "--out", dir + "/c.json"])
        #expect(c.status == 1 && c.stderr.contains("cut.json.gz") && c.stderr.contains("ends too soon"), "\(c.stderr)")
        // A tracks file with a misspelt "states" (an empty track, scored as missed), or without
        // its version, is refused by name.
        let typo = dir + "/typo.json"
        try Data(#"{"format":"canopy-tracks","version":1,"tracks":[{"id":1,"sates":[[0,0,0,0,0,0,0]]}]}"#.utf8).write(to: URL(fileURLWithPath: typo))
        let ty = try runCanopy(["score", scenario, typo])
        #expect(ty.status == 1 && ty.stderr.contains("tracks[0].sates: unknown key"), "\(ty.stderr)")
        try Data(#"{"format":"canopy-tracks","tracks":[]}"#.utf8).write(to: URL(fileURLWithPath: typo))
        let nv = try runCanopy(["score", scenario, typo])
        #expect(nv.status == 1 && nv.stderr.contains("missing top-level key \"version\""), "\(nv.stderr)")
    }
}
