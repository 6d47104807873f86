#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON syntax or schema error at a place in the text.
public struct JSONReadError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let line: Int
    public let column: Int
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A pull reader over JSON text: the caller walks the document it expects (objects, arrays,
/// numbers) and nothing is built that it does not ask for. Made for large, regular inputs
/// (hundreds of thousands of number rows) where a generic tree would cost more than the parse.
/// Numbers take Clinger's exact fast path (≤ 15 digits, |exponent| ≤ 22) and `strtod` otherwise.
public struct JSONCursor {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var position = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    public func error(_ message: String, at p: Int? = nil) -> JSONReadError {
        let at = min(p ?? position, bytes.count)
        var line = 1, col = 1
        for i in 0..<at {
            if bytes[i] == 10 { line += 1; col = 1 } else { col += 1 }
        }
        return JSONReadError(message: message, line: line, column: col)
    }

    @inline(__always) public mutating func skipSpace() {
        while position < bytes.count {
            let b = bytes[position]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 } else { break }
        }
    }

    /// The next non-space byte (0 at the end).
    @inline(__always) public mutating func peek() -> UInt8 {
        skipSpace()
        return position < bytes.count ? bytes[position] : 0
    }

    @inline(__always) mutating func expect(_ c: UInt8, _ what: String) throws {
        guard peek() == c else { throw error("expected \(what), found \(describeNext())") }
        position += 1
    }

    func describeNext() -> String {
        guard position < bytes.count else { return "end of file" }
        let b = bytes[position]
        switch b {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return startsWith("true") || startsWith("false") ? "a boolean" : "'\(Character(Unicode.Scalar(b)))'"
        case UInt8(ascii: "n"): return startsWith("null") ? "null" : "'n'"
        default: return "'\(Character(Unicode.Scalar(b)))'"
        }
    }

    /// Whether the text at the position starts with `word` (for messages: "not json" is not null).
    private func startsWith(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count else { return false }
        for (i, c) in w.enumerated() where bytes[position + i] != c { return false }
        return true
    }

    /// What the next value is, for messages ("an object", "a number", ...).
    public mutating func nextValueKind() -> String {
        skipSpace()
        return describeNext()
    }

    // MARK: Objects and arrays

    public mutating func beginObject() throws { try expect(UInt8(ascii: "{"), "an object") }
    public mutating func beginArray() throws { try expect(UInt8(ascii: "["), "an array") }

    /// The next key of the object being read, or nil at its end. Call after `beginObject`.
    public mutating func nextKey(first: inout Bool) throws -> String? {
        let c = peek()
        if c == UInt8(ascii: "}") { position += 1; return nil }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object, found \(describeNext())") }
            position += 1
            if peek() == UInt8(ascii: "}") { throw error("a trailing comma before '}' (JSON allows none)") }
        }
        first = false
        let key = try readString()
        try expect(UInt8(ascii: ":"), "':' after a key")
        return key
    }

    /// Whether another element follows in the array being read. Call after `beginArray`.
    public mutating func nextElement(first: inout Bool) throws -> Bool {
        let c = peek()
        if c == UInt8(ascii: "]") { position += 1; return false }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']' in an array, found \(describeNext())") }
            position += 1
            if peek() == UInt8(ascii: "]") { throw error("a trailing comma before ']' (JSON allows none)") }
        }
        first = false
        return true
    }

    // MARK: Scalars

    public mutating func readString() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a string, found \(describeNext())") }
        position += 1
        let start = position
        var simple = true
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") { simple = false; position += 2; continue }
            if b < 0x20 { throw error("control character in a string") }
            position += 1
        }
        guard position < bytes.count else { throw error("unterminated string", at: start - 1) }
        let end = position
        position += 1
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if simple { return String(decoding: raw, as: UTF8.self) }
        return try unescape(raw, at: start)
    }

    private func unescape(_ raw: UnsafeBufferPointer<UInt8>, at start: Int) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            guard i + 1 < raw.count else { throw error("bad escape in a string", at: start + i) }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                func hex4(_ j: Int) throws -> UInt32 {
                    guard j + 4 <= raw.count, let v = UInt32(String(decoding: raw[j..<(j + 4)], as: UTF8.self), radix: 16)
                    else { throw error("bad \\u escape in a string", at: start + j) }
                    return v
                }
                var scalar = try hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") {
                    let lo = try hex4(i + 2)
                    if (0xDC00..<0xE000).contains(lo) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                }
                let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(s)).utf8))
            default:
                throw error("bad escape '\\\(Character(Unicode.Scalar(e)))' in a string", at: start + i - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                                1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    /// Reads a number (JSON grammar), correctly rounded.
    public mutating func readDouble() throws -> Double {
        skipSpace()
        let start = position
        let n = bytes.count
        var p = position
        var negative = false
        if p < n && bytes[p] == UInt8(ascii: "-") { negative = true; p += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var exact = true
        var digits = 0
        while p < n, case let d = bytes[p] &- 48, d < 10 {
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                exponent += 1
                if d != 0 { exact = false }
            }
            p += 1; digits += 1
        }
        guard digits > 0 else {
            throw negative ? error("a '-' with no digits after it", at: start) : error("expected a number, found \(describeNext())")
        }
        // RFC 8259: no leading zeros ("007").
        if digits > 1 && bytes[start + (negative ? 1 : 0)] == UInt8(ascii: "0") {
            throw error("a number with a leading zero", at: start)
        }
        if p < n && bytes[p] == UInt8(ascii: ".") {
            p += 1
            var fd = 0
            while p < n, case let d = bytes[p] &- 48, d < 10 {
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    exponent -= 1
                } else if d != 0 {
                    exact = false
                }
                p += 1; fd += 1
            }
            guard fd > 0 else { throw error("a number needs digits after '.'", at: p) }
        }
        if p < n && (bytes[p] | 0x20) == UInt8(ascii: "e") {
            p += 1
            var eneg = false
            if p < n && (bytes[p] == UInt8(ascii: "-") || bytes[p] == UInt8(ascii: "+")) { eneg = bytes[p] == UInt8(ascii: "-"); p += 1 }
            var e = 0, ed = 0
            while p < n, case let d = bytes[p] &- 48, d < 10 {
                if e < 100_000 { e = e * 10 + Int(d) }
                p += 1; ed += 1
            }
            guard ed > 0 else { throw error("a number needs digits in its exponent", at: p) }
            exponent += eneg ? -e : e
        }
        position = p
        if exact && mantissa < (1 << 53) && exponent >= -22 && exponent <= 22 {
            var v = Double(mantissa)
            if exponent < 0 { v /= Self.powersOfTen[-exponent] } else { v *= Self.powersOfTen[exponent] }
            return negative ? -v : v
        }
        if mantissa == 0 && exact { return negative ? -0.0 : 0 }
        // Slow path: the C library's correctly rounded conversion.
        var text = Array(bytes[start..<p])
        text.append(0)
        return text.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { strtod($0, nil) }
        }
    }

    public mutating func readInt() throws -> Int {
        let at = position
        let v = try readDouble()
        guard v == v.rounded(), abs(v) < 9e15 else { throw error("expected an integer, found \(v)", at: at) }
        return Int(v)
    }

    public mutating func readBool() throws -> Bool {
        skipSpace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw error("expected true or false, found \(describeNext())")
    }

    /// Consumes `null` if it is next.
    public mutating func readNull() -> Bool {
        skipSpace()
        return matchLiteral("null")
    }

    private mutating func matchLiteral(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard position + n <= bytes.count else { return false }
        let p = s.utf8Start
        for i in 0..<n where bytes[position + i] != p[i] { return false }
        position += n
        return true
    }

    /// Skips one value of any kind. Iterative: the open arrays and objects are kept on a stack of
    /// their own, so no nesting depth, however deep, can exhaust the call stack.
    public mutating func skipValue() throws {
        var isObject: [Bool] = [], isFirst: [Bool] = []
        while true {
            // One value: a container is entered, anything else read.
            switch peek() {
            case UInt8(ascii: "{"):
                try beginObject()
                isObject.append(true); isFirst.append(true)
            case UInt8(ascii: "["):
                try beginArray()
                isObject.append(false); isFirst.append(true)
            case UInt8(ascii: "\""): _ = try readString()
            case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
            case UInt8(ascii: "n"):
                guard readNull() else { throw error("expected a value, found \(describeNext())") }
            default: _ = try readDouble()
            }
            // Then on to the next member of the innermost open container, closing finished ones.
            while let top = isObject.last {
                let more: Bool
                if top {
                    more = try nextKey(first: &isFirst[isFirst.count - 1]) != nil
                } else {
                    more = try nextElement(first: &isFirst[isFirst.count - 1])
                }
                if more { break }
                isObject.removeLast(); isFirst.removeLast()
            }
            if isObject.isEmpty { return }
        }
    }

    /// Reads an array of numbers into `out` (appending); returns how many were read.
    @discardableResult
    public mutating func readNumberArray(into out: inout [Double]) throws -> Int {
        try beginArray()
        var first = true
        var k = 0
        while try nextElement(first: &first) {
            out.append(try readDouble())
            k += 1
        }
        return k
    }

    /// Requires that only white space remains.
    public mutating func finish() throws {
        skipSpace()
        guard position == bytes.count else { throw error("unexpected text after the end of the document") }
    }
}

/// Reads input files, saying why one cannot be read.
public enum InputFile {
    /// Why `path` cannot be read as a file, in words: "no such file", "is a directory, not a
    /// file", "permission denied", or the system's reason. Pipes and devices count as files.
    public static func whyUnreadable(path: String) -> String {
        var st = stat()
        if stat(path, &st) != 0 {
            return errno == ENOENT ? "no such file" : String(cString: strerror(errno))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { return "is a directory, not a file" }
        if access(path, R_OK) != 0 { return errno == EACCES ? "permission denied" : String(cString: strerror(errno)) }
        return "cannot be read"
    }

    /// A file's bytes, decompressed when it starts with gzip's magic number.
    public static func read(path: String) throws -> [UInt8] {
        let data = try bytes(path: path)
        if Gzip.isGzip(data) {
            do { return try Gzip.decompress(data, limit: maxBytes) } catch let e as DecompressionError {
                throw InputFileError(path: path, message: e.description)
            }
        }
        return data
    }

    /// The message of a file that was read but is not UTF-8 text.
    public static let notUTF8 = "is not UTF-8 text"

    /// A file's text (UTF-8, not decompressed).
    public static func readText(path: String) throws -> String {
        guard let text = String(validating: try bytes(path: path), as: UTF8.self) else {
            throw InputFileError(path: path, message: notUTF8)
        }
        // A byte-order mark (Windows editors write one) is not part of the text: YAML's parser
        // took it for content before the document.
        if text.unicodeScalars.first == "\u{FEFF}" { return String(text.unicodeScalars.dropFirst()) }
        return text
    }

    /// The largest input read (a pipe has no size to check first).
    public static let maxBytes = 2 << 30

    /// A file's bytes as stored.
    private static func bytes(path: String) throws -> [UInt8] {
        // fopen accepts a directory on Linux (only the read fails), so that is asked first.
        var st = stat()
        let known = stat(path, &st) == 0
        let directory = known && (st.st_mode & S_IFMT) == S_IFDIR
        // A device (a link to /dev/zero, say) may never end: it was read until memory ran out.
        // It is read up to 64 MiB (/dev/null stays an empty file).
        let device = known && ((st.st_mode & S_IFMT) == S_IFCHR || (st.st_mode & S_IFMT) == S_IFBLK)
        let limit = device ? 64 << 20 : maxBytes
        guard !directory, let f = fopen(path, "rb") else {
            throw InputFileError(path: path, message: whyUnreadable(path: path))
        }
        defer { fclose(f) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { data.append(contentsOf: chunk[0..<n]) }
            if data.count > limit {
                throw InputFileError(path: path, message: device ? "is a device that gave more than 64 MiB; give a file"
                                                                 : "is larger than \(limit >> 20) MiB, more than any input Canopy reads")
            }
            if n < chunk.count {
                if ferror(f) != 0 { throw InputFileError(path: path, message: "read error (\(String(cString: strerror(errno))))") }
                break
            }
        }
        return data
    }
}

public struct InputFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}
