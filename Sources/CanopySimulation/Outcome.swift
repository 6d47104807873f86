import CanopyCore
import CanopyScenario
import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

extension Simulation {
    func makeResult(endTime: Double, timings: RunTimings) -> RunResult {
        let s = scenario
        // Per threat type.
        var typeNames: [String] = []
        for t in threats where !typeNames.contains(t.typeName) { typeNames.append(t.typeName) }
        typeNames.sort()
        var byType: [(String, JSONValue)] = []
        var rows: [[String]] = []
        var totals = [Int](repeating: 0, count: 8)
        for name in typeNames {
            let ts = threats.filter { $0.typeName == name }
            var counts = [Int](repeating: 0, count: 8)
            // A threat still waiting for its launch when the run ended (cancelled, or cut off by
            // the duration) was never launched: it is counted nowhere.
            for t in ts where t.fate != .pending {
                counts[0] += 1
                if t.detected { counts[1] += 1 }
                if t.tracked { counts[2] += 1 }
                if t.engaged { counts[3] += 1 }
                switch t.fate {
                case .destroyed: counts[4] += 1
                case .lost: counts[5] += 1
                case .impacted: counts[6] += 1
                case .airborne, .pending: counts[7] += 1  // (pending: not reached)
                }
            }
            for k in 0..<8 { totals[k] += counts[k] }
            let keys = ["launched", "detected", "tracked", "engaged", "destroyed", "lostJammed", "leaked", "airborneAtEnd"]
            byType.append((name, .object(Array(zip(keys, counts.map { JSONValue.int($0) })) + [("class", .string(ts[0].type.threatClass.rawValue))])))
            rows.append([name] + counts.map(String.init))
        }
        rows.append(["total"] + totals.map(String.init))

        // Damage: each impact of a threat with a warhead on each asset within its radius destroys
        // the fraction min(1, warhead × damage per kg) of what is left of it, so an asset loses
        // value × (1 − Π (1 − fᵢ)) over its hits: additive for a city's small fractions, and a
        // site destroyed by its first hit loses nothing more to the next (its loss was counted
        // once per hit, up to four times its value).
        // At risk: the same for every threat's planned impact point, whatever its fate, so that
        // value protected is exactly what the defence saved (a wave threat aimed at a small site
        // with a wider aim spread often falls beside it; counting its target's value at risk all
        // the same counted that as protected).
        var assetHits = [Int](repeating: 0, count: s.assets.count)
        var survivingIfAll = [Double](repeating: 1, count: s.assets.count)
        var surviving = [Double](repeating: 1, count: s.assets.count)
        let assetECEF = s.assets.map { WGS84.ecef($0.position) }
        // A threat never launched (a run cancelled or cut off first) put nothing at risk.
        for t in threats where t.type.warheadKg > 0 && t.fate != .pending {
            let e = WGS84.ecef(t.path.impactPoint)
            for (k, asset) in s.assets.enumerated() where norm(assetECEF[k] - e) <= asset.radius {
                let frac = asset.damageFraction(warheadKg: t.type.warheadKg)
                survivingIfAll[k] *= 1 - frac
                guard t.fate == .impacted else { continue }
                assetHits[k] += 1
                surviving[k] *= 1 - frac
            }
        }
        var valueLost = [Double](repeating: 0, count: s.assets.count)
        var peopleAffected = [Double](repeating: 0, count: s.assets.count)
        var valueAtRisk = 0.0, peopleAtRisk = 0.0
        for (k, asset) in s.assets.enumerated() {
            valueAtRisk += asset.value * (1 - survivingIfAll[k])
            peopleAtRisk += asset.population * (1 - survivingIfAll[k])
            valueLost[k] = asset.value * (1 - surviving[k])
            peopleAffected[k] = asset.population * (1 - surviving[k])
        }
        let totalLost = valueLost.reduce(0, +), totalPeople = peopleAffected.reduce(0, +)
        var assetsJSON: [JSONValue] = []
        for (k, a) in s.assets.enumerated() where assetHits[k] > 0 {
            assetsJSON.append(.object([("asset", .string(a.name)), ("hits", .int(assetHits[k])),
                                       ("valueLost", .number(valueLost[k])), ("peopleAffected", .number(peopleAffected[k]))]))
        }

        // Interceptors per effector type.
        var effNames: [String] = []
        for fu in s.fireUnits where !effNames.contains(fu.type) { effNames.append(fu.type) }
        effNames.sort()
        var interceptors: [(String, JSONValue)] = []
        var totalCost = 0.0
        var effRows: [[String]] = []
        for name in effNames {
            let n = s.fireUnits.indices.filter { s.fireUnits[$0].type == name }.reduce(0) { $0 + fired[$1] }
            let stock = s.fireUnits.filter { $0.type == name }.reduce(0) { $0 + $1.magazine }
            let cost = Double(n) * (s.catalogue.effectors[name]?.costPerShot ?? 0)
            totalCost += cost
            interceptors.append((name, .object([("fired", .int(n)), ("stock", .int(stock)), ("cost", .number(cost))])))
            effRows.append([name, String(n), String(stock), Self.money(cost)])
        }

        // Alerts per region.
        var regionsJSON: [(String, JSONValue)] = []
        var falseMinutes = 0.0
        var alertRows: [[String]] = []
        for (r, region) in s.regions.enumerated() {
            let episodes = regionEpisodes[r]
            let hits = impacts.filter { $0.region == r }
            guard !episodes.isEmpty || !hits.isEmpty else { continue }
            var minutes = 0.0, falseM = 0.0
            for e in episodes {
                minutes += (e.end - e.start) / 60
                let anyImpact = hits.contains { $0.time >= e.start && $0.time <= e.end }
                if !anyImpact { falseM += (e.end - e.start) / 60 }
            }
            falseMinutes += falseM
            let leads = hits.compactMap(\.lead).sorted()
            let unwarned = hits.filter { $0.lead == nil }.count
            var obj: [(String, JSONValue)] = [("name", .string(region.name)), ("alerts", .int(episodes.count)),
                                              ("alertMinutes", .number(minutes)), ("impacts", .int(hits.count)),
                                              ("unwarnedImpacts", .int(unwarned)), ("falseAlarmMinutes", .number(falseM))]
            obj.append(("leadTimeMin", leads.first.map { .number($0) } ?? .null))
            obj.append(("leadTimeMedian", leads.isEmpty ? .null : .number(Self.median(leads))))
            regionsJSON.append((region.id, .object(obj)))
            alertRows.append([region.name, String(episodes.count), String(format: "%.0f", minutes), String(hits.count),
                              String(unwarned), leads.first.map { String(format: "%.0f", $0) } ?? "-",
                              leads.isEmpty ? "-" : String(format: "%.0f", Self.median(leads)),
                              String(format: "%.0f", falseM)])
        }

        let summary: JSONValue = .object([
            ("scenario", .string(s.name)),
            // A string, as in study.json and the API: a 64-bit seed past 2⁶³ had been written negative.
            ("seed", .string(String(s.seed))),
            ("replication", .int(Int(options.replication))),
            ("simulatedSeconds", .number(endTime)),
            ("threats", .object(byType)),
            ("assetsHit", .array(assetsJSON)),
            ("interceptors", .object(interceptors)),
            ("interceptorCost", .number(totalCost)),
            ("valueAtRisk", .number(valueAtRisk)),
            ("valueLost", .number(totalLost)),
            ("valueProtected", .number(valueAtRisk - totalLost)),
            ("populationAtRisk", .number(peopleAtRisk)),
            ("populationAffected", .number(totalPeople)),
            ("populationProtected", .number(peopleAtRisk - totalPeople)),
            ("alerts", .object(regionsJSON)),
            ("falseAlarmRegionMinutes", .number(falseMinutes)),
            ("roundsAtDecoys", .object([("rounds", .int(decoyRounds)), ("expensiveRounds", .int(expensiveDecoyRounds)),
                                        ("cost", .number(decoyCost))])),
            ("roundsAtFalseTracks", .object([("rounds", .int(falseTrackRounds)), ("cost", .number(falseTrackCost))])),
            ("tracker", .object([("detections", .int(battle.tracker.detectionsProcessed)),
                                 ("confirmedTracks", .int(trackTruth.confirmedIDs.count)),
                                 ("falseTracks", .int(trackTruth.confirmedIDs.filter { (trackTruth[$0] ?? -1) < 0 }.count)),
                                 ("tentativeDropped", .int(battle.tracker.tentativeDropped))])),
        ] + (plansRefused > 0 ? [("plansRefused", .int(plansRefused))] : []))

        var table = "Canopy — \(s.name) (seed \(s.seed)), \(Self.clock(endTime)) simulated\n\n"
        table += Self.render(["threat type", "launched", "detected", "tracked", "engaged", "destroyed", "lost/jammed", "leaked", "airborne"], rows)
        table += "\n"
        table += Self.render(["effector", "fired", "stock", "cost"], effRows + [["total", "", "", Self.money(totalCost)]])
        table += "\n"
        if !assetsJSON.isEmpty {
            var ar: [[String]] = []
            for (k, a) in s.assets.enumerated() where assetHits[k] > 0 {
                ar.append([a.name, String(assetHits[k]), String(format: "%.0f", valueLost[k]), String(format: "%.0f", peopleAffected[k])])
            }
            table += Self.render(["asset hit", "impacts", "value lost", "people affected"], ar)
            table += "\n"
        }
        if valueAtRisk > 0 {
            table += String(format: "value protected %.0f of %.0f at risk (%.1f %%); people protected %.0f of %.0f\n",
                            valueAtRisk - totalLost, valueAtRisk, 100 * (valueAtRisk - totalLost) / valueAtRisk,
                            peopleAtRisk - totalPeople, peopleAtRisk)
        } else {
            table += "value protected: no value was at risk (no threat aimed at an asset)\n"
        }
        if falseTrackRounds > 0 {
            table += "rounds fired at false tracks (clutter, false reports): \(falseTrackRounds), \(Self.money(falseTrackCost))\n"
        }
        if plansRefused > 0 {
            table += "engagement plans refused (the fire units could not carry them out; plan_refused events): \(plansRefused)\n"
        }
        table += "\n"
        if !alertRows.isEmpty {
            table += Self.render(["region", "alerts", "minutes", "impacts", "unwarned", "lead min s", "lead median s", "false-alarm min"], alertRows)
        }
        table += String(format: "false-alarm region-minutes: %.0f\n", falseMinutes)
        // The same outcome as numbers, per threat class and effector type.
        var metrics = RunMetrics()
        metrics.simulatedSeconds = endTime
        for c in ThreatClass.allCases {
            let ts = threats.filter { $0.type.threatClass == c }
            guard !ts.isEmpty else { continue }
            var k = RunMetrics.ClassOutcome()
            for t in ts where t.fate != .pending {
                k.launched += 1
                if t.engaged { k.engaged += 1 }
                switch t.fate {
                case .destroyed: k.destroyed += 1
                case .lost: k.lostJammed += 1
                case .impacted: k.leaked += 1
                case .airborne, .pending: k.airborneAtEnd += 1
                }
            }
            metrics.classes.append((c.rawValue, k))
        }
        for name in effNames {
            let n = s.fireUnits.indices.filter { s.fireUnits[$0].type == name }.reduce(0) { $0 + fired[$1] }
            metrics.effectors.append((name, RunMetrics.EffectorUse(fired: n, cost: Double(n) * (s.catalogue.effectors[name]?.costPerShot ?? 0))))
        }
        metrics.interceptorCost = totalCost
        metrics.valueAtRisk = valueAtRisk
        metrics.valueLost = totalLost
        metrics.populationAtRisk = peopleAtRisk
        metrics.populationAffected = totalPeople
        metrics.falseAlarmRegionMinutes = falseMinutes
        metrics.alertRegionMinutes = regionEpisodes.reduce(0) { $0 + $1.reduce(0) { $0 + ($1.end - $1.start) / 60 } }
        metrics.impacts = impacts.count
        metrics.decoyRounds = decoyRounds
        metrics.expensiveDecoyRounds = expensiveDecoyRounds
        metrics.decoyCost = decoyCost
        metrics.falseTrackRounds = falseTrackRounds
        metrics.plansRefused = plansRefused
        metrics.falseTrackCost = falseTrackCost
        metrics.leadTimes = impacts.compactMap(\.lead)
        return RunResult(metrics: metrics, summary: summary, events: events, trackRows: trackRows, timings: timings,
                         simulatedSeconds: endTime, table: table)
    }

    static func median(_ xs: [Double]) -> Double {
        let n = xs.count
        return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }

    static func money(_ x: Double) -> String {
        if x >= 1e6 { return String(format: "$%.1fM", x / 1e6) }
        if x >= 1e3 { return String(format: "$%.0fk", x / 1e3) }
        return String(format: "$%.0f", x)
    }

    static func clock(_ t: Double) -> String {
        let s = Int(t.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    }

    static func render(_ header: [String], _ rows: [[String]]) -> String { TextTable.render(header, rows) }
}

/// One run's outcome as numbers: what a Monte Carlo study aggregates. Lists are in a fixed order
/// (threat classes in `ThreatClass` order, effector types by name), so that equal runs give
/// equal metrics.
public struct RunMetrics: Sendable, Equatable {
    public struct ClassOutcome: Sendable, Equatable {
        public var launched = 0, engaged = 0, destroyed = 0, lostJammed = 0, leaked = 0, airborneAtEnd = 0
        public init() {}
    }
    public struct EffectorUse: Sendable, Equatable {
        public var fired: Int
        public var cost: Double
        public init(fired: Int, cost: Double) { self.fired = fired; self.cost = cost }
    }
    public var simulatedSeconds = 0.0
    /// (threat class raw value, outcome), classes present in the raid only.
    public var classes: [(String, ClassOutcome)] = []
    /// (effector type, use), every type deployed.
    public var effectors: [(String, EffectorUse)] = []
    public var interceptorCost = 0.0
    public var valueAtRisk = 0.0, valueLost = 0.0
    public var populationAtRisk = 0.0, populationAffected = 0.0
    public var falseAlarmRegionMinutes = 0.0, alertRegionMinutes = 0.0
    /// Impacts in any region, and the alert lead time (s) of each impact that was warned.
    public var impacts = 0
    public var leadTimes: [Double] = []
    /// Rounds fired at decoys (by truth), those costing $100k or more each, and their cost.
    public var decoyRounds = 0, expensiveDecoyRounds = 0
    public var decoyCost = 0.0
    /// Rounds fired on a false detection's cue (clutter or a false report: nothing there), and their cost.
    public var falseTrackRounds = 0
    public var falseTrackCost = 0.0
    /// Engagement plans refused as beyond the fire units (a plug-in planner's: `RunOptions.planner`).
    public var plansRefused = 0

    public init() {}

    public var valueProtected: Double { valueAtRisk - valueLost }
    public var populationProtected: Double { populationAtRisk - populationAffected }

    public static func == (a: RunMetrics, b: RunMetrics) -> Bool {
        a.simulatedSeconds == b.simulatedSeconds && a.classes.map(\.0) == b.classes.map(\.0) && a.classes.map(\.1) == b.classes.map(\.1)
            && a.effectors.map(\.0) == b.effectors.map(\.0) && a.effectors.map(\.1) == b.effectors.map(\.1)
            && a.interceptorCost == b.interceptorCost && a.valueAtRisk == b.valueAtRisk && a.valueLost == b.valueLost
            && a.populationAtRisk == b.populationAtRisk && a.populationAffected == b.populationAffected
            && a.falseAlarmRegionMinutes == b.falseAlarmRegionMinutes && a.alertRegionMinutes == b.alertRegionMinutes
            && a.impacts == b.impacts && a.leadTimes == b.leadTimes && a.decoyRounds == b.decoyRounds
            && a.expensiveDecoyRounds == b.expensiveDecoyRounds && a.decoyCost == b.decoyCost
            && a.falseTrackRounds == b.falseTrackRounds && a.falseTrackCost == b.falseTrackCost
            && a.plansRefused == b.plansRefused
    }
}

// MARK: - Deterministic JSON and files

extension JSONValue {
    /// Compact, key order as built, numbers with 17 significant digits trimmed: byte-identical for equal values.
    public func render(into s: inout String, pretty: Bool = false, indent: Int = 0) {
        let nl = pretty ? "\n" : ""
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let endPad = pretty ? String(repeating: "  ", count: indent) : ""
        switch self {
        case .string(let v): Self.quote(v, into: &s)
        case .int(let v): s += String(v)
        case .bool(let v): s += v ? "true" : "false"
        case .null: s += "null"
        case .number(let v): s += Self.format(v)
        case .array(let a):
            if a.isEmpty { s += "[]"; return }
            s += "[" + nl
            for (k, v) in a.enumerated() {
                s += pad
                v.render(into: &s, pretty: pretty, indent: indent + 1)
                s += k < a.count - 1 ? "," + nl : nl
            }
            s += endPad + "]"
        case .object(let o):
            if o.isEmpty { s += "{}"; return }
            s += "{" + nl
            for (k, kv) in o.enumerated() {
                s += pad
                Self.quote(kv.0, into: &s)
                s += pretty ? ": " : ":"
                kv.1.render(into: &s, pretty: pretty, indent: indent + 1)
                s += k < o.count - 1 ? "," + nl : nl
            }
            s += endPad + "}"
        }
    }

    public func rendered(pretty: Bool = false) -> String {
        var s = ""
        render(into: &s, pretty: pretty)
        return s
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        // Large numbers as they are (their six decimals are not there, and v·10⁶ overflowed).
        if abs(v) >= 1e15 { return "\(v)" }
        // Round to 6 decimals for stable, readable output.
        let r = (v * 1e6).rounded() / 1e6
        return "\(r)"
    }

    static func quote(_ v: String, into s: inout String) { JSONText.quote(v, into: &s) }
}

/// Writing a run's outputs: every file goes to a temporary name and is renamed when complete,
/// so an interrupted run never leaves a half-written output.
public enum OutputWriter {
    public static func write(_ result: RunResult, to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var summary = ""
        result.summary.render(into: &summary, pretty: true)
        summary += "\n"
        var events = ""
        events.reserveCapacity(result.events.count * 120)
        // Stable order: by time, then in the order they were logged.
        let ordered = result.events.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }
        for (_, e) in ordered {
            JSONValue.object([("t", .number(e.time)), ("type", .string(e.kind))] + e.fields).render(into: &events)
            events += "\n"
        }
        var csv = "time,track,class,lat,lon,alt,ground_speed,heading_deg,aim_asset,time_to_impact,truth\n"
        csv.reserveCapacity(result.trackRows.count * 90)
        for r in result.trackRows {
            csv += fixed(r.time, 1) + "," + String(r.track) + "," + r.threatClass + ","
            csv += fixed(r.position.latitudeDegrees, 6) + "," + fixed(r.position.longitudeDegrees, 6) + ","
            csv += fixed(r.position.height, 0) + "," + fixed(r.speed, 1) + "," + fixed(degrees(r.heading), 1) + ","
            csv += csvField(r.aimAsset) + "," + (r.timeToImpact.isFinite ? fixed(r.timeToImpact, 0) : "") + ","
            csv += csvField(r.truth) + "\n"
        }
        try atomicWrite([(directory + "/summary.json", Data(summary.utf8)), (directory + "/events.ndjson", Data(events.utf8)),
                         (directory + "/tracks.csv", Data(csv.utf8))])
    }

    /// x with `decimals` digits after the point (like %.Nf, without Foundation's formatter cost).
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let n = (abs(x) * scale).rounded()
        guard n < 9e15 else { return String(format: "%.\(decimals)f", x) }
        let v = Int64(n)
        let neg = x < 0 && v != 0
        if decimals == 0 { return (neg ? "-" : "") + String(v) }
        let p = Int64(scale)
        var frac = String(v % p)
        if frac.count < decimals { frac = String(repeating: "0", count: decimals - frac.count) + frac }
        return (neg ? "-" : "") + String(v / p) + "." + frac
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. The test
    /// reads bytes: Foundation's substring search was 2 % of a large raid's run, in tracks.csv.
    public static func csvField(_ s: String) -> String {
        let special = s.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
        return special ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public static func atomicWrite(_ text: String, to path: String) throws {
        try atomicWrite(Data(text.utf8), to: path)
    }

    /// Why an output could not be written, naming the file.
    public struct WriteError: Error, LocalizedError, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public var errorDescription: String? { message }
    }

    /// Writes next to the target (PATH.partial) and renames into place, so a reader never sees
    /// half a file and an old file is replaced in one step. Only a regular file is ever
    /// replaced: a directory, a device or a pipe at the path is an error (it used to be removed,
    /// a directory with all it held).
    public static func atomicWrite(_ data: Data, to path: String) throws {
        try atomicWrite([(path, data)])
    }

    /// Writes a set of files as one: every target is checked and every temporary file written
    /// before any is renamed into place, so a failure (a directory in the way, a full disk)
    /// leaves the old set, or none, rather than some new files beside old ones.
    public static func atomicWrite(_ files: [(path: String, data: Data)]) throws {
        func reason() -> String { String(cString: strerror(errno)) }
        func kind(_ p: String) -> String? {
            var st = stat()
            guard lstat(p, &st) == 0 else { return nil }
            switch st.st_mode & S_IFMT {
            case S_IFREG, S_IFLNK: return nil
            case S_IFDIR: return "a directory"
            default: return "not a regular file (a device, pipe or socket)"
            }
        }
        for (path, _) in files {
            if let k = kind(path) { throw WriteError(message: "cannot write \(path): it is \(k); give a file path (nothing was written)") }
            if let k = kind(path + ".partial") { throw WriteError(message: "cannot write \(path).partial (the temporary file of \(path)): it is \(k)") }
        }
        var written: [String] = []
        func abandon(_ message: String) -> WriteError {
            for t in written { unlink(t) }
            return WriteError(message: message)
        }
        for (path, data) in files {
            let tmp = path + ".partial"
            // A leftover temporary file (or a link of that name) is removed, and the new one
            // created afresh: writing through a link would overwrite the file it points to.
            unlink(tmp)
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)  // less the umask, as before
            guard fd >= 0 else { throw abandon("cannot write \(path): \(reason())") }
            written.append(tmp)
            var failure: String? = nil
            data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
                var done = 0
                while done < buf.count {
                    let n = systemWrite(fd, buf.baseAddress! + done, buf.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = reason()
                        return
                    }
                    done += n
                }
            }
            if close(fd) != 0 && failure == nil { failure = reason() }
            if let failure { throw abandon("cannot write \(path): \(failure)") }
        }
        for (k, (path, _)) in files.enumerated() where rename(written[k], path) != 0 {
            let why = reason()
            written.removeFirst(k)
            throw abandon("cannot write \(path): \(why)")
        }
    }
}
