import CanopyCore
import Foundation

/// How detections are shared among tracks.
public enum AssociationMethod: String, Sendable, CaseIterable {
    /// Global nearest neighbour: each detection to at most one track, the most likely joint
    /// assignment found optimally (Jonker–Volgenant) per cluster of shared gates.
    case gnn
    /// Joint probabilistic data association (Fortmann, Bar-Shalom & Scheffe 1983): every gated
    /// detection updates a track in proportion to its marginal association probability,
    /// enumerated exactly per cluster (largest clusters fall back to GNN).
    case jpda
}

/// How tentative tracks become confirmed (and are dropped).
public enum InitiationMethod: String, Sendable, CaseIterable {
    /// M updates within N looks of the sensor that started the track.
    case mOfN = "m-of-n"
    /// Sequential likelihood-ratio track score (Blackman & Popoli 1999, §6.2): confirm when the
    /// score passes ln((1−β)/α), drop a tentative track below ln(β/(1−α)) and a confirmed one
    /// when it falls `scoreDrop` below its peak.
    case score
}

/// What the tracker does with a radar plot's radial speed (`Detection.rangeRate`).
public enum RadialSpeedUse: String, Sendable, CaseIterable {
    /// Refuse pairings it contradicts, and fuse it in the track's update (the default).
    case fuse
    /// Refuse pairings it contradicts; the update uses the plot's position only.
    case gate
    /// Disregard it.
    case ignore
}

/// Settings of the multi-sensor tracker.
public struct TrackerConfiguration: Sendable {
    public var confirmM: Int
    public var confirmN: Int
    /// A confirmed track with no update for this long (s) is dropped.
    public var maxCoast: Double
    /// Probability that a true detection falls inside its gate.
    public var gateProbability: Double
    /// Process noise (m²/s³) of the default single constant-velocity model, and of gating.
    public var processNoise: Double
    /// Fastest target the tracker expects (m/s); bounds the gate of a one-point tentative track.
    public var maxSpeed: Double
    /// Velocity standard deviation (m/s) given to a track started from a bearing.
    public var bearingInitVelocitySigma: Double
    /// Side of a spatial-index cell (m).
    public var cellSize: Double
    /// Motion models: one for a Kalman filter, several for an IMM.
    public var models: [MotionModel]
    public var filter: FilterKind
    public var association: AssociationMethod
    public var initiation: InitiationMethod
    public var frame: TrackingFrame
    /// Out-of-sequence measurements up to this old (s, behind a track's newest) are fused exactly
    /// by re-filtering the track's stored updates; older ones by one-step retrodiction.
    public var oosmWindow: Double
    /// Track score thresholds: false-confirmation probability α, missed-confirmation β.
    public var scoreAlpha: Double
    public var scoreBeta: Double
    public var scoreDrop: Double
    /// Expected new targets per unit measurement volume (score initiation's prior).
    public var newTargetDensityRatio: Double
    /// JPDA: clusters with more joint events than this fall back to GNN.
    public var jpdaMaxEvents: Int
    /// Largest acceleration (m/s²) of a target between a track's first two plots: how far the
    /// radial speed measured at either plot may differ from the mean velocity between them.
    public var maxAcceleration: Double = 40
    /// What a radar plot's radial speed is used for (a radar that measures none: nothing).
    public var radialSpeed: RadialSpeedUse = .fuse

    public init(confirmM: Int = 3, confirmN: Int = 5, maxCoast: Double = 40, gateProbability: Double = 0.999,
                processNoise: Double = 50, maxSpeed: Double = 3000, bearingInitVelocitySigma: Double = 120,
                cellSize: Double = 40_000, models: [MotionModel]? = nil, filter: FilterKind = .ekf,
                association: AssociationMethod = .gnn, initiation: InitiationMethod = .mOfN,
                frame: TrackingFrame = .earthCentred, oosmWindow: Double = 60, scoreAlpha: Double = 1e-5,
                scoreBeta: Double = 0.1, scoreDrop: Double = 12, newTargetDensityRatio: Double = 0.1,
                jpdaMaxEvents: Int = 50_000) {
        self.confirmM = confirmM; self.confirmN = confirmN; self.maxCoast = maxCoast
        self.gateProbability = gateProbability; self.processNoise = processNoise; self.maxSpeed = maxSpeed
        self.bearingInitVelocitySigma = bearingInitVelocitySigma; self.cellSize = cellSize
        self.models = models ?? [.cv(q: processNoise)]
        self.filter = filter; self.association = association; self.initiation = initiation; self.frame = frame
        self.oosmWindow = oosmWindow; self.scoreAlpha = scoreAlpha; self.scoreBeta = scoreBeta; self.scoreDrop = scoreDrop
        self.newTargetDensityRatio = newTargetDensityRatio; self.jpdaMaxEvents = jpdaMaxEvents
    }

    /// The largest process noise of the bank (used for gating and prediction queries).
    public var gatingProcessNoise: Double { max(processNoise, models.map(\.q).max() ?? processNoise) }

    /// What is wrong with the motion models for a tracker to run them, one line each (empty: none).
    /// Models given in Swift, custom ones above all, are checked here; a configuration file's are
    /// checked as it is read.
    public func problems() -> [String] {
        var out: [String] = []
        if models.isEmpty || models.count > 4 { out.append("models: a bank has 1 to 4 motion models (got \(models.count))") }
        var names: [String: Int] = [:]
        for (i, m) in models.enumerated() {
            let p = "models[\(i)]"
            if !(m.q.isFinite && m.q > 0) { out.append("\(p).q: must be a number > 0 (got \(m.q))") }
            if !(m.sojourn.isFinite && m.sojourn > 0) { out.append("\(p).sojourn: must be a number of seconds > 0 (got \(m.sojourn))") }
            if m.kind == .coordinatedTurn && !(m.turnRate.isFinite && abs(m.turnRate) <= .pi / 2) {
                out.append("\(p).turnRate: must be within ±π/2 rad/s (got \(m.turnRate))")
            }
            if m.kind == .estimatedTurn {
                if !(m.turnRate.isFinite && m.turnRate > 0 && m.turnRate <= .pi / 2) {
                    out.append("\(p).turnRate: an estimated turn's starting spread of rates must be in (0, π/2] rad/s (got \(m.turnRate))")
                }
                if !(m.turnNoise.isFinite && m.turnNoise > 0) {
                    out.append("\(p).turnNoise: must be a number of rad²/s³ > 0 (got \(m.turnNoise))")
                }
                if models.count > 1 {
                    out.append("\(p): an estimated turn (nct) runs alone, as the only model (it follows turns of either sense itself)")
                }
                if filter != .ekf {
                    out.append("\(p): an estimated turn (nct) runs with filter ekf (got \(filter.rawValue))")
                }
            }
            guard m.kind == .custom else { continue }
            guard let t = m.transition else {
                out.append("\(p): a custom model needs its TransitionModel (make it with MotionModel.custom(_:))")
                continue
            }
            if t.name.isEmpty { out.append("\(p): a custom model needs a name") }
            if let j = names[t.name] { out.append("\(p) (\(t.name)): the name of models[\(j)] too") }
            names[t.name] = names[t.name] ?? i
            if !(t.gatingAcceleration.isFinite && t.gatingAcceleration >= 0) {
                out.append("\(p) (\(t.name)).gatingAcceleration: must be a number ≥ 0 (got \(t.gatingAcceleration))")
            }
            if let problem = t.problem(frame: frame) { out.append("\(p) (\(t.name)): \(problem)") }
        }
        return out
    }
}

public enum TrackStatus: String, Sendable {
    case tentative, confirmed
}

/// One update a track took, kept while it may still be needed to re-filter an out-of-sequence
/// measurement: what was measured, and the state after it.
struct UpdateRecord: Sendable {
    var time: Double
    var source: MeasurementSource
    var z: Vector3
    var rangeRate: RangeRateMeasurement?
    var posterior: FilterState
}

/// A track's stored updates, kept out of line so that tracks stay small to copy.
final class OOSMStore: @unchecked Sendable {
    /// The stored updates are records[start...]: records that fall out of the window are passed
    /// over and removed in bulk, so that dropping one does not shift all the others.
    private(set) var records: [UpdateRecord] = []
    /// The records' times, apart from them: a late report's search reads 8 bytes per update, not
    /// a 1.5 KB record (a wave's histories do not fit in cache).
    private(set) var times: [Double] = []
    private(set) var start = 0
    var checkpoint: FilterState?
    init(checkpoint: FilterState?) { self.checkpoint = checkpoint }

    var count: Int { records.count - start }
    /// Time and posterior of the i-th stored update (0: the oldest).
    func time(_ i: Int) -> Double { times[start + i] }
    func posterior(_ i: Int) -> FilterState { records[start + i].posterior }
    func append(_ r: UpdateRecord) { records.append(r); times.append(r.time) }
    /// How many stored updates are at or before t (they come first: the store is in time order).
    func countAtOrBefore(_ t: Double) -> Int {
        times.withUnsafeBufferPointer { tb in
            var k = tb.count
            while k > start && tb[k - 1] > t { k -= 1 }
            return k - start
        }
    }
    /// Keeps the oldest k stored updates and puts `tail` after them.
    func replaceTail(keeping k: Int, with tail: [UpdateRecord]) {
        records.removeLast(count - k)
        times.removeLast(times.count - records.count)
        records.append(contentsOf: tail)
        for r in tail { times.append(r.time) }
    }
    func removeAll() { records.removeAll(keepingCapacity: true); times.removeAll(keepingCapacity: true); start = 0 }
    /// Drops the oldest n stored updates.
    func dropOldest(_ n: Int) {
        start += n
        if start >= 16 && 2 * start >= records.count { records.removeFirst(start); times.removeFirst(start); start = 0 }
    }
}

/// A track: the tracker's estimate of one object (position m, velocity m/s in the tracker frame).
public struct Track: Sendable {
    public let id: Int
    public internal(set) var status: TrackStatus
    public internal(set) var state: FilterState
    /// False for a track started by one radar plot (its velocity still unknown): only ever in
    /// what `Tracker.track(id:)` returns for one; the tracker keeps such tracks apart from `tracks`.
    public internal(set) var hasVelocity: Bool
    public internal(set) var hits: Int
    public let createdAt: Double
    public internal(set) var confirmedAt: Double?
    public internal(set) var lastUpdate: Double
    let confirmDeadline: Double
    /// The caller's id of the last detection used (lets an evaluator, never the tracker, relate tracks to truth).
    public internal(set) var lastDetection: UInt64
    public internal(set) var radarUpdates: Int
    public internal(set) var bearingUpdates: Int
    /// Log-likelihood-ratio track score and its peak.
    public internal(set) var score: Double
    public internal(set) var peakScore: Double
    /// Stored updates for exact out-of-sequence fusion (nil when the window is 0, and until the
    /// state first changes after its velocity is known).
    var oosm: OOSMStore?
    /// State before the oldest stored update (the base for re-filtering).
    var checkpoint: FilterState? {
        get { oosm?.checkpoint }
        nonmutating set { oosm?.checkpoint = newValue }
    }

    /// Time of the state estimate (s).
    public var time: Double { state.time }
    public var x: Vector6 { state.x }
    public var P: Matrix6 { state.P }
    public var position: Vector3 { state.x.position }
    public var velocity: Vector3 { state.x.velocity }
    /// IMM mode probabilities (one entry per model).
    public var modeProbabilities: [Double] { (0..<state.modeCount).map { state.mu[$0] } }

    /// The state predicted (not stored) to time t with a constant-velocity model of noise q.
    public func predicted(to t: Double, processNoise q: Double) -> (x: Vector6, P: Matrix6) {
        var xp = state.x, Pp = state.P
        if t > state.time { NearlyConstantVelocity.predict(&xp, &Pp, dt: t - state.time, q: q) }
        return (xp, Pp)
    }
}

/// The tracker's CPU time by stage (`Tracker.phaseTiming`), in seconds, and what gating examined.
public struct TrackerPhases: Sendable, Equatable {
    /// Rebuilding the spatial index after tracks were removed.
    public var index = 0.0
    /// Each detection's candidates from the index, their pre-gates and χ² gates.
    public var gating = 0.0
    /// Clusters of shared gates and their assignment (GNN), or JPDA's weights and updates.
    public var association = 0.0
    /// GNN's filter updates (every mode's prediction and update), and one-plot tracks promoted.
    public var updates = 0.0
    /// A complete scan's misses scored against the tracks it should have seen.
    public var misses = 0.0
    /// New one-plot tracks from the detections nobody took.
    public var initiation = 0.0
    /// `maintain`: confirmations, deletions and duplicates.
    public var upkeep = 0.0
    /// Items the index gave for all detections, and the (detection, track) pairs that passed the gate.
    public var candidates = 0, pairs = 0

    public init() {}

    public var total: Double { index + gating + association + updates + misses + initiation + upkeep }

    /// Seconds of the monotonic clock: read without a system call (a thread's CPU clock cost
    /// about 0.5 µs a read here, a sixth of n10's tracking time at eight reads a batch). Stage
    /// times are therefore elapsed time: run pinned to one core, and take the least of several.
    public static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// What happened to tracks.
public struct TrackEvent: Sendable {
    public enum Kind: String, Sendable { case started, confirmed, dropped }
    public var time: Double
    public var track: Int
    public var kind: Kind
    public var reason: String
}

/// A detection used by a track.
public struct Association: Sendable {
    public var track: Int
    public var detection: UInt64
    public var time: Double
}

/// A multi-sensor, multi-target tracker.
///
/// - Filters: EKF or UKF updates over a bank of motion models (constant velocity, coordinated
///   turn, ballistic, or a `TransitionModel` of the user's), one model as a Kalman filter or
///   several as an IMM.
/// - Measurements: radar (range, azimuth, elevation), bearing-only, 2-D position, from any
///   number of asynchronous sensors.
/// - Gating: a spatial index of track positions (sorted cell keys) gives candidates, a cheap
///   Euclidean test culls them, then a χ² test on the Mahalanobis distance.
/// - Association: GNN or JPDA per cluster of shared gates.
/// - Initiation: two-point radar initiation or a bearing fan, confirmed by M-of-N or by score.
/// - Out-of-sequence measurements: exact within `oosmWindow` (the track's stored updates are
///   re-filtered with the late one in time order), retrodicted beyond it.
public final class Tracker {
    // The tracker is used from one thread at a time and its hot paths work on its arrays through
    // buffer pointers; the properties below skip the runtime's dynamic exclusivity bookkeeping,
    // which otherwise costs about 7 % of the tracking loop (debug and release alike).
    public let configuration: TrackerConfiguration
    public let sensors: [TrackerSensor]
    public let bank: ModelBank
    /// Tracks with a velocity (two or more radar plots, or started by a bearing or a 2-D position):
    /// every one of them, so nothing here tests `hasVelocity`. Tentative tracks of one radar plot,
    /// most of them clutter, are kept apart, compact (`singlePlotTrackCount`).
    @exclusivity(unchecked) public private(set) var tracks: [Track] = []
    /// Tentative tracks of one radar plot (promoted ones wait for the next upkeep to be removed).
    @exclusivity(unchecked) private var singles: [SinglePlotTrack] = []
    /// Track events since the caller last cleared them.
    @exclusivity(unchecked) public var events: [TrackEvent] = []
    /// Associations since the caller last cleared them.
    @exclusivity(unchecked) public var associations: [Association] = []
    /// Counters.
    @exclusivity(unchecked) public private(set) var detectionsProcessed = 0
    @exclusivity(unchecked) public private(set) var tentativeDropped = 0
    @exclusivity(unchecked) public private(set) var outOfSequenceExact = 0
    @exclusivity(unchecked) public private(set) var outOfSequenceApproximate = 0
    @exclusivity(unchecked) public private(set) var jpdaFallbacks = 0
    /// When set, each batch's stages are timed (elapsed, by the monotonic clock) into `phases` (a clock
    /// read per stage and batch; off by default, so a simulation pays nothing for it).
    public var phaseTiming = false
    /// Where the tracker's time went, by stage, while `phaseTiming` was set.
    @exclusivity(unchecked) public private(set) var phases = TrackerPhases()
    /// Predictions by a model of the user's (`TransitionModel`) that were not finite and were
    /// replaced by the constant-velocity one.
    @exclusivity(unchecked) public private(set) var transitionFallbacks = 0
    /// Whether association decisions are logged in `associations` (turn off for benchmarks).
    @exclusivity(unchecked) public var recordAssociations = true

    @exclusivity(unchecked) private var nextID = 1
    @exclusivity(unchecked) private var lastDuplicateCheck = -Double.infinity
    private let gates: (Double, Double, Double)
    private let qGate: Double
    /// The score that confirms a track (Wald's upper threshold, ln((1 − β) / α)).
    private let confirmScore: Double
    // Spatial index: a hash grid of 2-D cells (chains through `gridNext`), rebuilt when tracks
    // are removed or reordered; a new track is inserted in O(1).
    @exclusivity(unchecked) private var grid: HashGrid
    /// What each item of the grid is: a track's index (≥ 0), or −1 − the index of a one-plot track.
    @exclusivity(unchecked) private var gridRef: [Int32] = []
    /// `tracks.count` when the batch in hand was gated: pairs name a one-plot track k as this + k.
    @exclusivity(unchecked) private var denseTracks = 0
    /// What the pre-gate needs of each track, packed (index = track index), so that scanning
    /// the candidates of a detection touches one small record each, not the whole track.
    @exclusivity(unchecked) private var summaries: [GateSummary] = []
    @exclusivity(unchecked) private var indexDirty = true
    // Byte offsets of a track's combined mean and covariance (read in place by the gates).
    private let offX: Int, offP: Int
    // Work buffers reused across batches.
    @exclusivity(unchecked) private var pairs: [Pair] = []
    /// A query's candidates (room for every indexed item: a query yields each at most once).
    @exclusivity(unchecked) private var candidates = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    @exclusivity(unchecked) private var candidateCapacity = 64
    @exclusivity(unchecked) private var solver = LinearAssignmentSolver()
    @exclusivity(unchecked) private var sparseSolver = SparseAssignmentSolver()
    @exclusivity(unchecked) private var refilterTail: [UpdateRecord] = []
    // A large cluster as a sparse problem: each track's row start, its entries' columns, costs and pairs.
    @exclusivity(unchecked) private var rowStartBuffer: [Int32] = []
    @exclusivity(unchecked) private var entryColumn: [Int32] = []
    @exclusivity(unchecked) private var entryCost: [Double] = []
    @exclusivity(unchecked) private var entryPair: [Int32] = []
    @exclusivity(unchecked) private var costBuffer: [Double] = []
    @exclusivity(unchecked) private var detAssigned: [Int32] = []
    @exclusivity(unchecked) private var detWeight: [Double] = []
    /// ln g of the pair GNN chose for each detection.
    @exclusivity(unchecked) private var detLogG: [Double] = []
    @exclusivity(unchecked) private var logGBuffer: [Double] = []
    @exclusivity(unchecked) private var parent: [Int32] = []
    @exclusivity(unchecked) private var updatedThisScan: [Bool] = []
    @exclusivity(unchecked) private var clusterTracks: [Int32] = [], clusterDets: [Int32] = []
    /// Each detection's column in the cluster in hand (−1 outside it).
    @exclusivity(unchecked) private var detSlot: [Int32] = []
    @exclusivity(unchecked) private var jpdaG: [Double] = [], jpdaBeta: [Double] = [], jpdaMiss: [Double] = []
    @exclusivity(unchecked) private var jpdaUsed: [Bool] = []
    @exclusivity(unchecked) private var clusterKept = 0
    /// Where the gate linearised the measurement for each pair (the update reuses it), and for
    /// each detection the entry of the pair that took it (−1: none).
    @exclusivity(unchecked) private var lins: [MeasurementLinearisation] = []
    @exclusivity(unchecked) private var detLin: [Int32] = []
    @exclusivity(unchecked) private var updateOrder: [UInt64] = []
    /// `orderByTrack`'s slots, a detection by track (−1 between uses).
    @exclusivity(unchecked) private var trackSlot: [Int32] = []
    @exclusivity(unchecked) private var linBuffer: [Int32] = []
    @exclusivity(unchecked) private var doomedBuffer: [Bool] = []
    /// Each detection of the batch in hand as a Cartesian plot, once a one-plot track has needed it.
    @exclusivity(unchecked) private var plots: [RadarPlot?] = []
    /// Two tracks farther apart than this (m) are not duplicates.
    static let duplicateReach = 5_000.0
    /// The duplicate search's tracks with a velocity, by x, and the close pairs found.
    @exclusivity(unchecked) private var sweepBuffer: [UInt64] = []
    @exclusivity(unchecked) private var closeBuffer: [UInt64] = []

    struct Pair {
        var det: Int32
        var trk: Int32
        var d2: Double
        var logG: Double   // ln(Pd N(ν; S) / λ)
        var root: Int32
        var lin: Int32     // the gate's linearisation in `lins`, or −1
    }

    deinit { candidates.deallocate() }

    public init(configuration: TrackerConfiguration, sensors: [TrackerSensor]) {
        self.configuration = configuration
        self.sensors = sensors
        bank = ModelBank(models: configuration.models, frame: configuration.frame, filter: configuration.filter)
        let p = configuration.gateProbability
        gates = (ChiSquare.quantile(probability: p, dof: 1), ChiSquare.quantile(probability: p, dof: 2),
                 ChiSquare.quantile(probability: p, dof: 3))
        // Gating predicts with one constant-velocity model: widen it for the manoeuvres of the bank.
        var q = configuration.gatingProcessNoise
        for m in configuration.models where m.kind == .coordinatedTurn || m.kind == .estimatedTurn {
            // A turn at ω of a 300 m/s target: acceleration ω·v, as white noise over a second
            // (for an estimated turn, at the spread of rates a track starts with).
            let a = abs(m.turnRate) * 300
            q = max(q, a * a)
        }
        for m in configuration.models where m.kind == .custom {
            // A model of the user's, by the acceleration it says its motion has, likewise.
            let a = m.transition?.gatingAcceleration ?? 0
            if a.isFinite { q = max(q, a * a) }
        }
        qGate = q
        confirmScore = Foundation.log((1 - configuration.scoreBeta) / configuration.scoreAlpha)
        grid = HashGrid(cellSize: configuration.cellSize)
        offX = MemoryLayout<Track>.offset(of: \Track.state)! + MemoryLayout<FilterState>.offset(of: \FilterState.x)!
        offP = MemoryLayout<Track>.offset(of: \Track.state)! + MemoryLayout<FilterState>.offset(of: \FilterState.P)!
    }

    public var confirmedTracks: [Track] { tracks.filter { $0.status == .confirmed } }

    public func track(id: Int) -> Track? {
        if let t = tracks.first(where: { $0.id == id }) { return t }
        return singles.first { $0.id == id && !$0.promoted }.map(track(of:))
    }

    /// Tentative tracks of one radar plot, not in `tracks`.
    public var singlePlotTrackCount: Int { singles.count { !$0.promoted } }

    /// A one-plot track as a `Track`: the plot's position and covariance, no velocity (its
    /// variance that of `maxSpeed / 3` per axis).
    private func track(of s: SinglePlotTrack) -> Track {
        var P = Matrix6()
        for i in 0..<3 { for j in 0..<3 { P[i, j] = s.covariance[i, j] } }
        let sv = configuration.maxSpeed / 3
        for i in 3..<6 { P[i, i] = sv * sv }
        return Track(id: s.id, status: .tentative, state: bank.initialState(time: s.time, x: Vector6(position: s.position, velocity: .zero), P: P),
                     hasVelocity: false, hits: 1, createdAt: s.time, confirmedAt: nil, lastUpdate: s.time,
                     confirmDeadline: s.confirmDeadline, lastDetection: s.lastDetection, radarUpdates: 1, bearingUpdates: 0,
                     score: s.score, peakScore: s.score, oosm: nil)
    }

    @inline(__always) private func gate(_ kind: MeasurementKind) -> Double {
        switch kind {
        case .rangeAzimuthElevation: gates.2
        case .position2D: gates.1
        case .bearing: gates.0
        }
    }

    // MARK: Spatial index

    private func rebuildIndex() {
        let offX = self.offX
        let nt = tracks.count
        tracks.withUnsafeBufferPointer { tb in
            singles.withUnsafeBufferPointer { sb in
                grid.rebuild(count: nt + sb.count) { i in
                    guard i < nt else { return sb[i - nt].position }
                    let x = (UnsafeRawPointer(tb.baseAddress! + i) + offX).assumingMemoryBound(to: Double.self)
                    return Vector3(x[0], x[1], x[2])
                }
            }
        }
        gridRef.removeAll(keepingCapacity: true)
        for i in 0..<nt { gridRef.append(Int32(i)) }
        for k in singles.indices { gridRef.append(Int32(-1 - k)) }
        summaries.removeAll(keepingCapacity: true)
        tracks.withUnsafeBufferPointer { tb in
            for i in tb.indices { summaries.append(summary(tb.baseAddress! + i)) }
        }
        indexDirty = false
    }

    /// Refreshes a track's pre-gate record after its state changed.
    @inline(__always) private func refreshSummary(_ ti: Int) {
        if ti < summaries.count { summaries[ti] = summary(ti) }
    }

    /// A track's pre-gate record, read in place (not through a copy of the whole track).
    @inline(__always) private func summary(_ ti: Int) -> GateSummary {
        tracks.withUnsafeBufferPointer { tb in summary(tb.baseAddress! + ti) }
    }

    @inline(__always) private func summary(_ tp: UnsafePointer<Track>) -> GateSummary {
        GateSummary(x: (UnsafeRawPointer(tp) + offX).assumingMemoryBound(to: Double.self),
                    P: (UnsafeRawPointer(tp) + offP).assumingMemoryBound(to: Double.self),
                    time: tp.pointee.state.time)
    }

    // MARK: Processing

    /// Processes detections of ONE sensor taken at ONE time (a scan, or one node's report).
    /// `sensorOverride` replaces the registered sensor for this batch (e.g. a citizen's phone).
    public func process(_ batch: [Detection], sensorOverride: TrackerSensor? = nil) {
        guard let first = batch.first else { return }
        if let o = sensorOverride {
            process(batch, sensor: o, time: first.time, scanComplete: false)
        } else {
            // The registered sensor read in place, not copied (with its name) for every batch.
            let k = Int(first.sensor)
            precondition(k >= 0 && k < sensors.count, "detection from sensor \(k); the tracker has \(sensors.count)")
            sensors.withUnsafeBufferPointer { process(batch, sensor: $0[k], time: first.time, scanComplete: false) }
        }
    }

    /// Processes one complete scan of a sensor (possibly empty): as `process`, and then every
    /// track that sensor should have seen and did not is scored with a miss.
    public func processScan(_ batch: [Detection], sensor index: Int, time: Double) {
        precondition(index >= 0 && index < sensors.count, "scan of sensor \(index); the tracker has \(sensors.count)")
        // An empty scan tells only of misses, which only score initiation counts.
        if batch.isEmpty && configuration.initiation != .score { return }
        sensors.withUnsafeBufferPointer { process(batch, sensor: $0[index], time: time, scanComplete: true) }
    }

    private func process(_ batch: [Detection], sensor: TrackerSensor, time t: Double, scanComplete: Bool) {
        detectionsProcessed += batch.count
        let timing = phaseTiming
        var lapStart = timing ? TrackerPhases.clock() : 0
        @inline(__always) func lap(_ stage: WritableKeyPath<TrackerPhases, Double>) {
            guard timing else { return }
            let now = TrackerPhases.clock()
            phases[keyPath: stage] += now - lapStart
            lapStart = now
        }
        pairs.removeAll(keepingCapacity: true)
        let src = sensor.source
        let g = gate(src.kind)
        let logClutter = Foundation.log(sensor.clutterDensity)
        let flatLogPd = Foundation.log(sensor.pd)
        // Score initiation weighs a radar's hit by the Pd of its own detection model at the plot's
        // range, the Pd its misses are charged with (`lookProbability`); otherwise the flat Pd.
        // (Under GNN only: JPDA's miss hypothesis weighs the flat Pd, and the two must agree.)
        let rangePd = configuration.initiation == .score && configuration.association == .gnn && src.kind == .rangeAzimuthElevation
            ? sensor.detectionModel : nil

        // 1. Gating (the work buffers are moved into locals for the loop, so that appending to
        // them is not an access to the tracker's storage each time).
        if indexDirty { rebuildIndex() }
        lap(\.index)
        // Pairs name tracks densely: a track by its index, a one-plot track k as nt + k.
        let nt = tracks.count
        let radar = src.kind == .rangeAzimuthElevation
        denseTracks = nt
        Self.fill(&plots, batch.count, nil)
        var found = pairs, foundLins = lins
        pairs = []; lins = []
        if candidateCapacity < grid.count {
            candidates.deallocate()
            candidateCapacity = max(2 * candidateCapacity, grid.count)
            candidates = .allocate(capacity: candidateCapacity)
        }
        let near = candidates
        foundLins.removeAll(keepingCapacity: true)
        let grid = self.grid
        var lin = MeasurementLinearisation(position: .zero, h: .zero, Hp: .zero)
        var examined = 0
        summaries.withUnsafeBufferPointer { sb in
        tracks.withUnsafeBufferPointer { tb in
        singles.withUnsafeBufferPointer { ones in
        gridRef.withUnsafeBufferPointer { refs in
        for (di, det) in batch.enumerated() {
            let center: Vector3, radius: Double, spread2: Double
            var ray = SIMD2<Double>.zero  // a bearing's direction (east, north) in the sensor's axes
            switch src.kind {
            case .rangeAzimuthElevation:
                center = MeasurementModel.radarPosition(src, z: det.z)
                radius = max(configuration.cellSize * 0.75, 4 * src.sigma.y * det.z.x)
                let cr = det.z.x * max(src.sigma.y, src.sigma.z)
                spread2 = src.sigma.x * src.sigma.x + 2 * cr * cr
            case .position2D:
                center = src.frame.origin + src.frame.global(Vector3(det.z.x, det.z.y, 0))
                radius = max(configuration.cellSize * 0.75, sensor.maxRange)
                spread2 = sensor.maxRange * sensor.maxRange
            case .bearing:
                center = src.frame.origin
                radius = sensor.maxRange + 5_000
                spread2 = sensor.maxRange * sensor.maxRange
                ray = SIMD2(Foundation.sin(det.z.x), Foundation.cos(det.z.x))
            }
            let bearingRay = src.kind == .bearing ? BearingRay(frame: src.frame, ray: ray, sigma: src.sigma.x, gate: g) : nil
            // The plot's radial speed, when the radar measures one (NaN: no Doppler test).
            let rangeRate = src.kind == .rangeAzimuthElevation && sensor.sigmaRangeRate > 0 && configuration.radialSpeed != .ignore
                ? det.rangeRate.flatMap { $0.isFinite ? $0 : nil } ?? .nan : .nan
            let nearCount = grid.query(near: center, radius: radius, into: near)
            examined += nearCount
            let logPd = rangePd.map { Foundation.log(max($0.probability(range: det.z.x), 1e-9)) } ?? flatLogPd
            var plot: RadarPlot? = nil  // made by the first one-plot track gated, for all of them
            defer { if let p = plot { plots[di] = p } }
            for n in 0..<nearCount {
                let item = near[n]
                let ti = refs[Int(item)]
                if ti < 0 {
                    // A one-plot track: only a radar plot can make its pair.
                    guard radar else { continue }
                    let k = Int(-1 - ti)
                    let op = ones.baseAddress! + k
                    guard !op.pointee.promoted,
                          let (d2, logN) = singleGate(op, center: center, spread2: spread2, sensor: sensor, source: src, z: det.z,
                                                       rangeRate: rangeRate, t: t, plot: &plot) else { continue }
                    found.append(Pair(det: Int32(di), trk: Int32(nt + k), d2: d2, logG: logPd + logN - logClutter, root: 0, lin: -1))
                    continue
                }
                guard preGate(sb.baseAddress! + Int(ti), center: center, t: t, spread2: spread2,
                              wide: src.kind != .rangeAzimuthElevation, bearing: bearingRay) else { continue }
                let tp = tb.baseAddress! + Int(ti)
                guard let (d2, logN, linearised) = gateTest(tp, trackIndex: Int(ti), sensor: sensor, source: src, z: det.z,
                                                            rangeRate: rangeRate, t: t, gate: g, ray: ray,
                                                            linearisation: &lin) else { continue }
                var li: Int32 = -1
                if linearised {
                    li = Int32(foundLins.count)
                    foundLins.append(lin)
                }
                found.append(Pair(det: Int32(di), trk: ti, d2: d2, logG: logPd + logN - logClutter, root: 0, lin: li))
            }
        }
        }
        }
        }
        }
        if timing {
            phases.candidates += examined
            phases.pairs += found.count
        }
        lap(\.gating)
        pairs = found
        lins = foundLins

        // 2. Association per cluster.
        // Per-detection scratch, indexed by the batch's positions only (longer from earlier
        // batches is fine): filled in place, since most batches of a live feed are a few plots.
        Self.fill(&detAssigned, batch.count, -1)
        Self.fill(&detWeight, batch.count, 0)
        Self.fill(&detLogG, batch.count, 0)
        Self.fill(&detLin, batch.count, -1)
        // Which tracks this batch updates, for the misses of step 4: needed (and reset, every track
        // to false) only for a complete scan under score-based initiation. Other batches' marks
        // are never read, so they need no reset: one per batch cost a write per track.
        if scanComplete && configuration.initiation == .score {
            updatedThisScan.removeAll(keepingCapacity: true)
            updatedThisScan.append(contentsOf: repeatElement(false, count: tracks.count))
        }
        if !pairs.isEmpty { associate(batch: batch, sensor: sensor) }
        lap(\.association)

        // 3. GNN updates (JPDA updated its tracks inside `associate`), in the order of the tracks
        // in memory: each track takes at most one detection, so the order changes nothing but
        // the memory traffic (with a thousand tracks their states do not all stay in cache).
        updateOrder.removeAll(keepingCapacity: true)
        for di in batch.indices {
            let ti = detAssigned[di]
            if ti >= 0 && detWeight[di] == 0 { updateOrder.append(UInt64(UInt32(ti)) << 32 | UInt64(di)) }
        }
        orderByTrack(&updateOrder, span: nt + singles.count)
        for key in updateOrder {
            let ti = Int(key >> 32), di = Int(key & 0xFFFF_FFFF)
            if ti >= nt {
                promote(single: ti - nt, sensor: sensor, source: src, detection: batch[di], logG: detLogG[di], plot: plots[di])
                detWeight[di] = 1
                continue
            }
            let li = Int(detLin[di])
            applyUpdate(trackIndex: ti, sensor: sensor, source: src, detection: batch[di], logG: detLogG[di],
                        linearisation: li >= 0 ? lins[li] : nil, plot: plots[di])
            detWeight[di] = 1
        }
        lap(\.updates)
        // 4. Misses: tracks in coverage that took nothing from a complete scan.
        if scanComplete && configuration.initiation == .score {
            // Whether the sensor covers the track, and how likely it was to see it: at its combined
            // estimate extrapolated in a straight line (a coverage test needs no turn model).
            let n = min(tracks.count, updatedThisScan.count, summaries.count)
            tracks.withUnsafeMutableBufferPointer { tb in
                for ti in 0..<n where !updatedThisScan[ti] {
                    let g = summaries[ti]
                    guard let pd = sensor.lookProbability(g.position + g.velocity * (t - g.time)) else { continue }
                    tb[ti].score += Foundation.log(max(1 - pd, 1e-9))
                }
            }
        }
        lap(\.misses)
        // 5. New tentative tracks from detections nobody took.
        if sensor.canInitiate {
            for (di, det) in batch.enumerated() where detWeight[di] < 0.5 {
                startTrack(sensor: sensor, detection: det, plot: plots[di])
            }
        }
        lap(\.initiation)
    }

    /// Sorts (track << 32 | detection) keys by track. A scan that updates many of the tracks
    /// (a radar's, most of them) is ordered by marking each track's slot and reading the slots in
    /// order, O(tracks), where the library's sort cost a twentieth of the tracking time; a few keys
    /// (a live feed's batches) are sorted. A track named twice (which GNN never does) is sorted too.
    private func orderByTrack(_ keys: inout [UInt64], span: Int) {
        guard keys.count > 1 else { return }
        guard keys.count * 8 >= span else { keys.sort(); return }
        if trackSlot.count < span { trackSlot.append(contentsOf: repeatElement(-1, count: span - trackSlot.count)) }
        let sorted = trackSlot.withUnsafeMutableBufferPointer { slot -> Bool in
            var marked = 0
            for k in keys {
                let ti = Int(k >> 32)
                guard ti < span, slot[ti] < 0 else { break }
                slot[ti] = Int32(truncatingIfNeeded: k & 0xFFFF_FFFF)
                marked += 1
            }
            guard marked == keys.count else {
                for k in keys.prefix(marked) { slot[Int(k >> 32)] = -1 }
                return false
            }
            var w = 0
            keys.withUnsafeMutableBufferPointer { out in
                for ti in 0..<span where slot[ti] >= 0 {
                    out[w] = UInt64(UInt32(ti)) << 32 | UInt64(UInt32(slot[ti]))
                    slot[ti] = -1
                    w += 1
                }
            }
            return true
        }
        if !sorted { keys.sort() }
    }

    /// Sets the first n entries of a to v, growing it when shorter.
    @inline(__always) private static func fill<T>(_ a: inout [T], _ n: Int, _ v: T) {
        if a.count < n { a.append(contentsOf: repeatElement(v, count: n - a.count)) }
        a.withUnsafeMutableBufferPointer { b in for i in 0..<n { b[i] = v } }
    }

    /// A bearing report's figures for its cone screen (`bearingCone`).
    struct BearingRay {
        var frame: SensorFrame
        var ray: SIMD2<Double>  // direction (east, north) in the sensor's axes
        var sigma: Double
        var gate: Double
    }

    /// Conservative Euclidean test before any matrix work: a 5-sigma sphere from the traces. For a
    /// bearing (`bearing` set), also its cone, when the report is not older than the track: the
    /// record carried forward is then exactly the gate's prior. A late report's prior comes from
    /// the track's history, so `gateTest` screens it; a bearing never gates a one-plot track.
    @inline(__always)
    private func preGate(_ g: UnsafePointer<GateSummary>, center: Vector3, t: Double, spread2: Double, wide: Bool,
                         bearing: BearingRay? = nil) -> Bool {
        let dt = t - g.pointee.time
        let (p, predicted2) = g.pointee.predicted(dt: dt, q: qGate)
        let d = p - center
        let d2 = dot(d, d)
        if wide {
            let r = spread2.squareRoot() + 5 * max(predicted2, 0).squareRoot()
            guard d2 <= r * r else { return false }
            guard let b = bearing, dt >= 0 else { return true }
            return Self.bearingCone(position: p, trace: predicted2, frame: b.frame, ray: b.ray, sigma: b.sigma, gate: b.gate)
        }
        return d2 <= 25 * (max(predicted2, 0) + spread2)
    }

    /// A radar plot against a one-plot track: its Mahalanobis distance and ln N(ν; S) in
    /// measurement space, or nil outside the gate. The gate is the plot's covariance + the
    /// track's + (maxSpeed·dt/3)² per axis for the unknown velocity, at the 3-dof gate. Two exact
    /// screens come first, from the compact record: |d|² ≤ gate × that covariance's trace (with the
    /// plot's trace ≤ spread2), and, when both plots carry a radial speed, the first plot's end of
    /// `radialSpeedsAgree` (`radialScreen`); then the full radial test.
    @inline(__always)
    private func singleGate(_ op: UnsafePointer<SinglePlotTrack>, center: Vector3, spread2: Double, sensor: TrackerSensor,
                            source src: MeasurementSource, z: Vector3, rangeRate: Double, t: Double,
                            plot: inout RadarPlot?) -> (Double, Double)? {
        // A plot older than the track's (a late report) does not pair: two-point initiation runs
        // forward in time.
        let dt = t - op.pointee.time
        guard dt > 0 else { return nil }
        let sv = configuration.maxSpeed * dt / 3
        let d0 = center - op.pointee.position
        guard dot(d0, d0) <= gates.2 * (op.pointee.trace + 3 * sv * sv + spread2) * (1 + 1e-9) else { return nil }
        let doppler = !rangeRate.isNaN && !op.pointee.rangeRate.isNaN
        if doppler {
            guard Self.radialScreen(displacement: d0, dt: dt, lineOfSight: op.pointee.lineOfSight, rangeRate: op.pointee.rangeRate,
                                    lineOfSightVariance: op.pointee.lineOfSightVariance,
                                    rangeRateVariance: op.pointee.rangeRateSigma * op.pointee.rangeRateSigma,
                                    secondTrace: spread2, gate: gates.0, maxAcceleration: configuration.maxAcceleration) else { return nil }
        }
        if plot == nil { plot = RadarPlot(src, z: z) }
        let p1 = op.pointee.position, p2 = plot!.position
        let d = p2 - p1
        let c12 = plot!.covariance + op.pointee.covariance
        if doppler {
            let los2 = p2 - src.frame.origin
            let r2 = norm(los2)
            if r2 > 0 {
                guard Self.radialSpeedsAgree(
                    from: p1, to: p2, dt: dt, covariance: c12,
                    first: (op.pointee.rangeRate, op.pointee.rangeRateSigma, op.pointee.lineOfSight),
                    second: (rangeRate, sensor.sigmaRangeRate, los2 / r2),
                    gate: gates.0, maxAcceleration: configuration.maxAcceleration) else { return nil }
            }
        }
        let C = c12 + Matrix3.diagonal(Vector3(repeating: sv * sv))
        guard let Ci = C.inverse else { return nil }
        let d2 = dot(d, Ci * d)
        guard d2 <= gates.2 else { return nil }
        // Density in Cartesian space, turned into measurement space by the volume element.
        let logN = -0.5 * (d2 + Foundation.log(C.determinant) + 3 * Foundation.log(2 * .pi)) + plot!.logJacobian
        return (d2, logN)
    }

    /// A bearing's own screen: whether the track can lie near the ray, before the gate test.
    /// Every track within range of an acoustic node or a phone passed the range test, so a report
    /// among a wave of drones went through the gate test (for a late report, a replay of the
    /// track's history) with all of them. Exact, not approximate: for the wrapped angle α between
    /// the ray and the track's prior position p (horizontal distance ρ from the sensor), the gate
    /// accepts only α² ≤ G (H Ppp Hᵀ + σ²) with H Ppp Hᵀ ≤ tr Ppp / ρ², and the distance of p from
    /// the ray is ρ |sin α| ≤ ρ |α|; behind the sensor |α| ≥ π/2.
    @inline(__always)
    static func bearingCone(position p: Vector3, trace: Double, frame: SensorFrame, ray: SIMD2<Double>,
                            sigma: Double, gate: Double) -> Bool {
        let d = p - frame.origin
        let e = dot(frame.east, d), n = dot(frame.north, d)
        let rho2 = e * e + n * n
        let bound = gate * (max(trace, 0) + sigma * sigma * rho2) * (1 + 1e-9)
        let across = e * ray.y - n * ray.x, along = e * ray.x + n * ray.y
        return across * across <= bound && (along > 0 || 2.4674011002723395 * rho2 <= bound)
    }

    /// Whether two plots' radial speeds agree with the mean velocity between them,
    /// v̄ = (p₂ − p₁) / dt: at each plot, |u · v̄ − ṙ| ≤ √(G (uᵀ C u / dt² + σ²)) + a |dt| / 2,
    /// where u is the unit line of sight from that plot's radar to it, C the sum of the two
    /// plots' position covariances, G the one-dimensional gate and a the largest acceleration
    /// (the velocity at either end of the interval differs from the mean by at most a |dt| / 2).
    /// Clutter's radial speeds are spread over the radar's whole span, so a pair of false
    /// plots rarely agrees at both ends; a real target's plots do. (The line of sight is taken as
    /// exact: its angular error times the crossing speed is small beside the range noise over dt
    /// and the acceleration's allowance for the radars modelled.)
    static func radialSpeedsAgree(from p1: Vector3, to p2: Vector3, dt: Double, covariance C: Matrix3,
                                  first: (rate: Double, sigma: Double, lineOfSight: Vector3),
                                  second: (rate: Double, sigma: Double, lineOfSight: Vector3),
                                  gate: Double, maxAcceleration: Double) -> Bool {
        guard dt != 0 else { return true }
        let v = (p2 - p1) / dt
        let slack = maxAcceleration * abs(dt) / 2
        @inline(__always) func agrees(_ m: (rate: Double, sigma: Double, lineOfSight: Vector3)) -> Bool {
            let u = m.lineOfSight
            let variance = dot(u, C * u) / (dt * dt) + m.sigma * m.sigma
            return abs(dot(u, v) - m.rate) <= (gate * variance).squareRoot() + slack
        }
        return agrees(first) && agrees(second)
    }

    /// The first plot's end of `radialSpeedsAgree`, read from its compact record before the second
    /// plot's covariance is known: |u·d − ṙ dt| ≤ √(G (uᵀ C₁ u + tr C₂ + σ² dt²)) + a dt² / 2,
    /// d = p₂ − p₁, with uᵀ C₂ u ≤ tr C₂ ≤ `secondTrace`. It refuses only pairs that
    /// `radialSpeedsAgree` refuses (a test holds it so).
    @inline(__always)
    static func radialScreen(displacement d: Vector3, dt: Double, lineOfSight u: Vector3, rangeRate: Double,
                             lineOfSightVariance: Double, rangeRateVariance: Double, secondTrace: Double,
                             gate: Double, maxAcceleration: Double) -> Bool {
        guard dt != 0 else { return true }
        let e = dot(u, d) - rangeRate * dt
        let bound = (gate * (lineOfSightVariance + secondTrace + rangeRateVariance * dt * dt)).squareRoot()
            + maxAcceleration * dt * dt / 2
        return abs(e) <= bound * (1 + 1e-9) + 1e-6 * (1 + abs(e))
    }

    /// The track's prior at time t for gating: its state predicted forward, or for an
    /// out-of-sequence time the stored state just before t predicted to t.
    private func prior(trackIndex ti: Int, at t: Double) -> (x: Vector6, P: Matrix6) {
        // Read in place: a copy of the track (1.8 KB) per out-of-sequence gate test was most of
        // the cost of late bearing reports among a wave of drones.
        var x = Vector6(), P = Matrix6(), time = 0.0
        tracks.withUnsafeBufferPointer { tb in
            let tp = tb.baseAddress! + ti
            x = tp.pointee.state.x; P = tp.pointee.state.P; time = tp.pointee.state.time
            guard t < time, let store = tp.pointee.oosm else { return }
            // The latest stored update at or before t, else the checkpoint before them all.
            let k = store.countAtOrBefore(t)
            let found = k > 0
            if found {
                store.records.withUnsafeBufferPointer { rb in
                    let r = rb.baseAddress! + store.start + k - 1
                    x = r.pointee.posterior.x; P = r.pointee.posterior.P; time = r.pointee.posterior.time
                }
            }
            if !found, let c = store.checkpoint, c.time <= t { x = c.x; P = c.P; time = c.time }
        }
        NearlyConstantVelocity.predict(&x, &P, dt: t - time, q: qGate)
        return (x, P)
    }

    // Byte offsets of a stored update's mean and covariance.
    private static let recordTime = MemoryLayout<UpdateRecord>.offset(of: \UpdateRecord.posterior)! + MemoryLayout<FilterState>.offset(of: \FilterState.time)!
    private static let recordX = MemoryLayout<UpdateRecord>.offset(of: \UpdateRecord.posterior)! + MemoryLayout<FilterState>.offset(of: \FilterState.x)!
    private static let recordP = MemoryLayout<UpdateRecord>.offset(of: \UpdateRecord.posterior)! + MemoryLayout<FilterState>.offset(of: \FilterState.P)!

    /// For a report older than the track: the position and covariance trace of `prior`, read from
    /// the stored update before t without predicting its 6 × 6 covariance or copying its 1.7 KB
    /// state (a late bearing among a wave of drones meets dozens of tracks, most far off its ray).
    /// Nil when `prior` would not start from a stored update.
    private func latePriorPoint(trackIndex ti: Int, at t: Double) -> (Vector3, Double)? {
        tracks.withUnsafeBufferPointer { tb -> (Vector3, Double)? in
            let tp = tb.baseAddress! + ti
            guard t < tp.pointee.state.time, let store = tp.pointee.oosm else { return nil }
            let k = store.countAtOrBefore(t)
            guard k > 0 else { return nil }
            return store.records.withUnsafeBufferPointer { rb in
                let r = UnsafeRawPointer(rb.baseAddress! + store.start + k - 1)
                let time = r.load(fromByteOffset: Self.recordTime, as: Double.self)
                let g = GateSummary(x: (r + Self.recordX).assumingMemoryBound(to: Double.self),
                                    P: (r + Self.recordP).assumingMemoryBound(to: Double.self), time: time)
                let (p, trace) = g.predicted(dt: t - time, q: qGate)
                return (p, trace)
            }
        }
    }

    /// Mahalanobis distance and ln N(ν; S) of a detection against a track, or nil outside the
    /// gate; and, for a track with a velocity gated forward in time, where the measurement was
    /// linearised (for the update to reuse).
    private func gateTest(_ tp: UnsafePointer<Track>, trackIndex ti: Int, sensor: TrackerSensor, source src: MeasurementSource,
                          z: Vector3, rangeRate: Double, t: Double, gate: Double, ray: SIMD2<Double>,
                          linearisation: inout MeasurementLinearisation) -> (Double, Double, Bool)? {
        let stime = tp.pointee.state.time
        var logRadial = 0.0  // the radial speed's share of ln N, when fused
        // Only the predicted position and its covariance matter for a gate (H acts on position):
        // Ppp(t) = Ppp + dt (Ppv + Pvp) + dt² Pvv + q dt³/3 I.
        let pos: Vector3, Ppp: Matrix3
        if t >= stime {
            let dt = t - stime
            let x = (UnsafeRawPointer(tp) + offX).assumingMemoryBound(to: Double.self)
            pos = Vector3(x[0] + x[3] * dt, x[1] + x[4] * dt, x[2] + x[5] * dt)
            let P = (UnsafeRawPointer(tp) + offP).assumingMemoryBound(to: Double.self)
            var c = (Vector3.zero, Vector3.zero, Vector3.zero)
            let qn = qGate * dt * dt * dt / 3
            for j in 0..<3 {
                var col = Vector3.zero
                for i in 0..<3 {
                    col[i] = P[i * 6 + j] + dt * (P[i * 6 + j + 3] + P[(i + 3) * 6 + j]) + dt * dt * P[(i + 3) * 6 + j + 3]
                        + (i == j ? qn : 0)
                }
                switch j { case 0: c.0 = col; case 1: c.1 = col; default: c.2 = col }
            }
            Ppp = Matrix3(columns: c)
            if !rangeRate.isNaN {
                guard let l = radialSpeedTest(position: pos, velocity: Vector3(x[3], x[4], x[5]), velocityCovariance: P + 21,
                                              positionTrace: c.0.x + c.1.y + c.2.z, predictionVariance: qGate * dt,
                                              rangeRate: rangeRate, sensor: sensor) else { return nil }
                logRadial = l
            }
        } else {
            // A late bearing is screened by its cone before the prior is predicted: from the stored
            // update before it, or (a prior from the checkpoint) from the prior itself.
            var screened = false
            if src.kind == .bearing, let (p0, trace) = latePriorPoint(trackIndex: ti, at: t) {
                guard Self.bearingCone(position: p0, trace: trace, frame: src.frame, ray: ray, sigma: src.sigma.x,
                                       gate: gate) else { return nil }
                screened = true
            }
            let (x, P) = prior(trackIndex: ti, at: t)
            pos = x.position
            Ppp = P.block(0, 0)
            if src.kind == .bearing && !screened {
                guard Self.bearingCone(position: pos, trace: Ppp[0, 0] + Ppp[1, 1] + Ppp[2, 2], frame: src.frame, ray: ray,
                                       sigma: src.sigma.x, gate: gate) else { return nil }
            }
            // A late plot's radial speed against the prior's velocity (its covariance already
            // carries the prediction's process noise).
            if !rangeRate.isNaN {
                let l: Double? = withUnsafeBytes(of: P.m) { pb in
                    radialSpeedTest(position: pos, velocity: x.velocity,
                                    velocityCovariance: pb.baseAddress!.assumingMemoryBound(to: Double.self) + 21,
                                    positionTrace: Ppp[0, 0] + Ppp[1, 1] + Ppp[2, 2], predictionVariance: 0,
                                    rangeRate: rangeRate, sensor: sensor)
                }
                guard let l else { return nil }
                logRadial = l
            }
        }
        let (h, Hp) = MeasurementModel.predict(src, position: pos)
        let y = MeasurementModel.innovation(kind: src.kind, z: z, h: h)
        let S = Hp * Ppp * Hp.transposed + MeasurementModel.noise(src)
        let detS = S.determinant
        guard detS > 0, let Si = S.inverse else { return nil }
        let d2 = dot(y, Si * y)
        guard d2 <= gate else { return nil }
        let r = UpdateResult(distanceSquared: d2, logDetS: Foundation.log(detS))
        let dim = MeasurementModel.dimension(src.kind)
        if t >= stime { linearisation = MeasurementLinearisation(position: pos, h: h, Hp: Hp) }
        return (r.distanceSquared, -0.5 * (r.distanceSquared + r.logDetS + Double(dim) * Foundation.log(2 * .pi)) + logRadial, t >= stime)
    }

    /// A plot's radial speed ṙ against a track predicted to its time (position p, velocity v, the
    /// velocity's covariance at `velocityCovariance`, rows of 6): nil when
    /// (u·v − ṙ)² > G (uᵀ Pvv u + w + |v|² tr Ppp / r² + σ²), with w the prediction's own variance
    /// along the line of sight when Pvv does not carry it. The terms: the velocity's variance, the
    /// constant-velocity prediction (its process noise stands for manoeuvres, as in the position
    /// gate, which has no other allowance), the line of sight's own uncertainty (the position's
    /// spread over the range) and the radar's. Otherwise the radial speed's share of the plot's
    /// log-likelihood against the track's: ln N(e; 0, that variance) − ln(1 / 2·span) when the
    /// tracker fuses radial speeds and the radar's false plots' span is known, else 0.
    @inline(__always)
    private func radialSpeedTest(position pos: Vector3, velocity v: Vector3, velocityCovariance P: UnsafePointer<Double>,
                                 positionTrace: Double, predictionVariance w: Double, rangeRate: Double,
                                 sensor: TrackerSensor) -> Double? {
        let u = pos - sensor.source.frame.origin
        let r2 = dot(u, u)
        guard r2 > 0 else { return 0 }
        var uPu = 0.0
        for i in 0..<3 { for j in 0..<3 { uPu += u[i] * P[i * 6 + j] * u[j] } }
        let e = dot(u, v) / r2.squareRoot() - rangeRate
        let s = sensor.sigmaRangeRate
        let variance = (uPu + dot(v, v) * positionTrace) / r2 + w + s * s
        guard e * e <= gates.0 * variance else { return nil }
        guard configuration.radialSpeed == .fuse && sensor.rangeRateSpan > 0 else { return 0 }
        return -0.5 * (e * e / variance + Foundation.log(variance) + Foundation.log(2 * .pi)) + Foundation.log(2 * sensor.rangeRateSpan)
    }

    // MARK: Association

    private func associate(batch: [Detection], sensor: TrackerSensor) {
        let n = batch.count
        // Each detection and track its own set (a plain loop: the generic range append copied
        // element by element through an iterator, on every batch).
        parent.reset(count: n + denseTracks + singles.count, repeating: 0)
        // Cluster columns by detection: all −1 between clusters, so only grown here.
        if detSlot.count < n { detSlot.append(contentsOf: repeatElement(-1, count: n - detSlot.count)) }
        parent.withUnsafeMutableBufferPointer { par in for k in par.indices { par[k] = Int32(k) } }
        parent.withUnsafeMutableBufferPointer { par in
            func find(_ i: Int32) -> Int32 {
                var i = i
                while par[Int(i)] != i {
                    par[Int(i)] = par[Int(par[Int(i)])]
                    i = par[Int(i)]
                }
                return i
            }
            pairs.withUnsafeMutableBufferPointer { pb in
                for p in pb {
                    let a = find(p.det), b = find(Int32(n) + p.trk)
                    if a != b { par[Int(a)] = b }
                }
                for k in pb.indices { pb[k].root = find(pb[k].det) }
            }
        }
        if configuration.association == .gnn {
            // Most clusters are one track and one detection: take those at once and sort only
            // the pairs of larger clusters (each cluster is solved on its own, so the order in
            // which clusters are taken does not matter).
            parent.withUnsafeMutableBufferPointer { count in
                for k in count.indices { count[k] = 0 }
                pairs.withUnsafeMutableBufferPointer { pb in
                    for p in pb { count[Int(p.root)] += 1 }
                    var kept = 0
                    for k in pb.indices {
                        let p = pb[k]
                        if count[Int(p.root)] == 1 {
                            take(p)
                        } else {
                            pb[kept] = p
                            kept += 1
                        }
                    }
                    clusterKept = kept
                }
            }
            pairs.removeLast(pairs.count - clusterKept)
        }
        pairs.sort { (a, b) in
            a.root != b.root ? a.root < b.root : (a.trk != b.trk ? a.trk < b.trk : a.det < b.det)
        }
        var start = 0
        while start < pairs.count {
            let root = pairs[start].root
            var end = start + 1
            while end < pairs.count && pairs[end].root == root { end += 1 }
            if configuration.association == .jpda {
                // One-point tentative tracks (no velocity yet) cannot take a PDA update: such
                // clusters are solved by GNN (not counted as a fallback).
                var onePoint = false
                for p in pairs[start..<end] where Int(p.trk) >= denseTracks { onePoint = true; break }
                if onePoint {
                    solveGNN(start..<end)
                } else if !solveJPDA(start..<end, batch: batch, sensor: sensor) {
                    jpdaFallbacks += 1
                    solveGNN(start..<end)
                }
            } else {
                solveGNN(start..<end)
            }
            start = end
        }
    }

    /// The cluster's tracks (ascending: its pairs are sorted by track) and detections (in order
    /// of first appearance), and each detection's column in `detSlot` (reset by
    /// `releaseCluster`). Linear in the cluster's pairs: a bearing report gated against hundreds
    /// of drones of one wave made the list searches quadratic.
    private func collectCluster(_ range: Range<Int>) {
        clusterTracks.removeAll(keepingCapacity: true)
        clusterDets.removeAll(keepingCapacity: true)
        for p in pairs[range] {
            if clusterTracks.last != p.trk { clusterTracks.append(p.trk) }
            if detSlot[Int(p.det)] < 0 {
                detSlot[Int(p.det)] = Int32(clusterDets.count)
                clusterDets.append(p.det)
            }
        }
    }

    /// Records that GNN gives pair p's detection to its track.
    @inline(__always) private func take(_ p: Pair) {
        detAssigned[Int(p.det)] = p.trk
        detLogG[Int(p.det)] = p.logG
        detLin[Int(p.det)] = p.lin
    }

    private func releaseCluster() {
        for d in clusterDets { detSlot[Int(d)] = -1 }
    }

    /// Most likely joint assignment of the cluster: minimise Σ −ln g over assigned pairs (a track
    /// may take nothing at cost 0, standing for a miss).
    private func solveGNN(_ range: Range<Int>) {
        if range.count == 1 {
            let p = pairs[range.lowerBound]
            if p.logG > 0 || configuration.association == .gnn {
                take(p)
            }
            return
        }
        collectCluster(range)
        defer { releaseCluster() }
        let rows = clusterTracks.count, nd = clusterDets.count, cols = nd + rows
        var shift = 0.0
        for p in pairs[range] { shift = max(shift, p.logG) }
        let missCost = 2 * shift + 1
        if nd == 1 || rows == 1 {
            // One detection among several tracks, or one track among several detections: the
            // optimum takes the cheapest pair (the first of equals) if it beats a miss, without
            // an assignment problem of rows × (rows + 1) cells.
            var best = -1, bestCost = missCost
            for k in range where shift - pairs[k].logG < bestCost { best = k; bestCost = shift - pairs[k].logG }
            if best >= 0 {
                let p = pairs[best]
                take(p)
            }
            return
        }
        if rows * cols > Self.denseCells {
            solveSparse(range, rows: rows, nd: nd, shift: shift, missCost: missCost)
            return
        }
        costBuffer.removeAll(keepingCapacity: true)
        costBuffer.append(contentsOf: repeatElement(Double.infinity, count: rows * cols))
        logGBuffer.removeAll(keepingCapacity: true)
        logGBuffer.append(contentsOf: repeatElement(0, count: rows * cols))
        linBuffer.removeAll(keepingCapacity: true)
        linBuffer.append(contentsOf: repeatElement(-1, count: rows * cols))
        // Miss column: cost of leaving the track without a detection. Pairs cost −ln g, shifted so
        // that every in-gate pair is preferred to a miss (the GNN convention of taking what gates).
        for r in 0..<rows { costBuffer[r * cols + nd + r] = missCost }
        var r = 0
        for p in pairs[range] {
            if clusterTracks[r] != p.trk { r += 1 }
            let c = Int(detSlot[Int(p.det)])
            costBuffer[r * cols + c] = shift - p.logG
            logGBuffer[r * cols + c] = p.logG
            linBuffer[r * cols + c] = p.lin
        }
        let ok = costBuffer.withUnsafeBufferPointer { solver.solve(cost: $0, rows: rows, cols: cols) }
        guard ok else { return }
        for r in 0..<rows {
            let c = solver.rowToColumn[r]
            if c >= 0 && c < nd {
                detAssigned[Int(clusterDets[c])] = clusterTracks[r]
                detLogG[Int(clusterDets[c])] = logGBuffer[r * cols + c]
                detLin[Int(clusterDets[c])] = linBuffer[r * cols + c]
            }
        }
    }

    /// Clusters of more cells than this are solved as sparse problems. A wave of drones beyond a
    /// radar's resolution chains its gates into one cluster of hundreds of tracks, where the dense
    /// matrix (rows × (detections + rows)) was filled and searched on every scan.
    static let denseCells = 4_096

    /// `solveGNN` for a large cluster: each track's row holds its gated detections (its pairs,
    /// which are contiguous: the cluster's pairs are sorted by track) and its own miss column.
    private func solveSparse(_ range: Range<Int>, rows: Int, nd: Int, shift: Double, missCost: Double) {
        rowStartBuffer.removeAll(keepingCapacity: true)
        entryColumn.removeAll(keepingCapacity: true)
        entryCost.removeAll(keepingCapacity: true)
        entryPair.removeAll(keepingCapacity: true)
        var r = -1
        for k in range {
            let p = pairs[k]
            if r < 0 || clusterTracks[r] != p.trk {
                if r >= 0 { addMiss(r) }
                r += 1
                rowStartBuffer.append(Int32(entryColumn.count))
            }
            entryColumn.append(detSlot[Int(p.det)])
            entryCost.append(shift - p.logG)
            entryPair.append(Int32(k))
        }
        addMiss(r)
        rowStartBuffer.append(Int32(entryColumn.count))
        func addMiss(_ r: Int) {
            entryColumn.append(Int32(nd + r))
            entryCost.append(missCost)
            entryPair.append(-1)
        }
        let ok = rowStartBuffer.withUnsafeBufferPointer { rs in
            entryColumn.withUnsafeBufferPointer { col in
                entryCost.withUnsafeBufferPointer { cost in
                    sparseSolver.solve(rows: rows, cols: nd + rows, rowStart: rs, column: col, cost: cost)
                }
            }
        }
        guard ok else { return }
        for r in 0..<rows {
            let c = sparseSolver.rowToColumn[r]
            guard c >= 0 && Int(c) < nd else { continue }
            for e in Int(rowStartBuffer[r])..<Int(rowStartBuffer[r + 1]) where entryColumn[e] == c {
                take(pairs[Int(entryPair[e])])
                break
            }
        }
    }

    /// JPDA on one cluster: exact marginal association probabilities by enumerating joint events
    /// (each track takes at most one detection, each detection at most one track), then a PDA
    /// update of each track. Returns false when the cluster has too many events.
    private func solveJPDA(_ range: Range<Int>, batch: [Detection], sensor: TrackerSensor) -> Bool {
        collectCluster(range)
        defer { releaseCluster() }
        let nt = clusterTracks.count, nd = clusterDets.count
        // Likelihood ratios, scaled per track so the products stay in range.
        let pdpg = sensor.pd * configuration.gateProbability
        jpdaG.removeAll(keepingCapacity: true)
        jpdaG.append(contentsOf: repeatElement(0, count: nt * nd))
        jpdaMiss.removeAll(keepingCapacity: true)
        jpdaMiss.append(contentsOf: repeatElement(1 - pdpg, count: nt))
        var events = 1.0
        var gated = [Int](repeating: 0, count: nt)
        var r = 0
        for p in pairs[range] {
            if clusterTracks[r] != p.trk { r += 1 }
            let c = Int(detSlot[Int(p.det)])
            jpdaG[r * nd + c] = p.logG
            gated[r] += 1
        }
        for r in 0..<nt { events *= Double(gated[r] + 1) }
        if events > Double(configuration.jpdaMaxEvents) || nd > 64 { return false }
        for r in 0..<nt {
            var mx = Foundation.log(jpdaMiss[r])
            for c in 0..<nd where jpdaG[r * nd + c] != 0 { mx = max(mx, jpdaG[r * nd + c]) }
            for c in 0..<nd { jpdaG[r * nd + c] = jpdaG[r * nd + c] != 0 ? Foundation.exp(jpdaG[r * nd + c] - mx) : 0 }
            jpdaMiss[r] = Foundation.exp(Foundation.log(jpdaMiss[r]) - mx)
        }
        jpdaBeta.removeAll(keepingCapacity: true)
        jpdaBeta.append(contentsOf: repeatElement(0, count: nt * (nd + 1)))
        var total = 0.0
        var choice = [Int](repeating: -1, count: nt)
        var used: UInt64 = 0
        func recurse(_ r: Int, _ w: Double) {
            if r == nt {
                total += w
                for k in 0..<nt {
                    let c = choice[k]
                    jpdaBeta[k * (nd + 1) + (c < 0 ? nd : c)] += w
                }
                return
            }
            choice[r] = -1
            recurse(r + 1, w * jpdaMiss[r])
            for c in 0..<nd where jpdaG[r * nd + c] > 0 && used & (1 << UInt64(c)) == 0 {
                used |= 1 << UInt64(c)
                choice[r] = c
                recurse(r + 1, w * jpdaG[r * nd + c])
                used &= ~(1 << UInt64(c))
            }
            choice[r] = -1
        }
        recurse(0, 1)
        guard total > 0 else { return false }
        for k in jpdaBeta.indices { jpdaBeta[k] /= total }
        // PDA update of each track with its marginals.
        for r in 0..<nt {
            let ti = Int(clusterTracks[r])
            var betas: [(Int, Double)] = []
            for c in 0..<nd where jpdaBeta[r * (nd + 1) + c] > 1e-9 { betas.append((c, jpdaBeta[r * (nd + 1) + c])) }
            guard !betas.isEmpty else { continue }
            let beta0 = jpdaBeta[r * (nd + 1) + nd]
            pdaUpdate(trackIndex: ti, sensor: sensor, batch: batch, betas: betas, beta0: beta0, cluster: range)
        }
        // Detections mostly explained by tracks are used; the best track of each is recorded.
        for c in 0..<nd {
            let di = Int(clusterDets[c])
            var sum = 0.0, best = -1.0, bestTrack: Int32 = -1
            for r in 0..<nt {
                let b = jpdaBeta[r * (nd + 1) + c]
                sum += b
                if b > best { best = b; bestTrack = clusterTracks[r] }
            }
            detWeight[di] = max(sum, 1e-12)
            if best > 0.5 { detAssigned[di] = bestTrack }
        }
        return true
    }

    /// Probabilistic data association update of one track (Bar-Shalom & Tse 1975): combined
    /// innovation, and the covariance with the spread-of-innovations term; per model for an IMM.
    private func pdaUpdate(trackIndex ti: Int, sensor: TrackerSensor, batch: [Detection], betas: [(Int, Double)], beta0: Double,
                           cluster: Range<Int>) {
        let t = batch[0].time
        let src = sensor.source
        var st = tracks[ti].state
        guard t >= st.time else { return }
        transitionFallbacks += bank.predict(&st, to: t)
        let dim = MeasurementModel.dimension(src.kind)
        var logL = SIMD4<Double>(repeating: -.infinity)
        // `turn`: an estimated turn rate's lanes (`FilterState.turn`), updated as the 7-D state's
        // seventh row: with b = Hp c and Kω = S⁻¹ b, ω += Kω·ν, c ← c − β₀' K b + K spread Kω,
        // var ω ← var ω − β₀' bᵀ S⁻¹ b + Kωᵀ spread Kω (β₀' = 1 − β₀).
        func pda(_ x: inout Vector6, _ P: inout Matrix6, _ turn: UnsafeMutablePointer<SIMD8<Double>>? = nil) -> Double? {
            guard let inn0 = MeasurementUpdate.innovation(x: x, P: P, source: src, z: batch[Int(clusterDets[betas[0].0])].z,
                                                          filter: bank.filter) else { return nil }
            var nu = Vector3.zero
            var spread = Matrix3.zero
            var lik = 0.0
            for (c, b) in betas {
                let z = batch[Int(clusterDets[c])].z
                guard let inn = MeasurementUpdate.innovation(x: x, P: P, source: src, z: z, filter: bank.filter) else { continue }
                nu = nu + inn.y * b
                spread = spread + Matrix3(columns: (inn.y * (inn.y.x * b), inn.y * (inn.y.y * b), inn.y * (inn.y.z * b)))
                lik += b * Foundation.exp(inn.logLikelihood(dim: dim))
            }
            spread = spread - Matrix3(columns: (nu * nu.x, nu * nu.y, nu * nu.z))
            let Pc = MeasurementUpdate.posterior(inn0, P: P, source: src)
            let K = inn0.K
            if let turn {
                var t = turn.pointee
                let b = inn0.Hp * Vector3(t[0], t[1], t[2])
                let kw = inn0.Si * b
                let sk = spread * kw
                t[7] += dot(kw, nu)
                for i in 0..<6 {
                    t[i] -= (1 - beta0) * (K.0[i] * b.x + K.1[i] * b.y + K.2[i] * b.z)
                    t[i] += K.0[i] * sk.x + K.1[i] * sk.y + K.2[i] * sk.z
                }
                t[6] = max(t[6] - (1 - beta0) * dot(b, kw) + dot(kw, sk), FilterKernel.minimumTurnVariance)
                turn.pointee = t
            }
            for i in 0..<6 { x[i] += K.0[i] * nu.x + K.1[i] * nu.y + K.2[i] * nu.z }
            var newP = Matrix6()
            for a in 0..<6 {
                let ka = Vector3(K.0[a], K.1[a], K.2[a])
                let sk = spread * ka
                for b in 0..<6 {
                    newP[a, b] = beta0 * P[a, b] + (1 - beta0) * Pc[a, b] + sk.x * K.0[b] + sk.y * K.1[b] + sk.z * K.2[b]
                }
            }
            newP.symmetrize()
            P = newP
            return Foundation.log(max(lik, 1e-300))
        }
        if st.modeCount == 1 {
            var turn = st.turn
            let ok = bank.estimatesTurn ? withUnsafeMutablePointer(to: &turn) { pda(&st.x, &st.P, $0) } : pda(&st.x, &st.P)
            guard ok != nil else { return }
            st.turn = turn
        } else {
            for j in 0..<st.modeCount {
                var xj = st.mx[j], Pj = st.mP[j]
                if let l = pda(&xj, &Pj) { logL[j] = l; st.mx[j] = xj; st.mP[j] = Pj }
            }
            _ = bank.reweight(&st, logL)
        }
        let (bestC, bestB) = betas.max { $0.1 < $1.1 }!
        let det = batch[Int(clusterDets[bestC])]
        var logG = 0.0
        for p in pairs[cluster] where p.det == clusterDets[bestC] && p.trk == Int32(ti) { logG = p.logG }
        ensureStore(ti)
        finishUpdate(trackIndex: ti, state: st, sensor: sensor, detection: det, logG: bestB * logG, record: false)
    }

    /// Makes a track's out-of-sequence store, if it has none yet, before its state first changes.
    /// Until then the store would hold only its checkpoint, the state as it still is, and no
    /// updates; readers without a store (a gate's prior, a re-filter) find the same: the state
    /// itself, and nothing stored before it. So a track that never changes (a clutter pair)
    /// never pays for one.
    @inline(__always) private func ensureStore(_ ti: Int) {
        guard configuration.oosmWindow > 0, tracks[ti].oosm == nil else { return }
        tracks[ti].oosm = OOSMStore(checkpoint: tracks[ti].state)
    }

    // MARK: Updates

    /// Two-point initiation: a one-plot track that took a second radar plot becomes a track with
    /// a velocity (the difference of the plots over their interval) in `tracks`; its record is
    /// marked promoted and removed at the next upkeep.
    private func promote(single k: Int, sensor: TrackerSensor, source src: MeasurementSource, detection det: Detection,
                         logG: Double, plot: RadarPlot?) {
        let t = det.time
        let one = singles[k]
        let (p2, c2) = plot.map { ($0.position, $0.covariance) } ?? MeasurementModel.radarToCartesian(src, z: det.z)
        let dt = t - one.time
        guard dt > 0 else { return }
        let p1 = one.position, c1 = one.covariance
        let v = (p2 - p1) / dt
        let cv = c1 + c2
        var P = Matrix6()
        for i in 0..<3 {
            for j in 0..<3 {
                P[i, j] = c2[i, j]
                P[i, j + 3] = c2[i, j] / dt
                P[i + 3, j] = c2[i, j] / dt
                P[i + 3, j + 3] = cv[i, j] / (dt * dt)
            }
        }
        var x = Vector6(position: p2, velocity: v)
        // The second plot's radial speed, at the new state's time (the pair test has already held
        // it against the mean velocity).
        if let rr = rangeRateToFuse(sensor: sensor, detection: det) {
            withUnsafeMutableBytes(of: &x) { xb in
                withUnsafeMutableBytes(of: &P.m) { pb in
                    _ = FilterKernel.updateRangeRate(x: xb.baseAddress!.assumingMemoryBound(to: Double.self),
                                                     P: pb.baseAddress!.assumingMemoryBound(to: Double.self),
                                                     origin: rr.origin, rate: rr.rate, variance: rr.variance)
                }
            }
        }
        let st = bank.initialState(time: t, x: x, P: P)
        // Its out-of-sequence store is made when the state first changes (`ensureStore`): most
        // such tracks are clutter pairs that take nothing more.
        tracks.append(Track(id: one.id, status: .tentative, state: st, hasVelocity: true, hits: 1, createdAt: one.time,
                            confirmedAt: nil, lastUpdate: one.time, confirmDeadline: one.confirmDeadline,
                            lastDetection: one.lastDetection, radarUpdates: 1, bearingUpdates: 0, score: one.score,
                            peakScore: one.score, oosm: nil))
        singles[k].promoted = true
        let ti = tracks.count - 1
        indexNew(track: ti, at: p2)
        finishUpdate(trackIndex: ti, state: nil, sensor: sensor, detection: det, logG: logG, record: false)
    }

    /// Adds the last track to the gating index and the pre-gate records, or marks the index for a
    /// rebuild when they are not in step.
    private func indexNew(track ti: Int, at position: Vector3) {
        guard !indexDirty else { return }
        if summaries.count == ti && grid.insert(Int32(gridRef.count), at: position) {
            gridRef.append(Int32(ti))
            summaries.append(summary(ti))
        } else {
            indexDirty = true
        }
    }

    private func applyUpdate(trackIndex ti: Int, sensor: TrackerSensor, source src: MeasurementSource, detection det: Detection,
                             logG: Double, linearisation: MeasurementLinearisation? = nil, plot: RadarPlot? = nil) {
        let t = det.time
        ensureStore(ti)
        let rr = rangeRateToFuse(sensor: sensor, detection: det)
        if t >= tracks[ti].state.time {
            let bank = self.bank
            let (ok, fallbacks) = tracks.withUnsafeMutableBufferPointer { tb in
                let tp = tb.baseAddress! + ti
                let lin = linearisation ?? Tracker.linearisation(of: tp.pointee.state, at: t, source: src)
                let fallbacks = bank.predictModes(&tp.pointee.state, to: t)
                return (bank.update(&tp.pointee.state, source: src, z: det.z, about: lin, rangeRate: rr) != nil, fallbacks)
            }
            transitionFallbacks += fallbacks
            guard ok else {
                refreshSummary(ti)
                return
            }
            finishUpdate(trackIndex: ti, state: nil, sensor: sensor, detection: det, logG: logG, record: true, rangeRate: rr)
            return
        }
        var st = tracks[ti].state
        // Out of sequence.
        if configuration.oosmWindow > 0, let refiltered = refilter(trackIndex: ti, source: src, time: t, z: det.z, rangeRate: rr) {
            outOfSequenceExact += 1
            finishUpdate(trackIndex: ti, state: refiltered, sensor: sensor, detection: det, logG: logG, record: false)
            return
        }
        outOfSequenceApproximate += 1
        // Beyond the window: update the current estimate with a measurement of its past
        // (one-step retrodiction; Bar-Shalom 2002's approximate form), of its position only.
        let lag = st.time - t
        let q = configuration.gatingProcessNoise
        let back = st.x.position - lag * st.x.velocity
        let (h, Hp) = MeasurementModel.predict(src, position: back)
        let y = MeasurementModel.innovation(kind: src.kind, z: det.z, h: h)
        let v = q * lag * lag * lag / 3
        let R = MeasurementModel.noise(src) + Hp * Matrix3.diagonal(Vector3(repeating: v)) * Hp.transposed
        let Hv = Matrix3(columns: (Hp.c0 * -lag, Hp.c1 * -lag, Hp.c2 * -lag))
        var x = st.x, P = st.P, turn = st.turn
        let estimatesTurn = bank.estimatesTurn
        guard withUnsafeMutablePointer(to: &turn, { t in
            ExtendedKalman.update(&x, &P, Hp: Hp, Hv: Hv, R: R, y: y,
                                  turn: estimatesTurn ? UnsafeMutableRawPointer(t).assumingMemoryBound(to: Double.self) : nil)
        }) != nil else { return }
        // The modes start again from the updated estimate; an estimated turn's rate is updated
        // with it (its seventh row).
        st = bank.initialState(time: st.time, x: x, P: P)
        if estimatesTurn { st.turn = turn }
        tracks[ti].oosm?.removeAll()
        tracks[ti].checkpoint = st
        finishUpdate(trackIndex: ti, state: st, sensor: sensor, detection: det, logG: logG, record: false)
    }

    /// Re-filters a track with a late measurement inserted in time order: from the stored state
    /// before it, through it, then through every later stored update. Nil when it is older than
    /// the stored window.
    private func refilter(trackIndex ti: Int, source: MeasurementSource, time t: Double, z: Vector3,
                          rangeRate rr: RangeRateMeasurement?) -> FilterState? {
        guard let store = tracks[ti].oosm else { return nil }
        let k = store.countAtOrBefore(t)
        var st: FilterState
        if k > 0 {
            st = store.posterior(k - 1)
        } else if let c = store.checkpoint, c.time <= t {
            st = c
        } else {
            return nil
        }
        // Only the updates after t change: they are re-filtered into a scratch tail that replaces
        // them (the whole history was copied twice per late report).
        var tail = refilterTail
        refilterTail = []
        tail.removeAll(keepingCapacity: true)
        var lin = Tracker.linearisation(of: st, at: t, source: source)
        transitionFallbacks += bank.predict(&st, to: t)
        _ = bank.update(&st, source: source, z: z, about: lin, rangeRate: rr)
        tail.append(UpdateRecord(time: t, source: source, z: z, rangeRate: rr, posterior: st))
        store.records.withUnsafeBufferPointer { rb in
            for i in (store.start + k)..<rb.count {
                let r = rb.baseAddress! + i
                lin = Tracker.linearisation(of: st, at: r.pointee.time, source: r.pointee.source)
                transitionFallbacks += bank.predict(&st, to: r.pointee.time)
                _ = bank.update(&st, source: r.pointee.source, z: r.pointee.z, about: lin, rangeRate: r.pointee.rangeRate)
                tail.append(UpdateRecord(time: r.pointee.time, source: r.pointee.source, z: r.pointee.z, rangeRate: r.pointee.rangeRate,
                                         posterior: st))
            }
        }
        store.replaceTail(keeping: k, with: tail)
        refilterTail = tail
        return st
    }

    /// The radial speed an update of a track by this detection fuses: a radar's measured one, when
    /// the configuration fuses radial speeds (every track in `tracks` has a velocity to relate it to).
    @inline(__always)
    private func rangeRateToFuse(sensor: TrackerSensor, detection det: Detection) -> RangeRateMeasurement? {
        guard configuration.radialSpeed == .fuse, sensor.kind == .rangeAzimuthElevation, sensor.sigmaRangeRate > 0,
              let rate = det.rangeRate, rate.isFinite else { return nil }
        return RangeRateMeasurement(rate: rate, variance: sensor.sigmaRangeRate * sensor.sigmaRangeRate, origin: sensor.source.frame.origin)
    }

    /// Where an update linearises its measurement: the track's combined estimate carried forward
    /// in a straight line to t, the point the gate used (so that an update in order and the same
    /// update re-run for an out-of-sequence measurement are the same computation).
    @inline(__always)
    static func linearisation(of st: FilterState, at t: Double, source: MeasurementSource) -> MeasurementLinearisation {
        let x = st.x
        let dt = t - st.time
        let p = Vector3(x[0] + x[3] * dt, x[1] + x[4] * dt, x[2] + x[5] * dt)
        let (h, Hp) = MeasurementModel.predict(source, position: p)
        return MeasurementLinearisation(position: p, h: h, Hp: Hp)
    }

    private func finishUpdate(trackIndex ti: Int, state st: FilterState?, sensor: TrackerSensor, detection det: Detection,
                              logG: Double, record: Bool, rangeRate rr: RangeRateMeasurement? = nil) {
        let t = det.time
        if ti < updatedThisScan.count { updatedThisScan[ti] = true }
        let confirmScore = self.confirmScore
        let newEvents: (TrackEvent, TrackEvent)? = tracks.withUnsafeMutableBufferPointer { tb in
            let tp = tb.baseAddress! + ti
            if let st { tp.pointee.state = st }
            if record && configuration.oosmWindow > 0, let store = tp.pointee.oosm {
                store.append(UpdateRecord(time: t, source: sensor.source, z: det.z, rangeRate: rr, posterior: tp.pointee.state))
                // Keep only what the window may need.
                let horizon = t - configuration.oosmWindow
                var drop = 0
                while drop < store.count - 1 && store.time(drop + 1) < horizon { drop += 1 }
                if drop > 0 {
                    store.checkpoint = store.posterior(drop - 1)
                    store.dropOldest(drop)
                }
            }
            tp.pointee.hits += 1
            tp.pointee.score += logG
            tp.pointee.peakScore = max(tp.pointee.peakScore, tp.pointee.score)
            tp.pointee.lastUpdate = max(tp.pointee.lastUpdate, t)
            tp.pointee.lastDetection = det.id
            if sensor.kind == .rangeAzimuthElevation { tp.pointee.radarUpdates += 1 } else { tp.pointee.bearingUpdates += 1 }
            guard tp.pointee.status == .tentative else { return nil }
            let confirm: Bool
            switch configuration.initiation {
            case .mOfN: confirm = tp.pointee.hits >= configuration.confirmM
            case .score: confirm = tp.pointee.score >= confirmScore
            }
            guard confirm else { return nil }
            tp.pointee.status = .confirmed
            // Confirmed when the tracker learns enough, at the latest time it has seen of the
            // track: a late report (an acoustic node's, a citizen's) that confirms a track started
            // after it was taken is not a confirmation before the start.
            let confirmedAt = max(t, tp.pointee.lastUpdate, tp.pointee.createdAt)
            tp.pointee.confirmedAt = confirmedAt
            tp.pointee.peakScore = tp.pointee.score
            return (TrackEvent(time: tp.pointee.createdAt, track: tp.pointee.id, kind: .started, reason: sensor.name),
                    TrackEvent(time: confirmedAt, track: tp.pointee.id, kind: .confirmed, reason: sensor.name))
        }
        refreshSummary(ti)
        if let (a, b) = newEvents { events.append(a); events.append(b) }
        if recordAssociations { associations.append(Association(track: tracks[ti].id, detection: det.id, time: t)) }
    }

    private func startTrack(sensor: TrackerSensor, detection det: Detection, plot: RadarPlot? = nil) {
        let t = det.time
        let src = sensor.source
        var x: Vector6, P = Matrix6()
        let window = Double(configuration.confirmN) * sensor.period + 1e-6
        let initialScore = Foundation.log(configuration.newTargetDensityRatio)
        switch src.kind {
        case .rangeAzimuthElevation:
            // A one-plot track, kept compact apart from `tracks` until a second plot pairs with it.
            let (p, c) = plot.map { ($0.position, $0.covariance) } ?? MeasurementModel.radarToCartesian(src, z: det.z)
            var one = SinglePlotTrack(id: nextID, time: t, position: p, covariance: c, trace: c[0, 0] + c[1, 1] + c[2, 2],
                                      confirmDeadline: t + window, lastDetection: det.id, score: initialScore)
            if sensor.sigmaRangeRate > 0 && configuration.radialSpeed != .ignore, let rate = det.rangeRate, rate.isFinite {
                let los = p - src.frame.origin
                let r = norm(los)
                if r > 0 {
                    let u = los / r
                    one.rangeRate = rate
                    one.rangeRateSigma = sensor.sigmaRangeRate
                    one.lineOfSight = u
                    one.lineOfSightVariance = dot(u, c * u)
                }
            }
            nextID += 1
            singles.append(one)
            if recordAssociations { associations.append(Association(track: one.id, detection: det.id, time: t)) }
            if !indexDirty {
                if grid.insert(Int32(gridRef.count), at: p) { gridRef.append(Int32(-singles.count)) } else { indexDirty = true }
            }
            return
        case .position2D:
            let f = src.frame
            let p = f.origin + f.global(Vector3(det.z.x, det.z.y, sensor.initiationAltitude))
            x = Vector6(position: p, velocity: .zero)
            let e = f.east, n = f.north, u = f.up
            let se = src.sigma.x, sn = src.sigma.y, su = max(sensor.initiationAltitude, 300)
            for i in 0..<3 { for j in 0..<3 { P[i, j] = se * se * e[i] * e[j] + sn * sn * n[i] * n[j] + su * su * u[i] * u[j] } }
            let sv = configuration.bearingInitVelocitySigma
            for i in 3..<6 { P[i, i] = sv * sv }
        case .bearing:
            let az = det.z.x
            let r = sensor.initiationRange
            let f = src.frame
            let p = f.origin + f.global(Vector3(r * sin(az), r * cos(az), sensor.initiationAltitude))
            x = Vector6(position: p, velocity: .zero)
            let along = f.global(Vector3(sin(az), cos(az), 0)), across = f.global(Vector3(cos(az), -sin(az), 0)), u = f.up
            let sa = r / 2, sc = max(r * src.sigma.x, 200), su = max(sensor.initiationAltitude, 300)
            for i in 0..<3 {
                for j in 0..<3 {
                    P[i, j] = sa * sa * along[i] * along[j] + sc * sc * across[i] * across[j] + su * su * u[i] * u[j]
                }
            }
            let sv = configuration.bearingInitVelocitySigma
            for i in 3..<6 { P[i, i] = sv * sv }
        }
        let st = bank.initialState(time: t, x: x, P: P)
        let trk = Track(id: nextID, status: .tentative, state: st, hasVelocity: true, hits: 1,
                        createdAt: t, confirmedAt: nil, lastUpdate: t, confirmDeadline: t + window,
                        lastDetection: det.id, radarUpdates: 0,
                        bearingUpdates: src.kind == .bearing ? 1 : 0, score: initialScore, peakScore: initialScore,
                        // The out-of-sequence store is made when the state first changes (`ensureStore`).
                        oosm: nil)
        nextID += 1
        tracks.append(trk)
        if recordAssociations { associations.append(Association(track: trk.id, detection: det.id, time: t)) }
        indexNew(track: tracks.count - 1, at: x.position)
    }

    // MARK: Maintenance

    /// Drops stale tracks and duplicates; call once per decision cycle (or scan) with the current time.
    public func maintain(now: Double) {
        let lapStart = phaseTiming ? TrackerPhases.clock() : 0
        defer { if phaseTiming { phases.upkeep += TrackerPhases.clock() - lapStart } }
        let deleteT = Foundation.log(configuration.scoreBeta / (1 - configuration.scoreAlpha))
        let c = configuration
        var removed = 0
        var newEvents: [TrackEvent] = []
        tracks.withUnsafeMutableBufferPointer { tb in
            // A dropped track is overwritten by the last live one, which is examined next (one
            // copy of 1.8 KB, not a swap's three: a raid drops a quarter of a million tentative
            // tracks started by false plots). The slots past n then hold spare copies of moved
            // tracks, released by removeLast.
            var i = 0, n = tb.count
            while i < n {
                let p = tb.baseAddress! + i
                let status = p.pointee.status
                var drop: String? = nil
                switch (status, c.initiation) {
                case (.tentative, .mOfN):
                    if now > p.pointee.confirmDeadline { drop = "not confirmed" }
                case (.tentative, .score):
                    if p.pointee.score < deleteT || now > p.pointee.confirmDeadline { drop = "not confirmed" }
                case (.confirmed, _):
                    if now - p.pointee.lastUpdate > c.maxCoast {
                        drop = "no update for \(Int(c.maxCoast)) s"
                    } else if c.initiation == .score && p.pointee.score < p.pointee.peakScore - c.scoreDrop {
                        drop = "track score fell"
                    }
                }
                if let reason = drop {
                    if status == .confirmed {
                        newEvents.append(TrackEvent(time: now, track: p.pointee.id, kind: .dropped, reason: reason))
                    }
                    if i != n - 1 { p.pointee = tb[n - 1] }
                    n -= 1
                } else {
                    i += 1
                }
            }
            removed = tb.count - n  // confirmed ones are reported as events, tentative ones counted
            tentativeDropped += removed - newEvents.count
        }
        tracks.removeLast(removed)
        events.append(contentsOf: newEvents)
        // One-plot tracks: the promoted ones go, and those past their window (or, scored, below the
        // drop threshold); the rest keep their order.
        var kept = 0, expired = 0
        // Read in place: most records stay where they are, and a copy of each (230 bytes) every
        // cycle was most of this loop.
        singles.withUnsafeMutableBufferPointer { sb in
            for i in sb.indices {
                var gone = sb[i].promoted
                if !gone {
                    gone = now > sb[i].confirmDeadline || (c.initiation == .score && sb[i].score < deleteT)
                    if gone { expired += 1 }
                }
                if !gone {
                    if kept != i { sb[kept] = sb[i] }
                    kept += 1
                }
            }
        }
        singles.removeLast(singles.count - kept)
        tentativeDropped += expired
        indexDirty = true
        // Duplicates form over seconds: look for them every other second at most.
        if now - lastDuplicateCheck >= 2 || now < lastDuplicateCheck {
            lastDuplicateCheck = now
            removeDuplicates(now: now)
        }
    }

    /// Removes a track on the caller's word (e.g. a confirmed kill).
    public func drop(track id: Int, time: Double, reason: String) {
        if let k = singles.firstIndex(where: { $0.id == id && !$0.promoted }) {
            singles.remove(at: k)
            indexDirty = true
            return
        }
        guard let i = tracks.firstIndex(where: { $0.id == id }) else { return }
        if tracks[i].status == .confirmed {
            events.append(TrackEvent(time: time, track: id, kind: .dropped, reason: reason))
        }
        tracks.remove(at: i)
        indexDirty = true
    }

    /// Calls `body` with every confirmed track, read in place: a track is 1.8 KB of filter
    /// states, and a loop over `tracks` copies each one it visits. `body` must not change the
    /// tracker.
    public func forEachConfirmedTrack(_ body: (borrowing Track) -> Void) {
        tracks.withUnsafeBufferPointer { tb in
            for i in tb.indices where tb[i].status == .confirmed { body(tb[i]) }
        }
    }

    /// Calls `body` with (id, confirmation time, state at t) for every confirmed track: the
    /// estimate when the track's time is t, else its model bank's predicted mean.
    public func forEachConfirmed(at t: Double, _ body: (Int, Double?, Vector6) -> Void) {
        tracks.withUnsafeBufferPointer { tb in
            for i in tb.indices where tb[i].status == .confirmed {
                let p = tb.baseAddress! + i
                let x = p.pointee.state.time == t ? p.pointee.state.x : bank.predictedMean(p.pointee.state, to: t)
                body(p.pointee.id, p.pointee.confirmedAt, x)
            }
        }
    }

    /// Predicted mean (position, velocity) of a track at time t, by its model bank.
    public func predictedMean(_ trk: Track, at t: Double) -> Vector6 { bank.predictedMean(trk.state, to: t) }

    /// Two tracks on one object: keep the confirmed, then the older one.
    private func removeDuplicates(now: Double) {
        guard tracks.count > 1 else { return }
        if indexDirty || summaries.count != tracks.count { rebuildIndex() }
        doomedBuffer.removeAll(keepingCapacity: true)
        doomedBuffer.append(contentsOf: repeatElement(false, count: tracks.count))
        var anyDoomed = false
        // Only tracks with a velocity can be duplicates (most tracks in a raid are one-plot
        // clutter), and only within `near` of each other. The pairs that close are found by a
        // sweep along x over the moving tracks sorted by x (a few dozen in a raid), then each
        // track's partners are taken in the order a query of the gating index visits them: its
        // 3 × 3 cells in turn, later tracks first within a cell. When a track has several
        // duplicates, which one it meets first decides the survivors.
        let near = Self.duplicateReach
        let cell = configuration.cellSize
        @inline(__always) func coarse(_ p: Vector3) -> (Int, Int) {
            (Int(HashGrid.floor(p.x / cell)), Int(HashGrid.floor(p.y / cell)))
        }
        var sweep = sweepBuffer, close = closeBuffer
        sweepBuffer = []; closeBuffer = []
        sweep.removeAll(keepingCapacity: true)
        close.removeAll(keepingCapacity: true)
        summaries.withUnsafeBufferPointer { sb in
            // Sort keys: ⌊x⌋ in metres (biased, 40 bits) above the track index (24 bits); the sweep
            // goes on while ⌊x⌋ is within `near` (an integer), which keeps every pair closer than it.
            precondition(sb.count < 1 << 24, "more than 16 million tracks")
            for i in sb.indices {
                let xq = min(max(HashGrid.floor(sb[i].position.x) + (1 << 39), 0), (1 << 40) - 1)
                sweep.append(UInt64(xq) << 24 | UInt64(i))
            }
            sweep.sort()
            let reach = Int64(near)
            sweep.withUnsafeBufferPointer { sw in
                for a in sw.indices {
                    let ia = Int(sw[a] & 0xFF_FFFF), xa = Int64(sw[a] >> 24)
                    let pa = sb[ia].position
                    var b = a + 1
                    while b < sw.count && Int64(sw[b] >> 24) - xa <= reach {
                        let ib = Int(sw[b] & 0xFF_FFFF)
                        let pb = sb[ib].position
                        if norm(pa - pb) < near {
                            // Keyed by the earlier track, then by gating-query order.
                            let (i, j) = ia < ib ? (ia, ib) : (ib, ia)
                            let (ax, ay) = coarse(sb[i].position), (bx, by) = coarse(sb[j].position)
                            // Only the 3 × 3 gating cells around the earlier track are searched
                            // (with cells under `near`, a close pair can lie farther apart).
                            if abs(bx - ax) <= 1 && abs(by - ay) <= 1 {
                                let rank = (bx - ax + 1) * 3 + (by - ay + 1)  // 0…8
                                close.append(UInt64(i) << 32 | UInt64(rank << 27 | (0x07FF_FFFF - j)))
                            }
                        }
                        b += 1
                    }
                }
            }
        }
        close.sort()
        let q = configuration.gatingProcessNoise
        var newEvents: [TrackEvent] = []
        var dropped = 0
        let gate = gates.2 / 2
        doomedBuffer.withUnsafeMutableBufferPointer { doomed in
        summaries.withUnsafeBufferPointer { sb in
        tracks.withUnsafeBufferPointer { tb in
            // The first tests read the compact pre-gate records (in step with the tracks after
            // the rebuild above), not the tracks themselves.
            var c = 0
            while c < close.count {
                let i = Int(close[c] >> 32)
                var end = c + 1
                while end < close.count && Int(close[end] >> 32) == i { end += 1 }
                defer { c = end }
                if doomed[i] { continue }
                for k in close[c..<end] {
                    let j = 0x07FF_FFFF - Int(k & 0x07FF_FFFF)
                    guard !doomed[j] else { continue }
                    let a = tb.baseAddress! + i, b = tb.baseAddress! + j
                    let t = max(a.pointee.time, b.pointee.time)
                    // Two exact rejections before the 6 × 6 predictions (a dense wave has dozens
                    // of tracks within reach of each): the prediction leaves velocities as they
                    // are, and d'C⁻¹d ≥ |d|² / tr C, where tr C is the sum of the predicted
                    // position traces (trPos + 2 dt trPV + dt² trVel + q dt³ each).
                    let ga = sb[i], gb = sb[j]
                    guard norm(ga.velocity - gb.velocity) < 0.3 * max(norm(ga.velocity), 50) else { continue }
                    let pa = ga.predicted(dt: t - ga.time, q: q), pb = gb.predicted(dt: t - gb.time, q: q)
                    let d0 = pa.position - pb.position
                    guard dot(d0, d0) <= gate * (pa.trace + pb.trace) * (1 + 1e-9) else { continue }
                    let (xa, Pa) = a.pointee.predicted(to: t, processNoise: q)
                    let (xb, Pb) = b.pointee.predicted(to: t, processNoise: q)
                    let d = xa.position - xb.position
                    guard let Ci = (Pa.positionBlock + Pb.positionBlock).inverse else { continue }
                    guard dot(d, Ci * d) < gate else { continue }
                    let keepA: Bool
                    if a.pointee.status != b.pointee.status { keepA = a.pointee.status == .confirmed } else { keepA = a.pointee.createdAt <= b.pointee.createdAt }
                    let loser = keepA ? j : i
                    doomed[loser] = true
                    anyDoomed = true
                    if tb[loser].status == .confirmed {
                        newEvents.append(TrackEvent(time: now, track: tb[loser].id, kind: .dropped,
                                                    reason: "duplicate of track \(keepA ? a.pointee.id : b.pointee.id)"))
                    } else {
                        dropped += 1
                    }
                    if loser == i { break }
                }
            }
        }
        }
        }
        sweepBuffer = sweep
        closeBuffer = close
        events.append(contentsOf: newEvents)
        tentativeDropped += dropped
        if anyDoomed {
            // Stable compaction: the survivors keep their order.
            var w = 0
            let doomed = doomedBuffer
            tracks.withUnsafeMutableBufferPointer { tb in
                for i in tb.indices where !doomed[i] {
                    if w != i { tb.swapAt(w, i) }
                    w += 1
                }
            }
            tracks.removeLast(tracks.count - w)
            indexDirty = true
        }
    }
}

/// A hash grid of 2-D cells over track positions: chains of track indices per cell bucket. A
/// query visits the cells of a square around a point, so its cost follows the tracks near it,
/// not the number of tracks.
struct HashGrid {
    let cellSize: Double
    private var head: [Int32] = []
    private var next: [Int32] = []
    private var keys: [Int64] = []
    private var shift: UInt64 = 64

    init(cellSize: Double) { self.cellSize = cellSize }

    /// Items indexed.
    var count: Int { keys.count }

    @inline(__always) private func key(_ p: Vector3, dx: Int64 = 0, dy: Int64 = 0) -> Int64 {
        Self.key(p, cellSize: cellSize, dx: dx, dy: dy)
    }

    @inline(__always) private static func key(_ p: Vector3, cellSize: Double, dx: Int64 = 0, dy: Int64 = 0) -> Int64 {
        key(cx: floor(p.x / cellSize) &+ dx, cy: floor(p.y / cellSize) &+ dy)
    }

    /// The key of cell (cx, cy).
    @inline(__always) private static func key(cx: Int64, cy: Int64) -> Int64 { (cx << 32) ^ (cy & 0xFFFF_FFFF) }

    /// ⌊q⌋ without a call into libm (x86-64's baseline has no rounding instruction): truncate,
    /// then step down below a negative non-integer. Saturates at ±4·10¹⁸ (and gives 0 for NaN),
    /// so that a corrupt coordinate (a radar range of 10³⁰⁰ m) lands in a far cell instead of
    /// trapping in the conversion.
    @inline(__always) static func floor(_ q: Double) -> Int64 {
        guard abs(q) < 4e18 else { return q > 0 ? 4_000_000_000_000_000_000 : (q < 0 ? -4_000_000_000_000_000_000 : 0) }
        let t = Int64(q)
        return Double(t) > q ? t &- 1 : t
    }

    @inline(__always) private func bucket(_ key: Int64) -> Int { Self.bucket(key, shift: shift) }

    @inline(__always) private static func bucket(_ key: Int64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Indexes items 0..<count at the given positions.
    mutating func rebuild(count: Int, position: (Int) -> Vector3) {
        var size = 64
        while size < 2 * count { size <<= 1 }
        shift = UInt64(64 - size.trailingZeroBitCount)
        if head.count == size {
            head.withUnsafeMutableBufferPointer { h in h.update(repeating: -1) }
        } else {
            head = [Int32](repeating: -1, count: size)
        }
        if next.count > count { next.removeLast(next.count - count); keys.removeLast(keys.count - count) }
        if next.count < count {
            next.append(contentsOf: repeatElement(-1, count: count - next.count))
            keys.append(contentsOf: repeatElement(0, count: count - keys.count))
        }
        let cellSize = self.cellSize, shift = self.shift
        head.withUnsafeMutableBufferPointer { head in
            next.withUnsafeMutableBufferPointer { next in
                keys.withUnsafeMutableBufferPointer { keys in
                    for i in 0..<count {
                        let k = Self.key(position(i), cellSize: cellSize)
                        let b = Self.bucket(k, shift: shift)
                        next[i] = head[b]
                        keys[i] = k
                        head[b] = Int32(i)
                    }
                }
            }
        }
    }

    /// Adds item `i` (which must be the next index); false when the table is too full (rebuild).
    mutating func insert(_ i: Int32, at p: Vector3) -> Bool {
        guard Int(i) == keys.count, 2 * (keys.count + 1) <= head.count else { return false }
        let k = key(p)
        let b = bucket(k)
        next.append(head[b])
        keys.append(k)
        head[b] = i
        return true
    }

    /// Writes the items near p into `out`, which has room for `count` (a query yields each item at
    /// most once: the cells of its square have distinct keys), and returns how many. Cell by cell
    /// in the order (dx, dy) of the square, each cell's items newest first.
    func query(near p: Vector3, radius: Double, into out: UnsafeMutablePointer<Int32>) -> Int {
        let span = (radius / cellSize).rounded(.up)
        // A square of far more cells than the table has buckets (a bearing sensor's reach of
        // thousands of kilometres, a corrupt range): every item is a candidate, in index order,
        // rather than a walk over millions of empty cells. The caller's exact tests sort them out.
        guard span <= 1e4, (2 * span + 1) * (2 * span + 1) <= Double(max(4 * head.count, 1 << 16)) else {
            for i in 0..<keys.count { out[i] = Int32(i) }
            return keys.count
        }
        var n = 0
        let reach = Int64(max(span, 0))
        let cx = Self.floor(p.x / cellSize), cy = Self.floor(p.y / cellSize)
        head.withUnsafeBufferPointer { head in
            next.withUnsafeBufferPointer { next in
                keys.withUnsafeBufferPointer { keys in
                    for dx in -reach...reach {
                        for dy in -reach...reach {
                            let k = Self.key(cx: cx &+ dx, cy: cy &+ dy)
                            var i = head[bucket(k)]
                            while i >= 0 {
                                if keys[Int(i)] == k { out[n] = i; n += 1 }
                                i = next[Int(i)]
                            }
                        }
                    }
                }
            }
        }
        return n
    }
}

/// A radar detection as a point in the tracker's frame: position and covariance, and ln of the
/// measurement volume element there. Made once per detection, whatever number of one-plot
/// tracks it is gated against, and reused when it starts or extends one.
struct RadarPlot {
    var position: Vector3
    var covariance: Matrix3
    var logJacobian: Double

    init(_ src: MeasurementSource, z: Vector3) {
        (position, covariance) = MeasurementModel.radarToCartesian(src, z: z)
        logJacobian = MeasurementModel.radarLogJacobian(z)
    }
}

/// A tentative track of one radar plot: where and when it was seen, the plot's covariance, its
/// radial speed, and what decides its end. Most are clutter and never take a second plot, so they
/// are kept compact apart from `Tracker.tracks` (a track's filter states are 1.8 KB, copied each
/// time one is appended or moved).
struct SinglePlotTrack {
    var id: Int
    var time: Double
    var position: Vector3
    var covariance: Matrix3
    var trace: Double
    var confirmDeadline: Double
    var lastDetection: UInt64
    var score: Double
    /// Radial speed (NaN when its radar measures none), its σ, the unit line of sight from the
    /// radar and the plot's position variance along it.
    var rangeRate: Double = .nan
    var rangeRateSigma: Double = 0
    var lineOfSight: Vector3 = .zero
    var lineOfSightVariance: Double = 0
    /// Took a second plot (now a track in `tracks`); removed at the next upkeep.
    var promoted = false
}

/// A track's combined position, velocity and covariance traces at its estimate time: all the
/// Euclidean pre-gate reads.
struct GateSummary {
    var position: Vector3
    var velocity: Vector3
    var time: Double
    var trPos: Double, trPV: Double, trVel: Double

    /// From a combined mean (6 doubles) and covariance (36, row-major).
    init(x: UnsafePointer<Double>, P: UnsafePointer<Double>, time: Double) {
        position = Vector3(x[0], x[1], x[2]); velocity = Vector3(x[3], x[4], x[5]); self.time = time
        trPos = P[0] + P[7] + P[14]
        trPV = P[3] + P[10] + P[17]
        trVel = P[21] + P[28] + P[35]
    }

    /// The position carried dt seconds in a straight line, and the trace of its covariance under a
    /// constant-velocity prediction with noise q: trPos + 2 dt trPV + dt² trVel + q |dt|³ (three
    /// axes of q |dt|³ / 3). What every Euclidean screen of a track starts from.
    @inline(__always) func predicted(dt: Double, q: Double) -> (position: Vector3, trace: Double) {
        let adt = abs(dt)
        return (position + velocity * dt, trPos + 2 * dt * trPV + dt * dt * trVel + q * adt * adt * adt)
    }
}
