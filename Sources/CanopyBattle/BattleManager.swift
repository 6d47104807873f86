import CanopyAlerting
import CanopyCore
import CanopyScenario
import CanopyTEWA
import CanopyTracking
import Foundation

/// What the defence is told before the raid: its own sensors and fire units, what it defends,
/// the alert regions, the catalogue of types and its doctrine. Nothing about the raid itself.
public struct Briefing: Sendable {
    public var origin: Geodetic
    public var catalogue: Catalogue
    public var assets: [Asset]
    public var regions: [AlertRegion]
    public var sensors: [Sensor]
    public var acousticNetworks: [AcousticNetwork]
    public var citizenNetworks: [CitizenNetwork]
    public var fireUnits: [FireUnit]
    public var doctrine: Doctrine
    public var alerting: AlertingSettings
    public var tracker: TrackerSettings

    /// Takes from a scenario only what the defence may know (no threats, no waves, no seed).
    public init(scenario s: Scenario) {
        origin = s.origin; catalogue = s.catalogue; assets = s.assets; regions = s.regions
        sensors = s.sensors; acousticNetworks = s.acousticNetworks; citizenNetworks = s.citizenNetworks
        fireUnits = s.fireUnits; doctrine = s.doctrine; alerting = s.alerting; tracker = s.tracker
    }
}

/// A bearing report from a citizen's phone: where the observer stood and the bearing they saw.
public struct CitizenReport: Sendable {
    public var id: UInt64
    public var time: Double
    public var observer: Geodetic
    public var bearing: Double
    /// Index of the reporting network in `reportingCitizenNetworks` (the scenario's citizen
    /// networks whose type has citizen figures; the type gives the bearing noise and how far
    /// observers stand); 0 when the scenario has none.
    public var network: Int
    public init(id: UInt64, time: Double, observer: Geodetic, bearing: Double, network: Int = 0) {
        self.id = id; self.time = time; self.observer = observer; self.bearing = bearing; self.network = network
    }
}

/// An order to a fire unit.
public struct EngagementOrder: Sendable {
    public var id: Int
    public var fireUnit: Int
    public var track: Int
    /// The last detection the track used: the fire unit's own radar cues on it.
    public var cueDetection: UInt64
    public var rounds: Int
    public var orderTime: Double
    public var launchTime: Double
    public var predictedIntercept: InterceptSolution
    public var killProbability: Double
    public var threatClass: ThreatClass
}

/// What a fire unit reports after an engagement (its own kill assessment).
public struct EngagementReport: Sendable {
    public enum Outcome: String, Sendable { case killed, missed, completed }
    public var order: Int
    public var time: Double
    public var outcome: Outcome
    public init(order: Int, time: Double, outcome: Outcome) { self.order = order; self.time = time; self.outcome = outcome }
}

/// One decision cycle's output.
public struct CycleOutput: Sendable {
    public var orders: [EngagementOrder] = []
    public var alertChanges: [AlertChange] = []
    public var trackEvents: [TrackEvent] = []
    public var associations: [Association] = []
    /// Plans of the engagement planner that the fire units could not carry out (a plug-in's; the
    /// built-in planner's plans always hold).
    public var refusedPlans: [RefusedPlan] = []
}

/// Time spent per stage (wall seconds), for benchmarks.
public struct StageTimes: Sendable {
    public var tracking = 0.0, assessment = 0.0, assignment = 0.0, alerting = 0.0
    /// Decision cycles, and the longest assignment of one cycle (s): it must fit in the cycle.
    public var cycles = 0, longestAssignment = 0.0
    public init() {}
}

extension Assigner {
    /// The built-in assigner of a briefing: its doctrine, its tracker's process noise, and the
    /// threats its doctrine expects (for the optimal rule's rounds kept for later).
    public init(briefing b: Briefing) {
        let expected: [ExpectedThreat] = b.doctrine.expectedThreats.compactMap { e in
            guard let type = b.catalogue.threats[e.threatType], let asset = b.assets.first(where: { $0.name == e.asset }) else { return nil }
            return ExpectedThreat(threatClass: type.threatClass, count: e.count, target: asset.position,
                                  value: asset.value * asset.damageFraction(warheadKg: type.warheadKg))
        }
        self.init(doctrine: b.doctrine, processNoise: b.tracker.processNoise, expected: expected)
    }
}

/// A confirmed track as the decision stages read it.
public struct TrackReport: Sendable {
    public var id: Int
    /// Position and velocity (ECEF, m and m/s) at the time of the decision.
    public var state: Vector6
    /// Detections the track has taken.
    public var hits: Int
    /// Whether the track's heading is known well enough to alert by (its velocity's standard
    /// deviation under half its speed, or 10 m/s); ballistic tracks alert regardless.
    public var directionSettled: Bool
    /// The detection that would cue an engagement of it (its caller's id).
    public var cue: UInt64
    /// The caller vouches that the track is as when it last reported it fresh: its state then,
    /// flown straight on. The battle manager keeping pictures (`keepsPictures`) then takes its
    /// assessment and predicted path from then (the time to impact less the time since).
    public var unchanged = false
    public init(id: Int, state: Vector6, hits: Int, directionSettled: Bool, cue: UInt64, unchanged: Bool = false) {
        self.id = id; self.state = state; self.hits = hits; self.directionSettled = directionSettled; self.cue = cue
        self.unchanged = unchanged
    }
}

/// The BattleManager: detections in; tracks, threat assessments, engagement orders and civil
/// alerts out. It never sees truth — only detections, its own fire units and its briefing — so
/// the same code runs in simulation and live.
public final class BattleManager {
    public let briefing: Briefing
    public let tracker: Tracker
    public let assessor: ThreatAssessor
    /// The built-in assigner (the scenario's doctrine); it plans the engagements unless the
    /// battle manager was given a planner of its own (it stays here all the same: its path
    /// prediction serves the alerts).
    public let assigner: Assigner
    /// Decides the engagements each cycle: `assigner`, or the planner given at creation.
    private var planner: any EngagementPlanner
    public private(set) var alerter: Alerter
    public private(set) var fireUnits: [FireUnitState]
    /// Index of the first acoustic node in the tracker's sensor list (radars come first).
    public let firstAcousticSensor: Int
    /// Index of the template sensor used for citizen reports.
    public let citizenSensor: Int
    /// The briefing's radars and acoustic networks as the picture shows them.
    public let sensorViews: [Picture.SensorView]
    /// Index of the first of the sensors given at creation beside the briefing's (they follow
    /// the citizen template, in the order given).
    public let firstExtraSensor: Int
    /// Bearing noise (rad) and reach (m) of each citizen network's reports.
    let citizenNoise: [(sigma: Double, reach: Double)]
    public private(set) var assessments: [Int: ThreatAssessment] = [:]
    public private(set) var stageTimes = StageTimes()

    private var pendingDetections: [Detection] = []
    private var pendingCitizen: [CitizenReport] = []
    private var pendingScans: [(time: Double, sensor: Int)] = []
    private var histories: [Int: TrackHistory] = [:]
    /// Track → its orders in flight, oldest first (one cycle may give a track several: a salvo
    /// split over units, or two shots of one unit); the track is engaged until the last reports.
    private var engagedTracks: [Int: [Int]] = [:]
    private var openOrders: [Int: EngagementOrder] = [:]
    private var nextOrder = 1
    private var lastAlertTime = -Double.infinity
    private let alertPeriod: Double
    private var batch: [Detection] = []
    private var reports: [TrackReport] = []
    /// Keep each track's last fresh assessment and predicted path (the path over the alert
    /// horizon and `pictureReuse` more), for reports marked unchanged.
    public var keepsPictures = false
    public var pictureReuse = 60.0
    private var pictures: [Int: (time: Double, assessment: ThreatAssessment, path: PredictedPath?)] = [:]
    /// Some track was assessed afresh after the last alert update.
    private var alertsStale = false

    /// A battle manager for the briefing; `planner` replaces the built-in assigner in the assign
    /// stage (nil: the built-in, by the briefing's doctrine); `extraSensors` join the tracker's
    /// registry after the briefing's own (from index `firstExtraSensor`).
    /// `models`: the tracker's filter bank, in place of the scenario's (`tracker.models`), for
    /// motion models of the user's (`MotionModel.custom`); nil: the scenario's.
    public init(briefing b: Briefing, planner: (any EngagementPlanner)? = nil, extraSensors: [TrackerSensor] = [],
                models: [MotionModel]? = nil) {
        briefing = b
        var sensors: [TrackerSensor] = []
        var views: [Picture.SensorView] = []
        for s in b.sensors {
            guard let type = b.catalogue.sensors[s.type], let r = type.radar else { continue }
            views.append(Picture.SensorView(id: s.id, kind: "radar", type: s.type, latitude: s.position.latitudeDegrees,
                                            longitude: s.position.longitudeDegrees, maxRange: r.maxRange, nodes: 1))
            var sensor = TrackerSensor(name: s.id, kind: .rangeAzimuthElevation, position: s.position,
                                       sigma: Vector3(r.sigmaRange, r.sigmaAzimuth, r.sigmaElevation),
                                       maxRange: r.maxRange, period: r.period, canInitiate: true,
                                       clutterDensity: r.clutterDensity)
            sensor.sigmaRangeRate = r.sigmaRangeRate
            sensor.rangeRateSpan = r.rangeRateSpan
            // The beam's lowest elevation, as the world applies it (a target below it is not seen,
            // so score initiation must not charge its track a miss).
            sensor.minElevation = r.minElevation
            // Score initiation charges a miss by the radar's own Pd at the track's range and
            // height, for a target of the design cross section (0.1 m²: a Shahed, a cruise
            // missile's upper figure), and none beyond its horizon.
            sensor.detectionModel = RadarDetectionModel(referenceRange: r.referenceRange, referenceRCS: r.referenceRCS,
                                                        falseAlarmProbability: r.falseAlarmProbability, designRCS: 0.1,
                                                        antennaHeight: s.position.height)
            sensors.append(sensor)
        }
        firstAcousticSensor = sensors.count
        for net in b.acousticNetworks {
            guard let a = b.catalogue.sensors[net.type]?.acoustic else { continue }
            let radius = a.detectionRadius.values.max() ?? 3000
            let nodes = net.nodePositions()
            views.append(Picture.SensorView(id: net.id, kind: "acoustic-network", type: net.type, latitude: net.center.latitudeDegrees,
                                            longitude: net.center.longitudeDegrees, maxRange: net.radius, nodes: nodes.count))
            for (k, p) in nodes.enumerated() {
                sensors.append(TrackerSensor(name: "\(net.id)#\(k)", kind: .bearing, position: p,
                                             sigma: Vector3(a.sigmaBearing, 0, 0), maxRange: radius, period: a.period,
                                             canInitiate: true, initiationRange: radius / 2,
                                             initiationAltitude: min(a.altitudeCeiling / 2, 1000)))
            }
        }
        citizenSensor = sensors.count
        sensorViews = views
        // Each network's bearing noise and reach (its type's), for the reports it sends; a report of
        // a network the scenario does not have (a live feed) takes the first's, else 15° and 3 km.
        citizenNoise = reportingCitizenNetworks(b.citizenNetworks, b.catalogue).map {
            (sigma: $0.figures.sigmaBearing, reach: $0.figures.observerDistance * 2)
        }
        let first = citizenNoise.first ?? (sigma: radians(15), reach: 6000)
        sensors.append(TrackerSensor(name: "citizen", kind: .bearing, position: b.origin, sigma: Vector3(first.sigma, 0, 0),
                                     maxRange: first.reach, period: 30, canInitiate: false))
        firstExtraSensor = sensors.count
        sensors.append(contentsOf: extraSensors)
        let t = b.tracker
        var configuration = TrackerConfiguration(confirmM: t.confirmM, confirmN: t.confirmN, maxCoast: t.maxCoast,
                                                 gateProbability: t.gateProbability, processNoise: t.processNoise,
                                                 initiation: t.initiation, scoreAlpha: t.falseTrackProbability,
                                                 scoreBeta: t.missedTrackProbability)
        configuration.radialSpeed = t.radialSpeed
        configuration.maxAcceleration = t.maxAcceleration
        if let models { configuration.models = models } else if !t.models.isEmpty { configuration.models = t.models.map(\.motionModel) }
        tracker = Tracker(configuration: configuration, sensors: sensors)
        assessor = ThreatAssessor(assets: b.assets, catalogue: b.catalogue, rule: b.doctrine.assessment)
        assigner = Assigner(briefing: b)
        self.planner = planner ?? assigner
        let map = RegionMap.shared(regions: b.regions.map { r in
            RegionMap.Region(id: r.id, name: r.name, polygons: r.polygons.map { $0.rings })
        })
        alerter = Alerter(map: map, horizon: b.alerting.horizon, clearDelay: b.alerting.clearDelay, latency: b.alerting.latency)
        alertPeriod = max(b.doctrine.cycle, 4)
        fireUnits = b.fireUnits.compactMap { fu in
            guard let type = b.catalogue.effectors[fu.type] else { return nil }
            let reserve = b.doctrine.reserves.first { $0.effectorType == fu.type }
            return FireUnitState(id: fu.id, type: type, position: fu.position, magazine: fu.magazine, launchers: fu.launchers,
                                 reserveRounds: reserve?.rounds ?? 0, reserveClasses: Set(reserve?.forClasses ?? []))
        }
    }

    // MARK: Inputs

    public func receive(_ detections: [Detection]) { pendingDetections.append(contentsOf: detections) }
    /// A radar's whole scan (possibly empty): under score initiation, each track the radar should
    /// have seen and that took none of these detections is charged a miss.
    public func receiveScan(sensor: Int, time: Double, detections: [Detection]) {
        pendingDetections.append(contentsOf: detections)
        // Under M-of-N a complete scan tells the tracker nothing its detections do not.
        if tracker.configuration.initiation == .score { pendingScans.append((time: time, sensor: sensor)) }
    }
    public func receive(_ detection: Detection) { pendingDetections.append(detection) }
    public func receive(citizen report: CitizenReport) { pendingCitizen.append(report) }

    public func receive(_ report: EngagementReport) {
        guard let order = openOrders.removeValue(forKey: report.order) else { return }
        fireUnits[order.fireUnit].channelsBusy = max(0, fireUnits[order.fireUnit].channelsBusy - 1)
        if var ids = engagedTracks[order.track] {
            ids.removeAll { $0 == order.id }
            engagedTracks[order.track] = ids.isEmpty ? nil : ids
        }
        if report.outcome == .killed {
            tracker.drop(track: order.track, time: report.time, reason: "killed by \(fireUnits[order.fireUnit].id)")
            assessments.removeValue(forKey: order.track)
        }
    }

    // MARK: The cycle

    /// Runs one decision cycle at time `now`: tracking of everything received, assessment,
    /// assignment, alerting.
    public func cycle(now: Double) -> CycleOutput {
        var out = CycleOutput()
        var clock = ContinuousClock.now
        func lap(_ field: inout Double) {
            let n = ContinuousClock.now
            let d = n - clock
            field += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            clock = n
        }
        // Tracking: in measurement-time order, one batch per (sensor, time).
        pendingDetections.sort { $0.time != $1.time ? $0.time < $1.time : ($0.sensor != $1.sensor ? $0.sensor < $1.sensor : $0.id < $1.id) }
        var i = 0
        var citizenIndex = 0
        pendingCitizen.sort { $0.time != $1.time ? $0.time < $1.time : $0.id < $1.id }
        pendingScans.sort { $0.time != $1.time ? $0.time < $1.time : $0.sensor < $1.sensor }
        var scanIndex = 0
        while i < pendingDetections.count || citizenIndex < pendingCitizen.count || scanIndex < pendingScans.count {
            let nextDetTime = i < pendingDetections.count ? pendingDetections[i].time : .infinity
            let nextDetSensor = i < pendingDetections.count ? Int(pendingDetections[i].sensor) : Int.max
            let nextScan = scanIndex < pendingScans.count ? pendingScans[scanIndex] : (time: Double.infinity, sensor: Int.max)
            if citizenIndex < pendingCitizen.count && pendingCitizen[citizenIndex].time < min(nextDetTime, nextScan.time) {
                let r = pendingCitizen[citizenIndex]
                citizenIndex += 1
                var s = tracker.sensors[citizenSensor]
                s.frame = SensorFrame(LocalFrame(origin: r.observer))
                if r.network > 0 && r.network < citizenNoise.count {
                    s.source.sigma = Vector3(citizenNoise[r.network].sigma, 0, 0)
                    s.maxRange = citizenNoise[r.network].reach
                }
                tracker.process([Detection(id: r.id, time: r.time, sensor: citizenSensor, z: Vector3(r.bearing, 0, 0))], sensorOverride: s)
                continue
            }
            // A scan with no detections, before the next batch.
            if nextScan.time < nextDetTime || (nextScan.time == nextDetTime && nextScan.sensor < nextDetSensor) {
                tracker.processScan([], sensor: nextScan.sensor, time: nextScan.time)
                scanIndex += 1
                continue
            }
            batch.removeAll(keepingCapacity: true)
            let first = pendingDetections[i]
            while i < pendingDetections.count && pendingDetections[i].time == first.time && pendingDetections[i].sensor == first.sensor {
                batch.append(pendingDetections[i])
                i += 1
            }
            if nextScan.time == first.time && nextScan.sensor == Int(first.sensor) {
                tracker.processScan(batch, sensor: nextScan.sensor, time: nextScan.time)
                scanIndex += 1
            } else {
                tracker.process(batch)
            }
        }
        pendingDetections.removeAll(keepingCapacity: true)
        pendingScans.removeAll(keepingCapacity: true)
        pendingCitizen.removeAll(keepingCapacity: true)
        tracker.maintain(now: now)
        out.trackEvents = tracker.events
        out.associations = tracker.associations
        tracker.events.removeAll(keepingCapacity: true)
        tracker.associations.removeAll(keepingCapacity: true)
        for e in out.trackEvents where e.kind == .dropped {
            histories.removeValue(forKey: e.track)
            assessments.removeValue(forKey: e.track)
        }
        lap(&stageTimes.tracking)

        // The confirmed tracks as the decision stages read them (each track is 1.8 KB of filter
        // states: read in place).
        reports.removeAll(keepingCapacity: true)
        let q = tracker.configuration.processNoise
        tracker.tracks.withUnsafeBufferPointer { tb in
            for ti in tb.indices where tb[ti].status == .confirmed {
                let P = tb[ti].P
                let velocitySigma = (P[3, 3] + P[4, 4] + P[5, 5]).squareRoot()
                reports.append(TrackReport(id: tb[ti].id, state: tb[ti].predicted(to: now, processNoise: q).x, hits: tb[ti].hits,
                                           directionSettled: velocitySigma < 0.5 * max(norm(tb[ti].velocity), 20),
                                           cue: tb[ti].lastDetection))
            }
        }
        decide(now: now, tracks: reports, into: &out, clock: &clock)
        return out
    }

    /// The decision stages (assessment, assignment, alerting) of one cycle at `now`, on confirmed
    /// tracks given from outside: a tracker of the caller's, or the event model's tracks (whose
    /// engagement reports must name these ids). Tracks not given since their last decision are
    /// forgotten (their history and assessment), as a dropped track is.
    /// `assign`: false when the caller knows no track can be engaged now (the assigner is then
    /// not asked; its answer would be empty).
    public func decide(now: Double, tracks: [TrackReport], assign: Bool = true) -> CycleOutput {
        var out = CycleOutput()
        var clock = ContinuousClock.now
        var seen = Set<Int>()
        for t in tracks { seen.insert(t.id) }
        for id in histories.keys where !seen.contains(id) { histories.removeValue(forKey: id) }
        for id in assessments.keys where !seen.contains(id) { assessments.removeValue(forKey: id) }
        if keepsPictures { for id in pictures.keys where !seen.contains(id) { pictures.removeValue(forKey: id) } }
        decide(now: now, tracks: tracks, assign: assign, into: &out, clock: &clock)
        return out
    }

    private func decide(now: Double, tracks: [TrackReport], assign: Bool = true, into out: inout CycleOutput,
                        clock: inout ContinuousClock.Instant) {
        func lap(_ field: inout Double) {
            let n = ContinuousClock.now
            let d = n - clock
            field += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            clock = n
        }
        // Assessment of confirmed tracks.
        var current: [ThreatAssessment] = []
        current.reserveCapacity(tracks.count)
        // The tracks the assigner may engage: their state at now, and the detection that cues them.
        var stateByID: [Int: Vector6] = [:], cueByID: [Int: UInt64] = [:]
        for t in tracks {
            let x = t.state
            if keepsPictures && t.unchanged, let kept = pictures[t.id] {
                var a = kept.assessment
                if a.timeToImpact.isFinite { a.timeToImpact -= now - kept.time }
                assessments[t.id] = a
                current.append(a)
                if a.valueAtRisk > 0 && engagedTracks[t.id] == nil {
                    stateByID[t.id] = x
                    cueByID[t.id] = t.cue
                }
                continue
            }
            var h = histories[t.id] ?? TrackHistory()
            let a = assessor.assess(id: t.id, state: x, history: &h, hits: t.hits)
            histories[t.id] = h
            alertsStale = true
            if keepsPictures { pictures[t.id] = (now, a, nil) }
            assessments[t.id] = a
            current.append(a)
            if a.valueAtRisk > 0 && engagedTracks[t.id] == nil {
                stateByID[t.id] = x
                cueByID[t.id] = t.cue
            }
        }
        lap(&stageTimes.assessment)

        // Assignment.
        if assign {
            let situation = EngagementSituation(now: now, assessments: current, states: stateByID, fireUnits: fireUnits,
                                                engaged: Set(engagedTracks.keys), doctrine: briefing.doctrine)
            let plans = planner.plan(situation)
            for p in plans {
                // Whatever planned it, a plan must be one the fire unit can carry out now, with the
                // plans before it booked.
                if let reason = situation.refusal(of: p, units: fireUnits) {
                    out.refusedPlans.append(RefusedPlan(plan: p, reason: reason))
                    continue
                }
                let order = EngagementOrder(id: nextOrder, fireUnit: p.fireUnit, track: p.track,
                                            cueDetection: cueByID[p.track] ?? 0, rounds: p.rounds,
                                            orderTime: now, launchTime: p.launchTime, predictedIntercept: p.intercept,
                                            killProbability: p.killProbability,
                                            threatClass: assessments[p.track]?.threatClass ?? .drone)
                nextOrder += 1
                fireUnits[p.fireUnit].commit(rounds: p.rounds, at: p.launchTime)
                engagedTracks[p.track, default: []].append(order.id)
                openOrders[order.id] = order
                out.orders.append(order)
            }
            let before = stageTimes.assignment
            lap(&stageTimes.assignment)
            stageTimes.longestAssignment = max(stageTimes.longestAssignment, stageTimes.assignment - before)
            stageTimes.cycles += 1
        }

        // Alerting.
        if now - lastAlertTime >= alertPeriod - 1e-9 {
            lastAlertTime = now
            alertsStale = false
            var paths: [PredictedPath] = []
            for (k, a) in current.enumerated() {
                let t = tracks[k]
                guard t.hits >= 5 else { continue }
                // A direction still this uncertain would alert regions the threat is not heading for.
                guard a.ballistic || t.directionSettled else { continue }
                guard keepsPictures else {
                    paths.append(predictedPath(track: t.id, state: t.state, a, now: now))
                    continue
                }
                if t.unchanged, let kept = pictures[t.id]?.path {
                    paths.append(kept)
                    continue
                }
                // Kept beyond the horizon by as long as it may be reused, with its regions.
                var path = predictedPath(track: t.id, state: t.state, a, now: now, beyond: pictureReuse, interpolated: true)
                path.regions = path.points.map { p in Int32(alerter.map.region(latitude: p.lat, longitude: p.lon) ?? -1) }
                if let kept = pictures[t.id] { pictures[t.id] = (kept.time, kept.assessment, path) }
                paths.append(path)
            }
            out.alertChanges = alerter.update(now: now, paths: paths)
        }
        lap(&stageTimes.alerting)
    }

    /// With pictures kept, the earliest time after `now` at which an alert update could change
    /// something while the tracks stay as reported: a region on a kept path coming within the
    /// horizon or passed by, a siren due, a clear delay running out; never before the alert
    /// period since the last update.
    public func nextAlertChange(after now: Double) -> Double {
        var t = alerter.nextChange(after: now)
        let horizon = briefing.alerting.horizon
        // A track assessed afresh since the last update: the next update may change the alerts.
        if alertsStale { t = min(t, lastAlertTime + alertPeriod) }
        for (_, kept) in pictures {
            guard let path = kept.path, let regions = path.regions, regions.count == path.points.count else { continue }
            var k = 0
            while k < path.points.count {
                let r = regions[k]
                var j = k
                while j + 1 < path.points.count && regions[j + 1] == r { j += 1 }
                if r >= 0 {
                    let enters = path.points[k].time - horizon, leaves = path.points[j].time
                    if enters > now { t = min(t, enters) } else if leaves > now { t = min(t, leaves) }
                }
                k = j + 1
            }
        }
        return max(t, lastAlertTime + alertPeriod)
    }

    /// Ground points of a track's predicted path over the alert horizon, ending at the predicted
    /// impact, from its state x predicted to now.
    /// `beyond`: the path goes on that much past the alert horizon (to be kept and reused).
    /// `interpolated`: a straight (not ballistic) path's latitude and longitude are worked out at
    /// every fourth point and the last, and between them along the line in latitude and longitude
    /// (within metres over some ten kilometres).
    func predictedPath(track id: Int, state x: Vector6, _ a: ThreatAssessment, now: Double, beyond: Double = 0,
                       interpolated: Bool = false) -> PredictedPath {
        let horizon = min(briefing.alerting.horizon + beyond, a.timeToImpact)
        let path = Assigner.path(state: x, now: now, ballistic: a.ballistic)
        let step = max(5, min(30, 2_000 / max(a.speed, 1)))
        var pts: [(lat: Double, lon: Double, time: Double)] = []
        var t = 0.0
        if interpolated && !a.ballistic {
            let count = Int((horizon / step).rounded(.down)) + 1
            pts.reserveCapacity(count + 1)
            var k = 0
            var g0 = WGS84.geodetic(ecef: path(now))
            while k < count {
                let k1 = min(k + 4, count - 1)
                let g1 = WGS84.geodetic(ecef: path(now + Double(k1) * step))
                var dlon = g1.longitude - g0.longitude
                if dlon > .pi { dlon -= 2 * .pi } else if dlon < -.pi { dlon += 2 * .pi }
                let span = Double(max(k1 - k, 1))
                for j in k..<(k1 == count - 1 ? count : k1) {
                    let f = Double(j - k) / span
                    var lon = g0.longitude + dlon * f
                    if lon > .pi { lon -= 2 * .pi } else if lon < -.pi { lon += 2 * .pi }
                    pts.append((g0.latitude + (g1.latitude - g0.latitude) * f, lon, now + Double(j) * step))
                }
                g0 = g1
                k = k1 == count - 1 ? count : k1
            }
        } else {
            while t <= horizon {
                let g = WGS84.geodetic(ecef: path(now + t))
                pts.append((g.latitude, g.longitude, now + t))
                t += step
            }
        }
        if a.timeToImpact.isFinite && a.timeToImpact <= briefing.alerting.horizon + beyond {
            pts.append((a.aimPoint.latitude, a.aimPoint.longitude, now + a.timeToImpact))
        }
        return PredictedPath(track: id, points: pts)
    }

    /// Clears all alerts at the end of a run.
    public func finish(now: Double) -> [AlertChange] { alerter.clearAll(now: now) }

    /// Number of engagements in flight.
    public var openEngagements: Int { openOrders.count }

    /// The engagements in flight, by order id.
    public var openOrdersSorted: [EngagementOrder] { openOrders.values.sorted { $0.id < $1.id } }

    /// The oldest engagement in flight against a track, if any.
    public func openOrderByTrack(_ track: Int) -> EngagementOrder? { engagedTracks[track]?.first.flatMap { openOrders[$0] } }

    /// A fire unit's magazine as briefed (0 for an unknown id).
    public func magazine(of fireUnit: String) -> Int { briefing.fireUnits.first { $0.id == fireUnit }?.magazine ?? 0 }
}

