import CanopyCore
import Foundation

/// Builds one JSON object or array as text, keys in the order written. Numbers are written
/// with at most `digits` decimals (coordinates need 6, times 3); non-finite numbers as null.
struct JSONWriter {
    var text = ""
    private var needsComma: [Bool] = []

    init() {}

    mutating func beginObject() { separator(); text += "{"; needsComma.append(false) }
    mutating func endObject() { text += "}"; needsComma.removeLast() }
    mutating func beginArray() { separator(); text += "["; needsComma.append(false) }
    mutating func endArray() { text += "]"; needsComma.removeLast() }

    mutating func key(_ k: String) {
        separator()
        JSONText.quote(k, into: &text)
        text += ":"
        pendingValue = true
    }
    private var pendingValue = false

    private mutating func separator() {
        if pendingValue { pendingValue = false; return }
        if let last = needsComma.last {
            if last { text += "," }
            needsComma[needsComma.count - 1] = true
        }
    }

    mutating func string(_ v: String) { separator(); JSONText.quote(v, into: &text) }
    mutating func int(_ v: Int) { separator(); text += String(v) }
    mutating func bool(_ v: Bool) { separator(); text += v ? "true" : "false" }
    mutating func null() { separator(); text += "null" }
    mutating func number(_ v: Double, digits: Int = 3) { separator(); Self.format(v, digits: digits, into: &text) }
    mutating func number(_ v: Double?, digits: Int = 3) { if let v { number(v, digits: digits) } else { null() } }
    mutating func raw(_ json: String) { separator(); text += json }

    mutating func field(_ k: String, _ v: String) { key(k); string(v) }
    mutating func field(_ k: String, _ v: String?) { key(k); if let v { string(v) } else { null() } }
    mutating func field(_ k: String, _ v: Int) { key(k); int(v) }
    mutating func field(_ k: String, _ v: Bool) { key(k); bool(v) }
    mutating func field(_ k: String, _ v: Double?, digits: Int = 3) { key(k); number(v, digits: digits) }

    static func format(_ v: Double, digits: Int, into s: inout String) {
        guard v.isFinite else { s += "null"; return }
        if v == v.rounded() && abs(v) < 1e15 { s += String(Int64(v)); return }
        let scale = [1.0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8][min(max(digits, 0), 8)]
        let r = (v * scale).rounded() / scale
        if r == r.rounded() && abs(r) < 1e15 { s += String(Int64(r)); return }
        s += "\(r)"
    }
}

/// UTC time in the ISO 8601 form alert APIs and CoT use: 2026-11-24T18:20:30.504Z.
enum UTC {
    static func iso(_ date: Date) -> String {
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var t = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let ms = Int(total - Int64(t) * 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), ms)
    }
}
