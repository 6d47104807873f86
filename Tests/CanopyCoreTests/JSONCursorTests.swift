import Foundation
import Testing

@testable import CanopyCore

@Suite("JSON cursor")
struct JSONCursorTests {
    /// Runs body on a cursor over text.
    func withCursor<T>(_ text: String, _ body: (inout JSONCursor) throws -> T) rethrows -> T {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buf in
            var c = JSONCursor(buf)
            return try body(&c)
        }
    }

    @Test("skipValue skips any value whole and leaves the cursor on what follows")
    func skips() throws {
        let text = #"{"a": [1, {"b": [true, false, null, "x\"]}"]}, [], {}], "c": -2.5e3, "d": "}", "e": 7}"#
        let (keys, e) = try withCursor(text) { c -> ([String], Double) in
            try c.beginObject()
            var first = true, keys: [String] = [], e = 0.0
            while let k = try c.nextKey(first: &first) {
                keys.append(k)
                if k == "e" { e = try c.readDouble() } else { try c.skipValue() }
            }
            try c.finish()
            return (keys, e)
        }
        #expect(keys == ["a", "c", "d", "e"])
        #expect(e == 7)
    }

    @Test("Nesting deeper than any call stack is skipped, or refused when unbalanced, without a crash")
    func deepNesting() throws {
        let depth = 300_000
        let deep = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        try withCursor(#"{"x": "# + deep + #", "y": 1}"#) { c in
            try c.beginObject()
            var first = true
            #expect(try c.nextKey(first: &first) == "x")
            try c.skipValue()
            #expect(try c.nextKey(first: &first) == "y")
        }
        let objects = String(repeating: #"{"k":"#, count: depth) + "0" + String(repeating: "}", count: depth)
        try withCursor(objects) { c in
            try c.skipValue()
            try c.finish()
        }
        #expect(throws: (any Error).self) {
            try withCursor(String(repeating: "[", count: depth)) { c in try c.skipValue() }
        }
    }
}
