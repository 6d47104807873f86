import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation
import Testing

@testable import CanopyBattle

@Suite("BattleManager")
struct BattleManagerTests {
    static let city = Geodetic(latitudeDegrees: 50.45, longitudeDegrees: 30.52)

    static func briefing(pk: Double = 0.85, fireUnits: Int = 1, value: Double = 3e6,
                         citizenSigmas: [Double] = []) -> Briefing {
        var cat = Catalogue()
        for (k, sigma) in citizenSigmas.enumerated() {
            cat.sensors["app\(k)"] = SensorType(name: "app\(k)", displayName: "app", kind: .citizen, citizen: CitizenParameters(
                reportsPerMinute: 1, observerDistance: 3000, altitudeCeiling: 2000, sigmaBearing: sigma, meanDelay: 10, falseReportsPerHour: 0))
        }
        cat.sensors["radar"] = SensorType(name: "radar", displayName: "radar", kind: .radar, radar: RadarParameters(
            referenceRange: 150_000, referenceRCS: 1, maxRange: 250_000, period: 5, sigmaRange: 30,
            sigmaAzimuth: radians(0.2), sigmaElevation: radians(0.2), minElevation: 0, clutterPerScan: 0, falseAlarmProbability: 1e-6))
        cat.effectors["sam"] = EffectorType(name: "sam", displayName: "sam", kind: .missile, minRange: 1000, maxRange: 40_000,
                                            minAltitude: 20, maxAltitude: 20_000, interceptorSpeed: 1000,
                                            killProbability: [.cruise: pk], reactionTime: 5, reloadTime: 5, fireChannels: 2,
                                            costPerShot: 400_000)
        cat.threats["cm"] = ThreatType(name: "cm", displayName: "cm", flightModel: .subsonicCruise, speed: 250, cruiseAltitude: 100,
                                       climbAngle: 0.1, diveAngle: 0.5, launchAltitude: 0, loftAngle: 0.7, rcs: 0.1,
                                       warheadKg: 400, unitCost: 4e6, maxRange: 3e6)
        let ring: [SIMD2<Double>] = [(49.5, 29.5), (49.5, 31.5), (51.5, 31.5), (51.5, 29.5)].map { SIMD2(radians($0.0), radians($0.1)) }
        let s = Scenario(name: "t", duration: 3600, origin: city, catalogue: cat,
                         assets: [Asset(name: "Kyiv", kind: .city, position: city, population: 3e6, value: value, radius: 10_000, damagePerKg: 1e-5)],
                         regions: [AlertRegion(id: "UA-30", name: "Kyiv", polygons: [GeoPolygon(rings: [ring])])],
                         sensors: [Sensor(id: "R1", type: "radar", position: Geodetic(latitudeDegrees: 50.40, longitudeDegrees: 30.50, height: 300))],
                         citizenNetworks: citizenSigmas.indices.map { CitizenNetwork(id: "C\($0)", type: "app\($0)", center: city, radius: 200_000) },
                         fireUnits: (1...fireUnits).map { k in
                             FireUnit(id: "FU\(k)", type: "sam", position: Geodetic(latitudeDegrees: 50.50, longitudeDegrees: 30.60 - 0.02 * Double(k - 1)),
                                      magazine: 4, launchers: 2)
                         })
        return Briefing(scenario: s)
    }

    /// Feeds the plots of a cruise missile flying at the city until a cycle gives orders.
    static func firstOrders(_ bm: BattleManager, distance: Double = 60_000) -> (orders: [EngagementOrder], alerts: Int, time: Double) {
        let radar = LocalFrame(origin: bm.briefing.sensors[0].position)
        let target = LocalFrame(origin: Self.city)
        var alerts = 0
        var id: UInt64 = 0
        for k in 0...40 {
            let t = Double(k) * 5
            // A cruise missile `distance` south-east flying at the city at 250 m/s, 300 m up.
            let dir = Vector3(-0.6, 0.8, 0)
            let enu = Vector3(0, 0, 300) + dir * (250 * t - distance)
            guard norm(Vector3(enu.x, enu.y, 0)) > 2_000 else { break }
            let aer = radar.aer(ecef: target.ecef(enu: enu))
            id += 1
            bm.receive([Detection(id: id, time: t, sensor: 0, z: Vector3(aer.range, aer.azimuth, aer.elevation))])
            let out = bm.cycle(now: t + 0.5)
            alerts += out.alertChanges.filter(\.on).count
            if !out.orders.isEmpty { return (out.orders, alerts, t + 0.5) }
        }
        return ([], alerts, 0)
    }

    @Test("Two orders of one cycle on one track: the track stays engaged until the second reports")
    func twoOrdersOneTrack() throws {
        // A poor kill probability on a high-value aim, seen too late for a second look: the
        // optimum puts two shots on the missile at once.
        let bm = BattleManager(briefing: Self.briefing(pk: 0.4, value: 3e9))
        let (orders, _, t) = Self.firstOrders(bm, distance: 7_000)
        try #require(orders.count == 2 && orders[0].track == orders[1].track, "orders: \(orders.map { ($0.fireUnit, $0.track) })")
        let track = orders[0].track
        bm.receive(EngagementReport(order: orders[0].id, time: t + 1, outcome: .missed))
        // It used to forget the second order at the first report: engaged no more, shot at again.
        #expect(bm.openOrderByTrack(track)?.id == orders[1].id)
        let next = bm.cycle(now: t + 5)
        #expect(next.orders.filter { $0.track == track }.isEmpty, "\(next.orders.map(\.track))")
        bm.receive(EngagementReport(order: orders[1].id, time: t + 6, outcome: .missed))
        #expect(bm.openOrderByTrack(track) == nil)
    }

    @Test("From radar plots alone: a confirmed track, an alert, an order; a kill report drops the track")
    func plotsToOrders() {
        let bm = BattleManager(briefing: Self.briefing())
        let (orders, alerts, _) = Self.firstOrders(bm)
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

    @Test("A citizen report is weighed with its own network's bearing noise")
    func citizenNetworkNoise() throws {
        // Two networks: a sharp one (2°) and a blunt one (30°). A report 15° off a confirmed track
        // is far outside the sharp network's gate and well inside the blunt one's.
        func bearingUpdates(network: Int) throws -> Int {
            let bm = BattleManager(briefing: Self.briefing(citizenSigmas: [radians(2), radians(30)]))
            let radar = LocalFrame(origin: bm.briefing.sensors[0].position)
            let target = LocalFrame(origin: Self.city)
            let dir = Vector3(-0.6, 0.8, 0)
            func truth(_ t: Double) -> Vector3 { Vector3(0, 0, 300) + dir * (250 * t - 60_000) }
            for k in 0...8 {
                let t = Double(k) * 5
                let aer = radar.aer(ecef: target.ecef(enu: truth(t)))
                bm.receive([Detection(id: UInt64(k + 1), time: t, sensor: 0, z: Vector3(aer.range, aer.azimuth, aer.elevation))])
                _ = bm.cycle(now: t + 0.5)
            }
            let before = try #require(bm.tracker.confirmedTracks.first).bearingUpdates
            // An observer 2 km east of the missile sees it due west; the report says 15° more.
            let t = 40.5
            let p = truth(t)
            let observer = target.geodetic(enu: Vector3(p.x + 2_000, p.y, 0))
            bm.receive(citizen: CitizenReport(id: 100, time: t, observer: observer, bearing: radians(270 + 15), network: network))
            _ = bm.cycle(now: 41)
            return try #require(bm.tracker.confirmedTracks.first).bearingUpdates - before
        }
        #expect(try bearingUpdates(network: 0) == 0)
        #expect(try bearingUpdates(network: 1) == 1)
    }
}
