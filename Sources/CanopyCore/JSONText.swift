import Foundation

/// Writing JSON text by hand (the output files are built as strings, in a fixed key order).
public enum JSONText {
    /// Appends `v` as a JSON string literal: quotes, backslashes and control characters escaped.
    public static func quote(_ v: String, into s: inout String) {
        s += "\""
        for c in v.unicodeScalars {
            switch c {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if c.value < 0x20 { s += String(format: "\\u%04x", c.value) } else { s.unicodeScalars.append(c) }
            }
        }
        s += "\""
    }

    /// `v` as a JSON string literal.
    public static func quoted(_ v: String) -> String {
        var s = ""
        quote(v, into: &s)
        return s
    }
}

/// A plain-text table: the first column left-aligned, the others right-aligned, a rule under
/// the header (the tables `simulate`, `study`, `sweep`, `plan` and `stockpile` print).
public enum TextTable {
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        var w = header.map(\.count)
        for r in rows { for (k, c) in r.enumerated() where k < w.count { w[k] = max(w[k], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { k, c in
                k == 0 ? c.padding(toLength: w[k], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: max(0, w[k] - c.count)) + c
            }.joined(separator: "  ")
        }
        var out = line(header) + "\n" + w.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += line(r) + "\n" }
        return out
    }
}

/// Escaping text for XML and HTML (CoT events, the sweep report).
public enum MarkupText {
    /// `s` with &, <, >, " and ' replaced by their entities.
    public static func escape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(ch)
            }
        }
        return o
    }
}
