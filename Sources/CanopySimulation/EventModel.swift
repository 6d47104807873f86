import CanopyAlerting
import CanopyBattle
import CanopyCore
import CanopyScenario
import CanopyTEWA
import Foundation

/// Which model of the battle a run uses.
///
/// - `looks`: every radar look, acoustic tick and citizen report is drawn, clutter included, and
///   the battle manager's tracker associates the plots; decisions every doctrine cycle.
/// - `events`: for studies. Each threat's detections are drawn along its path at the sensors'
///   looks (no clutter, no plots), its tracks formed from them by the tracker's confirmation and
///   coasting rules, and the battle manager decides on those tracks (the same assessment,
///   assignment and alerting) only when something can change: a track formed or lost, a threat
///   near a fire unit's reach, an engagement's outcome, an alert update. docs/study.md#the-event-model
///   gives what it leaves out and how its answers compare with `looks`.
public enum BattleModel: String, Sendable, CaseIterable {
    case looks, events
}

/// The event model's sensing and tracks (`BattleModel.events`), owned by one run.
final class EventModel {
    unowned let sim: Simulation
    let confirmM: Int, confirmN: Int, maxCoast: Double
    let cycle: Double
    /// The tracker's process noise (m²/s³), for the steady state of a track's errors.
    let processNoise: Double
    /// A track's estimate is drawn afresh at least this often (s); in between, unless its threat
    /// turns, it is its threat's truth with the errors of its last draw, and the battle manager
    /// keeps its assessment and predicted path.
    let refreshPeriod = 20.0
    /// Threats whose speed bound (m/s) is at least this are decided on every cycle near a fire
    /// unit; slower ones every alert period.
    let fastThreat = 200.0
    /// How often (s) a slow threat near a fire unit is decided on: four cycles.
    var slowLook: Double { 4 * cycle }

    /// One detection of a threat (or a citizen's report of it), as the tracker would get it.
    struct Sighting {
        var time: Double
        /// Whether it can start a track and count toward its confirmation (a radar plot, or
        /// bearings of two acoustic nodes); a citizen's report, or one node's bearing, only keeps
        /// a track alive.
        var initiates: Bool
        /// The look period of its sensor (the confirmation window is `confirmN` of these).
        var period: Double
        /// Its position error (m, 1σ): across the line of sight or on the ground (horizontal), and
        /// in height (vertical).
        var sigmaH: Double, sigmaV: Double
        /// A radar's: its error along the line of sight (range) and of the radial speed (m/s,
        /// infinite without Doppler), and the line of sight (a unit vector from the radar; zero
        /// for other sensors, whose horizontal error is the same every way).
        var sigmaAlong: Double = 0, sigmaRadialSpeed: Double = .infinity
        var lineOfSight: Vector3 = .zero
    }

    /// A track of one threat: from its first sighting to its drop.
    struct Segment {
        var threat: Int
        var id: Int
        var start: Double
        var confirm: Double
        /// Its sightings' times (in `sightingTimes`).
        var first: Int, count: Int
        var drop: Double
        /// Dropped because its threat was killed (else: no sighting for `maxCoast`).
        var killed = false
        /// The track's errors: position and velocity, east, north and up, in units of their
        /// standard deviations (each a Gauss–Markov process), when they were last drawn, and their stream.
        var positionError = Vector3.zero, velocityError = Vector3.zero
        var errorTime = -Double.infinity
        var errors: RandomStream
        /// The errors in metres and m/s (ECEF) as last drawn: the track is its threat's truth
        /// plus these until its next refresh. When that was, with its sightings then and the
        /// path's step it was on.
        var offset = Vector3.zero, velocityOffset = Vector3.zero
        var refreshHits = 0, refreshStep = -1
        /// When the battle manager was last given it fresh (to assess it and predict its path).
        var pictureTime = -Double.infinity
        /// The velocity's standard deviation (m/s) at the last refresh.
        var velocitySigma = Double.infinity
        var cue: UInt64
        var startEmitted = false, confirmEmitted = false, dropEmitted = false
        /// Before this time the threat cannot be near any fire unit's reach (a bound from its speed).
        var notNearBefore = -Double.infinity
    }

    @exclusivity(unchecked) var segments: [Segment] = []
    @exclusivity(unchecked) var sightingTimes: [Double] = []
    /// Each sighting's horizontal and vertical error (m, 1σ), beside its time.
    @exclusivity(unchecked) var sightingSigma: [SIMD4<Double>] = []
    /// Each radar sighting's line of sight (zero for other sensors'), beside its time.
    @exclusivity(unchecked) var sightingLine: [Vector3] = []
    /// Each threat's segments (indices into `segments`), in time order.
    @exclusivity(unchecked) var segmentsOf: [[Int]]
    /// Each threat's sampled path: positions (ECEF) every `sampleStep[k]` seconds from launch.
    @exclusivity(unchecked) var samples: [[Vector3]]
    @exclusivity(unchecked) var sampleStep: [Double]
    /// Each threat's speed bound (m/s) and its first sighting's time.
    var speedBound: [Double]
    var firstSighting: [Double]
    /// Whether each threat flies a ballistic or aeroballistic arc.
    var ballistic: [Bool]
    /// Each threat's turns: the times (from its launch) of its path's steps at which its heading
    /// or speed changes by over a degree or 2 % from the step before.
    var turns: [[Double]]
    var nextTrackID = 1
    /// Whether threat k's tracks were ended at its end (`truncate`).
    var ended: [Bool]

    // Fire units' reach for the wake-up bound: position and the distance within which a threat
    // might be engaged soon (range, altitude, and what the threat flies in a flyout and reaction).
    var unitECEF: [Vector3] = []
    var unitReach: [Double] = []
    var unitLead: [Double] = []
    /// Whether unit u may shoot at class c (`ThreatClass.allCases` order): a kill probability of
    /// at least the doctrine's least, at a cost within its rule for the class. By u · classes + c.
    var unitShootsClass: [Bool] = []

    init(sim: Simulation) {
        self.sim = sim
        let s = sim.scenario
        confirmM = s.tracker.confirmM
        confirmN = s.tracker.confirmN
        maxCoast = s.tracker.maxCoast
        cycle = s.doctrine.cycle
        processNoise = s.tracker.processNoise
        let n = sim.threats.count
        segmentsOf = Array(repeating: [], count: n)
        samples = Array(repeating: [], count: n)
        sampleStep = Array(repeating: 1, count: n)
        speedBound = Array(repeating: 0, count: n)
        firstSighting = Array(repeating: .infinity, count: n)
        ended = Array(repeating: false, count: n)
        ballistic = sim.threats.map { $0.type.flightModel == .ballistic || $0.type.flightModel == .aeroballistic }
        turns = Array(repeating: [], count: n)
        for fu in s.fireUnits {
            let e = WGS84.ecef(fu.position)
            unitECEF.append(e)
            guard let t = s.catalogue.effectors[fu.type] else {
                unitReach.append(-.infinity); unitLead.append(0); continue
            }
            unitReach.append((t.maxRange * t.maxRange + t.maxAltitude * t.maxAltitude).squareRoot() + 5_000)
            unitLead.append(InterceptGeometry.maxFlyout(t) + t.reactionTime + 2 * s.doctrine.cycle)
        }
        for fu in s.fireUnits {
            let t = s.catalogue.effectors[fu.type]
            for c in ThreatClass.allCases {
                let pk = t?.killProbability[c] ?? 0
                unitShootsClass.append(pk > 0 && pk >= s.doctrine.minKillProbability
                                       && (t?.costPerShot ?? .infinity) <= (s.doctrine.maxShotCost[c] ?? .infinity))
            }
        }
        // (Some hundreds of sightings a threat: reserved at once, not grown step by step.)
        let reserve = min(400 * n, 1 << 20)
        sightingTimes.reserveCapacity(reserve)
        sightingSigma.reserveCapacity(reserve)
        sightingLine.reserveCapacity(reserve)
        var scratch: [Sighting] = []
        for k in 0..<n { build(threat: k, scratch: &scratch) }
    }

    // MARK: Sightings and tracks

    /// Samples threat k's path, draws its sightings and forms its tracks.
    func build(threat k: Int, scratch: inout [Sighting]) {
        let th = sim.threats[k]
        let duration = th.path.duration
        let ballistic = th.type.flightModel == .ballistic || th.type.flightModel == .aeroballistic
        // Straight legs between samples are chords of the path: at 30 s and 250 m/s a chord is
        // within a metre or two of the great circle; a ballistic arc is sampled 120 times.
        // Evenly spaced, the last at the impact (at most 30 s apart; a ballistic arc in 120).
        let intervals = ballistic ? 120.0 : max(1, min((duration / 30).rounded(.up), max((duration / 1).rounded(.down), 1)))
        let step = duration > 0 ? duration / intervals : 1
        let count = duration > 0 ? Int(intervals) + 1 : 1
        var pts: [Vector3] = []
        pts.reserveCapacity(count)
        var heights: [Double] = []
        heights.reserveCapacity(count)
        var fastest = 0.0
        for i in 0..<count {
            let tau = i == count - 1 ? duration : min(Double(i) * step, duration)
            let p = th.path.position(at: tau)
            if let last = pts.last { fastest = max(fastest, norm(p - last) / step) }
            pts.append(p)
            heights.append(Self.height(p))
        }
        samples[k] = pts
        sampleStep[k] = step
        if !ballistic && count > 2 {
            for i in 1..<(count - 1) where Self.turned(pts[i] - pts[i - 1], pts[i + 1] - pts[i]) { turns[k].append(Double(i) * step) }
        }
        speedBound[k] = max(fastest * 1.2 + 50, ballistic ? 4_000 : th.type.speed * 1.1 + 50)
        let t0 = th.launchTime, t1 = th.launchTime + duration
        scratch.removeAll(keepingCapacity: true)

        // Position and height at t: along the chord of the step that holds it.
        let last = max(count - 2, 0)
        @inline(__always) func at(_ t: Double, _ pts: UnsafeBufferPointer<Vector3>, _ heights: UnsafeBufferPointer<Double>) -> (Vector3, Double) {
            guard count > 1 else { return (pts[0], heights[0]) }
            let u = (t - t0) / step
            let i = min(max(Int(u), 0), last)
            let f = min(max(u - Double(i), 0), 1)
            return (pts[i] + (pts[i + 1] - pts[i]) * f, heights[i] + (heights[i + 1] - heights[i]) * f)
        }
        pts.withUnsafeBufferPointer { pts in heights.withUnsafeBufferPointer { heights in

        // Radars: a look at every scan inside the path's span, Pd by range (Swerling I), within
        // the instrumented range, above the beam's lowest elevation and the 4/3-earth horizon.
        for r in sim.radars.indices {
            let p = sim.radars[r].params
            let site = sim.radars[r].frame.originECEF
            let antenna = sim.radars[r].sensor.position.height
            // Out of reach for the whole flight: one distance test per sample.
            let reach = p.maxRange + speedBound[k] * step
            var near = false
            for q in pts where dot(q - site, q - site) <= reach * reach { near = true; break }
            guard near else { continue }
            var rng = sim.radarRNG.child(Simulation.key(21, UInt64(k), UInt64(r)))
            let sinMin = sin(p.minElevation)
            let upAxis = sim.radars[r].frame.up
            let phase = sim.radars[r].nextScan  // the first look's offset (no look made yet)
            // The radar equation of `Simulation.detectionProbability` with its constants taken out:
            // Pd = exp(ln Pfa / (1 + c / R⁴)); the 4/3-earth horizon's antenna term.
            let lnPfa = Foundation.log(p.falseAlarmProbability)
            let r2 = p.referenceRange * p.referenceRange
            let c = (lnPfa / Foundation.log(0.5) - 1) * (th.type.rcs / p.referenceRCS) * r2 * r2
            let kEarth = 2 * 4.0 / 3.0 * WGS84.meanRadius
            let antennaHorizon = (kEarth * max(antenna, 0)).squareRoot()
            let maxRange2 = p.maxRange * p.maxRange
            var t = phase + ((t0 - phase) / p.period).rounded(.up) * p.period
            while t < t1 {
                let (pos, h) = at(t, pts, heights)
                let d = pos - site
                let range2 = dot(d, d)
                if range2 <= maxRange2 {
                    let range = range2.squareRoot()
                    if dot(d, upAxis) >= range * sinMin && range <= antennaHorizon + (kEarth * max(h, 0)).squareRoot() {
                        let clamped = max(range2, 1)
                        let pd = Foundation.exp(lnPfa / (1 + c / (clamped * clamped)))
                        if rng.bernoulli(pd) {
                            scratch.append(Sighting(time: t, initiates: true, period: p.period,
                                                    sigmaH: max(p.sigmaRange, range * p.sigmaAzimuth),
                                                    sigmaV: max(p.sigmaRange, range * p.sigmaElevation),
                                                    sigmaAlong: p.sigmaRange,
                                                    sigmaRadialSpeed: p.sigmaRangeRate > 0 ? p.sigmaRangeRate : .infinity,
                                                    lineOfSight: range > 0 ? d / range : .zero))
                        }
                    }
                } else {
                    // Skip ahead to the first look at which the threat could be back in range.
                    let gap = range2.squareRoot() - p.maxRange
                    let skip = (gap / speedBound[k] / p.period).rounded(.down)
                    if skip > 1 { t += (skip - 1) * p.period }
                }
                t += p.period
            }
        }
        // Acoustic networks: each node within the class's detection radius hears it with the
        // node's probability at every tick below the ceiling; two bearings can start a track.
        for a in sim.acoustic.indices {
            let net = sim.acoustic[a]
            let p = net.params
            guard let radius = p.detectionRadius[th.type.threatClass] else { continue }
            let centre = net.frame.originECEF
            let reach = net.radius + radius + speedBound[k] * step
            var near = false
            for q in pts where dot(q - centre, q - centre) <= reach * reach { near = true; break }
            guard near else { continue }
            var rng = sim.acousticRNG.child(Simulation.key(22, UInt64(k), UInt64(a)))
            let phase = sim.acoustic[a].nextTick
            var t = phase + ((t0 - phase) / p.period).rounded(.up) * p.period
            while t < t1 {
                defer { t += p.period }
                let (pos, h) = at(t, pts, heights)
                let d = pos - centre
                guard dot(d, d) <= (net.radius + radius) * (net.radius + radius), h <= p.altitudeCeiling else { continue }
                let enu = net.frame.enu(ecef: pos)
                let cells = Int64((radius / net.cell).rounded(.up))
                let ci = Int64((enu.x / net.cell).rounded(.down)), cj = Int64((enu.y / net.cell).rounded(.down))
                var heard = 0
                for di in -cells...cells {
                    for dj in -cells...cells {
                        guard let list = net.grid[((ci + di) << 32) ^ ((cj + dj) & 0xFFFF_FFFF)] else { continue }
                        for n in list where norm(pos - net.nodes[Int(n)].position) <= radius && rng.bernoulli(p.detectionProbability) {
                            heard += 1
                        }
                    }
                }
                guard heard > 0 else { continue }
                // Crossing bearings place it within a fraction of the hearing radius; they say
                // nothing of its height (the tracker's bearing-only start assumes one).
                scratch.append(Sighting(time: t + p.latency, initiates: heard >= 2, period: p.period, sigmaH: radius / 4,
                                        sigmaV: max(300, p.altitudeCeiling / 4)))
            }
        }
        // Citizens' reports: a Poisson number every tick over the network below the ceiling,
        // each arriving after its delay.
        for c in sim.citizens.indices {
            let cn = sim.citizens[c]
            let p = cn.params
            let perTick = p.reportsPerMinute * sim.citizenTick / 60
            guard perTick > 0 else { continue }
            var rng = sim.citizenRNG.child(Simulation.key(23, UInt64(k), UInt64(c)))
            var t = cn.nextTick + ((t0 - cn.nextTick) / sim.citizenTick).rounded(.up) * sim.citizenTick
            while t < t1 {
                defer { t += sim.citizenTick }
                let (pos, h) = at(t, pts, heights)
                guard h <= p.altitudeCeiling, norm(pos - cn.centre) <= cn.net.radius else { continue }
                for _ in 0..<rng.poisson(perTick) {
                    scratch.append(Sighting(time: t + rng.exponential(mean: p.meanDelay), initiates: false, period: sim.citizenTick,
                                            sigmaH: p.observerDistance, sigmaV: max(300, p.altitudeCeiling / 4)))
                }
            }
        }
        } }
        guard !scratch.isEmpty else { return }
        scratch.sort { $0.time < $1.time }
        firstSighting[k] = scratch[0].time
        formTracks(threat: k, scratch)
    }

    /// The tracker's rules on one threat's sightings: a track starts at a sighting that can start
    /// one, is confirmed by `confirmM` such sightings within `confirmN` looks of the starting
    /// sensor (else it is forgotten), and is dropped `maxCoast` after its last sighting.
    func formTracks(threat k: Int, _ sightings: [Sighting]) {
        var i = 0
        while i < sightings.count {
            let s0 = sightings[i]
            guard s0.initiates else { i += 1; continue }
            // (The tracker's own slack on the window's end: look times here are summed.)
            let deadline = s0.time + Double(confirmN) * s0.period + 1e-6
            var hits = 1
            var j = i + 1
            var confirmedAt: Double? = confirmM <= 1 ? s0.time : nil
            var confirming = i
            while confirmedAt == nil && j < sightings.count && sightings[j].time <= deadline {
                if sightings[j].initiates {
                    hits += 1
                    if hits >= confirmM { confirmedAt = sightings[j].time; confirming = j }
                }
                j += 1
            }
            guard let confirm = confirmedAt else { i += 1; continue }
            // Confirmed: its sightings up to the confirming one (a tentative track waits out its
            // window, whatever the gaps), then every one until a gap longer than maxCoast.
            let first = sightingTimes.count
            var last = s0.time
            var m = i
            while m < sightings.count && (m <= confirming || sightings[m].time - last <= maxCoast) {
                last = sightings[m].time
                sightingTimes.append(last)
                let g = sightings[m]
                sightingSigma.append(SIMD4(g.lineOfSight == .zero ? g.sigmaH : g.sigmaAlong, g.sigmaH, g.sigmaV, g.sigmaRadialSpeed))
                sightingLine.append(g.lineOfSight)
                m += 1
            }
            segmentsOf[k].append(segments.count)
            segments.append(Segment(threat: k, id: nextTrackID, start: s0.time, confirm: confirm, first: first,
                                    count: sightingTimes.count - first, drop: last + maxCoast,
                                    errors: sim.radarRNG.child(Simulation.key(24, UInt64(k), UInt64(segmentsOf[k].count))),
                                    cue: sim.newDetection(threat: k)))
            nextTrackID += 1
            i = m
        }
    }

    /// Ends threat k's tracks at its end: the one it had then is dropped at once if it was killed
    /// (`reason`), else coasts out from its last sighting before the end; later ones never were.
    func truncate(threat k: Int, at end: Double, killed: Bool) {
        ended[k] = true
        for si in segmentsOf[k] {
            if segments[si].start >= end {
                // Never seen: nothing of it is reported.
                segments[si].start = .infinity; segments[si].confirm = .infinity; segments[si].drop = .infinity
                segments[si].count = 0
                segments[si].startEmitted = true; segments[si].confirmEmitted = true; segments[si].dropEmitted = true
                continue
            }
            guard segments[si].drop > end else { continue }
            var n = 0
            while n < segments[si].count && sightingTimes[segments[si].first + n] <= end { n += 1 }
            segments[si].count = n
            if killed {
                segments[si].drop = end
                segments[si].killed = true
            } else {
                segments[si].drop = sightingTimes[segments[si].first + n - 1] + maxCoast
            }
            if segments[si].confirm > end { segments[si].confirm = .infinity }
        }
        if firstSighting[k] >= end { firstSighting[k] = .infinity }
    }

    /// Height (m) above the WGS 84 ellipsoid of an ECEF point, along the radius: within a metre
    /// of the geodetic height below some 100 km (the normal and the radius part by at most a
    /// fifth of a degree), at a square root and no trigonometry.
    @inline(__always) static func height(_ p: Vector3) -> Double {
        let a = WGS84.a, b = WGS84.b
        let r2 = dot(p, p)
        let r = r2.squareRoot()
        guard r > 0 else { return -a }
        let s2 = p.z * p.z / r2, c2 = 1 - s2
        return r - a * b / (b * b * c2 + a * a * s2).squareRoot()
    }

    /// Threat k's truth position and velocity at t from its samples (the chord of the step).
    @inline(__always) func state(threat k: Int, at t: Double) -> Vector6 {
        let pts = samples[k]
        let step = sampleStep[k]
        guard pts.count > 1 else { return Vector6(position: pts[0], velocity: .zero) }
        let u = (t - sim.threats[k].launchTime) / step
        let i = min(max(Int(u), 0), pts.count - 2)
        let f = min(max(u - Double(i), 0), 1)
        let v = (pts[i + 1] - pts[i]) / step
        return Vector6(position: pts[i] + (pts[i + 1] - pts[i]) * f, velocity: v)
    }

    /// Segment si's track state at t (`hits` of its sightings so far): the truth and its errors.
    ///
    /// The errors are those of a least-squares line through the track's last ≤ 10 sightings at
    /// their mean spacing T, each with the error of the best of the last five (a radar's across
    /// and in height from its angles at range, acoustic and citizens' on the ground): position σ·√((4n−2)/(n(n+1)))
    /// and velocity σ·√(12/(n(n²−1)))/T for n sightings (at least 2). They wander as Gauss–Markov
    /// processes over the window's span (n·T): a filter's error is not drawn afresh at every look.
    func estimate(_ si: Int, hits: Int, at t: Double) -> Vector6 {
        let k = segments[si].threat
        let truth = state(threat: k, at: t)
        let s = segments[si]
        let n = max(min(hits, 10), 2)
        guard hits >= 1 else { return truth }
        // The best of the last five sightings (the least error across).
        var best = s.first + hits - 1
        for j in max(0, hits - 5)..<hits where sightingSigma[s.first + j].y < sightingSigma[best].y { best = s.first + j }
        let sigma = sightingSigma[best]
        let span = hits >= 2 ? sightingTimes[s.first + hits - 1] - sightingTimes[s.first + max(0, hits - 10)] : 0
        let spacing = max(span / Double(max(min(hits, 10) - 1, 1)), 0.5)
        let nd = Double(n)
        let kp = ((4 * nd - 2) / (nd * (nd + 1))).squareRoot()
        let kv = (12 / (nd * (nd * nd - 1))).squareRoot() / spacing
        let tau = max(nd * spacing, 1)
        let rho = s.errorTime.isFinite ? exp(-(t - s.errorTime) / tau) : 0
        let fresh = (1 - rho * rho).squareRoot()
        var rng = s.errors
        let pe = s.positionError * rho + Vector3(rng.normal(), rng.normal(), rng.normal()) * fresh
        let ve = s.velocityError * rho + Vector3(rng.normal(), rng.normal(), rng.normal()) * fresh
        segments[si].positionError = pe
        segments[si].velocityError = ve
        segments[si].errorTime = t
        segments[si].errors = rng
        // Along the line of sight on the ground, across it, and up at the threat (the sphere's up:
        // within a fraction of a degree of the ellipsoid's); east and north without a line of sight.
        let p = truth.position
        let up = p / norm(p)
        var along = sightingLine[best] - up * dot(sightingLine[best], up)
        if norm(along) < 1e-6 { along = Vector3(-p.y, p.x, 0) }
        let al = norm(along)
        along = al > 0 ? along / al : Vector3(1, 0, 0)
        let across = cross(up, along)
        // Per axis, the larger of the fit's error and the look model's filter's in steady state.
        // That filter's gain is set for manoeuvres (its process noise): on a threat flying
        // straight its errors are smaller than it believes. The errors drawn are the true ones;
        // the velocity's standard deviation it believes decides whether its heading is settled.
        // Along the line of sight the radial speeds give the velocity if better.
        let a = Self.steadyState(sigma.x, spacing, processNoise)
        let c = Self.steadyState(sigma.y, spacing, processNoise)
        let u = Self.steadyState(sigma.z, spacing, processNoise)
        let sp = SIMD3(max(sigma.x * kp, a.position), max(sigma.y * kp, c.position), max(sigma.z * kp, u.position))
        let sv = SIMD3(min(max(sigma.x * kv, a.velocity), sigma.w), max(sigma.y * kv, c.velocity), max(sigma.z * kv, u.velocity))
        let believed = SIMD3(min(max(sigma.x * kv, a.believedVelocity), sigma.w), max(sigma.y * kv, c.believedVelocity),
                             max(sigma.z * kv, u.believedVelocity))
        let dp = along * (pe.x * sp.x) + across * (pe.y * sp.y) + up * (pe.z * sp.z)
        let dv = along * (ve.x * sv.x) + across * (ve.y * sv.y) + up * (ve.z * sv.z)
        segments[si].velocitySigma = (believed * believed).sum().squareRoot()
        segments[si].offset = dp
        segments[si].velocityOffset = dv
        return Vector6(position: truth.position + dp, velocity: truth.velocity + dv)
    }

    /// A constant-velocity Kalman filter in steady state, updated every T seconds with
    /// measurements of error σ and designed for white-noise acceleration of spectral density q:
    /// the α–β filter of Kalata's tracking index λ = √(q T³)/σ (P. R. Kalata, "The tracking
    /// index", IEEE Trans. AES 20(2), 1984). The velocity error (1σ) it believes (its covariance),
    /// and its true position and velocity errors on a target that does not manoeuvre (the
    /// measurement noise through its gains: Benedict and Bordner's noise reduction ratios).
    static func steadyState(_ sigma: Double, _ T: Double, _ q: Double) -> (position: Double, velocity: Double, believedVelocity: Double) {
        guard sigma > 0, T > 0, q > 0, sigma.isFinite else { return (0, 0, 0) }
        let lambda = (q * T * T * T).squareRoot() / sigma
        let r = (4 + lambda - (8 * lambda + lambda * lambda).squareRoot()) / 4
        let alpha = 1 - r * r
        let beta = 2 * (2 - alpha) - 4 * (1 - alpha).squareRoot()
        let believed = beta * (2 * alpha - beta) / (2 * (1 - alpha)) * sigma * sigma / (T * T)
        let d = alpha * (4 - 2 * alpha - beta)
        guard d > 0 else { return (sigma, sigma / T, sigma / T) }
        let position = (2 * alpha * alpha + 2 * beta - 3 * alpha * beta) / d * sigma * sigma
        let velocity = 2 * beta * beta / d * sigma * sigma / (T * T)
        return (max(position, 0).squareRoot(), max(velocity, 0).squareRoot(), max(believed, 0).squareRoot())
    }

    /// Segment si's track state at t with the errors of its last refresh.
    func kept(_ si: Int, at t: Double) -> Vector6 {
        let truth = state(threat: segments[si].threat, at: t)
        return Vector6(position: truth.position + segments[si].offset, velocity: truth.velocity + segments[si].velocityOffset)
    }

    /// Whether two successive chords of a path differ by over a degree in direction or 2 % in length.
    @inline(__always) static func turned(_ a: Vector3, _ b: Vector3) -> Bool {
        let na = norm(a), nb = norm(b)
        guard na > 0, nb > 0 else { return true }
        return dot(a, b) < na * nb * cos(Double.pi / 180) || abs(nb / na - 1) > 0.02
    }

    /// The first turn of threat k's path after t (absolute), if any.
    func nextTurn(threat k: Int, after t: Double) -> Double? {
        let tau = t - sim.threats[k].launchTime
        let list = turns[k]
        var lo = 0, hi = list.count
        while lo < hi { let mid = (lo + hi) / 2; if list[mid] <= tau { lo = mid + 1 } else { hi = mid } }
        return lo < list.count ? list[lo] + sim.threats[k].launchTime : nil
    }

    /// The step of threat k's sampled path that holds time t.
    @inline(__always) func step(threat k: Int, at t: Double) -> Int {
        let u = (t - sim.threats[k].launchTime) / sampleStep[k]
        return min(max(Int(u), 0), max(samples[k].count - 2, 0))
    }

    /// Whether segment si's track must be estimated afresh at t (`hits` sightings): never yet,
    /// `refreshPeriod` since its last, a new sighting among its first ten (its errors shrink),
    /// or its threat has turned or changed speed since (its path's steps differ by over a
    /// degree or 2 %).
    func needsRefresh(_ si: Int, hits: Int, at t: Double) -> Bool {
        let s = segments[si]
        // Every track is drawn afresh at each tick of the refresh period (together: one wake-up).
        guard s.pictureTime.isFinite, (t / refreshPeriod).rounded(.down) == (s.pictureTime / refreshPeriod).rounded(.down) else { return true }
        // Its errors shrink with each of its first ten sightings.
        if hits != s.refreshHits && s.refreshHits < 10 { return true }
        let now = step(threat: s.threat, at: t)
        // A ballistic arc bends all along, as its predictor (free flight) has it.
        guard now != s.refreshStep, !ballistic[s.threat] else { return false }
        let pts = samples[s.threat]
        return Self.turned(pts[s.refreshStep + 1] - pts[s.refreshStep], pts[now + 1] - pts[now])
    }

    /// Sightings of segment s up to t.
    func hits(_ si: Int, at t: Double) -> Int {
        let s = segments[si]
        var lo = 0, hi = s.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sightingTimes[s.first + mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension Simulation {
    /// The run under the event model (`BattleModel.events`).
    func runEvents() -> RunResult {
        let wallStart = ContinuousClock.now
        var timings = RunTimings()
        let cycle = scenario.doctrine.cycle
        let alertPeriod = max(cycle, 4)
        let model = EventModel(sim: self)
        battle.keepsPictures = true
        battle.pictureReuse = model.refreshPeriod + 2 * cycle
        timings.sensing = seconds(ContinuousClock.now - wallStart)
        let lastLaunch = threats.map(\.launchTime).max() ?? 0
        let coastReason = "no update for \(Int(model.maxCoast)) s"
        var now = 0.0
        var quietSince: Double? = nil
        var finished = false
        var nextProgress = ContinuousClock.now + .seconds(1)
        var reports: [TrackReport] = []
        var resolvedNow = false
        var nextTrackRow = 0.0
        // Tracks not yet started, by start time; tracks started and not yet dropped.
        let byStart = model.segments.indices.sorted { (model.segments[$0].start, $0) < (model.segments[$1].start, $1) }
        var nextStart = 0
        var active: [Int] = []
        var changes: [(time: Double, segment: Int, kind: Int)] = []
        // Launches and planned impacts, in time order; threats by their first sighting.
        let flightEvents = (threats.map(\.launchTime) + threats.map(\.impactTime)).sorted()
        var nextFlightEvent = 0
        let firstSightings = threats.indices.filter { model.firstSighting[$0].isFinite }
            .map { (time: model.firstSighting[$0], threat: $0) }.sorted { ($0.time, $0.threat) < ($1.time, $1.threat) }
        var nextSighted = 0
        /// The first grid time after `now` at or after t.
        func grid(_ t: Double) -> Double { max(now + cycle, (t / cycle).rounded(.up) * cycle) }
        while !finished {
            // When the battle manager next has something to decide: a track's start, confirmation
            // or drop, a threat that may come near a loaded fire unit, an engagement's outcome, an
            // alert update while tracks or alerts are up, a launch or an impact.
            var wake = scenario.duration
            // An engagement's outcome is heard at the first cycle within a cycle of it (as in `looks`).
            for f in flights { wake = min(wake, grid(f.resolveTime - cycle)) }
            while nextStart < byStart.count && model.segments[byStart[nextStart]].startEmitted { nextStart += 1 }
            if nextStart < byStart.count { wake = min(wake, grid(model.segments[byStart[nextStart]].start)) }
            var anyTrack = false
            for si in active {
                let s = model.segments[si]
                if s.confirm > now { wake = min(wake, grid(s.confirm)) } else {
                    anyTrack = true
                    if s.refreshHits < 10 && s.refreshHits < s.count { wake = min(wake, grid(model.sightingTimes[s.first + s.refreshHits])) }
                    if let turn = model.nextTurn(threat: s.threat, after: now) { wake = min(wake, grid(turn)) }
                    // A fast threat near a unit is looked at every cycle, a slow one every
                    // `slowLook` (a drone flies some 400 m in it; after an outcome the next
                    // cycle is a look in any case).
                    if s.notNearBefore > now + cycle || model.speedBound[s.threat] >= model.fastThreat {
                        wake = min(wake, grid(s.notNearBefore))
                    } else {
                        wake = min(wake, grid(now + model.slowLook))
                    }
                }
                wake = min(wake, grid(s.drop))
            }
            // While tracks are up: the refresh period's ticks, a threat's turn, a young track's
            // next sighting, and whatever could change the alerts (a region on a kept path
            // coming within the horizon or passed, a siren due, a clear delay running out).
            if anyTrack { wake = min(wake, grid(((now / model.refreshPeriod).rounded(.down) + 1) * model.refreshPeriod)) }
            wake = min(wake, grid(battle.nextAlertChange(after: now)))
            // After an outcome the battle manager looks again at the next cycle (shoot-look-shoot).
            if resolvedNow { wake = min(wake, now + cycle) }
            // Once all is resolved, the end: when the alerts are off, or their clear delay is out.
            if let since = quietSince { wake = min(wake, grid(since + 2 * cycle + cycle), grid(since + scenario.alerting.clearDelay + 60 + cycle)) }
            while nextFlightEvent < flightEvents.count && flightEvents[nextFlightEvent] <= now { nextFlightEvent += 1 }
            if nextFlightEvent < flightEvents.count { wake = min(wake, grid(flightEvents[nextFlightEvent])) }
            wake = min(max(wake, now + cycle), scenario.duration)
            let t0 = ContinuousClock.now
            advanceThreats(to: wake)
            now = wake
            // Tracks started, confirmed and dropped by now, in time order of their events.
            changes.removeAll(keepingCapacity: true)
            while nextStart < byStart.count && model.segments[byStart[nextStart]].start <= now {
                let si = byStart[nextStart]
                nextStart += 1
                guard !model.segments[si].startEmitted else { continue }
                active.append(si)
                changes.append((model.segments[si].start, si, 0))
                model.segments[si].startEmitted = true
            }
            for si in active {
                let s = model.segments[si]
                if !s.confirmEmitted && s.confirm <= now { changes.append((s.confirm, si, 1)) }
                if !s.dropEmitted && s.drop <= now { changes.append((s.drop, si, 2)) }
            }
            if !changes.isEmpty {
                changes.sort { $0.time != $1.time ? $0.time < $1.time : ($0.segment != $1.segment ? $0.segment < $1.segment : $0.kind < $1.kind) }
                for c in changes {
                    let s = model.segments[c.segment]
                    let truth: (String, JSONValue) = ("truth", .string(threats[s.threat].id))
                    switch c.kind {
                    case 0:
                        emit(c.time, "track_start", [("track", .int(s.id)), truth, ("reason", .string("sightings"))])
                    case 1:
                        model.segments[c.segment].confirmEmitted = true
                        threats[s.threat].tracked = true
                        emit(c.time, "track_confirm", [("track", .int(s.id)), truth])
                    default:
                        model.segments[c.segment].dropEmitted = true
                        emit(c.time, "track_drop", [("track", .int(s.id)), truth, ("reason", .string(s.killed ? "killed" : coastReason))])
                    }
                }
                active.removeAll { model.segments[$0].dropEmitted }
            }
            while nextSighted < firstSightings.count && firstSightings[nextSighted].time <= now {
                let k = firstSightings[nextSighted].threat
                // (A threat killed before its first sighting's time was not seen.)
                if model.firstSighting[k] <= now { threats[k].detected = true }
                nextSighted += 1
            }
            let t1 = ContinuousClock.now

            // The confirmed tracks, and when each may next be engaged.
            reports.removeAll(keepingCapacity: true)
            var engageable = false
            for si in active where model.segments[si].confirm <= now {
                let hits = model.hits(si, at: now)
                let s0 = model.segments[si]
                let fresh = model.needsRefresh(si, hits: hits, at: now)
                // Near a fire unit its errors wander from look to look (as a filter's do), for the
                // assigner's intercepts; its assessment and path are kept all the same.
                let near = s0.notNearBefore <= now + cycle
                let x = fresh || near ? model.estimate(si, hits: hits, at: now) : model.kept(si, at: now)
                if fresh {
                    model.segments[si].pictureTime = now
                    model.segments[si].refreshHits = hits
                    model.segments[si].refreshStep = model.step(threat: s0.threat, at: now)
                    // Its class may have changed: when it may come near a unit is worked out again.
                    model.segments[si].notNearBefore = min(model.segments[si].notNearBefore, now)
                }
                let s = model.segments[si]
                // Its heading is known well enough to alert by as the look model's filter tells it.
                let settled = s.velocitySigma < 0.5 * max(norm(x.velocity), 20)
                reports.append(TrackReport(id: s.id, state: x, hits: hits, directionSettled: settled, cue: s.cue, unchanged: !fresh))
                if s.notNearBefore <= now {
                    // The earliest time it could come within the reach of a loaded unit that may
                    // shoot at it (by the classes the defence gives it some chance of), by its
                    // speed bound.
                    let probabilities = battle.assessments[s.id]?.classProbabilities ?? []
                    let nc = ThreatClass.allCases.count
                    var soonest = Double.infinity
                    for u in model.unitECEF.indices where roundsLeft[u] > 0 {
                        if probabilities.count == nc {
                            var shoots = false
                            for c in 0..<nc where probabilities[c] >= 0.02 && model.unitShootsClass[u * nc + c] { shoots = true; break }
                            guard shoots else { continue }
                        }
                        let gap = norm(x.position - model.unitECEF[u]) - model.unitReach[u]
                        soonest = min(soonest, gap / model.speedBound[s.threat] - model.unitLead[u])
                    }
                    // (At most a refresh period ahead: its class, hence the units that may shoot
                    // at it, can change at its next refresh.)
                    model.segments[si].notNearBefore = now + min(max(soonest, 0), model.refreshPeriod)
                }
                if model.segments[si].notNearBefore <= now + cycle { engageable = true }
            }
            // The assigner is asked when a track may be engaged, or tracks came or went.
            let out = battle.decide(now: now, tracks: reports, assign: engageable || !changes.isEmpty)
            let t2 = ContinuousClock.now
            if options.trackRowInterval > 0 && now >= nextTrackRow {
                // tracks.csv: the confirmed tracks as the battle manager has them, at the first
                // wake-up of each interval.
                for r in reports {
                    let g = WGS84.geodetic(ecef: r.state.position)
                    let venu = LocalFrame(origin: g).enuVector(r.state.velocity)
                    var heading = atan2(venu.x, venu.y)
                    if heading < 0 { heading += 2 * .pi }
                    let a = battle.assessments[r.id]
                    // (Track ids are given in the order segments are made: id k is segment k − 1.)
                    let truth = threats[model.segments[r.id - 1].threat].id
                    trackRows.append(TrackRow(time: now, track: r.id, threatClass: a?.threatClass.rawValue ?? "", position: g,
                                              speed: (venu.x * venu.x + venu.y * venu.y).squareRoot(), heading: heading,
                                              aimAsset: a?.aimAsset.map { scenario.assets[$0].name } ?? "",
                                              timeToImpact: a?.timeToImpact ?? .infinity, truth: truth))
                }
                nextTrackRow = now + options.trackRowInterval
            }
            record(out, now: now)
            let before = flights.count
            resolveFlights(upTo: now + cycle)
            resolvedNow = flights.count != before
            if resolvedNow {
                // A kill or a jam ends the threat's tracks; the rest stay as drawn.
                for k in threats.indices where (threats[k].fate == .destroyed || threats[k].fate == .lost) && !model.ended[k] {
                    model.truncate(threat: k, at: threats[k].endTime, killed: threats[k].fate == .destroyed)
                }
            }
            timings.world += seconds(t1 - t0) + seconds(ContinuousClock.now - t2)
            if let p = options.progress, ContinuousClock.now >= nextProgress {
                p(now, scenario.duration)
                nextProgress = ContinuousClock.now + .seconds(1)
            }
            if isOver(now: now, lastLaunch: lastLaunch, quietSince: &quietSince) { finished = true }
        }
        for c in battle.finish(now: now) { applyAlert(c) }
        timings.total = seconds(ContinuousClock.now - wallStart)
        timings.battle = battle.stageTimes
        return makeResult(endTime: now, timings: timings)
    }
}
