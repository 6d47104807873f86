import CanopyBattle
import CanopyCore
import Foundation

/// Stores a live session as a run of the store (`source: "live"`), as a simulated run is stored:
/// its events (recommendations, track confirmations and drops, alerts on and off), a picture
/// frame every `frameInterval` seconds of session time, and the time reached. A session's
/// picture, recommendations and alerts had gone when the server stopped; now they can be
/// replayed and read back like any run's.
///
/// The writes happen on the recorder's own queue: the session's decision cycle hands its picture
/// over and goes on, whatever the store is doing (a large read holds it).
final class LiveRecorder: @unchecked Sendable {
    let store: RunStore
    let runID: Int64
    let frameInterval: Double
    private let queue = DispatchQueue(label: "canopy-live-recorder")
    private let lock = NSLock()
    // On the queue only:
    private var eventsStored = 0, framesStored = 0
    private var nextFrame = 0.0
    private var lastTime = 0.0
    /// Events not yet stored (a failed write is tried again with the next).
    private var pending: [(time: Double, kind: String, json: String)] = []
    /// Alerts on, by region: closed at the session's end.
    private var openAlerts: [String: String] = [:]
    // Under the lock:
    private var ended = false

    init(store: RunStore, session: LiveSession, briefingPath: String, frameInterval: Double) throws {
        self.store = store
        self.frameInterval = frameInterval
        let text = (try? String(contentsOfFile: briefingPath, encoding: .utf8)) ?? ""
        let record = try store.createRun(name: "Live: " + session.name, source: "live", seed: 0, speed: 1,
                                         scenarioFile: URL(fileURLWithPath: briefingPath).lastPathComponent, scenarioText: text)
        runID = record.id
        try store.markStarted(record.id, at: session.epoch)
    }

    var isFinished: Bool { lock.lock(); defer { lock.unlock() }; return ended }

    /// What one publication of the session brings: its picture at session time t, the cycle's
    /// events (JSON lines with "t" and "type"), and the alerts that began or ended.
    func record(_ picture: Picture, events: [LiveEvent], alertChanges: [AlertEpisode]) {
        guard !isFinished else { return }
        queue.async { self.write(picture, events: events, alertChanges: alertChanges) }
    }

    /// Waits until every publication handed over so far is stored (tests, and the end).
    func drain() { queue.sync {} }

    private func write(_ picture: Picture, events: [LiveEvent], alertChanges: [AlertEpisode]) {
        for e in events { pending.append((e.time, e.kind, e.json)) }
        for c in alertChanges {
            let on = c.finished == nil
            pending.append(alertEvent(on: on, region: c.regionID, name: c.regionName, time: c.finished ?? c.started))
            if on { openAlerts[c.regionID] = c.regionName } else { openAlerts.removeValue(forKey: c.regionID) }
        }
        var frame: (seq: Int, time: Double, json: String)? = nil
        if picture.time >= nextFrame {
            frame = (framesStored, picture.time, PictureDiffer.full(picture))
            nextFrame = picture.time + frameInterval
        }
        lastTime = max(lastTime, picture.time)
        store(frame: frame)
    }

    /// An alert event, at the millisecond the live server gave it.
    private func alertEvent(on: Bool, region: String, name: String, time t: Double) -> (time: Double, kind: String, json: String) {
        var w = JSONWriter()
        w.beginObject(); w.field("t", t, digits: 3); w.field("type", on ? "alert_on" : "alert_off")
        w.field("region", region); w.field("name", name); w.endObject()
        return (t, on ? "alert_on" : "alert_off", w.text)
    }

    private func store(frame: (seq: Int, time: Double, json: String)?) {
        guard !pending.isEmpty || frame != nil else { return }
        do {
            try store.append(runID, events: pending, firstSeq: eventsStored, frame: frame, simulatedTime: lastTime)
            eventsStored += pending.count
            pending.removeAll()
            if frame != nil { framesStored += 1 }
        } catch {
            FileHandle.standardError.write(Data("canopy serve: live session (run \(runID)): cannot store: \(error)\n".utf8))
        }
    }

    /// The session is over (the server stops): alerts still on end at the last time reached, and
    /// the run is marked finished.
    func finish() {
        lock.lock()
        let already = ended
        ended = true
        lock.unlock()
        guard !already else { return }
        queue.sync {
            for (region, name) in openAlerts.sorted(by: { $0.key < $1.key }) {
                pending.append(alertEvent(on: false, region: region, name: name, time: lastTime))
            }
            openAlerts.removeAll()
            store(frame: nil)
            try? store.finish(runID, status: "finished", simulatedTime: lastTime, summary: nil, error: nil)
        }
    }
}
