import CanopyCore
import CanopyScenario
import Foundation
import Testing

@testable import CanopyStudy

@Suite("Sweeps", .serialized)
struct SweepTests {
    func message(_ text: String) -> String {
        do { _ = try SweepSpec.load(path: try writeTemporary(text)); return "" } catch { return "\(error)" }
    }

    @Test("Sweep files: the grid, and errors that name the field")
    func spec() throws {
        let path = try writeTemporary("""
            scenario: \(repositoryRoot)/examples/quickstart.yaml
            runs: 3
            parameters:
              - {path: "fireUnits[id=IRIS-Kyiv].magazine", values: [4, 8, 16]}
              - {name: scale, path: "raids[*].waves[*].count", scale: [1, 2]}
            """)
        let s = try SweepSpec.load(path: path)
        #expect(s.points == [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]])
        #expect(s.parameters.map(\.name) == ["fireUnits[id=IRIS-Kyiv].magazine", "scale"])
        #expect(s.overrides(at: [2, 1]) == [ScenarioOverride(path: "fireUnits[id=IRIS-Kyiv].magazine", .set("16")),
                                            ScenarioOverride(path: "raids[*].waves[*].count", .scale(2))])
        #expect(message("runs: 3\nparameters: [{path: a, values: [1]}]").contains("scenario: the scenario file to vary is missing"))
        #expect(message("scenario: x.yaml\nruns: 0\nparameters: [{path: a, values: [1]}]").contains("runs: must be a whole number from 2 (for confidence intervals) to 1000000"))
        #expect(message("scenario: x.yaml\nruns: 2000000\nparameters: [{path: a, values: [1]}]").contains("runs: must be a whole number from 2 (for confidence intervals) to 1000000"))
        // A grid is built before any point is checked: 10⁵ points took gigabytes.
        let five = (0..<5).map { _ in "{path: a, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}" }.joined(separator: ", ")
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [\(five)]").contains("parameters: the grid has 100000 points; at most 10000"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: []").contains("parameters: must be a non-empty list"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: a, values: [1], scale: [2]}]").contains("parameters[0]: give exactly one of values, scale or keep"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: a, values: []}]").contains("parameters[0].values: must be a non-empty list"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: 'a[', values: [1]}]").contains("parameters[0].path"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: a, keep: [-1]}]").contains("parameters[0].keep[0]: must be a whole number ≥ 0"))
        #expect(message("scenario: x.yaml\nruns: 2\nrunz: 3\nparameters: [{path: a, values: [1]}]").contains("runz: unknown field"))
    }

    @Test("Every shipped sweep file loads, and every point of it makes a valid scenario")
    func shippedSweeps() throws {
        let dir = repositoryRoot + "/examples/sweeps"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 4)
        for f in files {
            let spec = try SweepSpec.load(path: dir + "/" + f)
            for point in spec.points {
                do { _ = try ScenarioLoader.load(path: spec.scenarioPath, overrides: spec.overrides(at: point)) } catch {
                    Issue.record("\(f) at \(point): \(error)")
                }
            }
        }
        // The dearest-round sweep sets the rule it names.
        let dear = try SweepSpec.load(path: dir + "/winter-raid-dear-rounds.yaml")
        let limits = try dear.points.map { try ScenarioLoader.load(path: dear.scenarioPath, overrides: dear.overrides(at: $0)).doctrine.maxShotCost[.drone] }
        #expect(limits == [nil, 2.5e6, 1.5e6, 999_999, 399_999])
    }

    @Test("Structured values (lists, mappings) with labels")
    func structuredValues() throws {
        let path = try writeTemporary("""
            scenario: \(repositoryRoot)/examples/quickstart.yaml
            runs: 2
            parameters:
              - path: doctrine.reserves
                labels: [none, guns for drones]
                values: [[], [{effector: gepard, rounds: 5, for: [drone]}]]
            """)
        let s = try SweepSpec.load(path: path)
        #expect(s.parameters[0].labels == ["none", "guns for drones"])
        #expect(s.overrides(at: [1]) == [ScenarioOverride(path: "doctrine.reserves", .set("[{\"effector\":\"gepard\",\"for\":[\"drone\"],\"rounds\":5}]"))])
        // The structured value reaches the scenario.
        let scenario = try ScenarioLoader.load(path: "\(repositoryRoot)/examples/quickstart.yaml", overrides: s.overrides(at: [1]))
        #expect(scenario.doctrine.reserves == [Doctrine.Reserve(effectorType: "gepard", rounds: 5, forClasses: [.drone])])
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: a, values: [1, 2], labels: [one]}]").contains("parameters[0].labels: must be a list of 2 names"))
        #expect(message("scenario: x.yaml\nruns: 2\nparameters: [{path: a, values: [1, 2], labels: [a, a]}]")
            .contains("parameters[0].labels[1]: 'a' is the label of an earlier value too"))
    }

    @Test("A study file's paths are resolved from its real folder: a bare name, '..' through a link")
    func resolvePaths() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath().path + "/canopy-resolve-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/real/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/real/sub")
        #expect(StudyFile.resolve("../a.yaml", besideFile: dir + "/link/s.yaml") == dir + "/real/a.yaml")
        #expect(StudyFile.resolve("a.yaml", besideFile: dir + "/real/s.yaml") == dir + "/real/a.yaml")
        #expect(StudyFile.resolve("/abs/a.yaml", besideFile: "s.yaml") == "/abs/a.yaml")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(StudyFile.resolve("a.yaml", besideFile: "s.yaml") == URL(fileURLWithPath: cwd).resolvingSymlinksInPath().path + "/a.yaml")
    }

    @Test("A sweep runs every point with common random numbers and reports CSV and HTML")
    func run() throws {
        // Two points with the same value must give the same results (same replications, same
        // random numbers); the third differs only by its parameter.
        let path = try writeTemporary("""
            scenario: \(repositoryRoot)/examples/quickstart.yaml
            runs: 2
            parameters:
              - {name: IRIS-T rounds, path: "fireUnits[id=IRIS-Kyiv].magazine", values: [16, 16, 1]}
            """)
        let spec = try SweepSpec.load(path: path)
        let points = try SweepRunner.run(spec, threads: 2)
        #expect(points.count == 3)
        #expect(points[0].report.records == points[1].report.records)
        #expect(points[2].report.records != points[0].report.records)
        let report = SweepReport(spec: spec, points: points)
        let lines = report.csv.split(separator: "\n")
        #expect(lines[0] == "point,IRIS-T rounds,metric,mean,ci95_low,ci95_high,sd,n")
        #expect(lines.count == 1 + 3 * points[0].report.estimates.count)
        #expect(lines.contains { $0.hasPrefix("2,1,value_protected_share,") })
        let html = report.html
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.contains("value_protected_share"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(html.components(separatedBy: "<figure>").count - 1 == report.metricNames.count)
    }

    @Test("A bad value stops the sweep before any run, naming the point")
    func badPoint() throws {
        let path = try writeTemporary("""
            scenario: \(repositoryRoot)/examples/quickstart.yaml
            runs: 2
            parameters:
              - {name: IRIS-T rounds, path: "fireUnits[id=IRIS-Kyiv].magazine", values: [4, -1]}
            """)
        var text = ""
        do { _ = try SweepRunner.run(try SweepSpec.load(path: path), threads: 1) } catch { text = "\(error)" }
        #expect(text.contains("at IRIS-T rounds = -1") && text.contains("magazine"))
    }
}
