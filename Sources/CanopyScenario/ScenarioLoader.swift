import CanopyCore
import CanopyTracking
import Foundation

/// Every problem found in a scenario, each with its file, path and what is allowed.
public struct ScenarioError: Error, CustomStringConvertible, Sendable {
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var path: String
        public var message: String
        public var line: Int?
        public var description: String {
            "\(file): \(path.isEmpty ? "" : path + ": ")\(message)" + (line.map { " (line \($0))" } ?? "")
        }
    }
    public var problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Loads and validates scenarios (YAML or JSON, one schema; see docs/scenario.md).
public enum ScenarioLoader {
    /// Loads a scenario file. Throws `ScenarioError` listing every problem.
    public static func load(path: String) throws -> Scenario {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let text = try ScenarioLoader.text(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try load(text: text, fileName: name, baseDirectory: base)
    }

    /// A scenario-side file's text, or the reason it cannot be had, as a problem of that file
    /// (a file that cannot be read is named with its full path).
    static func text(path: String) throws -> String {
        do { return try InputFile.readText(path: path) } catch let e as InputFileError {
            let message = e.message == InputFile.notUTF8 ? e.message : "\(e.message) (\(path))"
            throw ScenarioError(problems: [.init(file: URL(fileURLWithPath: path).lastPathComponent, path: "", message: message, line: nil)])
        }
    }

    /// Loads a scenario from text; `fileName`'s extension picks the format, `baseDirectory`
    /// resolves relative paths (regions files).
    public static func load(text: String, fileName: String, baseDirectory: String? = nil,
                            overrides: [ScenarioOverride] = []) throws -> Scenario {
        let ext = URL(fileURLWithPath: fileName).pathExtension.lowercased()
        var doc: Document
        do {
            switch ext {
            case "yaml", "yml": doc = try Document.yaml(text)
            case "json": doc = try Document.json(text)
            default:
                throw ScenarioError(problems: [.init(file: fileName, path: "", message: ext.isEmpty ? "the file name has no extension: name it .yaml, .yml or .json"
                                                    : "unknown format '.\(ext)': use .yaml, .yml or .json", line: nil)])
            }
            for o in overrides { try o.apply(to: &doc) }
        } catch let e as DocumentError {
            throw ScenarioError(problems: [.init(file: fileName, path: "", message: e.message, line: e.line)])
        }
        var builtIn = Catalogue()
        var catalogueProblems: [ScenarioError.Problem] = []
        do { builtIn = try Catalogue.builtIn() } catch let e as ScenarioError { catalogueProblems = e.problems }
        let r = Reader(file: fileName)
        r.problems = catalogueProblems
        let s = r.scenario(doc, builtIn: builtIn, baseDirectory: baseDirectory)
        if !r.problems.isEmpty { throw ScenarioError(problems: r.problems) }
        guard let s else { throw ScenarioError(problems: [.init(file: fileName, path: "", message: "could not be read", line: nil)]) }
        return s
    }

    /// Ukraine's cities over 50,000 (GeoNames), shipped with Canopy.
    public static func cities() -> [(name: String, position: Geodetic, population: Double)] {
        guard let url = Bundle.module.url(forResource: "ukraine-cities", withExtension: "json", subdirectory: "Resources"),
              let data = try? Data(contentsOf: url),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
        return list.compactMap { c in
            guard let n = c["name"] as? String, let lat = (c["lat"] as? NSNumber)?.doubleValue,
                  let lon = (c["lon"] as? NSNumber)?.doubleValue else { return nil }
            return (n, Geodetic(latitudeDegrees: lat, longitudeDegrees: lon), (c["population"] as? NSNumber)?.doubleValue ?? 0)
        }
    }

    /// Path of a shipped resource file.
    public static func resourcePath(_ name: String, _ ext: String) -> String? {
        Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Resources")?.path
    }
}

extension Catalogue {
    /// The built-in catalogue shipped as Resources/catalogue.yaml.
    public static func builtIn() throws -> Catalogue {
        guard let path = ScenarioLoader.resourcePath("catalogue", "yaml"),
              let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ScenarioError(problems: [.init(file: "catalogue.yaml", path: "", message: "built-in catalogue missing from the resources", line: nil)])
        }
        let doc: Document
        do { doc = try Document.yaml(text) } catch let e as DocumentError {
            throw ScenarioError(problems: [.init(file: "catalogue.yaml", path: "", message: e.message, line: e.line)])
        }
        let r = Reader(file: "catalogue.yaml")
        var cat = Catalogue()
        if let m = r.mapping(doc, "", allowed: ["notes", "threats", "effectors", "sensors"]) {
            r.catalogueSections(m, "", into: &cat, known: Catalogue())
        }
        if !r.problems.isEmpty { throw ScenarioError(problems: r.problems) }
        return cat
    }
}

/// The validating reader: walks the document, converts units, and collects every problem.
final class Reader {
    /// An asset's population (the world's is 8·10⁹) and value: beyond these, sums of value at
    /// risk lose the smaller assets to rounding (a city of 10¹⁰⁰ made every share 0).
    static let maxPopulation = 1e9, maxValue = 1e12
    let file: String
    var problems: [ScenarioError.Problem] = []
    /// Names of catalogue types that were given but had problems of their own: a reference to
    /// one is not reported again as an unknown type.
    var invalidTypes: Set<String> = []
    /// Files read besides the scenario (`Scenario.inputFiles`).
    var filesRead: [String] = []
    init(file: String) { self.file = file }

    func fail(_ path: String, _ message: String, _ node: Document?) {
        problems.append(.init(file: file, path: path, message: message, line: node?.line))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    // MARK: Shapes

    /// A mapping with only the allowed keys; unknown keys are reported with a suggestion.
    func mapping(_ node: Document, _ path: String, allowed: [String]) -> [String: Document]? {
        guard case .mapping(let pairs, _) = node else {
            fail(path, "must be a mapping of keys to values (got \(node.shown))", node)
            return nil
        }
        var out: [String: Document] = [:]
        for (k, v) in pairs {
            if !allowed.contains(k) {
                var msg = "unknown key '\(k)'"
                if let s = suggestion(for: k, among: allowed) { msg += " — did you mean '\(s)'?" }
                msg += " (allowed here: \(allowed.joined(separator: ", ")))"
                fail(Self.join(path, k), msg, v)
                continue
            }
            if out[k] != nil { fail(Self.join(path, k), "appears twice", v) }
            out[k] = v
        }
        return out
    }

    func list(_ node: Document?, _ path: String) -> [Document] {
        guard let node else { return [] }
        if case .null = node { return [] }
        guard case .sequence(let items, _) = node else {
            fail(path, "must be a list (got \(node.shown))", node)
            return []
        }
        return items
    }

    func string(_ m: [String: Document], _ key: String, _ path: String, default def: String? = nil) -> String? {
        let p = Self.join(path, key)
        guard let n = m[key], !n.isNull else {
            if def == nil { fail(p, "is required", nil) }
            return def
        }
        guard case .scalar(let s, _, _) = n, !s.isEmpty else {
            fail(p, "must be a non-empty string (got \(n.shown))", n)
            return def
        }
        return s
    }

    /// A number with bounds: `min`/`max` inclusive unless `minOpen`/`maxOpen`.
    func number(_ m: [String: Document], _ key: String, _ path: String, default def: Double? = nil,
                min lo: Double? = nil, minOpen: Bool = false, max hi: Double? = nil, maxOpen: Bool = false) -> Double? {
        let p = Self.join(path, key)
        guard let n = m[key], !n.isNull else {
            if def == nil { fail(p, "is required", nil) }
            return def
        }
        return checkNumber(n, p, min: lo, minOpen: minOpen, max: hi, maxOpen: maxOpen) ?? def
    }

    func checkNumber(_ n: Document, _ p: String, min lo: Double? = nil, minOpen: Bool = false, max hi: Double? = nil,
                     maxOpen: Bool = false) -> Double? {
        guard case .scalar(let s, let quoted, _) = n, !quoted, let x = Double(s), x.isFinite else {
            fail(p, "must be a number (got \(n.shown))", n)
            return nil
        }
        let shown = Self.format(x)
        if let lo, minOpen ? !(x > lo) : !(x >= lo) {
            fail(p, "must be \(minOpen ? ">" : "≥") \(Self.format(lo)) (got \(shown))", n)
            return nil
        }
        if let hi, maxOpen ? !(x < hi) : !(x <= hi) {
            fail(p, "must be \(maxOpen ? "<" : "≤") \(Self.format(hi)) (got \(shown))", n)
            return nil
        }
        return x
    }

    func integer(_ m: [String: Document], _ key: String, _ path: String, default def: Int? = nil,
                 min lo: Int? = nil, max hi: Int? = nil) -> Int? {
        let p = Self.join(path, key)
        guard let n = m[key], !n.isNull else {
            if def == nil { fail(p, "is required", nil) }
            return def
        }
        guard case .scalar(let s, let quoted, _) = n, !quoted, let x = Double(s), x == x.rounded(), abs(x) < 1e15 else {
            fail(p, "must be a whole number (got \(n.shown))", n)
            return def
        }
        let v = Int(x)
        if let lo, v < lo { fail(p, "must be ≥ \(lo) (got \(v))", n); return def }
        if let hi, v > hi { fail(p, "must be ≤ \(hi) (got \(v))", n); return def }
        return v
    }

    func choice<E: RawRepresentable & CaseIterable>(_ m: [String: Document], _ key: String, _ path: String,
                                                    default def: E? = nil) -> E? where E.RawValue == String {
        let p = Self.join(path, key)
        guard let n = m[key], !n.isNull else {
            if def == nil { fail(p, "is required", nil) }
            return def
        }
        let allowed = E.allCases.map(\.rawValue)
        guard case .scalar(let s, _, _) = n, let e = E(rawValue: s) else {
            var msg = "must be one of \(allowed.joined(separator: ", ")) (got \(n.shown))"
            if case .scalar(let s, _, _) = n, let sug = suggestion(for: s, among: allowed) { msg += " — did you mean '\(sug)'?" }
            fail(p, msg, n)
            return def
        }
        return e
    }

    static func format(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    /// A position: lat, lon (degrees) and optional alt (m).
    func position(_ m: [String: Document], _ path: String, altitudeDefault: Double = 0) -> Geodetic? {
        let lat = number(m, "lat", path, min: -90, max: 90)
        let lon = number(m, "lon", path, min: -180, max: 180)
        let alt = number(m, "alt", path, default: altitudeDefault, min: -500, max: 1_000_000)
        guard let lat, let lon, let alt else { return nil }
        return Geodetic(latitudeDegrees: lat, longitudeDegrees: lon, height: alt)
    }

    // MARK: Scenario

    func scenario(_ doc: Document, builtIn: Catalogue, baseDirectory: String?) -> Scenario? {
        let top = ["name", "description", "seed", "duration", "origin", "catalogue", "assets", "regions", "regionIdProperty",
                   "regionNameProperty", "sensors", "acousticNetworks", "citizenNetworks", "fireUnits", "raids", "doctrine",
                   "alerting", "tracker"]
        guard let m = mapping(doc, "", allowed: top) else { return nil }
        let name = string(m, "name", "")
        let description = string(m, "description", "", default: "") ?? ""
        // The seed: any 64-bit unsigned number, as --seed takes (a number past 10¹⁵ had been refused
        // as "not a whole number"); in quotes too, since YAML and JSON readers elsewhere may round
        // large numbers.
        var seed: UInt64? = 1
        if let n = m["seed"], !n.isNull {
            let text: String? = if case .scalar(let s, _, _) = n { s.trimmingCharacters(in: .whitespaces) } else { nil }
            // Written as digits, or as a whole number in another notation (42.0, 1e3) within 2⁵³.
            if let text, let v = UInt64(text) ?? Double(text).flatMap({ $0 >= 0 && $0 <= 9_007_199_254_740_992 && $0 == $0.rounded() ? UInt64($0) : nil }) {
                seed = v
            } else {
                fail("seed", "must be a whole number from 0 to 18446744073709551615 (got \(n.shown))", n)
                seed = nil
            }
        }
        let duration = number(m, "duration", "", default: 86_400, min: 0, minOpen: true, max: 172_800)
        var origin: Geodetic? = nil
        if let o = m["origin"] {
            if let om = mapping(o, "origin", allowed: ["lat", "lon", "alt"]) { origin = position(om, "origin") }
        } else {
            fail("origin", "is required (a mapping with lat and lon in degrees)", nil)
        }
        var catalogue = builtIn
        if let c = m["catalogue"], !c.isNull, let cm = mapping(c, "catalogue", allowed: ["threats", "effectors", "sensors"]) {
            catalogueSections(cm, "catalogue", into: &catalogue, known: builtIn)
        }
        let assets = self.assets(m["assets"])
        let regions = self.regions(m, baseDirectory: baseDirectory)
        var ids = Set<String>()
        func uniqueID(_ id: String?, _ p: String, _ node: Document) {
            guard let id else { return }
            if ids.contains(id) { fail(Self.join(p, "id"), "duplicate id '\(id)'", node) }
            ids.insert(id)
        }
        // Sensors.
        var sensors: [Sensor] = []
        for (k, n) in list(m["sensors"], "sensors").enumerated() {
            let p = "sensors[\(k)]"
            guard let sm = mapping(n, p, allowed: ["id", "type", "lat", "lon", "alt", "sac", "sic"]) else { continue }
            let id = string(sm, "id", p), type = string(sm, "type", p), pos = position(sm, p)
            uniqueID(id, p, n)
            if let type { checkSensorType(type, kind: .radar, catalogue, Self.join(p, "type"), sm["type"]) }
            // Its ASTERIX data source identifier: both codes or neither, and no two radars alike.
            let sac = sm["sac"] == nil ? nil : integer(sm, "sac", p, min: 0, max: 255)
            let sic = sm["sic"] == nil ? nil : integer(sm, "sic", p, min: 0, max: 255)
            if (sm["sac"] == nil) != (sm["sic"] == nil) {
                fail(Self.join(p, sm["sac"] == nil ? "sac" : "sic"), "is required with \(sm["sac"] == nil ? "sic" : "sac") (the radar's ASTERIX data source identifier)", n)
            }
            if let sac, let sic, let other = sensors.first(where: { $0.asterixSAC == UInt8(sac) && $0.asterixSIC == UInt8(sic) }) {
                fail(Self.join(p, "sic"), "SAC/SIC \(sac)/\(sic) is already \(other.id)'s", sm["sic"])
            }
            if let id, let type, let pos {
                sensors.append(Sensor(id: id, type: type, position: pos, asterixSAC: sac.map { UInt8($0) }, asterixSIC: sic.map { UInt8($0) }))
            }
        }
        var acoustic: [AcousticNetwork] = []
        var totalNodes = 0
        for (k, n) in list(m["acousticNetworks"], "acousticNetworks").enumerated() {
            let p = "acousticNetworks[\(k)]"
            guard let am = mapping(n, p, allowed: ["id", "type", "lat", "lon", "radius", "spacing"]) else { continue }
            let id = string(am, "id", p), type = string(am, "type", p), pos = position(am, p)
            let radius = number(am, "radius", p, min: 0, minOpen: true, max: 2_000_000)
            let spacing = number(am, "spacing", p, min: 100)
            uniqueID(id, p, n)
            if let type { checkSensorType(type, kind: .acoustic, catalogue, Self.join(p, "type"), am["type"]) }
            if let id, let type, let pos, let radius, let spacing {
                let net = AcousticNetwork(id: id, type: type, center: pos, radius: radius, spacing: spacing)
                totalNodes += net.nodeCount
                if net.nodeCount > 200_000 {
                    fail(p, "would place \(net.nodeCount) nodes; at most 200000 per network (raise spacing or lower radius)", n)
                }
                acoustic.append(net)
            }
        }
        if totalNodes > 200_000 { fail("acousticNetworks", "would place \(totalNodes) nodes in all; at most 200000", m["acousticNetworks"]) }
        var citizens: [CitizenNetwork] = []
        for (k, n) in list(m["citizenNetworks"], "citizenNetworks").enumerated() {
            let p = "citizenNetworks[\(k)]"
            guard let cm = mapping(n, p, allowed: ["id", "type", "lat", "lon", "radius"]) else { continue }
            let id = string(cm, "id", p), type = string(cm, "type", p), pos = position(cm, p)
            let radius = number(cm, "radius", p, min: 0, minOpen: true, max: 3_000_000)
            uniqueID(id, p, n)
            if let type { checkSensorType(type, kind: .citizen, catalogue, Self.join(p, "type"), cm["type"]) }
            if let id, let type, let pos, let radius { citizens.append(CitizenNetwork(id: id, type: type, center: pos, radius: radius)) }
        }
        // Fire units.
        var fireUnits: [FireUnit] = []
        var unitIDs = Set<String>()
        for (k, n) in list(m["fireUnits"], "fireUnits").enumerated() {
            let p = "fireUnits[\(k)]"
            guard let fm = mapping(n, p, allowed: ["id", "type", "lat", "lon", "alt", "magazine", "launchers"]) else { continue }
            let id = string(fm, "id", p), type = string(fm, "type", p), pos = position(fm, p)
            let magazine = integer(fm, "magazine", p, min: 1, max: 1_000_000)
            let launchers = integer(fm, "launchers", p, default: 1, min: 1, max: 1000)
            if let id {
                if unitIDs.contains(id) { fail(Self.join(p, "id"), "duplicate id '\(id)'", n) }
                unitIDs.insert(id)
            }
            if let type, catalogue.effectors[type] == nil {
                unknownType(type, "effector", Array(catalogue.effectors.keys), Self.join(p, "type"), fm["type"])
            }
            if let id, let type, let pos, let magazine, let launchers {
                fireUnits.append(FireUnit(id: id, type: type, position: pos, magazine: magazine, launchers: launchers))
            }
        }
        // Raids.
        var threats: [ExplicitThreat] = []
        var waves: [Wave] = []
        let assetNames = assets.map(\.name)
        // Names that must be unique: events and tracks.csv name threats by id (two CM-1s, or two
        // waves' shahed-east-1, had made them ambiguous).
        var raidNames: [String: String] = [:], waveNames: [String: String] = [:], threatIDs: [String: String] = [:]
        var waveIDs: [(name: String, count: Int, path: String, node: Document)] = []
        for (ri, rn) in list(m["raids"], "raids").enumerated() {
            let rp = "raids[\(ri)]"
            guard let rm = mapping(rn, rp, allowed: ["name", "threats", "waves"]) else { continue }
            let raidName = string(rm, "name", rp, default: "raid\(ri + 1)") ?? "raid\(ri + 1)"
            if let first = raidNames[raidName] {
                fail(Self.join(rp, "name"), "'\(raidName)' names \(first) too", rm["name"])
            } else { raidNames[raidName] = rp }
            if rm["threats"] == nil && rm["waves"] == nil {
                fail(rp, "has neither threats nor waves: a raid needs one or the other", rn)
            }
            for (k, tn) in list(rm["threats"], Self.join(rp, "threats")).enumerated() {
                let p = "\(rp).threats[\(k)]"
                guard let tm = mapping(tn, p, allowed: ["id", "type", "launchTime", "route"]) else { continue }
                let id = string(tm, "id", p, default: "\(raidName)-\(k + 1)")!
                if let first = threatIDs[id] {
                    fail(Self.join(p, "id"), "'\(id)' is the id of \(first) too", tm["id"] ?? tn)
                } else { threatIDs[id] = p }
                let type = string(tm, "type", p)
                let launch = number(tm, "launchTime", p, default: 0, min: 0)
                if let launch, let duration, launch >= duration {
                    fail(Self.join(p, "launchTime"), "must be < duration \(Self.format(duration)) (got \(Self.format(launch)))", tm["launchTime"])
                }
                let threatType = type.flatMap { lookupThreat($0, catalogue, Self.join(p, "type"), tm["type"]) }
                let route = waypoints(tm["route"], Self.join(p, "route"), required: true)
                if route.count == 1 { fail(Self.join(p, "route"), "needs at least 2 points: launch point first, aim point last (got 1)", tm["route"]) }
                if let t = threatType, route.count >= 2 { checkRange(route.map(\.position), t, Self.join(p, "route"), tm["route"]) }
                if let type, let launch, route.count >= 2 {
                    threats.append(ExplicitThreat(id: id, type: type, launchTime: launch, route: route))
                }
            }
            for (k, wn) in list(rm["waves"], Self.join(rp, "waves")).enumerated() {
                let p = "\(rp).waves[\(k)]"
                guard let wm = mapping(wn, p, allowed: ["name", "type", "count", "launchArea", "launchWindow", "via",
                                                        "routeSpread", "targets", "aimSpread"]) else { continue }
                let name = string(wm, "name", p, default: "\(raidName)-wave\(k + 1)")!
                if let first = waveNames[name] {
                    fail(Self.join(p, "name"), "'\(name)' names \(first) too (its threats are named \(name)-1, \(name)-2, …)", wm["name"] ?? wn)
                } else { waveNames[name] = p }
                let type = string(wm, "type", p)
                let count = integer(wm, "count", p, min: 1, max: 5000)
                var center: Geodetic? = nil, radius: Double? = 0
                if let la = wm["launchArea"] {
                    if let lm = mapping(la, Self.join(p, "launchArea"), allowed: ["lat", "lon", "radius"]) {
                        center = position(lm, Self.join(p, "launchArea"))
                        radius = number(lm, "radius", Self.join(p, "launchArea"), default: 0, min: 0, max: 500_000)
                    }
                } else {
                    fail(Self.join(p, "launchArea"), "is required ({lat, lon, radius})", nil)
                }
                var window: (Double, Double)? = nil
                if let wnode = wm["launchWindow"] {
                    let items = list(wnode, Self.join(p, "launchWindow"))
                    if items.count != 2 {
                        fail(Self.join(p, "launchWindow"), "must be [start, end] in seconds (got \(items.count) values)", wnode)
                    } else if let a = checkNumber(items[0], Self.join(p, "launchWindow[0]"), min: 0),
                              let b = checkNumber(items[1], Self.join(p, "launchWindow[1]"), min: 0) {
                        if a > b {
                            fail(Self.join(p, "launchWindow"), "start must be ≤ end (got [\(Self.format(a)), \(Self.format(b))])", wnode)
                        } else if let duration, b >= duration {
                            fail(Self.join(p, "launchWindow"), "end must be < duration \(Self.format(duration)) (got \(Self.format(b)))", wnode)
                        } else {
                            window = (a, b)
                        }
                    }
                } else {
                    window = (0, 0)
                }
                let via = waypoints(wm["via"], Self.join(p, "via"), required: false)
                let spread = number(wm, "routeSpread", p, default: 0, min: 0, max: 500_000)
                let aimSpread = number(wm, "aimSpread", p, default: 2000, min: 0, max: 100_000)
                var targets: [TargetWeight] = []
                if let tn = wm["targets"], let tmap = mappingAny(tn, Self.join(p, "targets")) {
                    for (asset, wv) in tmap {
                        let tp = Self.join(Self.join(p, "targets"), asset)
                        if !assetNames.contains(asset) {
                            var msg = "'\(asset)' is not an asset of this scenario"
                            if let s = suggestion(for: asset, among: assetNames) { msg += " — did you mean '\(s)'?" }
                            msg += assetNames.isEmpty ? " (the scenario has no assets)" : " (assets: \(assetNames.joined(separator: ", ")))"
                            fail(tp, msg, wv)
                            continue
                        }
                        if let w = checkNumber(wv, tp, min: 0, minOpen: true) { targets.append(TargetWeight(asset: asset, weight: w)) }
                    }
                    if tmap.isEmpty { fail(Self.join(p, "targets"), "must name at least one asset", tn) }
                } else if wm["targets"] == nil {
                    fail(Self.join(p, "targets"), "is required (asset name → weight)", nil)
                }
                let threatType = type.flatMap { lookupThreat($0, catalogue, Self.join(p, "type"), wm["type"]) }
                if let t = threatType, let center, let radius, let spread, let aimSpread, !targets.isEmpty {
                    // Worst case: launch radius + route jitter at every leg + aim scatter.
                    for tw in targets {
                        guard let a = assets.first(where: { $0.name == tw.asset }) else { continue }
                        let pts = [center] + via.map(\.position) + [a.position]
                        let slack = radius + spread * Double(2 * via.count) + aimSpread
                        checkRange(pts, t, Self.join(p, "targets.\(tw.asset)"), wm["targets"], slack: slack)
                    }
                }
                if let count { waveIDs.append((name, count, p, wm["name"] ?? wn)) }
                if let type, let count, let center, let radius, let window, let spread, let aimSpread, !targets.isEmpty {
                    waves.append(Wave(name: name, type: type, count: count, launchCenter: center, launchRadius: radius,
                                      launchStart: window.0, launchEnd: window.1, via: via, routeSpread: spread,
                                      targets: targets, aimSpread: aimSpread))
                }
            }
        }
        // A wave's threats are named NAME-1 … NAME-count: none may be an explicit threat's id.
        for w in waveIDs {
            for i in 1...max(w.count, 1) where threatIDs["\(w.name)-\(i)"] != nil {
                fail(Self.join(w.path, "name"), "its threat \(w.name)-\(i) would have the id of \(threatIDs["\(w.name)-\(i)"]!)", w.node)
                break
            }
        }
        let doctrine = self.doctrine(m["doctrine"], catalogue, assets: assets.map(\.name))
        let alerting = self.alerting(m["alerting"])
        let tracker = self.tracker(m["tracker"])
        guard problems.isEmpty, let name, let seed, let duration, let origin else { return nil }
        var scenario = Scenario(name: name, description: description, seed: seed, duration: duration, origin: origin,
                        catalogue: catalogue, assets: assets, regions: regions, sensors: sensors,
                        acousticNetworks: acoustic, citizenNetworks: citizens, fireUnits: fireUnits, threats: threats,
                        waves: waves, doctrine: doctrine, alerting: alerting, tracker: tracker)
        scenario.inputFiles = filesRead
        return scenario
    }

    /// A mapping whose keys are data (asset names), kept in file order.
    func mappingAny(_ node: Document, _ path: String) -> [(String, Document)]? {
        guard case .mapping(let pairs, _) = node else {
            fail(path, "must be a mapping of asset name to weight (got \(node.shown))", node)
            return nil
        }
        return pairs.map { ($0.key, $0.value) }
    }

    func waypoints(_ node: Document?, _ path: String, required: Bool) -> [Waypoint] {
        guard let node else {
            if required { fail(path, "is required (a list of {lat, lon[, alt]})", nil) }
            return []
        }
        var out: [Waypoint] = []
        // This list's own problems (an empty list had been named only when the file had no other).
        let before = problems.count
        for (k, n) in list(node, path).enumerated() {
            let p = "\(path)[\(k)]"
            guard let wm = mapping(n, p, allowed: ["lat", "lon", "alt"]) else { continue }
            if let pos = position(wm, p) { out.append(Waypoint(position: pos, altitudeGiven: wm["alt"] != nil)) }
        }
        if required && out.isEmpty && problems.count == before { fail(path, "needs at least 2 points (got 0)", node) }
        return out
    }

    func checkRange(_ pts: [Geodetic], _ t: ThreatType, _ path: String, _ node: Document?, slack: Double = 0) {
        var length = 0.0
        for k in 1..<pts.count { length += Self.haversine(pts[k - 1], pts[k]) }
        if length - slack > t.maxRange {
            fail(path, "route of \(Int((length / 1000).rounded())) km is longer than \(t.name)'s range of \(Int(t.maxRange / 1000)) km", node)
        } else if length + slack > t.maxRange && slack > 0 {
            fail(path, "route of up to \(Int(((length + slack) / 1000).rounded())) km (with launch radius, route and aim spread) exceeds \(t.name)'s range of \(Int(t.maxRange / 1000)) km", node)
        }
    }

    static func haversine(_ a: Geodetic, _ b: Geodetic) -> Double {
        let dlat = b.latitude - a.latitude, dlon = b.longitude - a.longitude
        let h = sin(dlat / 2) * sin(dlat / 2) + cos(a.latitude) * cos(b.latitude) * sin(dlon / 2) * sin(dlon / 2)
        return 2 * WGS84.meanRadius * asin(min(1, h.squareRoot()))
    }

    func lookupThreat(_ name: String, _ cat: Catalogue, _ path: String, _ node: Document?) -> ThreatType? {
        if let t = cat.threats[name] { return t }
        unknownType(name, "threat", Array(cat.threats.keys), path, node)
        return nil
    }

    func unknownType(_ name: String, _ what: String, _ known: [String], _ path: String, _ node: Document?) {
        if invalidTypes.contains(name) { return }
        var msg = "unknown \(what) type '\(name)'"
        if let s = suggestion(for: name, among: known) { msg += " — did you mean '\(s)'?" }
        msg += " (known: \(known.sorted().joined(separator: ", ")))"
        fail(path, msg, node)
    }

    func checkSensorType(_ name: String, kind: SensorKind, _ cat: Catalogue, _ path: String, _ node: Document?) {
        guard let t = cat.sensors[name] else {
            unknownType(name, "sensor", cat.sensors.values.filter { $0.kind == kind }.map(\.name), path, node)
            return
        }
        if t.kind != kind {
            let known = cat.sensors.values.filter { $0.kind == kind }.map(\.name).sorted()
            fail(path, "'\(name)' is a \(t.kind.rawValue) sensor; this list needs a \(kind.rawValue) type (\(known.joined(separator: ", ")))", node)
        }
    }

    // MARK: Assets and regions

    func assets(_ node: Document?) -> [Asset] {
        var out: [Asset] = []
        let cities = ScenarioLoader.cities()
        var names = Set<String>()
        for (k, n) in list(node, "assets").enumerated() {
            let p = "assets[\(k)]"
            guard let am = mapping(n, p, allowed: ["city", "name", "kind", "lat", "lon", "alt", "value", "population",
                                                   "radius", "damagePerKg"]) else { continue }
            var asset: Asset? = nil
            if let cityNode = am["city"] {
                guard let cityName = string(am, "city", p) else { continue }
                guard let c = cities.first(where: { $0.name.lowercased() == cityName.lowercased() }) else {
                    var msg = "unknown city '\(cityName)' (the shipped list has Ukraine's 90 cities over 50,000)"
                    if let s = suggestion(for: cityName, among: cities.map(\.name)) { msg += " — did you mean '\(s)'?" }
                    fail(Self.join(p, "city"), msg, cityNode)
                    continue
                }
                let name = string(am, "name", p, default: c.name) ?? c.name
                // A city is a city at ground level: kind and alt had been accepted and not read.
                for k in ["kind", "alt"] where am[k] != nil {
                    fail(Self.join(p, k), "does not apply to a city asset (city: \(cityName)); give name, lat and lon instead of city for a site", am[k])
                }
                var pos = c.position
                if am["lat"] != nil || am["lon"] != nil, let given = position(am, p) { pos = given }
                let pop = number(am, "population", p, default: c.population, min: 0, max: Self.maxPopulation) ?? c.population
                asset = Asset(name: name, kind: .city, position: pos, population: pop,
                              value: number(am, "value", p, default: pop, min: 0, max: Self.maxValue) ?? pop,
                              radius: number(am, "radius", p, default: 8000, min: 0, minOpen: true, max: 100_000) ?? 8000,
                              damagePerKg: number(am, "damagePerKg", p, default: pop > 0 ? min(1, 0.5 / pop) : 1e-5,
                                                  min: 0, minOpen: true, max: 1) ?? 1e-5)
            } else {
                let name = string(am, "name", p)
                let kind: AssetKind = choice(am, "kind", p, default: .site) ?? .site
                let pos = position(am, p)
                let pop = number(am, "population", p, default: 0, min: 0, max: Self.maxPopulation) ?? 0
                let value = kind == .city ? number(am, "value", p, default: pop, min: 0, max: Self.maxValue)
                    : number(am, "value", p, min: 0, max: Self.maxValue)
                let radius = number(am, "radius", p, default: kind == .city ? 8000 : 1000, min: 0, minOpen: true, max: 100_000)
                let dpk = number(am, "damagePerKg", p, default: kind == .city ? (pop > 0 ? min(1, 0.5 / pop) : 1e-5) : 2e-3,
                                 min: 0, minOpen: true, max: 1)
                if let name, let pos, let value, let radius, let dpk {
                    asset = Asset(name: name, kind: kind, position: pos, population: pop, value: value, radius: radius, damagePerKg: dpk)
                }
            }
            if let a = asset {
                if names.contains(a.name) { fail(Self.join(p, "name"), "duplicate asset name '\(a.name)'", n) }
                names.insert(a.name)
                out.append(a)
            }
        }
        return out
    }

    func regions(_ m: [String: Document], baseDirectory: String?) -> [AlertRegion] {
        guard let node = m["regions"], !node.isNull else {
            // The properties name a regions file's fields: without one they say nothing.
            for k in ["regionIdProperty", "regionNameProperty"] where m[k] != nil {
                fail(k, "applies to a regions file: give regions too", m[k])
            }
            return []
        }
        guard case .scalar(let value, _, _) = node else {
            fail("regions", "must be 'ukraine-oblasts' or the path of a GeoJSON file (got \(node.shown))", node)
            return []
        }
        let idProperty = string(m, "regionIdProperty", "", default: "") ?? ""
        let nameProperty = string(m, "regionNameProperty", "", default: "name") ?? "name"
        let path: String
        if value == "ukraine-oblasts" {
            guard let p = ScenarioLoader.resourcePath("ukraine-oblasts", "geojson") else {
                fail("regions", "the shipped ukraine-oblasts.geojson is missing from the resources", node)
                return []
            }
            path = p
        } else if value.hasPrefix("/") {
            path = value
        } else {
            path = (baseDirectory ?? FileManager.default.currentDirectoryPath) + "/" + value
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            fail("regions", "cannot read '\(value)' (\(InputFile.whyUnreadable(path: path)): looked at \(path)); use 'ukraine-oblasts' or a GeoJSON file", node)
            return []
        }
        if value != "ukraine-oblasts" { filesRead.append(path) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let features = root["features"] as? [[String: Any]] else {
            fail("regions", "'\(value)' is not a GeoJSON FeatureCollection", node)
            return []
        }
        // A property asked for by name must be in the file (a misspelt one had fallen back to the
        // file's ids, or to region-1, region-2, …).
        for (key, property) in [("regionIdProperty", idProperty), ("regionNameProperty", nameProperty)]
            where m[key] != nil && !property.isEmpty
            && !features.contains(where: { ($0["properties"] as? [String: Any])?[property] != nil }) {
            let seen = Set(features.flatMap { (($0["properties"] as? [String: Any]) ?? [:]).keys }).sorted()
            fail(key, "'\(property)' is a property of no feature of '\(value)' (its properties: \(seen.prefix(20).joined(separator: ", ")))", m[key])
        }
        var out: [AlertRegion] = []
        var firstWithId: [String: Int] = [:]
        for (k, f) in features.enumerated() {
            let props = f["properties"] as? [String: Any] ?? [:]
            let id = (props[idProperty] ?? props["id"] ?? props["iso_3166_2"]).map { "\($0)" } ?? "region-\(k + 1)"
            // Alerts, outcomes and the map name a region by its id: two features with one id
            // were merged without a word.
            if let j = firstWithId[id] {
                fail("regions", "'\(value)': feature \(k) has the id '\(id)' of feature \(j); region ids must differ (choose another regionIdProperty, or join the two into one MultiPolygon)", node)
                continue
            }
            firstWithId[id] = k
            let name = (props[nameProperty] as? String) ?? id
            guard let g = f["geometry"] as? [String: Any], let type = g["type"] as? String, let coords = g["coordinates"] else {
                fail("regions", "'\(value)': feature \(k) has no geometry", node)
                continue
            }
            // A point outside [−180, 180] × [−90, 90] (a file in projected metres, such as Web
            // Mercator's) would size the alert raster in the billions of cells.
            var outOfRange: (lon: Double, lat: Double)? = nil
            func ring(_ r: Any) -> [SIMD2<Double>]? {
                guard let pts = r as? [[Any]] else { return nil }
                var out: [SIMD2<Double>] = []
                for p in pts {
                    guard p.count >= 2, let lon = (p[0] as? NSNumber)?.doubleValue, let lat = (p[1] as? NSNumber)?.doubleValue else { return nil }
                    guard (-180...180).contains(lon), (-90...90).contains(lat) else {
                        outOfRange = outOfRange ?? (lon, lat)
                        return nil
                    }
                    out.append(SIMD2(radians(lat), radians(lon)))
                }
                return out.count >= 3 ? out : nil
            }
            func polygon(_ p: Any) -> GeoPolygon? {
                guard let rings = p as? [Any] else { return nil }
                let rs = rings.compactMap(ring)
                return rs.count == rings.count && !rs.isEmpty ? GeoPolygon(rings: rs) : nil
            }
            var polys: [GeoPolygon] = []
            switch type {
            case "Polygon": if let p = polygon(coords) { polys = [p] }
            case "MultiPolygon":
                // Every part, or the feature is refused (a broken part had been dropped in silence).
                let parts = coords as? [Any] ?? []
                polys = parts.compactMap(polygon)
                if polys.count != parts.count && outOfRange == nil {
                    fail("regions", "'\(value)': feature \(k) (\(name)): part \(parts.indices.first { polygon(parts[$0]) == nil } ?? 0) of its MultiPolygon is not a polygon of [lon, lat] rings of 3 points or more", node)
                    continue
                }
            default: break
            }
            if let (lon, lat) = outOfRange {
                fail("regions", "'\(value)': feature \(k) (\(name)) has the point [\(lon), \(lat)]; coordinates must be [longitude, latitude] in degrees "
                     + "(longitude −180 to 180, latitude −90 to 90, WGS 84), not projected metres", node)
                continue
            }
            if polys.isEmpty {
                fail("regions", "'\(value)': feature \(k) (\(name)) must be a Polygon or MultiPolygon with [lon, lat] rings", node)
                continue
            }
            out.append(AlertRegion(id: id, name: name, polygons: polys))
        }
        return out
    }

    // MARK: Doctrine, alerting, tracker

    func doctrine(_ node: Document?, _ cat: Catalogue, assets: [String]) -> Doctrine {
        var d = Doctrine()
        guard let node, !node.isNull,
              let m = mapping(node, "doctrine", allowed: ["mode", "salvoSize", "minKillProbability", "moneyWorth", "cycle", "reserves", "assignment",
                                                          "assessment", "expectedThreats", "maxShotCost"])
        else { return d }
        d.mode = choice(m, "mode", "doctrine", default: d.mode) ?? d.mode
        d.assignment = choice(m, "assignment", "doctrine", default: d.assignment) ?? d.assignment
        d.assessment = choice(m, "assessment", "doctrine", default: d.assessment) ?? d.assessment
        d.salvoSize = integer(m, "salvoSize", "doctrine", default: d.salvoSize, min: 1, max: 4) ?? d.salvoSize
        d.minKillProbability = number(m, "minKillProbability", "doctrine", default: d.minKillProbability, min: 0, max: 1) ?? d.minKillProbability
        d.moneyWorth = number(m, "moneyWorth", "doctrine", default: d.moneyWorth, min: 0, max: 1e3) ?? d.moneyWorth
        d.cycle = number(m, "cycle", "doctrine", default: d.cycle, min: 0.1, max: 60) ?? d.cycle
        if let n = m["maxShotCost"], !n.isNull,
           let caps = mapping(n, "doctrine.maxShotCost", allowed: ThreatClass.allCases.map(\.rawValue)) {
            for c in ThreatClass.allCases {
                if let v = number(caps, c.rawValue, "doctrine.maxShotCost", default: .infinity, min: 0, minOpen: true), v.isFinite {
                    d.maxShotCost[c] = v
                }
            }
        }
        var reserveEntry: [String: Int] = [:]  // effector type → its entry in the file
        for (k, n) in list(m["reserves"], "doctrine.reserves").enumerated() {
            let p = "doctrine.reserves[\(k)]"
            guard let rm = mapping(n, p, allowed: ["effector", "rounds", "for"]) else { continue }
            let eff = string(rm, "effector", p)
            if let eff, cat.effectors[eff] == nil { unknownType(eff, "effector", Array(cat.effectors.keys), Self.join(p, "effector"), rm["effector"]) }
            let rounds = integer(rm, "rounds", p, min: 0)
            var classes: [ThreatClass] = []
            for (j, c) in list(rm["for"], Self.join(p, "for")).enumerated() {
                if case .scalar(let s, _, _) = c, let tc = ThreatClass(rawValue: s) { classes.append(tc) } else {
                    fail("\(p).for[\(j)]", "must be one of \(ThreatClass.allCases.map(\.rawValue).joined(separator: ", ")) (got \(c.shown))", c)
                }
            }
            if rm["for"] == nil { fail(Self.join(p, "for"), "is required (the threat classes the rounds are kept for)", nil) }
            else if case .sequence(let items, _) = rm["for"]!, items.isEmpty {
                // Rounds kept for no class are rounds no threat may use: the unit out of action.
                fail(Self.join(p, "for"), "must name at least one threat class (rounds kept for none can never be fired)", rm["for"])
            }
            // One reserve per effector type: a unit keeps one reserve (a second entry was ignored).
            if let eff, let j = reserveEntry[eff] {
                fail(Self.join(p, "effector"), "'\(eff)' already has a reserve (doctrine.reserves[\(j)]); give one entry per effector type, listing every class its rounds are kept for", rm["effector"])
                continue
            }
            if let eff { reserveEntry[eff] = k }
            if let eff, let rounds { d.reserves.append(.init(effectorType: eff, rounds: rounds, forClasses: classes)) }
        }
        for (k, n) in list(m["expectedThreats"], "doctrine.expectedThreats").enumerated() {
            let p = "doctrine.expectedThreats[\(k)]"
            guard let em = mapping(n, p, allowed: ["type", "count", "at"]) else { continue }
            let type = string(em, "type", p)
            if let type, cat.threats[type] == nil { unknownType(type, "threat", Array(cat.threats.keys), Self.join(p, "type"), em["type"]) }
            let count = integer(em, "count", p, min: 1, max: 10_000)
            let at = string(em, "at", p)
            if let at, !assets.contains(at) {
                fail(Self.join(p, "at"), "must name a defended asset (got '\(at)'; assets: \(assets.joined(separator: ", ")))", em["at"])
            }
            if let type, let count, let at, cat.threats[type] != nil, assets.contains(at) {
                d.expectedThreats.append(.init(threatType: type, count: count, asset: at))
            }
        }
        // Each expected threat is a column of every assignment problem: bounded in all, as one entry is.
        let expectedTotal = d.expectedThreats.reduce(0) { $0 + $1.count }
        if expectedTotal > 10_000 {
            fail("doctrine.expectedThreats", "\(expectedTotal) expected threats in all; at most 10000", m["expectedThreats"])
        }
        return d
    }

    func alerting(_ node: Document?) -> AlertingSettings {
        var a = AlertingSettings()
        guard let node, !node.isNull, let m = mapping(node, "alerting", allowed: ["horizon", "clearDelay", "latency", "margin"]) else { return a }
        a.horizon = number(m, "horizon", "alerting", default: a.horizon, min: 0, minOpen: true, max: 7200) ?? a.horizon
        a.clearDelay = number(m, "clearDelay", "alerting", default: a.clearDelay, min: 0, max: 7200) ?? a.clearDelay
        a.latency = number(m, "latency", "alerting", default: a.latency, min: 0, max: 600) ?? a.latency
        a.margin = number(m, "margin", "alerting", default: a.margin, min: 0, max: 100_000) ?? a.margin
        return a
    }

    func tracker(_ node: Document?) -> TrackerSettings {
        var t = TrackerSettings()
        guard let node, !node.isNull,
              let m = mapping(node, "tracker", allowed: ["initiation", "falseTrackProbability", "missedTrackProbability",
                                                         "confirmM", "confirmN", "maxCoast", "gateProbability", "processNoise",
                                                         "radialSpeed", "maxAcceleration", "models"]) else { return t }
        t.initiation = choice(m, "initiation", "tracker", default: t.initiation) ?? t.initiation
        t.falseTrackProbability = number(m, "falseTrackProbability", "tracker", default: t.falseTrackProbability,
                                         min: 0, minOpen: true, max: 0.5, maxOpen: true) ?? t.falseTrackProbability
        t.missedTrackProbability = number(m, "missedTrackProbability", "tracker", default: t.missedTrackProbability,
                                          min: 0, minOpen: true, max: 0.5, maxOpen: true) ?? t.missedTrackProbability
        t.confirmM = integer(m, "confirmM", "tracker", default: t.confirmM, min: 1, max: 20) ?? t.confirmM
        t.confirmN = integer(m, "confirmN", "tracker", default: t.confirmN, min: 1, max: 20) ?? t.confirmN
        if t.confirmM > t.confirmN { fail("tracker.confirmM", "must be ≤ confirmN \(t.confirmN) (got \(t.confirmM))", m["confirmM"]) }
        t.maxCoast = number(m, "maxCoast", "tracker", default: t.maxCoast, min: 0, minOpen: true, max: 3600) ?? t.maxCoast
        t.gateProbability = number(m, "gateProbability", "tracker", default: t.gateProbability, min: 0.5, minOpen: true, max: 1, maxOpen: true) ?? t.gateProbability
        t.processNoise = number(m, "processNoise", "tracker", default: t.processNoise, min: 0, minOpen: true, max: 1e6) ?? t.processNoise
        t.radialSpeed = choice(m, "radialSpeed", "tracker", default: t.radialSpeed) ?? t.radialSpeed
        t.maxAcceleration = number(m, "maxAcceleration", "tracker", default: t.maxAcceleration, min: 0, max: 1000) ?? t.maxAcceleration
        if let node = m["models"], !node.isNull {
            t.models = motionModels(node, "tracker.models", turnRateKey: "turnRate", turnNoiseKey: "turnNoise", qMax: 1e6, sojournMax: 86_400,
                                    customHint: "RunOptions.trackerModels")
        }
        return t
    }
}

extension Reader {
    /// A filter bank's list of 1 to 4 `{type: cv|ct|ballistic, q, <turnRateKey> (°/s, ct only),
    /// sojourn}`, as a scenario's `tracker.models` and a tracker configuration file's `models`
    /// give it; every problem is reported, and the models read without one are returned.
    /// `customHint`: where a model of the user's is given instead (`type: custom` is refused).
    func motionModels(_ node: Document, _ path: String, turnRateKey: String, turnNoiseKey: String, qMax: Double? = nil,
                      sojournMax: Double? = nil, customHint: String) -> [TrackerModel] {
        let items = list(node, path)
        if items.isEmpty || items.count > 4 { fail(path, "must list 1 to 4 motion models (got \(items.count))", node) }
        var models: [TrackerModel] = []
        for (i, item) in items.prefix(4).enumerated() {
            let p = "\(path)[\(i)]"
            guard let mm = mapping(item, p, allowed: ["type", "q", turnRateKey, turnNoiseKey, "sojourn"]) else { continue }
            guard let kind: MotionModel.Kind = choice(mm, "type", p) else { continue }
            if kind == .custom {
                fail(Self.join(p, "type"), "must be one of cv, ct, ballistic, nct (got custom: a model of your own is given in Swift, \(customHint); docs/library.md)", mm["type"])
                continue
            }
            let q = number(mm, "q", p, min: 0, minOpen: true, max: qMax)
            let sojourn = number(mm, "sojourn", p, default: 20, min: 0, minOpen: true, max: sojournMax)
            var rate: Double? = 0, turnNoise: Double? = 0
            if kind == .coordinatedTurn {
                // Degrees per second in the file.
                rate = number(mm, turnRateKey, p, min: -90, max: 90).map { $0 * .pi / 180 }
            } else if kind == .estimatedTurn {
                // The starting spread of rates (°/s) and the rate's random walk (°²/s³).
                rate = number(mm, turnRateKey, p, default: TrackerModel.nctDefaultSpread * 180 / .pi, min: 0, minOpen: true, max: 90)
                    .map { $0 * .pi / 180 }
                turnNoise = number(mm, turnNoiseKey, p, default: TrackerModel.nctDefaultTurnNoise * 180 / .pi * 180 / .pi,
                                   min: 0, minOpen: true, max: 1e4).map { $0 * .pi / 180 * .pi / 180 }
                if items.count > 1 {
                    fail(Self.join(p, "type"), "an nct model runs alone (it follows turns of either sense itself): list it as the only model, or use cv and ct models in an IMM", mm["type"])
                }
            } else if mm[turnRateKey] != nil {
                fail(Self.join(p, turnRateKey), "applies only to types ct and nct", mm[turnRateKey])
            }
            if kind != .estimatedTurn && mm[turnNoiseKey] != nil {
                fail(Self.join(p, turnNoiseKey), "applies only to type nct", mm[turnNoiseKey])
            }
            if let q, let sojourn, let rate, let turnNoise {
                models.append(TrackerModel(kind: kind, q: q, turnRate: rate, sojourn: sojourn, turnNoise: turnNoise))
            }
        }
        return models
    }
}

extension Document {
    var isNull: Bool { if case .null = self { return true }; return false }
}
