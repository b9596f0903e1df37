// Budget tests: no strategy with any harvest mode, in any unit, under any defence here ever spends past
// its budget or past a milestone before that milestone's evaluation; what the harvest records equals
// what the ledger charged, query by query.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabDefences
import XCTest

final class AttackBudgetTests: XCTestCase {
    /// Budgets chosen so that a milestone is rarely hit exactly: the stop line must do the work.
    func budgets() throws -> [AttackBudget] {
        [.queries([11, 29]), .tokens([47, 131]), .dollars([0.0000063, 0.0000171])]
    }

    func testNoStrategyOrHarvestModeEverExceedsTheBudget() throws {
        let teacher = try ExtractionFixture.teacher()
        let pipelines: [DefencePipeline] = [
            .none, DefencePipeline([TopK(k: 2)]), DefencePipeline([Rounding(decimals: 1)]),
        ]
        var runs = 0
        for strategy in ExtractionFixture.strategies {
            for harvest in ExtractionFixture.harvests {
                for budget in try budgets() {
                    // Defences change what records hold, not what queries cost: one unit suffices for them.
                    for defences in budget.unit == .tokens ? pipelines : [.none] {
                        let config = ExtractionFixture.config(
                            strategy: strategy, harvest: harvest, budget: budget, seed: UInt64(runs))
                        let attack = Attack(
                            config: config, target: ExtractionFixture.target(teacher, defences: defences))
                        let curve = try attack.run()
                        let what = "\(strategy.summary) × \(harvest.summary) × \(budget.unit) × \(defences.summary)"
                        let ledger = try XCTUnwrap(attack.api?.ledger)
                        let usage = try XCTUnwrap(ledger.usage(Attack.account))
                        let spent = budget.unit.measure(usage)
                        XCTAssertLessThanOrEqual(spent, budget.measures.last!, what)
                        XCTAssertGreaterThan(usage.queries, 0, what)
                        // Each milestone's evaluation saw spending at or under that milestone.
                        XCTAssertEqual(curve.points.count, budget.milestones.count, what)
                        for (point, milestone) in zip(curve.points, budget.milestones) {
                            XCTAssertLessThanOrEqual(point.spent, milestone * (1 + 1e-12), what)
                        }
                        // The harvest's records and overhead account for every charge.
                        XCTAssertEqual(attack.harvest.usage, usage, what)
                        XCTAssertEqual(curve.points.last!.cost.queries, usage.queries, what)
                        XCTAssertEqual(curve.points.last!.cost.dollars, usage.cost, what)
                        runs += 1
                    }
                }
            }
        }
        XCTAssertEqual(runs, 4 * 6 * (2 + pipelines.count))
    }

    func testAttackerStopsJustShortOfEachMilestone() throws {
        let teacher = try ExtractionFixture.teacher()
        // Logit-bias groups cost ⌈7/2⌉ = 4 queries each, so a milestone of 50 stops at 48.
        let config = ExtractionFixture.config(
            strategy: .randomTokens, harvest: .logitBias(k: 3), budget: .queries([50, 90]))
        let curve = try Attack(config: config, target: ExtractionFixture.target(teacher)).run()
        XCTAssertEqual(curve.points.map(\.spent), [48, 88])
        XCTAssertEqual(curve.points.map(\.records), [12, 22])
    }

    func testTheLedgerRefusesWhatTheClientWouldNotSend() throws {
        // The client's own line is a courtesy; the ledger holds the account to its budget regardless.
        let teacher = try ExtractionFixture.teacher()
        let ledger = Ledger()
        try ledger.open("a", budget: Budget(maxQueries: 3))
        let api = DefendedAPI(teacher: teacher, ledger: ledger)
        let client = AttackerClient(api: api, account: "a", unit: .queries, cap: 100)
        let groups = (0..<5).map { _ in [Query.distribution([1, 2])] }
        XCTAssertThrowsError(try client.serve(groups)) { error in
            guard case .budgetExceeded? = (error as? APIRefusal)?.reason else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(ledger.usage("a")?.queries, 0)
    }
}
