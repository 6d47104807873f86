import CanopyBattle
import CanopyCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// ASTERIX category 062 (SDPS track messages, edition 1.18): the fused picture's tracks as
/// system tracks, the way air-surveillance systems exchange them (../shared/domain-notes.md §5).
///
/// Each track is one record with these items, in the category's UAP order:
/// - I062/010 data source (SAC, SIC);
/// - I062/070 time of track information: the picture's time, to which every track's position and
///   velocity are predicted (UTC time of day, 1/128 s);
/// - I062/105 position in WGS-84 (180/2²⁵ degrees);
/// - I062/185 velocity east and north (0.25 m/s);
/// - I062/245 target identification: the threat class in 8 characters of ICAO's 6-bit set
///   (`DRONE`, `DECOY`, `CRUISE`, `SSCRUISE`, `BALLIST`, `AEROBAL`, `UNKNOWN`), as "not
///   downlinked" (STI 1). CAT062 has no field for a hostile identity or a class;
/// - I062/040 track number (the track's id modulo 65,536);
/// - I062/080 track status: multi-sensor, confirmed, altitude from a 3-D radar; a second octet
///   with SIM set for a simulated run's tracks;
/// - I062/130 geometric altitude (6.25 ft) and I062/220 rate of climb (6.25 ft/min).
public enum Cat062 {
    public static let category: UInt8 = 62

    /// The 6-bit identification of a threat class (I062/245).
    public static func identification(of threatClass: String) -> String {
        switch threatClass {
        case "drone": "DRONE"
        case "decoy": "DECOY"
        case "cruise": "CRUISE"
        case "supersonic-cruise": "SSCRUISE"
        case "ballistic": "BALLIST"
        case "aeroballistic": "AEROBAL"
        default: "UNKNOWN"
        }
    }

    /// One record of a track. `time`: the UTC time its position and velocity hold for (the
    /// picture's: a receiver extrapolates from it).
    public static func record(_ t: Picture.TrackView, sac: UInt8, sic: UInt8, time: Date, simulated: Bool) -> [UInt8] {
        var out: [UInt8] = []
        // FSPEC: FRN 1 (010), 4 (070), 5 (105), 7 (185) | FRN 10 (245), 12 (040), 13 (080) | FRN 18 (130), 20 (220).
        out += [0b1001_1011, 0b0010_1101, 0b0001_0100]
        out += [sac, sic]
        // I062/070: seconds since UTC midnight in 1/128 s, 24 bits (wraps at midnight, as defined).
        let day = time.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400)
        let tod = UInt32(max(0, (day * 128).rounded())) % (86_400 * 128)
        out += [UInt8(tod >> 16 & 0xFF), UInt8(tod >> 8 & 0xFF), UInt8(tod & 0xFF)]
        // I062/105: latitude and longitude, signed 32 bits of 180/2²⁵ degrees.
        let unit = 180.0 / 33_554_432
        out += int32(t.latitude / unit) + int32(t.longitude / unit)
        // I062/185: velocity east (Vx) and north (Vy) from course (degrees true) and ground speed.
        let c = t.course * .pi / 180
        out += int16(t.speed * sin(c) / 0.25) + int16(t.speed * cos(c) / 0.25)
        // I062/245: STI 01 ("not downlinked"), spare, then 8 characters of 6 bits.
        out += [0b0100_0000] + sixBit(identification(of: t.threatClass))
        // I062/040: track number.
        let number = UInt16(truncatingIfNeeded: t.id)
        out += [UInt8(number >> 8), UInt8(number & 0xFF)]
        // I062/080: MON 0 (multi-sensor), SPI 0, MRH 0, SRC 2 (3-D radar), CNF 0 (confirmed);
        // FX into a second octet when simulated (SIM, its first bit).
        out += simulated ? [0b0000_1001, 0b1000_0000] : [0b0000_1000]
        // I062/130: geometric altitude in 6.25 ft, within its defined −1,500…150,000 ft (a
        // ballistic missile's apogee is beyond); I062/220: rate of climb in 6.25 ft/min.
        out += int16(min(max(t.altitude / 0.3048 / 6.25, -240), 24_000))
        out += int16(t.climb / 0.3048 * 60 / 6.25)
        return out
    }

    /// Data blocks (CAT, LEN, records) of every track, each block at most `maxBytes` long (a UDP
    /// datagram within an Ethernet frame by default).
    /// `timeScale`: wall seconds per simulated second (a run faster than real time is stamped
    /// with its compressed times, as its alerts are).
    public static func blocks(_ picture: Picture, sac: UInt8, sic: UInt8, epoch: Date, timeScale: Double = 1, simulated: Bool,
                              maxBytes: Int = 1_400) -> [[UInt8]] {
        // LEN is two octets.
        let maxBytes = min(max(maxBytes, 64), 65_535)
        let time = epoch.addingTimeInterval(picture.time * timeScale)
        var blocks: [[UInt8]] = []
        var block: [UInt8] = []
        func close() {
            guard block.count > 3 else { return }
            block[1] = UInt8(block.count >> 8); block[2] = UInt8(block.count & 0xFF)
            blocks.append(block)
        }
        for t in picture.tracks {
            let r = record(t, sac: sac, sic: sic, time: time, simulated: simulated)
            if block.isEmpty || block.count + r.count > maxBytes {
                close()
                block = [category, 0, 0]
            }
            block += r
        }
        close()
        return blocks
    }

    static func int32(_ x: Double) -> [UInt8] {
        let v = UInt32(bitPattern: Int32(clamping: Int64(x.isFinite ? x.rounded() : 0)))
        return [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    static func int16(_ x: Double) -> [UInt8] {
        let r = x.isFinite ? x.rounded() : 0
        let v = UInt16(bitPattern: Int16(clamping: Int64(max(-1e9, min(1e9, r)))))
        return [UInt8(v >> 8), UInt8(v & 0xFF)]
    }

    /// Up to 8 characters in ICAO's 6-bit set (A–Z 1–26, space 32, digits 48–57), padded with
    /// spaces: 48 bits in 6 octets.
    static func sixBit(_ text: String) -> [UInt8] {
        var bits: UInt64 = 0
        let chars = Array(text.uppercased().unicodeScalars.prefix(8))
        for i in 0..<8 {
            var code: UInt64 = 32
            if i < chars.count {
                let v = chars[i].value
                if (65...90).contains(v) { code = UInt64(v - 64) } else if (48...57).contains(v) { code = UInt64(v) }
            }
            bits = bits << 6 | code
        }
        return (0..<6).map { UInt8(bits >> (8 * (5 - $0)) & 0xFF) }
    }
}

/// CAT062 out: the picture's tracks as ASTERIX system tracks over UDP, one datagram per data
/// block, on every picture of every run and of the live session.
final class AsterixOut: @unchecked Sendable {
    private let lock = NSLock()
    private var socketFD: Int32 = -1
    private let destinations: [sockaddr_in]
    let sac: UInt8, sic: UInt8
    private(set) var sent = 0

    init(udp: [String], sac: UInt8, sic: UInt8) throws {
        destinations = try udp.map { try UDPDestination.parse($0, option: "--asterix-out") }
        self.sac = sac; self.sic = sic
        if !destinations.isEmpty {
            socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard socketFD >= 0 else { throw ServerError("cannot open a UDP socket for ASTERIX out: errno \(errno)") }
            var ttl: UInt8 = 1
            setsockopt(socketFD, Int32(IPPROTO_IP), IP_MULTICAST_TTL, &ttl, socklen_t(1))
        }
    }

    func publish(channel: PictureChannel, picture: Picture) {
        guard socketFD >= 0, !picture.tracks.isEmpty else { return }
        let blocks = Cat062.blocks(picture, sac: sac, sic: sic, epoch: channel.epoch, timeScale: channel.timeScale,
                                   simulated: channel.name != "live")
        lock.lock()
        defer { lock.unlock() }
        for b in blocks {
            for var d in destinations {
                _ = withUnsafePointer(to: &d) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socketFD, b, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            sent += 1
        }
    }
}

/// An IPv4 UDP destination given as HOST:PORT on the command line.
enum UDPDestination {
    static func parse(_ text: String, option: String) throws -> sockaddr_in {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), port > 0 else { throw ServerError("\(option) must be HOST:PORT (got '\(text)')") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, parts[0] == "localhost" ? "127.0.0.1" : String(parts[0]), &addr.sin_addr) == 1 else {
            throw ServerError("\(option): '\(parts[0])' is not an IPv4 address")
        }
        return addr
    }
}
