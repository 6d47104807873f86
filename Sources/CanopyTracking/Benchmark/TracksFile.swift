import CanopyCore

/// One output track of the benchmark: its states at the scan times where it was confirmed and alive.
public struct BenchmarkTrack: Sendable {
    public var id: String
    public var confirmedAt: Double?
    public var times: [Double] = []
    public var positions: [Vector3] = []
    public var velocities: [Vector3] = []

    public init(id: String, confirmedAt: Double?) {
        self.id = id
        self.confirmedAt = confirmedAt
    }
}

/// The tracks file (format `canopy-tracks` v1): writing and reading.
public enum TracksFile {
    /// The document text. Positions and velocities are written to 1 mm (1 mm/s), times to 1 µs,
    /// as the format's precision rules ask.
    public static func render(tracks: [BenchmarkTrack], scenario: String, tracker: [(String, String)]) -> [UInt8] {
        var w = ByteWriter()
        w.text("{\"format\":\"canopy-tracks\",\"version\":1,\"tracker\":{")
        for (i, (k, v)) in tracker.enumerated() {
            if i > 0 { w.text(",") }
            w.string(k); w.text(":"); w.string(v)
        }
        w.text("},\"scenario\":"); w.string(scenario)
        w.text(",\"tracks\":[")
        for (i, t) in tracks.enumerated() {
            w.text(i > 0 ? ",\n{\"id\":" : "\n{\"id\":")
            if let n = Int(t.id) { w.integer(n) } else { w.string(t.id) }
            if let c = t.confirmedAt { w.text(",\"confirmed_at\":"); w.fixed(c, decimals: 6) }
            w.text(",\"states\":[")
            for k in t.times.indices {
                if k > 0 { w.text(",") }
                w.text("[")
                w.fixed(t.times[k], decimals: 6); w.text(",")
                let p = t.positions[k], v = t.velocities[k]
                w.fixed(p.x, decimals: 3); w.text(","); w.fixed(p.y, decimals: 3); w.text(","); w.fixed(p.z, decimals: 3); w.text(",")
                w.fixed(v.x, decimals: 3); w.text(","); w.fixed(v.y, decimals: 3); w.text(","); w.fixed(v.z, decimals: 3)
                w.text("]")
            }
            w.text("]}")
        }
        w.text("\n]}\n")
        return w.bytes
    }

    /// Reads a tracks file (plain or gzip JSON).
    public static func load(path: String) throws -> [BenchmarkTrack] { try loadWithScenario(path: path).tracks }

    /// Reads a tracks file and the name of the scenario it says it was made from (nil if absent).
    public static func loadWithScenario(path: String) throws -> (tracks: [BenchmarkTrack], scenario: String?) {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path: path) } catch let e as InputFileError {
            throw BenchmarkFileError(file: path, path: "", message: e.message)
        }
        return try bytes.withUnsafeBufferPointer { buf in
            var c = JSONCursor(buf)
            func wrap<T>(_ p: String, _ body: (inout JSONCursor) throws -> T) throws -> T {
                do { return try body(&c) } catch let e as JSONReadError {
                    throw BenchmarkFileError(file: path, path: p, message: "\(e.message) (line \(e.line), column \(e.column))")
                }
            }
            func fail(_ p: String, _ m: String) -> BenchmarkFileError {
                BenchmarkFileError(file: path, path: p, message: "\(m) (line \(c.error("").line))")
            }
            var tracks: [BenchmarkTrack] = []
            var ids = Set<String>()
            var sawFormat = false, sawTracks = false, sawVersion = false
            var scenarioName: String? = nil
            try wrap("") { try $0.beginObject() }
            var first = true
            var row: [Double] = []
            while let key = try wrap("", { try $0.nextKey(first: &first) }) {
                switch key {
                case "format":
                    let f = try wrap(key) { try $0.readString() }
                    guard f == "canopy-tracks" else { throw fail(key, "is \"\(f)\"; expected \"canopy-tracks\"") }
                    sawFormat = true
                case "scenario" where c.nextValueKind() == "a string":
                    scenarioName = try wrap(key) { try $0.readString() }
                case "version":
                    let v = try wrap(key) { try $0.readDouble() }
                    guard v == 1 else { throw fail(key, "is \(v); this reader takes version 1") }
                    sawVersion = true
                case "tracks":
                    sawTracks = true
                    try wrap(key) { try $0.beginArray() }
                    var fe = true
                    while try wrap(key, { try $0.nextElement(first: &fe) }) {
                        let tp = "tracks[\(tracks.count)]"
                        var t = BenchmarkTrack(id: "", confirmedAt: nil)
                        var hasID = false, hasStates = false
                        try wrap(tp) { try $0.beginObject() }
                        var fk = true
                        while let k = try wrap(tp, { try $0.nextKey(first: &fk) }) {
                            switch k {
                            case "id":
                                let kind = c.nextValueKind()
                                if kind == "a string" {
                                    t.id = try wrap(tp + ".id") { try $0.readString() }
                                } else if kind == "a number" {
                                    let v = try wrap(tp + ".id") { try $0.readDouble() }
                                    guard ScenarioReader.isWholeID(v) else {
                                        throw fail(tp + ".id", "must be an integer (within ±2^53) or a string (got \(v))")
                                    }
                                    t.id = String(Int(v))
                                } else {
                                    throw fail(tp + ".id", "must be an integer or a string (got \(kind))")
                                }
                                hasID = true
                            case "confirmed_at":
                                if !c.readNull() {
                                    let v = try wrap(tp + ".confirmed_at") { try $0.readDouble() }
                                    guard v.isFinite else { throw fail(tp + ".confirmed_at", "must be a finite time in seconds, or null (got \(v))") }
                                    t.confirmedAt = v
                                }
                            case "states":
                                hasStates = true
                                try wrap(tp + ".states") { try $0.beginArray() }
                                var fs = true
                                while try wrap(tp + ".states", { try $0.nextElement(first: &fs) }) {
                                    let rp = "\(tp).states[\(t.times.count)]"
                                    row.removeAll(keepingCapacity: true)
                                    try wrap(rp) { _ = try $0.readNumberArray(into: &row) }
                                    // The format's seven numbers, or four for a tracker that gives positions only.
                                    guard row.count == 7 || row.count == 4 else {
                                        throw fail(rp, "must be [t, x, y, z, vx, vy, vz], or [t, x, y, z] without velocities (got \(row.count) numbers)")
                                    }
                                    guard row.allSatisfy(\.isFinite) else { throw fail(rp, "has a value that is not finite") }
                                    t.times.append(row[0])
                                    t.positions.append(Vector3(row[1], row[2], row[3]))
                                    t.velocities.append(row.count >= 7 ? Vector3(row[4], row[5], row[6]) : .zero)
                                }
                            default:
                                // A misspelt "states" had made an empty track, scored as missed.
                                throw fail(tp + "." + k, "unknown key (a track has id, confirmed_at and states)")
                            }
                        }
                        guard hasID else { throw fail(tp, "missing \"id\"") }
                        guard hasStates else { throw fail(tp, "missing \"states\"") }
                        guard ids.insert(t.id).inserted else { throw fail(tp + ".id", "\(t.id) is used by an earlier track; ids must be unique") }
                        tracks.append(t)
                    }
                case "tracker", "scenario":
                    try wrap(key) { try $0.skipValue() }   // free form
                default:
                    throw fail(key, "unknown top-level key (the format's: format, version, tracker, scenario, tracks)")
                }
            }
            try wrap("") { try $0.finish() }
            guard sawFormat else { throw BenchmarkFileError(file: path, path: "", message: "missing top-level key \"format\"") }
            guard sawVersion else { throw BenchmarkFileError(file: path, path: "", message: "missing top-level key \"version\" (1)") }
            guard sawTracks else { throw BenchmarkFileError(file: path, path: "", message: "missing top-level key \"tracks\"") }
            return (tracks, scenarioName)
        }
    }
}

/// Appends JSON text to a byte array without Foundation's formatters.
public struct ByteWriter {
    public var bytes: [UInt8] = []
    public init() { bytes.reserveCapacity(1 << 16) }

    public mutating func text(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 10: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func integer(_ n: Int) {
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        var m = n.magnitude
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            repeat {
                buf[k] = UInt8(48 + m % 10)
                m /= 10
                k += 1
            } while m > 0
            while k > 0 { k -= 1; bytes.append(buf[k]) }
        }
    }

    /// A number with a fixed number of decimals (rounded half away from zero); trailing zeros
    /// are dropped. Non-finite values are written as null.
    public mutating func fixed(_ x: Double, decimals: Int) {
        guard x.isFinite else { text("null"); return }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else {
            bytes.append(contentsOf: Array("\(x)".utf8))
            return
        }
        var n = Int(scaled)
        if x < 0 && n != 0 { bytes.append(UInt8(ascii: "-")) }
        var p = 1
        for _ in 0..<decimals { p *= 10 }
        integer(n / p)
        n %= p
        if n == 0 { return }
        bytes.append(UInt8(ascii: "."))
        var d = decimals
        while n % 10 == 0 { n /= 10; d -= 1 }
        var div = 1
        for _ in 1..<max(d, 1) { div *= 10 }
        while div > 0 {
            bytes.append(UInt8(48 + (n / div) % 10))
            div /= 10
        }
    }
}
