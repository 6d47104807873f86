// canopy-load: a load test of `canopy serve`. It starts the server with a live briefing,
// feeds it radar plots of N synthetic targets every second over UDP (so the live picture
// holds N tracks, updated at 1 Hz), opens C WebSocket clients on the live stream, and
// measures each update's latency (arrival − the picture's time) and the server's CPU. Midway
// it fires a burst of malformed requests and datagrams, then checks the server still serves
// and the clients still receive.
//
//   swift build -c release --product canopy --product canopy-load
//   .build/release/canopy-load --canopy .build/release/canopy [--clients 100] [--tracks 500] [--seconds 40]

import CanopyCore
import Foundation
import HummingbirdWSClient
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var canopy = ".build/release/canopy"
    var briefing = "examples/quickstart.yaml"
    var clients = 100
    var tracks = 500
    var seconds = 40.0
    var burst = 2000
    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let a = args.next() {
            guard let v = args.next() else { fail("\(a) needs a value") }
            switch a {
            case "--canopy": canopy = v
            case "--briefing": briefing = v
            case "--clients": clients = Int(v) ?? { fail("--clients: a whole number") }()
            case "--tracks": tracks = Int(v) ?? { fail("--tracks: a whole number") }()
            case "--seconds": seconds = Double(v) ?? { fail("--seconds: a number") }()
            case "--burst": burst = Int(v) ?? { fail("--burst: a whole number") }()
            default: fail("unknown option \(a) (known: --canopy --briefing --clients --tracks --seconds --burst)")
            }
        }
    }
}

func fail(_ s: String) -> Never {
    FileHandle.standardError.write(Data("canopy-load: \(s)\n".utf8))
    exit(2)
}

func freePort(_ type: Int32) -> Int {
    let s = socket(AF_INET, type, 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    close(s)
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// CPU seconds (user + system) of a process, from /proc.
func cpuSeconds(_ pid: Int32) -> Double {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = s.lastIndex(of: ")") else { return .nan }
    let f = s[s.index(after: close)...].split(separator: " ")
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return ((Double(f[11]) ?? 0) + (Double(f[12]) ?? 0)) / ticks
}

func httpGet(_ url: String) -> (Int, Data)? {
    let sem = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var out: (Int, Data)?
    URLSession.shared.dataTask(with: URL(string: url)!) { d, r, _ in
        if let r = r as? HTTPURLResponse { out = (r.statusCode, d ?? Data()) }
        sem.signal()
    }.resume()
    _ = sem.wait(timeout: .now() + 10)
    return out
}

func http(_ method: String, _ url: String, token: String?, body: Data) async -> Int {
    var req = URLRequest(url: URL(string: url)!, timeoutInterval: 10)
    req.httpMethod = method
    req.httpBody = body
    if let token { req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    do {
        let (_, r) = try await URLSession.shared.data(for: req)
        return (r as? HTTPURLResponse)?.statusCode ?? -1
    } catch {
        return -1
    }
}

/// Latencies and message counts, shared by the client tasks.
final class Tally: @unchecked Sendable {
    let lock = NSLock()
    var latencies: [Double] = []
    var messages = 0, bytes = 0
    var lastMessage: [Int: Date] = [:]
    var closedEarly = 0
    var maxTracks = 0
    var statuses: [Int: Int] = [:]
    func add(client: Int, latency: Double?, size: Int) {
        lock.withLock {
            if let latency { latencies.append(latency) }
            messages += 1; bytes += size
            lastMessage[client] = Date()
        }
    }
    func closed() { lock.withLock { closedEarly += 1 } }
    func tracks(_ n: Int) { lock.withLock { maxTracks = max(maxTracks, n) } }
    func status(_ code: Int) { lock.withLock { statuses[code, default: 0] += 1 } }
}

/// Radar plots of the synthetic targets, sent as UDP datagrams.
final class Feeder: @unchecked Sendable {
    struct Target { var start: Vector3; var velocity: Vector3 }
    var targets: [Target] = []
    var rng = RandomStream(seed: 7, replication: 0, component: "load")
    let socketFD: Int32
    var address: sockaddr_in
    let radar: String

    init(targets n: Int, radar: String, udpPort: Int) {
        self.radar = radar
        let columns = Int(Double(n).squareRoot().rounded(.up))
        for k in 0..<n {
            // A grid 40–110 km east of the radar, 3 km apart, flying west at 40–60 m/s.
            let e = 40_000 + Double(k % columns) * 3_000, north = -30_000 + Double(k / columns) * 3_000
            let speed = 40.0 + Double(k % 5) * 5
            targets.append(Target(start: Vector3(e, north, 1_000 + Double(k % 7) * 300), velocity: Vector3(-speed, Double(k % 3 - 1) * 5, 0)))
        }
        socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(udpPort).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
    }

    func send(_ bytes: [UInt8]) {
        _ = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socketFD, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// One scan of every target at session time t (radar-relative east, north, up), in datagrams of 100 plots.
    func feed(at t: Double) {
        var batch: [String] = []
        for tg in targets {
            let enu = tg.start + tg.velocity * t
            let ground = (enu.x * enu.x + enu.y * enu.y).squareRoot()
            let range = (ground * ground + enu.z * enu.z).squareRoot() + rng.normal() * 40
            var az = atan2(enu.x, enu.y) * 180 / .pi + rng.normal() * 0.3
            if az < 0 { az += 360 }
            let el = atan2(enu.z, ground) * 180 / .pi + rng.normal() * 0.3
            batch.append("{\"kind\":\"radar\",\"sensor\":\"\(radar)\",\"t\":\(t),\"range\":\(range),\"azimuth\":\(az),\"elevation\":\(el)}")
            if batch.count == 100 { send(Array(("[" + batch.joined(separator: ",") + "]").utf8)); batch.removeAll() }
        }
        if !batch.isEmpty { send(Array(("[" + batch.joined(separator: ",") + "]").utf8)) }
    }
}

let o = Options()
let token = "load-\(UInt64.random(in: 0...UInt64.max))"
let port = freePort(Int32(SOCK_STREAM.rawValue)), udpPort = freePort(Int32(SOCK_DGRAM.rawValue))
let data = NSTemporaryDirectory() + "canopy-load-\(getpid())"
let server = Process()
server.executableURL = URL(fileURLWithPath: o.canopy)
server.arguments = ["serve", "--port", "\(port)", "--data", data, "--token", token, "--live", o.briefing, "--live-udp", "\(udpPort)"]
server.standardOutput = FileHandle.nullDevice
let serverLog = Pipe()
server.standardError = serverLog
do { try server.run() } catch { fail("cannot start \(o.canopy): \(error)") }
let base = "http://127.0.0.1:\(port)"
var started = false
for _ in 0..<200 {
    if let (code, _) = httpGet(base + "/api/health"), code == 200 { started = true; break }
    usleep(100_000)
}
guard started else { server.terminate(); fail("the server did not start") }
guard let (_, liveBody) = httpGet(base + "/api/live"),
      let live = try JSONSerialization.jsonObject(with: liveBody) as? [String: Any],
      let epochText = live["epoch"] as? String, let radar = (live["radars"] as? [String])?.first else { server.terminate(); fail("no live session") }
let iso = ISO8601DateFormatter()
iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
let epoch = iso.date(from: epochText)!.timeIntervalSince1970

let feeder = Feeder(targets: o.tracks, radar: radar, udpPort: udpPort)

/// Stalled clients: they complete the WebSocket handshake and then never read, so their
/// socket buffers fill; the server must drop them without slowing the others.
func stalledClient(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var small: Int32 = 4096
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    let request = "GET /api/ws?live HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    return fd
}
let stalled = (0..<5).map { _ in stalledClient(port: port) }

let tally = Tally()
let warmup = 15.0
let start = Date()
let end = start.addingTimeInterval(warmup + o.seconds)
print("canopy-load: server pid \(server.processIdentifier) on :\(port); \(o.tracks) targets at 1 Hz over UDP :\(udpPort); \(o.clients) WebSocket clients; \(Int(warmup)) s warm-up, \(Int(o.seconds)) s measured")

// The feeder: one scan a second, on the session clock.
let feedThread = Thread {
    var next = Date().timeIntervalSince1970 - epoch
    while Date() < end {
        feeder.feed(at: next)
        next += 1
        let wait = next - (Date().timeIntervalSince1970 - epoch)
        if wait > 0 { usleep(useconds_t(wait * 1e6)) }
    }
}
feedThread.start()

let measureFrom = start.addingTimeInterval(warmup)
let burstResults = Tally()
let cpuMark = Tally()

await withTaskGroup(of: Void.self) { group in
    for c in 0..<o.clients {
        group.addTask {
            var logger = Logger(label: "load")
            logger.logLevel = .critical
            do {
                _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws?live", configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, _, _ in
                    var counted = 0
                    for try await message in inbound.messages(maxSize: 1 << 26) {
                        guard case .text(let text) = message else { continue }
                        let now = Date()
                        if c == 0 && ProcessInfo.processInfo.environment["LOAD_DEBUG"] != nil { print("client 0:", text.prefix(90)) }
                        var latency: Double? = nil
                        // {"type":"delta","time":123.4,...}: the picture's session time.
                        if now >= measureFrom, text.hasPrefix("{\"type\":\"delta\",\"time\":") {
                            let rest = text.utf8.dropFirst(23).prefix { $0 != UInt8(ascii: ",") }
                            if let t = Double(String(decoding: rest, as: UTF8.self)) {
                                latency = now.timeIntervalSince1970 - (epoch + t)
                            }
                        }
                        if c == 0 && counted % 5 == 0, let d = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                           let tr = d["tracks"] as? [String: Any], let up = tr["upsert"] as? [Any] {
                            tally.tracks(up.count)
                        }
                        counted += 1
                        tally.add(client: c, latency: latency, size: text.utf8.count)
                        if now >= end { break }
                    }
                    if Date() < end {
                        if c == 0 { FileHandle.standardError.write(Data("client 0: the stream ended after \(counted) messages\n".utf8)) }
                        tally.closed()
                    }
                }
            } catch {
                if c == 0 { FileHandle.standardError.write(Data("client 0: \(error)\n".utf8)) }
                tally.closed()
            }
        }
    }
    // CPU window and the malformed burst, midway through the measured window.
    group.addTask {
        try? await Task.sleep(for: .seconds(warmup))
        cpuMark.add(client: 0, latency: cpuSeconds(server.processIdentifier), size: 0)
        try? await Task.sleep(for: .seconds(o.seconds / 2))
        let junk: [(String, String, String?, Data)] = [
            ("POST", "/api/live/detections", token, Data("{not json".utf8)),
            ("POST", "/api/live/detections", token, Data("[{\"kind\":\"radar\",\"sensor\":\"x\"}]".utf8)),
            ("POST", "/api/live/detections", nil, Data("[]".utf8)),
            ("POST", "/api/runs?file=x.yaml", token, Data("name: [unclosed".utf8)),
            ("POST", "/api/runs?speed=-1", token, Data("x".utf8)),
            ("GET", "/api/runs/notanumber", nil, Data()),
            ("GET", "/api/ws?run=999999", nil, Data()),
            ("DELETE", "/api/runs/1", "wrong", Data()),
        ]
        await withTaskGroup(of: Int.self) { burst in
            for k in 0..<o.burst {
                let j = junk[k % junk.count]
                burst.addTask { await http(j.0, base + j.1, token: j.2, body: j.3) }
                if k % 50 == 49 { for _ in 0..<25 { if let s = await burst.next() { burstResults.status(s) } } }
                if k % 10 == 0 { feeder.send(Array("garbage \(k) {".utf8)) }
            }
            for await s in burst { burstResults.status(s) }
        }
        // Oversized bodies (5 MiB) are refused unread.
        for _ in 0..<10 { burstResults.status(await http("POST", base + "/api/runs", token: token, body: Data(count: 5 << 20))) }
    }
}
let cpu = cpuSeconds(server.processIdentifier) - (cpuMark.latencies.first ?? .nan)
let window = Date().timeIntervalSince(measureFrom)
let health = httpGet(base + "/api/health")?.0 ?? -1
let liveStatus = httpGet(base + "/api/live").flatMap { try? JSONSerialization.jsonObject(with: $0.1) as? [String: Any] } ?? [:]
let stats = httpGet(base + "/api/stats").map { String(decoding: $0.1, as: UTF8.self) } ?? ""
server.terminate()
server.waitUntilExit()

let l = tally.latencies.sorted()
func pct(_ p: Double) -> Double { l.isEmpty ? .nan : l[min(l.count - 1, Int((p * Double(l.count - 1)).rounded()))] }
let statuses = burstResults.statuses
let burstCount = statuses.values.reduce(0, +)
print(String(format: "updates: %d received by %d clients (%.1f MB); tracks in the picture: up to %d", tally.messages, o.clients,
             Double(tally.bytes) / 1e6, tally.maxTracks))
print(String(format: "latency (arrival − picture time) over %d updates: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
             l.count, 1000 * pct(0.5), 1000 * pct(0.99), 1000 * (l.last ?? .nan)))
print(String(format: "server CPU over the %.0f s window: %.2f s (%.0f %% of one core)", window, cpu, 100 * cpu / window))
print("burst: \(burstCount) malformed requests (and \(o.burst / 10) garbage datagrams); responses by HTTP status: \(statuses.keys.sorted().map { "\($0): \(statuses[$0]!)" }.joined(separator: ", "))")
print("after the burst: health HTTP \(health); live session: \(liveStatus["received"] ?? "?") plots taken, \(liveStatus["malformedDatagrams"] ?? "?") malformed datagrams counted; clients closed early: \(tally.closedEarly)")
print("server counters: \(stats)")
for fd in stalled { close(fd) }
let statsObject = (try? JSONSerialization.jsonObject(with: Data(stats.utf8))) as? [String: Any] ?? [:]
let droppedStalled = statsObject["liveSubscribersDropped"] as? Int ?? -1
print("stalled clients (handshake, then never read): 5; dropped by the server: \(droppedStalled)")
let serverErrors = String(decoding: serverLog.fileHandleForReading.availableData, as: UTF8.self)
if !serverErrors.isEmpty { print("server stderr: \(serverErrors.prefix(500))") }
let ok = health == 200 && tally.closedEarly == 0 && !l.isEmpty && statuses.keys.allSatisfy { (400..<500).contains($0) } && droppedStalled == 5
print(ok ? "PASS: still serving, every malformed request refused with a 4xx, every reading client served, the stalled ones dropped" : "FAIL")
try? FileManager.default.removeItem(atPath: data)
exit(ok ? 0 : 1)
