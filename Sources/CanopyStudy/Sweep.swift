import CanopyCore
import CanopyScenario
import CanopySimulation
import Foundation
import Yams

/// A parameter sweep: a study at every point of a grid of scenario edits.
///
/// ```yaml
/// scenario: ../examples/winter-raid.yaml     # relative to this file
/// runs: 100                                  # replications per point
/// seed: 7                                    # optional; default the scenario's
/// parameters:
///   - name: Patriot rounds at Kyiv-S         # optional label (default: the path)
///     path: fireUnits[id=PATRIOT-Kyiv-S].magazine
///     values: [8, 16, 32]                    # set these values
///   - path: raids[*].waves[*].count
///     scale: [0.5, 1, 2]                     # multiply
///   - path: fireUnits[type=nasams]
///     keep: [0, 1, 2]                        # keep the first n selected list elements
/// ```
///
/// Every point runs replications 0..<runs with the same seed, so points differ only by their
/// parameters (common random numbers) and differences between points are estimated sharply.
public struct SweepSpec: Sendable {
    public struct Parameter: Sendable {
        public var name: String
        public var path: String
        public var operations: [ScenarioOverride.Operation]
        /// The values as written, for tables and plot axes.
        public var labels: [String]
    }

    public var scenarioPath: String
    public var runs: Int
    public var seed: UInt64?
    public var parameters: [Parameter]

    /// The number of points of the grid (as a Double: it is checked before it could overflow).
    public var pointCount: Double { parameters.reduce(1.0) { $0 * Double($1.operations.count) } }

    /// Every combination, the first parameter varying slowest.
    public var points: [[Int]] {
        var out: [[Int]] = [[]]
        for p in parameters {
            out = out.flatMap { prefix in (0..<p.operations.count).map { prefix + [$0] } }
        }
        return out
    }

    public func overrides(at point: [Int]) -> [ScenarioOverride] {
        zip(parameters, point).map { ScenarioOverride(path: $0.path, $0.operations[$1]) }
    }

    /// Reads a sweep file; errors name the file and the field.
    public static func load(path: String) throws -> SweepSpec {
        let (top, fail) = try StudyFile.mapping(path: path, known: ["scenario", "runs", "seed", "parameters"],
                                                shape: "a mapping with scenario, runs and parameters")
        guard let scen = top["scenario"] as? String, !scen.isEmpty else { throw fail("scenario", "the scenario file to vary is missing") }
        let scenarioPath = StudyFile.resolve(scen, besideFile: path)
        guard let runs = top["runs"] as? Int, runs >= 2, runs <= StudyLimits.maxRuns else {
            throw fail("runs", "must be a whole number from 2 (for confidence intervals) to \(StudyLimits.maxRuns) (replications per point)")
        }
        var seed: UInt64?
        if let s = top["seed"] {
            guard let v = StudyFile.seed(s) else { throw fail("seed", StudyFile.seedRule(s)) }
            seed = v
        }
        guard let ps = top["parameters"] as? [Any], !ps.isEmpty else { throw fail("parameters", "must be a non-empty list") }
        var params: [Parameter] = []
        for (i, raw) in ps.enumerated() {
            let field = "parameters[\(i)]"
            guard let p = raw as? [String: Any] else { throw fail(field, "must be a mapping with path and values, scale or keep") }
            for k in p.keys where !["name", "path", "values", "scale", "keep", "labels"].contains(k) {
                throw fail(field + "." + k, "unknown field (known: name, path, values, scale, keep, labels)")
            }
            guard let pathText = p["path"] as? String, !pathText.isEmpty else { throw fail(field + ".path", "missing") }
            if let problem = ScenarioOverride.problem(in: pathText) { throw fail(field + ".path", problem) }
            let kinds = ["values", "scale", "keep"].filter { p[$0] != nil }
            guard kinds.count == 1 else { throw fail(field, "give exactly one of values, scale or keep (found \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")))") }
            let kind = kinds[0]
            guard let list = p[kind] as? [Any], !list.isEmpty else { throw fail(field + "." + kind, "must be a non-empty list") }
            var ops: [ScenarioOverride.Operation] = [], labels: [String] = []
            for (j, v) in list.enumerated() {
                let f = "\(field).\(kind)[\(j)]"
                switch kind {
                case "values":
                    guard let s = StudyFile.overrideText(v) else { throw fail(f, "must be a number, a word, true/false, a list or a mapping") }
                    ops.append(.set(s)); labels.append(s)
                case "scale":
                    guard let x = (v as? Double) ?? (v as? Int).map(Double.init), x >= 0, x.isFinite else { throw fail(f, "must be a number ≥ 0") }
                    ops.append(.scale(x)); labels.append("×\(v)")
                default:
                    guard let n = v as? Int, n >= 0 else { throw fail(f, "must be a whole number ≥ 0") }
                    ops.append(.keep(n)); labels.append(String(n))
                }
            }
            if let given = p["labels"] {
                guard let names = given as? [Any], names.count == labels.count else {
                    throw fail(field + ".labels", "must be a list of \(labels.count) names, one per value")
                }
                labels = names.map { "\($0)" }
                // A given label names its value's points in the CSV and the report. (A value
                // repeated under its own label is allowed: the points share their replications.)
                var seen = Set<String>()
                for (k, l) in labels.enumerated() where !seen.insert(l).inserted {
                    throw fail(field + ".labels[\(k)]", "'\(l)' is the label of an earlier value too; each value needs a label of its own")
                }
            }
            params.append(Parameter(name: (p["name"] as? String) ?? pathText, path: pathText, operations: ops, labels: labels))
        }
        let spec = SweepSpec(scenarioPath: scenarioPath, runs: runs, seed: seed, parameters: params)
        guard spec.pointCount <= Double(SweepSpec.maxPoints) else {
            throw fail("parameters", "the grid has \(String(format: "%.0f", spec.pointCount)) points; at most \(SweepSpec.maxPoints)")
        }
        return spec
    }

    /// The largest grid a sweep may have.
    public static let maxPoints = 10_000
}

/// Reading the YAML files of sweeps, plans and forecasts: the top-level mapping, with unknown
/// fields refused, and an error maker that names the file and the field.
enum StudyFile {
    typealias Fail = (_ field: String, _ message: String) -> StudyError

    /// A path named in a study file, relative to that file's folder (or absolute), as an
    /// absolute path. (A relative URL's `appendingPathComponent(…).standardized` lost its base:
    /// `canopy sweep s.yaml` run beside s.yaml looked for the scenario at the root.)
    static func resolve(_ name: String, besideFile path: String) -> String {
        if name.hasPrefix("/") { return URL(fileURLWithPath: name).standardized.path }
        let file = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        // The folder through its links, as the shell would follow `..` from it.
        let folder = URL(fileURLWithPath: (file as NSString).deletingLastPathComponent).resolvingSymlinksInPath().path
        return URL(fileURLWithPath: folder + "/" + name).standardized.path
    }

    /// A value of a study file as the text of a scenario edit (`ScenarioOverride.Operation.set`):
    /// a number, word or true/false as written; a list or a mapping as JSON (YAML's flow style,
    /// keys sorted, so the same value gives the same text every time). Nil for anything else.
    static func overrideText(_ v: Any) -> String? {
        if let x = v as? Int { return String(x) }
        if let x = v as? Double { return String(x) }
        if let x = v as? String { return x }
        if let x = v as? Bool { return x ? "true" : "false" }
        if v is [Any] || v is [String: Any], JSONSerialization.isValidJSONObject(v),
           let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return nil
    }

    /// A seed from a study file: a whole number from 0 to 2⁶⁴ − 1, as `--seed` takes (numbers past
    /// 2⁶³ − 1 written in quotes, which YAML would otherwise read inexactly).
    static func seed(_ v: Any) -> UInt64? {
        if let n = v as? Int { return n >= 0 ? UInt64(n) : nil }
        if let t = v as? String { return UInt64(t.trimmingCharacters(in: .whitespaces)) }
        return nil
    }

    static func seedRule(_ v: Any) -> String {
        "must be a whole number from 0 to 18446744073709551615 (got \(v); past 9223372036854775807, write it in quotes)"
    }

    static func mapping(path: String, known: [String], shape: String) throws -> ([String: Any], Fail) {
        let file = URL(fileURLWithPath: path).lastPathComponent
        let fail: Fail = { field, m in StudyError("\(file): \(field.isEmpty ? "" : field + ": ")\(m)") }
        let text: String
        do { text = try InputFile.readText(path: path) } catch let e as InputFileError {
            throw fail("", e.message == InputFile.notUTF8 ? e.message : "\(e.message) (\(path))")
        }
        let root: Any?
        if let problem = yamlExpansionProblem(text) { throw fail("", problem) }
        do { root = try Yams.load(yaml: text) } catch { throw fail("", "not valid YAML: \(error)") }
        guard let top = root as? [String: Any] else { throw fail("", "must be \(shape)") }
        for k in top.keys.sorted() where !known.contains(k) {
            throw fail(k, "unknown field (known: \(known.joined(separator: ", ")))")
        }
        return (top, fail)
    }
}

/// The study at one point of a sweep.
public struct SweepPoint: Sendable {
    public var point: [Int]
    public var report: StudyReport
}

public enum SweepRunner {
    /// Builds every point's scenario first (so a bad value is reported before any run), then
    /// runs each point's study.
    public static func run(_ spec: SweepSpec, threads: Int, model: BattleModel = .looks,
                           progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [SweepPoint] {
        guard spec.pointCount * Double(spec.runs) <= Double(StudyLimits.maxRuns) else {
            throw StudyError("\(String(format: "%.0f", spec.pointCount)) points × \(spec.runs) replications: at most \(StudyLimits.maxRuns) replications in all")
        }
        var scenarios: [(point: [Int], scenario: Scenario)] = []
        for point in spec.points {
            let overrides = spec.overrides(at: point)
            do {
                var s = try ScenarioLoader.load(path: spec.scenarioPath, overrides: overrides)
                if let seed = spec.seed { s.seed = seed }
                scenarios.append((point, s))
            } catch {
                let at = zip(spec.parameters, point).map { "\($0.name) = \($0.labels[$1])" }.joined(separator: ", ")
                throw StudyError("at \(at): \(error)")
            }
        }
        let total = scenarios.count * spec.runs
        var out: [SweepPoint] = []
        for (k, sc) in scenarios.enumerated() {
            let offset = k * spec.runs
            let records = try StudyRunner.run(sc.scenario, indices: 0..<spec.runs, threads: threads, progress: { done, _ in
                progress?(offset + done, total)
            }, model: model)
            out.append(SweepPoint(point: sc.point, report: StudyReport(scenario: sc.scenario.name, seed: sc.scenario.seed, model: model, records: records)))
        }
        return out
    }
}

/// A sweep's outputs: a tidy CSV (one row per point and metric) and a self-contained HTML
/// report with SVG plots drawn here (no script, no network).
public struct SweepReport {
    public var spec: SweepSpec
    public var points: [SweepPoint]

    public init(spec: SweepSpec, points: [SweepPoint]) { self.spec = spec; self.points = points }

    public var csv: String {
        var header = ["point"] + spec.parameters.map(\.name) + ["metric", "mean", "ci95_low", "ci95_high", "sd", "n"]
        header = header.map(OutputWriter.csvField)
        var out = header.joined(separator: ",") + "\n"
        for (k, p) in points.enumerated() {
            let labels = zip(spec.parameters, p.point).map { OutputWriter.csvField($0.labels[$1]) }
            for (name, e) in p.report.estimates {
                // A single value has no interval: its bounds and deviation are left empty.
                let spread = e.hasInterval ? [StudyReport.num(e.lower), StudyReport.num(e.upper), StudyReport.num(e.standardDeviation)] : ["", "", ""]
                let cells = [String(k)] + labels + [name, StudyReport.num(e.mean)] + spread + [String(e.count)]
                out += cells.joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// Metrics present at every point, in the order of the first.
    var metricNames: [String] {
        guard let first = points.first else { return [] }
        return first.report.estimates.map(\.name).filter { n in points.allSatisfy { $0.report.estimates.contains { $0.name == n } } }
    }

    public var html: String {
        let title = "Canopy sweep — \(points.first?.report.scenario ?? "")"
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
            h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
            table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            th { background: #f2f2f2; } td.l, th.l { text-align: left; }
            .plots { display: flex; flex-wrap: wrap; gap: 18px; } figure { margin: 0; } figcaption { font-weight: 600; }
            svg text { font: 11px system-ui, sans-serif; fill: #333; }
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p>\(points.count) points × \(spec.runs) replications (seed \(points.first.map { String($0.report.seed) } ?? "-"), the same replications at every point: common random numbers). Means with 95 % confidence intervals.</p>

            """
        h += "<table><tr><th class=\"l\">parameter</th><th class=\"l\">path</th><th class=\"l\">values</th></tr>"
        for p in spec.parameters {
            h += "<tr><td class=\"l\">\(Self.escape(p.name))</td><td class=\"l\"><code>\(Self.escape(p.path))</code></td><td class=\"l\">\(Self.escape(p.labels.joined(separator: ", ")))</td></tr>"
        }
        h += "</table>\n<h2>Plots</h2>\n<div class=\"plots\">\n"
        for m in metricNames { h += plot(metric: m) }
        h += "</div>\n<h2>Every point</h2>\n<table><tr><th>#</th>"
        for p in spec.parameters { h += "<th class=\"l\">\(Self.escape(p.name))</th>" }
        let shown = metricNames
        for m in shown { h += "<th>\(Self.escape(m))</th>" }
        h += "</tr>\n"
        for (k, p) in points.enumerated() {
            h += "<tr><td>\(k)</td>"
            for (par, i) in zip(spec.parameters, p.point) { h += "<td class=\"l\">\(Self.escape(par.labels[i]))</td>" }
            let est = Dictionary(p.report.estimates.map { ($0.name, $0.estimate) }, uniquingKeysWith: { a, _ in a })
            for m in shown {
                let e = est[m]!
                h += "<td>\(Self.escape(e.text(Self.short)))</td>"
            }
            h += "</tr>\n"
        }
        h += "</table>\n<p>Made by <code>canopy sweep</code>; the numbers are in <code>sweep.csv</code>.</p>\n</body></html>\n"
        return h
    }

    /// One metric against the first parameter; a line per combination of the others, with
    /// error bars for the 95 % intervals.
    func plot(metric: String) -> String {
        let first = spec.parameters[0]
        let nx = first.labels.count
        var series: [String: [(x: Int, e: Estimate)]] = [:]
        var order: [String] = []
        for p in points {
            let key = zip(spec.parameters.dropFirst(), p.point.dropFirst()).map { "\($0.name) = \($0.labels[$1])" }.joined(separator: ", ")
            if series[key] == nil { order.append(key); series[key] = [] }
            if let e = p.report.estimates.first(where: { $0.name == metric })?.estimate, e.count > 0 {
                series[key]!.append((p.point[0], e))
            }
        }
        let all = series.values.flatMap { $0 }
        guard !all.isEmpty else { return "" }
        var lo = all.map { $0.e.lower }.min()!, hi = all.map { $0.e.upper }.max()!
        if hi - lo < 1e-12 {
            let d = abs(hi) > 0 ? 0.1 * abs(hi) : 1
            lo -= d; hi += d
        }
        let pad = 0.06 * (hi - lo)
        lo -= pad; hi += pad
        let w = 460.0, ht = 260.0, ml = 64.0, mr = 12.0, mt = 10.0, mb = 44.0
        let pw = w - ml - mr, ph = ht - mt - mb
        // Categories at the middles of nx equal slots, so that the outer labels stay inside.
        func X(_ i: Int) -> Double { ml + pw * (Double(i) + 0.5) / Double(nx) }
        func Y(_ v: Double) -> Double { mt + ph * (1 - (v - lo) / (hi - lo)) }
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        var s = "<figure><figcaption>\(Self.escape(metric))</figcaption>"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(ht + Double(order.count) * 14))\" role=\"img\" aria-label=\"\(Self.escape(metric)) against \(Self.escape(first.name))\">"
        s += "<rect x=\"\(ml)\" y=\"\(mt)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#999\"/>"
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            s += "<line x1=\"\(ml - 4)\" x2=\"\(ml + pw)\" y1=\"\(Self.f(Y(v)))\" y2=\"\(Self.f(Y(v)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(ml - 6)\" y=\"\(Self.f(Y(v) + 4))\" text-anchor=\"end\">\(Self.escape(Self.short(v)))</text>"
        }
        for i in 0..<nx {
            s += "<text x=\"\(Self.f(X(i)))\" y=\"\(Self.f(mt + ph + 16))\" text-anchor=\"middle\">\(Self.escape(first.labels[i]))</text>"
        }
        s += "<text x=\"\(Self.f(ml + pw / 2))\" y=\"\(Self.f(mt + ph + 34))\" text-anchor=\"middle\">\(Self.escape(first.name))</text>"
        for (k, key) in order.enumerated() {
            let c = palette[k % palette.count]
            let pts = series[key]!.sorted { $0.x < $1.x }
            if pts.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.8\" points=\""
                s += pts.map { "\(Self.f(X($0.x))),\(Self.f(Y($0.e.mean)))" }.joined(separator: " ") + "\"/>"
            }
            for p in pts {
                let x = Self.f(X(p.x))
                if p.e.hasInterval {
                    s += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Self.f(Y(p.e.lower)))\" y2=\"\(Self.f(Y(p.e.upper)))\" stroke=\"\(c)\"/>"
                }
                s += "<circle cx=\"\(x)\" cy=\"\(Self.f(Y(p.e.mean)))\" r=\"3\" fill=\"\(c)\"><title>\(Self.escape(p.e.text(Self.short)))</title></circle>"
            }
            if !key.isEmpty {
                let y = ht + Double(k) * 14 - 2
                s += "<rect x=\"\(ml)\" y=\"\(Self.f(y - 8))\" width=\"10\" height=\"10\" fill=\"\(c)\"/><text x=\"\(ml + 14)\" y=\"\(Self.f(y + 1))\">\(Self.escape(key))</text>"
            }
        }
        s += "</svg></figure>\n"
        return s
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    static func short(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        let a = abs(x)
        if a >= 1e6 { return String(format: "%.3gM", x / 1e6) }
        if a >= 1000 { return String(format: "%.0f", x) }
        if a >= 1 { return String(format: "%.3g", x) }
        return String(format: "%.3g", x)
    }

    static func escape(_ s: String) -> String { MarkupText.escape(s) }
}
