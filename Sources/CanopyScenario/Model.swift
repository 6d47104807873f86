import CanopyCore
import CanopyTracking

// The scenario model: what a user writes (in YAML or JSON) and what the simulation and the
// BattleManager are told. Angles are radians, lengths metres, times seconds, speeds m/s inside;
// the file format uses degrees for latitude/longitude/angles (see docs/scenario.md).

/// A figure from the catalogue with where it came from and how much to trust it.
public enum Confidence: String, Sendable, Codable, CaseIterable {
    /// Published by a manufacturer or an official source.
    case high
    /// Reported consistently by several open sources.
    case medium
    /// Single source, estimate, or assumption made for Canopy.
    case low
}

/// How a threat type flies. Each has its own kinematics in the World and its own signature
/// for the classifier.
public enum FlightModel: String, Sendable, Codable, CaseIterable {
    /// Slow propeller loitering munition (Shahed-136 / Geran-2): waypoint legs at cruise altitude, terminal dive.
    case propellerDrone = "propeller-drone"
    /// A drone-like decoy (Gerbera): flies like a propeller drone, carries no or little warhead.
    case decoy
    /// Subsonic cruise missile (Kh-101, Kalibr): low, terrain-following waypoint legs.
    case subsonicCruise = "subsonic-cruise"
    /// Supersonic cruise missile with a high cruise and a steep terminal dive (Kh-22/Kh-32).
    case supersonicDivingCruise = "supersonic-diving-cruise"
    /// Air-launched aeroballistic missile (Kinzhal): a ballistic arc from a launch altitude.
    case aeroballistic
    /// Surface-launched ballistic missile (Iskander-M, S-300 used against ground targets).
    case ballistic
}

/// The broad threat classes the classifier and the effectors' kill probabilities are keyed on.
public enum ThreatClass: String, Sendable, Codable, CaseIterable, Comparable {
    case drone, decoy, cruise, supersonicCruise = "supersonic-cruise", aeroballistic, ballistic

    public static func < (a: ThreatClass, b: ThreatClass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

extension FlightModel {
    /// The threat class a flight model belongs to.
    public var threatClass: ThreatClass {
        switch self {
        case .propellerDrone: .drone
        case .decoy: .decoy
        case .subsonicCruise: .cruise
        case .supersonicDivingCruise: .supersonicCruise
        case .aeroballistic: .aeroballistic
        case .ballistic: .ballistic
        }
    }
}

/// A value from a data file with its source note and confidence label.
public struct Sourced: Sendable, Hashable {
    public var source: String
    public var confidence: Confidence
    public init(source: String, confidence: Confidence) {
        self.source = source
        self.confidence = confidence
    }
}

// MARK: - Catalogue of types

public struct ThreatType: Sendable, Hashable {
    public var name: String
    public var displayName: String
    public var flightModel: FlightModel
    /// Cruise speed (m/s); for ballistic types, the mean speed used for display only.
    public var speed: Double
    /// Cruise altitude above the ellipsoid (m). Ballistic types ignore it.
    public var cruiseAltitude: Double
    /// Climb angle after launch (rad).
    public var climbAngle: Double
    /// Terminal dive angle (rad) for waypoint flyers.
    public var diveAngle: Double
    /// Launch altitude (m): carrier aircraft altitude for air-launched types, 0 for ground launch.
    public var launchAltitude: Double
    /// Flight-path angle at burnout for ballistic and aeroballistic types (rad above the horizontal).
    public var loftAngle: Double
    /// Radar cross section (m²), mean of a Swerling I target.
    public var rcs: Double
    /// Warhead mass (kg); 0 for a decoy.
    public var warheadKg: Double
    /// Estimated unit cost (USD).
    public var unitCost: Double
    /// Maximum range (m); routes longer than this are rejected by validation.
    public var maxRange: Double
    public var provenance: [String: Sourced]

    public var threatClass: ThreatClass { flightModel.threatClass }

    public init(name: String, displayName: String, flightModel: FlightModel, speed: Double,
                cruiseAltitude: Double, climbAngle: Double, diveAngle: Double, launchAltitude: Double,
                loftAngle: Double, rcs: Double, warheadKg: Double, unitCost: Double, maxRange: Double,
                provenance: [String: Sourced] = [:]) {
        self.name = name; self.displayName = displayName; self.flightModel = flightModel
        self.speed = speed; self.cruiseAltitude = cruiseAltitude; self.climbAngle = climbAngle
        self.diveAngle = diveAngle; self.launchAltitude = launchAltitude; self.loftAngle = loftAngle
        self.rcs = rcs; self.warheadKg = warheadKg; self.unitCost = unitCost; self.maxRange = maxRange
        self.provenance = provenance
    }
}

/// What an effector does to a threat it engages.
public enum EffectorKind: String, Sendable, Codable, CaseIterable {
    /// A surface-to-air missile: one interceptor flies out and kills or misses.
    case missile
    /// A gun or a mobile fire group: a burst; short range, cheap.
    case gun
    /// Electronic warfare (GNSS jamming): a drone that is affected is "lost/jammed", neither killed nor leaked.
    case ew
}

public struct EffectorType: Sendable, Hashable {
    public var name: String
    public var displayName: String
    public var kind: EffectorKind
    /// Ground range envelope (m) of the intercept point from the fire unit.
    public var minRange: Double
    public var maxRange: Double
    /// Altitude envelope (m above the ellipsoid) of the intercept point.
    public var minAltitude: Double
    public var maxAltitude: Double
    /// Mean interceptor speed over its flyout (m/s); for guns the projectile speed, for EW unused.
    public var interceptorSpeed: Double
    /// Single-shot kill probability (or, for EW, probability of making the drone lost) per class.
    public var killProbability: [ThreatClass: Double]
    /// Seconds from order to launch.
    public var reactionTime: Double
    /// Seconds a launcher is busy after it fires before it can fire again.
    public var reloadTime: Double
    /// Engagements the fire unit can guide at once.
    public var fireChannels: Int
    /// Cost of one shot (USD): one interceptor, one burst, one jamming engagement.
    public var costPerShot: Double
    public var provenance: [String: Sourced]

    public init(name: String, displayName: String, kind: EffectorKind, minRange: Double, maxRange: Double,
                minAltitude: Double, maxAltitude: Double, interceptorSpeed: Double,
                killProbability: [ThreatClass: Double], reactionTime: Double, reloadTime: Double,
                fireChannels: Int, costPerShot: Double, provenance: [String: Sourced] = [:]) {
        self.name = name; self.displayName = displayName; self.kind = kind
        self.minRange = minRange; self.maxRange = maxRange; self.minAltitude = minAltitude
        self.maxAltitude = maxAltitude; self.interceptorSpeed = interceptorSpeed
        self.killProbability = killProbability; self.reactionTime = reactionTime
        self.reloadTime = reloadTime; self.fireChannels = fireChannels; self.costPerShot = costPerShot
        self.provenance = provenance
    }
}

public enum SensorKind: String, Sendable, Codable, CaseIterable {
    case radar
    case acoustic
    case citizen
}

public struct RadarParameters: Sendable, Hashable {
    /// Range (m) at which a target of `referenceRCS` is detected with probability 0.5 (SNR at threshold).
    public var referenceRange: Double
    /// Reference cross section (m²) for `referenceRange`.
    public var referenceRCS: Double
    /// Hard maximum instrumented range (m).
    public var maxRange: Double
    /// Scan period (s).
    public var period: Double
    /// Measurement noise, standard deviations: range (m), azimuth and elevation (rad).
    public var sigmaRange: Double
    public var sigmaAzimuth: Double
    public var sigmaElevation: Double
    /// Lowest elevation the beam sees (rad).
    public var minElevation: Double
    /// Mean number of clutter (false) detections per scan, Poisson.
    public var clutterPerScan: Double
    /// Probability of false alarm used for the Swerling I detection model (Pd = Pfa^(1/(1+SNR))).
    public var falseAlarmProbability: Double
    /// Standard deviation (m/s) of the radial speed a pulse-Doppler radar measures with each plot;
    /// 0 for a radar that measures none.
    public var sigmaRangeRate: Double
    /// Half-width (m/s) of the radial speeds the radar reports: its false plots' radial speeds are
    /// spread uniformly over ±span (a false alarm falls in any Doppler cell).
    public var rangeRateSpan: Double
    public init(referenceRange: Double, referenceRCS: Double, maxRange: Double, period: Double,
                sigmaRange: Double, sigmaAzimuth: Double, sigmaElevation: Double, minElevation: Double,
                clutterPerScan: Double, falseAlarmProbability: Double, sigmaRangeRate: Double = 0,
                rangeRateSpan: Double = 1_500) {
        self.referenceRange = referenceRange; self.referenceRCS = referenceRCS; self.maxRange = maxRange
        self.period = period; self.sigmaRange = sigmaRange; self.sigmaAzimuth = sigmaAzimuth
        self.sigmaElevation = sigmaElevation; self.minElevation = minElevation
        self.clutterPerScan = clutterPerScan; self.falseAlarmProbability = falseAlarmProbability
        self.sigmaRangeRate = sigmaRangeRate; self.rangeRateSpan = rangeRateSpan
    }

    /// Where a scan's false detections fall, uniformly: range from `clutterMinRange` to the
    /// maximum, any azimuth, elevation within `clutterElevationBand` above the lowest.
    public static let clutterMinRange = 2_000.0
    public static let clutterElevationBand = radians(8)
    /// False detections per unit of measurement space (per m·rad²): what a tracker weighs a
    /// detection's likelihood against (a radar's false-alarm rate is known to its operators).
    /// At least that of 0.01 per scan, so that a likelihood ratio stays finite.
    public var clutterDensity: Double {
        max(clutterPerScan, 0.01) / (max(maxRange - Self.clutterMinRange, 1) * 2 * .pi * Self.clutterElevationBand)
    }
}

public struct AcousticParameters: Sendable, Hashable {
    /// Detection radius (m) per threat class; a class absent is not heard.
    public var detectionRadius: [ThreatClass: Double]
    /// Threats above this altitude (m) are not heard.
    public var altitudeCeiling: Double
    /// Bearing noise standard deviation (rad).
    public var sigmaBearing: Double
    /// Delay (s) from the sound reaching the node to the report reaching the tracker.
    public var latency: Double
    /// Seconds between reports of one node on one threat.
    public var period: Double
    /// Probability that a node in range reports at a given period.
    public var detectionProbability: Double
    public init(detectionRadius: [ThreatClass: Double], altitudeCeiling: Double, sigmaBearing: Double,
                latency: Double, period: Double, detectionProbability: Double) {
        self.detectionRadius = detectionRadius; self.altitudeCeiling = altitudeCeiling
        self.sigmaBearing = sigmaBearing; self.latency = latency; self.period = period
        self.detectionProbability = detectionProbability
    }
}

public struct CitizenParameters: Sendable, Hashable {
    /// Mean reports per minute about one threat while it flies below `altitudeCeiling` (before population weighting).
    public var reportsPerMinute: Double
    /// Observers stand up to this distance (m) from the threat's ground track.
    public var observerDistance: Double
    /// Threats above this altitude (m) are not reported.
    public var altitudeCeiling: Double
    /// Bearing noise standard deviation (rad).
    public var sigmaBearing: Double
    /// Mean delay (s) of a report, exponential.
    public var meanDelay: Double
    /// False reports per hour over the whole covered area, Poisson.
    public var falseReportsPerHour: Double
    public init(reportsPerMinute: Double, observerDistance: Double, altitudeCeiling: Double,
                sigmaBearing: Double, meanDelay: Double, falseReportsPerHour: Double) {
        self.reportsPerMinute = reportsPerMinute; self.observerDistance = observerDistance
        self.altitudeCeiling = altitudeCeiling; self.sigmaBearing = sigmaBearing
        self.meanDelay = meanDelay; self.falseReportsPerHour = falseReportsPerHour
    }
}

public struct SensorType: Sendable, Hashable {
    public var name: String
    public var displayName: String
    public var kind: SensorKind
    /// Exactly the one that matches `kind` is set.
    public var radar: RadarParameters?
    public var acoustic: AcousticParameters?
    public var citizen: CitizenParameters?
    public var provenance: [String: Sourced]
    public init(name: String, displayName: String, kind: SensorKind, radar: RadarParameters? = nil,
                acoustic: AcousticParameters? = nil, citizen: CitizenParameters? = nil,
                provenance: [String: Sourced] = [:]) {
        self.name = name; self.displayName = displayName; self.kind = kind; self.radar = radar
        self.acoustic = acoustic; self.citizen = citizen; self.provenance = provenance
    }
}

/// The catalogue: every type a scenario may name.
public struct Catalogue: Sendable {
    public var threats: [String: ThreatType]
    public var effectors: [String: EffectorType]
    public var sensors: [String: SensorType]
    public init(threats: [String: ThreatType] = [:], effectors: [String: EffectorType] = [:],
                sensors: [String: SensorType] = [:]) {
        self.threats = threats; self.effectors = effectors; self.sensors = sensors
    }
}

// MARK: - Instances

public enum AssetKind: String, Sendable, Codable, CaseIterable {
    case city
    case site
}

/// Something the defence protects.
public struct Asset: Sendable, Hashable {
    public var name: String
    public var kind: AssetKind
    public var position: Geodetic
    /// People living there (cities); 0 for sites unless given.
    public var population: Double
    /// Value in value units (see Doctrine.moneyWorth). Cities default to their population.
    public var value: Double
    /// Radius (m): an impact within it damages the asset.
    public var radius: Double
    /// Fraction of the asset's value (and population) affected per kg of warhead in one impact (capped at 1).
    public var damagePerKg: Double
    public init(name: String, kind: AssetKind, position: Geodetic, population: Double, value: Double,
                radius: Double, damagePerKg: Double) {
        self.name = name; self.kind = kind; self.position = position; self.population = population
        self.value = value; self.radius = radius; self.damagePerKg = damagePerKg
    }

    /// Fraction of the asset (value and population) one impact of this warhead affects.
    @inlinable public func damageFraction(warheadKg: Double) -> Double { min(1, warheadKg * damagePerKg) }
}

/// A polygon in geodetic coordinates (radians), outer ring first, then holes.
public struct GeoPolygon: Sendable, Hashable {
    /// Rings of (latitude, longitude) in radians; ring 0 is the outer boundary.
    public var rings: [[SIMD2<Double>]]
    public init(rings: [[SIMD2<Double>]]) { self.rings = rings }
}

/// A civil alert region (an oblast, a raion, a Home Front Command area).
public struct AlertRegion: Sendable, Hashable {
    public var id: String
    public var name: String
    /// Union of polygons (a MultiPolygon is several).
    public var polygons: [GeoPolygon]
    public init(id: String, name: String, polygons: [GeoPolygon]) {
        self.id = id; self.name = name; self.polygons = polygons
    }
}

public struct Sensor: Sendable, Hashable {
    public var id: String
    public var type: String
    public var position: Geodetic
    /// The radar's ASTERIX data source identifier (I048/010): system area and identification
    /// codes, which name it in a live CAT048 feed; nil when not given.
    public var asterixSAC: UInt8?
    public var asterixSIC: UInt8?
    public init(id: String, type: String, position: Geodetic, asterixSAC: UInt8? = nil, asterixSIC: UInt8? = nil) {
        self.id = id; self.type = type; self.position = position; self.asterixSAC = asterixSAC; self.asterixSIC = asterixSIC
    }
}

/// Many acoustic nodes laid out on a grid within a circle (a Sky Fortress-like network).
public struct AcousticNetwork: Sendable, Hashable {
    public var id: String
    public var type: String
    public var center: Geodetic
    /// Radius (m) of the covered disc.
    public var radius: Double
    /// Distance (m) between neighbouring nodes.
    public var spacing: Double
    public init(id: String, type: String, center: Geodetic, radius: Double, spacing: Double) {
        self.id = id; self.type = type; self.center = center; self.radius = radius; self.spacing = spacing
    }
}

/// The citizen networks whose type has citizen figures, in the scenario's order, with those
/// figures. A citizen report's `network` is an index into this list (the simulation, the battle
/// manager and the live feed all take it from here).
public func reportingCitizenNetworks(_ networks: [CitizenNetwork], _ catalogue: Catalogue)
    -> [(network: CitizenNetwork, figures: CitizenParameters)] {
    networks.compactMap { n in catalogue.sensors[n.type]?.citizen.map { (n, $0) } }
}

/// Citizens reporting bearings with a phone app (ePPO-like) over an area.
public struct CitizenNetwork: Sendable, Hashable {
    public var id: String
    public var type: String
    public var center: Geodetic
    /// Radius (m) of the area whose citizens report.
    public var radius: Double
    public init(id: String, type: String, center: Geodetic, radius: Double) {
        self.id = id; self.type = type; self.center = center; self.radius = radius
    }
}

public struct FireUnit: Sendable, Hashable {
    public var id: String
    public var type: String
    public var position: Geodetic
    /// Rounds available (missiles, bursts, or jamming engagements).
    public var magazine: Int
    /// Launchers (each fires, then is busy for the type's reload time).
    public var launchers: Int
    public init(id: String, type: String, position: Geodetic, magazine: Int, launchers: Int) {
        self.id = id; self.type = type; self.position = position; self.magazine = magazine
        self.launchers = launchers
    }
}

/// A route point; a missing altitude means "the type's profile decides".
public struct Waypoint: Sendable, Hashable {
    public var position: Geodetic
    public var altitudeGiven: Bool
    public init(position: Geodetic, altitudeGiven: Bool) {
        self.position = position; self.altitudeGiven = altitudeGiven
    }
}

/// One threat written out in full.
public struct ExplicitThreat: Sendable, Hashable {
    public var id: String
    public var type: String
    public var launchTime: Double
    /// Launch point first, aim point last (at least two points).
    public var route: [Waypoint]
    public init(id: String, type: String, launchTime: Double, route: [Waypoint]) {
        self.id = id; self.type = type; self.launchTime = launchTime; self.route = route
    }
}

/// A target asset of a wave and its weight.
public struct TargetWeight: Sendable, Hashable {
    public var asset: String
    public var weight: Double
    public init(asset: String, weight: Double) { self.asset = asset; self.weight = weight }
}

/// Many threats of one type launched from an area over a window toward weighted targets.
public struct Wave: Sendable, Hashable {
    public var name: String
    public var type: String
    public var count: Int
    /// Launch area: centre and radius (m).
    public var launchCenter: Geodetic
    public var launchRadius: Double
    /// Launch window [start, end] (s from scenario start).
    public var launchStart: Double
    public var launchEnd: Double
    /// Intermediate waypoints shared by the wave (dog-legs), each jittered by `routeSpread`.
    public var via: [Waypoint]
    /// Jitter radius (m) applied to each intermediate waypoint per threat.
    public var routeSpread: Double
    /// Target asset names and their weights (need not sum to 1).
    public var targets: [TargetWeight]
    /// Aim-point scatter radius (m) around the target asset.
    public var aimSpread: Double

    public init(name: String, type: String, count: Int, launchCenter: Geodetic, launchRadius: Double,
                launchStart: Double, launchEnd: Double, via: [Waypoint], routeSpread: Double,
                targets: [TargetWeight], aimSpread: Double) {
        self.name = name; self.type = type; self.count = count; self.launchCenter = launchCenter
        self.launchRadius = launchRadius; self.launchStart = launchStart; self.launchEnd = launchEnd
        self.via = via; self.routeSpread = routeSpread; self.targets = targets; self.aimSpread = aimSpread
    }
}


public enum AssignmentRule: String, Sendable, Codable, CaseIterable {
    case optimal, greedy
}

/// How tracks are assessed: a probability over threat types (class, warhead) and over the assets
/// a threat may be aimed at, or the earlier single label and single aim point.
public enum AssessmentRule: String, Sendable, Codable, CaseIterable {
    case probabilistic, kinematic
}

public enum EngagementMode: String, Sendable, Codable, CaseIterable {
    /// Fire one round, observe the outcome, fire again if the threat survives.
    case shootLookShoot = "shoot-look-shoot"
    /// Fire `salvoSize` rounds at once.
    case salvo
}

public struct Doctrine: Sendable, Hashable {
    public var mode: EngagementMode
    /// Rounds per engagement in salvo mode.
    public var salvoSize: Int
    /// Pairs whose single-shot kill probability is below this are not considered.
    public var minKillProbability: Double
    /// Value units that one unit of money (USD) is worth: a shot costs `moneyWorth × costPerShot` value.
    public var moneyWorth: Double
    /// Rounds of an effector type held back for the listed threat classes only.
    public var reserves: [Reserve]
    /// The dearest round (USD a shot) that may be fired at a track assessed as each class; a
    /// class not listed has no such limit. A rule of engagement, e.g. no Patriot at a Shahed.
    public var maxShotCost: [ThreatClass: Double] = [:]
    /// Seconds between BattleManager decision cycles.
    public var cycle: Double
    /// How shots are chosen at each decision: the weapon–target assignment optimum (which may
    /// put two units on one threat when the value saved pays for the rounds), or the greedy
    /// best-pair-first rule with one engagement per threat.
    public var assignment: AssignmentRule = .optimal
    /// How tracks are assessed (class and aim point as probabilities, or single labels).
    public var assessment: AssessmentRule = .probabilistic
    /// Threats expected beyond those in sight — a later wave, the next night's raid — at named
    /// assets. With `assignment: optimal` they are targets the rounds may be kept for, so a
    /// round's retention value reflects them, not only the threats already seen.
    public var expectedThreats: [Expected] = []

    public struct Expected: Sendable, Hashable {
        /// A threat type of the catalogue.
        public var threatType: String
        public var count: Int
        /// The name of the defended asset they are expected at.
        public var asset: String
        public init(threatType: String, count: Int, asset: String) {
            self.threatType = threatType; self.count = count; self.asset = asset
        }
    }

    public struct Reserve: Sendable, Hashable {
        public var effectorType: String
        public var rounds: Int
        public var forClasses: [ThreatClass]
        public init(effectorType: String, rounds: Int, forClasses: [ThreatClass]) {
            self.effectorType = effectorType; self.rounds = rounds; self.forClasses = forClasses
        }
    }
    public init(mode: EngagementMode = .shootLookShoot, salvoSize: Int = 2, minKillProbability: Double = 0.3,
                moneyWorth: Double = 1e-5, reserves: [Reserve] = [], cycle: Double = 2) {
        self.mode = mode; self.salvoSize = salvoSize; self.minKillProbability = minKillProbability
        self.moneyWorth = moneyWorth; self.reserves = reserves; self.cycle = cycle
    }
}

/// Settings of the civil alert service.
public struct AlertingSettings: Sendable, Hashable {
    /// How far ahead (s) predicted paths are looked at.
    public var horizon: Double
    /// A region is cleared this long (s) after no threat path crosses it.
    public var clearDelay: Double
    /// Alert-chain latency (s) from the decision to the siren.
    public var latency: Double
    /// Only tracks whose predicted path passes within this distance (m) of a point of the region alert it.
    public var margin: Double
    public init(horizon: Double = 900, clearDelay: Double = 180, latency: Double = 10, margin: Double = 0) {
        self.horizon = horizon; self.clearDelay = clearDelay; self.latency = latency; self.margin = margin
    }
}

/// One motion model of the tracker's filter bank, as a scenario gives it.
public struct TrackerModel: Sendable, Hashable {
    public var kind: MotionModel.Kind
    /// White-noise acceleration density (m²/s³).
    public var q: Double
    /// Turn rate (rad/s, positive to the left), coordinated turn only; an estimated turn's
    /// starting spread of rates (rad/s, one standard deviation).
    public var turnRate: Double
    /// Mean time in the mode (s).
    public var sojourn: Double
    /// An estimated turn's random walk of its rate (rad²/s³); 0 for the other kinds.
    public var turnNoise: Double
    public init(kind: MotionModel.Kind, q: Double, turnRate: Double = 0, sojourn: Double = 20, turnNoise: Double = 0) {
        self.kind = kind; self.q = q; self.turnRate = turnRate; self.sojourn = sojourn; self.turnNoise = turnNoise
    }
    public var motionModel: MotionModel {
        var m = MotionModel(kind, q: q, turnRate: turnRate, sojourn: sojourn)
        m.turnNoise = turnNoise
        return m
    }
    /// An nct model's defaults when a file leaves them out (`MotionModel`'s).
    public static let nctDefaultSpread = MotionModel.nctDefaultSpread
    public static let nctDefaultTurnNoise = MotionModel.nctDefaultTurnNoise
}

/// Tracker settings exposed to the scenario.
public struct TrackerSettings: Sendable, Hashable {
    /// How a tentative track is confirmed: by M detections within N looks (the default), or by
    /// its likelihood-ratio score against the sensors' false-detection densities.
    public var initiation: InitiationMethod
    /// Score initiation: the probability that a track of false detections is confirmed (α), and
    /// that a real target's tentative track is dropped before it is confirmed (β).
    public var falseTrackProbability: Double
    public var missedTrackProbability: Double
    /// M of N confirmation (M only for m-of-n; N looks of the sensor that started a track is the
    /// window in which it must be confirmed, by either rule).
    public var confirmM: Int
    public var confirmN: Int
    /// A confirmed track with no update for this long (s) is dropped.
    public var maxCoast: Double
    /// Chi-square gate probability.
    public var gateProbability: Double
    /// Process noise spectral density (m²/s³) of the nearly-constant-velocity model.
    public var processNoise: Double
    /// What a radar plot's radial speed is used for: refusing pairings and fused in the update
    /// (`fuse`), refusing pairings only (`gate`), or nothing (`ignore`).
    public var radialSpeed: RadialSpeedUse = .fuse
    /// Largest acceleration (m/s²) between a track's first two plots, in their radial-speed test.
    public var maxAcceleration: Double = 40
    /// The filter bank: empty for one constant-velocity Kalman filter of `processNoise`; else 1 to
    /// 4 models, run as an IMM.
    public var models: [TrackerModel] = []
    public init(initiation: InitiationMethod = .mOfN, falseTrackProbability: Double = 1e-5, missedTrackProbability: Double = 0.01,
                confirmM: Int = 3, confirmN: Int = 5, maxCoast: Double = 40, gateProbability: Double = 0.999,
                processNoise: Double = 50) {
        self.initiation = initiation
        self.falseTrackProbability = falseTrackProbability; self.missedTrackProbability = missedTrackProbability
        self.confirmM = confirmM; self.confirmN = confirmN; self.maxCoast = maxCoast
        self.gateProbability = gateProbability; self.processNoise = processNoise
    }
}

/// A whole scenario, validated and in SI units.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64
    /// Simulation end (s); the run also ends earlier once every threat is resolved and all alerts are off.
    public var duration: Double
    public var origin: Geodetic
    public var catalogue: Catalogue
    public var assets: [Asset]
    public var regions: [AlertRegion]
    public var sensors: [Sensor]
    public var acousticNetworks: [AcousticNetwork]
    public var citizenNetworks: [CitizenNetwork]
    public var fireUnits: [FireUnit]
    public var threats: [ExplicitThreat]
    public var waves: [Wave]
    public var doctrine: Doctrine
    public var alerting: AlertingSettings
    public var tracker: TrackerSettings
    /// The files the scenario named and its loader read, beside the scenario file itself (a
    /// regions GeoJSON of the user's): what a sharded study's digest covers with the scenario.
    public var inputFiles: [String] = []

    public init(name: String, description: String = "", seed: UInt64 = 1, duration: Double, origin: Geodetic,
                catalogue: Catalogue, assets: [Asset] = [], regions: [AlertRegion] = [], sensors: [Sensor] = [],
                acousticNetworks: [AcousticNetwork] = [], citizenNetworks: [CitizenNetwork] = [],
                fireUnits: [FireUnit] = [], threats: [ExplicitThreat] = [], waves: [Wave] = [],
                doctrine: Doctrine = Doctrine(), alerting: AlertingSettings = AlertingSettings(),
                tracker: TrackerSettings = TrackerSettings()) {
        self.name = name; self.description = description; self.seed = seed; self.duration = duration
        self.origin = origin; self.catalogue = catalogue; self.assets = assets; self.regions = regions
        self.sensors = sensors; self.acousticNetworks = acousticNetworks; self.citizenNetworks = citizenNetworks
        self.fireUnits = fireUnits; self.threats = threats; self.waves = waves; self.doctrine = doctrine
        self.alerting = alerting; self.tracker = tracker
    }
}
