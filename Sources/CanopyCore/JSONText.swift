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
