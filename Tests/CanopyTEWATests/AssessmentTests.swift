import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation
import Testing

@testable import CanopyTEWA

@Suite("Probabilistic threat assessment")
struct AssessmentTests {
    let catalogue = try! Catalogue.builtIn()

    func history(meanSpeed: Double, samples: Int) -> TrackHistory {
        var h = TrackHistory()
        h.speedSum = meanSpeed * Double(samples); h.speedSamples = samples
        h.maxSpeed = meanSpeed; h.maxAltitude = 1000; h.updates = samples
        return h
    }

    @Test("Decoys and strike drones told apart by their mean speed, with uncertainty")
    func decoyOrDrone() {
        let a = ThreatAssessor(assets: [TEWATests.city], catalogue: catalogue)
        func p(_ v: Double, _ n: Int, _ alt: Double = 1000) -> [ThreatClass: Double] {
            let post = a.slowTypePosterior(meanSpeed: v, samples: n, altitude: alt)
            var out: [ThreatClass: Double] = [:]
            for (k, t) in a.slowTypes.enumerated() { out[t.threatClass, default: 0] += post[k] }
            return out
        }
        // Shahed-136 cruises at 50 m/s, the Gerbera decoy at 44 m/s, both at 1,000 m.
        let fast = p(50, 60), slow = p(44, 60), between = p(47, 60)
        #expect(fast[.drone]! > 0.8 && slow[.decoy]! > 0.8)
        #expect(abs(between[.drone]! - between[.decoy]!) < 0.3)
        // A short track is less sure than a long one at the same speed.
        #expect(p(44, 2)[.decoy]! < slow[.decoy]! && p(44, 2)[.decoy]! > 0.5)
        // Low and fast is a cruise missile.
        #expect(p(230, 20, 60)[.cruise]! > 0.99)
        #expect(abs(fast.values.reduce(0, +) - 1) < 1e-12)
    }

    @Test("A likely decoy carries less value at risk than a likely strike drone; classes sum to one")
    func valueAtRisk() {
        let trk = TEWATests.inbound(distance: 30_000, speed: 50, altitude: 1000)
        let a = ThreatAssessor(assets: [TEWATests.city], catalogue: catalogue)
        let drone = a.assess(track: trk, now: 3, history: history(meanSpeed: 50, samples: 60), processNoise: 1)
        let decoy = a.assess(track: trk, now: 3, history: history(meanSpeed: 44, samples: 60), processNoise: 1)
        #expect(drone.threatClass == .drone && decoy.threatClass == .decoy)
        #expect(decoy.valueAtRisk < 0.3 * drone.valueAtRisk && decoy.valueAtRisk > 0)
        #expect(abs(drone.classProbabilities.reduce(0, +) - 1) < 1e-12)
        #expect(drone.probability(of: .decoy) < 0.2 && decoy.probability(of: .decoy) > 0.8)
        // The kinematic rule: one label, the class's warhead, decoys not considered.
        let k = ThreatAssessor(assets: [TEWATests.city], catalogue: catalogue, rule: .kinematic)
            .assess(track: trk, now: 3, history: history(meanSpeed: 44, samples: 60), processNoise: 1)
        #expect(k.threatClass == .drone && k.classProbabilities.filter { $0 == 1 }.count == 1)
        #expect(k.valueAtRisk > decoy.valueAtRisk)
    }

    @Test("Aim points as a distribution: one city dead ahead, two cities in line, none ahead")
    func aimDistribution() {
        let trk = TEWATests.inbound(distance: 30_000, speed: 50, altitude: 1000)
        let f = LocalFrame(origin: TEWATests.site)
        // The track flies south through the site; a second city 40 km further south lies on the
        // same line, a third 40 km to the east does not.
        func city(_ name: String, _ e: Double, _ n: Double) -> Asset {
            Asset(name: name, kind: .city, position: f.geodetic(enu: Vector3(e, n, 0)), population: 500_000, value: 500_000,
                  radius: 5000, damagePerKg: 1e-5)
        }
        let one = ThreatAssessor(assets: [TEWATests.city], catalogue: catalogue)
            .assess(track: trk, now: 3, history: history(meanSpeed: 50, samples: 60), processNoise: 1)
        #expect(one.aimProbabilities.count == 1 && one.aimProbabilities[0].asset == 0 && one.aimProbabilities[0].probability > 0.9)
        let inLine = ThreatAssessor(assets: [TEWATests.city, city("Beyond", 0, -40_000), city("East", 40_000, 0)], catalogue: catalogue)
            .assess(track: trk, now: 3, history: history(meanSpeed: 50, samples: 60), processNoise: 1)
        let ps = Dictionary(inLine.aimProbabilities.map { ($0.asset, $0.probability) }, uniquingKeysWith: { a, _ in a })
        #expect(ps[0] != nil && ps[1] != nil && ps[2] == nil)
        #expect(abs(ps[0]! - ps[1]!) < 0.05)
        #expect(inLine.aimAsset == 0)  // equally likely: the nearer first
        #expect(ps.values.reduce(0, +) < 1)  // some mass on "no defended asset"
        let away = ThreatAssessor(assets: [city("North", 0, 80_000)], catalogue: catalogue)
            .assess(track: trk, now: 3, history: history(meanSpeed: 50, samples: 60), processNoise: 1)
        #expect(away.aimAsset == nil && away.valueAtRisk == 0 && away.aimProbabilities.isEmpty)
    }
}
