import CanopyBattle
import CanopyCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Cursor-on-Target out: each confirmed track (and each fire unit) as a CoT XML event
/// (../shared/formats/cot.md, MITRE's CoT types), sent over UDP to the given destinations and
/// streamed over TCP to every connected TAK client.
final class CoTOut: @unchecked Sendable {
    private let lock = NSLock()
    private var udpSocket: Int32 = -1
    private let destinations: [sockaddr_in]
    private var listenSocket: Int32 = -1
    private var clients: [Int32] = []
    private(set) var sent = 0
    private var unitsSent: [String: Date] = [:]
    /// Seconds after `time` that an event goes stale (a few update periods).
    let staleAfter = 15.0

    init(udp: [String], tcpPort: Int) throws {
        destinations = try udp.map { try UDPDestination.parse($0, option: "--cot-udp") }
        if !destinations.isEmpty {
            udpSocket = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard udpSocket >= 0 else { throw ServerError("cannot open a UDP socket for CoT: errno \(errno)") }
            // Multicast (the TAK default 239.2.3.1:6969) stays on the local network.
            var ttl: UInt8 = 1
            setsockopt(udpSocket, Int32(IPPROTO_IP), IP_MULTICAST_TTL, &ttl, socklen_t(1))
        }
        if tcpPort > 0 {
            listenSocket = try Self.listen(port: tcpPort)
            let s = listenSocket
            let t = Thread { [weak self] in self?.acceptLoop(s) }
            t.name = "canopy-cot-tcp"
            t.start()
        }
    }

    static func listen(port: Int) throws -> Int32 {
        let s = try Loopback.bound(Int32(SOCK_STREAM.rawValue), port: port, what: "CoT streaming (--cot-tcp)")
        guard Glibc.listen(s, 16) == 0 else {
            close(s)
            throw ServerError("cannot listen for CoT clients on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return s
    }

    func acceptLoop(_ s: Int32) {
        while true {
            let c = accept(s, nil, nil)
            if c < 0 { if errno == EINTR { continue }; return }
            // A client that cannot take an update at once is dropped, never waited for.
            let flags = fcntl(c, F_GETFL, 0)
            _ = fcntl(c, F_SETFL, flags | O_NONBLOCK)
            lock.lock(); clients.append(c); lock.unlock()
        }
    }

    var tcpClientCount: Int { lock.lock(); defer { lock.unlock() }; return clients.count }

    func publish(channel: PictureChannel, picture: Picture) {
        guard udpSocket >= 0 || listenSocket >= 0 else { return }
        let now = Date()
        var events: [String] = []
        for t in picture.tracks { events.append(Self.event(track: t, source: channel.name, now: now, stale: staleAfter)) }
        lock.lock()
        defer { lock.unlock() }
        // Fire units stand still: sent on the first picture and then every 20 s (stale after 60 s).
        if now.timeIntervalSince(unitsSent[channel.name] ?? .distantPast) >= 20 {
            // Runs that stopped publishing long ago are forgotten (one entry a run otherwise).
            if unitsSent.count > 64 { unitsSent = unitsSent.filter { now.timeIntervalSince($0.value) < 600 } }
            unitsSent[channel.name] = now
            for f in picture.fireUnits { events.append(Self.event(fireUnit: f, source: channel.name, now: now, stale: 60)) }
        }
        for e in events {
            let bytes = Array(e.utf8)
            for var d in destinations {
                _ = withUnsafePointer(to: &d) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(udpSocket, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                sent += 1
            }
        }
        if !clients.isEmpty {
            let stream = Array(events.joined().utf8)
            var keep: [Int32] = []
            for c in clients {
                let n = send(c, stream, stream.count, Int32(MSG_NOSIGNAL))
                if n == stream.count { keep.append(c); sent += events.count } else { close(c) }
            }
            clients = keep
        }
    }

    /// CoT type of a threat class (MITRE CoTtypes).
    static func type(of threatClass: String) -> String {
        switch threatClass {
        case "drone": return "a-h-A-M-F-Q"
        case "decoy": return "a-h-A-W-D"
        case "cruise", "supersonic-cruise": return "a-h-A-W-M-L"
        case "ballistic": return "a-h-A-W-M-S-S"
        case "aeroballistic": return "a-h-A-W-M-A-S"
        default: return "a-u-A"
        }
    }

    static let classNames = ["drone": "strike drone", "decoy": "decoy drone", "cruise": "cruise missile",
                             "supersonic-cruise": "supersonic cruise missile", "ballistic": "ballistic missile",
                             "aeroballistic": "air-launched ballistic missile"]

    static func event(track t: Picture.TrackView, source: String, now: Date, stale: Double) -> String {
        let time = UTC.iso(now), staleTime = UTC.iso(now.addingTimeInterval(stale))
        let uid = "canopy.\(source).trk.\(String(format: "%05d", t.id))"
        let slope = degrees(atan2(t.climb, max(t.speed, 1e-6)))
        var s = "<event version=\"2.0\" uid=\"\(uid)\" type=\"\(type(of: t.threatClass))\" how=\"m-f\" time=\"\(time)\" start=\"\(time)\" stale=\"\(staleTime)\">"
        s += String(format: "<point lat=\"%.6f\" lon=\"%.6f\" hae=\"%.1f\" ce=\"%.1f\" le=\"%.1f\"/>",
                    t.latitude, t.longitude, t.altitude, t.sigmaHorizontal, t.sigmaVertical)
        s += "<detail>" + String(format: "<track course=\"%.1f\" speed=\"%.1f\" slope=\"%.1f\"/>", t.course, t.speed, slope)
        s += "<contact callsign=\"TRK-\(String(format: "%04d", t.id))\"/>"
        var remarks = "Canopy fused track \(t.id); threat: \(classNames[t.threatClass] ?? "unknown")"
        if let a = t.aimAsset { remarks += "; aim: \(a)" }
        if let tti = t.timeToImpact { remarks += String(format: "; impact in %.0f s", tti) }
        s += "<remarks>" + xmlEscape(remarks) + "</remarks></detail></event>"
        return s
    }

    static func event(fireUnit f: Picture.FireUnitView, source: String, now: Date, stale: Double) -> String {
        let time = UTC.iso(now), staleTime = UTC.iso(now.addingTimeInterval(stale))
        var s = "<event version=\"2.0\" uid=\"canopy.\(source).unit.\(xmlEscape(f.id))\" type=\"a-f-G\" how=\"h-e\" time=\"\(time)\" start=\"\(time)\" stale=\"\(staleTime)\">"
        s += String(format: "<point lat=\"%.6f\" lon=\"%.6f\" hae=\"0.0\" ce=\"10.0\" le=\"10.0\"/>", f.latitude, f.longitude)
        s += "<detail><contact callsign=\"\(xmlEscape(f.id))\"/>"
        s += "<remarks>" + xmlEscape("\(f.displayName) air defence, \(f.roundsLeft) of \(f.magazine) rounds left") + "</remarks></detail></event>"
        return s
    }
}

func xmlEscape(_ s: String) -> String { MarkupText.escape(s) }

/// A loopback IPv4 address and a socket bound to it.
enum Loopback {
    static func address(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// A socket of `type` bound to 127.0.0.1:port; `what` names it in the error.
    static func bound(_ type: Int32, port: Int, what: String) throws -> Int32 {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { throw ServerError("cannot open a socket for \(what): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(port: port)
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ServerError("cannot bind \(what) to 127.0.0.1:\(port): \(why)")
        }
        return fd
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A UDP port taking one JSON message per datagram (live detections).
final class UDPListener: @unchecked Sendable {
    let socketFD: Int32
    let port: Int
    init(port: Int, what: String = "live detections (--live-udp)", handler: @escaping @Sendable (Data) -> Void) throws {
        let fd = try Loopback.bound(Int32(SOCK_DGRAM.rawValue), port: port, what: what)
        self.port = port
        socketFD = fd
        let t = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n < 0 { if errno == EINTR { continue }; return }
                handler(Data(buffer[0..<n]))
            }
        }
        t.name = "canopy-live-udp"
        t.start()
    }
    func close() { shutdown(socketFD, Int32(SHUT_RDWR)); Glibc.close(socketFD) }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs each alert change as JSON to the configured URLs (fire and forget; failures counted).
final class Webhooks: @unchecked Sendable {
    let urls: [URL]
    private let lock = NSLock()
    private var _sent = 0, _failed = 0
    var sent: Int { lock.lock(); defer { lock.unlock() }; return _sent }
    var failed: Int { lock.lock(); defer { lock.unlock() }; return _failed }
    init(urls: [String]) { self.urls = urls.compactMap(URL.init(string:)) }

    func send(channel: PictureChannel, episode: AlertEpisode) {
        guard !urls.isEmpty else { return }
        var w = JSONWriter()
        w.beginObject()
        w.field("event", episode.finished == nil ? "alert_on" : "alert_off")
        w.field("source", channel.name)
        w.key("alert"); w.raw(alertJSON(channel, episode))
        w.endObject()
        let body = Data(w.text.utf8)
        for url in urls {
            var req = URLRequest(url: url, timeoutInterval: 15)
            req.httpMethod = "POST"
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
            req.httpBody = body
            URLSession.shared.dataTask(with: req) { [weak self] _, response, error in
                guard let self else { return }
                let ok = error == nil && ((response as? HTTPURLResponse).map { (200..<300).contains($0.statusCode) } ?? false)
                self.lock.lock(); if ok { self._sent += 1 } else { self._failed += 1 }; self.lock.unlock()
            }.resume()
        }
    }
}
