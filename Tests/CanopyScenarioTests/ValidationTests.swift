import CanopyCore
import Foundation
import Testing

@testable import CanopyScenario

/// A small valid scenario; tests change one thing at a time.
let validYAML = """
name: Test
seed: 3
duration: 7200
origin: {lat: 50.45, lon: 30.52}
assets:
  - city: Kyiv
    radius: 12000
  - {name: Plant, lat: 50.3, lon: 30.3, value: 5000, radius: 1500}
regions: ukraine-oblasts
sensors:
  - {id: R1, type: radar-medium, lat: 50.3, lon: 31.1, alt: 20}
acousticNetworks:
  - {id: A1, type: acoustic-node, lat: 50.45, lon: 30.52, radius: 30000, spacing: 10000}
citizenNetworks:
  - {id: C1, type: citizen-app, lat: 50.4, lon: 31.0, radius: 200000}
fireUnits:
  - {id: FU1, type: iris-t-slm, lat: 50.4, lon: 30.7, magazine: 8, launchers: 2}
  - {id: FU2, type: gepard, lat: 50.5, lon: 30.7, magazine: 20}
raids:
  - name: night
    threats:
      - id: CM1
        type: kh-101
        launchTime: 100
        route:
          - {lat: 49.0, lon: 34.0}
          - {lat: 50.45, lon: 30.52}
    waves:
      - type: shahed-136
        count: 4
        launchArea: {lat: 50.6, lon: 33.5, radius: 5000}
        launchWindow: [0, 600]
        targets: {Kyiv: 2, Plant: 1}
doctrine:
  mode: shoot-look-shoot
  reserves:
    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}
"""

func load(_ yaml: String, file: String = "test.yaml") throws -> Scenario {
    try ScenarioLoader.load(text: yaml, fileName: file, baseDirectory: nil)
}

/// A catalogue entry of a gun effector type (a list item of `catalogue.effectors`), with its cost a shot.
func gun(_ name: String, cost: String) -> String {
    "    - {name: \(name), kind: gun, killProbability: {drone: 0.3}, maxRange: 2000, maxAltitude: 1000, interceptorSpeed: 900, reactionTime: 2, costPerShot: \(cost)}\n"
}

/// The messages of a scenario that must fail.
func problems(_ yaml: String, file: String = "test.yaml") -> [String] {
    do {
        _ = try load(yaml, file: file)
        return []
    } catch let e as ScenarioError {
        return e.problems.map { "\($0.file): \($0.path.isEmpty ? "" : $0.path + ": ")\($0.message)" }
    } catch {
        return ["unexpected error \(error)"]
    }
}

@Suite("Scenario loading and validation")
struct ScenarioValidationTests {
    @Test("A valid scenario loads with units converted and defaults applied")
    func valid() throws {
        let s = try load(validYAML)
        #expect(s.name == "Test" && s.seed == 3 && s.duration == 7200)
        #expect(s.assets.count == 2 && s.assets[0].name == "Kyiv" && s.assets[0].population > 2_000_000)
        #expect(s.assets[0].radius == 12_000 && s.assets[1].kind == .site && s.assets[1].damagePerKg == 2e-3)
        #expect(abs(s.assets[1].position.latitude - radians(50.3)) < 1e-15)
        #expect(s.regions.count == 27)
        #expect(s.threats.count == 1 && s.threats[0].route.count == 2)
        #expect(s.waves.count == 1 && s.waves[0].name == "night-wave1" && s.waves[0].aimSpread == 2000)
        #expect(s.fireUnits[1].launchers == 1)
        #expect(s.doctrine.reserves.first?.forClasses == [.ballistic])
        #expect(s.tracker.confirmM == 3 && s.alerting.latency == 10)
        #expect(s.tracker.initiation == .mOfN && s.tracker.falseTrackProbability == 1e-5 && s.tracker.missedTrackProbability == 0.01)
        let scored = try load(validYAML + "\ntracker: {initiation: score, falseTrackProbability: 1.0e-3, missedTrackProbability: 0.05}\n")
        #expect(scored.tracker.initiation == .score && scored.tracker.falseTrackProbability == 1e-3 && scored.tracker.missedTrackProbability == 0.05)
        #expect(problems(validYAML + "\ntracker: {initiation: sprt}\n")
                == ["test.yaml: tracker.initiation: must be one of m-of-n, score (got sprt)"])
        #expect(problems(validYAML + "\ntracker: {falseTrackProbability: 0.7}\n")
                == ["test.yaml: tracker.falseTrackProbability: must be < 0.5 (got 0.7)"])
        #expect(s.tracker.radialSpeed == .fuse && s.tracker.maxAcceleration == 40)
        // A radar's ASTERIX data source identifier: both codes, each a byte, no two radars alike.
        #expect(s.sensors.allSatisfy { $0.asterixSAC == nil && $0.asterixSIC == nil })
        let radar0 = "{id: R1, type: radar-medium, lat: 50.3, lon: 31.1, alt: 20}"
        #expect(validYAML.contains(radar0))
        let coded = try load(validYAML.replacingOccurrences(of: radar0, with: "{id: R1, type: radar-medium, lat: 50.3, lon: 31.1, alt: 20, sac: 25, sic: 201}\n  - {id: R2, type: radar-short, lat: 50.4, lon: 31.1, alt: 20, sac: 25, sic: 202}"))
        #expect(coded.sensors[0].asterixSAC == 25 && coded.sensors[0].asterixSIC == 201)
        #expect(problems(validYAML.replacingOccurrences(of: radar0, with: "{id: R1, type: radar-medium, lat: 50.3, lon: 31.1, alt: 20, sac: 256}\n  - {id: R2, type: radar-short, lat: 50.4, lon: 31.1, alt: 20, sac: 1, sic: 2}\n  - {id: R3, type: radar-short, lat: 50.5, lon: 31.1, alt: 20, sac: 1, sic: 2}"))
                == ["test.yaml: sensors[0].sac: must be ≤ 255 (got 256)", "test.yaml: sensors[0].sic: is required with sac (the radar's ASTERIX data source identifier)",
                    "test.yaml: sensors[2].sic: SAC/SIC 1/2 is already R2's"])
        let gated = try load(validYAML + "\ntracker: {radialSpeed: gate, maxAcceleration: 80}\n")
        #expect(gated.tracker.radialSpeed == .gate && gated.tracker.maxAcceleration == 80)
        #expect(problems(validYAML + "\ntracker: {radialSpeed: fused, maxAcceleration: -1}\n")
                == ["test.yaml: tracker.radialSpeed: must be one of fuse, gate, ignore (got fused) — did you mean 'fuse'?",
                    "test.yaml: tracker.maxAcceleration: must be ≥ 0 (got -1)"])
        // The filter bank: by default one constant-velocity filter; an IMM when models are given.
        #expect(gated.tracker.models.isEmpty)
        let imm = try load(validYAML + "\ntracker: {models: [{type: cv, q: 5}, {type: ct, q: 5, turnRate: 3, sojourn: 10}]}\n")
        #expect(imm.tracker.models.count == 2 && imm.tracker.models[1].kind == .coordinatedTurn)
        #expect(abs(imm.tracker.models[1].turnRate - 3 * .pi / 180) < 1e-12 && imm.tracker.models[1].sojourn == 10)
        #expect(problems(validYAML + "\ntracker: {models: [{type: custom, q: 1}, {type: cv, q: 0, turnRate: 2}]}\n")
                == ["test.yaml: tracker.models[0].type: must be one of cv, ct, ballistic, nct (got custom: a model of your own is given in Swift, RunOptions.trackerModels; docs/library.md)",
                    "test.yaml: tracker.models[1].q: must be > 0 (got 0)",
                    "test.yaml: tracker.models[1].turnRate: applies only to types ct and nct"])
        // An estimated turn: alone, its spread in °/s and its noise in °²/s³.
        let nct = try load(validYAML + "\ntracker: {models: [{type: nct, q: 5, turnRate: 2, turnNoise: 0.5}]}\n")
        #expect(nct.tracker.models.count == 1 && nct.tracker.models[0].kind == .estimatedTurn)
        #expect(abs(nct.tracker.models[0].turnRate - 2 * .pi / 180) < 1e-12)
        #expect(abs(nct.tracker.models[0].turnNoise - 0.5 * (.pi / 180) * (.pi / 180)) < 1e-15)
        #expect(problems(validYAML + "\ntracker: {models: [{type: nct, q: 5}, {type: cv, q: 5, turnNoise: 1}]}\n")
                == ["test.yaml: tracker.models[0].type: an nct model runs alone (it follows turns of either sense itself): list it as the only model, or use cv and ct models in an IMM",
                    "test.yaml: tracker.models[1].turnNoise: applies only to type nct"])
        #expect(problems(validYAML + "\ntracker: {models: []}\n") == ["test.yaml: tracker.models: must list 1 to 4 motion models (got 0)"])
        // Angles in the catalogue arrive in radians.
        let radar = try #require(s.catalogue.sensors["radar-medium"]?.radar)
        #expect(radar.sigmaAzimuth < 0.05)
        // The built-in radars measure radial speed.
        #expect(radar.sigmaRangeRate > 0 && radar.rangeRateSpan >= 1_000)
    }

    @Test("YAML and JSON give the same scenario")
    func jsonEqualsYAML() throws {
        let json = """
        {"name": "Test", "seed": 3, "duration": 7200, "origin": {"lat": 50.45, "lon": 30.52},
         "assets": [{"city": "Kyiv", "radius": 12000}, {"name": "Plant", "lat": 50.3, "lon": 30.3, "value": 5000, "radius": 1500}],
         "regions": "ukraine-oblasts",
         "sensors": [{"id": "R1", "type": "radar-medium", "lat": 50.3, "lon": 31.1, "alt": 20}],
         "acousticNetworks": [{"id": "A1", "type": "acoustic-node", "lat": 50.45, "lon": 30.52, "radius": 30000, "spacing": 10000}],
         "citizenNetworks": [{"id": "C1", "type": "citizen-app", "lat": 50.4, "lon": 31.0, "radius": 200000}],
         "fireUnits": [{"id": "FU1", "type": "iris-t-slm", "lat": 50.4, "lon": 30.7, "magazine": 8, "launchers": 2},
                       {"id": "FU2", "type": "gepard", "lat": 50.5, "lon": 30.7, "magazine": 20}],
         "raids": [{"name": "night",
                    "threats": [{"id": "CM1", "type": "kh-101", "launchTime": 100,
                                 "route": [{"lat": 49.0, "lon": 34.0}, {"lat": 50.45, "lon": 30.52}]}],
                    "waves": [{"type": "shahed-136", "count": 4, "launchArea": {"lat": 50.6, "lon": 33.5, "radius": 5000},
                               "launchWindow": [0, 600], "targets": {"Kyiv": 2, "Plant": 1}}]}],
         "doctrine": {"mode": "shoot-look-shoot", "reserves": [{"effector": "iris-t-slm", "rounds": 2, "for": ["ballistic"]}]}}
        """
        let a = try load(validYAML), b = try load(json, file: "test.json")
        #expect(a.assets == b.assets && a.sensors == b.sensors && a.fireUnits == b.fireUnits)
        #expect(a.threats == b.threats && a.waves.map(\.count) == b.waves.map(\.count))
        #expect(Set(a.waves[0].targets.map(\.asset)) == Set(b.waves[0].targets.map(\.asset)))
        #expect(a.acousticNetworks == b.acousticNetworks && a.citizenNetworks == b.citizenNetworks)
        #expect(a.doctrine == b.doctrine && a.regions.count == b.regions.count)
        // A byte-order mark, as some editors write, is skipped.
        let bom = try load("\u{FEFF}" + json, file: "test.json")
        #expect(bom.assets == b.assets)
    }

    @Test("JSON scenarios: bad text is named with its line, strictly (numbers beyond a double, NaN, trailing commas, a key twice)")
    func strictJSON() {
        let base = "{\"name\": \"J\",\n \"seed\": 3,\n \"duration\": 7200,\n \"origin\": {\"lat\": 50.45, \"lon\": 30.52}}"
        #expect(problems(base, file: "j.json").allSatisfy { !$0.contains("not valid JSON") })
        let cases: [(String, String, String)] = [
            ("\"duration\": 7200", "\"duration\": 1e999", "j.json: not valid JSON: the number is beyond the range of a double"),
            ("\"duration\": 7200", "\"duration\": NaN", "j.json: not valid JSON: expected a value, found 'N'"),
            ("\"lon\": 30.52}}", "\"lon\": 30.52},}", "j.json: not valid JSON: a trailing comma before '}' (JSON allows none)"),
            ("\"seed\": 3,", "\"seed\": [3,],", "j.json: not valid JSON: a trailing comma before ']' (JSON allows none)"),
            ("\"lon\": 30.52}}", "\"lon\": 30.52}, \"x\" 1}", "j.json: not valid JSON: expected ':' after a key"),
            ("\"seed\": 3,", "\"seed\": 3, \"seed\": 4,", "j.json: not valid JSON: the key \"seed\" appears twice in one object"),
            ("}}", "}} x", "j.json: not valid JSON: unexpected text after the end of the document"),
        ]
        for (from, to, expected) in cases {
            #expect(base.contains(from))
            do {
                _ = try load(base.replacingOccurrences(of: from, with: to), file: "j.json")
                Issue.record("accepted: \(to)")
            } catch let e as ScenarioError {
                let p = e.problems.first
                let text = p.map { "\($0.file): \($0.message)" } ?? ""
                #expect(text.hasPrefix(expected), "\(text)")
                #expect(p?.line != nil, "no line for \(to)")
            } catch { Issue.record("\(error)") }
        }
        // A key given twice is named on its own line (a pretty-printed file: the third).
        do {
            _ = try load("{\n \"name\": \"J\",\n \"name\": \"K\"\n}", file: "j.json")
            Issue.record("a key twice was accepted")
        } catch let e as ScenarioError {
            #expect(e.problems.first?.line == 3, "\(e.problems)")
        } catch { Issue.record("\(error)") }
        // A lone minus and a leading zero are not numbers.
        #expect(problems(base.replacingOccurrences(of: "\"seed\": 3", with: "\"seed\": -"), file: "j.json")
            .contains { $0.contains("a '-' with no digits after it") })
        #expect(problems(base.replacingOccurrences(of: "\"seed\": 3", with: "\"seed\": 007"), file: "j.json")
            .contains { $0.contains("a number with a leading zero") })
        // Too deep a nesting is refused, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000)
        #expect(problems(#"{"name": "J", "x": \#(deep)}"#, file: "j.json").contains { $0.contains("nested deeper than 256 levels") })
    }

    @Test("A catalogue sensor with several bad figures has each named at once, and no follow-on error where it is used")
    func catalogueAllAtOnce() {
        let y = validYAML.replacingOccurrences(of: "type: radar-medium", with: "type: r1") + """

            catalogue:
              sensors:
                - {name: r1, kind: radar, radar: {referenceRange: -1, maxRange: 0, period: 0, sigmaRange: 40, sigmaAzimuth: 100, sigmaElevation: 0.3}}
            """
        let msgs = problems(y)
        for field in ["referenceRange", "maxRange", "period", "sigmaAzimuth"] {
            #expect(msgs.contains { $0.contains("catalogue.sensors[0].radar.\(field)") }, "\(field): \(msgs)")
        }
        #expect(!msgs.contains { $0.contains("unknown sensor type 'r1'") }, "\(msgs)")
    }

    @Test("An asset's population and value are bounded (a city of 10¹⁰⁰ made every share of value 0)")
    func populationBounded() {
        let y = validYAML.replacingOccurrences(of: "    radius: 12000", with: "    radius: 12000\n    population: 1e100")
        #expect(problems(y).contains { $0.hasPrefix("test.yaml: assets[0].population: must be ≤ 1000000000") }, "\(problems(y))")
        let v = validYAML.replacingOccurrences(of: "value: 5000", with: "value: 1e15")
        #expect(problems(v).contains { $0.hasPrefix("test.yaml: assets[1].value: must be ≤ 1000000000000") }, "\(problems(v))")
    }

    @Test("The built-in catalogue gives every figure a source and a confidence label")
    func catalogueSources() throws {
        let cat = try Catalogue.builtIn()
        #expect(cat.threats.count >= 8 && cat.effectors.count >= 9 && cat.sensors.count >= 5)
        for t in cat.threats.values {
            for f in ["speed", "rcs", "warheadKg", "unitCost", "maxRange"] { #expect(t.provenance[f] != nil, "\(t.name).\(f) has no source") }
        }
        for e in cat.effectors.values {
            for f in ["maxRange", "costPerShot", "reactionTime", "fireChannels"] { #expect(e.provenance[f] != nil, "\(e.name).\(f) has no source") }
            #expect(e.killProbability.count == ThreatClass.allCases.count, "\(e.name) lacks a class")
        }
        #expect(Set(cat.effectors.values.map(\.kind)) == Set(EffectorKind.allCases))
    }

    // Each bad input gives its own message, with the file and the path.
    static let badCases: [(String, String, String)] = [
        ("magazine: 8, launchers: 2}", "magazine: 0, launchers: 2}", "test.yaml: fireUnits[0].magazine: must be ≥ 1 (got 0)"),
        ("magazine: 8, launchers: 2}", "magazin: 8, launchers: 2}", "test.yaml: fireUnits[0].magazin: unknown key 'magazin' — did you mean 'magazine'?"),
        ("type: iris-t-slm", "type: iris-t", "test.yaml: fireUnits[0].type: unknown effector type 'iris-t' — did you mean 'iris-t-slm'?"),
        ("{lat: 49.0, lon: 34.0}", "{lat: 95.0, lon: 34.0}", "test.yaml: raids[0].threats[0].route[0].lat: must be ≤ 90 (got 95)"),
        ("launchWindow: [0, 600]", "launchWindow: [600, 0]", "test.yaml: raids[0].waves[0].launchWindow: start must be ≤ end (got [600, 0])"),
        ("targets: {Kyiv: 2, Plant: 1}", "targets: {Kyiw: 2, Plant: 1}", "test.yaml: raids[0].waves[0].targets.Kyiw: 'Kyiw' is not an asset of this scenario — did you mean 'Kyiv'?"),
        ("  - city: Kyiv", "  - city: Kiev", "test.yaml: assets[0].city: unknown city 'Kiev'"),
        ("mode: shoot-look-shoot", "mode: shoot-and-pray", "test.yaml: doctrine.mode: must be one of shoot-look-shoot, salvo (got shoot-and-pray)"),
        ("count: 4", "count: four", "test.yaml: raids[0].waves[0].count: must be a whole number (got four)"),
        ("{id: R1, type: radar-medium", "{id: R1, type: acoustic-node", "test.yaml: sensors[0].type: 'acoustic-node' is a acoustic sensor; this list needs a radar type"),
        ("{id: FU2, type: gepard", "{id: FU1, type: gepard", "test.yaml: fireUnits[1].id: duplicate id 'FU1'"),
        ("duration: 7200", "duration: -5", "test.yaml: duration: must be > 0 (got -5)"),
        ("          - {lat: 49.0, lon: 34.0}\n", "", "test.yaml: raids[0].threats[0].route: needs at least 2 points: launch point first, aim point last (got 1)"),
        ("regions: ukraine-oblasts", "regions: nowhere.geojson", "test.yaml: regions: cannot read 'nowhere.geojson'"),
        ("launchArea: {lat: 50.6, lon: 33.5, radius: 5000}", "launchArea: {lat: 40.0, lon: 65.0, radius: 5000}", "test.yaml: raids[0].waves[0].targets.Kyiv: route of"),
        ("spacing: 10000", "spacing: 100", "test.yaml: acousticNetworks[0]: would place"),
        ("name: Test\n", "", "test.yaml: name: is required"),
        // A radar scanning every nanosecond passed, then the run never ended.
        ("name: Test\n", "name: Test\ncatalogue:\n  sensors:\n    - {name: fast, kind: radar, radar: {referenceRange: 1e5, referenceRCS: 1, maxRange: 2e5, period: 1.0e-9, sigmaRange: 40, sigmaAzimuth: 0.3, sigmaElevation: 0.3, minElevation: 0, clutterPerScan: 0, falseAlarmProbability: 1.0e-6}}\n",
         "test.yaml: catalogue.sensors[0].radar.period: must be ≥ 0.1"),
        ("name: Test\n", "name: Test\ncatalogue:\n  sensors:\n    - {name: doppler, kind: radar, radar: {referenceRange: 1e5, maxRange: 2e5, period: 2, sigmaRange: 40, sigmaAzimuth: 0.3, sigmaElevation: 0.3, sigmaRangeRate: -2}}\n",
         "test.yaml: catalogue.sensors[0].radar.sigmaRangeRate: must be ≥ 0 (got -2)"),
        ("name: Test\n", "name: Test\ncatalogue:\n  sensors:\n    - {name: doppler, kind: radar, radar: {referenceRange: 1e5, maxRange: 2e5, period: 2, sigmaRange: 40, sigmaAzimuth: 0.3, sigmaElevation: 0.3, sigmaRangeRate: 2, rangeRateSpan: 0}}\n",
         "test.yaml: catalogue.sensors[0].radar.rangeRateSpan: must be > 0 (got 0)"),
        ("    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}", "    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}\n    - {effector: iris-t-slm, rounds: 1, for: [cruise]}",
         "test.yaml: doctrine.reserves[1].effector: 'iris-t-slm' already has a reserve (doctrine.reserves[0])"),
        // The earlier entry is named by its place in the file, even after an entry with an error.
        ("    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}", "    - {effector: gepard, rounds: -1, for: [drone]}\n    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}\n    - {effector: iris-t-slm, rounds: 1, for: [cruise]}",
         "test.yaml: doctrine.reserves[2].effector: 'iris-t-slm' already has a reserve (doctrine.reserves[1])"),
        ("mode: shoot-look-shoot", "mode: shoot-look-shoot\n  expectedThreats: [{type: shahed-136, count: 6000, at: Kyiv}, {type: shahed-136, count: 6000, at: Plant}]",
         "test.yaml: doctrine.expectedThreats: 12000 expected threats in all; at most 10000"),
        // Names that must be unique: threat ids, waves, raids, a catalogue list's types.
        ("      - id: CM1\n", "      - id: CM2\n        type: kh-101\n        launchTime: 50\n        route: [{lat: 49.0, lon: 34.0}, {lat: 50.45, lon: 30.52}]\n      - id: CM2\n",
         "test.yaml: raids[0].threats[1].id: 'CM2' is the id of raids[0].threats[0] too"),
        ("      - type: shahed-136\n        count: 4", "      - {name: east, type: shahed-136, count: 1, launchArea: {lat: 50.6, lon: 33.5, radius: 5000}, targets: {Kyiv: 1}}\n      - name: east\n        type: shahed-136\n        count: 4",
         "test.yaml: raids[0].waves[1].name: 'east' names raids[0].waves[0] too"),
        ("      - id: CM1\n", "      - id: night-wave1-3\n", "test.yaml: raids[0].waves[0].name: its threat night-wave1-3 would have the id of raids[0].threats[0]"),
        ("doctrine:\n", "  - {name: night, waves: []}\ndoctrine:\n", "test.yaml: raids[1].name: 'night' names raids[0] too"),
        ("doctrine:\n", "  - {name: empty}\ndoctrine:\n", "test.yaml: raids[1]: has neither threats nor waves"),
        ("name: Test\n", "name: Test\ncatalogue:\n  effectors:\n" + gun("cheap", cost: "10") + gun("cheap", cost: "20"),
         "test.yaml: catalogue.effectors[1].name: 'cheap' is the name of catalogue.effectors[0] too"),
        // Costs beyond ten billion dollars a shot (1e308 had made infinite sums in the outputs).
        ("name: Test\n", "name: Test\ncatalogue:\n  effectors:\n" + gun("dear", cost: "1e308"),
         "test.yaml: catalogue.effectors[0].costPerShot: must be ≤"),
        ("seed: 3", "seed: -1", "test.yaml: seed: must be a whole number from 0 to 18446744073709551615 (got -1)"),
        // An empty route is named (beside other problems too: it had been named only alone).
        ("          - {lat: 49.0, lon: 34.0}\n          - {lat: 50.45, lon: 30.52}\n", "          []\n", "test.yaml: raids[0].threats[0].route: needs at least 2 points (got 0)"),
        ("    - {effector: iris-t-slm, rounds: 2, for: [ballistic]}", "    - {effector: iris-t-slm, rounds: 2, for: []}",
         "test.yaml: doctrine.reserves[0].for: must name at least one threat class"),
        ("  - city: Kyiv\n", "  - city: Kyiv\n    alt: 5000\n", "test.yaml: assets[0].alt: does not apply to a city asset"),
        ("seed: 3", "seed: 3\nseed: 4", "test.yaml: 'seed' is given twice in one mapping"),
    ]

    @Test("A seed takes the full unsigned 64-bit range, quoted or not")
    func bigSeed() throws {
        #expect(try load(validYAML.replacingOccurrences(of: "seed: 3", with: "seed: 18446744073709551615")).seed == UInt64.max)
        #expect(try load(validYAML.replacingOccurrences(of: "seed: 3", with: "seed: '9223372036854775808'")).seed == 1 << 63)
        // A whole number in another notation, as before.
        #expect(try load(validYAML.replacingOccurrences(of: "seed: 3", with: "seed: 42.0")).seed == 42)
    }

    @Test("Bad input: each kind gives its message", arguments: 0..<badCases.count)
    func badInput(_ k: Int) {
        let (from, to, expected) = Self.badCases[k]
        #expect(validYAML.contains(from), "case \(k) does not apply")
        let msgs = problems(validYAML.replacingOccurrences(of: from, with: to))
        #expect(msgs.contains { $0.hasPrefix(expected) }, "case \(k): expected \(expected), got \(msgs)")
    }

    @Test("Region files: coordinates outside degrees (a projected CRS) are named, not rastered")
    func projectedRegions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-regions-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func geojson(_ ring: String) throws -> String {
            let path = dir.appendingPathComponent("r\(abs(ring.hashValue)).geojson").path
            try """
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Somewhere"},
             "geometry": {"type": "Polygon", "coordinates": [\(ring)]}}]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // Web Mercator metres: would have sized the raster at about 10¹⁶ cells.
        let mercator = try geojson("[[3395000, 6500000], [3500000, 6500000], [3500000, 6600000], [3395000, 6500000]]")
        let msgs = problems(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regions: \(mercator)"))
        #expect(msgs.contains { $0.contains("feature 0 (Somewhere) has the point [3395000.0, 6500000.0]") && $0.contains("degrees") }, "\(msgs)")
        // The same shape in degrees loads.
        let degrees = try geojson("[[30.4, 50.3], [30.7, 50.3], [30.7, 50.6], [30.4, 50.3]]")
        let ok = try load(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regions: \(degrees)"))
        #expect(ok.regions.count == 1)
        // The file is among the scenario's inputs (a sharded study's digest covers it); the
        // shipped regions are not.
        let shipped = try load(validYAML)
        #expect(ok.inputFiles == [degrees] && shipped.inputFiles.isEmpty)
        // A property named that no feature has, or named without a regions file, is refused.
        let misspelt = problems(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regions: \(degrees)\nregionIdProperty: cod"))
        #expect(misspelt.contains { $0.contains("regionIdProperty: 'cod' is a property of no feature") }, "\(misspelt)")
        let alone = problems(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regionNameProperty: name"))
        #expect(alone.contains { $0.contains("regionNameProperty: applies to a regions file") }, "\(alone)")
        // A MultiPolygon with a broken part is refused, not trimmed.
        let multi = dir.appendingPathComponent("multi.geojson").path
        try """
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Two"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[[[30.4, 50.3], [30.7, 50.3], [30.7, 50.6], [30.4, 50.3]]], [[[30.8, 50.3], [30.9]]]]}}]}
        """.write(toFile: multi, atomically: true, encoding: .utf8)
        let broken = problems(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regions: \(multi)"))
        #expect(broken.contains { $0.contains("part 1 of its MultiPolygon is not a polygon") }, "\(broken)")
        // Two features with one id were merged into one region without a word.
        let twice = dir.appendingPathComponent("twice.geojson").path
        let feature = { (name: String, lon: Double) in
            #"{"type": "Feature", "properties": {"id": "A", "name": "\#(name)"}, "geometry": {"type": "Polygon", "coordinates": [[[\#(lon), 50.3], [\#(lon + 0.3), 50.3], [\#(lon + 0.3), 50.6], [\#(lon), 50.3]]]}}"#
        }
        try #"{"type": "FeatureCollection", "features": [\#(feature("West", 30.4)), \#(feature("East", 31.4))]}"#
            .write(toFile: twice, atomically: true, encoding: .utf8)
        let dup = problems(validYAML.replacingOccurrences(of: "regions: ukraine-oblasts", with: "regions: \(twice)"))
        #expect(dup.contains { $0.contains("feature 1 has the id 'A' of feature 0; region ids must differ") }, "\(dup)")
    }

    @Test("Every problem is reported at once")
    func allAtOnce() {
        var y = validYAML.replacingOccurrences(of: "magazine: 8, launchers: 2}", with: "magazine: 0, launchers: 2}")
        y = y.replacingOccurrences(of: "count: 4", with: "count: 0")
        y = y.replacingOccurrences(of: "seed: 3", with: "seed: 3\nspeed: 4")
        let msgs = problems(y)
        #expect(msgs.count == 3, "\(msgs)")
        #expect(msgs.contains("test.yaml: fireUnits[0].magazine: must be ≥ 1 (got 0)"))
        #expect(msgs.contains("test.yaml: raids[0].waves[0].count: must be ≥ 1 (got 0)"))
        #expect(msgs.contains { $0.hasPrefix("test.yaml: speed: unknown key 'speed' — did you mean 'seed'?") })
    }

    @Test("Malformed YAML and JSON are clean errors with a line")
    func malformed() {
        let y = problems("name: [unclosed\norigin: {lat: 1")
        #expect(y.count == 1 && y[0].hasPrefix("test.yaml: not valid YAML"))
        let j = problems("{\"name\": ", file: "x.json")
        #expect(j.count == 1 && j[0].hasPrefix("x.json: not valid JSON"))
        #expect(problems("", file: "x.txt") == ["x.txt: unknown format '.txt': use .yaml, .yml or .json"])
        #expect(problems("- 1\n- 2").first?.hasPrefix("test.yaml: must be a mapping") == true)
        // "Billion laughs": 700 bytes of aliases of aliases stood for 9⁹ values and hung the loader.
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<10 { bomb += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        #expect(problems(bomb).first?.contains("expands to more than 1000000 values") == true, "\(problems(bomb))")
    }
}
