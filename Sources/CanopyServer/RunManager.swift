import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopySimulation
import CanopyTEWA
import Foundation

/// What a scenario upload was refused for: each problem with its field path.
public struct ScenarioRejection: Error, Sendable {
    public var problems: [ScenarioError.Problem]
}

/// Runs scenarios on their own threads, paced to `speed` simulated seconds per wall second
/// (0: as fast as the machine goes), publishing the picture about once a second, storing
/// events, frames and the summary as they come.
public final class RunManager: @unchecked Sendable {
    public let store: RunStore
    private let lock = NSLock()
    private var channels: [Int64: PictureChannel] = [:]
    private var cancelled: Set<Int64> = []
    /// Simulated seconds between stored frames (the replay's resolution).
    public var frameInterval: Double
    /// Called with each channel's picture when published (CoT out) and each alert change.
    public var onPicture: (@Sendable (PictureChannel, Picture) -> Void)?
    public var onAlertChange: (@Sendable (PictureChannel, AlertEpisode) -> Void)?
    /// Makes each run's engagement planner (nil: the built-in assigner; `RunOptions.planner`).
    public let planner: (@Sendable (UInt64) -> any EngagementPlanner)?

    public init(store: RunStore, frameInterval: Double = 10, planner: (@Sendable (UInt64) -> any EngagementPlanner)? = nil) {
        self.store = store
        self.frameInterval = frameInterval
        self.planner = planner
    }

    /// The runs this server ran whose channels it has released (`release`).
    private var released = Set<Int64>()

    public func channel(_ id: Int64) -> PictureChannel? { lock.lock(); defer { lock.unlock() }; return channels[id] }

    public var runningCount: Int { lock.lock(); defer { lock.unlock() }; return channels.values.filter { $0.currentStatus == "running" }.count }

    /// Validates a scenario's text and starts it; the problems of an invalid one are thrown as a
    /// `ScenarioRejection` and nothing is stored.
    public func start(text: String, fileName: String, name: String? = nil, seed: UInt64? = nil, speed: Double) throws -> RunRecord {
        var scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(text: text, fileName: fileName)
        } catch let e as ScenarioError {
            throw ScenarioRejection(problems: e.problems)
        }
        if let seed { scenario.seed = seed }
        let runName = name ?? scenario.name
        let record = try store.createRun(name: runName, source: "simulation", seed: scenario.seed, speed: speed,
                                         scenarioFile: fileName, scenarioText: text)
        let startedAt = Date()
        do { try store.markStarted(record.id, at: startedAt) } catch {
            // No queued row that never runs.
            _ = try? store.delete(record.id)
            throw error
        }
        let channel = PictureChannel(name: "run-\(record.id)", epoch: startedAt, speed: speed)
        lock.lock()
        channels[record.id] = channel
        lock.unlock()
        let job = RunJob(manager: self, id: record.id, scenario: scenario, speed: speed, channel: channel)
        let thread = Thread { job.execute() }
        thread.stackSize = 16 << 20
        thread.name = "canopy-run-\(record.id)"
        thread.start()
        return try store.run(record.id) ?? record
    }

    /// Asks a running run to stop at its next cycle; false if it is not running.
    public func cancel(_ id: Int64) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let c = channels[id], c.currentStatus == "running" else { return false }
        cancelled.insert(id)
        return true
    }

    func isCancelled(_ id: Int64) -> Bool { lock.lock(); defer { lock.unlock() }; return cancelled.contains(id) }

    /// How long a finished run's channel stays after its end, for the clients that join then
    /// (they get its last picture and the closing status); later ones are told the stream is over
    /// and replay the stored frames.
    static let channelGrace: Double = 60

    func ended(_ id: Int64) {
        lock.lock()
        cancelled.remove(id)
        lock.unlock()
        // Its picture, tables, events and alert episodes are not kept for the server's life.
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.channelGrace) { [weak self] in self?.release(id) }
    }

    /// Forgets a run's channel (after its grace, or at once when the run is deleted); a run still
    /// going keeps it.
    public func release(_ id: Int64) {
        lock.lock(); defer { lock.unlock() }
        if let c = channels[id], c.currentStatus != "running" { channels[id] = nil; released.insert(id) }
    }

    /// Whether this server ran the run and has let its channel go.
    public func wasReleased(_ id: Int64) -> Bool { lock.lock(); defer { lock.unlock() }; return released.contains(id) }
}

/// One run on its thread.
final class RunJob: @unchecked Sendable {
    let manager: RunManager
    let id: Int64
    let scenario: Scenario
    let speed: Double
    let channel: PictureChannel
    var eventsStored = 0, eventsPublished = 0, framesStored = 0, rowsStored = 0
    /// Events whose alert changes were recorded (apart from `eventsStored`: a failed write is
    /// retried at the next flush, and its alerts must not be recorded twice).
    var eventsAlerted = 0
    var nextFrame = 0.0
    var lastPublish = ContinuousClock.now
    var wallStart = ContinuousClock.now

    init(manager: RunManager, id: Int64, scenario: Scenario, speed: Double, channel: PictureChannel) {
        self.manager = manager; self.id = id; self.scenario = scenario; self.speed = speed; self.channel = channel
    }

    func execute() {
        wallStart = .now
        let observer: @Sendable (Simulation, Double) -> Bool = { [self] sim, now in self.observe(sim, now) }
        do {
            let sim = try Simulation(scenario: scenario, options: RunOptions(trackRowInterval: 10, cycleObserver: observer,
                                                                             planner: manager.planner))
            let result = sim.run()
            let wasCancelled = manager.isCancelled(id)
            // What is left: the final events, the last frame, the last track rows, the summary.
            flush(sim, now: result.simulatedSeconds, force: true)
            var summary = ""
            result.summary.render(into: &summary)
            end(status: wasCancelled ? "cancelled" : "finished", simulatedTime: result.simulatedSeconds, summary: summary, error: nil)
        } catch {
            end(status: "failed", simulatedTime: 0, summary: nil, error: "\(error)")
        }
        manager.ended(id)
    }

    /// The record's last write, tried three times (the store can be busy a while): a finished
    /// run's summary is not turned into a failure by one failed write. Then the stream closes.
    func end(status: String, simulatedTime: Double, summary: String?, error: String?) {
        for attempt in 1...3 {
            do {
                try manager.store.finish(id, status: status, simulatedTime: simulatedTime, summary: summary, error: error)
                break
            } catch {
                if attempt < 3 { Thread.sleep(forTimeInterval: 1) }
            }
        }
        channel.close(status: status)
    }

    /// After each cycle: pace, store, publish. Returns false to stop (cancelled).
    func observe(_ sim: Simulation, _ now: Double) -> Bool {
        if speed > 0 {
            // In seconds of Double (no Int64 conversion to overflow), in slices of a quarter of a
            // second so that a slow run is cancelled promptly.
            while !manager.isCancelled(id) {
                let elapsed = ContinuousClock.now - wallStart
                let wait = now / speed - (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                guard wait > 0 else { break }
                Thread.sleep(forTimeInterval: min(wait, 0.25))
            }
        }
        flush(sim, now: now, force: false)
        return !manager.isCancelled(id)
    }

    static func rowJSON(_ r: TrackRow) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("time", r.time, digits: 1); w.field("track", r.track); w.field("class", r.threatClass)
        w.field("lat", r.position.latitudeDegrees, digits: 6); w.field("lon", r.position.longitudeDegrees, digits: 6)
        w.field("alt", r.position.height, digits: 0); w.field("speed", r.speed, digits: 1)
        w.field("heading", degrees(r.heading), digits: 1); w.field("aimAsset", r.aimAsset.isEmpty ? nil : r.aimAsset)
        w.field("timeToImpact", r.timeToImpact.isFinite ? r.timeToImpact : nil, digits: 0)
        w.field("truth", r.truth)
        w.endObject()
        return w.text
    }

    static func eventJSON(_ e: SimEvent) -> String {
        var s = ""
        JSONValue.object([("t", .number(e.time)), ("type", .string(e.kind))] + e.fields).render(into: &s)
        return s
    }

    func flush(_ sim: Simulation, now: Double, force: Bool) {
        let published = ContinuousClock.now - lastPublish >= .milliseconds(900)
        let frameDue = now >= nextFrame
        guard force || published || frameDue else { return }
        let picture = sim.battle.picture(now: now)
        // Store events and (every frameInterval simulated seconds) a frame.
        let events = sim.events
        var newEvents: [(time: Double, kind: String, json: String)] = []
        var alertChanges: [AlertEpisode] = []
        if eventsStored < events.count {
            for (k, e) in events[eventsStored...].enumerated() {
                newEvents.append((e.time, e.kind, Self.eventJSON(e)))
                if eventsStored + k >= eventsAlerted && (e.kind == "alert_on" || e.kind == "alert_off") {
                    var id = "", name = ""
                    for (k, v) in e.fields {
                        if case .string(let s) = v { if k == "region" { id = s } else if k == "name" { name = s } }
                    }
                    if let c = channel.recordAlert(regionID: id, name: name, on: e.kind == "alert_on", time: e.time) { alertChanges.append(c) }
                }
            }
        }
        var frame: (seq: Int, time: Double, json: String)? = nil
        if frameDue || force {
            frame = (framesStored, now, PictureDiffer.full(picture))
            framesStored += 1
            nextFrame = now + manager.frameInterval
        }
        do {
            try manager.store.append(id, events: newEvents, firstSeq: eventsStored, frame: frame, simulatedTime: now)
            // Stored: the next flush starts after them (a failed write is tried again then).
            eventsStored = events.count
        } catch {
            FileHandle.standardError.write(Data("canopy serve: run \(id): cannot store events: \(error)\n".utf8))
        }
        eventsAlerted = events.count
        // Track rows as they come (they were stored only when the run ended, and lost with it
        // when the server stopped).
        let rows = sim.trackRows
        if rowsStored < rows.count {
            do {
                try manager.store.appendTrackRows(id, rows[rowsStored...].map(Self.rowJSON), firstSeq: rowsStored)
                rowsStored = rows.count
            } catch {
                FileHandle.standardError.write(Data("canopy serve: run \(id): cannot store track rows: \(error)\n".utf8))
            }
        }
        for c in alertChanges { manager.onAlertChange?(channel, c) }
        if published || force {
            let fresh = events.count > eventsPublished ? events[eventsPublished...].map(Self.eventJSON) : []
            eventsPublished = events.count
            channel.publish(picture, events: fresh, status: "running", alertsFromPicture: false)
            lastPublish = .now
            manager.onPicture?(channel, picture)
        }
    }
}
