import CanopyCore
import CanopyTracking
import Foundation

/// Reads a tracker configuration file (YAML or JSON) for `canopy track`, reporting every problem
/// as `file: path: message (line N)`. See docs/tracking.md for the keys.
public enum TrackerConfigFile {
    static let keys = ["filter", "association", "initiation", "models", "confirm_m", "confirm_n", "max_coast",
                       "gate_probability", "process_noise", "max_speed", "cell_size", "oosm_window", "score", "jpda_max_events",
                       "radial_speed", "max_acceleration"]

    public static func load(path: String, base: TrackerConfiguration) throws -> TrackerConfiguration {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let text = try ScenarioLoader.text(path: path)
        let doc: Document
        do {
            doc = URL(fileURLWithPath: path).pathExtension.lowercased() == "json" ? try Document.json(text) : try Document.yaml(text)
        } catch let e as DocumentError {
            throw ScenarioError(problems: [.init(file: name, path: "", message: e.message, line: e.line)])
        }
        let r = Reader(file: name)
        var c = base
        if let m = r.mapping(doc, "", allowed: keys) {
            // A key given null does not mean its default: it is written and says nothing.
            for k in m.keys.sorted() where m[k]!.isNull { r.fail(k, "is null: give a value, or leave the key out for the default", m[k]) }
            c.filter = r.choice(m, "filter", "", default: base.filter) ?? base.filter
            c.association = r.choice(m, "association", "", default: base.association) ?? base.association
            c.initiation = r.choice(m, "initiation", "", default: base.initiation) ?? base.initiation
            c.confirmM = r.integer(m, "confirm_m", "", default: base.confirmM, min: 1, max: 100) ?? base.confirmM
            c.confirmN = r.integer(m, "confirm_n", "", default: base.confirmN, min: 1, max: 100) ?? base.confirmN
            if c.confirmM > c.confirmN { r.fail("confirm_m", "must be ≤ confirm_n (\(c.confirmN))", m["confirm_m"]) }
            c.maxCoast = r.number(m, "max_coast", "", default: base.maxCoast, min: 0, minOpen: true) ?? base.maxCoast
            c.gateProbability = r.number(m, "gate_probability", "", default: base.gateProbability, min: 0.5, max: 1, maxOpen: true) ?? base.gateProbability
            c.processNoise = r.number(m, "process_noise", "", default: base.processNoise, min: 0, minOpen: true) ?? base.processNoise
            c.maxSpeed = r.number(m, "max_speed", "", default: base.maxSpeed, min: 0, minOpen: true) ?? base.maxSpeed
            c.cellSize = r.number(m, "cell_size", "", default: base.cellSize, min: 100) ?? base.cellSize
            c.oosmWindow = r.number(m, "oosm_window", "", default: base.oosmWindow, min: 0) ?? base.oosmWindow
            c.radialSpeed = r.choice(m, "radial_speed", "", default: base.radialSpeed) ?? base.radialSpeed
            c.maxAcceleration = r.number(m, "max_acceleration", "", default: base.maxAcceleration, min: 0, max: 1000) ?? base.maxAcceleration
            // Each event of a cluster is enumerated: ten million take seconds, a trillion forever.
            c.jpdaMaxEvents = r.integer(m, "jpda_max_events", "", default: base.jpdaMaxEvents, min: 1, max: 10_000_000) ?? base.jpdaMaxEvents
            if let s = m["score"], let sm = r.mapping(s, "score", allowed: ["alpha", "beta", "drop", "new_target_ratio"]) {
                c.scoreAlpha = r.number(sm, "alpha", "score", default: base.scoreAlpha, min: 0, minOpen: true, max: 0.5) ?? base.scoreAlpha
                c.scoreBeta = r.number(sm, "beta", "score", default: base.scoreBeta, min: 0, minOpen: true, max: 0.5) ?? base.scoreBeta
                c.scoreDrop = r.number(sm, "drop", "score", default: base.scoreDrop, min: 0, minOpen: true) ?? base.scoreDrop
                c.newTargetDensityRatio = r.number(sm, "new_target_ratio", "score", default: base.newTargetDensityRatio, min: 0, minOpen: true) ?? base.newTargetDensityRatio
            }
            if let node = m["models"] {
                let models = r.motionModels(node, "models", turnRateKey: "turn_rate", turnNoiseKey: "turn_noise",
                                            customHint: "as MotionModel.custom")
                if !models.isEmpty && r.problems.isEmpty { c.models = models.map(\.motionModel) }
            } else if m["process_noise"] != nil {
                c.models = [.cv(q: c.processNoise)]
            }
            // Settings that the chosen methods do not read are refused, not kept in silence
            // (confirm_m under score initiation had changed nothing).
            if c.initiation != .mOfN {
                for k in ["confirm_m", "confirm_n"] where m[k] != nil {
                    r.fail(k, "applies only with initiation m-of-n (the initiation is \(c.initiation.rawValue))", m[k])
                }
            }
            if c.initiation != .score, m["score"] != nil {
                r.fail("score", "applies only with initiation score (the initiation is \(c.initiation.rawValue))", m["score"])
            }
            if c.association != .jpda, m["jpda_max_events"] != nil {
                r.fail("jpda_max_events", "applies only with association jpda (the association is \(c.association.rawValue))", m["jpda_max_events"])
            }
            // Whether the models are the file's or the default's (an nct model).
            if c.models.contains(where: { $0.kind == .estimatedTurn }) && c.filter != .ekf {
                let given = m["models"] == nil ? " (the default models are one nct model; give models to use another filter)" : ""
                r.fail("filter", "must be ekf with an nct model (got \(c.filter.rawValue)): the estimated turn rate is updated by the extended Kalman filter\(given)",
                       m["filter"] ?? doc)
            }
        }
        if !r.problems.isEmpty { throw ScenarioError(problems: r.problems) }
        return c
    }
}
