import CanopyAlerting
import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopyTEWA
import CanopyTracking
import Foundation

/// Something that happened, for the event log (every launch, track start/confirm/drop,
/// engagement, intercept, miss, jam, impact, alert on/off), in simulated time.
public struct SimEvent: Sendable {
    public var time: Double
    public var kind: String
    public var fields: [(String, JSONValue)]
}

/// A minimal JSON value for deterministic output.
public enum JSONValue: Sendable {
    case string(String), number(Double), int(Int), bool(Bool), null
    case array([JSONValue]), object([(String, JSONValue)])
}

/// Options of one run.
public struct RunOptions: Sendable {
    public var replication: UInt64 = 0
    /// Record per-track rows every this many seconds (0 = none).
    public var trackRowInterval: Double = 10
    /// Called now and then with (simulated time, end time).
    public var progress: (@Sendable (Double, Double) -> Void)? = nil
    /// Called after every decision cycle, on the thread that runs the simulation, with the
    /// simulated time; returning false stops the run there (it then ends as at its duration).
    /// The live server paces runs, draws the picture and stores events from here.
    public var cycleObserver: (@Sendable (Simulation, Double) -> Bool)? = nil
    /// Makes the engagement planner of the run's battle manager, given the run's replication
    /// index (to seed any draws of its own), or nil: the built-in assigner by the scenario's
    /// doctrine. Called once per run, on the thread that runs it: a planner with state of its own
    /// starts afresh in each replication of a study (the factory must not hand out one shared).
    public var planner: (@Sendable (_ replication: UInt64) -> any EngagementPlanner)? = nil
    /// Makes sensors of the user's (`SensorModel`) that fly beside the scenario's, called once per
    /// run on the thread that runs it (nil: none).
    public var sensors: (@Sendable () -> [any SensorModel])? = nil
    /// The battle manager's tracker's filter bank, in place of the scenario's `tracker.models`:
    /// for motion models of the user's (`MotionModel.custom`), 1 to 4 (nil: the scenario's).
    /// Checked when the run is made (`TrackerConfiguration.problems`).
    public var trackerModels: [MotionModel]? = nil
    /// The model of the battle (`BattleModel`): every look (the default), or the event model for studies.
    public var model: BattleModel = .looks
    public init(replication: UInt64 = 0, trackRowInterval: Double = 10, progress: (@Sendable (Double, Double) -> Void)? = nil,
                cycleObserver: (@Sendable (Simulation, Double) -> Bool)? = nil,
                planner: (@Sendable (_ replication: UInt64) -> any EngagementPlanner)? = nil, sensors: (@Sendable () -> [any SensorModel])? = nil) {
        self.replication = replication; self.trackRowInterval = trackRowInterval; self.progress = progress
        self.cycleObserver = cycleObserver; self.planner = planner; self.sensors = sensors
    }
}

/// Why the run options cannot make a run (a plug-in's figures).
public struct RunOptionsError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Wall-clock time per stage of a run (not part of the deterministic outputs).
public struct RunTimings: Sendable {
    public var total = 0.0, world = 0.0, sensing = 0.0
    public var battle = StageTimes()
}

/// One row of tracks.csv.
public struct TrackRow: Sendable {
    public var time: Double
    public var track: Int
    public var threatClass: String
    public var position: Geodetic
    public var speed: Double
    public var heading: Double
    public var aimAsset: String
    public var timeToImpact: Double
    public var truth: String
}

/// Everything a run produced.
public struct RunResult: Sendable {
    /// The run's outcome as numbers (what a study aggregates over replications).
    public var metrics: RunMetrics
    public var summary: JSONValue
    public var events: [SimEvent]
    public var trackRows: [TrackRow]
    public var timings: RunTimings
    public var simulatedSeconds: Double
    public var table: String
}

/// The World and the loop: threats fly, sensors observe truth and hand detections to the
/// BattleManager, whose orders the World carries out. Only this module knows truth.
public final class Simulation {
    /// Every kind of event a run writes (events.ndjson's "type").
    public static let eventKinds: [String] = [
        "launch", "track_start", "track_confirm", "track_drop", "engage", "intercept", "miss", "impact", "jam",
        "alert_on", "alert_off", "plan_refused", "order_rejected", "reading_refused",
    ]

    public let scenario: Scenario
    public let options: RunOptions
    // A run is single-threaded and its loops touch these arrays millions of times: they skip the
    // runtime's dynamic exclusivity bookkeeping (no access to one overlaps another's; the same
    // choice as the tracker's storage).
    @exclusivity(unchecked) var threats: [ThreatInstance]
    /// The defence's BattleManager (what it believes: tracks, assessments, alerts).
    public let battle: BattleManager
    /// The event log so far.
    public internal(set) var events: [SimEvent] = []
    /// The track rows so far (every `trackRowInterval`), for a caller that stores them as they come.
    public internal(set) var trackRows: [TrackRow] = []

    // Random streams, one per component.
    @exclusivity(unchecked) var radarRNG: RandomStream, acousticRNG: RandomStream, citizenRNG: RandomStream, engageRNG: RandomStream
    /// Kill draws made per (threat, time, fire unit) key.
    var engagementDraws: [UInt64: UInt64] = [:]

    // Sensors (truth side).
    struct RadarState { var sensor: Sensor; var params: RadarParameters; var frame: LocalFrame; var index: Int; var nextScan: Double }
    @exclusivity(unchecked) var radars: [RadarState] = []
    struct AcousticNode { var position: Vector3; var frame: LocalFrame; var sensorIndex: Int }
    struct AcousticNet { var params: AcousticParameters; var nodes: [AcousticNode]; var frame: LocalFrame; var grid: [Int64: [Int32]]; var cell: Double; var radius: Double; var nextTick: Double }
    @exclusivity(unchecked) var acoustic: [AcousticNet] = []
    struct CitizenNet { var net: CitizenNetwork; var params: CitizenParameters; var centre: Vector3; var frame: LocalFrame; var nextTick: Double }
    @exclusivity(unchecked) var citizens: [CitizenNet] = []
    let citizenTick = 10.0
    /// Sensors of the user's (`RunOptions.sensors`), and their looks' random stream.
    struct PluginSensor { var model: any SensorModel; var index: Int; var period: Double; var complete: Bool; var nextLook: Double }
    var plugins: [PluginSensor] = []
    var pluginRNG: RandomStream

    // Airborne threats' positions at the start of the current step, and how far each can move
    // within the step: sensors reject far threats with one distance test before any trigonometry.
    @exclusivity(unchecked) var stepPosition: [Vector3] = []
    @exclusivity(unchecked) var stepReach: [Double] = []
    /// When each stepPosition was computed: it is kept for `anchorInterval` seconds, the reach
    /// growing by the path's speed bound meanwhile (a position costs some thousand instructions).
    @exclusivity(unchecked) var stepAnchor: [Double] = []
    /// Each threat's speed bound for the reach (fixed for the run).
    @exclusivity(unchecked) var stepSpeed: [Double] = []
    static let anchorInterval = 10.0
    @exclusivity(unchecked) var stepAirborne: [Int] = []
    /// The scratch batch of a radar scan.
    @exclusivity(unchecked) var radarBatch: [Detection] = []

    // Detections: id → threat index (−1 for clutter/false).
    @exclusivity(unchecked) var detectionTruth: [Int32] = [0]
    @exclusivity(unchecked) var delayed: [(deliver: Double, detection: Detection?, citizen: CitizenReport?)] = []

    // Fire units (truth side: what is really in the magazine).
    var roundsLeft: [Int]
    var fired: [Int]
    /// Rounds fired at decoys (by truth), those of them costing $100k or more, and their cost.
    var decoyRounds = 0, expensiveDecoyRounds = 0, decoyCost = 0.0
    /// Rounds fired on a false detection's cue (a track of clutter or of false reports), and their cost.
    var falseTrackRounds = 0, falseTrackCost = 0.0
    /// Plans of a plug-in planner that the fire units could not carry out.
    var plansRefused = 0
    struct Flight { var order: EngagementOrder; var target: Int?; var resolveTime: Double; var solution: InterceptSolution?; var reason: String }
    @exclusivity(unchecked) var flights: [Flight] = []
    /// The threat each track has followed (−1: clutter or a false report), by track id.
    var trackTruth = TrackTruth()

    // Alerts bookkeeping.
    var regionOnSince: [Double?]
    var regionEpisodes: [[(start: Double, end: Double)]]
    var impacts: [(time: Double, threat: Int, region: Int?, lead: Double?)] = []

    public init(scenario: Scenario, options: RunOptions = RunOptions()) throws {
        self.scenario = scenario
        self.options = options
        threats = try RaidBuilder.build(scenario, replication: options.replication)
        let models = options.sensors?() ?? []
        let extra = models.map(\.trackerSensor)
        for (i, s) in extra.enumerated() {
            if let problem = SensorModelError.problem(s) {
                throw SensorModelError(description: "RunOptions.sensors[\(i)] (\(s.name)): \(problem)")
            }
        }
        if options.model == .events && (options.sensors != nil || options.trackerModels != nil) {
            throw RunOptionsError(description: "RunOptions.sensors and RunOptions.trackerModels act on the look model's tracker: the event model has none (use model .looks)")
        }
        if let tm = options.trackerModels {
            var c = TrackerConfiguration(frame: .earthCentred)
            c.models = tm
            if let problem = c.problems().first { throw RunOptionsError(description: "RunOptions.trackerModels: \(problem)") }
        }
        battle = BattleManager(briefing: Briefing(scenario: scenario), planner: options.planner?(options.replication), extraSensors: extra,
                               models: options.trackerModels)
        // A name is the tracker's: unique in its registry (radars, acoustic nodes "net#k", the
        // citizen template, the user's sensors).
        var names = Set(battle.tracker.sensors[..<battle.firstExtraSensor].map(\.name))
        for (i, s) in extra.enumerated() where !names.insert(s.name).inserted {
            throw SensorModelError(description: "RunOptions.sensors[\(i)] (\(s.name)): the name of another sensor of the run")
        }
        let seed = scenario.seed, rep = options.replication
        pluginRNG = RandomStream(seed: seed, replication: rep, component: "plug-in sensors")
        radarRNG = RandomStream(seed: seed, replication: rep, component: "radar")
        acousticRNG = RandomStream(seed: seed, replication: rep, component: "acoustic")
        citizenRNG = RandomStream(seed: seed, replication: rep, component: "citizen")
        engageRNG = RandomStream(seed: seed, replication: rep, component: "engagement")
        roundsLeft = scenario.fireUnits.map(\.magazine)
        fired = Array(repeating: 0, count: scenario.fireUnits.count)
        regionOnSince = Array(repeating: nil, count: scenario.regions.count)
        regionEpisodes = Array(repeating: [], count: scenario.regions.count)
        // Sensor layout: the same order as the BattleManager's registry (radars, then acoustic nodes).
        var index = 0
        var offsetRNG = RandomStream(seed: seed, replication: rep, component: "scan-offsets")
        for s in scenario.sensors {
            guard let r = scenario.catalogue.sensors[s.type]?.radar else { continue }
            radars.append(RadarState(sensor: s, params: r, frame: LocalFrame(origin: s.position), index: index,
                                     nextScan: offsetRNG.uniform(0, r.period)))
            index += 1
        }
        for net in scenario.acousticNetworks {
            guard let a = scenario.catalogue.sensors[net.type]?.acoustic else { continue }
            let cell = max(a.detectionRadius.values.max() ?? 3000, 1000)
            let frame = LocalFrame(origin: Geodetic(latitude: net.center.latitude, longitude: net.center.longitude, height: 0))
            var nodes: [AcousticNode] = []
            var grid: [Int64: [Int32]] = [:]
            for p in net.nodePositions() {
                let e = WGS84.ecef(p)
                let enu = frame.enu(ecef: e)
                let key = Self.cellKey(enu.x, enu.y, cell)
                grid[key, default: []].append(Int32(nodes.count))
                nodes.append(AcousticNode(position: e, frame: LocalFrame(origin: p), sensorIndex: index))
                index += 1
            }
            acoustic.append(AcousticNet(params: a, nodes: nodes, frame: frame, grid: grid, cell: cell, radius: net.radius,
                                        nextTick: offsetRNG.uniform(0, a.period)))
        }
        // In the battle manager's order of citizen networks (reports carry this index).
        for (net, c) in reportingCitizenNetworks(scenario.citizenNetworks, scenario.catalogue) {
            citizens.append(CitizenNet(net: net, params: c, centre: WGS84.ecef(net.center), frame: LocalFrame(origin: net.center),
                                       nextTick: offsetRNG.uniform(0, citizenTick)))
        }
        // The user's sensors, after the scenario's (their offsets drawn after theirs, which stay).
        for (i, m) in models.enumerated() {
            plugins.append(PluginSensor(model: m, index: battle.firstExtraSensor + i, period: extra[i].period,
                                        complete: m.scansAreComplete, nextLook: offsetRNG.uniform(0, extra[i].period)))
        }
    }

    static func cellKey(_ e: Double, _ n: Double, _ cell: Double) -> Int64 {
        let i = Int64((e / cell).rounded(.down)), j = Int64((n / cell).rounded(.down))
        return (i << 32) ^ (j & 0xFFFF_FFFF)
    }

    func emit(_ t: Double, _ kind: String, _ fields: [(String, JSONValue)]) {
        events.append(SimEvent(time: t, kind: kind, fields: fields))
    }

    func newDetection(threat: Int) -> UInt64 {
        detectionTruth.append(Int32(threat))
        return UInt64(detectionTruth.count - 1)
    }

    // MARK: The loop

    public func run() -> RunResult {
        if options.model == .events { return runEvents() }
        let wallStart = ContinuousClock.now
        var timings = RunTimings()
        let cycle = scenario.doctrine.cycle
        let lastLaunch = threats.map(\.launchTime).max() ?? 0
        var now = 0.0
        var nextProgress = ContinuousClock.now + .seconds(1)
        var quietSince: Double? = nil
        var nextTrackRow = 0.0
        var finished = false
        while !finished {
            let stepEnd = min(now + cycle, scenario.duration)
            let t0 = ContinuousClock.now
            // Launches and impacts inside (now, stepEnd].
            advanceThreats(to: stepEnd)
            let t1 = ContinuousClock.now
            cachePositions(at: now, stepLength: stepEnd - now)
            sense(from: now, to: stepEnd)
            deliver(upTo: stepEnd)
            let t2 = ContinuousClock.now
            now = stepEnd
            let out = battle.cycle(now: now)
            let t3 = ContinuousClock.now
            record(out, now: now)
            resolveFlights(upTo: now + cycle)
            timings.world += seconds(t1 - t0) + seconds(ContinuousClock.now - t3)
            timings.sensing += seconds(t2 - t1)
            if options.trackRowInterval > 0 && now >= nextTrackRow {
                recordTrackRows(now: now)
                nextTrackRow = now + options.trackRowInterval
            }
            if let p = options.progress, ContinuousClock.now >= nextProgress {
                p(now, scenario.duration)
                nextProgress = ContinuousClock.now + .seconds(1)
            }
            if isOver(now: now, lastLaunch: lastLaunch, quietSince: &quietSince) { finished = true }
            // Skip idle time before the next launch.
            if !finished && threats.allSatisfy({ $0.fate != .airborne }) && flights.isEmpty && tracksIdle() {
                if let next = threats.first(where: { $0.fate == .pending })?.launchTime, next > now + cycle {
                    let skipTo = (floor((next - cycle) / cycle) * cycle)
                    if skipTo > now {
                        now = skipTo
                        for k in radars.indices { radars[k].nextScan = max(radars[k].nextScan, now) }
                        // The user's sensors keep their phase: the looks of the idle time are passed over.
                        for k in plugins.indices where plugins[k].nextLook < now {
                            plugins[k].nextLook += ((now - plugins[k].nextLook) / plugins[k].period).rounded(.up) * plugins[k].period
                        }
                    }
                }
            }
        }
        for c in battle.finish(now: now) { applyAlert(c) }
        // Whatever is still flying at the end stays airborne.
        timings.total = seconds(ContinuousClock.now - wallStart)
        timings.battle = battle.stageTimes
        return makeResult(endTime: now, timings: timings)
    }

    /// Whether the run ends at `now` (either model): the duration reached, the observer says stop,
    /// or everything resolved and the alerts had time to clear (`quietSince`: since when all is
    /// resolved, kept by the caller).
    func isOver(now: Double, lastLaunch: Double, quietSince: inout Double?) -> Bool {
        var over = false
        let allResolved = now > lastLaunch && threats.allSatisfy { $0.fate != .pending && $0.fate != .airborne } && flights.isEmpty
        if allResolved {
            if quietSince == nil { quietSince = now }
            let anyOn = battle.alerter.isOn.contains(true)
            let cycle = scenario.doctrine.cycle
            if (!anyOn && now - quietSince! > 2 * cycle) || now - quietSince! > scenario.alerting.clearDelay + 60 { over = true }
        } else {
            quietSince = nil
        }
        if now >= scenario.duration { over = true }
        if let observe = options.cycleObserver, !observe(self, now) { over = true }
        return over
    }

    func tracksIdle() -> Bool {
        battle.tracker.tracks.isEmpty && battle.tracker.singlePlotTrackCount == 0 && !battle.alerter.isOn.contains(true) && delayed.isEmpty
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    // MARK: Threats

    func advanceThreats(to t: Double) {
        for k in threats.indices {
            switch threats[k].fate {
            case .pending where threats[k].launchTime <= t:
                threats[k].fate = .airborne
                let th = threats[k]
                let g = th.route[0]
                emit(th.launchTime, "launch", [("threat", .string(th.id)), ("threatType", .string(th.typeName)),
                                              ("lat", .number(g.latitudeDegrees)), ("lon", .number(g.longitudeDegrees))])
                if th.impactTime <= t { impact(k) }
            case .airborne where threats[k].impactTime <= t:
                impact(k)
            default: break
            }
        }
    }

    func impact(_ k: Int) {
        threats[k].fate = .impacted
        threats[k].endTime = threats[k].impactTime
        let th = threats[k]
        let g = th.path.impactPoint
        let e = WGS84.ecef(g)
        var hit: [JSONValue] = []
        if th.type.warheadKg > 0 {
            for (a, asset) in scenario.assets.enumerated() where norm(WGS84.ecef(asset.position) - e) <= asset.radius {
                hit.append(.string(asset.name))
                _ = a
            }
        }
        var region: Int? = nil
        var lead: Double? = nil
        if let r = battle.alerter.map.exactRegion(SIMD2(g.latitude, g.longitude)) {
            region = r
            if let since = regionOnSince[r] {
                if since <= th.impactTime { lead = th.impactTime - since }
            } else if let due = battle.alerter.pendingOn(r), due <= th.impactTime {
                // The siren went on at `due`, between two updates of the alerter; the next one
                // reports it, dated `due`.
                lead = th.impactTime - due
            }
        }
        if th.type.warheadKg > 0 { impacts.append((th.impactTime, k, region, lead)) }
        var f: [(String, JSONValue)] = [("threat", .string(th.id)), ("threatType", .string(th.typeName)),
                                        ("lat", .number(g.latitudeDegrees)), ("lon", .number(g.longitudeDegrees)),
                                        ("assetsHit", .array(hit))]
        if let r = region { f.append(("region", .string(scenario.regions[r].id))) }
        f.append(("alertLead", lead.map { .number($0) } ?? .null))
        emit(th.impactTime, "impact", f)
    }

    // MARK: Sensing

    func cachePositions(at t: Double, stepLength: Double) {
        if stepPosition.count != threats.count {
            stepPosition = Array(repeating: .zero, count: threats.count)
            stepReach = Array(repeating: 0, count: threats.count)
            stepAnchor = Array(repeating: -.infinity, count: threats.count)
            // The type's nominal bound, or the path's own when that is higher (a steep dive).
            stepSpeed = threats.map { th in
                let nominal: Double
                switch th.type.flightModel {
                case .ballistic, .aeroballistic: nominal = 4_000
                default: nominal = th.type.speed * 1.1 + 50
                }
                return max(nominal, th.path.maxSpeed)
            }
        }
        stepAirborne.removeAll(keepingCapacity: true)
        for k in threats.indices where threats[k].fate == .airborne || (threats[k].fate == .pending && threats[k].launchTime <= t + stepLength) {
            let speed = stepSpeed[k]
            let tk = max(t, threats[k].launchTime)
            if !(stepAnchor[k] <= tk && tk - stepAnchor[k] < Self.anchorInterval) {
                stepPosition[k] = threats[k].position(at: tk)
                stepAnchor[k] = tk
            }
            // Every position of the step is within this of the anchor: `speed` is at least the
            // path's own bound, which holds over any interval.
            stepReach[k] = speed * (max(stepLength, t + stepLength - stepAnchor[k]) + 1) + 1_000
            stepAirborne.append(k)
        }
    }

    /// Whether threat k can be within `range` of `point` during the step.
    @inline(__always) func mayBeWithin(_ k: Int, _ point: Vector3, _ range: Double) -> Bool {
        let d = stepPosition[k] - point
        let r = range + stepReach[k]
        return dot(d, d) <= r * r
    }

    func sense(from t0: Double, to t1: Double) {
        for r in radars.indices {
            while radars[r].nextScan <= t1 {
                let t = radars[r].nextScan
                if t > t0 || t0 == 0 { radarScan(r, at: t) }
                radars[r].nextScan += radars[r].params.period
            }
        }
        for a in acoustic.indices {
            while acoustic[a].nextTick <= t1 {
                acousticTick(a, at: acoustic[a].nextTick)
                acoustic[a].nextTick += acoustic[a].params.period
            }
        }
        for c in citizens.indices {
            while citizens[c].nextTick <= t1 {
                citizenTickRun(c, at: citizens[c].nextTick)
                citizens[c].nextTick += citizenTick
            }
        }
        for i in plugins.indices {
            while plugins[i].nextLook <= t1 {
                pluginLook(i, at: plugins[i].nextLook)
                plugins[i].nextLook += plugins[i].period
            }
        }
    }

    /// One look of a user's sensor: the airborne objects shown to it, its readings held to its
    /// kind and handed to the battle manager as one scan.
    func pluginLook(_ i: Int, at t: Double) {
        var objects: [SensedObject] = []
        for k in stepAirborne where threats[k].isAirborne(at: t) {
            let th = threats[k]
            objects.append(SensedObject(index: k, position: th.position(at: t), velocity: th.velocity(at: t),
                                        threatClass: th.type.threatClass, typeName: th.typeName, rcs: th.type.rcs))
        }
        var rng = pluginRNG.child(Self.key(8, UInt64(i), t.bitPattern))
        let sensor = battle.tracker.sensors[plugins[i].index]
        let readings = plugins[i].model.look(at: t, objects: objects, random: &rng)
        var batch: [Detection] = []
        batch.reserveCapacity(readings.count)
        for r in readings {
            if let reason = r.refusal(sensor, isObject: { k in
                k >= 0 && k < self.threats.count && self.threats[k].isAirborne(at: t)
            }) {
                emit(t, "reading_refused", [("sensor", .string(sensor.name)), ("reason", .string(reason))])
                continue
            }
            if let k = r.object { threats[k].detected = true }
            batch.append(Detection(id: newDetection(threat: r.object ?? -1), time: t, sensor: plugins[i].index, z: r.z,
                                   rangeRate: r.rangeRate))
        }
        if plugins[i].complete {
            battle.receiveScan(sensor: plugins[i].index, time: t, detections: batch)
        } else {
            battle.receive(batch)
        }
    }

    /// 4/3-earth radar horizon: the farthest distance (m) at which a target at height ht is above
    /// the horizon of an antenna at height hr (heights above the surface).
    public static func horizonDistance(antennaHeight hr: Double, targetHeight ht: Double) -> Double {
        RadarDetectionModel.horizonDistance(antennaHeight: hr, targetHeight: ht)
    }

    /// Swerling I detection probability: Pd = Pfa^(1/(1+SNR)), with SNR ∝ RCS / R⁴ scaled so that
    /// Pd = 0.5 at the reference range for the reference cross section.
    public static func detectionProbability(_ p: RadarParameters, rcs: Double, range: Double) -> Double {
        RadarDetectionModel.detectionProbability(falseAlarmProbability: p.falseAlarmProbability, referenceRange: p.referenceRange,
                                                 referenceRCS: p.referenceRCS, rcs: rcs, range: range)
    }

    /// A 64-bit key from parts (SplitMix64 finalizer chained), for keyed child streams.
    static func key(_ parts: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for p in parts {
            h = (h ^ p) &+ 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
            h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 31
        }
        return h
    }

    func radarScan(_ r: Int, at t: Double) {
        // The radar's fields read one by one: a copy of the whole record (sensor, parameters,
        // frame) cost a memcpy and the retains of its strings on every scan.
        let p = radars[r].params
        let frame = radars[r].frame, index = radars[r].index
        let antennaHeight = radars[r].sensor.position.height
        // One batch buffer for every scan (the battle manager copies what it receives).
        var batch = radarBatch
        radarBatch = []
        batch.removeAll(keepingCapacity: true)
        for k in stepAirborne {
            // The distance prefilter first: it reads only arrays, so the threats out of reach (most
            // of them, for any one radar) are passed over without touching their objects.
            guard mayBeWithin(k, frame.originECEF, p.maxRange) else { continue }
            let threat = threats[k]  // one reference for all of this threat's reads
            guard threat.isAirborne(at: t) else { continue }
            let pos = threat.position(at: t)
            let enu = frame.enu(ecef: pos)
            let aer = AER(enu: enu)
            guard aer.range <= p.maxRange, aer.elevation >= p.minElevation else { continue }
            let targetHeight = WGS84.geodetic(ecef: pos).height
            guard aer.range <= Self.horizonDistance(antennaHeight: antennaHeight, targetHeight: targetHeight) else { continue }
            let pd = Self.detectionProbability(p, rcs: threat.type.rcs, range: aer.range)
            // Draws keyed by (radar, scan, threat): what one threat's detection draws does not
            // depend on which other threats are still flying (common random numbers across
            // defence variants).
            var rng = radarRNG.child(Self.key(1, UInt64(r), t.bitPattern, UInt64(k)))
            // Swerling I: the cross section fluctuates scan to scan (exponential), folded into Pd.
            guard rng.bernoulli(pd) else { continue }
            let z = Vector3(aer.range + rng.normal() * p.sigmaRange,
                            wrapAngleZeroTwoPi(aer.azimuth + rng.normal() * p.sigmaAzimuth),
                            aer.elevation + rng.normal() * p.sigmaElevation)
            // A pulse-Doppler radar's radial speed: the velocity along the line of sight, and noise
            // (drawn after the position's, so that those stay as they were).
            var rangeRate: Double? = nil
            if p.sigmaRangeRate > 0 && aer.range > 0 {
                let los = (pos - frame.originECEF) / aer.range
                rangeRate = dot(los, threat.velocity(at: t)) + rng.normal() * p.sigmaRangeRate
            }
            batch.append(Detection(id: newDetection(threat: k), time: t, sensor: index, z: z, rangeRate: rangeRate))
            if !threat.detected { threat.detected = true }
        }
        var crng = radarRNG.child(Self.key(2, UInt64(r), t.bitPattern))
        let clutter = crng.poisson(p.clutterPerScan)
        // False plots' radial speeds from a stream of their own (the positions stay as they were).
        var drng = radarRNG.child(Self.key(7, UInt64(r), t.bitPattern))
        for _ in 0..<clutter {
            let z = Vector3(crng.uniform(RadarParameters.clutterMinRange, p.maxRange), crng.uniform(0, 2 * .pi),
                            crng.uniform(p.minElevation, p.minElevation + RadarParameters.clutterElevationBand))
            let rangeRate: Double? = p.sigmaRangeRate > 0 ? drng.uniform(-p.rangeRateSpan, p.rangeRateSpan) : nil
            batch.append(Detection(id: newDetection(threat: -1), time: t, sensor: index, z: z, rangeRate: rangeRate))
        }
        battle.receiveScan(sensor: index, time: t, detections: batch)
        radarBatch = batch
    }

    func acousticTick(_ a: Int, at t: Double) {
        let net = acoustic[a]
        let p = net.params
        for k in stepAirborne where mayBeWithin(k, net.frame.originECEF, net.radius + 10_000) && threats[k].isAirborne(at: t) {
            guard let radius = p.detectionRadius[threats[k].type.threatClass] else { continue }
            let pos = threats[k].position(at: t)
            let enu = net.frame.enu(ecef: pos)
            guard enu.z <= p.altitudeCeiling + 50 else { continue }
            guard WGS84.geodetic(ecef: pos).height <= p.altitudeCeiling else { continue }
            var rng = acousticRNG.child(Self.key(3, UInt64(a), t.bitPattern, UInt64(k)))
            let reach = Int64((radius / net.cell).rounded(.up))
            let ci = Int64((enu.x / net.cell).rounded(.down)), cj = Int64((enu.y / net.cell).rounded(.down))
            for di in -reach...reach {
                for dj in -reach...reach {
                    guard let list = net.grid[((ci + di) << 32) ^ ((cj + dj) & 0xFFFF_FFFF)] else { continue }
                    for n in list {
                        let node = net.nodes[Int(n)]
                        let d = norm(pos - node.position)
                        guard d <= radius, rng.bernoulli(p.detectionProbability) else { continue }
                        let az = AER(enu: node.frame.enu(ecef: pos)).azimuth
                        let z = Vector3(wrapAngleZeroTwoPi(az + rng.normal() * p.sigmaBearing), 0, 0)
                        let det = Detection(id: newDetection(threat: k), time: t, sensor: node.sensorIndex, z: z)
                        delayed.append((t + p.latency, det, nil))
                        threats[k].detected = true
                    }
                }
            }
        }
    }

    func citizenTickRun(_ c: Int, at t: Double) {
        let cn = citizens[c]
        let p = cn.params
        let perTick = p.reportsPerMinute * citizenTick / 60
        for k in stepAirborne where mayBeWithin(k, cn.centre, cn.net.radius) && threats[k].isAirborne(at: t) {
            let pos = threats[k].position(at: t)
            let g = WGS84.geodetic(ecef: pos)
            guard g.height <= p.altitudeCeiling, norm(pos - cn.centre) <= cn.net.radius else { continue }
            var rng = citizenRNG.child(Self.key(4, UInt64(c), t.bitPattern, UInt64(k)))
            let n = rng.poisson(perTick)
            for _ in 0..<n {
                let off = rng.pointInDisc(radius: p.observerDistance)
                let ground = LocalFrame(origin: Geodetic(latitude: g.latitude, longitude: g.longitude, height: 0))
                var obs = ground.geodetic(enu: Vector3(off.x, off.y, 0)); obs.height = 0
                let az = LocalFrame(origin: obs).aer(ecef: pos).azimuth
                let rep = CitizenReport(id: newDetection(threat: k), time: t, observer: obs,
                                        bearing: wrapAngleZeroTwoPi(az + rng.normal() * p.sigmaBearing), network: c)
                delayed.append((t + rng.exponential(mean: p.meanDelay), nil, rep))
                threats[k].detected = true
            }
        }
        var frng = citizenRNG.child(Self.key(5, UInt64(c), t.bitPattern))
        let falseCount = frng.poisson(p.falseReportsPerHour * citizenTick / 3600)
        for _ in 0..<falseCount {
            let off = frng.pointInDisc(radius: cn.net.radius)
            var obs = cn.frame.geodetic(enu: Vector3(off.x, off.y, 0)); obs.height = 0
            let rep = CitizenReport(id: newDetection(threat: -1), time: t, observer: obs, bearing: frng.uniform(0, 2 * .pi), network: c)
            delayed.append((t + frng.exponential(mean: p.meanDelay), nil, rep))
        }
    }

    func deliver(upTo t: Double) {
        guard !delayed.isEmpty else { return }
        // Hand over what has arrived; compact the rest in place.
        var w = 0
        for i in delayed.indices {
            let d = delayed[i]
            if d.deliver <= t {
                if let det = d.detection { battle.receive(det) }
                if let c = d.citizen { battle.receive(citizen: c) }
            } else {
                delayed[w] = d
                w += 1
            }
        }
        delayed.removeLast(delayed.count - w)
    }

    // MARK: Engagements

    func record(_ out: CycleOutput, now: Double) {
        for a in out.associations {
            let truth = Int(detectionTruth[Int(a.detection)])
            if truth >= 0 { trackTruth[a.track] = truth } else if trackTruth[a.track] == nil { trackTruth[a.track] = -1 }
            if truth >= 0 && trackTruth.isConfirmed(a.track) { threats[truth].tracked = true }
        }
        for e in out.trackEvents {
            if e.kind == .confirmed {
                trackTruth.confirm(e.track)
                if let truth = trackTruth[e.track], truth >= 0 { threats[truth].tracked = true }
            }
            var f: [(String, JSONValue)] = [("track", .int(e.track))]
            if let truth = trackTruth[e.track] { f.append(("truth", truth >= 0 ? .string(threats[truth].id) : .string("false"))) }
            if e.kind == .dropped || e.kind == .started { f.append(("reason", .string(e.reason))) }
            emit(e.time, "track_\(e.kind == .started ? "start" : (e.kind == .confirmed ? "confirm" : "drop"))", f)
        }
        for r in out.refusedPlans {
            plansRefused += 1
            let unit = scenario.fireUnits.indices.contains(r.plan.fireUnit) ? JSONValue.string(scenario.fireUnits[r.plan.fireUnit].id)
                : .int(r.plan.fireUnit)
            emit(now, "plan_refused", [("fireUnit", unit), ("track", .int(r.plan.track)), ("rounds", .int(r.plan.rounds)),
                                       ("reason", .string(r.reason))])
        }
        for o in out.orders { execute(o) }
        for c in out.alertChanges { applyAlert(c) }
    }

    func execute(_ o: EngagementOrder) {
        let fu = scenario.fireUnits[o.fireUnit]
        guard let type = scenario.catalogue.effectors[fu.type] else { return }
        let rounds = min(o.rounds, roundsLeft[o.fireUnit])
        guard rounds > 0 else {
            emit(o.orderTime, "order_rejected", [("fireUnit", .string(fu.id)), ("track", .int(o.track)), ("reason", .string("magazine empty"))])
            battle.receive(EngagementReport(order: o.id, time: o.orderTime, outcome: .missed))
            return
        }
        roundsLeft[o.fireUnit] -= rounds
        fired[o.fireUnit] += rounds
        let truth = Int(detectionTruth[Int(o.cueDetection)])
        if truth >= 0 && threats[truth].type.threatClass == .decoy {
            decoyRounds += rounds
            decoyCost += Double(rounds) * type.costPerShot
            if type.costPerShot >= 100_000 { expensiveDecoyRounds += rounds }
        }
        if truth < 0 {
            falseTrackRounds += rounds
            falseTrackCost += Double(rounds) * type.costPerShot
        }
        var order = o
        order.rounds = rounds
        let target: Int? = truth >= 0 ? truth : nil
        // A threat already gone (impacted or destroyed since its track's last plot) is fired at
        // all the same: the rounds are spent and the flight resolves as a miss, but the threat
        // does not count as engaged.
        if let k = target, threats[k].fate == .airborne { threats[k].engaged = true }
        let frame = LocalFrame(origin: fu.position)
        var solution: InterceptSolution? = nil
        var reason = ""
        var resolve = o.predictedIntercept.time
        if let k = target {
            let th = threats[k]
            // A jammer's effect is at the launch; an interceptor meets the threat within its flyout.
            let flyout = InterceptGeometry.maxFlyout(type)
            if let s = InterceptGeometry.first(fireUnit: frame, jammer: type.kind == .ew, launchTime: o.launchTime,
                                               speed: type.interceptorSpeed, maxFlyout: flyout, path: { th.position(at: $0) }) {
                solution = s
                resolve = s.time
            } else {
                reason = "target out of reach"
                resolve = o.launchTime + flyout
            }
        } else {
            reason = "no target at the cued position"
        }
        emit(o.orderTime, "engage", [("fireUnit", .string(fu.id)), ("effector", .string(fu.type)), ("track", .int(o.track)),
                                    ("target", target.map { .string(threats[$0].id) } ?? .string("false")),
                                    ("class", .string(o.threatClass.rawValue)), ("rounds", .int(rounds)),
                                    ("launchTime", .number(o.launchTime)), ("pk", .number(o.killProbability)),
                                    ("cost", .number(type.costPerShot * Double(rounds)))])
        flights.append(Flight(order: order, target: target, resolveTime: max(resolve, o.launchTime), solution: solution, reason: reason))
    }

    func resolveFlights(upTo t: Double) {
        guard !flights.isEmpty else { return }
        flights.sort { $0.resolveTime != $1.resolveTime ? $0.resolveTime < $1.resolveTime : $0.order.id < $1.order.id }
        var remaining: [Flight] = []
        for f in flights {
            // Resolve only what happens before the BattleManager's next look.
            if f.resolveTime > t { remaining.append(f); continue }
            resolve(f)
        }
        flights = remaining
    }

    /// The random stream of one engagement's kill draws, keyed by (threat, time, fire unit): the
    /// draw of one engagement does not move when another is added or removed elsewhere. A second
    /// order of the same unit on the same threat resolving at the same time (two shots in one
    /// cycle) is keyed by its repeat count too, so that its draw is its own (it used to repeat
    /// the first one's: both missed or neither did).
    func killDraws(threat k: Int, time t: Double, fireUnit u: Int) -> RandomStream {
        let base = Self.key(6, UInt64(k), t.bitPattern, UInt64(u))
        let repeatCount = engagementDraws[base, default: 0]
        engagementDraws[base] = repeatCount + 1
        return engageRNG.child(repeatCount == 0 ? base : Self.key(6, UInt64(k), t.bitPattern, UInt64(u), repeatCount))
    }

    func resolve(_ f: Flight) {
        let fu = scenario.fireUnits[f.order.fireUnit]
        let type = scenario.catalogue.effectors[fu.type]!
        let t = f.resolveTime
        var outcome = EngagementReport.Outcome.missed
        var fields: [(String, JSONValue)] = [("fireUnit", .string(fu.id)), ("effector", .string(fu.type)), ("track", .int(f.order.track))]
        if let k = f.target, let s = f.solution {
            fields.append(("target", .string(threats[k].id)))
            let g = WGS84.geodetic(ecef: s.point)
            fields.append(("lat", .number(g.latitudeDegrees)))
            fields.append(("lon", .number(g.longitudeDegrees)))
            fields.append(("groundRange", .number(s.groundRange)))
            fields.append(("altitude", .number(s.altitude)))
            let alive = threats[k].isAirborne(at: t)
            let inside = InterceptGeometry.inEnvelope(s, type)
            if !alive {
                // A flight resolved ahead of the clock can meet a threat whose impact is not yet
                // processed: it impacted first all the same.
                let impacted = threats[k].fate == .impacted || (threats[k].fate == .airborne && t >= threats[k].impactTime)
                fields.append(("reason", .string(impacted ? "target impacted first" : "target already gone")))
                emit(t, "miss", fields)
            } else if !inside {
                fields.append(("reason", .string("intercept point outside the envelope")))
                emit(t, "miss", fields)
            } else {
                let pk1 = type.killProbability[threats[k].type.threatClass] ?? 0
                var success = false
                var rng = killDraws(threat: k, time: t, fireUnit: f.order.fireUnit)
                for _ in 0..<f.order.rounds where rng.bernoulli(pk1) { success = true }
                if success {
                    threats[k].endTime = t
                    if type.kind == .ew {
                        threats[k].fate = .lost
                        outcome = .completed
                        emit(t, "jam", fields)
                    } else {
                        threats[k].fate = .destroyed
                        outcome = .killed
                        emit(t, "intercept", fields)
                    }
                } else {
                    if type.kind == .ew { outcome = .completed }
                    emit(t, "miss", fields)
                }
            }
        } else {
            fields.append(("target", f.target.map { .string(threats[$0].id) } ?? .string("false")))
            fields.append(("reason", .string(f.reason)))
            emit(t, "miss", fields)
        }
        battle.receive(EngagementReport(order: f.order.id, time: t, outcome: outcome))
    }

    // MARK: Alerts

    func applyAlert(_ c: AlertChange) {
        let r = c.region
        let region = scenario.regions[r]
        if c.on {
            regionOnSince[r] = c.time
            emit(c.time, "alert_on", [("region", .string(region.id)), ("name", .string(region.name)),
                                     ("tracks", .array(c.tracks.map { .int($0) }))])
        } else if let since = regionOnSince[r] {
            regionEpisodes[r].append((since, c.time))
            regionOnSince[r] = nil
            emit(c.time, "alert_off", [("region", .string(region.id)), ("name", .string(region.name)),
                                      ("minutes", .number((c.time - since) / 60))])
        }
    }

    func recordTrackRows(now: Double) {
        let q = battle.tracker.configuration.processNoise
        battle.tracker.forEachConfirmedTrack { trk in
            let (x, _) = trk.predicted(to: now, processNoise: q)
            let g = WGS84.geodetic(ecef: x.position)
            let venu = LocalFrame(origin: g).enuVector(x.velocity)
            let a = battle.assessments[trk.id]
            var heading = atan2(venu.x, venu.y)
            if heading < 0 { heading += 2 * .pi }
            let truth = trackTruth[trk.id].map { $0 >= 0 ? threats[$0].id : "false" } ?? ""
            trackRows.append(TrackRow(time: now, track: trk.id, threatClass: a?.threatClass.rawValue ?? "",
                                      position: g, speed: (venu.x * venu.x + venu.y * venu.y).squareRoot(),
                                      heading: heading, aimAsset: a?.aimAsset.map { scenario.assets[$0].name } ?? "",
                                      timeToImpact: a?.timeToImpact ?? .infinity, truth: truth))
        }
    }
}

@inlinable func wrapAngleZeroTwoPi(_ a: Double) -> Double {
    var x = a.truncatingRemainder(dividingBy: 2 * .pi)
    if x < 0 { x += 2 * .pi }
    return x
}

/// Values by track id, in arrays: a tracker's ids are 1, 2, 3, … in order, and a raid starts a few
/// hundred thousand tracks (most of them on one clutter plot), so a dictionary spent its time
/// hashing and growing.
struct TrackTruth {
    private var truth: [Int32] = []  // Int32.min: not yet associated
    private var confirmed: [Bool] = []
    /// The confirmed tracks' ids, in the order they were confirmed.
    private(set) var confirmedIDs: [Int] = []

    subscript(id: Int) -> Int? {
        get { id >= 0 && id < truth.count && truth[id] != .min ? Int(truth[id]) : nil }
        set {
            grow(to: id)
            truth[id] = newValue.map { Int32($0) } ?? .min
        }
    }

    func isConfirmed(_ id: Int) -> Bool { id >= 0 && id < confirmed.count && confirmed[id] }

    mutating func confirm(_ id: Int) {
        grow(to: id)
        if !confirmed[id] { confirmed[id] = true; confirmedIDs.append(id) }
    }

    private mutating func grow(to id: Int) {
        precondition(id >= 0, "track ids are not negative")
        if id >= truth.count {
            let n = max(id + 1, 2 * truth.count, 1024)
            truth.append(contentsOf: repeatElement(.min, count: n - truth.count))
            confirmed.append(contentsOf: repeatElement(false, count: n - confirmed.count))
        }
    }
}
