import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation
import Testing

@testable import CanopyBattle

@Suite("BattleManager")
struct BattleManagerTests {
    static let city = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.52)

    static func briefing() -> Briefing {
        var cat = Catalogue()
        cat.sensors["radar"] = SensorType(name: "radar", displayName: "radar", kind: .radar, radar: RadarParameters(
            referenceRange: 150_000, referenceRCS: 1, maxRange: 250_000, period: 5, sigmaRange: 30,
            sigmaAzimuth: radians(0.2), sigmaElevation: radians(0.2), minElevation: 0, clutterPerScan: 0, falseAlarmProbability: 1e-6))
        cat.effectors["sam"] = EffectorType(name: "sam", displayName: "sam", kind: .missile, minRange: 1000, maxRange: 40_000,
                                            minAltitude: 20, maxAltitude: 20_000, interceptorSpeed: 1000,
                                            killProbability: [.cruise: 0.85], reactionTime: 5, reloadTime: 5, fireChannels: 2,
                                            costPerShot: 400_000)
        cat.threats["cm"] = ThreatType(name: "cm", displayName: "cm", flightModel: .subsonicCruise, speed: 250, cruiseAltitude: 100,
                                       climbAngle: 0.1, diveAngle: 0.5, launchAltitude: 0, loftAngle: 0.7, rcs: 0.1,
                                       warheadKg: 400, unitCost: 4e6, maxRange: 3e6)
        let ring: [SIMD2<Double>] = [(49.5, 29.5), (49.5, 31.5), (51.5, 31.5), (51.5, 29.5)].map { SIMD2(radians($0.0), radians($0.1)) }
        let s = Scenario(name: "t", duration: 3600, origin: city, catalogue: cat,
                         assets: [Asset(name: "Kyiv", kind: .city, position: city, population: 3e6, value: 3e6, radius: 10_000, damagePerKg: 1e-5)],
                         regions: [AlertRegion(id: "UA-30", name: "Kyiv", polygons: [GeoPolygon(rings: [ring])])],
                         sensors: [Sensor(id: "R1", type: "radar", position: Geodetic(latitudeDegrees: 50.40, longitudeDegrees: 30.50, height: 300))],
                         fireUnits: [FireUnit(id: "FU1", type: "sam", position: Geodetic(latitudeDegrees: 50.50, longitudeDegrees: 30.60), magazine: 4, launchers: 2)])
        return Briefing(scenario: s)
    }

    @Test("From radar plots alone: a confirmed track, an alert, an order; a kill report drops the track")
    func plotsToOrders() {
        let bm = BattleManager(briefing: Self.briefing())
        let radar = LocalFrame(origin: bm.briefing.sensors[0].position)
        let target = LocalFrame(origin: Self.city)
        var orders: [EngagementOrder] = []
        var alerts = 0
        var id: UInt64 = 0
        for k in 0...40 {
            let t = Double(k) * 5
            // A cruise missile 60 km south-east flying at the city at 250 m/s, 300 m up.
            let dir = Vector3(-0.6, 0.8, 0)
            let enu = Vector3(36_000, -48_000, 300) + dir * (250 * t)
            guard norm(Vector3(enu.x, enu.y, 0)) > 2_000 else { break }
            let aer = radar.aer(ecef: target.ecef(enu: enu))
            id += 1
            bm.receive([Detection(id: id, time: t, sensor: 0, z: Vector3(aer.range, aer.azimuth, aer.elevation))])
            let out = bm.cycle(now: t + 0.5)
            orders += out.orders
            alerts += out.alertChanges.filter(\.on).count
            if !orders.isEmpty { break }
        }
        #expect(alerts == 1)
        #expect(orders.count == 1)
        let o = orders[0]
        #expect(o.threatClass == .cruise)
        #expect(o.predictedIntercept.groundRange <= 40_000)
        #expect(bm.fireUnits[0].roundsLeft == 3)
        bm.receive(EngagementReport(order: o.id, time: o.predictedIntercept.time, outcome: .killed))
        _ = bm.cycle(now: o.predictedIntercept.time + 1)
        #expect(bm.tracker.confirmedTracks.isEmpty)
        #expect(bm.fireUnits[0].channelsBusy == 0)
    }
}
