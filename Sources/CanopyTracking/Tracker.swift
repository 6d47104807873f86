import CanopyCore
import Foundation

/// Settings of the multi-sensor tracker.
public struct TrackerConfiguration: Sendable {
    /// M-of-N confirmation: a tentative track needs `confirmM` updates within `confirmN` periods of
    /// the sensor that started it.
    public var confirmM: Int
    public var confirmN: Int
    /// A confirmed track with no update for this long (s) is dropped.
    public var maxCoast: Double
    /// Probability that a true detection falls inside its gate.
    public var gateProbability: Double
    /// NCV process noise spectral density (m²/s³).
    public var processNoise: Double
    /// Fastest target the tracker expects (m/s); bounds the gate of a one-point tentative track.
    public var maxSpeed: Double
    /// Velocity standard deviation (m/s) given to a track started from a bearing.
    public var bearingInitVelocitySigma: Double
    /// Side of a spatial-index cell (m).
    public var cellSize: Double

    public init(confirmM: Int = 3, confirmN: Int = 5, maxCoast: Double = 40, gateProbability: Double = 0.999,
                processNoise: Double = 50, maxSpeed: Double = 3000, bearingInitVelocitySigma: Double = 120,
                cellSize: Double = 40_000) {
        self.confirmM = confirmM; self.confirmN = confirmN; self.maxCoast = maxCoast
        self.gateProbability = gateProbability; self.processNoise = processNoise; self.maxSpeed = maxSpeed
        self.bearingInitVelocitySigma = bearingInitVelocitySigma; self.cellSize = cellSize
    }
}

public enum TrackStatus: String, Sendable {
    case tentative, confirmed
}

/// A track: the tracker's estimate of one object, in ECEF (position m, velocity m/s).
public struct Track: Sendable {
    public let id: Int
    public internal(set) var status: TrackStatus
    /// Time of the state estimate (s).
    public internal(set) var time: Double
    public internal(set) var x: Vector6
    public internal(set) var P: Matrix6
    /// False for a track started by one radar plot: its velocity is still unknown.
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

    /// The state predicted (not stored) to time t.
    public func predicted(to t: Double, processNoise q: Double) -> (x: Vector6, P: Matrix6) {
        var xp = x, Pp = P
        if t > time { NearlyConstantVelocity.predict(&xp, &Pp, dt: t - time, q: q) }
        return (xp, Pp)
    }

    public var position: Vector3 { x.position }
    public var velocity: Vector3 { x.velocity }
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

/// A multi-sensor, multi-target tracker: EKF on a nearly-constant-velocity model in ECEF;
/// radar (range, azimuth, elevation) and bearing-only updates; Mahalanobis gating; global
/// nearest neighbour association solved optimally (Jonker–Volgenant) per cluster of shared gates;
/// M-of-N confirmation; deletion after coasting; out-of-sequence measurements folded into the
/// current estimate (one-step retrodiction, Bar-Shalom 2002's approximate form).
public final class Tracker {
    public let configuration: TrackerConfiguration
    public let sensors: [TrackerSensor]
    public private(set) var tracks: [Track] = []
    /// Track events since the caller last cleared them.
    public var events: [TrackEvent] = []
    /// Associations since the caller last cleared them.
    public var associations: [Association] = []
    /// Counters.
    public private(set) var detectionsProcessed = 0
    public private(set) var tentativeDropped = 0

    private var nextID = 1
    private let gates: (Double, Double, Double)
    // Spatial index: (cell key, track index), sorted by key; rebuilt when tracks change.
    private var index: [(key: Int64, track: Int32)] = []
    private var indexDirty = true
    /// Tracks started since the index was built: scanned linearly until the next rebuild.
    private var unindexed: [Int32] = []
    // Work buffers reused across batches.
    private var pairs: [(det: Int32, trk: Int32, cost: Double, root: Int32)] = []
    private var candidateBuffer: [Int32] = []
    private var solver = LinearAssignmentSolver()
    private var costBuffer: [Double] = []
    private var detAssigned: [Int32] = []
    private var parent: [Int32] = []

    public init(configuration: TrackerConfiguration, sensors: [TrackerSensor]) {
        self.configuration = configuration
        self.sensors = sensors
        let p = configuration.gateProbability
        gates = (ChiSquare.quantile(probability: p, dof: 1), ChiSquare.quantile(probability: p, dof: 2),
                 ChiSquare.quantile(probability: p, dof: 3))
    }

    public var confirmedTracks: [Track] { tracks.filter { $0.status == .confirmed } }

    public func track(id: Int) -> Track? { tracks.first { $0.id == id } }

    // MARK: Spatial index

    @inline(__always) private func cell(_ p: Vector3) -> SIMD3<Int64> {
        let c = configuration.cellSize
        return SIMD3(Int64((p.x / c).rounded(.down)), Int64((p.y / c).rounded(.down)), Int64((p.z / c).rounded(.down)))
    }

    @inline(__always) private func key(_ c: SIMD3<Int64>) -> Int64 {
        // 21 bits per axis: cells of ≥ 1 km cover ±1000 Mm.
        ((c.x & 0x1F_FFFF) << 42) | ((c.y & 0x1F_FFFF) << 21) | (c.z & 0x1F_FFFF)
    }

    private func rebuildIndex() {
        index.removeAll(keepingCapacity: true)
        for (i, t) in tracks.enumerated() { index.append((key(cell(t.x.position)), Int32(i))) }
        index.sort { $0.key < $1.key }
        indexDirty = false
        unindexed.removeAll(keepingCapacity: true)
    }

    /// Track indices in the cells around p (a box of ± `reach` cells). The index is rebuilt once
    /// per cycle; tracks move little against the cell size in between, and new ones are scanned.
    private func candidates(near p: Vector3, radius: Double, into out: inout [Int32]) {
        if indexDirty { rebuildIndex() }
        let limit = radius + configuration.cellSize
        if !unindexed.isEmpty {
            let tr = tracks
            for ti in unindexed where norm(tr[Int(ti)].x.position - p) <= limit { out.append(ti) }
        }
        let c = cell(p)
        let reach = Int64((radius / configuration.cellSize).rounded(.up))
        index.withUnsafeBufferPointer { idx in
            // Keys of one (x, y) column are contiguous in z: one search per column.
            func firstAtLeast(_ k: Int64) -> Int {
                var lo = 0, hi = idx.count
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if idx[mid].key < k { lo = mid + 1 } else { hi = mid }
                }
                return lo
            }
            for dx in -reach...reach {
                for dy in -reach...reach {
                    let k0 = key(c &+ SIMD3(dx, dy, -reach)), k1 = key(c &+ SIMD3(dx, dy, reach))
                    if k0 <= k1 {
                        var i = firstAtLeast(k0)
                        while i < idx.count && idx[i].key <= k1 { out.append(idx[i].track); i += 1 }
                    } else {
                        // The z range wraps the key's bit field: search each cell.
                        for dz in -reach...reach {
                            let k = key(c &+ SIMD3(dx, dy, dz))
                            var i = firstAtLeast(k)
                            while i < idx.count && idx[i].key == k { out.append(idx[i].track); i += 1 }
                        }
                    }
                }
            }
        }
    }

    // MARK: Processing

    /// Processes detections of ONE sensor taken at ONE time (a scan, or one node's report).
    /// `sensorOverride` replaces the registered sensor for this batch (e.g. a citizen's phone,
    /// which reports from wherever its owner stands).
    public func process(_ batch: [Detection], sensorOverride: TrackerSensor? = nil) {
        guard let first = batch.first else { return }
        let sensor = sensorOverride ?? sensors[Int(first.sensor)]
        let t = first.time
        detectionsProcessed += batch.count
        let q = configuration.processNoise
        let gate = sensor.kind == .rangeAzimuthElevation ? gates.2 : gates.0
        pairs.removeAll(keepingCapacity: true)

        // 1. Gating: for each detection, candidate tracks from the spatial index, then Mahalanobis.
        for (di, det) in batch.enumerated() {
            candidateBuffer.removeAll(keepingCapacity: true)
            let center: Vector3, radius: Double
            switch sensor.kind {
            case .rangeAzimuthElevation:
                center = MeasurementModel.radarToECEF(sensor: sensor, z: det.z).position
                radius = max(configuration.cellSize * 0.75, 4 * sensor.sigma.y * det.z.x)
            case .bearing:
                center = sensor.frame.originECEF
                radius = sensor.maxRange + 5_000
            }
            candidates(near: center, radius: radius, into: &candidateBuffer)
            // Measurement spread around `center` (m, squared): radar cross-range and range noise;
            // for a bearing, the whole detection radius.
            let spread2: Double
            switch sensor.kind {
            case .rangeAzimuthElevation:
                let cr = det.z.x * max(sensor.sigma.y, sensor.sigma.z)
                spread2 = sensor.sigma.x * sensor.sigma.x + 2 * cr * cr
            case .bearing:
                spread2 = sensor.maxRange * sensor.maxRange
            }
            for ti in candidateBuffer {
                // Cheap Euclidean pre-gate on the extrapolated position before any matrix work.
                guard preGate(Int(ti), center: center, t: t, spread2: spread2, bearing: sensor.kind == .bearing) else { continue }
                guard let cost = gateCost(track: tracks[Int(ti)], sensor: sensor, z: det.z, t: t, q: q, gate: gate) else { continue }
                pairs.append((Int32(di), ti, cost, 0))
            }
        }

        // 2. Clusters of shared gates, each solved optimally with a "miss" column per track.
        detAssigned.removeAll(keepingCapacity: true)
        detAssigned.append(contentsOf: repeatElement(-1, count: batch.count))
        if !pairs.isEmpty { associate(batchCount: batch.count) }

        // 3. Updates.
        for (di, det) in batch.enumerated() {
            let ti = Int(detAssigned[di])
            if ti >= 0 {
                applyUpdate(trackIndex: ti, sensor: sensor, detection: det)
            }
        }
        // 4. New tentative tracks from detections nobody took.
        if sensor.canInitiate {
            for (di, det) in batch.enumerated() where detAssigned[di] < 0 {
                startTrack(sensor: sensor, detection: det)
            }
        }
    }

    /// Whether a track's extrapolated position can be within a gate of a measurement centred at
    /// `center`: a conservative 5-sigma sphere from the traces of the covariances.
    @inline(__always)
    private func preGate(_ ti: Int, center: Vector3, t: Double, spread2: Double, bearing: Bool) -> Bool {
        let trk = tracks[ti]
        let dt = t - trk.time
        let P = trk.P
        let dta = abs(dt)
        let trPos = P[0, 0] + P[1, 1] + P[2, 2]
        let trPV = P[0, 3] + P[1, 4] + P[2, 5]
        let trVel = P[3, 3] + P[4, 4] + P[5, 5]
        let q = configuration.processNoise
        var predicted2 = trPos + 2 * dt * trPV + dt * dt * trVel + q * dta * dta * dta
        if !trk.hasVelocity {
            let sv = configuration.maxSpeed * dta
            predicted2 = trPos + sv * sv
        }
        let p = trk.hasVelocity ? trk.x.position + trk.x.velocity * dt : trk.x.position
        let d = p - center
        let d2 = dot(d, d)
        if bearing {
            let r = spread2.squareRoot() + 5 * max(predicted2, 0).squareRoot()
            return d2 <= r * r
        }
        return d2 <= 25 * (max(predicted2, 0) + spread2)
    }

    /// Gate cost d² of a detection against a track, or nil if outside the gate.
    private func gateCost(track trk: Track, sensor: TrackerSensor, z: Vector3, t: Double, q: Double,
                          gate: Double) -> Double? {
        if !trk.hasVelocity {
            // One-point track: a position gate widened by the unknown velocity.
            guard sensor.kind == .rangeAzimuthElevation else { return nil }
            let dt = abs(t - trk.time)
            guard dt > 0 else { return nil }
            let (p2, c2) = MeasurementModel.radarToECEF(sensor: sensor, z: z)
            let d = p2 - trk.x.position
            let sv = configuration.maxSpeed * dt / 3
            let C = c2 + trk.P.positionBlock + Matrix3.diagonal(Vector3(repeating: sv * sv))
            guard let Ci = C.inverse else { return nil }
            let d2 = dot(d, Ci * d)
            return d2 <= gates.2 ? d2 : nil
        }
        let (x, P, Hv, lag) = stateForUpdate(trk, t: t, q: q)
        let (h, Hp) = MeasurementModel.predict(sensor: sensor, position: x.position)
        _ = lag
        let y = MeasurementModel.innovation(kind: sensor.kind, z: z, h: h)
        var R = MeasurementModel.noise(sensor)
        if lag > 0 { R = R + Hp * laggedPositionNoise(lag, q) * Hp.transposed }
        let HvFull = Matrix3(columns: (Hp.c0 * Hv, Hp.c1 * Hv, Hp.c2 * Hv))
        guard let g = ExtendedKalman.gate(P: P, Hp: Hp, Hv: HvFull, R: R, y: y), g.distanceSquared <= gate else {
            return nil
        }
        return g.distanceSquared
    }

    /// The state an update at time t applies to: predicted forward when t is after the track's
    /// time; for an out-of-sequence measurement (t earlier) the current state, with Hv = −lag
    /// folding the retrodiction into the measurement matrix.
    @inline(__always)
    private func stateForUpdate(_ trk: Track, t: Double, q: Double) -> (Vector6, Matrix6, Double, Double) {
        if t >= trk.time {
            let (x, P) = trk.predicted(to: t, processNoise: q)
            return (x, P, 0, 0)
        }
        let lag = trk.time - t
        var x = trk.x
        x.position = x.position - lag * x.velocity
        // Linearise at the retrodicted position, update the current state.
        var xc = trk.x
        xc.position = x.position  // used only for h(x) and Hp
        return (xc, trk.P, -lag, lag)
    }

    /// Position process noise accumulated over a retrodiction lag (isotropic).
    @inline(__always)
    private func laggedPositionNoise(_ lag: Double, _ q: Double) -> Matrix3 {
        let v = q * lag * lag * lag / 3
        return .diagonal(Vector3(repeating: v))
    }

    private func associate(batchCount: Int) {
        // Union-find over detections [0, n) and tracks [n, n + T).
        let n = batchCount
        parent.removeAll(keepingCapacity: true)
        parent.append(contentsOf: (0..<Int32(n + tracks.count)))
        func find(_ i: Int32) -> Int32 {
            var i = i
            while parent[Int(i)] != i {
                parent[Int(i)] = parent[Int(parent[Int(i)])]
                i = parent[Int(i)]
            }
            return i
        }
        for p in pairs {
            let a = find(p.det), b = find(Int32(n) + p.trk)
            if a != b { parent[Int(a)] = b }
        }
        // Group pairs by cluster root.
        for k in pairs.indices { pairs[k].root = find(pairs[k].det) }
        pairs.sort { (a, b) in
            a.root != b.root ? a.root < b.root : (a.trk != b.trk ? a.trk < b.trk : a.det < b.det)
        }
        var start = 0
        while start < pairs.count {
            let root = pairs[start].root
            var end = start + 1
            while end < pairs.count && pairs[end].root == root { end += 1 }
            solveCluster(start..<end)
            start = end
        }
    }

    private func solveCluster(_ range: Range<Int>) {
        if range.count == 1 {
            let p = pairs[range.lowerBound]
            detAssigned[Int(p.det)] = p.trk
            return
        }
        var trks: [Int32] = [], dets: [Int32] = []
        for p in pairs[range] {
            if !trks.contains(p.trk) { trks.append(p.trk) }
            if !dets.contains(p.det) { dets.append(p.det) }
        }
        let rows = trks.count, cols = dets.count + rows
        costBuffer.removeAll(keepingCapacity: true)
        costBuffer.append(contentsOf: repeatElement(Double.infinity, count: rows * cols))
        let missCost = gates.2 + 1
        for r in 0..<rows { costBuffer[r * cols + dets.count + r] = missCost }
        for p in pairs[range] {
            let r = trks.firstIndex(of: p.trk)!, c = dets.firstIndex(of: p.det)!
            costBuffer[r * cols + c] = p.cost
        }
        let ok = costBuffer.withUnsafeBufferPointer { solver.solve(cost: $0, rows: rows, cols: cols) }
        guard ok else { return }
        for r in 0..<rows {
            let c = solver.rowToColumn[r]
            if c >= 0 && c < dets.count { detAssigned[Int(dets[c])] = trks[r] }
        }
    }

    private func applyUpdate(trackIndex ti: Int, sensor: TrackerSensor, detection det: Detection) {
        let q = configuration.processNoise
        var trk = tracks[ti]
        let t = det.time
        if !trk.hasVelocity {
            // Two-point initiation: velocity from the difference of two plots.
            let (p2, c2) = MeasurementModel.radarToECEF(sensor: sensor, z: det.z)
            let dt = t - trk.time
            let c1 = trk.P.positionBlock
            let v = (p2 - trk.x.position) / dt
            let cv = (c1 + c2)
            var P = Matrix6()
            for i in 0..<3 {
                for j in 0..<3 {
                    P[i, j] = c2[i, j]
                    P[i, j + 3] = c2[i, j] / dt
                    P[i + 3, j] = c2[i, j] / dt
                    P[i + 3, j + 3] = cv[i, j] / (dt * dt)
                }
            }
            if dt < 0 {
                // The newer plot is the stored one: keep it, velocity still from the difference.
                return
            }
            trk.x = Vector6(position: p2, velocity: v)
            trk.P = P
            trk.time = t
            trk.hasVelocity = true
        } else if t >= trk.time {
            var (x, P) = trk.predicted(to: t, processNoise: q)
            let (h, Hp) = MeasurementModel.predict(sensor: sensor, position: x.position)
            let y = MeasurementModel.innovation(kind: sensor.kind, z: det.z, h: h)
            guard ExtendedKalman.update(&x, &P, Hp: Hp, Hv: .zero, R: MeasurementModel.noise(sensor), y: y) != nil
            else { return }
            trk.x = x; trk.P = P; trk.time = t
        } else {
            // Out of sequence: update the current estimate with a measurement of its past.
            let lag = trk.time - t
            let back = trk.x.position - lag * trk.x.velocity
            let (h, Hp) = MeasurementModel.predict(sensor: sensor, position: back)
            let y = MeasurementModel.innovation(kind: sensor.kind, z: det.z, h: h)
            let R = MeasurementModel.noise(sensor) + Hp * laggedPositionNoise(lag, q) * Hp.transposed
            let Hv = Matrix3(columns: (Hp.c0 * -lag, Hp.c1 * -lag, Hp.c2 * -lag))
            var x = trk.x, P = trk.P
            guard ExtendedKalman.update(&x, &P, Hp: Hp, Hv: Hv, R: R, y: y) != nil else { return }
            trk.x = x; trk.P = P
        }
        trk.hits += 1
        trk.lastUpdate = max(trk.lastUpdate, t)
        trk.lastDetection = det.id
        if sensor.kind == .rangeAzimuthElevation { trk.radarUpdates += 1 } else { trk.bearingUpdates += 1 }
        if trk.status == .tentative && trk.hits >= configuration.confirmM && trk.hasVelocity {
            trk.status = .confirmed
            trk.confirmedAt = t
            events.append(TrackEvent(time: trk.createdAt, track: trk.id, kind: .started, reason: sensor.name))
            events.append(TrackEvent(time: t, track: trk.id, kind: .confirmed, reason: sensor.name))
        }
        tracks[ti] = trk
        associations.append(Association(track: trk.id, detection: det.id, time: t))
    }

    private func startTrack(sensor: TrackerSensor, detection det: Detection) {
        let t = det.time
        var x: Vector6, P = Matrix6(), hasVelocity: Bool
        switch sensor.kind {
        case .rangeAzimuthElevation:
            let (p, c) = MeasurementModel.radarToECEF(sensor: sensor, z: det.z)
            x = Vector6(position: p, velocity: .zero)
            for i in 0..<3 { for j in 0..<3 { P[i, j] = c[i, j] } }
            let sv = configuration.maxSpeed / 3
            for i in 3..<6 { P[i, i] = sv * sv }
            hasVelocity = false
        case .bearing:
            let az = det.z.x
            let r = sensor.initiationRange
            let enu = Vector3(r * sin(az), r * cos(az), sensor.initiationAltitude)
            let p = sensor.frame.ecef(enu: enu)
            x = Vector6(position: p, velocity: .zero)
            // Along the bearing: ±r/2; across: r·σ; vertical: ±altitude.
            let along = Vector3(sin(az), cos(az), 0), across = Vector3(cos(az), -sin(az), 0)
            let sa = r / 2, sc = max(r * sensor.sigma.x, 200), su = max(sensor.initiationAltitude, 300)
            let f = sensor.frame
            let a = f.ecefVector(along), c = f.ecefVector(across), u = f.up
            for i in 0..<3 {
                for j in 0..<3 {
                    P[i, j] = sa * sa * a[i] * a[j] + sc * sc * c[i] * c[j] + su * su * u[i] * u[j]
                }
            }
            let sv = configuration.bearingInitVelocitySigma
            for i in 3..<6 { P[i, i] = sv * sv }
            hasVelocity = true
        }
        let window = Double(configuration.confirmN) * sensor.period + 1e-6
        let trk = Track(id: nextID, status: .tentative, time: t, x: x, P: P, hasVelocity: hasVelocity, hits: 1,
                        createdAt: t, confirmedAt: nil, lastUpdate: t, confirmDeadline: t + window,
                        lastDetection: det.id, radarUpdates: sensor.kind == .rangeAzimuthElevation ? 1 : 0,
                        bearingUpdates: sensor.kind == .bearing ? 1 : 0)
        nextID += 1
        tracks.append(trk)
        associations.append(Association(track: trk.id, detection: det.id, time: t))
        if !indexDirty { unindexed.append(Int32(tracks.count - 1)) }
    }

    /// Drops stale tracks and duplicates; call once per decision cycle with the current time.
    public func maintain(now: Double) {
        var i = 0
        while i < tracks.count {
            let status = tracks[i].status
            var drop: String? = nil
            switch status {
            case .tentative:
                if now > tracks[i].confirmDeadline { drop = "not confirmed" }
            case .confirmed:
                if now - tracks[i].lastUpdate > configuration.maxCoast { drop = "no update for \(Int(configuration.maxCoast)) s" }
            }
            if let reason = drop {
                if status == .confirmed {
                    events.append(TrackEvent(time: now, track: tracks[i].id, kind: .dropped, reason: reason))
                } else {
                    tentativeDropped += 1
                }
                tracks.swapAt(i, tracks.count - 1)
                tracks.removeLast()
            } else {
                i += 1
            }
        }
        // Positions have moved since the last build: rebuild once per cycle.
        indexDirty = true
        removeDuplicates(now: now)
    }

    /// Removes a track on the caller's word (e.g. a confirmed kill).
    public func drop(track id: Int, time: Double, reason: String) {
        guard let i = tracks.firstIndex(where: { $0.id == id }) else { return }
        if tracks[i].status == .confirmed {
            events.append(TrackEvent(time: time, track: id, kind: .dropped, reason: reason))
        }
        tracks.remove(at: i)
        indexDirty = true
    }

    /// Two tracks on one object (e.g. one started from a bearing, one from a radar plot): keep the
    /// confirmed, then the older one.
    private func removeDuplicates(now: Double) {
        guard tracks.count > 1 else { return }
        if indexDirty { rebuildIndex() }
        var doomed = [Bool](repeating: false, count: tracks.count)
        var anyDoomed = false
        var buf: [Int32] = []
        for i in tracks.indices where tracks[i].hasVelocity && !doomed[i] {
            buf.removeAll(keepingCapacity: true)
            let pa = tracks[i].x.position
            candidates(near: pa, radius: 1, into: &buf)
            for j32 in buf {
                let j = Int(j32)
                guard j > i, !doomed[j], tracks[j].hasVelocity else { continue }
                // Cheap distance test before any copying: 20 km plus 2 minutes of closing.
                let pb = tracks[j].x.position
                guard norm(pa - pb) < 20_000 else { continue }
                let a = tracks[i], b = tracks[j]
                let q = configuration.processNoise
                let t = max(a.time, b.time)
                let (xa, Pa) = a.predicted(to: t, processNoise: q)
                let (xb, Pb) = b.predicted(to: t, processNoise: q)
                let d = xa.position - xb.position
                guard let Ci = (Pa.positionBlock + Pb.positionBlock).inverse else { continue }
                let dv = xa.velocity - xb.velocity
                guard dot(d, Ci * d) < gates.2 / 2, norm(dv) < 0.3 * max(norm(xa.velocity), 50) else { continue }
                let keepA: Bool
                if a.status != b.status { keepA = a.status == .confirmed } else { keepA = a.createdAt <= b.createdAt }
                let loser = keepA ? j : i
                doomed[loser] = true
                anyDoomed = true
                if tracks[loser].status == .confirmed {
                    events.append(TrackEvent(time: now, track: tracks[loser].id, kind: .dropped, reason: "duplicate of track \(keepA ? a.id : b.id)"))
                } else {
                    tentativeDropped += 1
                }
                if loser == i { break }
            }
        }
        if anyDoomed {
            tracks = tracks.enumerated().filter { !doomed[$0.offset] }.map(\.element)
            indexDirty = true
        }
    }
}
