import CanopyCore
import CanopyScenario
import Foundation

/// One threat in the World (truth). A reference type: the World's hot loops read and update
/// threats in place without copying their routes and flight paths.
public final class ThreatInstance {
    public enum Fate: String, Sendable { case pending, airborne, destroyed, lost, impacted }
    public let index: Int
    public let id: String
    public let typeName: String
    public let type: ThreatType
    public let launchTime: Double
    public let route: [Geodetic]
    public let path: FlightPath
    /// The asset the raid planner aimed it at (for "value protected"), if any.
    public let targetAsset: Int?
    public let impactTime: Double
    // Read in every sensor's loop: plain values with no access that could overlap another, so
    // they skip the runtime's dynamic exclusivity bookkeeping.
    @exclusivity(unchecked) public var fate: Fate = .pending
    @exclusivity(unchecked) public var endTime: Double = .infinity
    @exclusivity(unchecked) public var detected = false
    @exclusivity(unchecked) public var tracked = false
    @exclusivity(unchecked) public var engaged = false

    public init(index: Int, id: String, typeName: String, type: ThreatType, launchTime: Double, route: [Geodetic],
                path: FlightPath, targetAsset: Int?) {
        self.index = index; self.id = id; self.typeName = typeName; self.type = type; self.launchTime = launchTime
        self.route = route; self.path = path; self.targetAsset = targetAsset
        impactTime = launchTime + path.duration
    }

    public func position(at t: Double) -> Vector3 { path.position(at: t - launchTime) }

    /// Velocity (m/s, ECEF) at time t: the central difference of the path over ±0.25 s (one-sided
    /// at launch and impact).
    public func velocity(at t: Double) -> Vector3 {
        let tau = t - launchTime
        let a = max(tau - 0.25, 0), b = min(tau + 0.25, path.duration)
        guard b > a else { return .zero }
        return (path.position(at: b) - path.position(at: a)) / (b - a)
    }

    @inline(__always) public func isAirborne(at t: Double) -> Bool {
        fate == .airborne && t >= launchTime && t < endTime && t < impactTime
    }
}

/// A scenario's problem that only shows when the raid is built (e.g. a ballistic arc that cannot reach).
public struct RaidBuildError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Builds the threats of a scenario: explicit ones as written, waves drawn from the scenario's
/// seeded "raid" stream.
public enum RaidBuilder {
    public static func build(_ s: Scenario, replication: UInt64 = 0) throws -> [ThreatInstance] {
        var rng = RandomStream(seed: s.seed, replication: replication, component: "raid")
        var out: [ThreatInstance] = []
        let assetIndex = Dictionary(s.assets.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        func make(id: String, typeName: String, launch: Double, route: [Waypoint], target: Int?) throws {
            guard let type = s.catalogue.threats[typeName] else {
                throw RaidBuildError(message: "\(id): unknown threat type '\(typeName)'")
            }
            var pts = route.map(\.position)
            let path: FlightPath
            switch type.flightModel {
            case .ballistic, .aeroballistic:
                pts[0].height = type.launchAltitude
                var aim = pts[pts.count - 1]
                aim.height = 0
                guard let b = BallisticPath(launch: pts[0], target: aim, loft: type.loftAngle) else {
                    throw RaidBuildError(message: "\(id): no ballistic arc of \(typeName) reaches its aim point")
                }
                path = .ballistic(b)
                pts = [pts[0], aim]
            default:
                let cruise = route.enumerated().map { k, w -> Double in
                    if w.altitudeGiven { return w.position.height }
                    return k == 0 ? type.launchAltitude : (k == route.count - 1 ? 0 : type.cruiseAltitude)
                }
                var cruiseAlt = cruise
                // Interior points without a given altitude cruise at the type's altitude; the ends are
                // shaped by the climb and dive angles.
                cruiseAlt[0] = route[0].altitudeGiven ? cruise[0] : type.cruiseAltitude
                cruiseAlt[cruiseAlt.count - 1] = route[route.count - 1].altitudeGiven ? cruise[cruise.count - 1] : type.cruiseAltitude
                path = .waypoints(WaypointPath(route: pts, cruiseAltitudes: cruiseAlt, speed: type.speed,
                                               climbAngle: type.climbAngle, diveAngle: type.diveAngle,
                                               launchAltitude: type.launchAltitude))
            }
            out.append(ThreatInstance(index: out.count, id: id, typeName: typeName, type: type, launchTime: launch,
                                      route: pts, path: path, targetAsset: target))
        }
        for t in s.threats {
            // The aimed-at asset of an explicit threat: the asset whose radius holds the last point.
            let last = t.route[t.route.count - 1].position
            let target = s.assets.indices.first { k in
                Geodesic.inverse(s.assets[k].position, last).distance <= s.assets[k].radius
            }
            try make(id: t.id, typeName: t.type, launch: t.launchTime, route: t.route, target: target)
        }
        for w in s.waves {
            let weights = w.targets.map(\.weight)
            for k in 0..<w.count {
                let launch = w.count == 1 ? w.launchStart : rng.uniform(w.launchStart, w.launchEnd)
                let off = rng.pointInDisc(radius: w.launchRadius)
                let lf = LocalFrame(origin: w.launchCenter)
                var start = lf.geodetic(enu: Vector3(off.x, off.y, 0)); start.height = 0
                var route = [Waypoint(position: start, altitudeGiven: false)]
                for v in w.via {
                    let o = rng.pointInDisc(radius: w.routeSpread)
                    var g = LocalFrame(origin: v.position).geodetic(enu: Vector3(o.x, o.y, 0))
                    g.height = v.position.height
                    route.append(Waypoint(position: g, altitudeGiven: v.altitudeGiven))
                }
                let ti = weights.isEmpty ? nil : rng.weightedIndex(weights)
                let assetK = ti.flatMap { assetIndex[w.targets[$0].asset] }
                var aim = assetK.map { s.assets[$0].position } ?? start
                let o = rng.pointInDisc(radius: w.aimSpread)
                aim = LocalFrame(origin: Geodetic(latitude: aim.latitude, longitude: aim.longitude, height: 0)).geodetic(enu: Vector3(o.x, o.y, 0))
                aim.height = 0
                route.append(Waypoint(position: aim, altitudeGiven: false))
                try make(id: "\(w.name)-\(k + 1)", typeName: w.type, launch: launch, route: route, target: assetK)
            }
        }
        // Launch order, then id, so indices are stable.
        out.sort { $0.launchTime != $1.launchTime ? $0.launchTime < $1.launchTime : $0.id < $1.id }
        return out.enumerated().map { k, t in
            ThreatInstance(index: k, id: t.id, typeName: t.typeName, type: t.type, launchTime: t.launchTime,
                           route: t.route, path: t.path, targetAsset: t.targetAsset)
        }
    }
}
