import CanopyCore
import Foundation

extension Reader {
    /// Reads `threats`, `effectors` and `sensors` lists into `cat`, replacing types of the same name.
    func catalogueSections(_ m: [String: Document], _ path: String, into cat: inout Catalogue, known: Catalogue) {
        // A name given twice in one list is an error (the last had silently won); a name of the
        // built-in catalogue is replaced, as documented.
        var seen: [String: String] = [:]
        func once(_ name: String, _ p: String, _ n: Document) -> Bool {
            if let first = seen[name] { fail(Self.join(p, "name"), "'\(name)' is the name of \(first) too", n); return false }
            seen[name] = p
            return true
        }
        for (k, n) in list(m["threats"], Self.join(path, "threats")).enumerated() {
            let p = "\(Self.join(path, "threats"))[\(k)]"
            if let t = threatType(n, p) { if once(t.name, p, n) { cat.threats[t.name] = t } } else { noteInvalidType(n) }
        }
        seen = [:]
        for (k, n) in list(m["effectors"], Self.join(path, "effectors")).enumerated() {
            let p = "\(Self.join(path, "effectors"))[\(k)]"
            if let e = effectorType(n, p) { if once(e.name, p, n) { cat.effectors[e.name] = e } } else { noteInvalidType(n) }
        }
        seen = [:]
        for (k, n) in list(m["sensors"], Self.join(path, "sensors")).enumerated() {
            let p = "\(Self.join(path, "sensors"))[\(k)]"
            if let s = sensorType(n, p) { if once(s.name, p, n) { cat.sensors[s.name] = s } } else { noteInvalidType(n) }
        }
    }

    /// A type that failed to load, by its name if it has one.
    private func noteInvalidType(_ n: Document) {
        if case .mapping(let pairs, _) = n, let name = pairs.first(where: { $0.0 == "name" })?.1,
           case .scalar(let s, _, _) = name {
            invalidTypes.insert(s)
        }
    }

    func provenance(_ node: Document?, _ path: String) -> [String: Sourced] {
        guard let node, !node.isNull, case .mapping(let pairs, _) = node else {
            if let node, !node.isNull { fail(path, "must be a mapping of field → {source, confidence}", node) }
            return [:]
        }
        var out: [String: Sourced] = [:]
        for (field, v) in pairs {
            let p = Self.join(path, field)
            guard let sm = mapping(v, p, allowed: ["source", "confidence"]) else { continue }
            if let s = string(sm, "source", p), let c: Confidence = choice(sm, "confidence", p) {
                out[field] = Sourced(source: s, confidence: c)
            }
        }
        return out
    }

    func threatType(_ n: Document, _ p: String) -> ThreatType? {
        guard let m = mapping(n, p, allowed: ["name", "displayName", "flightModel", "speed", "cruiseAltitude", "climbAngle",
                                              "diveAngle", "launchAltitude", "loftAngle", "rcs", "warheadKg", "unitCost",
                                              "maxRange", "sources"]) else { return nil }
        let name = string(m, "name", p)
        let display = string(m, "displayName", p, default: name ?? "") ?? ""
        let model: FlightModel? = choice(m, "flightModel", p)
        let speed = number(m, "speed", p, min: 0, minOpen: true, max: 10_000)
        let cruise = number(m, "cruiseAltitude", p, default: 0, min: 0, max: 100_000)
        let climb = number(m, "climbAngle", p, default: 10, min: 0, minOpen: true, max: 90)
        let dive = number(m, "diveAngle", p, default: 30, min: 0, minOpen: true, max: 90)
        let launchAlt = number(m, "launchAltitude", p, default: 0, min: 0, max: 30_000)
        let loft = number(m, "loftAngle", p, default: 45, min: 0, minOpen: true, max: 90, maxOpen: true)
        let rcs = number(m, "rcs", p, min: 0, minOpen: true, max: 1000)
        let warhead = number(m, "warheadKg", p, min: 0, max: 10_000)
        // Costs in dollars, at most ten billion (a costlier figure is a typo, and 1e308 had
        // overflowed the outputs' sums to infinity).
        let cost = number(m, "unitCost", p, min: 0, max: 1e10)
        let range = number(m, "maxRange", p, min: 0, minOpen: true, max: 20_000_000)
        let sources = provenance(m["sources"], Self.join(p, "sources"))
        guard let name, let model, let speed, let cruise, let climb, let dive, let launchAlt, let loft, let rcs, let warhead,
              let cost, let range else { return nil }
        return ThreatType(name: name, displayName: display, flightModel: model, speed: speed, cruiseAltitude: cruise,
                          climbAngle: radians(climb), diveAngle: radians(dive), launchAltitude: launchAlt, loftAngle: radians(loft),
                          rcs: rcs, warheadKg: warhead, unitCost: cost, maxRange: range, provenance: sources)
    }

    func effectorType(_ n: Document, _ p: String) -> EffectorType? {
        guard let m = mapping(n, p, allowed: ["name", "displayName", "kind", "minRange", "maxRange", "minAltitude", "maxAltitude",
                                              "interceptorSpeed", "killProbability", "reactionTime", "reloadTime", "fireChannels",
                                              "costPerShot", "sources"]) else { return nil }
        let name = string(m, "name", p)
        let display = string(m, "displayName", p, default: name ?? "") ?? ""
        let kind: EffectorKind? = choice(m, "kind", p)
        let minR = number(m, "minRange", p, default: 0, min: 0)
        let maxR = number(m, "maxRange", p, min: 0, minOpen: true, max: 1_000_000)
        if let minR, let maxR, maxR <= minR { fail(Self.join(p, "maxRange"), "must be > minRange \(Self.format(minR)) (got \(Self.format(maxR)))", m["maxRange"]) }
        let minA = number(m, "minAltitude", p, default: 0, min: 0)
        let maxA = number(m, "maxAltitude", p, min: 0, minOpen: true, max: 1_000_000)
        if let minA, let maxA, maxA <= minA { fail(Self.join(p, "maxAltitude"), "must be > minAltitude \(Self.format(minA)) (got \(Self.format(maxA)))", m["maxAltitude"]) }
        let speed = number(m, "interceptorSpeed", p, default: kind == .ew ? 299_792_458 : nil, min: 0, minOpen: true)
        var pk: [ThreatClass: Double] = [:]
        let pkPath = Self.join(p, "killProbability")
        if let pkNode = m["killProbability"], let pm = mapping(pkNode, pkPath, allowed: ThreatClass.allCases.map(\.rawValue)) {
            for (k, v) in pm {
                if let c = ThreatClass(rawValue: k), let x = checkNumber(v, Self.join(pkPath, k), min: 0, max: 1) { pk[c] = x }
            }
        } else if m["killProbability"] == nil {
            fail(pkPath, "is required (threat class → probability in [0, 1])", nil)
        }
        let reaction = number(m, "reactionTime", p, default: 10, min: 0, max: 3600)
        let reload = number(m, "reloadTime", p, default: 0, min: 0, max: 86_400)
        let channels = integer(m, "fireChannels", p, default: 1, min: 1, max: 1000)
        let cost = number(m, "costPerShot", p, min: 0, max: 1e10)
        let sources = provenance(m["sources"], Self.join(p, "sources"))
        guard let name, let kind, let minR, let maxR, maxR > minR, let minA, let maxA, maxA > minA, let speed, let reaction,
              let reload, let channels, let cost else { return nil }
        return EffectorType(name: name, displayName: display, kind: kind, minRange: minR, maxRange: maxR, minAltitude: minA,
                            maxAltitude: maxA, interceptorSpeed: speed, killProbability: pk, reactionTime: reaction,
                            reloadTime: reload, fireChannels: channels, costPerShot: cost, provenance: sources)
    }

    func sensorType(_ n: Document, _ p: String) -> SensorType? {
        guard let m = mapping(n, p, allowed: ["name", "displayName", "kind", "radar", "acoustic", "citizen", "sources"]) else { return nil }
        let name = string(m, "name", p)
        let display = string(m, "displayName", p, default: name ?? "") ?? ""
        let kind: SensorKind? = choice(m, "kind", p)
        let sources = provenance(m["sources"], Self.join(p, "sources"))
        guard let name, let kind else { return nil }
        for other in SensorKind.allCases where other != kind && m[other.rawValue] != nil {
            fail(Self.join(p, other.rawValue), "does not belong to a sensor of kind \(kind.rawValue)", m[other.rawValue])
        }
        guard let block = m[kind.rawValue] else {
            fail(Self.join(p, kind.rawValue), "is required for a sensor of kind \(kind.rawValue)", nil)
            return nil
        }
        let bp = Self.join(p, kind.rawValue)
        switch kind {
        case .radar:
            guard let r = mapping(block, bp, allowed: ["referenceRange", "referenceRCS", "maxRange", "period", "sigmaRange",
                                                       "sigmaAzimuth", "sigmaElevation", "minElevation", "clutterPerScan",
                                                       "falseAlarmProbability", "sigmaRangeRate", "rangeRateSpan"]) else { return nil }
            // Every figure is read before any is required, so that each bad one is reported.
            // Bounded like the maximum range: a reference range or a range noise of 1e200 ran.
            let ref = number(r, "referenceRange", bp, min: 0, minOpen: true, max: 5_000_000)
            let rcs = number(r, "referenceRCS", bp, default: 1, min: 0, minOpen: true)
            let maxR = number(r, "maxRange", bp, min: 0, minOpen: true, max: 5_000_000)
            let period = number(r, "period", bp, min: 0.1, max: 3600)
            let sr = number(r, "sigmaRange", bp, min: 0, minOpen: true, max: 100_000)
            let sa = number(r, "sigmaAzimuth", bp, min: 0, minOpen: true, max: 90)
            let se = number(r, "sigmaElevation", bp, min: 0, minOpen: true, max: 90)
            let minEl = number(r, "minElevation", bp, default: 0, min: -5, max: 45)
            let clutter = number(r, "clutterPerScan", bp, default: 0, min: 0, max: 10_000)
            let pfa = number(r, "falseAlarmProbability", bp, default: 1e-6, min: 0, minOpen: true, max: 0.1)
            let srr = number(r, "sigmaRangeRate", bp, default: 0, min: 0, max: 500)
            let span = number(r, "rangeRateSpan", bp, default: 1_500, min: 0, minOpen: true, max: 20_000)
            guard let ref, let rcs, let maxR, let period, let sr, let sa, let se, let minEl, let clutter, let pfa, let srr, let span
            else { return nil }
            return SensorType(name: name, displayName: display, kind: .radar, radar: RadarParameters(
                referenceRange: ref, referenceRCS: rcs, maxRange: maxR, period: period, sigmaRange: sr,
                sigmaAzimuth: radians(sa), sigmaElevation: radians(se), minElevation: radians(minEl),
                clutterPerScan: clutter, falseAlarmProbability: pfa, sigmaRangeRate: srr, rangeRateSpan: span),
                provenance: sources)
        case .acoustic:
            guard let a = mapping(block, bp, allowed: ["detectionRadius", "altitudeCeiling", "sigmaBearing", "latency", "period",
                                                       "detectionProbability"]) else { return nil }
            var radius: [ThreatClass: Double] = [:]
            let rp = Self.join(bp, "detectionRadius")
            if let rn = a["detectionRadius"], let rm = mapping(rn, rp, allowed: ThreatClass.allCases.map(\.rawValue)) {
                for (k, v) in rm { if let c = ThreatClass(rawValue: k), let x = checkNumber(v, Self.join(rp, k), min: 0, minOpen: true, max: 100_000) { radius[c] = x } }
            } else if a["detectionRadius"] == nil { fail(rp, "is required (threat class → metres)", nil) }
            let ceiling = number(a, "altitudeCeiling", bp, min: 0, minOpen: true)
            let sb = number(a, "sigmaBearing", bp, min: 0, minOpen: true, max: 90)
            let lat = number(a, "latency", bp, default: 0, min: 0, max: 600)
            let period = number(a, "period", bp, default: 5, min: 0.1, max: 600)
            let pd = number(a, "detectionProbability", bp, default: 0.9, min: 0, max: 1)
            guard let ceiling, let sb, let lat, let period, let pd else { return nil }
            return SensorType(name: name, displayName: display, kind: .acoustic, acoustic: AcousticParameters(
                detectionRadius: radius, altitudeCeiling: ceiling, sigmaBearing: radians(sb), latency: lat, period: period,
                detectionProbability: pd), provenance: sources)
        case .citizen:
            guard let c = mapping(block, bp, allowed: ["reportsPerMinute", "observerDistance", "altitudeCeiling", "sigmaBearing",
                                                       "meanDelay", "falseReportsPerHour"]) else { return nil }
            let rate = number(c, "reportsPerMinute", bp, min: 0, max: 1000)
            let dist = number(c, "observerDistance", bp, min: 0, minOpen: true, max: 100_000)
            let ceiling = number(c, "altitudeCeiling", bp, min: 0, minOpen: true)
            let sb = number(c, "sigmaBearing", bp, min: 0, minOpen: true, max: 90)
            let delay = number(c, "meanDelay", bp, default: 30, min: 0, max: 3600)
            let falseRate = number(c, "falseReportsPerHour", bp, default: 0, min: 0, max: 100_000)
            guard let rate, let dist, let ceiling, let sb, let delay, let falseRate else { return nil }
            return SensorType(name: name, displayName: display, kind: .citizen, citizen: CitizenParameters(
                reportsPerMinute: rate, observerDistance: dist, altitudeCeiling: ceiling, sigmaBearing: radians(sb),
                meanDelay: delay, falseReportsPerHour: falseRate), provenance: sources)
        }
    }
}
