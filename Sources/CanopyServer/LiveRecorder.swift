import CanopyBattle
import CanopyCore
import Foundation

/// Stores a live session as a run of the store (`source: "live"`), as a simulated run is stored:
/// its events (recommendations, track confirmations and drops, alerts on and off), a picture
/// frame every `frameInterval` seconds of session time, and the time reached. A session's
/// picture, recommendations and alerts had gone when the server stopped; now they can be
/// replayed and read back like any run's.
final class LiveRecorder: @unchecked Sendable {
    let store: RunStore
    let runID: Int64
    let frameInterval: Double
    private let lock = NSLock()
    private var eventsStored = 0, framesStored = 0
    private var nextFrame = 0.0
    private var lastTime = 0.0
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

    /// What one publication of the session brings: its picture at session time t, the cycle's
    /// events (JSON lines with "t" and "type"), and the alerts that began or ended.
    func record(_ picture: Picture, events: [String], alertChanges: [AlertEpisode]) {
        lock.lock()
        defer { lock.unlock() }
        guard !ended else { return }
        var rows: [(time: Double, kind: String, json: String)] = []
        for e in events {
            guard let o = try? JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any],
                  let t = (o["t"] as? NSNumber)?.doubleValue, let kind = o["type"] as? String else { continue }
            rows.append((t, kind, e))
        }
        for c in alertChanges {
            var w = JSONWriter()
            let on = c.finished == nil
            let t = c.finished ?? c.started
            w.beginObject(); w.field("t", t, digits: 1); w.field("type", on ? "alert_on" : "alert_off")
            w.field("region", c.regionID); w.field("name", c.regionName); w.endObject()
            rows.append((t, on ? "alert_on" : "alert_off", w.text))
        }
        var frame: (seq: Int, time: Double, json: String)? = nil
        if picture.time >= nextFrame {
            frame = (framesStored, picture.time, PictureDiffer.full(picture))
            framesStored += 1
            nextFrame = picture.time + frameInterval
        }
        lastTime = max(lastTime, picture.time)
        guard !rows.isEmpty || frame != nil else { return }
        do {
            try store.append(runID, events: rows, firstSeq: eventsStored, frame: frame, simulatedTime: lastTime)
            eventsStored += rows.count
        } catch {
            FileHandle.standardError.write(Data("canopy serve: live session (run \(runID)): cannot store: \(error)\n".utf8))
        }
    }

    var isFinished: Bool { lock.lock(); defer { lock.unlock() }; return ended }

    /// The session is over (the server stops): the run is marked finished.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !ended else { return }
        ended = true
        try? store.finish(runID, status: "finished", simulatedTime: lastTime, summary: nil, error: nil)
    }
}
