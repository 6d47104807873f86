import CanopyCore
import CanopySimulation
import CanopyScenario
import Foundation

/// A shard's results: every replication it ran, with each number written so that it reads back
/// exactly (shortest round-trip decimal). Merging partials therefore recovers the very records a
/// single process would have had, and the merged report is bit-identical to it.
public struct StudyPartial: Sendable, Equatable {
    public static let format = "canopy-study-partial"
    /// 2: the program's digest (version 1 had none, and cannot be told apart by program).
    public static let version = 2

    public var scenario: String
    /// FNV-1a 64 of the scenario file's bytes and of the files it names (a regions GeoJSON),
    /// so that partials of different scenarios never merge.
    public var scenarioDigest: String
    /// FNV-1a 64 of the canopy program that ran the shard: another build (other code, another
    /// catalogue) can give other results, so its partials do not merge with these.
    public var programDigest: String
    public var seed: UInt64
    /// The model of the battle the shard ran under (a partial without one ran under `looks`).
    public var model: BattleModel = .looks
    public var slice: StudySlice
    public var records: [ReplicationRecord]
    /// The file the partial was read from (not written into it): merge errors name it.
    public var sourcePath: String? = nil

    public init(scenario: String, scenarioDigest: String, programDigest: String, seed: UInt64, slice: StudySlice,
                records: [ReplicationRecord]) {
        self.scenario = scenario; self.scenarioDigest = scenarioDigest; self.programDigest = programDigest
        self.seed = seed; self.slice = slice; self.records = records
    }

    /// The digest of a study's inputs: the scenario file and the files it named, in order (each
    /// preceded by its length, so that moving bytes between files changes the digest).
    public static func digest(scenarioFile: String, namedFiles: [String]) throws -> String {
        var h = FNV1a64()
        for path in [scenarioFile] + namedFiles { h.add(framed: try InputFile.read(path: path)) }
        return h.hex
    }

    /// The digest of the running program: its executable file and the built-in data it reads
    /// (the catalogue, the regions, the cities: the scenario module's resources), computed once.
    public static let programDigestOfThisProcess: String = {
        guard let exe = try? InputFile.read(path: "/proc/self/exe") else { return "unknown" }
        var files: [String] = []
        if let catalogue = ScenarioLoader.resourcePath("catalogue", "yaml") {
            let folder = (catalogue as NSString).deletingLastPathComponent
            files = ((try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? []).sorted().map { folder + "/" + $0 }
                .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
        }
        var h = FNV1a64()
        h.add(framed: exe)
        for f in files { h.add(framed: (try? InputFile.read(path: f)) ?? []) }
        return h.hex
    }()

    /// A partial named in messages: its file when it was read from one, and its shard.
    var label: String { (sourcePath.map { "\($0) " } ?? "") + "(shard \(slice.shard) of \(slice.shards))" }


    /// The file name of shard i of n.
    public static func fileName(shard: Int, of n: Int) -> String { "partial-\(shard)-of-\(n).json" }

    // MARK: Writing

    public var text: String {
        var s = "{\"format\":\"\(Self.format)\",\"version\":\(Self.version),\"scenario\":"
        JSONText.quote(scenario, into: &s)
        s += ",\"scenarioDigest\":\"\(scenarioDigest)\",\"programDigest\":\"\(programDigest)\",\"seed\":\"\(seed)\","
        if model != .looks { s += "\"model\":\"\(model.rawValue)\"," }
        s += "\"runs\":\(slice.runs),\"shard\":\(slice.shard),\"shards\":\(slice.shards),\n\"replications\":[\n"
        for (k, r) in records.enumerated() {
            let m = r.metrics
            s += "{\"i\":\(r.index),\"t\":\(Self.exact(m.simulatedSeconds)),\"classes\":["
            s += m.classes.map { c in
                var q = ""
                JSONText.quote(c.0, into: &q)
                let o = c.1
                return "[\(q),\(o.launched),\(o.engaged),\(o.destroyed),\(o.lostJammed),\(o.leaked),\(o.airborneAtEnd)]"
            }.joined(separator: ",")
            s += "],\"effectors\":["
            s += m.effectors.map { e in
                var q = ""
                JSONText.quote(e.0, into: &q)
                return "[\(q),\(e.1.fired),\(Self.exact(e.1.cost))]"
            }.joined(separator: ",")
            s += "],\"cost\":\(Self.exact(m.interceptorCost)),\"valueAtRisk\":\(Self.exact(m.valueAtRisk)),\"valueLost\":\(Self.exact(m.valueLost))"
            s += ",\"populationAtRisk\":\(Self.exact(m.populationAtRisk)),\"populationAffected\":\(Self.exact(m.populationAffected))"
            s += ",\"falseAlarmRegionMinutes\":\(Self.exact(m.falseAlarmRegionMinutes)),\"alertRegionMinutes\":\(Self.exact(m.alertRegionMinutes))"
            s += ",\"impacts\":\(m.impacts),\"leadTimes\":[" + m.leadTimes.map(Self.exact).joined(separator: ",") + "]"
            s += ",\"decoyRounds\":\(m.decoyRounds),\"expensiveDecoyRounds\":\(m.expensiveDecoyRounds),\"decoyCost\":\(Self.exact(m.decoyCost))"
            s += ",\"falseTrackRounds\":\(m.falseTrackRounds),\"falseTrackCost\":\(Self.exact(m.falseTrackCost))"
            // Only a plug-in planner's plans are ever refused: the field is left out otherwise.
            s += (m.plansRefused > 0 ? ",\"plansRefused\":\(m.plansRefused)" : "") + "}"
            s += k < records.count - 1 ? ",\n" : "\n"
        }
        s += "]}\n"
        return s
    }

    /// Shortest decimal that reads back to the same double (Swift's description), as JSON.
    static func exact(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        return x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }

    // MARK: Reading

    /// Reads a partial, naming the file and the field when something is wrong.
    public static func read(path: String) throws -> StudyPartial {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path: path) } catch { throw StudyError("\(path): \(error)") }
        do {
            var p = try bytes.withUnsafeBufferPointer { try parse(JSONCursor($0)) }
            p.sourcePath = path
            return p
        } catch let e as JSONReadError {
            throw StudyError("\(path): \(e)")
        } catch let e as StudyError {
            throw StudyError("\(path): \(e.description)")
        }
    }

    static func parse(_ cursor: JSONCursor) throws -> StudyPartial {
        var c = cursor
        var format: String?, version: Int?, scenario: String?, digest: String?, program: String?, seed: UInt64?
        var runs: Int?, shard: Int?, shards: Int?
        var model = BattleModel.looks
        var records: [ReplicationRecord] = []
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(first: &first) {
            switch key {
            case "format": format = try c.readString()
            case "version": version = try c.readInt()
            case "scenario": scenario = try c.readString()
            case "scenarioDigest": digest = try c.readString()
            case "programDigest": program = try c.readString()
            case "seed":
                let t = try c.readString()
                guard let v = UInt64(t) else { throw StudyError("seed: '\(t)' is not an unsigned integer") }
                seed = v
            case "model":
                let t = try c.readString()
                guard let m = BattleModel(rawValue: t) else {
                    throw StudyError("model: '\(t)' is not a model of the battle (\(BattleModel.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                model = m
            case "runs": runs = try c.readInt()
            case "shard": shard = try c.readInt()
            case "shards": shards = try c.readInt()
            case "replications":
                try c.beginArray()
                var firstRecord = true
                while try c.nextElement(first: &firstRecord) { records.append(try parseRecord(&c)) }
            default: try c.skipValue()
            }
        }
        try c.finish()
        guard format == Self.format else { throw StudyError("format: expected \"\(Self.format)\", found \(format.map { "\"\($0)\"" } ?? "none")") }
        guard version == Self.version else {
            throw StudyError("version: expected \(Self.version), found \(version.map(String.init) ?? "none")"
                             + (version.map { $0 < Self.version } ?? false ? " (made by an older canopy: run the shard again with this one)" : ""))
        }
        guard let scenario, let digest, let program, let seed, let runs, let shard, let shards else {
            throw StudyError("missing one of scenario, scenarioDigest, programDigest, seed, runs, shard, shards")
        }
        guard runs >= 1, runs <= StudyLimits.maxRuns, shards >= 1, shards <= runs, shard >= 0, shard < shards else {
            throw StudyError("runs \(runs), shard \(shard), shards \(shards): need 1 ≤ runs ≤ \(StudyLimits.maxRuns), shards ≤ runs and 0 ≤ shard < shards")
        }
        let slice = StudySlice(runs: runs, shard: shard, shards: shards)
        let expected = Array(slice.indices)
        guard records.map(\.index) == expected else {
            throw StudyError("replications: shard \(shard) of \(shards) must hold replications \(slice.indices.lowerBound)..<\(slice.indices.upperBound) in order")
        }
        var p = StudyPartial(scenario: scenario, scenarioDigest: digest, programDigest: program, seed: seed, slice: slice, records: records)
        p.model = model
        return p
    }

    static func parseRecord(_ c: inout JSONCursor) throws -> ReplicationRecord {
        var index: Int?
        var m = RunMetrics()
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(first: &first) {
            switch key {
            case "i": index = try c.readInt()
            case "t": m.simulatedSeconds = try c.readDouble()
            case "classes":
                try c.beginArray()
                var f = true
                while try c.nextElement(first: &f) {
                    try c.beginArray()
                    var g = true
                    _ = try c.nextElement(first: &g)
                    let name = try c.readString()
                    var v: [Int] = []
                    while try c.nextElement(first: &g) { v.append(try c.readInt()) }
                    guard v.count == 6 else { throw StudyError("classes: \(name) needs 6 counts, found \(v.count)") }
                    guard ThreatClass(rawValue: name) != nil else {
                        throw StudyError("classes: '\(name)' is not a threat class (\(ThreatClass.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard v.allSatisfy({ $0 >= 0 }) else { throw StudyError("classes: \(name) has a negative count (\(v))") }
                    var o = RunMetrics.ClassOutcome()
                    (o.launched, o.engaged, o.destroyed, o.lostJammed, o.leaked, o.airborneAtEnd) = (v[0], v[1], v[2], v[3], v[4], v[5])
                    m.classes.append((name, o))
                }
            case "effectors":
                try c.beginArray()
                var f = true
                while try c.nextElement(first: &f) {
                    try c.beginArray()
                    var g = true
                    _ = try c.nextElement(first: &g)
                    let name = try c.readString()
                    guard try c.nextElement(first: &g) else { throw StudyError("effectors: \(name) has no count") }
                    let fired = try c.readInt()
                    guard try c.nextElement(first: &g) else { throw StudyError("effectors: \(name) has no cost") }
                    let cost = try c.readDouble()
                    guard try !c.nextElement(first: &g) else { throw StudyError("effectors: \(name) has too many fields") }
                    guard fired >= 0, cost >= 0, cost.isFinite else { throw StudyError("effectors: \(name) has a negative or infinite count or cost") }
                    m.effectors.append((name, RunMetrics.EffectorUse(fired: fired, cost: cost)))
                }
            case "cost":
                m.interceptorCost = try c.readDouble()
                guard m.interceptorCost >= 0, m.interceptorCost.isFinite else { throw StudyError("cost: must be a finite number ≥ 0 (got \(m.interceptorCost))") }
            case "valueAtRisk": m.valueAtRisk = try c.readDouble()
            case "valueLost": m.valueLost = try c.readDouble()
            case "populationAtRisk": m.populationAtRisk = try c.readDouble()
            case "populationAffected": m.populationAffected = try c.readDouble()
            case "falseAlarmRegionMinutes": m.falseAlarmRegionMinutes = try c.readDouble()
            case "alertRegionMinutes": m.alertRegionMinutes = try c.readDouble()
            case "impacts": m.impacts = try c.readInt()
            case "decoyRounds": m.decoyRounds = try c.readInt()
            case "expensiveDecoyRounds": m.expensiveDecoyRounds = try c.readInt()
            case "decoyCost": m.decoyCost = try c.readDouble()
            case "falseTrackRounds": m.falseTrackRounds = try c.readInt()
            case "falseTrackCost": m.falseTrackCost = try c.readDouble()
            case "plansRefused": m.plansRefused = try c.readInt()
            case "leadTimes":
                try c.beginArray()
                var f = true
                while try c.nextElement(first: &f) { m.leadTimes.append(try c.readDouble()) }
            default: try c.skipValue()
            }
        }
        guard let index else { throw StudyError("replications: a record has no \"i\"") }
        return ReplicationRecord(index: index, metrics: m)
    }

    // MARK: Merging

    /// Combines the partials of one study: same scenario, seed, runs and shard count, every
    /// shard exactly once. Returns the records of all replications in order.
    public static func merge(_ partials: [StudyPartial]) throws -> (scenario: String, seed: UInt64, model: BattleModel, records: [ReplicationRecord]) {
        guard let p0 = partials.first else { throw StudyError("no partials to merge") }
        for p in partials.dropFirst() {
            guard p.scenarioDigest == p0.scenarioDigest, p.seed == p0.seed else {
                throw StudyError("\(p.label) is of another study (scenario \(p.scenario), inputs' digest \(p.scenarioDigest), seed \(p.seed)) than \(p0.label) (scenario \(p0.scenario), inputs' digest \(p0.scenarioDigest), seed \(p0.seed))")
            }
            guard p.model == p0.model else {
                throw StudyError("\(p.label) ran under the \(p.model.rawValue) model, \(p0.label) under the \(p0.model.rawValue) model: their replications are not of one study")
            }
            guard p.programDigest == p0.programDigest else {
                throw StudyError("\(p.label) was run by another build of canopy (program digest \(p.programDigest)) than \(p0.label) (\(p0.programDigest)): other code can give other results; run every shard with one build")
            }
            guard p.slice.runs == p0.slice.runs, p.slice.shards == p0.slice.shards else {
                throw StudyError("\(p.label) is of \(p.slice.runs) runs in \(p.slice.shards) shards; \(p0.label) of \(p0.slice.runs) runs in \(p0.slice.shards) shards")
            }
        }
        var byShard = [StudyPartial?](repeating: nil, count: p0.slice.shards)
        for p in partials {
            if let earlier = byShard[p.slice.shard] { throw StudyError("shard \(p.slice.shard) of \(p0.slice.shards) is given twice: \(earlier.label) and \(p.label)") }
            byShard[p.slice.shard] = p
        }
        let missing = byShard.indices.filter { byShard[$0] == nil }
        guard missing.isEmpty else {
            throw StudyError("missing shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of \(p0.slice.shards)")
        }
        return (p0.scenario, p0.seed, p0.model, byShard.flatMap { $0!.records })
    }
}

/// FNV-1a 64 over byte strings, each preceded by its length (8 bytes, little-endian), written as
/// 16 hexadecimal digits: the partials' digests.
struct FNV1a64 {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(framed bytes: [UInt8]) {
        withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { for b in $0 { mix(b) } }
        for b in bytes { mix(b) }
    }

    @inline(__always) private mutating func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }

    var hex: String {
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
