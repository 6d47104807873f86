import CanopyCore
import CanopyScenario
import CanopyTracking
import Foundation
import Testing

@testable import CanopyBattle
@testable import CanopySimulation
@testable import CanopyTEWA

/// The repository root, found from this file's path (tests run from the source tree).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func example(_ name: String) throws -> Scenario {
    try ScenarioLoader.load(path: repositoryRoot + "/examples/\(name).yaml")
}

func fields(_ e: SimEvent) -> [String: JSONValue] {
    Dictionary(e.fields, uniquingKeysWith: { a, _ in a })
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var doubleValue: Double? {
        switch self {
        case .number(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
}

/// Checks that hold for every run: conservation, magazines, envelopes.
func checkInvariants(_ scenario: Scenario, _ sim: Simulation, _ result: RunResult) {
    // Conservation: launched = destroyed + lost + leaked + airborne at end, per type.
    guard case .object(let byType) = fieldsOf(result.summary)["threats"] ?? .null else {
        Issue.record("summary has no threats")
        return
    }
    var launchedTotal = 0
    for (name, v) in byType {
        let f = fieldsOf(v)
        let n = { (k: String) in Int(f[k]?.doubleValue ?? -1) }
        #expect(n("launched") == n("destroyed") + n("lostJammed") + n("leaked") + n("airborneAtEnd"), "conservation for \(name)")
        #expect(n("detected") <= n("launched") && n("engaged") <= n("launched") && n("tracked") <= n("detected"))
        launchedTotal += n("launched")
    }
    #expect(launchedTotal == sim.threats.count)
    // Interceptors fired ≤ magazines, per fire unit.
    for (k, fu) in scenario.fireUnits.enumerated() {
        #expect(sim.fired[k] <= fu.magazine, "fire unit \(fu.id) fired \(sim.fired[k]) of \(fu.magazine)")
        #expect(sim.fired[k] + sim.roundsLeft[k] == fu.magazine)
    }
    // No kill or jam outside the effector's envelope.
    for e in result.events where e.kind == "intercept" || e.kind == "jam" {
        let f = fields(e)
        guard let effector = f["effector"]?.stringValue, let type = scenario.catalogue.effectors[effector],
              let range = f["groundRange"]?.doubleValue, let alt = f["altitude"]?.doubleValue else {
            Issue.record("\(e.kind) event without envelope fields")
            continue
        }
        #expect(range >= type.minRange && range <= type.maxRange, "\(effector) at \(range) m")
        #expect(alt >= type.minAltitude && alt <= type.maxAltitude, "\(effector) at \(alt) m altitude")
    }
    // Events are consistent with fates.
    let kills = result.events.filter { $0.kind == "intercept" }.count
    #expect(kills == sim.threats.filter { $0.fate == .destroyed }.count)
    let impacts = result.events.filter { $0.kind == "impact" }.count
    #expect(impacts == sim.threats.filter { $0.fate == .impacted }.count)
    // A track is not engaged in a later cycle while an earlier engagement of it is in flight:
    // every earlier order has reported by then (the simulation resolves flights after each cycle,
    // up to the next one, so a report dated at or before a cycle's time has reached it). Two
    // orders of one cycle on one track used to free the track at the first report.
    var engaged: [Int: [Double]] = [:], resolved: [Int: [Double]] = [:]
    for e in result.events {
        guard let track = fields(e)["track"]?.doubleValue.map({ Int($0) }) else { continue }
        switch e.kind {
        case "engage": engaged[track, default: []].append(e.time)
        case "miss", "intercept", "jam", "order_rejected": resolved[track, default: []].append(e.time)
        default: break
        }
    }
    for (track, times) in engaged {
        for t in times {
            let earlier = times.filter { $0 < t }.count
            let reported = resolved[track, default: []].filter { $0 <= t + 1e-6 }.count
            #expect(earlier <= reported, "track \(track) engaged at \(t) with \(earlier - reported) earlier orders in flight")
        }
    }
}

func fieldsOf(_ v: JSONValue) -> [String: JSONValue] {
    if case .object(let o) = v { return Dictionary(o, uniquingKeysWith: { a, _ in a }) }
    return [:]
}

@Suite("End to end", .serialized)
struct EndToEndTests {
    @Test("Kill draws: a repeated (threat, time, fire unit) gets its own stream; other keys are untouched")
    func killDrawKeys() throws {
        let s = try example("quickstart")
        let a = try Simulation(scenario: s), b = try Simulation(scenario: s)
        var first = a.killDraws(threat: 0, time: 100, fireUnit: 0), second = a.killDraws(threat: 0, time: 100, fireUnit: 0)
        let x = (0..<4).map { _ in first.next() }, y = (0..<4).map { _ in second.next() }
        #expect(x != y)
        // The first draw of a key is what it was before any repeat, and other keys do not move.
        var again = b.killDraws(threat: 0, time: 100, fireUnit: 0)
        #expect((0..<4).map { _ in again.next() } == x)
        var other = a.killDraws(threat: 1, time: 100, fireUnit: 0), fresh = b.killDraws(threat: 1, time: 100, fireUnit: 0)
        #expect((0..<4).map { _ in other.next() } == (0..<4).map { _ in fresh.next() })
    }

    @Test("Score initiation weighs detections against the radars' clutter: far fewer false tracks than M-of-N, the raid still tracked")
    func scoreInitiation() throws {
        var s = try example("quickstart")
        // Five times the catalogue's false plots per scan, so that clutter tracks are common; radars
        // without radial speed (which would refuse most clutter pairs under either rule).
        for name in ["radar-medium", "radar-short"] {
            s.catalogue.sensors[name]!.radar!.clutterPerScan = 10
            s.catalogue.sensors[name]!.radar!.sigmaRangeRate = 0
        }
        func falseTracks(_ initiation: InitiationMethod) throws -> (Int, Simulation) {
            var v = s
            v.tracker.initiation = initiation
            let sim = try Simulation(scenario: v)
            _ = sim.run()
            #expect(sim.battle.tracker.configuration.initiation == initiation)
            return (sim.trackTruth.confirmedIDs.filter { (sim.trackTruth[$0] ?? -1) < 0 }.count, sim)
        }
        let (mOfN, _) = try falseTracks(.mOfN)
        let (score, sim) = try falseTracks(.score)
        #expect(mOfN >= 8, "M-of-N confirmed \(mOfN) clutter tracks")
        #expect(score * 4 <= mOfN, "score confirmed \(score) clutter tracks, M-of-N \(mOfN)")
        #expect(sim.threats.filter(\.tracked).count >= sim.threats.count - 1)
        // The tracker weighs each radar's detections against the density its false plots are drawn with.
        let radar = s.catalogue.sensors["radar-medium"]!.radar!
        #expect(sim.battle.tracker.sensors[0].clutterDensity == radar.clutterDensity)
        #expect(abs(radar.clutterDensity * (radar.maxRange - RadarParameters.clutterMinRange) * 2 * .pi * RadarParameters.clutterElevationBand - 10) < 1e-9)
    }

    @Test("Radars that measure radial speed: M-of-N confirms far fewer clutter tracks than without it, the raid still tracked")
    func radialSpeedRefusesClutter() throws {
        var s = try example("quickstart")
        for name in ["radar-medium", "radar-short"] { s.catalogue.sensors[name]!.radar!.clutterPerScan = 10 }
        func run(sigmaRangeRate: Double?) throws -> (Int, Simulation) {
            var v = s
            if let sr = sigmaRangeRate { for name in ["radar-medium", "radar-short"] { v.catalogue.sensors[name]!.radar!.sigmaRangeRate = sr } }
            let sim = try Simulation(scenario: v)
            _ = sim.run()
            return (sim.trackTruth.confirmedIDs.filter { (sim.trackTruth[$0] ?? -1) < 0 }.count, sim)
        }
        let (without, _) = try run(sigmaRangeRate: 0)
        let (with, sim) = try run(sigmaRangeRate: nil)
        #expect(without >= 8, "without radial speed \(without) clutter tracks")
        #expect(with * 4 <= without, "with radial speed \(with) clutter tracks, without \(without)")
        #expect(sim.threats.filter(\.tracked).count >= sim.threats.count - 1)
        #expect(sim.battle.tracker.sensors[0].sigmaRangeRate == s.catalogue.sensors["radar-medium"]!.radar!.sigmaRangeRate)
        #expect(sim.battle.tracker.configuration.radialSpeed == .fuse)
        // The scenario's tracker settings reach the battle's tracker.
        var gated = s
        gated.tracker.radialSpeed = .gate
        gated.tracker.maxAcceleration = 60
        let g = try Simulation(scenario: gated)
        #expect(g.battle.tracker.configuration.radialSpeed == .gate && g.battle.tracker.configuration.maxAcceleration == 60)
        // A threat's velocity (the radial speed's truth) is its path's: the distance flown over a
        // second, and never faster than the path's bound.
        for th in sim.threats {
            let t = th.launchTime + th.path.duration / 2
            let v = th.velocity(at: t)
            let step = norm(th.position(at: t + 0.5) - th.position(at: t - 0.5))
            #expect(abs(norm(v) - step) <= 0.02 * step + 1e-6, "\(th.id): \(norm(v)) m/s against \(step) m in a second")
            #expect(norm(v) <= th.path.maxSpeed * 1.001 + 1e-6)
        }
    }

    @Test("A radar's plot of a threat carries its true radial speed (positive receding) within the radar's noise; false plots' radial speeds spread over the span")
    func simulatedRadialSpeed() throws {
        var s = try example("quickstart")
        for name in ["radar-medium", "radar-short"] { s.catalogue.sensors[name]!.radar!.clutterPerScan = 20 }
        let sim = try Simulation(scenario: s)
        var checked = 0, receding = 0, approaching = 0
        var clutter: [Double] = []
        for th in sim.threats { th.fate = .airborne }
        for r in sim.radars.indices {
            let p = sim.radars[r].params, origin = sim.radars[r].frame.originECEF
            try #require(p.sigmaRangeRate > 0)
            for th in sim.threats {
                for f in [0.5, 0.8, 0.9, 0.95, 0.99] {
                    let t = th.launchTime + th.path.duration * f
                    sim.cachePositions(at: t, stepLength: 1)
                    sim.radarScan(r, at: t)
                    for d in sim.radarBatch {
                        let truth = Int(sim.detectionTruth[Int(d.id)])
                        let rate = try #require(d.rangeRate)
                        if truth < 0 {
                            clutter.append(rate)
                        } else {
                            let seen = sim.threats[truth]
                            let los = seen.position(at: t) - origin
                            let expected = dot(los / norm(los), seen.velocity(at: t))
                            #expect(abs(rate - expected) <= 5 * p.sigmaRangeRate, "\(seen.id) by radar \(r): \(rate) against \(expected)")
                            if expected > 20 { receding += 1 } else if expected < -20 { approaching += 1 }
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked >= 10 && receding + approaching >= 5, "\(checked) plots, \(receding) receding, \(approaching) approaching")
        let span = s.catalogue.sensors["radar-medium"]!.radar!.rangeRateSpan
        #expect(clutter.count >= 100 && clutter.allSatisfy { abs($0) <= span })
        #expect((clutter.min() ?? 0) < -span / 2 && (clutter.max() ?? 0) > span / 2)
    }

    @Test("A run cut off before its launches counts no threat launched or airborne")
    func cutOffBeforeLaunch() throws {
        let s = try example("quickstart")
        let sim = try Simulation(scenario: s)
        // The quickstart's first launch is at 118 s: a run cancelled at 80 s had counted every
        // threat as launched and airborne.
        let r = sim.makeResult(endTime: 80, timings: RunTimings())
        #expect(!r.metrics.classes.isEmpty)
        for (name, k) in r.metrics.classes { #expect(k.launched == 0 && k.airborneAtEnd == 0, "\(name): \(k)") }
        // Nor was anything put at risk (a run cut off had protected "100 %" of what unlaunched threats aimed at).
        #expect(r.metrics.valueAtRisk == 0 && r.metrics.populationAtRisk == 0)
    }

    @Test("Rounds fired on a false detection's cue are counted, with their cost, apart from those at real threats")
    func roundsAtFalseTracks() throws {
        let s = try example("quickstart")
        let sim = try Simulation(scenario: s)
        let clutter = sim.newDetection(threat: -1), real = sim.newDetection(threat: 0)
        func order(_ id: Int, _ cue: UInt64, rounds: Int) -> EngagementOrder {
            EngagementOrder(id: id, fireUnit: 0, track: 90 + id, cueDetection: cue, rounds: rounds, orderTime: 10, launchTime: 12,
                            predictedIntercept: InterceptSolution(time: 30, point: .zero, groundRange: 1_000, altitude: 500),
                            killProbability: 0.5, threatClass: .drone)
        }
        sim.execute(order(1, clutter, rounds: 2))
        sim.execute(order(2, real, rounds: 1))
        let cost = try #require(s.catalogue.effectors[s.fireUnits[0].type]).costPerShot
        let m = sim.makeResult(endTime: 20, timings: RunTimings()).metrics
        #expect(m.falseTrackRounds == 2 && m.falseTrackCost == 2 * cost && m.interceptorCost == 3 * cost)
    }

    @Test("The quickstart runs, defends, and keeps every invariant")
    func quickstart() throws {
        let s = try example("quickstart")
        let sim = try Simulation(scenario: s)
        let r = sim.run()
        checkInvariants(s, sim, r)
        let kinds = Set(r.events.map(\.kind))
        #expect(kinds.isSubset(of: Simulation.eventKinds), "\(kinds.subtracting(Simulation.eventKinds)) not in Simulation.eventKinds")
        for k in ["launch", "track_start", "track_confirm", "engage", "alert_on", "alert_off"] {
            #expect(kinds.contains(k), "no \(k) event")
        }
        // No track is confirmed before it starts: a late acoustic or citizen report that confirms
        // a track started after the report was taken confirms it when it arrives (track 6253 was
        // confirmed at 4679.5 s and started at 4691.6 s).
        var started: [Int: Double] = [:]
        var confirmed: [Int: Double] = [:]
        for e in r.events where e.kind == "track_start" || e.kind == "track_confirm" {
            guard case .int(let id)? = e.fields.first(where: { $0.0 == "track" })?.1 else { continue }
            if e.kind == "track_start" { started[id] = e.time } else { confirmed[id] = e.time }
        }
        #expect(!confirmed.isEmpty)
        for (id, t) in confirmed {
            let t0 = try #require(started[id], "track \(id) confirmed, never started")
            #expect(t >= t0, "track \(id) confirmed at \(t), started at \(t0)")
        }
        #expect(sim.threats.allSatisfy { $0.detected })
        #expect(sim.threats.filter(\.tracked).count >= sim.threats.count - 1)
        #expect(sim.threats.contains { $0.fate == .destroyed || $0.fate == .lost })
        #expect(!r.trackRows.isEmpty)
    }

    @Test("Value at risk is what the warheads would destroy at their planned impact points, and a site is destroyed once")
    func valueAtRiskUndefended() throws {
        // The quickstart's six threats aimed at a 300 m site with a 2 km aim spread, no defence,
        // and warheads that each destroy the whole site. At risk was the target's value for every
        // warhead, so an undefended raid "protected" the value of those that landed beside it; and
        // each hit counted the site's whole value again.
        var text = try String(contentsOfFile: repositoryRoot + "/examples/quickstart.yaml", encoding: .utf8)
        let fu = try #require(text.range(of: "fireUnits:"))
        let raids = try #require(text.range(of: "raids:"))
        text.replaceSubrange(fu.lowerBound..<raids.lowerBound, with: "")
        text = text.replacingOccurrences(of: "  - city: Kyiv\n    radius: 15000\n",
                                         with: "  - {name: Site, kind: site, lat: 50.45, lon: 30.52, value: 100000, radius: 300, damagePerKg: 0.02}\n")
        text = text.replacingOccurrences(of: "targets: {Kyiv: 1}", with: "targets: {Site: 1}")
        text = text.replacingOccurrences(of: "  - {lat: 50.45, lon: 30.52}\n", with: "  - {lat: 50.451, lon: 30.521}\n")
        let s = try ScenarioLoader.load(text: text, fileName: "site.yaml", baseDirectory: repositoryRoot + "/examples")
        #expect(s.fireUnits.isEmpty && s.assets.count == 1)
        let sim = try Simulation(scenario: s)
        let r = sim.run()
        let site = WGS84.ecef(s.assets[0].position)
        let hits = sim.threats.filter { $0.fate == .impacted && norm(WGS84.ecef($0.path.impactPoint) - site) <= 300 }.count
        let beside = sim.threats.filter { norm(WGS84.ecef($0.path.impactPoint) - site) > 300 }.count
        // The case at hand: several hits, and threats that land beside the site.
        #expect(hits >= 2 && beside >= 1, "hits \(hits), beside \(beside)")
        let m = r.metrics
        #expect(m.valueLost == m.valueAtRisk, "at risk \(m.valueAtRisk), lost \(m.valueLost)")
        #expect(m.valueLost == 100_000)
    }

    @Test("CSV fields are quoted when they hold a comma, a quote or a line break")
    func csvFields() {
        #expect(OutputWriter.csvField("plain") == "plain")
        #expect(OutputWriter.csvField("a,b") == "\"a,b\"")
        #expect(OutputWriter.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(OutputWriter.csvField("two\nlines") == "\"two\nlines\"")
        #expect(OutputWriter.csvField("Київ") == "Київ")
    }

    @Test("An output replaces a file in one step, and refuses a directory or a device instead of removing it")
    func outputsNeverRemoveOtherThings() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("canopy-out-\(getpid())").path
        try fm.createDirectory(atPath: dir + "/kept", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        try "keep".write(toFile: dir + "/kept/x", atomically: false, encoding: .utf8)
        // A directory where the file should go: an error naming it, the directory untouched.
        #expect {
            try OutputWriter.atomicWrite("{}", to: dir + "/kept")
        } throws: { ($0 as? OutputWriter.WriteError)?.message.contains("\(dir)/kept: it is a directory") == true }
        #expect((try? String(contentsOfFile: dir + "/kept/x", encoding: .utf8)) == "keep")
        #expect {
            try OutputWriter.atomicWrite("{}", to: "/dev/null")
        } throws: { ($0 as? OutputWriter.WriteError)?.message.contains("not a regular file") == true }
        // A regular file is replaced, and no temporary file is left.
        try OutputWriter.atomicWrite("one", to: dir + "/f.json")
        try OutputWriter.atomicWrite("two", to: dir + "/f.json")
        #expect((try? String(contentsOfFile: dir + "/f.json", encoding: .utf8)) == "two")
        #expect(!fm.fileExists(atPath: dir + "/f.json.partial"))
        // A link where the temporary file goes is replaced, not written through.
        try fm.createSymbolicLink(atPath: dir + "/g.json.partial", withDestinationPath: dir + "/kept/x")
        try OutputWriter.atomicWrite("new", to: dir + "/g.json")
        #expect((try? String(contentsOfFile: dir + "/kept/x", encoding: .utf8)) == "keep")
        #expect((try? String(contentsOfFile: dir + "/g.json", encoding: .utf8)) == "new")
        // A set of files: one in the way, none written (not the others beside old ones).
        #expect(throws: OutputWriter.WriteError.self) {
            try OutputWriter.atomicWrite([(dir + "/a.json", Data("a".utf8)), (dir + "/kept", Data("b".utf8))])
        }
        #expect(!fm.fileExists(atPath: dir + "/a.json") && !fm.fileExists(atPath: dir + "/a.json.partial"))
        // A missing directory: the system's reason, with the file.
        #expect {
            try OutputWriter.atomicWrite("x", to: dir + "/no/such/f.json")
        } throws: { ($0 as? OutputWriter.WriteError)?.message == "cannot write \(dir)/no/such/f.json: No such file or directory" }
    }

    @Test("The same seed gives a byte-identical summary; another seed a different one")
    func determinism() throws {
        let s = try example("quickstart")
        let a = try Simulation(scenario: s).run().summary.rendered(pretty: true)
        let b = try Simulation(scenario: s).run().summary.rendered(pretty: true)
        #expect(a == b)
        var s2 = s
        s2.seed = s.seed &+ 1
        let c = try Simulation(scenario: s2).run().summary.rendered(pretty: true)
        #expect(a != c)
    }

    @Test("Outputs are written whole: summary.json, events.ndjson, tracks.csv")
    func outputs() throws {
        let s = try example("quickstart")
        let r = try Simulation(scenario: s).run()
        let dir = NSTemporaryDirectory() + "canopy-e2e-\(UInt32.random(in: 0...UInt32.max))"
        try OutputWriter.write(r, to: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))
        let obj = try JSONSerialization.jsonObject(with: summary) as? [String: Any]
        #expect(obj?["threats"] != nil && obj?["alerts"] != nil && obj?["interceptors"] != nil)
        let lines = try String(contentsOfFile: dir + "/events.ndjson", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == r.events.count)
        var last = -Double.infinity
        for l in lines {
            let e = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any]
            let t = e?["t"] as? Double ?? Double(e?["t"] as? Int ?? -1)
            #expect(t >= last)
            last = t
        }
        let csv = try String(contentsOfFile: dir + "/tracks.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("time,track,class,lat,lon") == true)
        #expect(csv.count == r.trackRows.count + 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/summary.json.partial"))
    }

    @Test("The winter raid and the 2025 drone swarm run to the end with every invariant", arguments: ["winter-raid", "drone-swarm-2025"])
    func bigExamples(name: String) throws {
        let s = try example(name)
        let sim = try Simulation(scenario: s)
        let r = sim.run()
        checkInvariants(s, sim, r)
        #expect(sim.threats.count >= (name == "winter-raid" ? 140 : 650))
        #expect(r.events.contains { $0.kind == "intercept" })
        #expect(r.events.contains { $0.kind == "alert_on" })
        if name == "drone-swarm-2025" { #expect(r.events.contains { $0.kind == "jam" }) }
    }
}
