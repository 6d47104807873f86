@testable import CanopyBattle
import CanopyCore
import CanopyTEWA
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CanopyServer

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let quickstart = root + "/examples/quickstart.yaml"

/// The live-ingest tests' target: a drone flying west at 50 m/s, 1.5 km up, east of Kyiv; as seen
/// at time t by a radar at `radar` (its polar position, and its true radial speed, positive receding).
func westboundDrone(_ t: Double, seenFrom radar: Geodetic) -> (aer: AER, rangeRate: Double) {
    func at(_ t: Double) -> Vector3 { WGS84.ecef(Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 31.6 - 50 * t / 71_000, height: 1500)) }
    let frame = LocalFrame(origin: radar)
    let target = at(t)
    let los = target - frame.originECEF
    return (AER(enu: frame.enu(ecef: target)), dot(los / norm(los), at(t + 0.5) - at(t - 0.5)))
}

/// A live radar item (JSON) of one plot: sensor, time, polar position (degrees) and radial speed.
func radarItem(_ sensor: String, _ t: Double, _ aer: AER, rangeRate: Double) -> String {
    "{\"kind\":\"radar\",\"sensor\":\"\(sensor)\",\"t\":\(t),\"range\":\(aer.range),\"azimuth\":\(degrees(aer.azimuth)),"
        + "\"elevation\":\(degrees(aer.elevation)),\"rangeRate\":\(rangeRate)}"
}

/// Feeds `live` the westbound drone as its first radar sees it, a plot every 5 s for `scans` scans
/// (radial speed off by `rateOffset`), ticking after each; `each` gets every ingest's result.
func feedWestboundDrone(_ live: LiveSession, scans: Int, rateOffset: Double = 0,
                        each: ((accepted: Int, problems: [String])) -> Void = { _ in }) {
    let radar = live.briefing.sensors[0]
    for k in 0..<scans {
        let t = Double(k) * 5
        let (aer, rate) = westboundDrone(t, seenFrom: radar.position)
        each(live.ingest(Data(radarItem(radar.id, t, aer, rangeRate: rate + rateOffset).utf8)))
        live.tick(at: t + 0.5)
    }
}

func tempDir(_ name: String) -> String {
    let d = NSTemporaryDirectory() + "canopy-server-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func settings(_ dir: String, token: String = "test-token") -> ServerSettings {
    var s = ServerSettings()
    s.dataDirectory = dir
    s.token = token
    s.port = 0
    s.speed = 0
    return s
}

func body(_ r: TestResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any] ?? [:]
}

let auth: HTTPFields = [.authorization: "Bearer test-token"]

/// Polls until the run has ended (or 60 s pass).
func waitForEnd(_ server: CanopyServer, _ id: Int64) async throws -> RunRecord {
    for _ in 0..<600 {
        if let r = try server.store.run(id), r.status != "running" { return r }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("run \(id) did not end within 60 s")
    return try server.store.run(id)!
}

@Suite("Server API", .timeLimit(.minutes(2)))  // a stalled run or stream fails the test, not CI
struct ServerAPITests {
    @Test("health, geography and the web map are served without a token")
    func reads() async throws {
        let server = try CanopyServer(settings: settings(tempDir("reads")))
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/health", method: .get) { r in
                #expect(r.status == .ok)
                #expect(body(r)["status"] as? String == "ok")
                #expect((body(r)["speed"] as? NSNumber)?.doubleValue == server.settings.speed)
            }
            try await client.execute(uri: "/api/geo/regions", method: .get) { r in
                #expect(r.status == .ok)
                let features = body(r)["features"] as? [Any]
                #expect(features?.count == 27)
            }
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("/vendor/leaflet/leaflet.js"))
            }
            try await client.execute(uri: "/app/app.js", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/app/..%2Fserver.swift", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/api/nothing", method: .get) { r in
                #expect(r.status == .notFound)
                #expect((body(r)["error"] as? String)?.contains("no such endpoint") == true)
            }
        }
    }

    @Test("writes need the token; a bad scenario is refused with each problem's field")
    func tokenAndValidation() async throws {
        let server = try CanopyServer(settings: settings(tempDir("token")))
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/runs", method: .post, body: ByteBuffer(string: "name: x")) { r in
                #expect(r.status == .unauthorized)
                #expect((body(r)["error"] as? String)?.contains("token") == true)
            }
            try await client.execute(uri: "/api/runs", method: .post, headers: [.authorization: "Bearer wrong"], body: ByteBuffer(string: "name: x")) { r in
                #expect(r.status == .unauthorized)
            }
            let bad = "name: bad\norigin: {lat: 50, lon: 30}\nfireUnits: 3\n"
            try await client.execute(uri: "/api/runs?file=bad.yaml", method: .post, headers: auth, body: ByteBuffer(string: bad)) { r in
                #expect(r.status == .unprocessableContent)
                let problems = body(r)["problems"] as? [[String: Any]] ?? []
                #expect(problems.contains { $0["field"] as? String == "fireUnits" })
            }
            try await client.execute(uri: "/api/runs?file=x.json", method: .post, headers: auth, body: ByteBuffer(string: "{not json")) { r in
                #expect(r.status == .unprocessableContent)
                #expect(!(body(r)["problems"] as? [Any] ?? []).isEmpty)
            }
            // Without a file name, the Content-Type decides: JSON with a trailing comma is refused
            // by the JSON reader, with its line and column (YAML's reader had taken it).
            var jsonAuth = auth
            jsonAuth[.contentType] = "application/json"
            try await client.execute(uri: "/api/runs?speed=0", method: .post, headers: jsonAuth,
                                     body: ByteBuffer(string: #"{"name": "x", "origin": {"lat": 50, "lon": 30,}}"#)) { r in
                #expect(r.status == .unprocessableContent)
                let problems = body(r)["problems"] as? [[String: Any]] ?? []
                #expect(problems.contains { ($0["message"] as? String ?? "").contains("trailing comma") }, "\(problems)")
            }
            try await client.execute(uri: "/api/runs?speed=fast", method: .post, headers: auth, body: ByteBuffer(string: "x: 1")) { r in
                #expect(r.status == .badRequest)
                #expect((body(r)["error"] as? String)?.contains("speed") == true)
            }
            // A pace slower than a thousandth had overflowed the pacing and stopped the server.
            for speed in ["1e-20", "-1", "2e6"] {
                try await client.execute(uri: "/api/runs?speed=\(speed)", method: .post, headers: auth, body: ByteBuffer(string: "x: 1")) { r in
                    #expect(r.status == .badRequest && (body(r)["error"] as? String)?.contains("from 0.001 to 1000000") == true, "\(speed)")
                }
            }
            // Larger than the limit: refused, not read into memory.
            let huge = ByteBuffer(repeating: UInt8(ascii: "#"), count: ServerSettings.maxBody + 1)
            try await client.execute(uri: "/api/runs", method: .post, headers: auth, body: huge) { r in
                #expect(r.status == .contentTooLarge)
            }
            try await client.execute(uri: "/api/runs", method: .get) { r in
                #expect((body(r)["runs"] as? [Any])?.isEmpty == true)
            }
            // Paging parameters: not a whole number, or below the least, is refused by name; a page
            // larger than the server serves is capped.
            for (query, name) in [("limit=abc", "limit"), ("limit=0", "limit"), ("limit=-1", "limit"), ("limit=1.5", "limit")] {
                try await client.execute(uri: "/api/runs?" + query, method: .get) { r in
                    #expect(r.status == .badRequest, "\(query)")
                    #expect((body(r)["error"] as? String)?.contains(name + " must be a whole number") == true, "\(query)")
                }
            }
            try await client.execute(uri: "/api/runs?limit=5000", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/runs?limit=99999999999999999999999", method: .get) { r in #expect(r.status == .ok) }
            // A known path with a method it does not take: 405 with the methods it does (was 404).
            for (path, method, allow) in [("/api/health", HTTPRequest.Method.post, "GET"), ("/api/runs/1", .put, "GET, DELETE"),
                                          ("/api/runs", .delete, "GET, POST"), ("/api/live/detections", .get, "POST")] {
                try await client.execute(uri: path, method: method) { r in
                    #expect(r.status == .methodNotAllowed && r.headers[.allow] == allow, "\(method) \(path): \(r.status)")
                    #expect((body(r)["error"] as? String)?.contains("not allowed") == true)
                }
            }
            try await client.execute(uri: "/api/nothing", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/api/alerts?history=maybe", method: .get) { r in
                #expect(r.status == .badRequest && (body(r)["error"] as? String)?.contains("history must be true or false") == true)
            }
        }
    }

    @Test("a run of the quickstart: created, finished, its summary, events, tracks, frames and alerts served and stored")
    func runLifecycle() async throws {
        let dir = tempDir("run")
        let server = try CanopyServer(settings: settings(dir))
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
        let box = MessageLog()
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/runs?file=quickstart.yaml&speed=0&seed=7", method: .post, headers: auth, body: ByteBuffer(string: text)) { r in
                #expect(r.status == .created)
                box.add(String(body(r)["id"] as? Int ?? 0))
                #expect(body(r)["seed"] as? String == "7")
            }
        }
        let id = Int64(box.items.first ?? "0") ?? 0
        try await server.makeApplication().test(.router) { client in
            let run = try await waitForEnd(server, id)
            #expect(run.status == "finished")
            try await client.execute(uri: "/api/runs/\(id)", method: .get) { r in
                let summary = body(r)["summary"] as? [String: Any]
                #expect(summary != nil)
            }
            try await client.execute(uri: "/api/runs/\(id)/events?type=launch", method: .get) { r in
                let events = body(r)["events"] as? [[String: Any]] ?? []
                #expect(events.count == 6)   // five Shaheds and one Kh-101
                #expect(events.allSatisfy { $0["type"] as? String == "launch" })
            }
            try await client.execute(uri: "/api/runs/\(id)/events?format=ndjson", method: .get) { r in
                #expect(r.headers[.contentType] == "application/x-ndjson")
                #expect(String(buffer: r.body).split(separator: "\n").count > 20)
            }
            try await client.execute(uri: "/api/runs/\(id)/tracks", method: .get) { r in
                #expect(!(body(r)["tracks"] as? [Any] ?? []).isEmpty)
            }
            var times: [Double] = []
            try await client.execute(uri: "/api/runs/\(id)/frames", method: .get) { r in
                times = (body(r)["times"] as? [NSNumber] ?? []).map(\.doubleValue)
                #expect(times.count > 10)
                #expect(times == times.sorted())
            }
            try await client.execute(uri: "/api/runs/\(id)/frames?from=\(times[5])&to=\(times[7])", method: .get) { r in
                let frames = body(r)["frames"] as? [[String: Any]] ?? []
                #expect(frames.count == 3)
                #expect((frames.first?["fireUnits"] as? [Any])?.count == 5)
            }
            // Some frame of the raid shows confirmed tracks with a class and a predicted path.
            try await client.execute(uri: "/api/runs/\(id)/frames?from=0&to=1e9&limit=1000", method: .get) { r in
                let frames = body(r)["frames"] as? [[String: Any]] ?? []
                let tracks = frames.flatMap { $0["tracks"] as? [[String: Any]] ?? [] }
                #expect(!tracks.isEmpty)
                #expect(tracks.contains { ($0["path"] as? [Any])?.count ?? 0 > 1 && $0["class"] as? String != "unknown" })
            }
            try await client.execute(uri: "/api/runs/\(id)/events?format=ndjson&limit=100000", method: .get) { r in
                // In time order, as canopy simulate writes them (a late report's events had come
                // after later ones).
                let times = String(buffer: r.body).split(separator: "\n").compactMap { line in
                    ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["t"] as? Double
                }
                #expect(times.count > 20 && times == times.sorted())
            }
            // Parameters it does not know the value of are refused, not passed over.
            for (query, words) in [("events?format=xml", "format must be json or ndjson"), ("events?type=launch,nonsense", "'nonsense' is no kind of event"),
                                   ("frames?limit=0", "limit must be a whole number")] {
                try await client.execute(uri: "/api/runs/\(id)/" + query, method: .get) { r in
                    #expect(r.status == .badRequest && (body(r)["error"] as? String)?.contains(words) == true, "\(query): \(String(buffer: r.body))")
                }
            }
            try await client.execute(uri: "/api/runs/\(id)/alerts", method: .get) { r in
                let alerts = body(r)["alerts"] as? [[String: Any]] ?? []
                box.add(alerts.map { "\($0["region_id"] ?? "") \($0["started_at"] ?? "") \($0["finished_at"] ?? "")" }.joined(separator: ";"))
                #expect(!alerts.isEmpty)
                for a in alerts {
                    #expect(a["alert_type"] as? String == "air_raid")
                    #expect((a["region_id"] as? String)?.hasPrefix("UA-") == true)
                    #expect((a["started_at"] as? String)?.hasSuffix("Z") == true)
                    #expect(a["finished_at"] is String)   // the run is over: every alert has ended
                }
            }
            try await client.execute(uri: "/api/runs/\(id)", method: .delete) { r in #expect(r.status == .unauthorized) }
        }
        // The store outlives the server: a new server on the same directory has the run, its
        // events and frames.
        let again = try CanopyServer(settings: settings(dir))
        let stored = try #require(try again.store.run(id))
        #expect(stored.status == "finished")
        #expect(try again.store.eventCount(id) > 20)
        #expect(try again.store.frameTimes(id).count > 10)
        #expect(try again.store.trackRows(id).count == (try server.store.trackRows(id).count))
        try await again.makeApplication().test(.router) { client in
            // Its alerts, rebuilt from the stored events, are those the first server served.
            try await client.execute(uri: "/api/runs/\(id)/alerts", method: .get) { r in
                #expect(r.status == .ok)
                let alerts = body(r)["alerts"] as? [[String: Any]] ?? []
                let text = alerts.map { "\($0["region_id"] ?? "") \($0["started_at"] ?? "") \($0["finished_at"] ?? "")" }.joined(separator: ";")
                #expect(!alerts.isEmpty && text == box.items.last, "\(text)\n\(box.items.last ?? "")")
            }
            try await client.execute(uri: "/api/runs/\(id)", method: .delete, headers: auth) { r in #expect(r.status == .noContent) }
            try await client.execute(uri: "/api/runs/\(id)", method: .get) { r in #expect(r.status == .notFound) }
        }
        // Nothing of the run is left behind.
        #expect(try again.store.eventCount(id) == 0)
        #expect(try again.store.frameTimes(id).isEmpty)
        #expect(try again.store.trackRows(id).isEmpty)
    }

    @Test("a run's track rows are stored while it runs, not only when it ends")
    func rowsAsTheyCome() async throws {
        let dir = tempDir("rows")
        let server = try CanopyServer(settings: settings(dir))
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
        // ×500: the first confirmed track at about 3,000 simulated seconds, 6 s into the run.
        let run = try server.runs.start(text: text, fileName: "quickstart.yaml", seed: 7, speed: 500)
        var rowsWhileRunning = 0
        for _ in 0..<400 {
            try await Task.sleep(for: .milliseconds(50))
            let rows = try server.store.trackRows(run.id).count
            guard try server.store.run(run.id)?.status == "running" else { break }
            if rows > 0 { rowsWhileRunning = rows; break }
        }
        #expect(server.runs.cancel(run.id))
        _ = try await waitForEnd(server, run.id)
        #expect(rowsWhileRunning > 0, "no track row was stored while the run was going")
        // The rows stored when it ended continue those, none twice.
        let rows = try server.store.trackRows(run.id)
        #expect(rows.count >= rowsWhileRunning && Set(rows).count == rows.count)
    }

    @Test("events: in time order for an ended run, in the order stored while it runs (stable pages)")
    func eventOrder() throws {
        let store = try RunStore(directory: tempDir("order"))
        let r = try store.createRun(name: "x", source: "simulation", seed: 1, speed: 1, scenarioFile: "x.yaml", scenarioText: "")
        // A late report's event (t = 5) stored after a later one (t = 9).
        try store.append(r.id, events: [(1, "launch", "{\"t\":1}"), (9, "launch", "{\"t\":9}")], firstSeq: 0, frame: nil, simulatedTime: 9)
        try store.append(r.id, events: [(5, "launch", "{\"t\":5}")], firstSeq: 2, frame: nil, simulatedTime: 10)
        #expect(try store.events(r.id) == ["{\"t\":1}", "{\"t\":5}", "{\"t\":9}"])
        #expect(try store.events(r.id, byTime: false) == ["{\"t\":1}", "{\"t\":9}", "{\"t\":5}"])
        // Pages of the stored order neither repeat nor skip as events come in between them; pages
        // in time order would (the event at 5 s twice here).
        let first = try store.events(r.id, limit: 2, offset: 0, byTime: false)
        let firstByTime = try store.events(r.id, limit: 2, offset: 0)
        try store.append(r.id, events: [(3, "launch", "{\"t\":3}")], firstSeq: 3, frame: nil, simulatedTime: 11)
        let pages = try first + store.events(r.id, limit: 10, offset: 2, byTime: false)
        #expect(pages == ["{\"t\":1}", "{\"t\":9}", "{\"t\":5}", "{\"t\":3}"])
        let pagesByTime = try firstByTime + store.events(r.id, limit: 10, offset: 2)
        #expect(pagesByTime.filter { $0 == "{\"t\":5}" }.count == 2)
    }

    @Test("a run going when the server stops is marked interrupted on restart")
    func interrupted() throws {
        let dir = tempDir("interrupted")
        let store = try RunStore(directory: dir)
        let r = try store.createRun(name: "x", source: "simulation", seed: 1, speed: 1, scenarioFile: "x.yaml", scenarioText: "")
        try store.markStarted(r.id, at: Date())
        let reopened = try RunStore(directory: dir)
        #expect(try reopened.run(r.id)?.status == "interrupted")
    }

    @Test("the token is generated once and kept in the data directory")
    func tokenKept() throws {
        let dir = tempDir("tokenfile")
        var s = settings(dir)
        s.token = nil
        let a = try CanopyServer(settings: s)
        let b = try CanopyServer(settings: s)
        #expect(a.token.count == 48)
        #expect(a.token == b.token)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/token")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }
}

@Suite("Picture stream", .timeLimit(.minutes(2)))
struct PictureStreamTests {
    func picture(_ t: Double, tracks: [Int]) -> Picture {
        Picture(time: t, tracks: tracks.map { id in
            Picture.TrackView(id: id, threatClass: "drone", classProbabilities: [], latitude: 50 + t * 1e-3, longitude: 30, altitude: 100,
                              course: 90, speed: 50, climb: 0, sigmaHorizontal: 100, sigmaVertical: 50, aimAsset: nil,
                              aimLatitude: 50, aimLongitude: 30, timeToImpact: nil, valueAtRisk: 0, rank: 1, engagedBy: nil,
                              predicted: [], lastUpdate: t)
        }, fireUnits: [], engagements: [], regions: [
            Picture.RegionView(id: "UA-30", name: "Kyiv", alert: t >= 2, since: t >= 2 ? 2 : nil, expectedImpact: nil),
        ])
    }

    @Test("deltas carry only what changed, and removals")
    func deltas() throws {
        var d = PictureDiffer()
        let first = try JSONSerialization.jsonObject(with: Data(d.delta(picture(0, tracks: [1, 2]), events: [], status: "running").utf8)) as! [String: Any]
        #expect(((first["tracks"] as! [String: Any])["upsert"] as! [Any]).count == 2)
        let same = try JSONSerialization.jsonObject(with: Data(d.delta(picture(0, tracks: [1, 2]), events: [], status: "running").utf8)) as! [String: Any]
        #expect(((same["tracks"] as! [String: Any])["upsert"] as! [Any]).isEmpty)
        #expect(((same["regions"] as! [String: Any])["upsert"] as! [Any]).isEmpty)
        let next = try JSONSerialization.jsonObject(with: Data(d.delta(picture(3, tracks: [2, 3]), events: ["{\"t\":3,\"type\":\"x\"}"], status: "running").utf8)) as! [String: Any]
        let t = next["tracks"] as! [String: Any]
        #expect((t["upsert"] as! [[String: Any]]).map { $0["id"] as! Int } == [2, 3])
        #expect(t["remove"] as! [String] == ["1"])
        #expect(((next["regions"] as! [String: Any])["upsert"] as! [[String: Any]]).first?["alert"] as? Bool == true)
        #expect((next["events"] as! [Any]).count == 1)
        let snap = try JSONSerialization.jsonObject(with: Data(d.snapshot(status: "running", recentEvents: []).utf8)) as! [String: Any]
        #expect((snap["tracks"] as! [Any]).count == 2)
    }

    @Test("the picture carries the defence's radars and acoustic networks, sent once in a stream's deltas and in every stored frame")
    func sensorsInPicture() throws {
        let live = try LiveSession(briefingPath: quickstart, autoTick: false)
        defer { live.stop() }
        let p = live.battle.picture(now: 0)
        // The quickstart: two radars and one acoustic network (its nodes counted, not listed).
        #expect(p.sensors.map(\.id) == ["R-medium-Kyiv-E", "R-short-Kyiv-E", "A-Kyiv"])
        let radar = try #require(p.sensors.first)
        #expect(radar.kind == "radar" && radar.type == "radar-medium" && abs(radar.latitude - 50.30) < 1e-9 && radar.maxRange == 250_000)
        let net = try #require(p.sensors.last)
        #expect(net.kind == "acoustic-network" && net.maxRange == 40_000 && net.nodes > 50 && abs(net.longitude - 30.52) < 1e-9)
        let full = try JSONSerialization.jsonObject(with: Data(PictureDiffer.full(p).utf8)) as! [String: Any]
        let listed = try #require(full["sensors"] as? [[String: Any]])
        #expect(listed.map { $0["id"] as? String } == ["R-medium-Kyiv-E", "R-short-Kyiv-E", "A-Kyiv"])
        #expect(listed[2]["nodes"] as? Int == net.nodes && listed[0]["maxRange"] as? Int == 250_000)
        var d = PictureDiffer()
        let first = try JSONSerialization.jsonObject(with: Data(d.delta(p, events: [], status: "live").utf8)) as! [String: Any]
        #expect(((first["sensors"] as! [String: Any])["upsert"] as! [Any]).count == 3)
        let later = try JSONSerialization.jsonObject(with: Data(d.delta(live.battle.picture(now: 5), events: [], status: "live").utf8)) as! [String: Any]
        #expect(((later["sensors"] as! [String: Any])["upsert"] as! [Any]).isEmpty)
        let snap = try JSONSerialization.jsonObject(with: Data(d.snapshot(status: "live", recentEvents: []).utf8)) as! [String: Any]
        #expect((snap["sensors"] as! [Any]).count == 3)
    }

    @Test("a subscriber that falls behind is dropped; the others get every message")
    func slowSubscriberDropped() async throws {
        let channel = PictureChannel(name: "t", epoch: Date(), queueLimit: 4)
        let slow = channel.subscribe()
        let fast = channel.subscribe()
        var received = 0
        let reader = Task { var n = 0; for await _ in fast.stream { n += 1 }; return n }
        for k in 0..<10 {
            channel.publish(picture(Double(k), tracks: [1]), events: [], status: "running")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(channel.subscribersDropped == 1)
        #expect(channel.subscriberCount == 1)
        channel.close(status: "finished")
        received = await reader.value
        #expect(received == 12)   // the opening status, ten deltas, the closing status
        var slowCount = 0
        for await _ in slow.stream { slowCount += 1 }
        #expect(slowCount == 4)   // what its queue held when it was dropped
    }

    @Test("a track's class probabilities leave out those that print as 0, and Kyiv's alert is a city's")
    func probabilitiesAndCity() {
        var p = picture(5, tracks: [7])
        p.tracks[0].classProbabilities = [.init(threatClass: "cruise", probability: 0.9996), .init(threatClass: "drone", probability: 0.0004)]
        let text = PictureJSON.track(p.tracks[0])
        #expect(text.contains("\"probabilities\":{\"cruise\":1") && !text.contains("\"drone\":0"), "\(text)")
        let channel = PictureChannel(name: "t", epoch: Date(timeIntervalSince1970: 1_800_000_000))
        channel.publish(picture(2, tracks: []), events: [], status: "running")
        #expect(alertsJSON(channel, activeOnly: false).contains("\"region_id\":\"UA-30\",\"region_name\":\"Kyiv\",\"location_type\":\"city\""))
    }

    @Test("alert episodes: on with its start, off with its end")
    func episodes() {
        let channel = PictureChannel(name: "t", epoch: Date(timeIntervalSince1970: 1_800_000_000))
        let on = channel.publish(picture(2, tracks: []), events: [], status: "running")
        #expect(on.count == 1 && on[0].finished == nil && on[0].started == 2)
        var p = picture(9, tracks: [])
        p.regions[0].alert = false
        let off = channel.publish(p, events: [], status: "running")
        #expect(off.count == 1 && off[0].finished == 9)
        let json = alertsJSON(channel, activeOnly: false)
        #expect(json.contains("\"started_at\":\"2027-01-15T08:00:02.000Z\""))
        #expect(json.contains("\"finished_at\":\"2027-01-15T08:00:09.000Z\""))
        #expect(alertsJSON(channel, activeOnly: true).contains("\"alerts\":[]"))
        // A run at ×30 compresses its times: its alert at simulated 60 s began 2 s after its start,
        // not a minute (the alerts of a ×30 quickstart were stamped an hour after it had finished).
        var late = picture(60, tracks: [])
        late.regions[0].since = 60
        let fast = PictureChannel(name: "f", epoch: Date(timeIntervalSince1970: 1_800_000_000), speed: 30)
        fast.publish(late, events: [], status: "running")
        #expect(alertsJSON(fast, activeOnly: false).contains("\"started_at\":\"2027-01-15T08:00:02.000Z\""))
        // As fast as possible (speed 0): simulated seconds from the start.
        let unpaced = PictureChannel(name: "u", epoch: Date(timeIntervalSince1970: 1_800_000_000), speed: 0)
        unpaced.publish(late, events: [], status: "running")
        #expect(alertsJSON(unpaced, activeOnly: false).contains("\"started_at\":\"2027-01-15T08:01:00.000Z\""))
    }
}

@Suite("Live server", .timeLimit(.minutes(2)))
struct LiveServerTests {
    @Test("WebSocket: a snapshot, then deltas about once a second, then the end")
    func webSocketStream() async throws {
        var s = settings(tempDir("ws"))
        s.speed = 30
        let server = try CanopyServer(settings: s)
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
        // Slow enough (5 minutes) that a loaded machine cannot finish it before the client joins.
        let run = try server.runs.start(text: text, fileName: "quickstart.yaml", speed: 30)
        try await server.makeApplication().test(.live) { client in
            let port = client.port!
            let messages = MessageLog()
            _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws?run=\(run.id)", configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "test")) { inbound, _, _ in
                var n = 0
                for try await frame in inbound.messages(maxSize: 1 << 24) {
                    if case .text(let t) = frame { messages.add(t) }
                    n += 1
                    if n >= 4 { break }
                }
            }
            let all = messages.items
            try #require(all.count == 4)
            let first = try JSONSerialization.jsonObject(with: Data(all[0].utf8)) as? [String: Any]
            #expect(first?["type"] as? String == "snapshot" || first?["type"] as? String == "status")
            let second = try JSONSerialization.jsonObject(with: Data(all[1].utf8)) as? [String: Any]
            #expect(second?["type"] as? String == "delta")
            #expect((second?["tracks"] as? [String: Any])?["upsert"] != nil)
        }
        _ = server.runs.cancel(run.id)
    }

    @Test("WebSocket: a stream that is over is closed by the server; refusals are JSON errors")
    func webSocketEnds() async throws {
        let server = try CanopyServer(settings: settings(tempDir("wsend")))
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
        let run = try server.runs.start(text: text, fileName: "quickstart.yaml", speed: 0)
        _ = try await waitForEnd(server, run.id)
        try await server.makeApplication().test(.live) { client in
            // A bare client (RawWebSocket.swift): NIO's can lose frames that come in one read with
            // the 101 and the server's end of output, which is how a finished stream is sent.
            let started = ContinuousClock.now
            let r = await rawWebSocket(port: client.port!, path: "/api/ws?run=\(run.id)")
            #expect(r.status.contains("101") && r.error == nil, "\(r)")
            #expect(ContinuousClock.now - started < .seconds(10))
            // One message, the finished run's picture; or, when the client joined between the run's
            // end in the store and its channel's close, that picture and then the closing status.
            #expect((1...2).contains(r.texts.count) && r.texts.last?.contains("finished") == true, "\(r.texts.map { $0.prefix(200) })")
            #expect(r.closeCode == 1000)
        }
        try await server.makeApplication().test(.router) { client in
            for (query, status, words) in [("run=999", HTTPResponse.Status.notFound, "no run 999"), ("run=abc", .badRequest, "whole number"),
                                           ("live", .notFound, "no live session"), ("", .badRequest, "?run=ID")] {
                try await client.execute(uri: "/api/ws?" + query, method: .get) { r in
                    #expect(r.status == status, "\(query)")
                    #expect((body(r)["error"] as? String)?.contains(words) == true, "\(query): \(String(buffer: r.body))")
                }
            }
            // A stream that could be opened, asked for without an upgrade: 426, not an empty 200.
            try await client.execute(uri: "/api/ws?run=\(run.id)", method: .get) { r in
                #expect(r.status == .upgradeRequired && (body(r)["error"] as? String)?.contains("WebSocket") == true)
            }
            // A deleted run is gone from memory too: its stream cannot be opened.
            try await client.execute(uri: "/api/runs/\(run.id)", method: .delete, headers: auth) { r in #expect(r.status == .noContent) }
            #expect(server.runs.channel(run.id) == nil)
            try await client.execute(uri: "/api/ws?run=\(run.id)", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test("a live session is stored as a run: its events, frames and time, finished when the server stops")
    func liveRecorded() async throws {
        let dir = tempDir("liverec")
        let store = try RunStore(directory: dir)
        let live = try LiveSession(briefingPath: quickstart, autoTick: false)
        defer { live.stop() }
        let recorder = try LiveRecorder(store: store, session: live, briefingPath: quickstart, frameInterval: 10)
        live.onRecord = { picture, events, changes in recorder.record(picture, events: events, alertChanges: changes) }
        let run = try #require(try store.run(recorder.runID))
        #expect(run.source == "live" && run.status == "running" && run.name.hasPrefix("Live: "))
        feedWestboundDrone(live, scans: 12)
        recorder.drain()
        let events = try store.events(recorder.runID)
        #expect(events.contains { $0.contains("\"type\":\"track_confirm\"") }, "\(events)")
        let times = try store.frameTimes(recorder.runID)
        #expect(times.count >= 5 && times == times.sorted(), "\(times)")
        #expect(try store.run(recorder.runID)?.simulatedTime ?? 0 > 50)
        // The frames are pictures a replay can show: the drone's track is in the last.
        let last = try #require(try store.frames(recorder.runID, from: times.last!, to: times.last!).first)
        #expect(last.contains("\"tracks\":[{"), "\(last.prefix(300))")
        recorder.finish()
        // Finished, and so it stays when the store is opened again (not "interrupted").
        #expect(try RunStore(directory: dir).run(recorder.runID)?.status == "finished")

        // Through the server: the live run is listed, cannot be deleted while it goes, and is
        // finished when the server stops.
        var s = settings(tempDir("liverun"))
        s.liveBriefing = quickstart
        let server = try CanopyServer(settings: s)
        #expect(server.liveRunID == nil)   // stored once the server listens
        try server.startLiveRecording()
        let id = try #require(server.liveRunID)
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/runs", method: .get) { r in
                let runs = body(r)["runs"] as? [[String: Any]] ?? []
                #expect(runs.contains { $0["source"] as? String == "live" && $0["status"] as? String == "running" })
            }
            try await client.execute(uri: "/api/runs/\(id)", method: .delete, headers: auth) { r in #expect(r.status == .conflict) }
            try await client.execute(uri: "/api/runs/\(id)/alerts", method: .get) { r in #expect(r.status == .ok) }
        }
        server.stopLive()
        #expect(try server.store.run(id)?.status == "finished")
    }

    @Test("live ingest: a radar's plots whose radial speeds contradict their motion make no track; with the true ones, one")
    func liveIngestRadialSpeed() throws {
        // The drone of `liveIngest`, its plots' radial speeds 300 m/s off (or not).
        func tracks(offset: Double) throws -> Int {
            let live = try LiveSession(briefingPath: quickstart, autoTick: false)
            feedWestboundDrone(live, scans: 12, rateOffset: offset) { #expect($0.accepted == 1) }
            return try #require(live.channel.latest).tracks.count
        }
        #expect(try tracks(offset: 0) == 1)
        #expect(try tracks(offset: 300) == 0)
    }

    @Test("live ingest: a planner of the user's recommends the engagements in place of the built-in assigner")
    func livePlanner() throws {
        // A drone flying west past Kyiv's defences: the built-in assigner recommends engaging it;
        // a planner that holds fire is asked each cycle and recommends nothing.
        final class Asked: EngagementPlanner, @unchecked Sendable {
            var cycles = 0, withTargets = 0
            func plan(_ s: EngagementSituation) -> [EngagementPlan] {
                cycles += 1
                if !s.engageable.isEmpty { withTargets += 1 }
                return []
            }
        }
        func recommendations(_ planner: Asked?) throws -> Int {
            let live = try LiveSession(briefingPath: quickstart, autoTick: false, planner: planner)
            feedWestboundDrone(live, scans: 120)
            return live.recommendations.count
        }
        let asked = Asked()
        #expect(try recommendations(nil) > 0)
        #expect(try recommendations(asked) == 0)
        #expect(asked.cycles > 50 && asked.withTargets > 0, "asked \(asked.cycles) times, \(asked.withTargets) with a track to engage")
    }

    @Test("live ingest: radar plots of a target make a confirmed track; bad items are named")
    func liveIngest() throws {
        let live = try LiveSession(briefingPath: quickstart, autoTick: false)
        // A drone flying west at 50 m/s, 1.5 km up, seen by the medium radar every 5 s.
        let radar = live.briefing.sensors[0]
        var sent = 0
        // With its true radial speed (the medium radar measures radial speed).
        feedWestboundDrone(live, scans: 24) { r in
            #expect(r.accepted == 1, "\(r.problems)")
            sent += r.accepted
        }
        #expect(sent == 24)
        let picture = try #require(live.channel.latest)
        #expect(picture.tracks.count == 1)
        let trk = try #require(picture.tracks.first)
        #expect(abs(trk.speed - 50) < 10)
        #expect(abs(trk.course - 270) < 10)

        let bad = live.ingest(Data("""
            {"detections": [{"kind": "radar", "sensor": "nope", "range": 1, "azimuth": 0, "elevation": 0},
                            {"kind": "sonar"}, {"kind": "citizen", "lat": 50.4, "lon": 30.5},
                            {"kind": "acoustic", "sensor": "R-medium-Kyiv-E", "bearing": 10}, 7]}
            """.utf8))
        #expect(bad.accepted == 0)
        #expect(bad.problems.count == 5)
        #expect(bad.problems[0].hasPrefix("detections[0].sensor"))
        #expect(bad.problems[1].contains("must be radar, acoustic or citizen"))
        #expect(bad.problems[2].contains("bearing"))
        #expect(bad.problems[3].hasPrefix("detections[3].sensor"))
        #expect(bad.problems[4].hasPrefix("detections[4]: must be an object"))
        #expect(live.ingest(Data("{oops".utf8)).problems.first?.hasPrefix("malformed JSON") == true)
        let badRate = live.ingest(Data("{\"kind\":\"radar\",\"sensor\":\"\(radar.id)\",\"t\":115.5,\"range\":5000,\"azimuth\":1,\"elevation\":1,\"rangeRate\":\"fast\"}".utf8))
        #expect(badRate.accepted == 0 && badRate.problems.first?.hasPrefix("detections[0].rangeRate: radial speed in m/s") == true, "\(badRate.problems)")
        // Each refusal names the field and what was given; values beyond a turn, unknown fields
        // and two times are refused (they had been taken without a word, or named wrongly).
        let sensor = "\"sensor\":\"\(radar.id)\",\"t\":115.5"
        for (item, expected) in [
            ("{\"kind\":\"radar\",\(sensor),\"range\":4500000,\"azimuth\":1,\"elevation\":1}", "detections[0].range: metres, a number above 0 and below 2000000, required (got 4500000)"),
            ("{\"kind\":\"radar\",\(sensor),\"range\":\"45000\",\"azimuth\":1,\"elevation\":1}", "detections[0].range: metres, a number above 0 and below 2000000, required (got \"45000\", a string)"),
            ("{\"kind\":\"radar\",\(sensor),\"range\":45000,\"azimuth\":400,\"elevation\":1}", "detections[0].azimuth: degrees from north, a number from -360 to 360, required (got 400)"),
            ("{\"kind\":\"radar\",\(sensor),\"range\":45000,\"azimuth\":true,\"elevation\":1}", "detections[0].azimuth: degrees from north, a number from -360 to 360, required (got a boolean)"),
            ("{\"kind\":\"radar\",\(sensor),\"range\":45000,\"azimuth\":1,\"elevation\":1,\"extra\":1}", "detections[0].extra: unknown field of a radar detection (allowed: kind, sensor, time, t, range"),
            ("{\"kind\":\"radar\",\(sensor),\"time\":\"2026-01-01T00:00:00Z\",\"range\":45000,\"azimuth\":1,\"elevation\":1}", "detections[0].time: give time or t, not both"),
            ("{\"kind\":\"citizen\",\"t\":115.5,\"lat\":95,\"lon\":30,\"bearing\":10}", "detections[0].lat: the observer's latitude, degrees from -90 to 90, required (got 95)"),
            ("{\"kind\":\"citizen\",\"t\":115.5,\"lat\":50,\"lon\":30,\"bearing\":720}", "detections[0].bearing: degrees from north, a number from -360 to 360, required (got 720)"),
        ] {
            let r = live.ingest(Data(item.utf8))
            #expect(r.accepted == 0 && r.problems.first?.hasPrefix(expected) == true, "\(item): \(r.problems)")
        }
        // UTC times, with and without fractions; a bad one is named.
        // (The session's clock is manual here: a time near its last cycle, 115.5 s after its epoch.)
        let at = ISO8601.whole.string(from: live.epoch.addingTimeInterval(115)).replacingOccurrences(of: "Z", with: ".5Z")
        let utc = live.ingest(Data("[{\"kind\":\"citizen\",\"lat\":50.4,\"lon\":30.5,\"bearing\":90,\"time\":\"\(at)\"}, {\"kind\":\"citizen\",\"lat\":50.4,\"lon\":30.5,\"bearing\":90,\"time\":\"yesterday\"}]".utf8))
        #expect(utc.accepted == 1)
        #expect(utc.problems.count == 1 && utc.problems[0].hasPrefix("detections[1].time: must be UTC"), "\(utc.problems)")
        // A citizen report may name its network; an unknown one is named with those the briefing has.
        let named = live.ingest(Data("[{\"kind\":\"citizen\",\"lat\":50.4,\"lon\":30.5,\"bearing\":90,\"t\":115.5,\"network\":\"C-Kyiv-east\"}, {\"kind\":\"citizen\",\"lat\":50.4,\"lon\":30.5,\"bearing\":90,\"t\":115.5,\"network\":\"C-Lviv\"}]".utf8))
        #expect(named.accepted == 1)
        #expect(named.problems == ["detections[1].network: must name a citizen network of the briefing (C-Kyiv-east)"], "\(named.problems)")
        // Older than the out-of-sequence window: refused and counted, not applied out of order.
        let late = live.ingest(Data("{\"kind\":\"radar\",\"sensor\":\"\(radar.id)\",\"t\":0,\"range\":5000,\"azimuth\":1,\"elevation\":1}".utf8))
        #expect(late.accepted == 0 && late.problems[0].contains("out-of-sequence window"))
    }

    @Test("webhook: every alert change of a run is POSTed, on then off, in the alert-API shape")
    func webhook() async throws {
        let received = MessageLog()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let b = try await request.body.collect(upTo: 1 << 20)
            received.add(String(buffer: b))
            return .ok
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { client in
            var s = settings(tempDir("hook"))
            s.webhooks = ["http://127.0.0.1:\(client.port!)/hook"]
            let server = try CanopyServer(settings: s)
            let run = try server.runs.start(text: try String(contentsOfFile: quickstart, encoding: .utf8), fileName: "quickstart.yaml", speed: 0)
            _ = try await waitForEnd(server, run.id)
            let episodes = try #require(server.runs.channel(run.id)?.alertEpisodes)
            // Deliveries are asynchronous: wait until each has succeeded or failed (a loaded
            // machine can take seconds).
            for _ in 0..<1200 where server.webhooks.sent + server.webhooks.failed < 2 * episodes.count {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(server.webhooks.failed == 0)
            let posts = received.items.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(!episodes.isEmpty)
            #expect(posts.count == 2 * episodes.count)
            #expect(posts.filter { $0["event"] as? String == "alert_on" }.count == episodes.count)
            #expect(posts.allSatisfy { ($0["alert"] as? [String: Any])?["alert_type"] as? String == "air_raid" })
            #expect(posts.allSatisfy { $0["source"] as? String == "run-\(run.id)" })
        }
    }

    @Test("live ingest over UDP: a good datagram is taken, a malformed one counted and dropped")
    func liveUDP() async throws {
        // A free UDP port: bind to 0 and read it back.
        let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) } }
        close(probe)
        let port = Int(UInt16(bigEndian: a.sin_port))
        let live = try LiveSession(briefingPath: quickstart, udpPort: port, autoTick: false)
        defer { live.stop() }
        func send(_ text: String) {
            let bytes = Array(text.utf8)
            let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(s)
        }
        send("{\"kind\":\"radar\",\"sensor\":\"R-medium-Kyiv-E\",\"t\":0,\"range\":40000,\"azimuth\":80,\"elevation\":2}")
        send("\u{00}\u{ff}garbage")
        send("{\"kind\":\"radar\",\"sensor\":\"R-nowhere\",\"t\":0,\"range\":40000,\"azimuth\":80,\"elevation\":2}")
        for _ in 0..<100 {
            if live.statusJSON().contains("\"datagrams\":3") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let status = try JSONSerialization.jsonObject(with: Data(live.statusJSON().utf8)) as! [String: Any]
        #expect(status["datagrams"] as? Int == 3)
        #expect(status["malformedDatagrams"] as? Int == 2)
        #expect(status["received"] as? Int == 1)
        // Why each was dropped is kept (a UDP sender gets no answer).
        let recent = status["recentProblems"] as? [[String: Any]] ?? []
        #expect(recent.count == 2 && recent.allSatisfy { $0["via"] as? String == "udp" }, "\(recent)")
        #expect((recent.last?["problem"] as? String)?.contains("detections[0].sensor: must name a radar of the briefing") == true, "\(recent)")
    }

    @Test("CoT: one clean event per track, types by class")
    func cotEvents() throws {
        let t = Picture.TrackView(id: 42, threatClass: "cruise", classProbabilities: [], latitude: 50.4501, longitude: 30.5234, altitude: 1500,
                                  course: 275, speed: 250, climb: -6.5, sigmaHorizontal: 150, sigmaVertical: 200, aimAsset: "Kyiv <centre>",
                                  aimLatitude: 50.45, aimLongitude: 30.52, timeToImpact: 120, valueAtRisk: 1, rank: 1, engagedBy: nil,
                                  predicted: [], lastUpdate: 0)
        let xml = CoTOut.event(track: t, source: "live", now: Date(timeIntervalSince1970: 1_800_000_000.504), stale: 15)
        #expect(xml.hasPrefix("<event version=\"2.0\" uid=\"canopy.live.trk.00042\" type=\"a-h-A-W-M-L\" how=\"m-f\" time=\"2027-01-15T08:00:00.504Z\""))
        #expect(xml.contains("stale=\"2027-01-15T08:00:15.504Z\""))
        #expect(xml.contains("<point lat=\"50.450100\" lon=\"30.523400\" hae=\"1500.0\" ce=\"150.0\" le=\"200.0\"/>"))
        #expect(xml.contains("<track course=\"275.0\" speed=\"250.0\""))
        #expect(xml.contains("Kyiv &lt;centre&gt;"))
        #expect(xml.hasSuffix("</event>"))
        let types = ["drone": "a-h-A-M-F-Q", "decoy": "a-h-A-W-D", "cruise": "a-h-A-W-M-L", "supersonic-cruise": "a-h-A-W-M-L",
                     "ballistic": "a-h-A-W-M-S-S", "aeroballistic": "a-h-A-W-M-A-S", "unknown": "a-u-A"]
        for (c, type) in types { #expect(CoTOut.type(of: c) == type) }
    }

    @Test("CAT062: a track's record, octet by octet, and data blocks within a datagram")
    func cat062Record() {
        let t = Picture.TrackView(id: 70_000, threatClass: "cruise", classProbabilities: [], latitude: 50.4501, longitude: 30.5234,
                                  altitude: 1500, course: 90, speed: 250, climb: -6.5, sigmaHorizontal: 150, sigmaVertical: 200,
                                  aimAsset: nil, aimLatitude: 0, aimLongitude: 0, timeToImpact: nil, valueAtRisk: 1, rank: 1,
                                  engagedBy: nil, predicted: [], lastUpdate: 0)
        let r = Cat062.record(t, sac: 7, sic: 42, time: Date(timeIntervalSince1970: 1_800_000_000.5), simulated: true)
        // Expected values worked out from the category's definition (edition 1.18), not by the encoder.
        let expected: [UInt8] = [
            0x9B, 0x2D, 0x14,                                   // FSPEC: FRN 1, 4, 5, 7 | 10, 12, 13 | 18, 20
            7, 42,                                              // I062/010
            0x38, 0x40, 0x40,                                   // I062/070: 28,800.5 s after midnight × 128
            0x00, 0x8F, 0x80, 0xA4, 0x00, 0x56, 0xD2, 0x76,     // I062/105: 50.4501°, 30.5234° in 180/2²⁵
            0x03, 0xE8, 0x00, 0x00,                             // I062/185: 250 m/s east, 0 north, in 0.25 m/s
            0x40, 0x0D, 0x25, 0x49, 0x4C, 0x58, 0x20,           // I062/245: STI 1, "CRUISE  " in 6-bit
            0x11, 0x70,                                         // I062/040: 70,000 mod 65,536
            0x09, 0x80,                                         // I062/080: SRC 3-D radar, FX; SIM
            0x03, 0x13,                                         // I062/130: 1,500 m in 6.25 ft
            0xFF, 0x33,                                         // I062/220: −6.5 m/s in 6.25 ft/min
        ]
        #expect(r == expected, "\(r.map { String(format: "%02X", $0) }.joined(separator: " "))")
        // Live tracks: one octet of status, no SIM.
        let live = Cat062.record(t, sac: 7, sic: 42, time: Date(timeIntervalSince1970: 1_800_000_000.5), simulated: false)
        // Altitude held to the item's range: a ballistic apogee of 60 km is sent as 150,000 ft.
        var high = t
        high.altitude = 60_000
        let h = Cat062.record(high, sac: 7, sic: 42, time: Date(timeIntervalSince1970: 0), simulated: false)
        #expect(Int(h[30]) << 8 | Int(h[31]) == 24_000)
        #expect(live.count == r.count - 1)
        #expect(live.count > 29 && live[29] == 0x08)
        // Blocks: CAT, LEN, whole records, none over the limit.
        var p = Picture(time: 0, tracks: [], fireUnits: [], engagements: [], regions: [])
        p.tracks = (0..<100).map { var v = t; v.id = $0; return v }
        let blocks = Cat062.blocks(p, sac: 7, sic: 42, epoch: Date(timeIntervalSince1970: 0), simulated: true, maxBytes: 1_400)
        #expect(blocks.allSatisfy { $0[0] == 62 && Int($0[1]) << 8 | Int($0[2]) == $0.count && $0.count <= 1_400 })
        #expect(blocks.reduce(0) { $0 + ($1.count - 3) } == 100 * r.count)
        // Every record of a picture is stamped with the picture's time (epoch + 3,600.25 s).
        p.time = 3_600.25
        let stamped = Cat062.blocks(p, sac: 7, sic: 42, epoch: Date(timeIntervalSince1970: 86_400), simulated: true, maxBytes: 100_000)
        #expect(stamped.count == 1 && Array(stamped[0][8..<11]) == [0x07, 0x08, 0x20])   // 3,600.25 × 128 = 460,832
    }
}

final class MessageLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
