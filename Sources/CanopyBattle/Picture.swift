import CanopyAlerting
import CanopyCore
import CanopyScenario
import CanopyTEWA
import CanopyTracking
import Foundation

/// The air picture at one moment, as the BattleManager holds it: confirmed tracks with their
/// assessment, the fire units and their stock, engagements in flight and the alert state of
/// every region. Angles are in degrees and heights in metres here: this is what a map, a TAK
/// client or an alert app is given.
public struct Picture: Sendable {
    public struct TrackView: Sendable, Equatable {
        public var id: Int
        /// Most probable class (a `ThreatClass` raw value).
        public var threatClass: String
        /// Each class's probability, in `ThreatClass.allCases` order, classes of probability 0 left out.
        public var classProbabilities: [ClassProbability]
        public var latitude: Double, longitude: Double, altitude: Double
        /// Degrees true, ground speed and climb rate (m/s).
        public var course: Double, speed: Double, climb: Double
        /// One-sigma position error, horizontal and vertical (m).
        public var sigmaHorizontal: Double, sigmaVertical: Double
        /// Most probable aimed-at asset (nil: none of the defended assets lies ahead).
        public var aimAsset: String?
        public var aimLatitude: Double, aimLongitude: Double
        /// Seconds to predicted impact (nil when it does not come down within the prediction).
        public var timeToImpact: Double?
        public var valueAtRisk: Double
        /// 1 for the most threatening track (value at risk, then time to impact).
        public var rank: Int
        /// The fire unit engaging it now, if any.
        public var engagedBy: String?
        /// Predicted ground track ahead: (latitude, longitude, seconds from now).
        public var predicted: [PathPoint]
        public var lastUpdate: Double
    }
    public struct ClassProbability: Sendable, Equatable {
        public var threatClass: String
        public var probability: Double
    }
    public struct PathPoint: Sendable, Equatable {
        public var latitude: Double, longitude: Double, ahead: Double
    }
    public struct FireUnitView: Sendable, Equatable {
        public var id: String
        public var type: String
        public var displayName: String
        public var kind: String
        public var latitude: Double, longitude: Double
        public var minRange: Double, maxRange: Double
        public var roundsLeft: Int, magazine: Int
        public var channelsBusy: Int, channels: Int
        public var costPerShot: Double
    }
    public struct EngagementView: Sendable, Equatable {
        public var id: Int
        public var fireUnit: String
        public var track: Int
        public var rounds: Int
        public var interceptLatitude: Double, interceptLongitude: Double, interceptTime: Double
        public var killProbability: Double
        public var threatClass: String
    }
    public struct RegionView: Sendable, Equatable {
        public var id: String
        public var name: String
        public var alert: Bool
        /// When the siren went on (nil while off).
        public var since: Double?
        /// The earliest predicted impact inside the region among confirmed tracks (s, absolute).
        public var expectedImpact: Double?
    }
    /// One of the defence's own sensors, or an acoustic network (hundreds of nodes in a raid's
    /// scenario: one entry each would weigh on every stored frame), where it stands.
    public struct SensorView: Sendable, Equatable {
        public var id: String
        /// "radar" or "acoustic-network".
        public var kind: String
        /// The catalogue type (of a network's nodes).
        public var type: String
        /// A radar's place, or a network's centre.
        public var latitude: Double, longitude: Double
        /// A radar's instrumented range, or the radius of the area a network's nodes cover (m).
        public var maxRange: Double
        /// A network's nodes (1 for a radar).
        public var nodes: Int
    }
    public var time: Double
    public var tracks: [TrackView]
    public var fireUnits: [FireUnitView]
    public var engagements: [EngagementView]
    public var regions: [RegionView]
    /// The defence's radars and acoustic networks (citizens' reports come from no fixed place).
    public var sensors: [SensorView] = []
}

extension BattleManager {
    /// The picture at `now`: confirmed tracks predicted to `now`, ranked; predicted paths
    /// sampled every `pathStep` seconds over `horizon` seconds (or to impact).
    public func picture(now: Double, horizon: Double = 120, pathStep: Double = 20) -> Picture {
        let q = tracker.configuration.processNoise
        var views: [Picture.TrackView] = []
        var expectedImpact: [Double?] = Array(repeating: nil, count: briefing.regions.count)
        let classes = ThreatClass.allCases
        for trk in tracker.tracks where trk.status == .confirmed {
            let (x, P) = trk.predicted(to: now, processNoise: q)
            let g = WGS84.geodetic(ecef: x.position)
            let frame = LocalFrame(origin: g)
            let v = frame.enuVector(x.velocity)
            var course = degrees(atan2(v.x, v.y))
            if course < 0 { course += 360 }
            let up = frame.up
            var verticalVar = 0.0, trace = 0.0
            for i in 0..<3 {
                trace += P[i, i]
                for j in 0..<3 { verticalVar += up[i] * P[i, j] * up[j] }
            }
            let a = assessments[trk.id]
            var probs: [Picture.ClassProbability] = []
            if let a {
                for (k, c) in classes.enumerated() {
                    let p = k < a.classProbabilities.count ? a.classProbabilities[k] : (c == a.threatClass ? 1 : 0)
                    if p > 0 { probs.append(Picture.ClassProbability(threatClass: c.rawValue, probability: p)) }
                }
            }
            let tti = a.map(\.timeToImpact).flatMap { $0.isFinite ? $0 : nil }
            var pts: [Picture.PathPoint] = []
            let path = Assigner.path(track: trk, now: now, ballistic: a?.ballistic ?? false, processNoise: q)
            let end = min(horizon, tti ?? horizon)
            var dt = 0.0
            while dt <= end + 1e-9 {
                let p = WGS84.geodetic(ecef: path(now + dt))
                pts.append(Picture.PathPoint(latitude: p.latitudeDegrees, longitude: p.longitudeDegrees, ahead: dt))
                dt += pathStep
            }
            if let a, let tti, tti <= horizon {
                pts.append(Picture.PathPoint(latitude: a.aimPoint.latitudeDegrees, longitude: a.aimPoint.longitudeDegrees, ahead: tti))
            }
            if let a, let tti, a.aimAsset != nil || a.ballistic {
                if let r = alerter.map.region(latitude: a.aimPoint.latitude, longitude: a.aimPoint.longitude) {
                    let t = now + tti
                    if expectedImpact[r] == nil || t < expectedImpact[r]! { expectedImpact[r] = t }
                }
            }
            let engagedBy = openOrderByTrack(trk.id).map { fireUnits[$0.fireUnit].id }
            views.append(Picture.TrackView(
                id: trk.id, threatClass: a?.threatClass.rawValue ?? "unknown", classProbabilities: probs,
                latitude: g.latitudeDegrees, longitude: g.longitudeDegrees, altitude: g.height,
                course: course, speed: (v.x * v.x + v.y * v.y).squareRoot(), climb: v.z,
                sigmaHorizontal: max(0, trace - verticalVar).squareRoot(), sigmaVertical: max(0, verticalVar).squareRoot(),
                aimAsset: a?.aimAsset.map { briefing.assets[$0].name },
                aimLatitude: a?.aimPoint.latitudeDegrees ?? g.latitudeDegrees, aimLongitude: a?.aimPoint.longitudeDegrees ?? g.longitudeDegrees,
                timeToImpact: tti, valueAtRisk: a?.valueAtRisk ?? 0, rank: 0, engagedBy: engagedBy,
                predicted: pts, lastUpdate: trk.lastUpdate))
        }
        // Rank: value at risk first, then the sooner impact, then the id (a stable order).
        let order = views.indices.sorted { i, j in
            let a = views[i], b = views[j]
            if a.valueAtRisk != b.valueAtRisk { return a.valueAtRisk > b.valueAtRisk }
            let ta = a.timeToImpact ?? .infinity, tb = b.timeToImpact ?? .infinity
            if ta != tb { return ta < tb }
            return a.id < b.id
        }
        for (rank, i) in order.enumerated() { views[i].rank = rank + 1 }
        views.sort { $0.id < $1.id }

        let units = fireUnits.map { fu in
            Picture.FireUnitView(id: fu.id, type: fu.type.name, displayName: fu.type.displayName, kind: fu.type.kind.rawValue,
                                 latitude: fu.position.latitudeDegrees, longitude: fu.position.longitudeDegrees,
                                 minRange: fu.type.minRange, maxRange: fu.type.maxRange,
                                 roundsLeft: fu.roundsLeft, magazine: magazine(of: fu.id),
                                 channelsBusy: fu.channelsBusy, channels: fu.type.fireChannels, costPerShot: fu.type.costPerShot)
        }
        let engagements = openOrdersSorted.map { o in
            let p = WGS84.geodetic(ecef: o.predictedIntercept.point)
            return Picture.EngagementView(id: o.id, fireUnit: fireUnits[o.fireUnit].id, track: o.track, rounds: o.rounds,
                                          interceptLatitude: p.latitudeDegrees, interceptLongitude: p.longitudeDegrees,
                                          interceptTime: o.predictedIntercept.time, killProbability: o.killProbability,
                                          threatClass: o.threatClass.rawValue)
        }
        let regions = briefing.regions.enumerated().map { r, region in
            Picture.RegionView(id: region.id, name: region.name, alert: alerter.isOn[r], since: alerter.onSince[r],
                               expectedImpact: expectedImpact[r])
        }
        return Picture(time: now, tracks: views, fireUnits: units, engagements: engagements, regions: regions, sensors: sensorViews)
    }
}
