import CanopyCore
import Foundation
import Yams

/// A format-neutral document tree: what YAML and JSON files both become, so that one validator
/// serves both formats.
indirect enum Document {
    case mapping([(key: String, value: Document)], line: Int?)
    case sequence([Document], line: Int?)
    /// A scalar as written; `quoted` when it was a string literal (JSON string, quoted YAML).
    case scalar(String, quoted: Bool, line: Int?)
    case null(line: Int?)

    var line: Int? {
        switch self {
        case .mapping(_, let l), .sequence(_, let l), .scalar(_, _, let l), .null(let l): l
        }
    }

    /// How the value looks in a message: `"abc"`, `12`, `a list`, `a mapping`.
    var shown: String {
        switch self {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let s, let q, _): q ? "\"\(s)\"" : s
        case .null: "nothing"
        }
    }

    /// Parses YAML text. Throws a message with the line on a syntax error.
    static func yaml(_ text: String) throws -> Document {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw DocumentError(message: Self.describe(e), line: Self.line(of: e))
        } catch {
            throw DocumentError(message: "not valid YAML: \(error)", line: nil)
        }
        guard let node else { return .null(line: 1) }
        var budget = maxValues
        return try convert(node, &budget)
    }

    /// The most values a document may expand to: YAML aliases can repeat a part of a document
    /// so that a few hundred bytes stand for billions of values ("billion laughs").
    static let maxValues = 1_000_000

    /// Throws unless the YAML text, its aliases expanded, has at most `maxValues` values (counted
    /// without building them, and only up to the limit). For readers that build their own values.
    static func checkSize(yaml text: String) throws {
        guard let node = try? Yams.compose(yaml: text) else { return }  // the reader reports syntax errors
        var budget = maxValues
        func count(_ n: Node) -> Bool {
            budget -= 1
            if budget < 0 { return false }
            switch n {
            case .mapping(let m): for (k, v) in m where !count(k) || !count(v) { return false }
            case .sequence(let s): for v in s where !count(v) { return false }
            default: break
            }
            return true
        }
        if !count(node) { throw DocumentError(message: Self.tooLarge, line: nil) }
    }

    static let tooLarge = "the document expands to more than \(maxValues) values (YAML aliases repeating aliases?)"

    private static func convert(_ n: Node, _ budget: inout Int) throws -> Document {
        budget -= 1
        if budget < 0 { throw DocumentError(message: tooLarge, line: nil) }
        let line = n.mark.map { $0.line }
        switch n {
        case .scalar(let s):
            let quoted = s.style == .singleQuoted || s.style == .doubleQuoted
            if !quoted && (s.string == "~" || s.string == "null" || s.string == "Null" || s.string == "NULL" || s.string.isEmpty) {
                return .null(line: line)
            }
            return .scalar(s.string, quoted: quoted, line: line)
        case .mapping(let m):
            var pairs: [(String, Document)] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw DocumentError(message: "a mapping key must be a plain name", line: k.mark.map { $0.line })
                }
                pairs.append((ks.string, try convert(v, &budget)))
            }
            return .mapping(pairs.map { (key: $0.0, value: $0.1) }, line: line)
        case .sequence(let s):
            return .sequence(try s.map { try convert($0, &budget) }, line: line)
        case .alias:
            throw DocumentError(message: "YAML aliases are not supported", line: line)
        }
    }

    private static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            let c = context.map { "\($0.text) " } ?? ""
            return "not valid YAML: \(c)\(problem)".trimmingCharacters(in: .whitespaces)
        case .duplicatedKeysInMapping(let duplicates, _):
            // (Yams's own text quoted the whole mapping: the file, for a key at the top.)
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return "\(keys) \(duplicates.count == 1 ? "is" : "are") given twice in one mapping: give each key once"
        default:
            return "not valid YAML: \(e)"
        }
    }

    private static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: nil
        }
    }

    /// Parses JSON text (RFC 8259, strictly: no trailing commas, no NaN, no key twice in an
    /// object), keeping the keys' order and every value's line for messages. A UTF-8 byte-order
    /// mark at the start is skipped.
    static func json(_ text: String) throws -> Document {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return try bytes.withUnsafeBufferPointer { buf in
            var parser = JSONTreeParser(cursor: JSONCursor(buf))
            do {
                let doc = try parser.value(depth: 0)
                try parser.cursor.finish()
                return doc
            } catch let e as JSONReadError {
                throw DocumentError(message: "not valid JSON: \(e.message) (column \(e.column))", line: e.line)
            }
        }
    }
}

/// Builds a `Document` from JSON through the pull reader, counting lines as it goes.
private struct JSONTreeParser {
    var cursor: JSONCursor
    /// Lines counted up to `countedTo`.
    private var line = 1, countedTo = 0
    static let maxDepth = 256

    init(cursor: JSONCursor) { self.cursor = cursor }

    mutating func currentLine() -> Int {
        cursor.skipSpace()
        let p = cursor.position
        while countedTo < p {
            if cursor.bytes[countedTo] == 10 { line += 1 }
            countedTo += 1
        }
        return line
    }

    mutating func value(depth: Int) throws -> Document {
        let l = currentLine()
        guard depth < Self.maxDepth else { throw cursor.error("nested deeper than \(Self.maxDepth) levels") }
        switch cursor.peek() {
        case UInt8(ascii: "{"):
            try cursor.beginObject()
            var pairs: [(key: String, value: Document)] = []
            var seen = Set<String>()
            var first = true
            while true {
                // Where the key starts (after the comma), for a message about it.
                var at = cursor.position
                if cursor.peek() == UInt8(ascii: ",") && !first {
                    at = cursor.position + 1
                    while at < cursor.bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(cursor.bytes[at]) { at += 1 }
                } else {
                    at = cursor.position
                }
                guard let key = try cursor.nextKey(first: &first) else { break }
                guard seen.insert(key).inserted else { throw cursor.error("the key \"\(key)\" appears twice in one object", at: at) }
                pairs.append((key: key, value: try value(depth: depth + 1)))
            }
            return .mapping(pairs, line: l)
        case UInt8(ascii: "["):
            try cursor.beginArray()
            var items: [Document] = []
            var first = true
            while try cursor.nextElement(first: &first) { items.append(try value(depth: depth + 1)) }
            return .sequence(items, line: l)
        case UInt8(ascii: "\""):
            return .scalar(try cursor.readString(), quoted: true, line: l)
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return .scalar(try cursor.readBool() ? "true" : "false", quoted: false, line: l)
        case UInt8(ascii: "n"):
            guard cursor.readNull() else { throw cursor.error("expected a value, found \(cursor.nextValueKind())") }
            return .null(line: l)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = cursor.position
            let x = try cursor.readDouble()
            guard x.isFinite else { throw cursor.error("the number is beyond the range of a double (about ±1.8e308)", at: start) }
            // The number as written, for the validator to read as it reads YAML's.
            let text = String(decoding: UnsafeBufferPointer(rebasing: cursor.bytes[start..<cursor.position]), as: UTF8.self)
            return .scalar(text, quoted: false, line: l)
        default:
            throw cursor.error("expected a value, found \(cursor.nextValueKind())")
        }
    }
}

struct DocumentError: Error {
    var message: String
    var line: Int?
}

/// Edit distance (optimal string alignment: insertions, deletions, substitutions, adjacent swaps).
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.lowercased()), y = Array(b.lowercased())
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let c = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c)
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
        }
    }
    return d[x.count][y.count]
}

/// The closest candidate to `word`, if close enough to be a likely typo.
func suggestion(for word: String, among candidates: [String]) -> String? {
    let w = word.lowercased()
    // A candidate that extends or is extended by the word wins (shortest first, then by name).
    let prefixed = candidates.filter { $0.lowercased().hasPrefix(w) || w.hasPrefix($0.lowercased()) }
    if let p = prefixed.min(by: { ($0.count, $0) < ($1.count, $1) }), !w.isEmpty { return p }
    var best: (String, Int)? = nil
    for c in candidates.sorted() {
        let d = editDistance(word, c)
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    return d <= max(2, min(word.count, c.count) / 3) ? c : nil
}

/// Why a YAML text is refused before it is read: it expands, through aliases, to more than a
/// million values (nil when it does not). For readers of YAML outside the scenario loader.
public func yamlExpansionProblem(_ text: String) -> String? {
    do { try Document.checkSize(yaml: text); return nil } catch let e as DocumentError { return e.message } catch { return nil }
}
