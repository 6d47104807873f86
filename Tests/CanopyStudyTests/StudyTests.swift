import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTEWA
import Foundation
import Testing

@testable import CanopyStudy

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite("Study statistics")
struct StatisticsTests {
    @Test("Student's t quantiles match published tables")
    func tQuantiles() {
        // Two-sided 95 % critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
        let table: [(Int, Double)] = [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042), (100, 1.984)]
        for (nu, t) in table {
            #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: nu) - t) < 1e-3, "ν = \(nu)")
        }
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 1_000_000) - 1.959964) < 1e-5)
        #expect(abs(StudentT.quantile(0.025, degreesOfFreedom: 7) + StudentT.quantile(0.975, degreesOfFreedom: 7)) < 1e-12)
        // The CDF of ν = 1 is the Cauchy's: ½ + atan(t)/π.
        for t in [-3.0, -0.5, 0, 0.7, 4] {
            #expect(abs(StudentT.cdf(t, degreesOfFreedom: 1) - (0.5 + atan(t) / .pi)) < 1e-12)
        }
    }

    @Test("Estimates: mean, standard deviation and the t interval")
    func estimates() {
        let e = Estimate([1, 2, 3, 4, 5])
        #expect(e.mean == 3 && e.count == 5)
        #expect(abs(e.standardDeviation - 1.5811388300841898) < 1e-12)
        #expect(abs(e.halfWidth - 2.7764451051977987 * 1.5811388300841898 / 5.0.squareRoot()) < 1e-9)
        #expect(Estimate([4]).halfWidth == 0)
        #expect(Estimate([]).count == 0)
        // One value has no interval: written as null and shown as such, not as ± 0.
        #expect(!Estimate([4]).hasInterval && e.hasInterval)
        var one = "", five = ""
        Estimate([4]).json(standardDeviation: true).render(into: &one)
        e.json().render(into: &five)
        #expect(one == "{\"mean\":4,\"ci95\":null,\"sd\":null,\"n\":1}", "\(one)")
        #expect(five.hasPrefix("{\"mean\":3,\"ci95\":[") && five.hasSuffix("],\"n\":5}"), "\(five)")
        #expect(Estimate([4]).text { String($0) } == "4.0 (n = 1)" && Estimate([]).text { String($0) } == "–")
        // A share's interval stays within 0...1, a count's above 0; the half-width is the t one.
        let nearOne = Estimate([0.8, 1, 1, 1], within: 0...1)
        #expect(nearOne.mean + nearOne.halfWidth > 1 && nearOne.upper == 1 && nearOne.lower == nearOne.mean - nearOne.halfWidth)
        let fewRounds = Estimate([0, 0, 0, 2], within: 0...Double.infinity)
        #expect(fewRounds.mean - fewRounds.halfWidth < 0 && fewRounds.lower == 0)
        #expect(percentile([1, 2, 3, 4], 0.5) == 2.5)
    }

    @Test("Shards cover every replication exactly once")
    func slices() {
        for runs in [1, 2, 7, 10, 101] {
            for shards in [1, 2, 3, 8, 13] {
                let all = (0..<shards).flatMap { Array(StudySlice(runs: runs, shard: $0, shards: shards).indices) }
                #expect(all == Array(0..<runs), "\(runs) runs in \(shards) shards")
            }
        }
        #expect(StudySlice.parseShard("2/5")! == (2, 5))
        for bad in ["5/5", "-1/3", "1", "a/b", "1/0", "1/2/3"] { #expect(StudySlice.parseShard(bad) == nil, "\(bad)") }
    }
}

@Suite("Study runs, partials and merge", .serialized)
struct StudyRunTests {
    func metrics(_ k: Int) -> RunMetrics {
        var m = RunMetrics()
        m.simulatedSeconds = 3600.5 + Double(k)
        var o = RunMetrics.ClassOutcome()
        o.launched = 10; o.engaged = 9; o.destroyed = 7 - k % 3; o.lostJammed = 1; o.leaked = 1 + k % 3; o.airborneAtEnd = 1
        m.classes = [("drone", o), ("cruise", RunMetrics.ClassOutcome())]
        m.effectors = [("gepard", .init(fired: 3 + k, cost: 0.1 + 0.2)), ("pac-3", .init(fired: k % 2, cost: 4.1e6 * Double(k % 2)))]
        m.interceptorCost = 1e-300 + Double(k) / 3
        m.valueAtRisk = 1234.5678901234567; m.valueLost = Double(k) * 1.1
        m.populationAtRisk = 9.87654321e12; m.populationAffected = .pi * Double(k)
        m.falseAlarmRegionMinutes = 2.0 / 3.0; m.alertRegionMinutes = 12345.000000001
        m.impacts = k % 4
        m.leadTimes = (0..<(k % 4)).map { 60.0 / 7.0 * Double($0 + 1) }
        return m
    }

    @Test("A partial reads back bit for bit")
    func partialRoundTrip() throws {
        let records = (4..<8).map { ReplicationRecord(index: $0, metrics: metrics($0)) }
        let p = StudyPartial(scenario: "A \"quoted\" name", scenarioDigest: "0123456789abcdef", programDigest: "fedcba9876543210", seed: UInt64.max,
                             slice: StudySlice(runs: 16, shard: 1, shards: 4), records: records)
        let path = NSTemporaryDirectory() + "canopy-partial-\(getpid()).json"
        try Data(p.text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let q = try StudyPartial.read(path: path)
        #expect(q.sourcePath == path)
        var r = q
        r.sourcePath = nil
        #expect(r == p)
        for (a, b) in zip(q.records, p.records) {
            #expect(a.metrics.interceptorCost.bitPattern == b.metrics.interceptorCost.bitPattern)
            #expect(a.metrics.leadTimes.map(\.bitPattern) == b.metrics.leadTimes.map(\.bitPattern))
        }
    }

    @Test("A study's inputs' digest covers the scenario and the files it names")
    func inputsDigest() throws {
        let dir = NSTemporaryDirectory() + "canopy-digest-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, b) = (dir + "/a.yaml", dir + "/b.geojson")
        try Data("scenario".utf8).write(to: URL(fileURLWithPath: a))
        try Data("regions".utf8).write(to: URL(fileURLWithPath: b))
        let d = { (named: [String]) throws -> String in try StudyPartial.digest(scenarioFile: a, namedFiles: named) }
        let d1 = try d([b]), again = try d([b]), alone = try d([])
        #expect(d1 == again && d1 != alone)
        try Data("regions, edited".utf8).write(to: URL(fileURLWithPath: b))
        let edited = try d([b])
        #expect(d1 != edited)
        // Bytes moved from one file to the next change it too.
        try Data("scenarior".utf8).write(to: URL(fileURLWithPath: a))
        try Data("egions".utf8).write(to: URL(fileURLWithPath: b))
        let moved = try d([b])
        #expect(d1 != moved)
        #expect(StudyPartial.programDigestOfThisProcess.count == 16)
    }

    @Test("Merging refuses missing, repeated and foreign shards, naming them")
    func mergeErrors() throws {
        func part(_ i: Int, digest: String = "d", program: String = "p", seed: UInt64 = 1, runs: Int = 6, shards: Int = 3) -> StudyPartial {
            let slice = StudySlice(runs: runs, shard: i, shards: shards)
            var p = StudyPartial(scenario: "S", scenarioDigest: digest, programDigest: program, seed: seed, slice: slice,
                                 records: slice.indices.map { ReplicationRecord(index: $0, metrics: metrics($0)) })
            p.sourcePath = "dir/partial-\(i)-of-\(shards).json"
            return p
        }
        func message(_ ps: [StudyPartial]) -> String {
            do { _ = try StudyPartial.merge(ps); return "" } catch { return "\(error)" }
        }
        #expect(try StudyPartial.merge([part(2), part(0), part(1)]).records.map(\.index) == Array(0..<6))
        #expect(message([part(0), part(2)]).contains("missing shard 1 of 3"))
        #expect(message([part(0), part(1), part(1), part(2)]).contains("shard 1 of 3 is given twice"))
        // Errors name the files.
        #expect(message([part(0), part(1, digest: "other"), part(2)]).contains("dir/partial-1-of-3.json (shard 1 of 3) is of another study"))
        #expect(message([part(0), part(1, program: "q"), part(2)]).contains("dir/partial-1-of-3.json (shard 1 of 3) was run by another build of canopy"))
        #expect(message([part(0), part(1, seed: 2), part(2)]).contains("another study"))
        #expect(message([part(0), part(1, runs: 9), part(2)]).contains("9 runs"))
        #expect(message([]).contains("no partials"))
        // Shards of the event model are not replications of the look model's study.
        var events = part(1)
        events.model = .events
        #expect(message([part(0), events, part(2)]).contains("ran under the events model"))
        // A damaged file names itself and what is wrong.
        let path = NSTemporaryDirectory() + "canopy-bad-partial-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"format":"canopy-study-partial","version":2,"scenario":"S","scenarioDigest":"d","programDigest":"p","seed":"1","runs":4,"shard":0,"shards":2,"replications":[{"i":1}]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        var text = ""
        do { _ = try StudyPartial.read(path: path) } catch { text = "\(error)" }
        #expect(text.contains(path) && text.contains("replications 0..<2"))
        // The message of reading a partial with this text (empty when it is accepted).
        func readError(_ json: String) throws -> String {
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            do { _ = try StudyPartial.read(path: path); return "" } catch { return "\(error)" }
        }
        let head = #"{"format":"canopy-study-partial","version":2,"scenario":"S","scenarioDigest":"d","programDigest":"p","seed":"1","runs":1,"shard":0,"shards":1,"replications":"#
        // A record with a class that is none, or a negative count, is refused (it was averaged in).
        text = try readError(head + #"[{"i":0,"classes":[["laser",1,1,0,0,1,0]]}]}"#)
        #expect(text.contains("'laser' is not a threat class"), "\(text)")
        text = try readError(head + #"[{"i":0,"classes":[["drone",1,-1,0,0,1,0]]}]}"#)
        #expect(text.contains("drone has a negative count"), "\(text)")
        text = try readError(head + #"[{"i":0,"cost":-5}]}"#)
        #expect(text.contains("cost: must be a finite number ≥ 0"), "\(text)")
        text = try readError(head + #"[{"i":0,"effectors":[["gepard",2,-1]]}]}"#)
        #expect(text.contains("effectors: gepard has a negative"), "\(text)")
        // More shards than replications (study --shard 0/1000000000 wrote one; merging it ran out of memory).
        text = try readError(#"{"format":"canopy-study-partial","version":2,"scenario":"S","scenarioDigest":"d","programDigest":"p","seed":"1","runs":2,"shard":0,"shards":1000000000,"replications":[]}"#)
        #expect(text.contains("shards ≤ runs"), "\(text)")
        text = try readError(#"{"format":"canopy-study-partial","version":1,"scenario":"S","scenarioDigest":"d","seed":"1","runs":1,"shard":0,"shards":1,"replications":[]}"#)
        #expect(text.contains("made by an older canopy"), "\(text)")
        text = try readError(#"{"format":"something-else"}"#)
        #expect(text.contains("format"))
    }

    @Test("Results do not depend on threads, and shards merged equal one process bit for bit")
    func shardsEqualSingle() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        let runs = 4
        let single = try StudyRunner.run(s, indices: 0..<runs, threads: 1)
        var partials: [StudyPartial] = []
        for i in 0..<2 {
            let slice = StudySlice(runs: runs, shard: i, shards: 2)
            let recs = try StudyRunner.run(s, indices: slice.indices, threads: 2)
            let p = StudyPartial(scenario: s.name, scenarioDigest: "x", programDigest: "p", seed: s.seed, slice: slice, records: recs)
            // Through the file format, as a real merge would.
            let path = NSTemporaryDirectory() + "canopy-shard-\(getpid())-\(i).json"
            try Data(p.text.utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            partials.append(try StudyPartial.read(path: path))
        }
        let merged = try StudyPartial.merge(partials.reversed())
        #expect(merged.records == single)
        let a = StudyReport(scenario: s.name, seed: s.seed, records: single)
        let b = StudyReport(scenario: merged.scenario, seed: merged.seed, records: merged.records)
        #expect(a.json.rendered(pretty: true) == b.json.rendered(pretty: true))
        #expect(a.csv == b.csv && a.table == b.table)
        // Replications differ from one another (independent streams), and the report says how many.
        #expect(Set(single.map { $0.metrics.interceptorCost }).count > 1 || Set(single.map { $0.metrics.falseAlarmRegionMinutes }).count > 1)
        #expect(a.json.rendered().contains("\"replications\":4"))
    }

    @Test("An event-model study: the same on 1 and 2 threads, its shards merge to it and say their model")
    func eventModelStudy() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        let one = try StudyRunner.run(s, indices: 0..<4, threads: 1, model: .events)
        let two = try StudyRunner.run(s, indices: 0..<4, threads: 2, model: .events)
        #expect(one == two)
        #expect(one != (try StudyRunner.run(s, indices: 0..<4, threads: 2)))
        var partials: [StudyPartial] = []
        for i in 0..<2 {
            let slice = StudySlice(runs: 4, shard: i, shards: 2)
            var p = StudyPartial(scenario: s.name, scenarioDigest: "x", programDigest: "p", seed: s.seed, slice: slice,
                                 records: try StudyRunner.run(s, indices: slice.indices, threads: 1, model: .events))
            p.model = .events
            #expect(p.text.contains("\"model\":\"events\""))
            let path = NSTemporaryDirectory() + "canopy-event-shard-\(getpid())-\(i).json"
            try Data(p.text.utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let q = try StudyPartial.read(path: path)
            #expect(q.model == .events)
            partials.append(q)
        }
        let merged = try StudyPartial.merge(partials)
        #expect(merged.model == .events && merged.records == one)
        let report = StudyReport(scenario: s.name, seed: s.seed, model: .events, records: one)
        #expect(report.json.rendered().contains("\"model\":\"events\""))
        #expect(report.table.contains("under the events model"))
        #expect(StudyReport(scenario: s.name, seed: s.seed, records: one).json.rendered().contains("\"model\":\"looks\""))
    }

    @Test("A plug-in planner's study: the same on 1 and 2 threads; its refused plans survive a partial file")
    func pluginPlannerStudy() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml")
        let planner: @Sendable (UInt64) -> any EngagementPlanner = { _ in Overbooking() }
        let one = try StudyRunner.run(s, indices: 0..<3, threads: 1, planner: planner)
        let two = try StudyRunner.run(s, indices: 0..<3, threads: 2, planner: planner)
        #expect(one == two)
        // Each replication had a planner of its own: the same as a run with a fresh one.
        for r in one {
            let alone = try Simulation(scenario: s, options: RunOptions(replication: UInt64(r.index), trackRowInterval: 0,
                                                                    planner: planner)).run()
            #expect(alone.metrics == r.metrics, "replication \(r.index)")
        }
        #expect(one.allSatisfy { $0.metrics.plansRefused > 0 })
        let builtIn = try StudyRunner.run(s, indices: 0..<3, threads: 2)
        #expect(builtIn.allSatisfy { $0.metrics.plansRefused == 0 })
        let slice = StudySlice(runs: 3)
        let p = StudyPartial(scenario: s.name, scenarioDigest: "x", programDigest: "p", seed: s.seed, slice: slice, records: one)
        let path = NSTemporaryDirectory() + "canopy-planner-\(getpid()).json"
        try Data(p.text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try StudyPartial.read(path: path).records == one)
        let report = StudyReport(scenario: s.name, seed: s.seed, records: one)
        #expect(report.json.rendered().contains("\"plansRefused\""))
        #expect(report.table.contains("engagement plans refused"))
        // A built-in study's outputs do not mention refusals.
        let plain = StudyReport(scenario: s.name, seed: s.seed, records: builtIn)
        #expect(!plain.json.rendered().contains("plansRefused") && !plain.table.contains("refused"))
    }
}

/// The built-in assigner's plans, each asked for twice over its first 20 cycles with plans: the
/// second of each is beyond the unit (its fire channel, launchers or rounds are booked by the
/// first) or, on a unit of many channels, carried out as a second shot. A class, so that one
/// shared by two replications would show (its count would run on).
final class Overbooking: EngagementPlanner, @unchecked Sendable {
    var cycles = 0
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        let plans = Assigner(doctrine: Doctrine(), processNoise: 50).plan(s)
        guard !plans.isEmpty else { return [] }
        cycles += 1
        return cycles <= 20 ? plans.flatMap { [$0, $0] } : plans
    }
}
