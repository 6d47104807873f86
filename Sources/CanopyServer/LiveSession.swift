import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopyTEWA
import CanopyTracking
import Foundation

/// A live feed into the same BattleManager the simulation uses, with no World behind it:
/// detections arrive as JSON (HTTP POST or UDP datagrams), a clock ticks the decision cycle in
/// wall time, and the picture goes out on the "live" channel, to CoT and to alert webhooks.
/// Engagement orders are recommendations: with no fire unit to report back, an order is
/// closed as completed 10 s after its predicted intercept.
public final class LiveSession: @unchecked Sendable {
    public let briefing: Briefing
    public let channel: PictureChannel
    let battle: BattleManager
    let lock = NSLock()
    let epoch: Date
    /// Simulated (session) time of the last cycle.
    var lastCycle = 0.0
    var nextID: UInt64 = 1
    var received = 0, rejected = 0, late = 0, datagrams = 0, malformedDatagrams = 0
    var recommendations: [String] = []
    var stopped = false
    var onPicture: (@Sendable (PictureChannel, Picture) -> Void)?
    var onAlertChange: (@Sendable (PictureChannel, AlertEpisode) -> Void)?
    /// Every publication: the picture, the cycle's events and the alerts that changed (the store's
    /// recorder). Set and read under the lock (the session's thread may be running).
    private var onRecordStorage: (@Sendable (Picture, [LiveEvent], [AlertEpisode]) -> Void)?
    var onRecord: (@Sendable (Picture, [LiveEvent], [AlertEpisode]) -> Void)? {
        get { lock.lock(); defer { lock.unlock() }; return onRecordStorage }
        set { lock.lock(); onRecordStorage = newValue; lock.unlock() }
    }
    /// The briefing scenario's name.
    public let name: String
    /// Sensor ids → the tracker's sensor index.
    let sensorIndex: [String: Int]
    /// Citizen network ids → the battle manager's network index (its bearing noise and reach).
    let citizenNetworkIndex: [String: Int]
    /// ASTERIX data source identifiers (SAC << 8 | SIC) → the radar's position and tracker index.
    let asterixRadars: [UInt16: (Geodetic, Int)]
    var udp: UDPListener?
    var asterixUDP: UDPListener?
    var asterixDatagrams = 0, asterixReports = 0, asterixRejectedDatagrams = 0, asterixSkipped = 0
    /// The last problems of any feed (the newest last), so that what a UDP feed drops is seen
    /// somewhere: `GET /api/live`'s `recentProblems`.
    var recentProblems: [(time: Date, via: String, text: String)] = []
    static let recentProblemLimit = 50

    /// With `autoTick` (the server), a thread runs the cycle on the wall clock; without it (tests,
    /// replays of a recorded feed), the caller calls `tick(at:)`. `planner` replaces the built-in
    /// assigner in recommending engagements (nil: the briefing's doctrine).
    public init(briefingPath: String, udpPort: Int = 0, asterixUDPPort: Int = 0, autoTick: Bool = true,
                planner: (any EngagementPlanner)? = nil) throws {
        let scenario = try ScenarioLoader.load(path: briefingPath)
        name = scenario.name
        briefing = Briefing(scenario: scenario)
        battle = BattleManager(briefing: briefing, planner: planner)
        epoch = Date()
        self.autoTick = autoTick
        channel = PictureChannel(name: "live", epoch: epoch)
        var index: [String: Int] = [:]
        for (k, s) in battle.tracker.sensors.enumerated() { index[s.name] = k }
        sensorIndex = index
        // The networks the battle manager knows the figures of, in its order.
        var networks: [String: Int] = [:]
        for (k, n) in reportingCitizenNetworks(scenario.citizenNetworks, scenario.catalogue).enumerated() { networks[n.network.id] = k }
        citizenNetworkIndex = networks
        var radars: [UInt16: (Geodetic, Int)] = [:]
        for s in scenario.sensors {
            guard let sac = s.asterixSAC, let sic = s.asterixSIC, let k = index[s.id] else { continue }
            radars[UInt16(sac) << 8 | UInt16(sic)] = (s.position, k)
        }
        asterixRadars = radars
        if udpPort > 0 {
            udp = try UDPListener(port: udpPort) { [weak self] data in self?.datagram(data) }
        }
        if asterixUDPPort > 0 {
            asterixUDP = try UDPListener(port: asterixUDPPort, what: "live ASTERIX (--asterix-udp)") { [weak self] data in
                self?.asterixDatagram(data)
            }
        }
        if autoTick {
            let t = Thread { [weak self] in self?.loop() }
            t.name = "canopy-live"
            t.start()
        }
    }

    /// Radars of the briefing that name their ASTERIX source (`sac`, `sic`): only their CAT048 reports are taken.
    public var asterixRadarCount: Int { asterixRadars.count }

    public func stop() { lock.lock(); stopped = true; lock.unlock(); udp?.close(); asterixUDP?.close() }

    let autoTick: Bool
    /// Wall seconds since the epoch; with a manual clock, the time of the last tick.
    var now: Double { autoTick ? Date().timeIntervalSince(epoch) : lastCycle }

    /// The wall-clock loop: a decision cycle every doctrine cycle, and the picture (predicted to
    /// now) published every second between cycles, so that clients see about 1 Hz.
    func loop() {
        let period = max(briefing.doctrine.cycle, 0.5)
        var nextPublish = 1.0
        while true {
            let wait = min(nextPublish, lastCycle + period) - now
            if wait > 0 { Thread.sleep(forTimeInterval: min(wait, 1)) }
            lock.lock()
            let stop = stopped, t = now, due = t - lastCycle >= period - 1e-3
            lock.unlock()
            if stop { return }
            if due {
                tick(at: t)
                nextPublish = t + 1
            } else if t >= nextPublish {
                publishPicture(at: t)
                nextPublish = t + 1
            }
        }
    }

    /// Publishes the picture predicted to `t`, between decision cycles.
    func publishPicture(at t: Double) {
        lock.lock()
        let picture = battle.picture(now: t)
        lock.unlock()
        let changes = channel.publish(picture, events: [], status: "live")
        onPicture?(channel, picture)
        for c in changes { onAlertChange?(channel, c) }
        onRecord?(picture, [], changes)
    }

    /// One decision cycle at session time `t` (seconds since the epoch): track what arrived,
    /// assess, recommend, alert; publish the picture.
    public func tick(at t: Double) {
        do {
            lock.lock()
            let out = battle.cycle(now: t)
            lastCycle = t
            // Each event as its time (to the tenth its line gives), kind and JSON line: the store's
            // recorder takes them as they are, and the stream the lines.
            var records: [LiveEvent] = []
            for o in out.orders {
                var w = JSONWriter()
                w.beginObject(); w.field("t", t, digits: 1); w.field("type", "recommend")
                w.field("fireUnit", battle.fireUnits[o.fireUnit].id); w.field("track", o.track); w.field("rounds", o.rounds)
                w.field("pk", o.killProbability, digits: 3); w.endObject()
                records.append(LiveEvent(time: Self.tenth(t), kind: "recommend", json: w.text))
            }
            for e in out.trackEvents where e.kind != .started {
                let tenth = String(format: "%.1f", e.time), kind = "track_\(e.kind == .confirmed ? "confirm" : "drop")"
                records.append(LiveEvent(time: Double(tenth) ?? e.time, kind: kind,
                                         json: "{\"t\":\(tenth),\"type\":\"\(kind)\",\"track\":\(e.track)}"))
            }
            let events = records.map(\.json)
            // Close recommendations whose intercept time has passed (no fire unit reports back here).
            for o in battle.openOrdersSorted where o.predictedIntercept.time + 10 < t {
                battle.receive(EngagementReport(order: o.id, time: t, outcome: .completed))
            }
            let picture = battle.picture(now: t)
            recommendations.append(contentsOf: records.filter { $0.kind == "recommend" }.map(\.json))
            if recommendations.count > 100 { recommendations.removeFirst(recommendations.count - 100) }
            lock.unlock()
            let changes = channel.publish(picture, events: events, status: "live")
            onPicture?(channel, picture)
            for c in changes { onAlertChange?(channel, c) }
            onRecord?(picture, records, changes)
        }
    }

    /// The session's clock: seconds since its epoch (what "t" in a detection refers to).
    public var sessionTime: Double { now }

    func datagram(_ data: Data) {
        let r = ingest(data, via: "udp")
        lock.lock()
        datagrams += 1
        if r.accepted == 0 { malformedDatagrams += 1 }
        lock.unlock()
    }

    func asterixDatagram(_ data: Data) {
        _ = ingestAsterix([UInt8](data), via: "asterix-udp")
    }

    /// Keeps the problems of one message among the recent ones. The caller holds the lock.
    private func remember(_ problems: [String], via: String) {
        guard !problems.isEmpty else { return }
        let now = Date()
        // Each at most 300 characters: a problem can quote what it was given.
        for p in problems.suffix(Self.recentProblemLimit) { recentProblems.append((now, via, p.count > 300 ? String(p.prefix(300)) + "…" : p)) }
        if recentProblems.count > Self.recentProblemLimit { recentProblems.removeFirst(recentProblems.count - Self.recentProblemLimit) }
    }

    /// Parses a JSON detection, an array of them, or {"detections": [...]}, and hands what is
    /// valid to the BattleManager. Each problem names the item and the field.
    public func ingest(_ data: Data, via: String = "http") -> (accepted: Int, problems: [String]) {
        let r = parseAndReceive(data)
        lock.lock(); remember(r.problems, via: via); lock.unlock()
        return r
    }

    private func parseAndReceive(_ data: Data) -> (accepted: Int, problems: [String]) {
        let items: [Any]
        do {
            let root = try JSONSerialization.jsonObject(with: data, options: [])
            if let a = root as? [Any] { items = a }
            else if let o = root as? [String: Any], let a = o["detections"] as? [Any] { items = a }
            else if let o = root as? [String: Any], let d = o["detections"] {
                return (0, ["detections: must be an array of detection objects (got \(JSONSerialization.isValidJSONObject([d]) ? "\(type(of: d))" : "\(d)"))"])
            }
            else if let o = root as? [String: Any] { items = [o] }
            else { return (0, ["the body must be a detection object, an array of them, or {\"detections\": [...]}"]) }
        } catch {
            lock.lock(); rejected += 1; lock.unlock()
            return (0, ["malformed JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")"])
        }
        if items.count > 10_000 { return (0, ["at most 10000 detections per message (got \(items.count))"]) }
        var problems: [String] = []
        var accepted = 0
        lock.lock()
        defer { lock.unlock() }
        let current = now
        for (k, item) in items.enumerated() {
            let at = "detections[\(k)]"
            guard let o = item as? [String: Any] else { problems.append("\(at): must be an object"); continue }
            func num(_ key: String) -> Double? {
                guard let n = o[key] as? NSNumber, !isJSONBoolean(n) else { return nil }
                return n.doubleValue.isFinite ? n.doubleValue : nil
            }
            /// What was given for a key, for a message: "(missing)", "(got 4500000)", "(got "45000", a string)".
            func given(_ key: String) -> String {
                guard let v = o[key] else { return "(missing)" }
                if let n = v as? NSNumber, !isJSONBoolean(n) { return "(got \(n))" }
                if let t = v as? String { return "(got \"\(t.prefix(40))\", a string)" }
                if v is NSNull { return "(got null)" }
                return "(got \(v is [Any] ? "an array" : (v is [String: Any] ? "an object" : "a boolean")))"
            }
            let kindName = o["kind"] as? String ?? ""
            let allowed: [String]
            switch kindName {
            case "radar": allowed = ["kind", "sensor", "time", "t", "range", "azimuth", "elevation", "rangeRate"]
            case "acoustic": allowed = ["kind", "sensor", "time", "t", "bearing"]
            case "citizen": allowed = ["kind", "time", "t", "lat", "lon", "bearing", "network"]
            default: allowed = []
            }
            if !allowed.isEmpty, let unknown = o.keys.sorted().first(where: { !allowed.contains($0) }) {
                problems.append("\(at).\(unknown): unknown field of a \(kindName) detection (allowed: \(allowed.joined(separator: ", ")))"); continue
            }
            if o["time"] != nil && o["t"] != nil { problems.append("\(at).time: give time or t, not both"); continue }
            var time = current
            if let s = o["time"] as? String {
                guard let d = ISO8601.parse(s) else { problems.append("\(at).time: must be UTC like 2026-11-24T18:20:30.5Z (got '\(s)')"); continue }
                time = d.timeIntervalSince(epoch)
            } else if let t = num("t") {
                time = t
            } else if o["time"] != nil || o["t"] != nil {
                problems.append("\(at).time: must be a UTC time string, or t in seconds since the session began"); continue
            }
            if let p = outsideWindow(time, now: current, timeField: ".time") { problems.append("\(at)\(p)"); continue }
            let kind = o["kind"] as? String ?? ""
            switch kind {
            case "radar":
                guard let name = o["sensor"] as? String, let s = sensorIndex[name], s < battle.firstAcousticSensor else {
                    problems.append("\(at).sensor: must name a radar of the briefing (\(radarNames))"); continue
                }
                guard let range = num("range"), range > 0, range < 2_000_000 else {
                    problems.append("\(at).range: metres, a number above 0 and below 2000000, required \(given("range"))"); continue
                }
                guard let az = num("azimuth"), (-360...360).contains(az) else {
                    problems.append("\(at).azimuth: degrees from north, a number from -360 to 360, required \(given("azimuth"))"); continue
                }
                guard let el = num("elevation"), (-10...90).contains(el) else {
                    problems.append("\(at).elevation: degrees, a number from -10 to 90, required \(given("elevation"))"); continue
                }
                var rangeRate: Double? = nil
                if o["rangeRate"] != nil {
                    guard let r = num("rangeRate"), abs(r) <= 20_000 else {
                        problems.append("\(at).rangeRate: radial speed in m/s (positive receding), within ±20000, if given \(given("rangeRate"))"); continue
                    }
                    rangeRate = r
                }
                battle.receive(Detection(id: nextID, time: time, sensor: s, z: Vector3(range, radians(az).truncatingRemainder(dividingBy: 2 * .pi).magnitudeFixed, radians(el)),
                                         rangeRate: rangeRate))
            case "acoustic":
                guard let name = o["sensor"] as? String, let s = sensorIndex[name], s >= battle.firstAcousticSensor, s < battle.citizenSensor else {
                    problems.append("\(at).sensor: must name an acoustic node of the briefing, as NETWORK#INDEX"); continue
                }
                guard let b = num("bearing"), (-360...360).contains(b) else {
                    problems.append("\(at).bearing: degrees from north, a number from -360 to 360, required \(given("bearing"))"); continue
                }
                battle.receive(Detection(id: nextID, time: time, sensor: s, z: Vector3(radians(b).truncatingRemainder(dividingBy: 2 * .pi).magnitudeFixed, 0, 0)))
            case "citizen":
                guard let lat = num("lat"), (-90...90).contains(lat) else {
                    problems.append("\(at).lat: the observer's latitude, degrees from -90 to 90, required \(given("lat"))"); continue
                }
                guard let lon = num("lon"), (-180...180).contains(lon) else {
                    problems.append("\(at).lon: the observer's longitude, degrees from -180 to 180, required \(given("lon"))"); continue
                }
                guard let b = num("bearing"), (-360...360).contains(b) else {
                    problems.append("\(at).bearing: degrees from north, a number from -360 to 360, required \(given("bearing"))"); continue
                }
                var network = 0
                if let n = o["network"] {
                    guard let id = n as? String, let k = citizenNetworkIndex[id] else {
                        let known = citizenNetworkIndex.keys.sorted().joined(separator: ", ")
                        problems.append("\(at).network: must name a citizen network of the briefing (\(known.isEmpty ? "it has none" : known))"); continue
                    }
                    network = k
                }
                battle.receive(citizen: CitizenReport(id: nextID, time: time, observer: Geodetic(latitudeDegrees: lat, longitudeDegrees: lon),
                                                      bearing: radians(b).truncatingRemainder(dividingBy: 2 * .pi).magnitudeFixed,
                                                      network: network))
            default:
                problems.append("\(at).kind: must be radar, acoustic or citizen (got '\(kind)')"); continue
            }
            nextID += 1
            accepted += 1
        }
        received += accepted
        rejected += problems.count
        return (accepted, problems)
    }

    /// Takes ASTERIX data blocks (one UDP datagram, or a recording): each CAT048 target report of
    /// a radar of the briefing (named by its `sac`/`sic`) becomes a radar detection, as a JSON
    /// one would. Its time is I048/140's time of day on the UTC day nearest the session's clock;
    /// its elevation comes from the height (I048/110, a 3-D radar's, else the validated I048/090
    /// flight level; either taken as height above the ellipsoid); its radial speed from I048/120
    /// when valid. Reports of no detection (TYP 0), simulated and test targets and field monitors
    /// are passed over; each problem names the report and what is wrong. At most 10,000 reports a
    /// message, as for JSON.
    /// `skipped`: reports passed over (no detection, simulated, test, field monitor) and data
    /// blocks of other categories.
    public func ingestAsterix(_ bytes: [UInt8], via: String = "http") -> (accepted: Int, problems: [String], skipped: Int, unlisted: Int) {
        let decoded = Asterix.decode(bytes)
        if decoded.reports.count > 10_000 {
            let p = ["at most 10000 CAT048 reports per message (got \(decoded.reports.count))"]
            lock.lock(); asterixDatagrams += 1; rejected += 1; remember(p, via: via); lock.unlock()
            return (0, p, 0, 0)
        }
        var problems = decoded.problems
        var accepted = 0
        var skipped = decoded.otherCategories.values.reduce(0, +)
        lock.lock()
        defer { lock.unlock() }
        asterixDatagrams += 1
        asterixReports += decoded.reports.count
        let current = now
        // The session's UTC day: midnight before the epoch, in session seconds.
        let epochSeconds = epoch.timeIntervalSince1970
        let dayStart = (epochSeconds / 86_400).rounded(.down) * 86_400 - epochSeconds
        for (k, r) in decoded.reports.enumerated() {
            let at = "CAT048 report \(k) (SAC/SIC \(r.sac)/\(r.sic))"
            if r.detectionType == 0 || r.test || r.simulated || r.fieldMonitor { skipped += 1; continue }
            guard let (radar, s) = asterixRadars[UInt16(r.sac) << 8 | UInt16(r.sic)] else {
                problems.append("\(at): no radar of the briefing has this SAC/SIC (set sensors[i].sac and .sic)"); continue
            }
            guard let tod = r.timeOfDay else { problems.append("\(at): no I048/140 time of day"); continue }
            guard tod < 86_400 else { problems.append("\(at): I048/140 time of day \(tod) s is not within a day"); continue }
            guard let range = r.range, let az = r.azimuth, range > 0 else { problems.append("\(at): no I048/040 measured position"); continue }
            guard let height = r.height3D ?? (r.flightLevelValid ? r.flightLevel.map { $0 * 100 * Asterix.foot } : nil) else {
                problems.append("\(at): no height (I048/110, or a validated I048/090 flight level): the tracker needs a 3-D plot"); continue
            }
            var time = dayStart + tod
            while time - current > 43_200 { time -= 86_400 }
            while current - time > 43_200 { time += 86_400 }
            if let p = outsideWindow(time, now: current, timeField: "") { problems.append("\(at)\(p)"); continue }
            guard let el = Self.elevation(range: range, azimuth: az, height: height, radar: radar) else {
                problems.append("\(at): a height of \(Int(height)) m cannot be seen at \(Int(range)) m slant range"); continue
            }
            let rate = r.dopplerValid ? r.dopplerSpeed : nil
            battle.receive(Detection(id: nextID, time: time, sensor: s, z: Vector3(range, az, el), rangeRate: rate))
            nextID += 1
            accepted += 1
        }
        received += accepted
        // At most `Asterix.maxProblems` listed; the rest counted.
        var unlisted = decoded.unlistedProblems
        if problems.count > Asterix.maxProblems {
            unlisted += problems.count - Asterix.maxProblems
            problems.removeLast(problems.count - Asterix.maxProblems)
        }
        rejected += problems.count + unlisted
        asterixSkipped += skipped
        if accepted == 0 && !problems.isEmpty { asterixRejectedDatagrams += 1 }
        remember(problems, via: via)
        return (accepted, problems, skipped, unlisted)
    }

    /// A plot's elevation (rad) from its slant range, azimuth and height above the ellipsoid:
    /// the spherical-earth solution refined by Newton steps on the WGS-84 height of the point
    /// (AER → geodetic). Nil when no elevation reaches that height at that range.
    static func elevation(range: Double, azimuth: Double, height: Double, radar: Geodetic) -> Double? {
        let a = 6_371_000.0
        let rr = a + radar.height, rt = a + height
        let sine = (rt * rt - rr * rr - range * range) / (2 * rr * range)
        guard abs(sine) <= 1 else { return nil }
        var el = asin(sine)
        let frame = LocalFrame(origin: radar)
        for _ in 0..<6 {
            let h = frame.geodetic(aer: AER(azimuth: azimuth, elevation: el, range: range)).height
            // d(height)/d(el) ≈ range · cos(el) (the point moves along the local vertical).
            let step = (height - h) / max(range * cos(el), 1)
            el += step
            if abs(step) < 1e-9 { break }
        }
        guard el.isFinite && abs(el) <= .pi / 2 else { return nil }
        let h = frame.geodetic(aer: AER(azimuth: azimuth, elevation: el, range: range)).height
        return abs(h - height) < 1 ? el : nil
    }

    /// Why a detection at `time` cannot be taken now (the lock held), as the end of its problem
    /// (after the item's name), or nil: older than the tracker's out-of-sequence window before the
    /// last cycle (it could no longer be fused in order; counted as late), or more than 5 s ahead
    /// of the wall clock (named at `timeField` of the item).
    func outsideWindow(_ time: Double, now current: Double, timeField: String) -> String? {
        let window = battle.tracker.configuration.oosmWindow
        if time < lastCycle - window {
            late += 1
            return "\(timeField): \(String(format: "%.1f", lastCycle - time)) s older than the last cycle, beyond the tracker's \(Int(window)) s out-of-sequence window"
        }
        if autoTick && time > current + 5 { return "\(timeField): \(String(format: "%.1f", time - current)) s in the future" }
        return nil
    }

    var radarNames: String {
        battle.tracker.sensors.prefix(battle.firstAcousticSensor).map(\.name).joined(separator: ", ")
    }

    func statusJSON() -> String {
        lock.lock(); defer { lock.unlock() }
        var w = JSONWriter()
        w.beginObject()
        w.field("epoch", UTC.iso(epoch)); w.field("time", now, digits: 1)
        w.field("received", received); w.field("rejected", rejected); w.field("late", late)
        w.field("datagrams", datagrams); w.field("malformedDatagrams", malformedDatagrams)
        w.field("asterixMessages", asterixDatagrams); w.field("asterixReports", asterixReports)
        w.field("asterixRejectedMessages", asterixRejectedDatagrams); w.field("asterixSkipped", asterixSkipped)
        w.key("recentProblems"); w.beginArray()
        for p in recentProblems {
            w.beginObject(); w.field("at", UTC.iso(p.time)); w.field("via", p.via); w.field("problem", p.text); w.endObject()
        }
        w.endArray()
        w.field("tracks", battle.tracker.tracks.filter { $0.status == .confirmed }.count)
        w.key("radars"); w.beginArray(); for s in battle.tracker.sensors.prefix(battle.firstAcousticSensor) { w.string(s.name) }; w.endArray()
        w.key("recommendations"); w.beginArray(); for r in recommendations { w.raw(r) }; w.endArray()
        w.endObject()
        return w.text
    }
}

extension Double {
    /// An angle in [0, 2π) from one in (−2π, 2π).
    var magnitudeFixed: Double { self < 0 ? self + 2 * .pi : self }
}

/// ISO 8601 UTC times, with or without fractional seconds. The formatters are made once (a
/// formatter is costly to build, and a feed may carry a time on every detection); callers hold
/// the session's lock, so one thread uses them at a time.
enum ISO8601 {
    nonisolated(unsafe) static let fractional: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
    nonisolated(unsafe) static let whole: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f
    }()

    static func parse(_ s: String) -> Date? {
        fractional.date(from: s) ?? whole.date(from: s)
    }
}

/// Whether JSONSerialization read this number as true or false (a boolean's type is "c").
func isJSONBoolean(_ n: NSNumber) -> Bool { n.objCType.pointee == CChar(UInt8(ascii: "c")) }

/// A live session's event: its time, kind ("type") and JSON line.
struct LiveEvent: Sendable {
    var time: Double
    var kind: String
    var json: String
}

extension LiveSession {
    /// t to the tenth, as an event's line gives it.
    static func tenth(_ t: Double) -> Double { Double(String(format: "%.1f", t)) ?? t }
}
