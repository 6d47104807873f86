import CanopyCore
import Foundation

/// A threat as the alert service sees it: points of its predicted path (ground positions with
/// their predicted times) and, if known, its predicted impact point.
public struct PredictedPath: Sendable {
    public var track: Int
    /// (latitude, longitude) radians and time (s), in time order.
    public var points: [(lat: Double, lon: Double, time: Double)]
    /// Each point's region (−1: none), when worked out beforehand (`RegionMap.region`); nil: the
    /// alerter looks them up.
    public var regions: [Int32]? = nil
    public init(track: Int, points: [(lat: Double, lon: Double, time: Double)]) {
        self.track = track; self.points = points
    }
}

/// A change of a region's alert state.
public struct AlertChange: Sendable {
    public var time: Double
    public var region: Int
    public var on: Bool
    /// Tracks whose paths caused the alert (for `on`).
    public var tracks: [Int]
}

/// Civil alerts: a region goes on alert when a threat's predicted path over the horizon crosses
/// it, and is cleared `clearDelay` seconds after no path does. Sirens sound `latency` seconds
/// after the decision (the alert chain: air force → civil protection → sirens and apps).
public struct Alerter: Sendable {
    public let map: RegionMap
    public var horizon: Double
    public var clearDelay: Double
    public var latency: Double

    /// Per region: whether the siren is on, and the last time a path crossed it.
    public private(set) var isOn: [Bool]
    /// Per region: when the siren went on (nil while off).
    public private(set) var onSince: [Double?]
    private var lastThreatened: [Double]
    private var pendingOn: [Double?]
    private var threatenedNow: [Bool]

    public init(map: RegionMap, horizon: Double, clearDelay: Double, latency: Double) {
        self.map = map; self.horizon = horizon; self.clearDelay = clearDelay; self.latency = latency
        let n = map.regions.count
        isOn = Array(repeating: false, count: n)
        onSince = Array(repeating: nil, count: n)
        lastThreatened = Array(repeating: -.infinity, count: n)
        pendingOn = Array(repeating: nil, count: n)
        threatenedNow = Array(repeating: false, count: n)
    }

    /// When region r's siren goes on if it is decided and not yet reported (nil otherwise). An
    /// update at or after that time reports it on, dated then, even if the threat has gone by
    /// that update: so the siren is on from that time in any case.
    public func pendingOn(_ r: Int) -> Double? { isOn[r] ? nil : pendingOn[r] }

    /// Decides alerts at time `now` from the predicted paths; returns the changes (siren on/off).
    public mutating func update(now: Double, paths: [PredictedPath]) -> [AlertChange] {
        var changes: [AlertChange] = []
        var causes: [Int: [Int]] = [:]
        for k in threatenedNow.indices { threatenedNow[k] = false }
        for path in paths {
            var last = -1
            // (A path kept from an earlier update has points already flown: passed over.)
            for (k, p) in path.points.enumerated() where p.time <= now + horizon && p.time >= now {
                let found: Int?
                if let regions = path.regions { found = regions[k] >= 0 ? Int(regions[k]) : nil } else {
                    found = map.region(latitude: p.lat, longitude: p.lon)
                }
                guard let r = found, r != last else { continue }
                last = r
                if !threatenedNow[r] { threatenedNow[r] = true }
                causes[r, default: []].append(path.track)
            }
        }
        for r in isOn.indices {
            if threatenedNow[r] {
                lastThreatened[r] = now
                if !isOn[r] && pendingOn[r] == nil { pendingOn[r] = now + latency }
            }
            if let due = pendingOn[r], now >= due {
                pendingOn[r] = nil
                if !isOn[r] {
                    isOn[r] = true
                    onSince[r] = due
                    changes.append(AlertChange(time: due, region: r, on: true, tracks: Array(Set(causes[r] ?? [])).sorted()))
                }
            }
            // Still threatened: stays on (with a clear delay of 0 the test below alone would switch
            // it off in the update that switched it on).
            if isOn[r] && !threatenedNow[r] && now - lastThreatened[r] >= clearDelay {
                isOn[r] = false
                onSince[r] = nil
                changes.append(AlertChange(time: now, region: r, on: false, tracks: []))
            }
            if !isOn[r], pendingOn[r] != nil, !threatenedNow[r], now - lastThreatened[r] >= clearDelay {
                pendingOn[r] = nil
            }
        }
        return changes
    }

    /// The earliest time after `now` at which an update could change a region with no change of
    /// the paths: a siren decided and not yet on, or one on whose clear delay runs out (if no
    /// path threatens its region again before). Infinity if none.
    public func nextChange(after now: Double) -> Double {
        var t = Double.infinity
        for r in isOn.indices {
            if let due = pendingOn[r], !isOn[r] { t = min(t, max(due, now)) }
            if isOn[r] { t = min(t, max(lastThreatened[r] + clearDelay, now)) }
        }
        return t
    }

    /// Clears every region (end of run); returns the changes.
    public mutating func clearAll(now: Double) -> [AlertChange] {
        var changes: [AlertChange] = []
        for r in isOn.indices where isOn[r] {
            isOn[r] = false
            onSince[r] = nil
            changes.append(AlertChange(time: now, region: r, on: false, tracks: []))
        }
        return changes
    }
}
