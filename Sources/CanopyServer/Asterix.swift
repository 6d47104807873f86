import Foundation

/// EUROCONTROL ASTERIX input: data blocks (CAT, LEN, records), of which Canopy reads category 048,
/// monoradar target reports (EUROCONTROL-SPEC-0149-4, "ASTERIX Part 4, Category 048", editions
/// 1.21–1.27 share the user application profile read here). Other categories are counted and
/// passed over (a radar feed interleaves CAT034 service messages). Every item of the profile is
/// stepped over by its length rules; the items a tracker needs are decoded. Every read is bounds
/// checked: a truncated or inconsistent block is a problem naming its offset, and the blocks
/// before it stand.
public enum Asterix {
    /// One CAT048 target report: the plot's measured polar position, its height when the radar
    /// or the transponder gives one, and its radial speed when the radar measures it.
    public struct Cat048Report: Sendable, Equatable {
        /// I048/010: the radar's system area and identification codes.
        public var sac: UInt8, sic: UInt8
        /// I048/140: UTC seconds since midnight (LSB 1/128 s).
        public var timeOfDay: Double?
        /// I048/020 TYP: 0 no detection, 1 PSR, 2 SSR, 3 SSR + PSR, 4–7 Mode S (± PSR); and its
        /// SIM (simulated), RAB (a field monitor's fixed transponder) and TST (test target) bits.
        public var detectionType: UInt8?
        public var simulated = false, fieldMonitor = false, test = false
        /// I048/040: slant range (m; LSB 1/256 NM) and azimuth (rad from north, clockwise; LSB 2π/65536).
        public var range: Double?, azimuth: Double?
        /// I048/070: Mode 3/A code (octal digits as an integer), when validated.
        public var mode3A: UInt16?
        /// I048/090: flight level (hundreds of feet; LSB 1/4), and whether it is validated (V = 0).
        public var flightLevel: Double?
        public var flightLevelValid = false
        /// I048/220, I048/240: Mode S address and identification.
        public var aircraftAddress: UInt32?
        public var callsign: String?
        /// I048/161: the radar's own track number.
        public var trackNumber: UInt16?
        /// I048/110: height measured by a 3-D radar (m above mean sea level; LSB 25 ft).
        public var height3D: Double?
        /// I048/120 CAL: calculated radial Doppler speed (m/s; LSB 1 m/s), and whether it is valid
        /// (D = 0) rather than doubtful.
        public var dopplerSpeed: Double?
        public var dopplerValid = false
        public init(sac: UInt8, sic: UInt8) { self.sac = sac; self.sic = sic }
    }

    /// What one buffer of blocks held.
    public struct Decoded: Sendable {
        public var reports: [Cat048Report] = []
        /// Blocks of other categories, by category.
        public var otherCategories: [UInt8: Int] = [:]
        public var blocks = 0
        /// Each problem names the byte offset of its block (and record), and what is wrong; decoding
        /// stops at the first block that cannot be delimited.
        public var problems: [String] = []
        /// Problems past `Asterix.maxProblems`, counted and not listed (a 2 MiB body of empty
        /// blocks had made a 56 MB answer).
        public var unlistedProblems = 0

        mutating func problem(_ text: @autoclosure () -> String) {
            if problems.count < Asterix.maxProblems { problems.append(text()) } else { unlistedProblems += 1 }
        }
    }

    /// The most problems listed for one message; the rest are counted.
    public static let maxProblems = 100

    static let nauticalMile = 1852.0
    static let foot = 0.3048

    /// Decodes a concatenation of ASTERIX data blocks (one UDP datagram, or a recording).
    public static func decode(_ data: [UInt8]) -> Decoded {
        var out = Decoded()
        var at = 0
        while at < data.count {
            guard data.count - at >= 3 else {
                out.problem("offset \(at): \(data.count - at) trailing byte(s), not a block (a block starts with CAT and a 2-byte LEN)")
                break
            }
            let cat = data[at]
            let len = Int(data[at + 1]) << 8 | Int(data[at + 2])
            guard len >= 3 else { out.problem("block at offset \(at): LEN \(len) is less than its own 3-byte header"); break }
            guard at + len <= data.count else {
                out.problem("block at offset \(at): LEN \(len) runs past the end of the data (\(data.count - at) bytes left)")
                break
            }
            out.blocks += 1
            var r = at + 3
            let end = at + len
            while r < end {
                if cat != 48 {
                    // Records of other categories cannot be delimited without their profile: the
                    // block is counted whole.
                    out.otherCategories[cat, default: 0] += 1
                    break
                }
                switch record048(data, from: r, to: end) {
                case .success(let (report, next)):
                    out.reports.append(report)
                    r = next
                case .failure(let e):
                    out.problem("block at offset \(at), CAT048 record at offset \(r): \(e.message)")
                    r = end
                }
            }
            at = end
        }
        return out
    }

    struct Failure: Error { var message: String }

    /// The item lengths of CAT048's profile, by field reference number (1-based): fixed sizes,
    /// or how to step over the item.
    enum Shape { case fixed(Int), extended, repetitive(Int), compound([Int]), explicit }
    static let profile048: [Shape] = [
        .fixed(2), .fixed(3), .extended, .fixed(4), .fixed(2), .fixed(2), .compound([1, 1, 1, 1, 1, 1, 1]),  // 010 140 020 040 070 090 130
        .fixed(3), .fixed(6), .repetitive(8), .fixed(2), .fixed(4), .fixed(4), .extended,              // 220 240 250 161 042 200 170
        .fixed(4), .extended, .fixed(2), .fixed(4), .fixed(2), .compound([2, -6]), .fixed(2),            // 210 030 080 100 110 120 230
        .fixed(7), .fixed(1), .fixed(2), .fixed(1), .fixed(2), .explicit, .explicit,                     // 260 055 050 065 060 SP RE
    ]

    /// One CAT048 record from `start`: the report and where the next record begins.
    static func record048(_ d: [UInt8], from start: Int, to end: Int) -> Result<(Cat048Report, Int), Failure> {
        // FSPEC: 7 presence bits per octet, FX in bit 1.
        var present: [Int] = []
        var p = start
        var frn = 1
        while true {
            guard p < end else { return .failure(Failure(message: "the FSPEC runs past the block")) }
            let b = d[p]
            p += 1
            for bit in 0..<7 where b & (0x80 >> bit) != 0 { present.append(frn + bit) }
            frn += 7
            if b & 1 == 0 { break }
            guard p - start < 9 else { return .failure(Failure(message: "FSPEC longer than 9 octets")) }
        }
        guard !present.isEmpty else { return .failure(Failure(message: "an empty FSPEC (no item)")) }
        var rep = Cat048Report(sac: 0, sic: 0)
        var haveSource = false
        func need(_ n: Int, _ what: String) throws { if p + n > end { throw Failure(message: "\(what) runs past the block") } }
        do {
            for f in present {
                guard f <= profile048.count else { throw Failure(message: "FSPEC bit for field \(f), beyond CAT048's \(profile048.count)") }
                let name = itemName(f)
                let begin = p
                switch profile048[f - 1] {
                case .fixed(let n):
                    try need(n, name)
                    p += n
                case .extended:
                    repeat { try need(1, name); p += 1 } while d[p - 1] & 1 != 0
                case .repetitive(let n):
                    try need(1, name)
                    let count = Int(d[p])
                    try need(1 + n * count, name)
                    p += 1 + n * count
                case .compound(let subs):
                    // Primary subfield: presence bits, FX-extended; then each present subfield
                    // (a negative size: repetitive, REP then REP × |size| octets).
                    var flags: [Bool] = []
                    repeat {
                        try need(1, name)
                        let b = d[p]
                        p += 1
                        for bit in 0..<7 { flags.append(b & (0x80 >> bit) != 0) }
                    } while d[p - 1] & 1 != 0
                    for (k, on) in flags.enumerated() where on {
                        guard k < subs.count else { throw Failure(message: "\(name): subfield \(k + 1) is not defined") }
                        let n = subs[k]
                        if n > 0 {
                            try need(n, name); p += n
                        } else {
                            try need(1, name)
                            let count = Int(d[p])
                            try need(1 + -n * count, name)
                            p += 1 + -n * count
                        }
                    }
                case .explicit:
                    try need(1, name)
                    let n = Int(d[p])
                    guard n >= 1 else { throw Failure(message: "\(name): length 0") }
                    try need(n, name)
                    p += n
                }
                try decodeItem(f, d, begin, p, into: &rep, haveSource: &haveSource)
            }
        } catch let e as Failure {
            return .failure(e)
        } catch {
            return .failure(Failure(message: "\(error)"))
        }
        guard haveSource else { return .failure(Failure(message: "no I048/010 (data source identifier): the radar is unknown")) }
        return .success((rep, p))
    }

    static func itemName(_ frn: Int) -> String {
        let names = ["010", "140", "020", "040", "070", "090", "130", "220", "240", "250", "161", "042", "200", "170",
                     "210", "030", "080", "100", "110", "120", "230", "260", "055", "050", "065", "060", "SP", "RE"]
        return frn <= names.count ? "I048/\(names[frn - 1])" : "field \(frn)"
    }

    /// Decodes the items a tracker uses from bytes [b, e) of field `frn`.
    static func decodeItem(_ frn: Int, _ d: [UInt8], _ b: Int, _ e: Int, into r: inout Cat048Report, haveSource: inout Bool) throws {
        func u16(_ i: Int) -> Int { Int(d[i]) << 8 | Int(d[i + 1]) }
        switch frn {
        case 1:
            r.sac = d[b]; r.sic = d[b + 1]; haveSource = true
        case 2:
            r.timeOfDay = Double(Int(d[b]) << 16 | Int(d[b + 1]) << 8 | Int(d[b + 2])) / 128
        case 3:
            r.detectionType = d[b] >> 5
            r.simulated = d[b] & 0x10 != 0
            r.fieldMonitor = d[b] & 0x02 != 0
            if e - b >= 2 { r.test = d[b + 1] & 0x80 != 0 }
        case 4:
            r.range = Double(u16(b)) / 256 * nauticalMile
            r.azimuth = Double(u16(b + 2)) / 65_536 * 2 * .pi
        case 5:
            if d[b] & 0x80 == 0 { r.mode3A = UInt16(u16(b) & 0x0FFF) }
        case 6:
            // 14 bits, two's complement (negative flight levels exist below sea-level pressure).
            var v = u16(b) & 0x3FFF
            if v & 0x2000 != 0 { v -= 0x4000 }
            r.flightLevel = Double(v) / 4
            r.flightLevelValid = d[b] & 0x80 == 0
        case 8:
            r.aircraftAddress = UInt32(d[b]) << 16 | UInt32(d[b + 1]) << 8 | UInt32(d[b + 2])
        case 9:
            var bits: UInt64 = 0
            for k in 0..<6 { bits = bits << 8 | UInt64(d[b + k]) }
            var s = ""
            for k in 0..<8 {
                let c = Int((bits >> UInt64(42 - 6 * k)) & 0x3F)
                switch c {
                case 1...26: s.append(Character(UnicodeScalar(64 + c)!))
                case 48...57: s.append(Character(UnicodeScalar(c)!))
                default: s.append(" ")
                }
            }
            let t = s.trimmingCharacters(in: .whitespaces)
            r.callsign = t.isEmpty ? nil : t
        case 11:
            r.trackNumber = UInt16(u16(b) & 0x0FFF)
        case 19:
            var v = u16(b) & 0x3FFF
            if v & 0x2000 != 0 { v -= 0x4000 }
            r.height3D = Double(v) * 25 * foot
        case 20:
            // Primary subfield, then CAL (2 octets) when its bit is set.
            if d[b] & 0x80 != 0 {
                var q = b
                while d[q] & 1 != 0 { q += 1 }  // past the primary subfield's extensions
                q += 1
                var v = u16(q) & 0x03FF
                if v & 0x0200 != 0 { v -= 0x0400 }
                r.dopplerSpeed = Double(v)
                r.dopplerValid = d[q] & 0x80 == 0
            }
        default:
            break
        }
    }

    /// The UDP payloads of a classic pcap file (Ethernet, Linux cooked or raw IPv4 frames; IPv4,
    /// UDP), in capture order, with the file's problems (a cut file) and notes (packets passed
    /// over: other protocols, fragments; a capture of a radar network has them). Nil when the data
    /// is not a pcap file.
    public static func pcapPayloads(_ d: [UInt8]) -> (payloads: [[UInt8]], problems: [String], notes: [String])? {
        guard d.count >= 24 else { return nil }
        let magic = UInt32(d[0]) << 24 | UInt32(d[1]) << 16 | UInt32(d[2]) << 8 | UInt32(d[3])
        let little: Bool
        switch magic {
        case 0xD4C3_B2A1, 0x4D3C_B2A1: little = true
        case 0xA1B2_C3D4, 0xA1B2_3C4D: little = false
        case 0x0A0D_0D0A: return ([], ["a pcapng file, which is not read: save it as classic pcap (editcap -F pcap IN OUT)"], [])
        default: return nil
        }
        func u32(_ i: Int) -> Int {
            little ? Int(d[i]) | Int(d[i + 1]) << 8 | Int(d[i + 2]) << 16 | Int(d[i + 3]) << 24
                : Int(d[i]) << 24 | Int(d[i + 1]) << 16 | Int(d[i + 2]) << 8 | Int(d[i + 3])
        }
        let link = u32(20) & 0xFFFF  // (the upper bits carry FCS flags)
        var payloads: [[UInt8]] = [], problems: [String] = []
        var at = 24
        var packet = 0, notUDP = 0, fragments = 0
        while at + 16 <= d.count {
            let captured = u32(at + 8)
            let start = at + 16
            guard captured >= 0, start + captured <= d.count else {
                problems.append("pcap packet \(packet) at offset \(at): its \(captured) bytes run past the file")
                break
            }
            var ip: Int
            switch link {
            case 1:  // Ethernet, with any 802.1Q / 802.1ad tags
                ip = start + 12
                guard ip + 2 <= start + captured else { ip = -1; break }
                var type = Int(d[ip]) << 8 | Int(d[ip + 1])
                while (type == 0x8100 || type == 0x88A8) && ip + 6 <= start + captured { ip += 4; type = Int(d[ip]) << 8 | Int(d[ip + 1]) }
                ip = type == 0x0800 ? ip + 2 : -1
            case 113:  // Linux cooked
                ip = captured >= 16 && Int(d[start + 14]) << 8 | Int(d[start + 15]) == 0x0800 ? start + 16 : -1
            case 101, 228: ip = start  // raw IPv4
            default:
                problems.append("pcap link type \(link) is not read (Ethernet, Linux cooked or raw IP)")
                return (payloads, problems, [])
            }
            let frameEnd = start + captured
            // IPv4 carrying UDP, a whole datagram (not a fragment: MF clear, offset 0).
            if ip >= 0, ip + 20 <= frameEnd, d[ip] >> 4 == 4, d[ip] & 0x0F >= 5, d[ip + 9] == 17,
               d[ip + 6] & 0x3F == 0, d[ip + 7] == 0 {
                let ihl = Int(d[ip] & 0x0F) * 4
                let udp = ip + ihl
                if udp + 8 <= frameEnd {
                    let length = Int(d[udp + 4]) << 8 | Int(d[udp + 5])
                    let payloadEnd = min(frameEnd, udp + max(length, 8))
                    payloads.append(Array(d[(udp + 8)..<payloadEnd]))
                } else { notUDP += 1 }
            } else if ip >= 0, ip + 20 <= frameEnd, d[ip] >> 4 == 4, d[ip + 9] == 17 {
                fragments += 1
            } else {
                notUDP += 1
            }
            at = frameEnd
            packet += 1
        }
        // What was not read is said (a cut file, TCP or fragmented packets had passed in silence).
        if at < d.count && at + 16 > d.count {
            problems.append("pcap: \(d.count - at) byte(s) after packet \(packet - 1), too few for a packet header (the file is cut)")
        }
        var notes: [String] = []
        if notUDP > 0 { notes.append("pcap: \(notUDP) packet(s) are not whole IPv4 UDP datagrams and were passed over") }
        if fragments > 0 { notes.append("pcap: \(fragments) IPv4 fragment(s) passed over (fragments are not reassembled)") }
        return (payloads, problems, notes)
    }
}

extension Asterix.Cat048Report {
    /// The report as one JSON object (SI units: m, degrees, m/s; absent items null).
    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("sac", Int(sac)); w.field("sic", Int(sic))
        w.field("timeOfDay", timeOfDay, digits: 7)
        w.key("type"); if let t = detectionType { w.int(Int(t)) } else { w.null() }
        w.field("simulated", simulated); w.field("fieldMonitor", fieldMonitor); w.field("test", test)
        w.field("range", range, digits: 3); w.field("azimuth", azimuth.map { $0 * 180 / .pi }, digits: 6)
        w.field("mode3A", mode3A.map { String($0, radix: 8).leftPadded(to: 4) })
        w.field("flightLevel", flightLevel, digits: 2); w.field("flightLevelValid", flightLevelValid)
        w.field("height3D", height3D, digits: 2)
        w.field("dopplerSpeed", dopplerSpeed, digits: 0); w.field("dopplerValid", dopplerValid)
        w.field("trackNumber", trackNumber.map { Double($0) }, digits: 0)
        w.field("aircraftAddress", aircraftAddress.map { String($0, radix: 16, uppercase: true).leftPadded(to: 6) })
        w.field("callsign", callsign)
        w.endObject()
        return w.text
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
