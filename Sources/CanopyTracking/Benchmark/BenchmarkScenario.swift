import CanopyCore

/// A problem in a benchmark file: which file, where in it, what is wrong.
public struct BenchmarkFileError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let path: String
    public let message: String
    public init(file: String, path: String, message: String) {
        self.file = file; self.path = path; self.message = message
    }
    public var description: String { path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)" }
}

/// A radar of the tracking benchmark (format `canopy-tracking-scenario` v1, §2.1), in the
/// scenario's flat ENU frame.
public struct BenchmarkSensor: Sendable {
    public var id: Int
    public var position: Vector3
    public var period: Double
    public var timeOffset: Double
    /// (range m, azimuth rad, elevation rad).
    public var sigma: Vector3
    public var pd: Double
    public var clutterRate: Double
    public var minRange: Double, maxRange: Double
    public var minElevation: Double, maxElevation: Double

    /// Clutter density in measurement space, per (m · rad²) (format §2.1).
    public var clutterDensity: Double {
        clutterRate / ((maxRange - minRange) * 2 * .pi * (maxElevation - minElevation))
    }
}

/// One scan: its time, its sensor (an index into `sensors`) and its measurements, stored as a
/// slice of the scenario's flat measurement array.
public struct BenchmarkScan: Sendable {
    public var time: Double
    public var sensor: Int
    public var first: Int
    public var count: Int
}

/// A ground-truth object: positions (and velocities) at its state times.
public struct BenchmarkTruth: Sendable {
    public var id: Int
    public var times: [Double]
    public var positions: [Vector3]
    public var velocities: [Vector3]
}

/// The tracking benchmark scenario. `origins` (which truth made each measurement) is read only
/// when asked for, by the scorer; the tracker never asks.
public struct BenchmarkScenario: Sendable {
    public var name: String
    public var duration: Double
    public var sensors: [BenchmarkSensor]
    public var truth: [BenchmarkTruth]
    public var scans: [BenchmarkScan]
    /// All measurements, (range, azimuth, elevation), scan by scan.
    public var measurements: [Vector3]
    /// Origin of each measurement (truth id or −1), when read.
    public var origins: [Int32]?

    public var detectionCount: Int { measurements.count }

    /// Reads a scenario file (plain or gzip-compressed JSON).
    public static func load(path: String, readTruth: Bool = true, readOrigins: Bool = false) throws -> BenchmarkScenario {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path: path) } catch let e as InputFileError {
            throw BenchmarkFileError(file: path, path: "", message: e.message)
        }
        return try bytes.withUnsafeBufferPointer { buf in
            var reader = ScenarioReader(file: path, cursor: JSONCursor(buf), readTruth: readTruth, readOrigins: readOrigins)
            var s = try reader.read()
            s.name = name
            return s
        }
    }
}

/// Walks a scenario document, keeping a path for error messages.
struct ScenarioReader {
    let file: String
    var cursor: JSONCursor
    let readTruth: Bool
    let readOrigins: Bool

    func fail(_ path: String, _ message: String) -> BenchmarkFileError {
        let at = cursor.error(message)
        return BenchmarkFileError(file: file, path: path, message: "\(message) (line \(at.line))")
    }

    mutating func wrap<T>(_ path: String, _ body: (inout JSONCursor) throws -> T) throws -> T {
        do { return try body(&cursor) } catch let e as JSONReadError {
            throw BenchmarkFileError(file: file, path: path, message: "\(e.message) (line \(e.line), column \(e.column))")
        }
    }

    mutating func number(_ path: String) throws -> Double {
        let v = try wrap(path) { try $0.readDouble() }
        guard v.isFinite else { throw fail(path, "must be a finite number") }
        return v
    }

    /// An id: a whole number within ±2⁵³ (a larger one, 1e300, trapped in the conversion).
    mutating func wholeNumber(_ path: String) throws -> Int {
        let v = try number(path)
        guard Self.isWholeID(v) else { throw fail(path, "must be a whole number (got \(v))") }
        return Int(v)
    }

    /// Whether a number read from a file is a usable id: whole, and within ±2⁵³ (exact as a double).
    static func isWholeID(_ v: Double) -> Bool { v == v.rounded() && abs(v) <= 9_007_199_254_740_992 }

    mutating func vector3(_ path: String) throws -> Vector3 {
        var xs: [Double] = []
        try wrap(path) { _ = try $0.readNumberArray(into: &xs) }
        guard xs.count == 3 else { throw fail(path, "must be 3 numbers [x, y, z] (got \(xs.count))") }
        guard xs.allSatisfy(\.isFinite) else { throw fail(path, "must be finite numbers (got \(xs))") }
        return Vector3(xs[0], xs[1], xs[2])
    }

    mutating func read() throws -> BenchmarkScenario {
        var scenario = BenchmarkScenario(name: file, duration: 0, sensors: [], truth: [], scans: [], measurements: [], origins: nil)
        var sensorIndex: [Int: Int] = [:]
        var seen = Set<String>()
        var pendingScans: [(t: Double, sensorID: Int, first: Int, count: Int, path: String)] = []
        var origins: [Int32] = []
        try wrap("") { try $0.beginObject() }
        var first = true
        while let key = try wrap("", { try $0.nextKey(first: &first) }) {
            seen.insert(key)
            switch key {
            case "format":
                let f = try wrap(key) { try $0.readString() }
                guard f == "canopy-tracking-scenario" else {
                    throw fail(key, "is \"\(f)\"; this reader takes \"canopy-tracking-scenario\"")
                }
            case "version":
                let v = try number(key)
                guard v == 1 else { throw fail(key, "is \(v); this reader takes version 1") }
            case "duration":
                scenario.duration = try number(key)
                guard scenario.duration > 0 else { throw fail(key, "must be positive") }
            case "state_fields":
                try expectFields(key, ["t", "x", "y", "z", "vx", "vy", "vz"])
            case "measurement_fields":
                try expectFields(key, ["range", "azimuth", "elevation"])
            case "sensors":
                try wrap(key) { try $0.beginArray() }
                var f = true
                while try wrap(key, { try $0.nextElement(first: &f) }) {
                    let path = "sensors[\(scenario.sensors.count)]"
                    let s = try readSensor(path)
                    guard sensorIndex[s.id] == nil else { throw fail(path + ".id", "\(s.id) is used twice") }
                    sensorIndex[s.id] = scenario.sensors.count
                    scenario.sensors.append(s)
                }
            case "truth" where readTruth:
                try wrap(key) { try $0.beginArray() }
                var f = true
                var truthIDs = Set<Int>()
                while try wrap(key, { try $0.nextElement(first: &f) }) {
                    let path = "truth[\(scenario.truth.count)]"
                    let t = try readTruthObject(path)
                    // Two objects under one id would be scored as one (the metrics match by id).
                    guard truthIDs.insert(t.id).inserted else { throw fail(path + ".id", "\(t.id) is used twice") }
                    scenario.truth.append(t)
                }
            case "scans":
                try wrap(key) { try $0.beginArray() }
                var f = true
                while try wrap(key, { try $0.nextElement(first: &f) }) {
                    let path = "scans[\(pendingScans.count)]"
                    var t = Double.nan, sid = Int.min
                    let start = scenario.measurements.count
                    var originCount = -1
                    var hasMeasurements = false
                    try wrap(path) { try $0.beginObject() }
                    var fk = true
                    while let k = try wrap(path, { try $0.nextKey(first: &fk) }) {
                        switch k {
                        case "t": t = try number(path + ".t")
                        case "sensor_id": sid = try wholeNumber(path + ".sensor_id")
                        case "measurements":
                            hasMeasurements = true
                            try readMeasurements(path + ".measurements", into: &scenario.measurements)
                        case "origins" where readOrigins:
                            var o: [Double] = []
                            try wrap(path + ".origins") { _ = try $0.readNumberArray(into: &o) }
                            originCount = o.count
                            origins.append(contentsOf: o.map { Int32($0) })
                        case "origins":
                            try wrap(path + "." + k) { try $0.skipValue() }
                        default:
                            // A misspelt key ("measurment") had made an empty scan.
                            throw fail(path + "." + k, "unknown key (a scan has t, sensor_id, measurements and origins)")
                        }
                    }
                    guard t.isFinite else { throw fail(path, "missing \"t\"") }
                    guard hasMeasurements else { throw fail(path, "missing \"measurements\" (an empty list when nothing was detected)") }
                    if scenario.duration > 0 && t > scenario.duration {
                        throw fail(path + ".t", "\(t) is after the scenario's duration \(scenario.duration)")
                    }
                    guard sid != Int.min else { throw fail(path, "missing \"sensor_id\"") }
                    let n = scenario.measurements.count - start
                    if readOrigins && originCount != n {
                        throw fail(path + ".origins", originCount < 0 ? "missing (the scorer needs it)" : "has \(originCount) entries for \(n) measurements")
                    }
                    pendingScans.append((t, sid, start, n, path))
                }
            case "truth", "frame", "generator", "summary":
                // Informational, or (the truth) not wanted by this reader.
                try wrap(key) { try $0.skipValue() }
            default:
                throw fail(key, "unknown top-level key (the format's: format, version, frame, generator, duration, state_fields, measurement_fields, sensors, truth, scans, summary)")
            }
        }
        try wrap("") { try $0.finish() }
        for k in ["format", "version", "duration", "sensors", "scans"] where !seen.contains(k) {
            throw BenchmarkFileError(file: file, path: "", message: "missing top-level key \"\(k)\"")
        }
        if readTruth && !seen.contains("truth") {
            throw BenchmarkFileError(file: file, path: "", message: "missing top-level key \"truth\" (needed for scoring)")
        }
        var lastTime = -Double.infinity
        for s in pendingScans {
            guard let si = sensorIndex[s.sensorID] else {
                throw BenchmarkFileError(file: file, path: s.path + ".sensor_id", message: "\(s.sensorID) is not a sensor id (have \(scenario.sensors.map(\.id)))")
            }
            guard s.t >= lastTime else {
                throw BenchmarkFileError(file: file, path: s.path + ".t", message: "\(s.t) is earlier than the scan before it (\(lastTime)); scans must be sorted by time")
            }
            lastTime = s.t
            scenario.scans.append(BenchmarkScan(time: s.t, sensor: si, first: s.first, count: s.count))
        }
        if readOrigins { scenario.origins = origins }
        return scenario
    }

    mutating func expectFields(_ path: String, _ expected: [String]) throws {
        var got: [String] = []
        try wrap(path) { c in
            try c.beginArray()
            var f = true
            while try c.nextElement(first: &f) { got.append(try c.readString()) }
        }
        guard got == expected else { throw fail(path, "is \(got); this reader takes \(expected)") }
    }

    mutating func readMeasurements(_ path: String, into out: inout [Vector3]) throws {
        try wrap(path) { try $0.beginArray() }
        var f = true
        var k = 0
        var row: [Double] = []
        row.reserveCapacity(3)
        while try wrap(path, { try $0.nextElement(first: &f) }) {
            row.removeAll(keepingCapacity: true)
            try wrap("\(path)[\(k)]") { _ = try $0.readNumberArray(into: &row) }
            guard row.count == 3 else { throw fail("\(path)[\(k)]", "must be [range, azimuth, elevation] (got \(row.count) numbers)") }
            guard row[0].isFinite, row[1].isFinite, row[2].isFinite, row[0] >= 0 else {
                throw fail("\(path)[\(k)]", "range must be ≥ 0 and all values finite (got \(row))")
            }
            out.append(Vector3(row[0], row[1], row[2]))
            k += 1
        }
    }

    mutating func readSensor(_ path: String) throws -> BenchmarkSensor {
        var s = BenchmarkSensor(id: 0, position: .zero, period: 0, timeOffset: 0, sigma: .zero, pd: 0, clutterRate: 0,
                                minRange: 0, maxRange: 0, minElevation: 0, maxElevation: 0)
        var seen = Set<String>()
        try wrap(path) { try $0.beginObject() }
        var f = true
        while let k = try wrap(path, { try $0.nextKey(first: &f) }) {
            seen.insert(k)
            let p = path + "." + k
            switch k {
            case "id": s.id = try wholeNumber(p)
            case "type":
                let t = try wrap(p) { try $0.readString() }
                guard t == "radar" else { throw fail(p, "is \"\(t)\"; version 1 has only \"radar\"") }
            case "position": s.position = try vector3(p)
            case "period": s.period = try number(p)
            case "time_offset": s.timeOffset = try number(p)
            case "sigma_range": s.sigma.x = try number(p)
            case "sigma_azimuth": s.sigma.y = try number(p)
            case "sigma_elevation": s.sigma.z = try number(p)
            case "pd": s.pd = try number(p)
            case "clutter_rate": s.clutterRate = try number(p)
            case "min_range": s.minRange = try number(p)
            case "max_range": s.maxRange = try number(p)
            case "min_elevation": s.minElevation = try number(p)
            case "max_elevation": s.maxElevation = try number(p)
            default:
                // A misspelt optional key ("min_elevaton") had taken its default in silence.
                throw fail(p, "unknown key (a sensor has id, type, position, period, time_offset, sigma_range, sigma_azimuth, sigma_elevation, pd, clutter_rate, min_range, max_range, min_elevation, max_elevation)")
            }
        }
        for k in ["id", "position", "period", "sigma_range", "sigma_azimuth", "sigma_elevation", "pd", "clutter_rate",
                  "max_range", "max_elevation"] where !seen.contains(k) {
            throw fail(path, "missing \"\(k)\"")
        }
        if !seen.contains("min_elevation") { s.minElevation = 0 }
        guard s.period > 0 else { throw fail(path + ".period", "must be positive (got \(s.period))") }
        guard s.sigma.x > 0, s.sigma.y > 0, s.sigma.z > 0 else { throw fail(path, "sigmas must be positive") }
        guard s.pd > 0 && s.pd <= 1 else { throw fail(path + ".pd", "must be in (0, 1] (got \(s.pd))") }
        guard s.clutterRate >= 0 else { throw fail(path + ".clutter_rate", "must be ≥ 0 (got \(s.clutterRate))") }
        guard s.minRange >= 0 else { throw fail(path + ".min_range", "must be ≥ 0 (got \(s.minRange))") }
        guard s.maxRange > s.minRange else { throw fail(path + ".max_range", "must exceed min_range") }
        guard s.maxElevation > s.minElevation else { throw fail(path + ".max_elevation", "must exceed min_elevation") }
        return s
    }

    mutating func readTruthObject(_ path: String) throws -> BenchmarkTruth {
        var t = BenchmarkTruth(id: -1, times: [], positions: [], velocities: [])
        try wrap(path) { try $0.beginObject() }
        var f = true
        var row: [Double] = []
        var hasStates = false
        while let k = try wrap(path, { try $0.nextKey(first: &f) }) {
            switch k {
            case "id":
                let v = try wholeNumber(path + ".id")
                guard v >= 0 else { throw fail(path + ".id", "must be ≥ 0 (got \(v); -1 marks clutter in a scan's origins)") }
                t.id = v
            case "states":
                hasStates = true
                try wrap(path + ".states") { try $0.beginArray() }
                var fs = true
                while try wrap(path + ".states", { try $0.nextElement(first: &fs) }) {
                    row.removeAll(keepingCapacity: true)
                    let rp = "\(path).states[\(t.times.count)]"
                    try wrap(rp) { _ = try $0.readNumberArray(into: &row) }
                    guard row.count == 7 else { throw fail(rp, "must be [t, x, y, z, vx, vy, vz] (got \(row.count) numbers)") }
                    guard row.allSatisfy(\.isFinite) else { throw fail(rp, "must be finite numbers (got \(row))") }
                    if let last = t.times.last, row[0] < last { throw fail(rp, "states must be sorted by time") }
                    t.times.append(row[0])
                    t.positions.append(Vector3(row[1], row[2], row[3]))
                    t.velocities.append(Vector3(row[4], row[5], row[6]))
                }
            default: throw fail(path + "." + k, "unknown key (a truth object has id and states)")
            }
        }
        guard t.id >= 0 else { throw fail(path, "missing \"id\"") }
        guard hasStates else { throw fail(path, "missing \"states\"") }
        return t
    }
}
