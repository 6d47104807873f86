import CanopyCore
import CanopyScenario
import Foundation
import Testing

@testable import CanopyStudy

@Suite("Deployment planning", .serialized)
struct PlanTests {
    func message(_ text: String) -> String {
        do { _ = try PlanSpec.load(path: try writeTemporary(text)); return "" } catch { return "\(error)" }
    }

    @Test("Candidate files and --add are read, and their errors name the field")
    func spec() throws {
        let spec = try PlanSpec.load(path: try writeTemporary("""
            sites:
              - {id: A, lat: 50.4, lon: 30.5}
              - {id: B, lat: 49.8, lon: 24.0}
              - {id: C, lat: 46.5, lon: 30.7}
            units:
              point-defence: {type: gepard, magazine: 10}
            """))
        #expect(spec.sites.map(\.id) == ["A", "B", "C"])
        #expect(spec.units["point-defence"] == PlanSpec.UnitKind(type: "gepard", magazine: 10, launchers: 1))
        #expect(spec.units["medium-range"]?.type == "nasams")
        #expect(try spec.parseAdd("2 x medium-range, 1 x long-range") == ["medium-range", "medium-range", "long-range"])
        #expect(try spec.parseAdd("point-defence") == ["point-defence"])
        var text = ""
        do { _ = try spec.parseAdd("2 x laser") } catch { text = "\(error)" }
        #expect(text.contains("unknown kind 'laser'"))
        do { _ = try spec.parseAdd("0 x long-range") } catch { text = "\(error)" }
        #expect(text.contains("at least 1"))
        // More units than sites is refused before anything runs (a billion used to be expanded).
        do { _ = try spec.parseAdd("2 x medium-range, 1000000000 x long-range") } catch { text = "\(error)" }
        #expect(text.contains("but only 3 candidate sites"))
        do { _ = try spec.parseAdd("1 x") } catch { text = "\(error)" }
        #expect(text.contains("'1 x' is not 'N x kind'"))
        #expect(message("sites: []").contains("sites: must be a non-empty list"))
        #expect(message("sites: [{id: A, lat: 95, lon: 30}]").contains("sites[0].lat"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30}, {id: A, lat: 51, lon: 30}]").contains("'A' is used twice"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30, alt: 3}]").contains("sites[0].alt: unknown field"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30}]\nunits: {x: {type: gepard, magazine: 0}}").contains("units.x.magazine"))
        #expect(message("sites: [{id: A, lat: 50, lon: 30}]\nunits: {x: {type: gepard, magazine: 5, foo: 1}}")
            .contains("units.x.foo: unknown field (known: type, magazine, launchers)"))
    }

    /// The quickstart raid against no defence at all (every drone that flies reaches Kyiv), and
    /// candidate sites: Lviv (far from every threat), Kyiv-East (in the raid's way), then `more`.
    func undefendedQuickstart(more: String = "") throws -> (Scenario, PlanSpec) {
        let undefended = try ScenarioLoader.load(path: repositoryRoot + "/examples/quickstart.yaml",
                                                  overrides: [ScenarioOverride(path: "fireUnits[*]", .keep(0))])
        let spec = try PlanSpec.load(path: try writeTemporary("""
            sites:
              - {id: Lviv, lat: 49.84, lon: 24.03}
              - {id: Kyiv-East, lat: 50.45, lon: 30.75}
            """ + more))
        return (undefended, spec)
    }

    @Test("The planner puts a unit where it protects, and its marginal value is measured on paired runs")
    func placement() throws {
        let (undefended, spec) = try undefendedQuickstart()
        var planner = DeploymentPlanner(scenario: undefended, spec: spec, kinds: ["short-range"], runs: 3, threads: 2)
        let r = try planner.plan()
        #expect(r.final == [1] && r.greedy == [1])
        let ranking = r.steps[0].ranking
        #expect(ranking.map(\.site) == [1, 0])
        // A unit 470 km from every threat changes nothing, run for run.
        #expect(ranking[1].mean == DeploymentPlanner.mean(r.baseline))
        #expect(ranking[0].mean > ranking[1].mean)
        #expect(r.marginal[0].mean > 0 && r.total.mean == r.marginal[0].mean)
        #expect(planner.evaluations == 3)  // baseline and two sites; the rest came from the cache
        // The choice against the runner-up: Kyiv-East's lead over Lviv is the step's gain (Lviv
        // changes nothing), paired run for run.
        #expect(r.steps[0].runnerUp == 0)
        let lead = try #require(r.steps[0].lead)
        #expect(lead == r.steps[0].gain && lead.count == 3)
        #expect(r.steps[0].settled == (lead.lower > 0))
        #expect(planner.configured([1]).fireUnits.last?.type == "gepard")
        // Two units of a kind: either arrangement of the same two sites is the same scenario (the
        // cache keys the multiset), and two at one site are told apart by name.
        let two = DeploymentPlanner(scenario: undefended, spec: spec, kinds: ["short-range", "short-range"], runs: 3, threads: 1)
        let a = two.configured([1, 0]).fireUnits.suffix(2), b = two.configured([0, 1]).fireUnits.suffix(2)
        #expect(a.map(\.id) == b.map(\.id) && a.map(\.position) == b.map(\.position), "\(a.map(\.id)) against \(b.map(\.id))")
        let same = two.configured([1, 1]).fireUnits.suffix(2).map(\.id)
        #expect(Set(same).count == 2, "\(same)")
    }

    /// Normal values for a race: entrant i's replication j is μᵢ + a draw shared by every entrant
    /// in replication j (common random numbers) + its own draw.
    func raceData(_ mus: [Double], runs: Int, seed: UInt64) -> [[Double]] {
        var shared = RandomStream(seed: seed, replication: 0, component: "shared")
        let common = (0..<runs).map { _ in 3 * shared.normal() }
        return mus.indices.map { i in
            var own = RandomStream(seed: seed, replication: UInt64(i + 1), component: "own")
            return (0..<runs).map { j in mus[i] + common[j] + own.normal() }
        }
    }

    @Test("A race keeps the best entrant at least 95 % of the time, drops the far worse at once, and never drops among equals")
    func knRace() throws {
        // The best leads the next two by exactly the indifference δ = 0.5 (sd of a paired
        // difference: √2): the least favourable case KN's guarantee covers.
        let mus = [0.0, -0.5, -0.5, -1, -4]
        var correct = 0, farDroppedAtOnce = 0, replications = 0
        for seed in 0..<200 as Range<UInt64> {
            let data = raceData(mus, runs: 400, seed: seed)
            let race = DeploymentPlanner.race(entrants: mus.count, firstStage: 10, runs: 400, indifference: 0.5, alpha: 0.05) { i, n in
                Array(data[i].prefix(n))
            }
            if race.winner == 0 { correct += 1 }
            if race.droppedAt[4] == 10 { farDroppedAtOnce += 1 }
            replications += race.counts.reduce(0, +)
            #expect(race.counts[race.winner] == 400 && race.order.first == race.winner && Set(race.order).count == mus.count)
        }
        #expect(correct >= 190)
        #expect(farDroppedAtOnce >= 190)
        // Far fewer replications than running every entrant 400 times.
        #expect(replications < 200 * mus.count * 400 / 2)
        // Equal entrants (identical values) are never told apart: all run to the end, undecided.
        let same = raceData([1, 1, 1], runs: 30, seed: 7)[0]
        let tie = DeploymentPlanner.race(entrants: 3, firstStage: 5, runs: 30, indifference: 0.1, alpha: 0.05) { _, n in Array(same.prefix(n)) }
        #expect(!tie.decided && tie.winner == 0 && tie.counts == [30, 30, 30] && tie.droppedAt == [nil, nil, nil])
        // Lumpy outcomes: two sites agree on every first-stage replication (variance 0), then one
        // loses a large asset once. Plain KN would drop it at once (its margin is 0); with the
        // variance of the replications so far it stays in, and the race ends open at the cap.
        var lumpy = [Double](repeating: 0, count: 30)
        lumpy[11] = -1000
        let rare = DeploymentPlanner.race(entrants: 2, firstStage: 10, runs: 30, indifference: 10, alpha: 0.05) { i, n in
            Array((i == 0 ? [Double](repeating: 0, count: 30) : lumpy).prefix(n))
        }
        #expect(rare.droppedAt == [nil, nil] && !rare.decided && rare.winner == 0 && rare.counts == [30, 30])
        // A race the budget cuts off: five close entrants with a wide spread (means 0.2 apart,
        // δ 0.1, sd of a difference √2). KN cannot tell them apart in 20 replications; the
        // survivors all run the budget, the best mean wins, and the race is not decided.
        let close = raceData([0, 0.2, 0.4, 0.6, 0.8], runs: 20, seed: 11)
        let open = DeploymentPlanner.race(entrants: 5, firstStage: 10, runs: 20, indifference: 0.1, alpha: 0.05) { i, n in
            Array(close[i].prefix(n))
        }
        let survivors = (0..<5).filter { open.droppedAt[$0] == nil }
        let best = survivors.max { DeploymentPlanner.mean(close[$0]) < DeploymentPlanner.mean(close[$1]) }
        #expect(!open.decided && survivors.count >= 2 && survivors.allSatisfy { open.counts[$0] == 20 })
        #expect(open.winner == best && open.order.first == best)
        // No race when the first stage is the whole budget: every entrant runs it, best mean wins.
        let data = raceData([0, 2, 1], runs: 12, seed: 3)
        let full = DeploymentPlanner.race(entrants: 3, firstStage: 12, runs: 12, indifference: 0.5, alpha: 0.05) { i, n in Array(data[i].prefix(n)) }
        #expect(full.winner == 1 && full.counts == [12, 12, 12] && !full.decided && full.order == [1, 2, 0])
    }

    @Test("With races the planner makes the same choice on fewer simulations")
    func racedPlacement() throws {
        let (undefended, spec) = try undefendedQuickstart(more: "\n  - {id: Odesa, lat: 46.48, lon: 30.72}")
        // Kyiv-East saves 50–100 in every replication; the far sites save nothing. With an
        // indifference of 25 the first stage of 3 tells them apart.
        var planner = DeploymentPlanner(scenario: undefended, spec: spec, kinds: ["short-range"], runs: 6, threads: 2,
                                        firstStage: 3, indifference: 25)
        let raced = try planner.plan()
        let racedSimulations = planner.simulations
        #expect(raced.final == [1] && raced.steps[0].settled)
        let others = raced.steps[0].ranking.dropFirst()
        #expect(others.count == 2 && others.allSatisfy { $0.droppedAt == 3 && $0.replications == 3 && $0.behind > 0 })
        #expect(raced.steps[0].ranking.first?.replications == 6)
        #expect(racedSimulations == 6 + 3 + 3 + 6)
        // A fresh planner without races: the same choice and the same figures, which rest on all
        // 6 replications either way (the raced planner's extended replications equal fresh ones).
        var fresh = DeploymentPlanner(scenario: undefended, spec: spec, kinds: ["short-range"], runs: 6, threads: 1, firstStage: 6,
                                      indifference: 25)
        let full = try fresh.plan()
        #expect(full.final == raced.final && full.finalValues == raced.finalValues && full.marginal == raced.marginal)
        #expect(full.baseline == raced.baseline && fresh.valueAtRiskMean == planner.valueAtRiskMean)
        #expect(full.steps[0].ranking.allSatisfy { $0.replications == 6 && $0.droppedAt == nil } && !full.steps[0].decided)
        #expect(fresh.simulations == 4 * 6)
    }
}
