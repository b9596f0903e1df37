// Adaptive campaigns and detector curves in a whole run: every detector scores every account it evaluated and
// reports its ROC; an adaptation switched off changes nothing (nor the config's identity); a proxy that learns
// the limits from 429s gets refused and still delivers; retired accounts never serve more than their share;
// the cost of every extra account is counted.
import Foundation
import LabAPI
import LabCampaigns
import LabCore
import XCTest

final class CampaignAdaptationTests: XCTestCase {
    static let all = ["volume", "prada", "fingerprint", "clustering"]

    func config() -> CampaignConfig {
        var c = CampaignFixture.config(accounts: 3, budget: 300)
        c.mode = .detectionOnly
        c.defence = CampaignDefenceConfig(monitors: Self.all)
        c.detectors[FingerprintDetector.self].minQueries = 10
        c.detectors[PRADADetector.self].minDistances = 20
        return c
    }

    func testEveryDetectorScoresAccountsAndReportsItsROC() throws {
        let run = try CampaignSimulation.run(config: config(), seed: 2, world: CampaignFixture.world)
        XCTAssertEqual(run.outcome.detectors.map(\.detector), Self.all)
        for d in run.outcome.detectors {
            let auc = try XCTUnwrap(d.auc, d.detector)
            XCTAssert((0...1).contains(auc), "\(d.detector): \(auc)")
            let tpr = try XCTUnwrap(d.tprAtFPR, d.detector)
            XCTAssertEqual(tpr.count, DetectorROC.reportedFPRs.count)
            XCTAssertEqual(tpr, tpr.sorted(), "\(d.detector): TPR never falls as the FPR allowed grows")
            XCTAssertEqual(tpr.last, 1)
            let detector = try XCTUnwrap(run.gateway.detector(named: d.detector))
            for account in run.attackerAccounts + Array(0..<40) {
                XCTAssertEqual(
                    detector.score(account: account) == nil, detector.statistic(account: account) == nil,
                    "\(d.detector): scored exactly the accounts it evaluated")
            }
        }
        let names = Set(run.outcome.metrics.map(\.name))
        for d in Self.all {
            XCTAssert(names.contains("\(d).auc"))
            XCTAssert(names.contains("\(d).tpr_at_fpr_0.001"))
            XCTAssert(names.contains("\(d).tpr_at_fpr_0.01"))
        }
    }

    func testAnAdaptationSwitchedOffChangesNothing() throws {
        let plain = config()
        var off = plain
        off.attack.adapt = CampaignAdaptation()
        let a = try CampaignSimulation.run(config: plain, seed: 3, world: CampaignFixture.world)
        let b = try CampaignSimulation.run(config: off, seed: 3, world: CampaignFixture.world)
        XCTAssertEqual(a.outcome, b.outcome)
        let json = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        XCTAssertFalse(json.contains("adapt"), "a campaign that does not adapt keeps its identity: \(json)")
    }

    func testALearningProxyBacksOffFrom429sAndStillDelivers() throws {
        var c = config()
        c.attack.adapt = CampaignAdaptation()
        c.attack.adapt?.learnLimits = true
        let learning = try CampaignSimulation.run(config: c, seed: 4, world: CampaignFixture.world).outcome
        let told = try CampaignSimulation.run(config: config(), seed: 4, world: CampaignFixture.world).outcome
        XCTAssertGreaterThan(learning.attack.refused, 0, "it finds the limits by hitting them")
        XCTAssertGreaterThan(learning.attack.refused, told.attack.refused)
        XCTAssertGreaterThan(learning.attack.delivered, 0)
        XCTAssertLessThanOrEqual(learning.attack.delivered, c.attack.budgetQueries)
    }

    func testRetiredAccountsServeAtMostTheirShareAndAreCharged() throws {
        var c = config()
        c.attack.adapt = CampaignAdaptation()
        c.attack.adapt?.accountQueries = 25
        c.attack.adapt?.families = 3
        c.attack.adapt?.shapeFraction = 0.3
        let run = try CampaignSimulation.run(config: c, seed: 5, world: CampaignFixture.world, keepLog: true)
        let served = Dictionary(grouping: run.servedLog, by: \.account).mapValues(\.count)
        for account in run.attackerAccounts { XCTAssertLessThanOrEqual(served[account] ?? 0, 25) }
        let o = run.outcome.attack
        XCTAssertGreaterThanOrEqual(o.accountsOpened, o.delivered / 25)
        XCTAssertEqual(o.accountDollars, Double(o.accountsOpened) * 0.1, accuracy: 1e-9)
        let again = try CampaignSimulation.run(config: c, seed: 5, world: CampaignFixture.world)
        XCTAssertEqual(run.outcome, again.outcome, "same seed, same adaptive run")
    }

    func testAdaptationErrorsNameTheKey() {
        let bad: [(String, (inout CampaignAdaptation) -> Void)] = [
            ("attack.adapt.probe_step", { $0.probeStep = 1 }),
            ("attack.adapt.shape_fraction", { $0.shapeFraction = 2 }),
            ("attack.adapt.account_queries", { $0.accountQueries = 0 }),
            ("attack.adapt.families", { $0.families = 0 }),
        ]
        for (key, change) in bad {
            var c = config()
            var a = CampaignAdaptation()
            change(&a)
            c.attack.adapt = a
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains(key), "\($0)") }
        }
    }
}
