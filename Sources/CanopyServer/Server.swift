import CanopyBattle
import CanopyScenario
import CanopyTEWA
import CanopySimulation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// The request context: WebSocket-capable, with the server's upload limit.
public struct CanopyContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection (a WebSocket client that stops reading is closed through it).
    public let channel: any Channel
    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
    /// Largest request body accepted (a scenario or a batch of detections).
    public var maxUploadSize: Int { ServerSettings.maxBody }
}

/// Settings of `canopy serve`.
public struct ServerSettings: Sendable {
    /// A run's pace: simulated seconds per wall second, 0 for as fast as possible. Slower than a
    /// thousandth had overflowed the pacing's wall-clock arithmetic and stopped the server.
    public static let speeds = 0.001...1e6

    /// What is wrong with a pace, or nil (0, or within `speeds`).
    public static func speedProblem(_ speed: Double) -> String? {
        speed == 0 || speeds.contains(speed) ? nil
            : "must be 0 (as fast as possible) or from 0.001 to 1000000 simulated seconds per wall second (got \(speed))"
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "canopy-data"
    /// The token required to write; nil: read from (or generated into) the data directory.
    public var token: String? = nil
    /// Default pace of runs (simulated seconds per wall second; 0: as fast as possible).
    public var speed = 10.0
    public var frameInterval = 10.0
    /// Directory of Leaflet (Debian's libjs-leaflet).
    public var leafletDirectory = "/usr/share/javascript/leaflet"
    /// Where CoT events go: UDP destinations ("host:port") and a TCP streaming port (0: none).
    public var cotUDP: [String] = []
    public var cotTCPPort = 0
    /// Where ASTERIX CAT062 system tracks go (UDP "host:port"), and the data source they name.
    public var asterixOut: [String] = []
    public var asterixSAC: UInt8 = 0, asterixSIC: UInt8 = 1
    /// URLs POSTed on every alert change.
    public var webhooks: [String] = []
    /// Live ingest: a briefing scenario (sensors, fire units, assets, regions), a UDP port for detections (0: none).
    public var liveBriefing: String? = nil
    public var liveUDPPort = 0
    /// A UDP port for ASTERIX data blocks (CAT048) on loopback (0: none).
    public var liveAsterixUDPPort = 0
    /// An engagement planner of the user's (docs/library.md) for simulated runs (given each run's
    /// replication, 0) and the live session (made once, with 0); nil: the built-in assigner.
    public var planner: (@Sendable (UInt64) -> any EngagementPlanner)? = nil
    public static let maxBody = 4 << 20
    public init() {}
}

/// The server: API, web map, WebSocket stream, run store.
public final class CanopyServer: Sendable {
    public let settings: ServerSettings
    public let store: RunStore
    public let runs: RunManager
    public let token: String
    public let live: LiveSession?
    /// The live session's run in the store: made when the server listens (`startLiveRecording`).
    private let liveRecorderBox = NSLock()
    nonisolated(unsafe) private var liveRecorderStorage: LiveRecorder?
    var liveRecorder: LiveRecorder? { liveRecorderBox.lock(); defer { liveRecorderBox.unlock() }; return liveRecorderStorage }
    public var liveRunID: Int64? { liveRecorder?.runID }
    let cot: CoTOut
    let asterixOut: AsterixOut
    let webhooks: Webhooks
    /// The shipped map layers (GeoJSON) and cities, read once.
    let regionsGeoJSON: String, outlineGeoJSON: String, citiesJSON: String
    /// Requests refused as malformed, by route (for the operator: counted, not only logged).
    let counters = Counters()

    public init(settings: ServerSettings) throws {
        self.settings = settings
        store = try RunStore(directory: settings.dataDirectory)
        runs = RunManager(store: store, frameInterval: settings.frameInterval, planner: settings.planner)
        token = try Self.loadToken(settings)
        func resource(_ name: String, _ ext: String) -> String {
            ScenarioLoader.resourcePath(name, ext).flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "null"
        }
        regionsGeoJSON = resource("ukraine-oblasts", "geojson")
        outlineGeoJSON = resource("ukraine-outline", "geojson")
        citiesJSON = resource("ukraine-cities", "json")
        cot = try CoTOut(udp: settings.cotUDP, tcpPort: settings.cotTCPPort)
        asterixOut = try AsterixOut(udp: settings.asterixOut, sac: settings.asterixSAC, sic: settings.asterixSIC)
        webhooks = Webhooks(urls: settings.webhooks)
        if let path = settings.liveBriefing {
            let session = try LiveSession(briefingPath: path, udpPort: settings.liveUDPPort, asterixUDPPort: settings.liveAsterixUDPPort,
                                          planner: settings.planner?(0))
            live = session
        } else {
            live = nil
        }
        let cot = self.cot, asterix = self.asterixOut, webhooks = self.webhooks
        runs.onPicture = { channel, picture in
            cot.publish(channel: channel, picture: picture)
            asterix.publish(channel: channel, picture: picture)
        }
        runs.onAlertChange = { channel, episode in webhooks.send(channel: channel, episode: episode) }
        live?.onPicture = { channel, picture in
            cot.publish(channel: channel, picture: picture)
            asterix.publish(channel: channel, picture: picture)
        }
        live?.onAlertChange = { channel, episode in webhooks.send(channel: channel, episode: episode) }
    }

    /// The token: given, or kept in the data directory (created on first start, mode 0600).
    static func loadToken(_ s: ServerSettings) throws -> String {
        if let t = s.token, !t.isEmpty { return t }
        let path = s.dataDirectory + "/token"
        if let t = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty {
            return t
        }
        var bytes = [UInt8](repeating: 0, count: 24)
        var g = SystemRandomNumberGenerator()
        for k in bytes.indices { bytes[k] = g.next() }
        let t = bytes.map { String(format: "%02x", $0) }.joined()
        // A token that could not be kept would change at every start, unlike the one the docs promise.
        guard FileManager.default.createFile(atPath: path, contents: Data((t + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ServerError("cannot write the token to \(path) (\(String(cString: strerror(errno)))); give one with --token or make the data directory writable")
        }
        return t
    }

    // MARK: Application

    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let router = Router(context: CanopyContext.self)
        router.add(middleware: ErrorJSONMiddleware())
        addRoutes(router)
        var logger = Logger(label: "canopy")
        logger.logLevel = .warning
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "canopy"),
            onServerRunning: { [self] channel in
                do { try self.startLiveRecording() } catch {
                    FileHandle.standardError.write(Data("canopy serve: the live session cannot be stored: \(error)\n".utf8))
                }
                await onServerRunning(channel)
            },
            logger: logger
        )
    }

    func addRoutes(_ router: Router<CanopyContext>) {
        // Web map.
        router.get("/") { _, _ in try self.webFile("index.html") }
        router.get("/app/{file}") { _, context in try self.webFile(context.parameters.require("file")) }
        router.get("/vendor/leaflet/**") { request, context in
            try self.vendorFile(context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/api/health") { _, _ in
            var w = JSONWriter()
            w.beginObject(); w.field("status", "ok"); w.field("runsGoing", self.runs.runningCount)
            w.field("live", self.live != nil); w.field("speed", self.settings.speed); w.endObject()
            return json(w.text)
        }
        router.get("/api/geo/regions") { _, _ in json(self.regionsGeoJSON, type: "application/geo+json") }
        router.get("/api/geo/outline") { _, _ in json(self.outlineGeoJSON, type: "application/geo+json") }
        router.get("/api/geo/cities") { _, _ in json(self.citiesJSON) }

        // Runs.
        router.get("/api/runs") { request, _ in
            let limit = try wholeNumber(request.uri.queryParameters.get("limit"), "limit", atLeast: 1, capped: 1000) ?? 100
            var w = JSONWriter()
            w.beginObject(); w.key("runs"); w.beginArray()
            for r in try self.store.runs(limit: limit) { w.raw(runJSON(r, summary: false)) }
            w.endArray(); w.endObject()
            return json(w.text)
        }
        router.post("/api/runs") { request, context in try await self.createRun(request, context) }
        router.get("/api/runs/{id}") { _, context in
            let r = try self.requireRun(context)
            return json(runJSON(r, summary: true))
        }
        router.delete("/api/runs/{id}") { request, context in
            try self.requireToken(request)
            let r = try self.requireRun(context)
            if r.source == "live" && r.status == "running" {
                throw APIError(.conflict, "run \(r.id) is the live session's record, going while the server runs; it can be deleted once the server has stopped")
            }
            // A run going is asked to stop (and deleted later, by another request); one that has
            // just ended, or whose record says running with nothing going (its last write
            // failed), is deleted now.
            if r.status == "running" && self.runs.cancel(r.id) {
                return json("{\"id\":\(r.id),\"status\":\"cancelling\"}", status: .accepted)
            }
            _ = try self.store.delete(r.id)
            self.runs.release(r.id)
            return Response(status: .noContent)
        }
        router.get("/api/runs/{id}/events") { request, context in
            let r = try self.requireRun(context)
            let q = request.uri.queryParameters
            let kinds = q.get("type").map { $0.split(separator: ",").map(String.init) } ?? []
            // A simulated run's kinds, and a live session's recommendations.
            let known = Simulation.eventKinds + ["recommend"]
            if let unknown = kinds.first(where: { !known.contains($0) }) {
                throw APIError(.badRequest, "type '\(unknown)' is no kind of event (kinds: \(known.joined(separator: ", ")))")
            }
            let format = q.get("format") ?? "json"
            guard format == "json" || format == "ndjson" else { throw APIError(.badRequest, "format must be json or ndjson (got '\(format)')") }
            let from = try number(q.get("from"), "from") ?? -.infinity
            let to = try number(q.get("to"), "to") ?? .infinity
            let limit = try wholeNumber(q.get("limit"), "limit", atLeast: 1, capped: 100_000) ?? 10_000
            let offset = try wholeNumber(q.get("offset"), "offset", atLeast: 0) ?? 0
            let events = try self.store.events(r.id, from: from, to: to, kinds: kinds, limit: limit, offset: offset,
                                               byTime: r.status != "running")
            if format == "ndjson" {
                return json(events.joined(separator: "\n") + (events.isEmpty ? "" : "\n"), type: "application/x-ndjson")
            }
            return json("{\"run\":\(r.id),\"events\":[" + events.joined(separator: ",") + "]}")
        }
        router.get("/api/runs/{id}/tracks") { request, context in
            let r = try self.requireRun(context)
            let q = request.uri.queryParameters
            let limit = try wholeNumber(q.get("limit"), "limit", atLeast: 1, capped: 1_000_000) ?? 100_000
            let offset = try wholeNumber(q.get("offset"), "offset", atLeast: 0) ?? 0
            let rows = try self.store.trackRows(r.id, limit: limit, offset: offset)
            return json("{\"run\":\(r.id),\"tracks\":[" + rows.joined(separator: ",") + "]}")
        }
        router.get("/api/runs/{id}/frames") { request, context in
            let r = try self.requireRun(context)
            let q = request.uri.queryParameters
            if q.get("from") == nil && q.get("to") == nil {
                // The times alone: a page size means nothing here, but a bad one is still named.
                _ = try wholeNumber(q.get("limit"), "limit", atLeast: 1)
                let times = try self.store.frameTimes(r.id)
                var w = JSONWriter()
                w.beginObject(); w.field("run", Int(r.id)); w.key("times"); w.beginArray()
                for t in times { w.number(t, digits: 1) }
                w.endArray(); w.endObject()
                return json(w.text)
            }
            let from = try number(q.get("from"), "from") ?? 0, to = try number(q.get("to"), "to") ?? .greatestFiniteMagnitude
            let limit = try wholeNumber(q.get("limit"), "limit", atLeast: 1, capped: 1000) ?? 100
            let frames = try self.store.frames(r.id, from: from, to: to, limit: limit)
            return json("{\"run\":\(r.id),\"frames\":[" + frames.joined(separator: ",") + "]}")
        }
        router.get("/api/runs/{id}/picture") { _, context in
            let r = try self.requireRun(context)
            if let p = self.channel(ofRun: r.id)?.latest { return json(PictureDiffer.full(p)) }
            let times = try self.store.frameTimes(r.id)
            guard let last = times.last, let f = try self.store.frames(r.id, from: last, to: last, limit: 1).first else {
                throw APIError(.notFound, "run \(r.id) has no picture yet")
            }
            return json(f)
        }
        router.get("/api/runs/{id}/alerts") { _, context in
            let r = try self.requireRun(context)
            return json(alertsJSON(try self.alertChannel(of: r), activeOnly: false))
        }

        // Alerts: the live session's, or else the newest run's (this server's).
        router.get("/api/alerts") { request, _ in
            let h = request.uri.queryParameters.get("history") ?? "false"
            guard h == "true" || h == "false" else { throw APIError(.badRequest, "history must be true or false (got '\(h)')") }
            let history = h == "true"
            guard let c = self.alertChannel() else {
                return json("{\"alerts\":[],\"meta\":{\"source\":null,\"last_updated_at\":\"\(UTC.iso(Date()))\"}}")
            }
            return json(alertsJSON(c, activeOnly: !history))
        }

        // Live ingest.
        router.post("/api/live/detections") { request, context in
            try self.requireToken(request)
            guard let live = self.live else {
                throw APIError(.conflict, "no live session: start the server with --live BRIEFING.yaml")
            }
            let body = try await self.collectBody(request, context, counter: "live.tooLarge")
            return self.ingestResponse(live.ingest(Data(buffer: body)), skipped: nil)
        }
        router.post("/api/live/asterix") { request, context in
            try self.requireToken(request)
            guard let live = self.live else {
                throw APIError(.conflict, "no live session: start the server with --live BRIEFING.yaml")
            }
            let body = try await self.collectBody(request, context, counter: "live.tooLarge")
            let r = live.ingestAsterix([UInt8](buffer: body))
            return self.ingestResponse((r.accepted, r.problems), skipped: r.skipped, unlisted: r.unlisted, asterix: true)
        }
        router.get("/api/live") { _, _ in
            guard let live = self.live else { throw APIError(.notFound, "no live session: start the server with --live BRIEFING.yaml") }
            return json(live.statusJSON())
        }
        router.get("/api/stats") { _, _ in
            var w = JSONWriter()
            w.beginObject()
            w.key("refused"); w.raw(self.counters.json())
            w.field("cotEventsSent", self.cot.sent)
            w.field("cotTCPClients", self.cot.tcpClientCount)
            w.field("asterixBlocksSent", self.asterixOut.sent)
            w.field("webhooksSent", self.webhooks.sent); w.field("webhooksFailed", self.webhooks.failed)
            if let live = self.live {
                w.field("liveSubscribers", live.channel.subscriberCount)
                w.field("liveSubscribersDropped", live.channel.subscribersDropped)
            }
            w.endObject()
            return json(w.text)
        }

        // The WebSocket stream: /api/ws?run=ID or /api/ws?live
        router.ws("/api/ws") { request, _ in
            // Refusals are JSON errors, as elsewhere (an empty 405 had been the answer to each).
            let q = request.uri.queryParameters
            // A plain GET (no upgrade asked) had been answered 200 with nothing.
            let upgrading = request.headers[.upgrade]?.lowercased().contains("websocket") == true
            let refuseUnlessUpgrading = {
                if !upgrading { throw APIError(.upgradeRequired, "/api/ws is a WebSocket: open it with a WebSocket client (Upgrade: websocket)") }
            }
            if q.get("live") != nil {
                guard self.live != nil else { throw APIError(.notFound, "no live session: start the server with --live BRIEFING.yaml") }
                try refuseUnlessUpgrading()
                return .upgrade([:])
            }
            guard let text = q.get("run") else { throw APIError(.badRequest, "name the stream: /api/ws?run=ID or /api/ws?live") }
            guard let id = Int64(text) else { throw APIError(.badRequest, "run must be a run's id, a whole number (got '\(text)')") }
            guard self.channel(ofRun: id) != nil || (try? self.store.run(id)) != nil else { throw APIError(.notFound, "no run \(id)") }
            try refuseUnlessUpgrading()
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let q = context.request.uri.queryParameters
            let channel: PictureChannel?
            if q.get("live") != nil { channel = self.live?.channel } else { channel = q.get("run").flatMap { Int64($0) }.flatMap { self.channel(ofRun: $0) } }
            guard let channel else {
                // A run from before the last restart: its stream is over.
                try await outbound.write(.text("{\"type\":\"status\",\"status\":\"ended\"}"))
                try await outbound.close(.normalClosure, reason: "the stream is over (the run has ended): replay it from its frames")
                return
            }
            // The connection lasts until the stream ends (the run is over) or the client
            // leaves. A client dropped for falling behind, or any client at shutdown, has its
            // connection closed directly: a close handshake cannot pass a client that does not
            // read, and the blocked write then fails, which ends this handler.
            let connection = context.requestContext.channel
            let (id, stream) = channel.subscribe(onDrop: { connection.close(promise: nil) })
            defer { channel.unsubscribe(id) }
            // Read (and ignore) what the client sends so that its close is seen.
            async let reader: Void = { for try await _ in inbound {} }()
            try await withGracefulShutdownHandler {
                for await message in stream {
                    try await outbound.write(.text(message))
                }
            } onGracefulShutdown: {
                connection.close(promise: nil)
            }
            // The stream is over (the run ended, or had ended when the client joined): close the
            // connection with a close frame, which the client answers, ending the reader. (The
            // handler had waited for the client to close, and the client for the server.)
            try? await outbound.close(.normalClosure, reason: "the stream is over: \(channel.currentStatus)")
            // The client's reply ends the reader; one that never replies (gone, half-open) has its
            // connection closed after 5 s, so that no handler waits for ever.
            let closer = Task {
                try await Task.sleep(for: .seconds(5))
                connection.close(promise: nil)
            }
            _ = try? await reader
            closer.cancel()
        }
    }

    /// Starts storing the live session as a run (once: later calls do nothing). `makeApplication`'s
    /// server calls it when it listens, so that a server that cannot listen leaves no run behind.
    public func startLiveRecording() throws {
        guard let live, let path = settings.liveBriefing else { return }
        liveRecorderBox.lock()
        defer { liveRecorderBox.unlock() }
        guard liveRecorderStorage == nil else { return }
        let recorder = try LiveRecorder(store: store, session: live, briefingPath: path, frameInterval: settings.frameInterval)
        liveRecorderStorage = recorder
        live.onRecord = { picture, events, changes in recorder.record(picture, events: events, alertChanges: changes) }
    }

    /// Ends the live session and marks its run finished (the server is stopping).
    public func stopLive() {
        live?.stop()
        liveRecorder?.finish()
    }

    /// The channel of a run going in this server: a simulated run's, or the live session's run.
    func channel(ofRun id: Int64) -> PictureChannel? {
        if id == liveRunID, let live, liveRecorder.map({ !$0.isFinished }) ?? false { return live.channel }
        return runs.channel(id)
    }

    /// The alerts `/api/alerts` gives: the live session's, else a run going now, else this
    /// server's newest run.
    func alertChannel() -> PictureChannel? {
        if let live { return live.channel }
        let records = (try? store.runs(limit: 20)) ?? []
        let recent = records.compactMap { runs.channel($0.id) }
        if let c = recent.first(where: { $0.currentStatus == "running" }) ?? recent.first { return c }
        // The newest run, of this server, had its channel released after its end: its episodes
        // from the store (not an earlier server's run, whose alerts may have been cut off on).
        guard let newest = records.first, runs.wasReleased(newest.id) else { return nil }
        return try? alertChannel(of: newest)
    }

    /// A run's alert episodes: this server's record, or, for a run of an earlier server, rebuilt
    /// from its stored alert events.
    func alertChannel(of r: RunRecord) throws -> PictureChannel {
        if let c = channel(ofRun: r.id) { return c }
        let c = PictureChannel(name: "run-\(r.id)", epoch: r.startedAt ?? r.createdAt, speed: r.speed)
        for text in try store.events(r.id, kinds: ["alert_on", "alert_off"], limit: 1_000_000) {
            guard let e = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let t = (e["t"] as? NSNumber)?.doubleValue, let region = e["region"] as? String else { continue }
            _ = c.recordAlert(regionID: region, name: e["name"] as? String ?? region, on: e["type"] as? String == "alert_on", time: t)
        }
        return c
    }

    /// The answer to a live ingest: 400 naming every problem when nothing was accepted, else 202
    /// with the counts and the refused items.
    func ingestResponse(_ result: (accepted: Int, problems: [String]), skipped: Int?, unlisted: Int = 0, asterix: Bool = false) -> Response {
        // Both answers name each problem as {field, message}, the field split from the item's
        // text ("detections[3].sensor: must name …", "CAT048 report 2 (SAC/SIC 0/1): no …"); the
        // 202 had given bare strings, the 400 objects with an empty field.
        let items = result.problems.map { Self.problemItem($0, spaced: asterix) }
        let more = unlisted > 0 ? " (the first \(result.problems.count) of \(result.problems.count + unlisted) problems listed)" : ""
        if result.accepted == 0 && !result.problems.isEmpty {
            counters.add("live.rejected")
            return problemsResponse(.badRequest, "no detection accepted" + more, items)
        }
        if result.accepted == 0 && (skipped ?? 0) == 0 {
            counters.add("live.rejected")
            return problemsResponse(.badRequest, asterix ? "no CAT048 report in the message: nothing to ingest"
                                                         : "no detection in the message: nothing to ingest", [])
        }
        var w = JSONWriter()
        w.beginObject(); w.field("accepted", result.accepted); w.field("rejected", result.problems.count + unlisted)
        if unlisted > 0 { w.field("unlisted", unlisted) }
        if let skipped { w.field("skipped", skipped) }
        w.key("problems"); w.beginArray()
        for p in items { w.beginObject(); w.field("field", p.field); w.field("message", p.message); w.endObject() }
        w.endArray(); w.endObject()
        return json(w.text, status: .accepted)
    }

    /// "FIELD: message" as its two parts, when the text before the first ": " is one word (or,
    /// `spaced`, any words: an ASTERIX report is named "CAT048 report 2 (SAC/SIC 0/1)").
    static func problemItem(_ text: String, spaced: Bool = false) -> (field: String, message: String) {
        if let r = text.range(of: ": "), spaced || !text[..<r.lowerBound].contains(" "), r.lowerBound > text.startIndex {
            return (String(text[..<r.lowerBound]), String(text[r.upperBound...]))
        }
        return ("", text)
    }

    /// A request's body, or a JSON 413 (counted) when it is larger than the limit.
    func collectBody(_ request: Request, _ context: CanopyContext, counter: String) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: context.maxUploadSize)
        } catch let e where e is NIOTooManyBytesError || (e as? HTTPError)?.status == .contentTooLarge {
            counters.add(counter)
            throw APIError(.contentTooLarge, "the body is larger than \(ServerSettings.maxBody >> 20) MiB")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A client gone or a broken stream: the client's fault, not the server's.
            throw APIError(.badRequest, "the request body could not be read: it broke off")
        }
    }

    func requireToken(_ request: Request) throws {
        let given = request.headers[.authorization].flatMap { h -> String? in
            h.hasPrefix("Bearer ") ? String(h.dropFirst(7)) : nil
        } ?? request.headers[HTTPField.Name("X-Canopy-Token")!]
        guard let given, constantTimeEqual(given, token) else {
            counters.add("unauthorized")
            throw APIError(.unauthorized, "this needs the server's token: send 'Authorization: Bearer TOKEN' (printed when the server started, and kept in \(settings.dataDirectory)/token)")
        }
    }

    func requireRun(_ context: CanopyContext) throws -> RunRecord {
        guard let s = context.parameters.get("id"), let id = Int64(s) else {
            throw APIError(.badRequest, "run id must be a whole number")
        }
        guard let r = try store.run(id) else { throw APIError(.notFound, "no run \(id)") }
        return r
    }

    func createRun(_ request: Request, _ context: CanopyContext) async throws -> Response {
        try requireToken(request)
        let q = request.uri.queryParameters
        // Over the limit is 413; a client gone or a broken stream is thrown on (it had been 413 too).
        let body = try await collectBody(request, context, counter: "runs.tooLarge")
        guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
            counters.add("runs.malformed")
            throw APIError(.badRequest, "the scenario is not UTF-8 text")
        }
        // The format: the file name's extension, else the Content-Type, else YAML (which reads
        // JSON too, but without the strict reader's checks and line numbers).
        var file = q.get("file") ?? "scenario"
        let ext = URL(fileURLWithPath: file).pathExtension.lowercased()
        if !["yaml", "yml", "json"].contains(ext) {
            let type = (request.headers[.contentType] ?? "").lowercased()
            file += type.contains("json") ? ".json" : ".yaml"
        }
        let speed = try number(q.get("speed"), "speed") ?? settings.speed
        if let problem = ServerSettings.speedProblem(speed) { throw APIError(.badRequest, "speed " + problem) }
        var seed: UInt64? = nil
        if let s = q.get("seed") {
            guard let v = UInt64(s) else { throw APIError(.badRequest, "seed must be a whole number ≥ 0 (got '\(s)')") }
            seed = v
        }
        do {
            let record = try runs.start(text: text, fileName: URL(fileURLWithPath: file).lastPathComponent, name: q.get("name"), seed: seed, speed: speed)
            return json(runJSON(record, summary: false), status: .created)
        } catch let e as ScenarioRejection {
            counters.add("runs.invalidScenario")
            return problemsResponse(.unprocessableContent, "the scenario is not valid",
                                    e.problems.map { ($0.path, $0.message + ($0.line.map { " (line \($0))" } ?? "")) })
        }
    }

    func webFile(_ name: String) throws -> Response {
        guard name.range(of: "^[A-Za-z0-9._-]+$", options: .regularExpression) != nil, !name.hasPrefix("."),
              let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Web"),
              let data = FileManager.default.contents(atPath: url.path) else {
            throw APIError(.notFound, "no file \(name)")
        }
        return fileResponse(data, name: name)
    }

    func vendorFile(_ path: String) throws -> Response {
        guard path.range(of: "^[A-Za-z0-9._/-]+$", options: .regularExpression) != nil, !path.contains(".."),
              let data = FileManager.default.contents(atPath: settings.leafletDirectory + "/" + path) else {
            throw APIError(.notFound, "no file \(path) under \(settings.leafletDirectory) (install Debian's libjs-leaflet)")
        }
        return fileResponse(data, name: path)
    }
}

func fileResponse(_ data: Data, name: String) -> Response {
    let ext = URL(fileURLWithPath: name).pathExtension.lowercased()
    let type = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                "png": "image/png", "svg": "image/svg+xml", "json": "application/json"][ext] ?? "application/octet-stream"
    return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func json(_ text: String, status: HTTPResponse.Status = .ok, type: String = "application/json") -> Response {
    Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// A whole-number query parameter (a page size or offset): nil when absent, `400` when it is not a
/// whole number or is below `atLeast`; above `capped` it is capped (the most one page serves).
func wholeNumber(_ s: String?, _ name: String, atLeast lo: Int, capped hi: Int = .max) throws -> Int? {
    guard let s else { return nil }
    // All digits but beyond Int: capped like any large page size.
    if Int(s) == nil, !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), lo <= hi { return hi }
    guard let v = Int(s), v >= lo else { throw APIError(.badRequest, "\(name) must be a whole number ≥ \(lo) (got '\(s)')") }
    return min(v, hi)
}

func number(_ s: String?, _ name: String) throws -> Double? {
    guard let s else { return nil }
    guard let v = Double(s), v.isFinite else { throw APIError(.badRequest, "\(name) must be a number (got '\(s)')") }
    return v
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var d: UInt8 = 0
    for k in x.indices { d |= x[k] ^ y[k] }
    return d == 0
}

func runJSON(_ r: RunRecord, summary: Bool) -> String {
    var w = JSONWriter()
    w.beginObject()
    w.field("id", Int(r.id)); w.field("name", r.name); w.field("source", r.source); w.field("status", r.status)
    w.field("createdAt", UTC.iso(r.createdAt)); w.field("startedAt", r.startedAt.map(UTC.iso)); w.field("finishedAt", r.finishedAt.map(UTC.iso))
    w.field("seed", String(r.seed)); w.field("speed", r.speed); w.field("simulatedTime", r.simulatedTime, digits: 1)
    if summary {
        w.key("summary"); if let s = r.summary { w.raw(s) } else { w.null() }
    }
    w.field("error", r.error)
    w.endObject()
    return w.text
}

/// Alert state in the shape of a public alert API (alerts.in.ua): active alerts (or, with
/// history, every episode) with region id and name, type air_raid, start and end in UTC.
func alertsJSON(_ c: PictureChannel, activeOnly: Bool) -> String {
    var w = JSONWriter()
    w.beginObject()
    w.key("alerts"); w.beginArray()
    for e in c.alertEpisodes where !activeOnly || e.finished == nil {
        w.raw(alertJSON(c, e))
    }
    w.endArray()
    w.key("meta"); w.beginObject(); w.field("source", c.name); w.field("last_updated_at", UTC.iso(Date())); w.endObject()
    w.endObject()
    return w.text
}

func alertJSON(_ c: PictureChannel, _ e: AlertEpisode) -> String {
    var w = JSONWriter()
    w.beginObject()
    w.field("region_id", e.regionID); w.field("region_name", e.regionName)
    // As alerts.in.ua: Kyiv (UA-30) and Sevastopol (UA-40) are cities with the status of a region.
    w.field("location_type", ["UA-30", "UA-40"].contains(e.regionID) ? "city" : "oblast"); w.field("alert_type", "air_raid")
    w.field("started_at", UTC.iso(c.utc(e.started)))
    w.field("finished_at", e.finished.map { UTC.iso(c.utc($0)) })
    w.endObject()
    return w.text
}

/// An API error with a message the user can act on; rendered as JSON.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) { self.status = status; self.message = message }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        json("{\"error\":" + JSONTextQuote(message) + "}", status: status)
    }
}

func problemsResponse(_ status: HTTPResponse.Status, _ message: String, _ problems: [(field: String, message: String)]) -> Response {
    var w = JSONWriter()
    w.beginObject()
    w.field("error", message)
    w.key("problems"); w.beginArray()
    for p in problems { w.beginObject(); w.field("field", p.field); w.field("message", p.message); w.endObject() }
    w.endArray()
    w.endObject()
    return json(w.text, status: status)
}

/// Turns Hummingbird's own errors (no route, body too large, a bad parameter) into JSON with a message.
struct ErrorJSONMiddleware: RouterMiddleware {
    typealias Context = CanopyContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as HTTPError {
            let message: String
            if e.status == .notFound, request.method != .head, let allowed = Self.methods(of: request.uri.path),
               !allowed.contains(request.method.rawValue) {
                // The path is an endpoint's, the method not: 405 with the methods it takes.
                var r = json("{\"error\":" + JSONTextQuote("\(request.method) is not allowed on \(request.uri.path) (allowed: \(allowed.joined(separator: ", ")))") + "}",
                             status: .methodNotAllowed)
                r.headers[.allow] = allowed.joined(separator: ", ")
                return r
            }
            switch e.status {
            case .notFound: message = "no such endpoint: \(request.method) \(request.uri.path) (see docs/api.md)"
            case .contentTooLarge: message = "request body larger than \(ServerSettings.maxBody >> 20) MiB"
            default: message = e.body ?? "\(e.status)"
            }
            throw APIError(e.status, message)
        } catch let e as CancellationError {
            throw e
        } catch {
            // Anything else (the store busy, the disk full) is still an answer in JSON, not an
            // empty 500.
            if let (unavailable, message) = RunStore.answer(for: error) {
                throw APIError(unavailable ? .serviceUnavailable : .internalServerError, message)
            }
            throw APIError(.internalServerError, "internal error (\(type(of: error))); the server's log may say more")
        }
    }
}

extension ErrorJSONMiddleware {
    /// The endpoints' paths and the methods each takes (docs/api.md), for 405 answers.
    static let endpoints: [(pattern: String, methods: [String])] = [
        ("^/$", ["GET"]), ("^/app/[^/]+$", ["GET"]), ("^/vendor/leaflet/.+$", ["GET"]), ("^/api/health$", ["GET"]),
        ("^/api/geo/(regions|outline|cities)$", ["GET"]), ("^/api/runs$", ["GET", "POST"]), ("^/api/runs/[^/]+$", ["GET", "DELETE"]),
        ("^/api/runs/[^/]+/(events|tracks|frames|picture|alerts)$", ["GET"]), ("^/api/alerts$", ["GET"]),
        ("^/api/live/(detections|asterix)$", ["POST"]), ("^/api/live$", ["GET"]), ("^/api/stats$", ["GET"]), ("^/api/ws$", ["GET"]),
    ]

    static func methods(of path: String) -> [String]? {
        endpoints.first { path.range(of: $0.pattern, options: .regularExpression) != nil }?.methods
    }
}

/// Counts of refused requests and dropped datagrams, by kind.
final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func add(_ k: String, _ n: Int = 1) { lock.lock(); counts[k, default: 0] += n; lock.unlock() }
    func get(_ k: String) -> Int { lock.lock(); defer { lock.unlock() }; return counts[k] ?? 0 }
    func json() -> String {
        lock.lock(); defer { lock.unlock() }
        var w = JSONWriter()
        w.beginObject(); for k in counts.keys.sorted() { w.field(k, counts[k]!) }; w.endObject()
        return w.text
    }
}
