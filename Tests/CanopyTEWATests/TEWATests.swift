import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation
import Testing

@testable import CanopyTEWA

@Suite("Threat evaluation and assignment")
struct TEWATests {
    static let site = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.52)

    static func effector(_ name: String, kind: EffectorKind = .missile, maxRange: Double, cost: Double,
                         pk: [ThreatClass: Double], speed: Double = 1000) -> EffectorType {
        EffectorType(name: name, displayName: name, kind: kind, minRange: 500, maxRange: maxRange, minAltitude: 10,
                     maxAltitude: 20_000, interceptorSpeed: speed, killProbability: pk, reactionTime: 5, reloadTime: 3,
                     fireChannels: 2, costPerShot: cost)
    }

    /// A confirmed track heading straight for the site from `distance` metres north at `speed`.
    static func inbound(distance: Double, speed: Double, altitude: Double) -> Track {
        let f = LocalFrame(origin: site)
        let tracker = Tracker(configuration: TrackerConfiguration(confirmM: 2, confirmN: 3),
                              sensors: [TrackerSensor(name: "r", kind: .rangeAzimuthElevation, position: site,
                                                      sigma: Vector3(1, 1e-5, 1e-5), maxRange: 400_000, period: 1, canInitiate: true)])
        for k in 0..<4 {
            let p = f.ecef(enu: Vector3(0, distance - speed * Double(k), altitude))
            tracker.process([Detection(id: UInt64(k + 1), time: Double(k), sensor: 0, z: Vector3(
                f.aer(ecef: p).range, f.aer(ecef: p).azimuth, f.aer(ecef: p).elevation))])
        }
        return tracker.confirmedTracks[0]
    }

    static let city = Asset(name: "City", kind: .city, position: site, population: 1_000_000, value: 1_000_000,
                            radius: 8000, damagePerKg: 1e-5)

    @Test("Classes from kinematics")
    func classify() {
        let h = TrackHistory()
        #expect(ThreatAssessor.classify(speed: 50, altitude: 1500, verticalSpeed: 0, history: h) == .drone)
        #expect(ThreatAssessor.classify(speed: 240, altitude: 60, verticalSpeed: 0, history: h) == .cruise)
        #expect(ThreatAssessor.classify(speed: 1100, altitude: 20_000, verticalSpeed: 0, history: h) == .supersonicCruise)
        #expect(ThreatAssessor.classify(speed: 1800, altitude: 60_000, verticalSpeed: -900, history: h) == .ballistic)
        #expect(ThreatAssessor.classify(speed: 3000, altitude: 25_000, verticalSpeed: -500, history: h) == .aeroballistic)
    }

    @Test("Aim point and time to impact of a track flying at a city")
    func aimPoint() {
        let trk = Self.inbound(distance: 30_000, speed: 50, altitude: 1000)
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: Catalogue())
        let a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        #expect(a.aimAsset == 0)
        #expect(a.threatClass == .drone)
        #expect(abs(a.timeToImpact - (30_000 - 150) / 50) < 5)
        #expect(a.valueAtRisk > 0)
    }

    @Test("Intercept geometry: head-on closing speed")
    func interceptHeadOn() {
        let f = LocalFrame(origin: Self.site)
        // Target 20 km north at 1 km altitude flying south at 200 m/s; interceptor 800 m/s launched at t=0.
        let path: (Double) -> Vector3 = { t in f.ecef(enu: Vector3(0, 20_000 - 200 * t, 1000)) }
        let s = InterceptGeometry.solve(fireUnit: f, launchTime: 0, speed: 800, maxFlyout: 60, path: path)!
        // |(0, 20000 − 200t, 1000)| = 800t → solve exactly.
        let a = 800.0 * 800 - 200 * 200, b = 2 * 20_000 * 200.0, c = -(20_000.0 * 20_000 + 1000 * 1000)
        let t = (-b + (b * b - 4 * a * c).squareRoot()) / (2 * a)
        #expect(abs(s.time - t) < 0.01)
        #expect(abs(s.groundRange - (20_000 - 200 * t)) < 5)
    }

    @Test("Cost-aware: the cheap effector takes the drone; a $4M round is not spent on it")
    func costAware() {
        let trk = Self.inbound(distance: 12_000, speed: 50, altitude: 1000)
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: Catalogue())
        let a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        let big = FireUnitState(id: "P", type: Self.effector("pac3", maxRange: 60_000, cost: 4_000_000, pk: [.drone: 0.9]),
                                position: Self.site, magazine: 8, launchers: 2)
        let gun = FireUnitState(id: "G", type: Self.effector("gun", kind: .gun, maxRange: 4_000, cost: 1_000, pk: [.drone: 0.5]),
                                position: LocalFrame(origin: Self.site).geodetic(enu: Vector3(0, 3000, 0)), magazine: 50, launchers: 1)
        let assigner = Assigner(doctrine: Doctrine(minKillProbability: 0.3, moneyWorth: 1e-4), processNoise: 1)
        // Far out only the missile reaches, but its money worth (400) exceeds 0.9 × value at risk (≈ 450 × 0.9)? Check both ways.
        let plans = assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [big, gun], engaged: [])
        let gain = 0.9 * a.valueAtRisk - 1e-4 * 4_000_000
        if gain <= 0 { #expect(plans.allSatisfy { $0.fireUnit != 0 }) }
        // Raise the money worth: nobody fires a $4M round at a $50k drone's damage.
        let stingy = Assigner(doctrine: Doctrine(minKillProbability: 0.3, moneyWorth: 1), processNoise: 1)
        #expect(stingy.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [big], engaged: []).isEmpty)
    }

    @Test("Kill probability is weighed by each class's share of the value at risk, not the most probable class's alone")
    func valueWeightedKillProbability() throws {
        let trk = Self.inbound(distance: 12_000, speed: 50, altitude: 1000)
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: Catalogue())
        var a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        // Most probably a decoy (no warhead), so all its value at risk is the drone it may be.
        let classes = ThreatClass.allCases
        a.threatClass = .decoy
        a.classProbabilities = classes.map { $0 == .decoy ? 0.7 : ($0 == .drone ? 0.3 : 0) }
        a.valueByClass = classes.map { $0 == .drone ? a.valueAtRisk : 0 }
        // A unit that kills drones (0.8) but hardly decoys (0.1, under the doctrine's 0.3 floor).
        let unit = FireUnitState(id: "U", type: Self.effector("u", maxRange: 20_000, cost: 1, pk: [.drone: 0.8, .decoy: 0.1]),
                                 position: Self.site, magazine: 8, launchers: 2)
        let assigner = Assigner(doctrine: Doctrine(minKillProbability: 0.3, moneyWorth: 1e-6), processNoise: 1)
        let plan = try #require(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [unit], engaged: []).first)
        #expect(abs(plan.killProbability - 0.8) < 1e-12)
        // Value split evenly between two classes: the kill probability is the even mix.
        a.valueByClass = classes.map { $0 == .drone || $0 == .decoy ? a.valueAtRisk / 2 : 0 }
        let mixed = try #require(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [unit], engaged: []).first)
        #expect(abs(mixed.killProbability - 0.45) < 1e-12)
        // Without a split, the most probable class's figure: under the floor, so no plan.
        a.valueByClass = []
        #expect(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [unit], engaged: []).isEmpty)
    }

    @Test("The probabilistic rule splits the value at risk by class, summing to it")
    func valueByClassSums() {
        // A slow track between a drone type and a decoy type (same speed): both classes carry value
        // only as far as their warheads do.
        var cat = Catalogue()
        func type(_ name: String, _ model: FlightModel, warhead: Double) -> ThreatType {
            ThreatType(name: name, displayName: name, flightModel: model, speed: 50, cruiseAltitude: 1000, climbAngle: 0.1,
                       diveAngle: 0.5, launchAltitude: 0, loftAngle: 0, rcs: 0.1, warheadKg: warhead, unitCost: 30_000,
                       maxRange: 2_000_000)
        }
        cat.threats["drone-x"] = type("drone-x", .propellerDrone, warhead: 50)
        cat.threats["decoy-x"] = type("decoy-x", .decoy, warhead: 0)
        let trk = Self.inbound(distance: 12_000, speed: 50, altitude: 1000)
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: cat, rule: .probabilistic)
        let a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        #expect(a.valueAtRisk > 0)
        #expect(a.valueByClass.count == ThreatClass.allCases.count)
        #expect(abs(a.valueByClass.reduce(0, +) - a.valueAtRisk) <= 1e-9 * a.valueAtRisk)
        #expect(a.valueByClass[ThreatClass.allCases.firstIndex(of: .decoy)!] == 0)
        #expect(a.valueByClass[ThreatClass.allCases.firstIndex(of: .drone)!] > 0)
    }

    @Test("The straight-path screen never passes over a path the sampled test would accept")
    func neverNearIsConservative() {
        var rng = RandomStream(seed: 11, component: "never-near")
        var screened = 0, accepted = 0
        for trial in 0..<20_000 {
            let unitSite = Geodetic(latitudeDegrees: 50 + rng.uniform(-1, 1), longitudeDegrees: 30 + rng.uniform(-1, 1), height: rng.uniform(0, 400))
            let f = LocalFrame(origin: unitSite)
            let maxRange = [4_000.0, 40_000, 150_000][trial % 3]
            let type = UnitFigures(Self.effector("u", maxRange: maxRange, cost: 1, pk: [.drone: 0.5]))
            // A straight path from up to 300 km away at up to 300 m/s, 50 m to 12 km up.
            let start = f.ecef(enu: Vector3(rng.uniform(-300_000, 300_000), rng.uniform(-300_000, 300_000), rng.uniform(50, 12_000)))
            let v = f.ecef(enu: Vector3(rng.uniform(-300, 300), rng.uniform(-300, 300), rng.uniform(-20, 20))) - f.originECEF
            let (from, until) = (rng.uniform(0, 60), rng.uniform(60, 1_800))
            let margin = [0.0, 0.05, 0.1][trial % 3]
            let never = Assigner.neverNear(type, f, f.originECEF, p0: start, v: v, now: 0, from: from, until: until, margin: margin)
            let reachable = Assigner.reachableLater(f, type, path: { start + v * $0 }, from: from, until: until, margin: margin)
            if never { screened += 1; #expect(!reachable, "trial \(trial): screened out a reachable path") }
            if reachable { accepted += 1 }
        }
        // Both outcomes occur: the screen does its work, and some paths are reachable.
        #expect(screened > 10_000 && accepted > 100, "screened \(screened), accepted \(accepted)")
    }

    @Test("Magazines, reserves, channels and envelopes are respected")
    func constraints() {
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: Catalogue())
        let trk = Self.inbound(distance: 15_000, speed: 250, altitude: 100)
        var a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        a.valueAtRisk = 1e9
        let type = Self.effector("sam", maxRange: 40_000, cost: 400_000, pk: [.cruise: 0.8, .ballistic: 0.7])
        let doctrine = Doctrine(minKillProbability: 0.3, moneyWorth: 1e-4)
        let assigner = Assigner(doctrine: doctrine, processNoise: 1)
        // Empty magazine: nothing.
        var empty = FireUnitState(id: "E", type: type, position: Self.site, magazine: 1, launchers: 1)
        empty.roundsLeft = 0
        #expect(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [empty], engaged: []).isEmpty)
        // Reserve of 2 for ballistic threats with 2 rounds left: a cruise missile gets nothing.
        let reserved = FireUnitState(id: "R", type: type, position: Self.site, magazine: 2, launchers: 2,
                                     reserveRounds: 2, reserveClasses: [.ballistic])
        #expect(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [reserved], engaged: []).isEmpty)
        // Out of range: a unit 200 km away cannot reach.
        let far = FireUnitState(id: "F", type: type, position: LocalFrame(origin: Self.site).geodetic(enu: Vector3(200_000, 0, 0)),
                                magazine: 8, launchers: 2)
        #expect(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [far], engaged: []).isEmpty)
        // A good unit engages once (shoot-look-shoot), inside its envelope; not again while engaged.
        let good = FireUnitState(id: "G", type: type, position: Self.site, magazine: 8, launchers: 2)
        let plans = assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [good], engaged: [])
        #expect(plans.count == 1)
        #expect(plans.allSatisfy { InterceptGeometry.inEnvelope($0.intercept, type) && $0.rounds == 1 })
        #expect(assigner.assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [good], engaged: [trk.id]).isEmpty)
    }

    @Test("Retention: a round is kept for an expected ballistic threat rather than spent on a drone")
    func retentionFromExpectedThreats() {
        let assessor = ThreatAssessor(assets: [Self.city], catalogue: Catalogue())
        let trk = Self.inbound(distance: 12_000, speed: 50, altitude: 1000)
        var a = assessor.assess(track: trk, now: 3, history: TrackHistory(), processNoise: 1)
        a.valueAtRisk = 1_000
        let type = Self.effector("pac3", maxRange: 60_000, cost: 4_000_000, pk: [.drone: 0.9, .ballistic: 0.7])
        let doctrine = Doctrine(minKillProbability: 0.3, moneyWorth: 1e-6)
        func plans(magazine: Int, expected: [ExpectedThreat]) -> [EngagementPlan] {
            let unit = FireUnitState(id: "P", type: type, position: Self.site, magazine: magazine, launchers: 2)
            return Assigner(doctrine: doctrine, processNoise: 1, expected: expected)
                .assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [unit], engaged: [])
        }
        let ballistic = ExpectedThreat(threatClass: .ballistic, count: 1, target: Self.site, value: 50_000)
        // Nothing expected: the last round goes to the drone.
        #expect(plans(magazine: 1, expected: []).count == 1)
        // One ballistic missile expected at the city: its 0.7 × 50,000 outweighs 0.9 × 1,000.
        #expect(plans(magazine: 1, expected: [ballistic]).isEmpty)
        // Two rounds: one kept, one spent.
        #expect(plans(magazine: 2, expected: [ballistic]).count == 1)
        // An expected threat the unit cannot reach (300 km away) or cannot kill (a class it has no Pk for) keeps nothing.
        let far = ExpectedThreat(threatClass: .ballistic, count: 1,
                                 target: LocalFrame(origin: Self.site).geodetic(enu: Vector3(300_000, 0, 0)), value: 50_000)
        #expect(plans(magazine: 1, expected: [far]).count == 1)
        let cruise = ExpectedThreat(threatClass: .cruise, count: 1, target: Self.site, value: 50_000)
        #expect(plans(magazine: 1, expected: [cruise]).count == 1)
        // The greedy rule knows nothing of expected threats.
        var greedy = doctrine
        greedy.assignment = .greedy
        let unit = FireUnitState(id: "P", type: type, position: Self.site, magazine: 1, launchers: 2)
        #expect(Assigner(doctrine: greedy, processNoise: 1, expected: [ballistic])
            .assign(now: 3, assessments: [a], tracks: [trk.id: trk], fireUnits: [unit], engaged: []).count == 1)
    }
}
