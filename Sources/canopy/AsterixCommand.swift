import ArgumentParser
import CanopyCore
import CanopyServer
import Foundation

/// `canopy asterix FILE`: what Canopy reads from a radar's ASTERIX recording.
struct AsterixDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asterix",
        abstract: "Decode the CAT048 radar plots of an ASTERIX recording (data blocks, or a pcap of their UDP datagrams) as JSON lines.",
        discussion: """
            Each CAT048 target report is printed as one JSON object (range in metres, azimuth in degrees, \
            heights in metres, radial speed in m/s); a summary goes to standard error. The live server \
            takes the same data on POST /api/live/asterix or --asterix-udp (docs/api.md). Exits 1 when \
            part of the file could not be decoded (what could is printed).
            """)

    @Argument(help: "A file of ASTERIX data blocks, or a classic pcap of UDP datagrams carrying them (gzip allowed).")
    var file: String

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path: file) } catch let e as InputFileError {
            printError("canopy asterix: \(e)")
            throw ExitCode(1)
        }
        guard !bytes.isEmpty else {
            printError("\(file): the file is empty (no ASTERIX data blocks, no pcap)")
            throw ExitCode(1)
        }
        var messages = [bytes]
        var problems: [String] = []
        var source = "data blocks"
        if let pcap = Asterix.pcapPayloads(bytes) {
            messages = pcap.payloads
            problems += pcap.problems.map { "\(file): \($0)" }
            // Packets of other protocols are said, not failed (a network capture has them).
            for n in pcap.notes { printError("\(file): note: \(n)") }
            source = "pcap, \(pcap.payloads.count) UDP datagram\(pcap.payloads.count == 1 ? "" : "s")"
        }
        var reports = 0, blocks = 0
        var other: [UInt8: Int] = [:]
        var out = ""
        for (k, m) in messages.enumerated() {
            let d = Asterix.decode(m)
            blocks += d.blocks
            reports += d.reports.count
            for (c, n) in d.otherCategories { other[c, default: 0] += n }
            for r in d.reports { out += r.json + "\n" }
            problems += d.problems.map { messages.count > 1 ? "\(file): datagram \(k): \($0)" : "\(file): \($0)" }
            if d.unlistedProblems > 0 {
                problems.append("\(file): \(messages.count > 1 ? "datagram \(k): " : "")\(d.unlistedProblems) more problem(s), not listed")
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
        let others = other.keys.sorted().map { String(format: "CAT%03d: %d", Int($0), other[$0]!) }.joined(separator: ", ")
        printError("\(file) (\(source)): \(blocks) block\(blocks == 1 ? "" : "s"), \(reports) CAT048 report\(reports == 1 ? "" : "s")" + (others.isEmpty ? "" : "; other categories (blocks): \(others)"))
        for p in problems { printError(p) }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
