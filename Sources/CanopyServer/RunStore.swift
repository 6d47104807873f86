import Foundation
import GRDB

/// A run as stored: what it is, how it went, and its summary.
public struct RunRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// "simulation" (a scenario run by the server) or "live" (a live feed's session).
    public var source: String
    /// queued, running, finished, failed, cancelled, interrupted (the server stopped during the run).
    public var status: String
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var seed: UInt64
    public var speed: Double
    /// Simulated seconds reached.
    public var simulatedTime: Double
    public var summary: String?
    public var error: String?
}

/// The embedded store: SQLite through GRDB, one file in the data directory. Runs, their
/// summaries, event logs, picture frames (for replay) and track rows persist across restarts.
/// A store that cannot be opened, as a user can act on it.
public enum RunStoreError: Error, CustomStringConvertible {
    /// The file at the store's path is not a SQLite database.
    case notARunStore(String)

    public var description: String {
        switch self {
        case .notARunStore(let path):
            "\(path) is not a Canopy run store (SQLite: the file is not a database); move it away, or choose another --data"
        }
    }
}

public final class RunStore: Sendable {
    let db: DatabaseQueue
    public let path: String

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/canopy.sqlite"
        do {
            db = try Self.open(path)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_NOTADB {
            throw RunStoreError.notARunStore(path)
        }
    }

    /// Opens (or makes) the store's database, brings its tables to the current version, and marks
    /// the runs that were going when a server last stopped.
    private static func open(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.busyMode = .timeout(5)
        let db = try DatabaseQueue(path: path, configuration: config)
        try db.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode=WAL") }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("source", .text).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("startedAt", .double)
                t.column("finishedAt", .double)
                t.column("seed", .integer).notNull()
                t.column("speed", .double).notNull()
                t.column("simulatedTime", .double).notNull().defaults(to: 0)
                t.column("scenarioFile", .text).notNull()
                t.column("scenarioText", .text).notNull()
                t.column("summary", .text)
                t.column("error", .text)
            }
            try db.create(table: "event") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("time", .double).notNull()
                t.column("kind", .text).notNull()
                t.column("json", .text).notNull()
                t.primaryKey(["runId", "seq"])
            }
            try db.create(table: "frame") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("time", .double).notNull()
                t.column("json", .text).notNull()
                t.primaryKey(["runId", "seq"])
            }
            try db.create(table: "trackRow") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("json", .text).notNull()
                t.primaryKey(["runId", "seq"])
            }
        }
        // Events are served in time order (a late report's events come after later ones).
        migrator.registerMigration("v2: events by time") { db in
            try db.create(index: "eventTime", on: "event", columns: ["runId", "time", "seq"])
        }
        try migrator.migrate(db)
        // Runs that were going when the server last stopped did not finish.
        try db.write { db in
            try db.execute(sql: "UPDATE run SET status = 'interrupted', finishedAt = ? WHERE status IN ('queued', 'running')",
                           arguments: [Date().timeIntervalSince1970])
        }
        return db
    }

    static func record(_ row: Row) -> RunRecord {
        RunRecord(id: row["id"], name: row["name"], source: row["source"], status: row["status"],
                  createdAt: Date(timeIntervalSince1970: row["createdAt"]),
                  startedAt: (row["startedAt"] as Double?).map { Date(timeIntervalSince1970: $0) },
                  finishedAt: (row["finishedAt"] as Double?).map { Date(timeIntervalSince1970: $0) },
                  seed: UInt64(bitPattern: row["seed"] as Int64), speed: row["speed"], simulatedTime: row["simulatedTime"],
                  summary: row["summary"], error: row["error"])
    }

    static let columns = "id, name, source, status, createdAt, startedAt, finishedAt, seed, speed, simulatedTime, summary, error"

    public func createRun(name: String, source: String, seed: UInt64, speed: Double, scenarioFile: String, scenarioText: String) throws -> RunRecord {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO run (name, source, status, createdAt, seed, speed, scenarioFile, scenarioText)
                VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)
                """, arguments: [name, source, Date().timeIntervalSince1970, Int64(bitPattern: seed), speed, scenarioFile, scenarioText])
            let id = db.lastInsertedRowID
            return Self.record(try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM run WHERE id = ?", arguments: [id])!)
        }
    }

    public func run(_ id: Int64) throws -> RunRecord? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM run WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    public func scenario(of id: Int64) throws -> (file: String, text: String)? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT scenarioFile, scenarioText FROM run WHERE id = ?", arguments: [id]).map { ($0[0], $0[1]) }
        }
    }

    /// The newest runs first.
    public func runs(limit: Int = 100) throws -> [RunRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM run ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.record)
        }
    }

    public func markStarted(_ id: Int64, at date: Date) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE run SET status = 'running', startedAt = ? WHERE id = ?", arguments: [date.timeIntervalSince1970, id])
        }
    }

    public func finish(_ id: Int64, status: String, simulatedTime: Double, summary: String?, error: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, simulatedTime = ?, summary = ?, error = ? WHERE id = ?",
                           arguments: [status, Date().timeIntervalSince1970, simulatedTime, summary, error, id])
        }
    }

    /// Appends events (seq numbers continue from `firstSeq`), a frame if given, and the time reached — in one transaction.
    public func append(_ id: Int64, events: [(time: Double, kind: String, json: String)], firstSeq: Int,
                       frame: (seq: Int, time: Double, json: String)?, simulatedTime: Double) throws {
        try db.write { db in
            let insert = try db.cachedStatement(sql: "INSERT INTO event (runId, seq, time, kind, json) VALUES (?, ?, ?, ?, ?)")
            for (k, e) in events.enumerated() {
                try insert.execute(arguments: [id, firstSeq + k, e.time, e.kind, e.json])
            }
            if let f = frame {
                try db.execute(sql: "INSERT INTO frame (runId, seq, time, json) VALUES (?, ?, ?, ?)", arguments: [id, f.seq, f.time, f.json])
            }
            try db.execute(sql: "UPDATE run SET simulatedTime = ? WHERE id = ?", arguments: [simulatedTime, id])
        }
    }

    /// Appends track rows, numbered from `firstSeq`.
    public func appendTrackRows(_ id: Int64, _ rows: [String], firstSeq: Int = 0) throws {
        guard !rows.isEmpty else { return }
        try db.write { db in
            let insert = try db.cachedStatement(sql: "INSERT INTO trackRow (runId, seq, json) VALUES (?, ?, ?)")
            for (k, r) in rows.enumerated() { try insert.execute(arguments: [id, firstSeq + k, r]) }
        }
    }

    /// Events in time order (`byTime`), or in the order stored: the one a run still going pages
    /// through stably, since a late report's events are stored after later ones. `kinds` empty
    /// means all.
    public func events(_ id: Int64, from: Double = -.infinity, to: Double = .infinity, kinds: [String] = [], limit: Int = 10_000, offset: Int = 0,
                       byTime: Bool = true) throws -> [String] {
        try db.read { db in
            var sql = "SELECT json FROM event WHERE runId = ? AND time >= ? AND time <= ?"
            var args: [any DatabaseValueConvertible] = [id, from.isFinite ? from : -1e300, to.isFinite ? to : 1e300]
            if !kinds.isEmpty {
                sql += " AND kind IN (" + kinds.map { _ in "?" }.joined(separator: ",") + ")"
                args += kinds as [any DatabaseValueConvertible]
            }
            sql += byTime ? " ORDER BY time, seq LIMIT ? OFFSET ?" : " ORDER BY seq LIMIT ? OFFSET ?"
            args += [limit, offset]
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args))
        }
    }

    public func eventCount(_ id: Int64) throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE runId = ?", arguments: [id]) ?? 0 }
    }

    /// Frame times, in order (the replay timeline).
    public func frameTimes(_ id: Int64) throws -> [Double] {
        try db.read { db in try Double.fetchAll(db, sql: "SELECT time FROM frame WHERE runId = ? ORDER BY seq", arguments: [id]) }
    }

    /// Frames with time in [from, to], at most `limit`.
    public func frames(_ id: Int64, from: Double, to: Double, limit: Int = 200) throws -> [String] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT json FROM frame WHERE runId = ? AND time >= ? AND time <= ? ORDER BY seq LIMIT ?",
                                arguments: [id, from, to, limit])
        }
    }

    public func trackRows(_ id: Int64, limit: Int = 100_000, offset: Int = 0) throws -> [String] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT json FROM trackRow WHERE runId = ? ORDER BY seq LIMIT ? OFFSET ?", arguments: [id, limit, offset])
        }
    }

    public func delete(_ id: Int64) throws -> Bool {
        // Events, frames and track rows go with their run (foreign keys ON DELETE CASCADE;
        // GRDB turns foreign keys on).
        try db.write { db in
            try db.execute(sql: "DELETE FROM run WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }
}

extension RunStore {
    /// An error from the store as an answer a client can act on: busy or locked (another process
    /// holds the database) is 503, to try again; full, read-only or damaged is 500, with SQLite's
    /// own words.
    static func answer(for error: Error) -> (unavailable: Bool, message: String)? {
        guard let e = error as? DatabaseError else { return nil }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return (true, "the run store is busy (another process holds canopy.sqlite); try again")
        default:
            return (false, "the run store failed: \(e.message ?? "\(e.resultCode)")")
        }
    }
}
