import CanopyCore
import CanopyTracking
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

@testable import CanopyServer

/// ASTERIX CAT048 input: the decoder against records assembled by hand from the specification,
/// corrupt input, pcap framing, and live ingest of a target's plots.
@Suite("ASTERIX CAT048")
struct AsterixTests {
    /// A block of three records. The first: FSPEC F7 F3 0C (fields 1–4, 6, 7; 8–11, 14; 19, 20);
    /// the second: FSPEC 90 (fields 1 and 4); the third: FSPEC 89 01 01 06 (fields 1, 5; SP, RE).
    static let block: [UInt8] = {
        let first: [UInt8] = [
            0xF7, 0xF3, 0x0C,
            0x07, 0x2A,                         // 010: SAC 7, SIC 42
            0x07, 0x08, 0x40,                   // 140: 460864 / 128 = 3600.5 s
            0x21, 0x00,                         // 020: TYP 1 (PSR), FX; extension: not a test target
            0x64, 0x00, 0x40, 0x00,             // 040: ρ 25600 / 256 = 100 NM, θ 16384 / 65536 · 360 = 90°
            0x3F, 0xF6,                         // 090: V 0, FL −10 / 4 = −2.5 (two's complement)
            0x88, 0x10, 0xF0,                   // 130: SRL and PAM present, one octet each
            0xAB, 0xCD, 0xEF,                   // 220: aircraft address
            0x50, 0x54, 0xD4, 0xC6, 0x08, 0x20, // 240: "TEST1   " in ICAO 6-bit characters
            0x01, 1, 2, 3, 4, 5, 6, 7, 0x40,    // 250: one Comm-B message (8 octets)
            0x0A, 0xBC,                         // 161: track number 0xABC = 2748
            0x41, 0x00,                         // 170: FX, one extension
            0x01, 0xE0,                         // 110: 480 · 25 ft = 12,000 ft
            0xC0, 0x03, 0x85, 0x01, 0, 1, 0, 2, 0, 3,  // 120: CAL (D 0, 901 − 1024 = −123 m/s), RDS (one, 6 octets)
        ]
        let second: [UInt8] = [0x90, 0x07, 0x2B, 0x00, 0x80, 0x80, 0x00]  // 010: 7/43; 040: ρ 0.5 NM, θ 180°
        // 010: 7/44; 070: V 0, Mode 3/A 7700 (octal); SP: length 3 (itself and 2); RE: length 2.
        let third: [UInt8] = [0x89, 0x01, 0x01, 0x06, 0x07, 0x2C, 0x0F, 0xC0, 0x03, 0xAA, 0xBB, 0x02, 0xCC]
        let length = 3 + first.count + second.count + third.count
        return [48, UInt8(length >> 8), UInt8(length & 0xFF)] + first + second + third
    }()

    @Test("A record assembled by hand from the specification decodes to its values; every item of the profile it carries is stepped over")
    func handAssembled() throws {
        let d = Asterix.decode(Self.block)
        #expect(d.problems.isEmpty, "\(d.problems)")
        #expect(d.blocks == 1 && d.reports.count == 3)
        let r = try #require(d.reports.first)
        #expect(r.sac == 7 && r.sic == 42 && r.timeOfDay == 3600.5 && r.detectionType == 1 && !r.test && !r.simulated)
        #expect(r.range == 185_200 && r.azimuth == .pi / 2)
        #expect(r.flightLevel == -2.5 && r.flightLevelValid)
        #expect(r.aircraftAddress == 0xABCDEF && r.callsign == "TEST1" && r.trackNumber == 2748)
        #expect(abs(r.height3D! - 12_000 * 0.3048) < 1e-9)
        #expect(r.dopplerSpeed == -123 && r.dopplerValid)
        #expect(r.mode3A == nil)
        let s = d.reports[1]
        #expect(s.sac == 7 && s.sic == 43 && s.range == 926 && s.azimuth == .pi && s.timeOfDay == nil && s.dopplerSpeed == nil)
        let m = d.reports[2]
        #expect(m.sac == 7 && m.sic == 44 && m.mode3A == 0o7700 && m.range == nil && m.json.contains("\"mode3A\":\"7700\""))
        // Another category's block is counted and passed over; the CAT048 block after it decoded.
        let other: [UInt8] = [34, 0, 6, 0x80, 1, 2]
        let both = Asterix.decode(other + Self.block)
        #expect(both.problems.isEmpty && both.blocks == 2 && both.otherCategories == [34: 1] && both.reports == d.reports)
    }

    @Test("Truncated, inconsistent and random input is a named problem, never a crash; the blocks before it stand")
    func corruptInput() {
        let full = Self.block
        for n in 0..<full.count {
            let d = Asterix.decode(Array(full[0..<n]))
            #expect(!d.problems.isEmpty || n == 0, "\(n) bytes decoded without a problem")
            #expect(d.reports.isEmpty, "a truncated block gave reports")
            // The same cut with the block's LEN saying so: each record cut short, at every item, is named.
            if n >= 4 {
                var cut = Array(full[0..<n])
                cut[1] = UInt8(n >> 8); cut[2] = UInt8(n & 0xFF)
                let c = Asterix.decode(cut)
                #expect(c.reports.count <= 3 && (c.problems.count == 1 || [full.count - 13, full.count - 20].contains(n)),
                        "\(n) bytes: \(c.problems)")
            }
        }
        // A LEN shorter than its records: the record that runs past it is named, the first stands.
        var short = full
        short[2] -= 3
        let s = Asterix.decode(Array(short[0..<(full.count - 3)]))
        #expect(s.reports.count == 2 && s.problems.count == 1 && s.problems[0].contains("CAT048 record at offset"), "\(s.problems)")
        // A second, valid block after a bad record still decodes.
        let again = Asterix.decode(Array(short[0..<(full.count - 3)]) + full)
        #expect(again.reports.count == 5)
        // A tenth FSPEC octet is refused.
        let long: [UInt8] = [48, 0, 16] + [UInt8](repeating: 0x01, count: 10) + [0x80, 7, 42]
        #expect(Asterix.decode(long).problems.first?.contains("FSPEC longer than 9 octets") == true)
        var rng = RandomStream(seed: 48, component: "asterix-fuzz")
        for _ in 0..<3_000 {
            var bytes = (0..<Int(rng.uniform(0, 80))).map { _ in UInt8(rng.uniform(0, 256)) }
            if !bytes.isEmpty && rng.bernoulli(0.7) { bytes[0] = 48 }
            if bytes.count >= 3 && rng.bernoulli(0.7) { bytes[1] = 0; bytes[2] = UInt8(min(bytes.count, 255)) }
            _ = Asterix.decode(bytes)
            _ = Asterix.pcapPayloads([0xD4, 0xC3, 0xB2, 0xA1] + bytes)
        }
    }

    /// A classic little-endian pcap of one Ethernet / IPv4 / UDP frame carrying `payload`.
    static func pcap(_ payload: [UInt8], fragment: Bool = false) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
        let udp: [UInt8] = [0x52, 0x08, 0x52, 0x08, UInt8((8 + payload.count) >> 8), UInt8((8 + payload.count) & 0xFF), 0, 0] + payload
        let ip: [UInt8] = [0x45, 0, UInt8((20 + udp.count) >> 8), UInt8((20 + udp.count) & 0xFF), 0, 0, fragment ? 0x20 : 0, 0, 64, 17, 0, 0,
                           10, 0, 0, 1, 239, 1, 1, 1] + udp
        let frame: [UInt8] = [UInt8](repeating: 1, count: 12) + [0x08, 0x00] + ip
        let header = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65_535) + le32(1)
        return header + le32(1) + le32(0) + le32(frame.count) + le32(frame.count) + frame
    }

    @Test("A pcap's UDP datagrams are found through Ethernet and IPv4; a file that is not a pcap is not one")
    func pcapFraming() throws {
        let p = try #require(Asterix.pcapPayloads(Self.pcap(Self.block)))
        #expect(p.problems.isEmpty && p.payloads == [Self.block])
        #expect(Asterix.pcapPayloads(Self.block) == nil)
        // Cut inside the packet: named.
        let cut = Self.pcap(Self.block).dropLast(5)
        #expect(Asterix.pcapPayloads(Array(cut))?.problems.count == 1)
        // A fragment (MF set) is not a whole datagram: passed over, and said to be.
        let fragment = Asterix.pcapPayloads(Self.pcap(Self.block, fragment: true))
        #expect(fragment?.payloads.isEmpty == true && fragment?.problems.isEmpty == true
                && fragment?.notes.first?.contains("1 IPv4 fragment(s) passed over") == true)
        // Cut inside the next packet's header: named (it had passed in silence).
        let cutHeader = Self.pcap(Self.block) + [1, 0, 0, 0, 0, 0]
        #expect(Asterix.pcapPayloads(cutHeader)?.problems.first?.contains("too few for a packet header") == true)
        // A packet that is not UDP (TCP here): counted.
        var tcp = Self.pcap(Self.block)
        tcp[24 + 16 + 14 + 9] = 6
        #expect(Asterix.pcapPayloads(tcp)?.notes.first?.contains("1 packet(s) are not whole IPv4 UDP datagrams") == true)
        // pcapng is named, not misread.
        #expect(Asterix.pcapPayloads([0x0A, 0x0D, 0x0D, 0x0A] + [UInt8](repeating: 0, count: 28))?.problems.first?.contains("pcapng") == true)
        // Linux cooked captures (link type 113) whose packets are too short for their header: no crash.
        var cooked = Self.pcap(Self.block)
        cooked[20] = 113
        for n in stride(from: 24, through: cooked.count, by: 1) {
            var p = Array(cooked[0..<n])
            if n >= 40 { let len = n - 40; p[32] = UInt8(len & 0xFF); p[33] = UInt8(len >> 8 & 0xFF); p[36] = p[32]; p[37] = p[33] }
            _ = Asterix.pcapPayloads(p)
        }
    }

    /// One CAT048 record of a plot: 010, 140, 020 (PSR), 040, 110, and 120 CAL when `doppler`.
    static func plot(sac: UInt8, sic: UInt8, timeOfDay: Double, range: Double, azimuth: Double, height: Double, doppler: Double?) -> [UInt8] {
        let tod = Int((timeOfDay * 128).rounded())
        let rho = Int((range / 1852 * 256).rounded()), theta = Int((azimuth / (2 * .pi) * 65_536).rounded()) & 0xFFFF
        let h = Int((height / 0.3048 / 25).rounded()) & 0x3FFF
        // FSPEC: fields 1–4 and FX; none of 8–14 and FX; 19 (and 20).
        let fspec: [UInt8] = [0xF1, 0x01, doppler == nil ? 0x08 : 0x0C]
        var body: [UInt8] = [sac, sic, UInt8(tod >> 16 & 0xFF), UInt8(tod >> 8 & 0xFF), UInt8(tod & 0xFF), 0x20,
                             UInt8(rho >> 8), UInt8(rho & 0xFF), UInt8(theta >> 8), UInt8(theta & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)]
        if let doppler {
            let v = Int(doppler.rounded()) & 0x03FF
            body += [0x80, UInt8(v >> 8), UInt8(v & 0xFF)]
        }
        return fspec + body
    }

    @Test("Live ingest of a radar's CAT048 plots (named by its SAC/SIC in the briefing) makes the track the JSON feed makes")
    func liveIngest() throws {
        // The quickstart with an ASTERIX source identifier on its medium radar.
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
            .replacingOccurrences(of: "{id: R-medium-Kyiv-E, type: radar-medium, lat: 50.30, lon: 31.15, alt: 25}",
                                  with: "{id: R-medium-Kyiv-E, type: radar-medium, lat: 50.30, lon: 31.15, alt: 25, sac: 7, sic: 42}")
        #expect(text.contains("sac: 7"))
        let path = NSTemporaryDirectory() + "canopy-asterix-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let live = try LiveSession(briefingPath: path, autoTick: false)
        let radar = live.briefing.sensors[0]
        let epoch = live.epoch.timeIntervalSince1970
        for k in 0..<24 {
            let t = Double(k) * 5
            let (aer, rate) = westboundDrone(t, seenFrom: radar.position)
            let record = Self.plot(sac: 7, sic: 42, timeOfDay: (epoch + t).truncatingRemainder(dividingBy: 86_400), range: aer.range,
                                   azimuth: aer.azimuth < 0 ? aer.azimuth + 2 * .pi : aer.azimuth, height: 1500, doppler: rate)
            let block = [UInt8(48), UInt8((3 + record.count) >> 8), UInt8((3 + record.count) & 0xFF)] + record
            let r = live.ingestAsterix(block)
            #expect(r.accepted == 1, "\(r.problems)")
            live.tick(at: t + 0.5)
        }
        let picture = try #require(live.channel.latest)
        #expect(picture.tracks.count == 1)
        let trk = try #require(picture.tracks.first)
        #expect(abs(trk.speed - 50) < 10 && abs(trk.course - 270) < 10, "speed \(trk.speed), course \(trk.course)")
        // A radar the briefing does not name, and a plot without a height, are named.
        let unknown = Self.plot(sac: 9, sic: 9, timeOfDay: 0, range: 1000, azimuth: 0, height: 100, doppler: nil)
        let u = live.ingestAsterix([48, 0, UInt8(3 + unknown.count)] + unknown)
        #expect(u.accepted == 0 && u.problems.first?.contains("no radar of the briefing has this SAC/SIC") == true, "\(u.problems)")
        // Simulated targets, test targets and field monitors are passed over, without a problem.
        for (typ, ext): (UInt8, [UInt8]) in [(0x21, [0x80]), (0x20 | 0x10, []), (0x22, [])] {
            let r: [UInt8] = [0xB0, 7, 42] + [typ] + ext + [0x10, 0, 0, 0]  // 010, 020, 040
            let x = live.ingestAsterix([48, 0, UInt8(3 + r.count)] + r)
            #expect(x.accepted == 0 && x.problems.isEmpty, "\(x.problems)")
        }
        let flat: [UInt8] = [0x90, 7, 42, 0x10, 0, 0, 0]
        let f = live.ingestAsterix([48, 0, UInt8(3 + flat.count)] + flat)
        #expect(f.accepted == 0 && f.problems.first?.contains("no I048/140") == true, "\(f.problems)")
        // Thousands of bad blocks: the first 100 problems listed, the rest counted (a 2 MiB body
        // had made a 56 MB answer).
        let empties = live.ingestAsterix(Array(repeating: [UInt8(48), 0, 4, 0], count: 5_000).flatMap { $0 })
        #expect(empties.problems.count == Asterix.maxProblems && empties.unlisted == 5_000 - Asterix.maxProblems)
    }

    @Test("A plot's elevation from its height: the point at that elevation has that height")
    func elevationFromHeight() throws {
        let radar = Geodetic(latitudeDegrees: 50.3, longitudeDegrees: 31.15, height: 25)
        for (range, height) in [(30_000.0, 1_500.0), (150_000, 9_000), (5_000, 60), (250_000, 12_000)] {
            let el = try #require(LiveSession.elevation(range: range, azimuth: 1.2, height: height, radar: radar))
            let h = LocalFrame(origin: radar).geodetic(aer: AER(azimuth: 1.2, elevation: el, range: range)).height
            #expect(abs(h - height) < 0.01, "range \(range): \(h) against \(height)")
        }
        // 10 km up cannot be 5 km away.
        #expect(LiveSession.elevation(range: 5_000, azimuth: 0, height: 10_000, radar: radar) == nil)
    }

    @Test("POST /api/live/asterix: needs the token and a live session; a report of an unknown radar is refused by name")
    func httpRoute() async throws {
        let without = try CanopyServer(settings: settings(tempDir("asterix-none")))
        try await without.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer(bytes: Self.block)) { r in
                #expect(r.status == .conflict)
            }
        }
        var s = settings(tempDir("asterix-live"))
        s.liveBriefing = quickstart
        let server = try CanopyServer(settings: s)
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/api/live/asterix", method: .post, body: ByteBuffer(bytes: Self.block)) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer(bytes: Self.block)) { r in
                #expect(r.status == .badRequest)
                let problems = (body(r)["problems"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
                #expect(problems.count == 3 && problems.allSatisfy { $0.contains("no radar of the briefing has this SAC/SIC") }, "\(problems)")
            }
            // A body beyond the limit: a JSON 413, counted (it had no body, and no count).
            let huge = ByteBuffer(repeating: 0x30, count: ServerSettings.maxBody + 1)
            for path in ["/api/live/asterix", "/api/live/detections"] {
                try await client.execute(uri: path, method: .post, headers: auth, body: huge) { r in
                    #expect(r.status == .contentTooLarge)
                    #expect((body(r)["error"] as? String)?.contains("larger than") == true, "\(path)")
                }
            }
            try await client.execute(uri: "/api/stats", method: .get) { r in
                #expect((body(r)["refused"] as? [String: Any])?["live.tooLarge"] as? Int == 2, "\(String(buffer: r.body))")
            }
        }
        server.live?.stop()
        // A briefing that names its radar: a plot of now is accepted (202).
        let text = try String(contentsOfFile: quickstart, encoding: .utf8)
            .replacingOccurrences(of: "{id: R-medium-Kyiv-E, type: radar-medium, lat: 50.30, lon: 31.15, alt: 25}",
                                  with: "{id: R-medium-Kyiv-E, type: radar-medium, lat: 50.30, lon: 31.15, alt: 25, sac: 7, sic: 42}")
        let path = tempDir("asterix-briefing") + ".yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var named = settings(tempDir("asterix-named"))
        named.liveBriefing = path
        let accepting = try CanopyServer(settings: named)
        try await accepting.makeApplication().test(.router) { client in
            let (aer, rate) = westboundDrone(0, seenFrom: Geodetic(latitudeDegrees: 50.30, longitudeDegrees: 31.15, height: 25))
            let record = Self.plot(sac: 7, sic: 42, timeOfDay: Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400),
                                   range: aer.range, azimuth: aer.azimuth < 0 ? aer.azimuth + 2 * .pi : aer.azimuth, height: 1500, doppler: rate)
            let block = [UInt8(48), 0, UInt8(3 + record.count)] + record
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer(bytes: block)) { r in
                #expect(r.status == .accepted)
                #expect(body(r)["accepted"] as? Int == 1 && body(r)["skipped"] as? Int == 0, "\(body(r))")
            }
            // A block of another category is passed over, and said to be (it was answered as
            // nothing at all).
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer(bytes: [34, 0, 6, 0x80, 7, 42])) { r in
                #expect(r.status == .accepted)
                #expect(body(r)["accepted"] as? Int == 0 && body(r)["skipped"] as? Int == 1, "\(body(r))")
            }
            // One good report and one of an unknown radar: 202, the problem as {field, message},
            // as a 400 gives it (the 202 had given a bare string).
            let stranger = Self.plot(sac: 9, sic: 9, timeOfDay: Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400),
                                     range: aer.range, azimuth: aer.azimuth < 0 ? aer.azimuth + 2 * .pi : aer.azimuth, height: 1500, doppler: rate)
            let two = [UInt8(48), 0, UInt8(3 + record.count + stranger.count)] + record + stranger
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer(bytes: two)) { r in
                #expect(r.status == .accepted)
                let problems = body(r)["problems"] as? [[String: Any]] ?? []
                #expect(problems.count == 1 && (problems.first?["message"] as? String)?.contains("SAC/SIC") == true, "\(body(r))")
                // The report is the field (it had been empty for every ASTERIX problem).
                #expect((problems.first?["field"] as? String)?.hasPrefix("CAT048 report 1 (SAC/SIC 9/9)") == true, "\(body(r))")
            }
            // Nothing in the message: 400, for either feed (it had been 202 with nothing counted).
            try await client.execute(uri: "/api/live/asterix", method: .post, headers: auth, body: ByteBuffer()) { r in
                #expect(r.status == .badRequest && (body(r)["error"] as? String)?.contains("nothing to ingest") == true)
            }
            try await client.execute(uri: "/api/live/detections", method: .post, headers: auth, body: ByteBuffer(string: "[]")) { r in
                #expect(r.status == .badRequest && (body(r)["error"] as? String)?.contains("nothing to ingest") == true)
            }
            // detections that is not an array is named as such (it was read as one detection).
            try await client.execute(uri: "/api/live/detections", method: .post, headers: auth, body: ByteBuffer(string: #"{"detections": "x"}"#)) { r in
                let problems = body(r)["problems"] as? [[String: Any]] ?? []
                #expect(r.status == .badRequest && problems.first?["field"] as? String == "detections"
                        && (problems.first?["message"] as? String)?.contains("must be an array") == true, "\(body(r))")
            }
        }
        accepting.live?.stop()
    }
}
