import ArgumentParser
import CanopyCore
import CanopySimulation
import CanopyWTA
import Foundation

struct WTA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wta",
        abstract: "Solve a static weapon-target assignment instance.",
        discussion: """
            Reads the wta-instance format (docs/wta.md). Prints the objective, the proven lower bound \
            (exact solver), the gap and the CPU time; --out writes the solution.
            """)

    enum Solver: String, ExpressibleByArgument, CaseIterable { case greedy, local, exact }

    @Argument(help: "Instance file (JSON).")
    var instance: String

    @Option(help: "greedy (maximum marginal return), local (greedy, moves and swaps, then cyclic exchanges) or exact (branch and bound with Lagrangian bounds).")
    var solver: Solver = .exact

    @Option(name: .customLong("time-limit"), help: "CPU seconds for the exact solver (at the limit it returns its best solution and a valid lower bound) and for local search.")
    var timeLimit: Double = 60

    @Flag(help: "Local search: moves and swaps only, without the cyclic exchanges.")
    var quick = false

    @Option(help: "Local search: after the descent, iterated local search until this many random kicks in a row bring no improvement (0: none).")
    var kicks: Int = 0

    @Option(help: "Solution file to write (JSON).")
    var out: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(name: .customLong("repeat"), help: "Solve this many times and report the least CPU time (for benchmarks on a shared machine).")
    var repeats: Int = 1

    func validate() throws {
        guard timeLimit > 0, timeLimit.isFinite else { throw ValidationError("--time-limit must be a positive number of seconds") }
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeat must be between 1 and 1000") }
        guard kicks >= 0 && kicks <= 1_000_000 else { throw ValidationError("--kicks must be between 0 and 1000000") }
        // Options of the local search, given to another solver, had been passed over.
        if solver != .local && (quick || kicks > 0) {
            throw ValidationError("--quick and --kicks are options of --solver local (the solver is \(solver.rawValue))")
        }
    }

    func run() throws {
        if let out { try refuseOverwritingInput(out: out, inputs: [instance]) }
        // Repeated solves allocate and free the same few large arrays: keep freed memory in the
        // process (no mmap per array, no trimming), so that each solve does not pay page faults.
        keepFreedMemory()
        let inst: WTAInstance
        do { inst = try WTAInstance.load(path: instance) } catch let e as WTAFileError {
            printError(e.description)
            printError("See the instance format in docs/wta.md.")
            throw ExitCode(1)
        }
        // The shared representation (types, survival and kill probabilities, the by-target copy)
        // is built from the parsed instance on its own clock, once per solve; the solver's clock
        // covers everything a solver builds for itself (candidate lists, bounds).
        func build() -> (WTAProblem, Double) {
            let s0 = WTAClock.now()
            let p = WTAProblem(inst)
            return (p, WTAClock.now() - s0)
        }
        var (p, setup) = build()
        var lower: Double? = nil
        var nodes = 0
        var state = WTAState(p)
        var seconds = Double.infinity
        for r in 0..<repeats {
            if r > 0 {
                let (q, s) = build()
                p = q; setup = min(setup, s)
            }
            let t0 = WTAClock.now()
            switch solver {
            case .greedy:
                state = WTAHeuristics.greedy(p)
            case .local:
                let candidates = WTACandidates(p)
                var s = WTAHeuristics.greedy(p, candidates: candidates)
                let deadline = WTAClock.now() + timeLimit
                WTAHeuristics.localSearch(&s, candidates: candidates, deadline: deadline)
                if !quick {
                    WTAHeuristics.exhaustiveLocalSearch(&s, deadline: deadline)
                    WTAHeuristics.ejectionChains(&s, deadline: deadline)
                }
                if kicks > 0 {
                    WTAHeuristics.iteratedLocalSearch(&s, candidates: candidates, patience: kicks, deadline: deadline)
                }
                state = s
            case .exact:
                let r = WTAExact.solve(p, timeLimit: timeLimit)
                state = r.best
                lower = r.lowerBound
                nodes = r.nodes
            }
            seconds = min(seconds, WTAClock.now() - t0)
        }
        let assignment = p.assignment(state.x)
        guard let objective = inst.objective(assignment) else {
            printError("internal error: the solver returned an infeasible assignment")
            throw ExitCode(2)
        }
        if let out {
            let sol = WTASolution(instance: inst.name, objective: objective, assignment: assignment)
            do { try OutputWriter.atomicWrite(sol.json(), to: out) } catch {
                printError(outputFailure(error, "--out \(out): cannot write (\(error.localizedDescription))"))
                throw ExitCode(1)
            }
        }
        // A bound above the objective would be the solver's arithmetic failing (values spanning
        // more orders of magnitude than a double can weigh against each other): said, and no
        // optimality claimed.
        if let l = lower, l > objective + 1e-9 * max(1, abs(objective)) {
            printError("warning: the lower bound \(l) is above the objective \(objective): the target values span too many orders of magnitude for the solver's arithmetic; the assignment is not proven optimal")
            lower = nil
        }
        let gap = lower.map { objective > 0 ? max(0, (objective - $0) / objective) : 0 }
        if json {
            var fields = ["\"instance\":" + JSONText.quoted(inst.name), "\"solver\":\"\(solver.rawValue)\"", "\"objective\":\(objective)",
                          "\"cpu_seconds\":\(seconds)", "\"setup_cpu_seconds\":\(setup)", "\"weapons\":\(inst.weapons)", "\"targets\":\(inst.targets)"]
            if let lower, let gap { fields += ["\"lower_bound\":\(lower)", "\"gap\":\(gap)", "\"nodes\":\(nodes)"] }
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            print("instance     \(inst.name) (\(inst.weapons) weapons, \(p.types) types, \(inst.targets) targets)")
            print("solver       \(solver.rawValue)")
            print("objective    \(String(format: "%.6f", objective))")
            if let lower, let gap {
                print("lower bound  \(String(format: "%.6f", lower))")
                print("gap          \(String(format: "%.6f", gap * 100)) %\(gap <= 1e-9 ? " (proven optimal)" : "")")
                print("nodes        \(nodes)")
            } else {
                print("lower bound  not computed (use --solver exact)")
            }
            print("cpu time     \(String(format: "%.3f", seconds * 1000)) ms (building the representation from the parsed file: \(String(format: "%.3f", setup * 1000)) ms more)")
        }
    }
}

#if os(Linux)
/// glibc's mallopt (malloc.h is not in the Glibc module).
@_silgen_name("mallopt") private func mallopt(_ param: Int32, _ value: Int32) -> Int32

/// Keeps freed memory in the process (no mmap per large array, no trimming): repeated solves
/// allocate and free the same few large arrays and would otherwise pay page faults each time.
private func keepFreedMemory() {
    _ = mallopt(-3, 256 << 20)  // M_MMAP_THRESHOLD
    _ = mallopt(-1, 512 << 20)  // M_TRIM_THRESHOLD
}
#else
private func keepFreedMemory() {}
#endif
