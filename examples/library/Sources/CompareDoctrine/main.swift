// Compares a doctrine of your own with Canopy's built-in assigner, replication by replication:
//   swift run -c release CompareDoctrine SCENARIO [RUNS] [MAX_COST]
// The doctrine: the built-in assigner's plans, less any round costing MAX_COST dollars or more
// (default 1,000,000) fired at a drone or a decoy.

import CanopyBattle
import CanopyScenario
import CanopySimulation
import CanopyStudy
import CanopyTEWA
import Foundation

/// The built-in assigner's plans, less any round costing `maxCost` or more fired at a drone or
/// a decoy (the planner of docs/library.md).
struct NoDearRoundsAtDrones: EngagementPlanner {
    var builtIn: Assigner
    var maxCost: Double
    func plan(_ s: EngagementSituation) -> [EngagementPlan] {
        builtIn.plan(s).filter { p in
            let cls = s.assessment(of: p.track)?.threatClass
            let cheap = s.fireUnits[p.fireUnit].type.costPerShot < maxCost
            return cheap || (cls != .drone && cls != .decoy)
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("CompareDoctrine: \(message)\n".utf8))
    exit(2)
}

let args = CommandLine.arguments.dropFirst()
guard let path = args.first else { fail("usage: CompareDoctrine SCENARIO [RUNS] [MAX_COST]") }
let runs = args.count > 1 ? Int(args[args.startIndex + 1]) : 16
let maxCost = args.count > 2 ? Double(args[args.startIndex + 2]) : 1_000_000
guard let runs, runs >= 2, runs <= 10_000 else { fail("RUNS must be a whole number from 2 to 10000") }
guard let maxCost, maxCost.isFinite, maxCost > 0 else { fail("MAX_COST must be a number of dollars > 0") }
let scenario: Scenario
do { scenario = try ScenarioLoader.load(path: path) } catch { fail("\(error)") }

let builtIn = Assigner(briefing: Briefing(scenario: scenario))
let threads = ProcessInfo.processInfo.activeProcessorCount
let base = try StudyRunner.run(scenario, indices: 0..<runs, threads: threads)
let mine = try StudyRunner.run(scenario, indices: 0..<runs, threads: threads,
                               planner: { _ in NoDearRoundsAtDrones(builtIn: builtIn, maxCost: maxCost) })

print("\(scenario.name): \(runs) replications; no round of $\(Int(maxCost)) or more at a drone or a decoy")
print("mean ± 95 % interval; the difference is paired, replication by replication\n")
func row(_ name: String, _ f: (RunMetrics) -> Double) {
    let a = Estimate(base.map { f($0.metrics) }), b = Estimate(mine.map { f($0.metrics) })
    let d = Estimate(zip(mine, base).map { f($0.metrics) - f($1.metrics) })
    let cells = [a, b, d].map { String(format: "%.4g ± %.2g", $0.mean, $0.halfWidth) }
    print(name.padding(toLength: 30, withPad: " ", startingAt: 0)
          + cells.map { $0.padding(toLength: 24, withPad: " ", startingAt: 0) }.joined())
}
print("measure".padding(toLength: 30, withPad: " ", startingAt: 0)
      + ["built-in", "this doctrine", "difference"].map { $0.padding(toLength: 24, withPad: " ", startingAt: 0) }.joined())
row("interceptor cost ($)", { $0.interceptorCost })
row("value lost", { $0.valueLost })
row("population affected", { $0.populationAffected })
for c in base[0].metrics.classes.map(\.0) {
    row("leaked: \(c)", { m in Double(m.classes.first { $0.0 == c }?.1.leaked ?? 0) })
}
for e in base[0].metrics.effectors.map(\.0) {
    row("rounds: \(e)", { m in Double(m.effectors.first { $0.0 == e }?.1.fired ?? 0) })
}
row("plans refused", { Double($0.plansRefused) })
