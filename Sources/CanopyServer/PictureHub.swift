import CanopyBattle
import Foundation

/// One stream of pictures (a run, or the live session) and its WebSocket subscribers. Each
/// subscriber has a bounded queue; one that falls behind is dropped (its stream is finished)
/// so that it never slows the others or the producer.
public final class PictureChannel: @unchecked Sendable {
    public let name: String
    private let lock = NSLock()
    private var differ = PictureDiffer()
    private var hasPicture = false
    private var status = "running"
    private var recentEvents: [String] = []
    private var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
    /// Called when a subscriber is dropped, so that its connection can be closed at once.
    private var onDrop: [Int: @Sendable () -> Void] = [:]
    private var nextSubscriber = 0
    /// The latest picture (for the REST API, CoT and alerts).
    public private(set) var latest: Picture?
    /// Alert episodes, in the order they started (`finished` nil while the alert is on).
    public private(set) var episodes: [AlertEpisode] = []
    private var openEpisode: [String: Int] = [:]
    /// Messages sent and subscribers dropped for falling behind.
    public private(set) var messagesSent = 0, subscribersDropped = 0
    public let queueLimit: Int
    /// UTC of simulated time 0 (a run's start, or the live session's epoch).
    public let epoch: Date
    /// Wall seconds per simulated second: 1 / speed for a paced run, 1 for the live session and
    /// for a run as fast as possible (speed 0), whose times then count simulated seconds.
    public let timeScale: Double

    init(name: String, epoch: Date, speed: Double = 1, queueLimit: Int = 16) {
        self.name = name; self.epoch = epoch; self.queueLimit = queueLimit
        timeScale = speed > 0 && speed.isFinite ? 1 / speed : 1
    }

    /// UTC of simulated time t: a run faster than real time compresses its times accordingly.
    public func utc(_ t: Double) -> Date { epoch.addingTimeInterval(t * timeScale) }

    /// Publishes a picture and the events since the last one: one delta, computed once,
    /// queued to every subscriber.
    /// With `alertsFromPicture`, alert episodes are read off the pictures' regions (right when
    /// every cycle is published, as in a live session); runs record them from their events instead.
    @discardableResult
    func publish(_ p: Picture, events: [String], status s: String, alertsFromPicture: Bool = true) -> [AlertEpisode] {
        lock.lock()
        defer { lock.unlock() }
        var changed: [AlertEpisode] = []
        for r in p.regions where alertsFromPicture {
            if r.alert, openEpisode[r.id] == nil {
                openEpisode[r.id] = episodes.count
                episodes.append(AlertEpisode(regionID: r.id, regionName: r.name, started: r.since ?? p.time, finished: nil))
                changed.append(episodes[episodes.count - 1])
            } else if !r.alert, let k = openEpisode.removeValue(forKey: r.id) {
                episodes[k].finished = p.time
                changed.append(episodes[k])
            }
        }
        status = s
        latest = p
        hasPicture = true
        let message = differ.delta(p, events: events, status: s)
        recentEvents.append(contentsOf: events)
        if recentEvents.count > 200 { recentEvents.removeFirst(recentEvents.count - 200) }
        var dropped: [Int] = []
        for (id, c) in subscribers {
            if case .dropped = c.yield(message) { dropped.append(id) } else { messagesSent += 1 }
        }
        for id in dropped {
            subscribers.removeValue(forKey: id)?.finish()
            onDrop.removeValue(forKey: id)?()
            subscribersDropped += 1
        }
        return changed
    }

    /// Records an alert change (from a run's event log); returns the episode as changed.
    func recordAlert(regionID: String, name: String, on: Bool, time: Double) -> AlertEpisode? {
        lock.lock()
        defer { lock.unlock() }
        if on {
            guard openEpisode[regionID] == nil else { return nil }
            openEpisode[regionID] = episodes.count
            episodes.append(AlertEpisode(regionID: regionID, regionName: name, started: time, finished: nil))
            return episodes[episodes.count - 1]
        }
        guard let k = openEpisode.removeValue(forKey: regionID) else { return nil }
        episodes[k].finished = time
        return episodes[k]
    }

    /// Marks the stream ended: subscribers get a last status message and their streams finish.
    func close(status s: String) {
        lock.lock()
        defer { lock.unlock() }
        status = s
        let message = "{\"type\":\"status\",\"status\":" + JSONTextQuote(s) + ",\"time\":" + String(differ.time) + "}"
        for (_, c) in subscribers { c.yield(message); c.finish() }
        subscribers.removeAll()
        // A client that has not taken its last messages within 30 s is let go.
        let pending = Array(onDrop.values)
        onDrop.removeAll()
        DispatchQueue.global().asyncAfter(deadline: .now() + 30) { for f in pending { f() } }
    }

    public var currentStatus: String { lock.lock(); defer { lock.unlock() }; return status }

    /// A new subscriber: its stream starts with a snapshot of the current picture.
    public func subscribe(onDrop dropped: (@Sendable () -> Void)? = nil) -> (id: Int, stream: AsyncStream<String>) {
        lock.lock()
        defer { lock.unlock() }
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueLimit))
        let id = nextSubscriber
        nextSubscriber += 1
        continuation.yield(hasPicture ? differ.snapshot(status: status, recentEvents: recentEvents)
                           : "{\"type\":\"status\",\"status\":" + JSONTextQuote(status) + "}")
        if status == "running" || status == "queued" || status == "live" {
            subscribers[id] = continuation
            if let dropped { onDrop[id] = dropped }
        } else {
            continuation.finish()
        }
        return (id, stream)
    }

    public func unsubscribe(_ id: Int) {
        lock.lock()
        defer { lock.unlock() }
        subscribers.removeValue(forKey: id)?.finish()
        onDrop.removeValue(forKey: id)
    }

    public var alertEpisodes: [AlertEpisode] { lock.lock(); defer { lock.unlock() }; return episodes }

    public var subscriberCount: Int { lock.lock(); defer { lock.unlock() }; return subscribers.count }
}

/// One region's alert, from siren on to siren off, in the channel's simulated seconds.
public struct AlertEpisode: Sendable, Equatable {
    public var regionID: String
    public var regionName: String
    public var started: Double
    public var finished: Double?
}

func JSONTextQuote(_ s: String) -> String {
    var w = JSONWriter()
    w.string(s)
    return w.text
}
