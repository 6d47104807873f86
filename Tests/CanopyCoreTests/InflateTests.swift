import Foundation
import Testing

@testable import CanopyCore

@Suite("Gzip and DEFLATE")
struct InflateTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return [UInt8](try Data(contentsOf: url))
    }

    @Test("Stored, fixed-Huffman and multi-member files decompress to their originals (made by gzip 1.12)")
    func roundTrips() throws {
        for (gz, plain) in [("random.bin.gz", "random.bin"), ("short.txt.gz", "short.txt"), ("two.txt.gz", "two.txt")] {
            let out = try Gzip.decompress(try Self.fixture(gz))
            #expect(out == (try Self.fixture(plain)), "\(gz)")
        }
    }

    @Test("A limit on the output stops a file that inflates beyond it, with a message")
    func limit() throws {
        let gz = try Self.fixture("random.bin.gz")
        let size = try Self.fixture("random.bin").count
        #expect(try Gzip.decompress(gz, limit: size).count == size)
        do {
            _ = try Gzip.decompress(gz, limit: size / 2)
            Issue.record("inflated beyond its limit")
        } catch let e as DecompressionError {
            #expect(e.description.contains("inflates beyond"), "\(e)")
        }
    }

    @Test("CRC-32 of known strings")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test("Corrupt and truncated inputs are errors, never crashes")
    func corrupt() throws {
        let good = try Self.fixture("short.txt.gz")
        var bad = good
        bad[bad.count - 9] ^= 0x55  // last data byte before the trailer
        #expect(throws: DecompressionError.self) { try Gzip.decompress(bad) }
        for cut in [3, 12, good.count / 2, good.count - 4] {
            #expect(throws: DecompressionError.self) { try Gzip.decompress(Array(good[0..<cut])) }
        }
        // A dynamic-Huffman block cut anywhere: the zeros read past the end decode as symbols,
        // so without a check the decoder would write output for ever.
        let dynamic = try Self.fixture("dynamic.csv.gz")
        #expect(try Gzip.decompress(dynamic) == (try Self.fixture("dynamic.csv")))
        for cut in stride(from: 11, to: dynamic.count - 8, by: 97) {
            #expect(throws: DecompressionError.self) { try Gzip.decompress(Array(dynamic[0..<cut])) }
        }
        var magic = good
        magic[0] = 0
        #expect(throws: DecompressionError.self) { try Gzip.decompress(magic) }
        // Random garbage after a valid header: must throw or return, not trap.
        var rng = RandomStream(seed: 5, component: "inflate-fuzz")
        for _ in 0..<200 {
            var g = Array(good[0..<10])
            for _ in 0..<Int(rng.next() % 200) { g.append(UInt8(truncatingIfNeeded: rng.next())) }
            _ = try? Gzip.decompress(g)
        }
    }
}
