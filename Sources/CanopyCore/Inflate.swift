/// Gzip (RFC 1952) and raw DEFLATE (RFC 1951) decompression, written from the RFCs so that Canopy
/// reads `*.json.gz` inputs with no system library. Huffman codes are decoded through one table
/// per code, indexed by the next `maxLength` bits of the stream (bit-reversed canonical codes).

public struct DecompressionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

public enum Gzip {
    /// Whether the bytes start with the gzip magic number.
    public static func isGzip(_ data: [UInt8]) -> Bool { data.count >= 2 && data[0] == 0x1F && data[1] == 0x8B }

    /// Decompresses every member of a gzip file, checking each member's CRC-32 and length.
    public static func decompress(_ data: [UInt8], limit: Int = Int.max) throws -> [UInt8] {
        try data.withUnsafeBufferPointer { input -> [UInt8] in
            var out = OutputBuffer(capacity: min(max(1024, hintSize(input)), max(limit, 1024)))
            out.limit = limit
            defer { out.release() }
            var pos = 0
            var member = 0
            while pos < input.count {
                // Trailing zero padding after the last member is tolerated (as gzip does).
                if member > 0 && input[pos...].allSatisfy({ $0 == 0 }) { break }
                pos = try header(input, at: pos)
                let start = out.count
                var inflater = Inflater(input: input, position: pos)
                try inflater.inflate(into: &out)
                pos = inflater.bytePosition
                guard pos + 8 <= input.count else { throw DecompressionError("gzip: truncated member trailer") }
                let crc = UInt32(input[pos]) | UInt32(input[pos + 1]) << 8 | UInt32(input[pos + 2]) << 16 | UInt32(input[pos + 3]) << 24
                let size = UInt32(input[pos + 4]) | UInt32(input[pos + 5]) << 8 | UInt32(input[pos + 6]) << 16 | UInt32(input[pos + 7]) << 24
                pos += 8
                let produced = out.count - start
                guard UInt32(truncatingIfNeeded: produced) == size else {
                    throw DecompressionError("gzip: member \(member + 1) length \(produced) does not match its trailer (\(size))")
                }
                guard CRC32.checksum(UnsafeBufferPointer(start: out.base + start, count: produced)) == crc else {
                    throw DecompressionError("gzip: member \(member + 1) fails its CRC-32 check (corrupt file)")
                }
                member += 1
            }
            guard member > 0 else { throw DecompressionError("gzip: no data") }
            return out.array()
        }
    }

    private static func hintSize(_ input: UnsafeBufferPointer<UInt8>) -> Int {
        guard input.count >= 4 else { return 0 }
        let n = input.count
        let s = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        // The trailer of a truncated or corrupt file is not a size: DEFLATE expands at most
        // 1032 to 1, so no more than that is reserved up front.
        return min(s, 1 << 31, n * 1032) + 64
    }

    /// Parses a member header; returns the position of the DEFLATE data.
    private static func header(_ d: UnsafeBufferPointer<UInt8>, at start: Int) throws -> Int {
        guard start + 10 <= d.count else { throw DecompressionError("gzip: truncated header") }
        guard d[start] == 0x1F, d[start + 1] == 0x8B else { throw DecompressionError("gzip: bad magic number (not a gzip file)") }
        guard d[start + 2] == 8 else { throw DecompressionError("gzip: unknown compression method \(d[start + 2])") }
        let flags = d[start + 3]
        guard flags & 0xE0 == 0 else { throw DecompressionError("gzip: reserved header flags set") }
        var p = start + 10
        if flags & 4 != 0 {  // FEXTRA
            guard p + 2 <= d.count else { throw DecompressionError("gzip: truncated header") }
            p += 2 + (Int(d[p]) | Int(d[p + 1]) << 8)
        }
        for bit in [UInt8(8), 16] where flags & bit != 0 {  // FNAME, FCOMMENT: zero-terminated
            while p < d.count && d[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 2 != 0 { p += 2 }  // FHCRC
        guard p < d.count else { throw DecompressionError("gzip: truncated header") }
        return p
    }
}

/// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), slicing by 4.
public enum CRC32 {
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 1024)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<4 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            while i + 4 <= n {
                c ^= UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                c = t[768 + Int(c & 0xFF)] ^ t[512 + Int((c >> 8) & 0xFF)] ^ t[256 + Int((c >> 16) & 0xFF)] ^ t[Int(c >> 24)]
                i += 4
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBufferPointer { checksum($0) } }
}

/// A growable byte buffer with unchecked writes (capacity is ensured per block or per match).
struct OutputBuffer {
    var base: UnsafeMutablePointer<UInt8>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    /// The most the output may grow to (a small file of zeros can inflate a thousandfold).
    var limit = Int.max

    mutating func reserve(_ extra: Int) throws {
        guard count + extra > capacity else { return }
        guard count + extra <= limit else {
            throw DecompressionError("gzip: the data inflates beyond \(limit >> 20) MiB, more than any input Canopy reads")
        }
        let newCap = min(max(capacity * 2, count + extra), max(limit, count + extra))
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = newCap
    }

    func array() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
    func release() { base.deallocate() }
}

/// A raw DEFLATE decoder over a byte buffer.
struct Inflater {
    let input: UnsafeBufferPointer<UInt8>
    var pos: Int
    var bits: UInt64 = 0
    var bitCount = 0
    /// Zero bytes fed past the end of the input (must not be consumed).
    var overrun = 0

    // Decoding tables, reused across blocks.
    var litTable = [UInt32](repeating: 0, count: 1 << 15)
    var distTable = [UInt32](repeating: 0, count: 1 << 15)
    var litBits = 0, distBits = 0

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    init(input: UnsafeBufferPointer<UInt8>, position: Int) {
        self.input = input
        pos = position
    }

    /// The byte after the last one the stream used (bits left in the buffer are returned).
    var bytePosition: Int { pos - (bitCount >> 3) }

    @inline(__always) mutating func refill() {
        if pos + 8 <= input.count {
            let w = UInt64(littleEndian: UnsafeRawPointer(input.baseAddress! + pos).loadUnaligned(as: UInt64.self))
            bits |= w << UInt64(bitCount)
            pos += (63 - bitCount) >> 3
            bitCount |= 56
        } else {
            while bitCount <= 56 {
                if pos < input.count {
                    bits |= UInt64(input[pos]) << UInt64(bitCount)
                } else {
                    overrun += 1
                }
                pos += 1
                bitCount += 8
            }
        }
    }

    @inline(__always) mutating func take(_ n: Int) -> Int {
        if bitCount < n { refill() }
        let v = Int(bits & ((1 << UInt64(n)) - 1))
        bits >>= UInt64(n)
        bitCount -= n
        return v
    }

    mutating func checkOverrun() throws {
        if pos - (bitCount >> 3) > input.count { throw DecompressionError("deflate: the compressed data ends too soon (a truncated file?)") }
    }

    /// Builds a decoding table for code lengths `lengths`; returns the table's index width.
    /// Entries are (symbol << 4) | length; 0 marks an unused code.
    static func build(_ lengths: UnsafeBufferPointer<UInt8>, into table: inout [UInt32]) throws -> Int {
        var count = [Int](repeating: 0, count: 16)
        for l in lengths { count[Int(l)] += 1 }
        count[0] = 0
        var maxLen = 0
        for l in 1...15 where count[l] > 0 { maxLen = l }
        if maxLen == 0 { return 0 }
        // Over-subscribed codes are errors; incomplete codes are allowed (RFC 1951 uses them for one-distance-code blocks).
        var left = 1
        for l in 1...15 {
            left <<= 1
            left -= count[l]
            if left < 0 { throw DecompressionError("deflate: over-subscribed Huffman code") }
        }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for l in 1...15 {
            code = (code + count[l - 1]) << 1
            next[l] = code
        }
        let size = 1 << maxLen
        table.withUnsafeMutableBufferPointer { t in
            for i in 0..<size { t[i] = 0 }
            for (sym, l8) in lengths.enumerated() where l8 != 0 {
                let l = Int(l8)
                let c = next[l]
                next[l] += 1
                var rev = 0
                for b in 0..<l where c & (1 << b) != 0 { rev |= 1 << (l - 1 - b) }
                let entry = UInt32(sym) << 4 | UInt32(l)
                var k = rev
                while k < size {
                    t[k] = entry
                    k += 1 << l
                }
            }
        }
        return maxLen
    }

    @inline(__always) mutating func decode(_ table: UnsafeBufferPointer<UInt32>, _ width: Int) throws -> Int {
        if bitCount < width {
            refill()
            // Past the end of the input the decoder reads zeros, and in a truncated stream they can
            // decode as symbols for ever: stop as soon as any of them has been used.
            if overrun > 0 { try checkOverrun() }
        }
        let e = table[Int(bits & ((1 << UInt64(width)) - 1))]
        let l = Int(e & 15)
        if l == 0 { throw DecompressionError("deflate: invalid Huffman code") }
        bits >>= UInt64(l)
        bitCount -= l
        return Int(e >> 4)
    }

    mutating func inflate(into out: inout OutputBuffer) throws {
        var final = false
        var lengths = [UInt8](repeating: 0, count: 320)
        while !final {
            final = take(1) == 1
            let type = take(2)
            switch type {
            case 0:
                // Stored: align to a byte, LEN, NLEN, raw bytes.
                let drop = bitCount & 7
                bits >>= UInt64(drop)
                bitCount -= drop
                let len = take(16), nlen = take(16)
                guard len == (~nlen & 0xFFFF) else { throw DecompressionError("deflate: stored block length check fails") }
                // Return whole bytes still in the bit buffer to the input.
                pos -= bitCount >> 3
                bits = 0
                bitCount = 0
                guard pos + len <= input.count else { throw DecompressionError("deflate: truncated stored block") }
                try out.reserve(len)
                (out.base + out.count).update(from: input.baseAddress! + pos, count: len)
                out.count += len
                pos += len
                continue
            case 1:
                for i in 0..<144 { lengths[i] = 8 }
                for i in 144..<256 { lengths[i] = 9 }
                for i in 256..<280 { lengths[i] = 7 }
                for i in 280..<288 { lengths[i] = 8 }
                for i in 288..<320 { lengths[i] = 5 }
                litBits = try lengths.withUnsafeBufferPointer { try Self.build(UnsafeBufferPointer(rebasing: $0[0..<288]), into: &litTable) }
                distBits = try lengths.withUnsafeBufferPointer { try Self.build(UnsafeBufferPointer(rebasing: $0[288..<320]), into: &distTable) }
            case 2:
                let hlit = take(5) + 257, hdist = take(5) + 1, hclen = take(4) + 4
                var cl = [UInt8](repeating: 0, count: 19)
                for i in 0..<hclen { cl[Self.codeLengthOrder[i]] = UInt8(take(3)) }
                var clTable = [UInt32](repeating: 0, count: 128)
                let clBits = try cl.withUnsafeBufferPointer { try Self.build($0, into: &clTable) }
                guard clBits > 0 else { throw DecompressionError("deflate: empty code-length code") }
                var i = 0
                while i < hlit + hdist {
                    let sym = try clTable.withUnsafeBufferPointer { try decode($0, clBits) }
                    switch sym {
                    case 0...15:
                        lengths[i] = UInt8(sym); i += 1
                    case 16:
                        guard i > 0 else { throw DecompressionError("deflate: repeat with no previous length") }
                        let prev = lengths[i - 1]
                        let n = 3 + take(2)
                        guard i + n <= hlit + hdist else { throw DecompressionError("deflate: code lengths overflow") }
                        for _ in 0..<n { lengths[i] = prev; i += 1 }
                    default:
                        let n = sym == 17 ? 3 + take(3) : 11 + take(7)
                        guard i + n <= hlit + hdist else { throw DecompressionError("deflate: code lengths overflow") }
                        for _ in 0..<n { lengths[i] = 0; i += 1 }
                    }
                }
                guard lengths[256] != 0 else { throw DecompressionError("deflate: no end-of-block code") }
                litBits = try lengths.withUnsafeBufferPointer { try Self.build(UnsafeBufferPointer(rebasing: $0[0..<hlit]), into: &litTable) }
                distBits = try lengths.withUnsafeBufferPointer { try Self.build(UnsafeBufferPointer(rebasing: $0[hlit..<(hlit + hdist)]), into: &distTable) }
            default:
                throw DecompressionError("deflate: invalid block type 3")
            }
            try decodeBlock(into: &out)
            try checkOverrun()
        }
        try checkOverrun()
    }

    mutating func decodeBlock(into out: inout OutputBuffer) throws {
        let lt = litTable, dt = distTable
        let lb = litBits, db = distBits
        try lt.withUnsafeBufferPointer { lit in
            try dt.withUnsafeBufferPointer { dist in
                while true {
                    let sym = try decode(lit, lb)
                    if sym < 256 {
                        if out.count == out.capacity { try out.reserve(1) }
                        out.base[out.count] = UInt8(sym)
                        out.count += 1
                        continue
                    }
                    if sym == 256 { return }
                    let li = sym - 257
                    guard li < 29 else { throw DecompressionError("deflate: invalid length symbol \(sym)") }
                    let length = Self.lengthBase[li] + take(Self.lengthExtra[li])
                    guard db > 0 else { throw DecompressionError("deflate: match with no distance code") }
                    let ds = try decode(dist, db)
                    guard ds < 30 else { throw DecompressionError("deflate: invalid distance symbol \(ds)") }
                    let distance = Self.distBase[ds] + take(Self.distExtra[ds])
                    guard distance <= out.count else { throw DecompressionError("deflate: distance \(distance) reaches before the start") }
                    try out.reserve(length)
                    let dst = out.base + out.count
                    let src = dst - distance
                    if distance >= length {
                        dst.update(from: src, count: length)
                    } else {
                        for k in 0..<length { dst[k] = src[k] }
                    }
                    out.count += length
                }
            }
        }
    }
}
