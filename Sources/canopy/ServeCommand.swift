import ArgumentParser
import CanopyCore
import CanopyServer
import CanopyScenario
import Foundation
import Hummingbird

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the web map and the API: runs stored, the picture live over WebSocket, CoT and alerts out.",
        discussion: """
            Open http://127.0.0.1:8080/ in a browser. Anything that writes or starts runs needs the token printed \
            at start (kept in DATA/token). The API is described in docs/api.md.
            """
    )

    @Option(parsing: .unconditional, help: "TCP port of the web map and API.")
    var port = 8080
    @Option(help: "Address to listen on (default: loopback only; 0.0.0.0 exposes the server to the network).")
    var host = "127.0.0.1"
    @Option(help: "Data directory: the run store (canopy.sqlite) and the token.")
    var data = "canopy-data"
    @Option(help: "A scenario to run at start.")
    var scenario: String?
    @Option(parsing: .unconditional, help: "Pace of runs: simulated seconds per wall second (0: as fast as possible).")
    var speed = 10.0
    @Option(help: "Token for writes (default: generated on first start and kept in DATA/token).")
    var token: String?
    @Option(name: .customLong("cot-udp"), help: "Send CoT events to HOST:PORT over UDP (repeatable; the TAK mesh default is 239.2.3.1:6969).")
    var cotUDP: [String] = []
    @Option(name: .customLong("cot-tcp"), parsing: .unconditional, help: "Stream CoT events to TAK clients connecting to this TCP port on loopback (0: off).")
    var cotTCP = 0
    @Option(help: "POST each alert change as JSON to this URL (repeatable).")
    var webhook: [String] = []
    @Option(help: "Live ingest: a briefing scenario (its sensors, fire units, assets and regions; its raid is ignored).")
    var live: String?
    @Option(name: .customLong("live-udp"), parsing: .unconditional, help: "Take live detections as JSON datagrams on this UDP port on loopback (0: off).")
    var liveUDP = 0
    @Option(name: .customLong("asterix-udp"), parsing: .unconditional, help: "Take live radar plots as ASTERIX CAT048 data blocks on this UDP port on loopback (0: off).")
    var asterixUDP = 0
    @Option(name: .customLong("asterix-out"), help: "Send the picture's tracks as ASTERIX CAT062 system tracks to HOST:PORT over UDP (repeatable).")
    var asterixOut: [String] = []
    @Option(name: .customLong("asterix-source"), help: "The data source (SAC/SIC, each 0 to 255) named in the CAT062 tracks sent.")
    var asterixSource = "0/1"
    @Option(parsing: .unconditional, help: "Simulated seconds between stored picture frames (the replay's resolution).")
    var frameInterval = 10.0

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1 to 65535 (got \(port))") }
        if let problem = ServerSettings.speedProblem(speed) { throw ValidationError("--speed " + problem) }
        if let token, token.isEmpty || token.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--token must be a word without spaces (got '\(token)'); leave it out to have one generated")
        }
        guard frameInterval > 0 else { throw ValidationError("--frame-interval must be > 0 (got \(frameInterval))") }
        guard Self.source(asterixSource) != nil else {
            throw ValidationError("--asterix-source must be SAC/SIC, each a whole number 0 to 255 (got '\(asterixSource)')")
        }
        guard (0...65535).contains(cotTCP), (0...65535).contains(liveUDP), (0...65535).contains(asterixUDP) else {
            throw ValidationError("ports must be 0 to 65535")
        }
        if liveUDP > 0 && liveUDP == asterixUDP {
            // Both sockets bind (each asks to share the port), and every datagram then goes to one of
            // them: the JSON detections were all rejected as malformed ASTERIX.
            throw ValidationError("--live-udp and --asterix-udp are both \(liveUDP): give each its own port")
        }
        if live == nil && (liveUDP > 0 || asterixUDP > 0) {
            throw ValidationError("--live-udp and --asterix-udp feed a live session: give its briefing with --live BRIEFING.yaml")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("--data \(data): is a file; give a directory for the server's runs and token")
        }
        for w in webhook {
            guard let u = URL(string: w), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), !(u.host ?? "").isEmpty else {
                throw ValidationError("--webhook '\(w)': must be an http:// or https:// URL")
            }
        }
    }

    /// The other commands are synchronous (and the binary's main stays synchronous, which keeps
    /// it usable under valgrind); the server runs on the concurrency pool while this thread waits.
    func run() throws {
        let outcome = ServeOutcome()
        let done = DispatchSemaphore(value: 0)
        let command = self
        Task {
            do { try await command.serve() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let e = outcome.error { throw e }
    }

    struct DataDirectoryBusy: Error { var message: String }

    /// Takes DATA/serve.lock for this process (creating the directory), or says which process holds it.
    static func lockDataDirectory(_ data: String) throws -> Int32 {
        try? FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let path = data + "/serve.lock"
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { return -1 }  // an unwritable directory: the store names the problem
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, 31)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw DataDirectoryBusy(message: "another canopy serve (process \(holder)) is using --data \(data); stop it, or choose another --data")
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }

    /// A start-up failure as a user can act on it: the data directory, its database, a port.
    static func describe(_ error: any Error, data: String) -> String {
        if let e = error as? RunStoreError { return e.description }
        let text = "\(error)"
        if text.contains("SQLite error") {
            return "\(data)/canopy.sqlite cannot be opened: \(text) (move it away, or choose another --data)"
        }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain {
            let path = ns.userInfo[NSFilePathErrorKey] as? String ?? data
            return "--data \(data): cannot create or write \(path) (\(ns.localizedDescription))"
        }
        return text
    }

    static func source(_ text: String) -> (UInt8, UInt8)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = UInt8(parts[0]), let b = UInt8(parts[1]) else { return nil }
        return (a, b)
    }

    func serve() async throws {
        var s = ServerSettings()
        s.host = host; s.port = port; s.dataDirectory = data; s.token = token; s.speed = speed; s.frameInterval = frameInterval
        s.cotUDP = cotUDP; s.cotTCPPort = cotTCP; s.webhooks = webhook; s.liveBriefing = live; s.liveUDPPort = liveUDP
        s.liveAsterixUDPPort = asterixUDP
        s.asterixOut = asterixOut
        if let (sac, sic) = Self.source(asterixSource) { s.asterixSAC = sac; s.asterixSIC = sic }
        // One server to a data directory: a second one's store would mark the first one's runs
        // interrupted, and both would write them. The lock is the kernel's (flock), so it goes
        // with the process, however it ends.
        let lockFD: Int32
        do { lockFD = try Self.lockDataDirectory(data) } catch let e as DataDirectoryBusy {
            printError("canopy serve: \(e.message)")
            throw ExitCode(1)
        }
        defer { close(lockFD) }
        let server: CanopyServer
        do {
            server = try CanopyServer(settings: s)
        } catch {
            printError("canopy serve: " + Self.describe(error, data: data))
            throw ExitCode(1)
        }
        if asterixUDP > 0, let session = server.live, session.asterixRadarCount == 0 {
            printError("canopy serve: warning: no radar of \(live ?? "the briefing") names its ASTERIX source (sensors[i].sac and .sic), so every CAT048 report on --asterix-udp will be refused")
        }
        // The scenario is read and checked now, and its run started once the server listens: a
        // server that cannot listen (its port in use) must not leave a run in the store.
        let firstRun: (text: String, file: String)?
        if let scenario {
            let text: String
            do { text = try InputFile.readText(path: scenario) } catch let e as InputFileError {
                printError(e.message == InputFile.notUTF8 ? "canopy serve: \(scenario) \(e.message)"
                                                           : "canopy serve: cannot read \(scenario) (\(e.message))")
                throw ExitCode(1)
            }
            let file = URL(fileURLWithPath: scenario).lastPathComponent
            do { _ = try ScenarioLoader.load(text: text, fileName: file) } catch let e as ScenarioError {
                for p in e.problems { printError(p.description) }
                throw ExitCode(1)
            }
            firstRun = (text, file)
        } else {
            firstRun = nil
        }
        let url = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/"
        let token = server.token
        let store = s.dataDirectory + "/canopy.sqlite"
        let speed = self.speed
        let app = server.makeApplication { _ in
            let banner = "Canopy serving the map at \(url)\ntoken for writes: \(token)   (Authorization: Bearer TOKEN)\ndata: \(store)\n"
            FileHandle.standardOutput.write(Data(banner.utf8))
            guard let (text, file) = firstRun else { return }
            do {
                let r = try server.runs.start(text: text, fileName: file, speed: speed)
                FileHandle.standardOutput.write(Data("run \(r.id): \(r.name) at \(speed == 0 ? "full speed" : "×\(speed)")\n".utf8))
            } catch {
                printError("canopy serve: the run of \(file) did not start: \(error)")
            }
        }
        do {
            try await app.runService()
            server.stopLive()
        } catch {
            server.stopLive()
            let text = "\(error)"
            if text.contains("UnknownHost") {
                printError("canopy serve: cannot listen on \(host):\(port): no such address (give an IP address of this machine, such as 127.0.0.1 or 0.0.0.0)")
            } else if text.contains("Address already in use") {
                printError("canopy serve: cannot listen on \(host):\(port): the address is in use (is another server running? choose another --port)")
            } else if text.contains("Permission denied") {
                printError("canopy serve: cannot listen on \(host):\(port): permission denied (ports below 1024 need privileges)")
            } else {
                printError("canopy serve: \(text)")
            }
            throw ExitCode(1)
        }
    }
}

final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    func set(_ e: any Error) { lock.lock(); stored = e; lock.unlock() }
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return stored }
}
