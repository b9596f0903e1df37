// Campaign tests: a whole small cell — the same seed gives the same outcome and harvest, no account is ever
// served past its rate limit or after its ban, banned proxies rotate to fresh accounts, the budget is split
// and never overspent, and config mistakes are typed errors naming the key.
import Foundation
import LabCore
import TestSupport
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabCampaigns
@testable import LabDefences

final class CampaignTests: XCTestCase {
    func testSameSeedSameOutcomeAndAnotherSeedDiffers() throws {
        var c = CampaignFixture.config()
        c.defence = CampaignDefenceConfig(detectors: ["fingerprint"], monitors: ["volume"])
        let a = try CampaignSimulation.run(config: c, seed: 5, world: CampaignFixture.world)
        let b = try CampaignSimulation.run(config: c, seed: 5, world: CampaignFixture.world)
        XCTAssertEqual(a.outcome, b.outcome)
        XCTAssertEqual(a.records, b.records)
        XCTAssertEqual(a.outcome.metrics, b.outcome.metrics)
        let other = try CampaignSimulation.run(config: c, seed: 6, world: CampaignFixture.world)
        XCTAssertNotEqual(a.outcome, other.outcome)
    }

    /// Every served request of every account (honest and proxy), from the run's own log: within each
    /// account's token-bucket envelope and never at or after its ban. (Quotas: GatewayTests.)
    func testNoAccountExceedsItsLimitsOrIsServedAfterItsBan() throws {
        var c = CampaignFixture.config(accounts: 3, budget: 600)
        c.defence = CampaignDefenceConfig(detectors: ["fingerprint"])
        c.detectors[FingerprintDetector.self].minQueries = 10
        // Proxies at the full published rate with Poisson gaps: their bursts run into the bucket.
        c.attack.rateFraction = 1
        c.gateway.rateLimit?.queriesPerDay = nil
        let run = try CampaignSimulation.run(config: c, seed: 1, world: CampaignFixture.world, keepLog: true)
        let limit = try XCTUnwrap(c.gateway.rateLimit)
        let byAccount = Dictionary(grouping: run.servedLog, by: \.account).mapValues { $0.map(\.time) }
        XCTAssertGreaterThan(run.outcome.attack.accountsBanned, 0, "the test needs bans to check")
        XCTAssertGreaterThan(
            run.gateway.accounts.map(\.refusedRateLimit).reduce(0, +), 0, "the test needs the limits to bind")
        for (account, times) in byAccount {
            for i in times.indices {
                for j in i..<min(times.count, i + 50) {
                    XCTAssertLessThanOrEqual(
                        Double(j - i + 1),
                        Double(limit.burst) + limit.requestsPerMinute / 60 * (times[j] - times[i]) + 1e-9)
                }
            }
            if let ban = run.gateway.accounts[account].banAt {
                XCTAssert(times.allSatisfy { $0 < ban }, "account \(account) served after its ban at \(ban)")
            }
            XCTAssertEqual(times.count, run.gateway.accounts[account].served)
        }
    }

    func testBannedProxiesRotateAndTheBudgetIsNeverOverspent() throws {
        var c = CampaignFixture.config(accounts: 2, budget: 300)
        c.defence = CampaignDefenceConfig(detectors: ["fingerprint"])
        c.detectors[FingerprintDetector.self].minQueries = 10
        c.gateway.rateLimit?.queriesPerDay = nil
        c.attack.maxAccounts = 5
        let run = try CampaignSimulation.run(config: c, seed: 2, world: CampaignFixture.world)
        let o = run.outcome.attack
        XCTAssertGreaterThan(o.accountsOpened, 2)
        XCTAssertLessThanOrEqual(o.accountsOpened, 5)
        XCTAssertLessThanOrEqual(o.delivered, 300)
        XCTAssertEqual(o.delivered, run.attackerAccounts.map { run.gateway.accounts[$0].served }.reduce(0, +))
        XCTAssertEqual(run.records.count, o.delivered)
        XCTAssertEqual(
            o.accountDollars,
            Double(o.accountsOpened) * NSDecimalNumber(decimal: c.gateway.accountCost.dollars).doubleValue,
            accuracy: 1e-12)
        XCTAssertGreaterThan(o.costMultiplier, 1)
        let fingerprint = try XCTUnwrap(run.outcome.detectors.first)
        XCTAssertEqual(
            fingerprint.attackerAccountsAlarmed,
            o.accountsOpened - run.attackerAccounts.filter { run.gateway.accounts[$0].banAt == nil }.count)
    }

    func testFullModeEndsInAFidelityNumberThatGrowsWithTheHarvest() throws {
        var small = CampaignFixture.config(accounts: 1, budget: 20)
        small.defence = CampaignDefenceConfig(rateLimits: false)
        var large = small
        large.attack.budgetQueries = 600
        let a = try CampaignSimulation.run(config: small, seed: 3, world: CampaignFixture.world)
        let b = try CampaignSimulation.run(config: large, seed: 3, world: CampaignFixture.world)
        let fa = try XCTUnwrap(a.outcome.fidelity), fb = try XCTUnwrap(b.outcome.fidelity)
        XCTAssertEqual(a.outcome.attack.delivered, 20)
        XCTAssertEqual(b.outcome.attack.delivered, 600)
        XCTAssertGreaterThan(fb.agreement, fa.agreement)
        XCTAssertLessThan(fb.klTeacherStudent, fa.klTeacherStudent)
        var detectionOnly = large
        detectionOnly.mode = .detectionOnly
        let d = try CampaignSimulation.run(config: detectionOnly, seed: 3, world: CampaignFixture.world)
        XCTAssertNil(d.outcome.fidelity)
        XCTAssertTrue(d.records.isEmpty)
        XCTAssertEqual(d.outcome.attack.delivered, 600)
    }

    func testConfigErrorsNameTheKey() throws {
        func decode(_ json: String) -> Error? {
            Fixture.error { try JSONDecoder().decode(CampaignConfig.self, from: Data(json.utf8)) }
        }
        XCTAssertEqual(
            decode(#"{"attack": {"acounts": 3}}"#) as? LabError,
            .invalidConfig(
                key: "attack.acounts",
                message:
                    "unknown key; did you mean 'accounts'? attack takes accounts, budget_queries, strategy, prompt_tokens, cover_fraction, rotate, max_accounts, pace, rate_fraction, unlimited_requests_per_minute, duration_hours, max_new_tokens, top_logprobs, adapt"
            ))
        let cases = [
            (#"{"attack": {"accounts": 0}}"#, "attack.accounts"),
            (#"{"defence": {"detectors": ["prado"]}}"#, "defence.detectors"),
            (#"{"detectors": {"prada": {"delta": 1.5}}}"#, "detectors.prada.delta"),
            (#"{"detectors": {"clustering": {"reference_accounts": 5}}}"#, "detectors.clustering.reference_accounts"),
            (#"{"gateway": {"account_cost_dollars": -1}}"#, "gateway.account_cost_dollars"),
            (#"{"attack": {"prompt_tokens": [8, 60]}}"#, "attack.prompt_tokens"),
            (#"{"defence": {"detectors": ["prada"], "monitors": ["prada"]}}"#, "defence.monitors"),
        ]
        for (json, expected) in cases {
            guard case let .invalidConfig(key, _)? = decode(json) as? LabError else {
                XCTFail("\(json): no invalidConfig")
                continue
            }
            XCTAssertEqual(key, expected, json)
        }
        let ok = try JSONDecoder().decode(
            CampaignConfig.self,
            from: Data(
                #"{"gateway": {"rate_limit": null}, "defence": {"detectors": ["prada"], "monitors": ["clustering"]}}"#
                    .utf8))
        XCTAssertNil(ok.gateway.rateLimit)
        XCTAssertEqual(ok.defence.detectors, ["prada"])
    }
}

/// LabAttacks' parts behind the campaign's seams: its query strategies through `CampaignPrompts`, its
/// Distiller and FidelityEvaluator through `GPTCampaignDistiller`.
final class CampaignExtractionSeamTests: XCTestCase {
    func testEveryRegisteredStrategyRunsInACampaignOrIsRefusedByName() throws {
        var c = CampaignFixture.config(strategy: "own_corpus", accounts: 2, budget: 60)
        c.defence = CampaignDefenceConfig(rateLimits: false)
        let run = try CampaignSimulation.run(config: c, seed: 4, world: CampaignFixture.world)
        XCTAssertEqual(run.outcome.attack.delivered, 60)
        let text = CampaignPrompts.attackerText(CampaignFixture.world.mixture)
        for r in run.records {
            XCTAssert((8...32).contains(r.prompt.count))
            // own_corpus sends windows of the attacker's text: every prompt occurs in it.
            XCTAssertNotNil(
                (0...(text.count - r.prompt.count)).first { text[$0..<($0 + r.prompt.count)].elementsEqual(r.prompt) })
        }
        for name in StrategyRegistry.names {
            c.attack.strategy = name
            if CampaignPrompts.unsupported[name] == nil {
                let run = try CampaignSimulation.run(config: c, seed: 4, world: CampaignFixture.world)
                XCTAssertEqual(run.outcome.attack.delivered, 60, name)
                XCTAssert(run.records.allSatisfy { (1...32).contains($0.prompt.count) }, name)
                continue
            }
            XCTAssertThrowsError(try CampaignSimulation.run(config: c, seed: 4, world: CampaignFixture.world)) {
                error in
                guard case let .invalidConfig(key, _)? = error as? LabError else { return XCTFail("\(error)") }
                XCTAssertEqual(key, "attack.strategy")
            }
        }
        XCTAssertEqual(Set(CampaignPrompts.names).union(CampaignPrompts.unsupported.keys), Set(StrategyRegistry.names))
    }

    /// A GPT student trained by the campaign's schedule (warm-up, cosine, a floor on steps) on a real harvest
    /// closes at least half the gap between the same student untrained (one step) and the bigram counter on
    /// the same records — the Bayes-optimal student for this bigram teacher given that harvest, so the most
    /// any learner could agree from it. Half, not all: 150 steps of 16 (4 passes) of a width-16 model in a debug build.
    func testGPTStudentThroughIssue4Distiller() throws {
        var c = CampaignFixture.config(accounts: 1, budget: 600)
        c.defence = CampaignDefenceConfig(rateLimits: false)
        // Short prompts keep debug-build steps cheap, and give targets at every position the windows score.
        c.attack.promptTokens = 1...8
        let counted = try XCTUnwrap(
            CampaignSimulation.run(config: c, seed: 2, world: CampaignFixture.world).outcome.fidelity)
        c.student.kind = .gpt
        c.student.width = 16
        c.student.layers = 1
        c.student.heads = 2
        c.student.batchSize = 16
        c.student.learningRate = 0.01
        c.student.warmupSteps = 10
        c.student.minSteps = 150
        c.student.maxSteps = 150
        XCTAssertEqual(c.student.steps(records: 600), 150, "the floor decides for a small harvest")
        let trained = try CampaignSimulation.run(config: c, seed: 2, world: CampaignFixture.world)
        c.student.minSteps = 1
        c.student.maxSteps = 1
        let untrained = try CampaignSimulation.run(config: c, seed: 2, world: CampaignFixture.world)
        XCTAssertEqual(trained.records, untrained.records, "the student does not change what was bought")
        let a = try XCTUnwrap(trained.outcome.fidelity), b = try XCTUnwrap(untrained.outcome.fidelity)
        XCTAssertEqual(trained.outcome.distiller, "gpt")
        XCTAssertEqual(a.positions, c.evaluationPrompts * c.evaluationLength)
        XCTAssertGreaterThan(
            a.agreement, b.agreement + 0.5 * (counted.agreement - b.agreement),
            "trained \(a.agreement), untrained \(b.agreement), bigram counter \(counted.agreement)")
        XCTAssertLessThan(a.klTeacherStudent, b.klTeacherStudent)
        print(
            "GPT student agreement: trained \(a.agreement), untrained \(b.agreement), bigram counter \(counted.agreement)"
        )
    }

    /// Steps follow the harvest between the floor and the cap; the bigram counter's identity omits GPT settings.
    func testStudentStepsAndIdentity() throws {
        var s = CampaignStudentConfig()
        XCTAssertEqual(s.steps(records: 100), 2000, "floor")
        XCTAssertEqual(s.steps(records: 20000), 2500, "4 passes of 20,000 records in batches of 32")
        XCTAssertEqual(s.steps(records: 1_000_000), 6000, "cap")
        let schedule = s.schedule(steps: 2000)
        XCTAssertEqual(schedule.learningRate(at: 0), 0.003 / 100, accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(at: 1999), 0.0003, accuracy: 1e-5)
        let bigram = try JSONEncoder().encode(s)
        s.width = 64
        XCTAssertEqual(try JSONEncoder().encode(s), bigram, "GPT settings are not part of a bigram cell")
        s.kind = .gpt
        XCTAssertNotEqual(try JSONEncoder().encode(s), bigram)
    }
}

/// The benchmark's scale flags: the default is the million-request cell it always timed, a larger scale grows
/// users and budget in proportion, and a bad flag is refused naming it. Builds configs only; runs nothing.
final class CampaignBenchmarkScaleTests: XCTestCase {
    func testDefaultScaleIsTheMillionRequestCellAndBadFlagsAreNamed() throws {
        let c = CampaignBenchmark.config()
        XCTAssertEqual(c.population.users, 16_000)
        XCTAssertEqual(c.attack.accounts, 1000)
        XCTAssertEqual(c.attack.budgetQueries, 100_000)
        XCTAssertEqual(c.defence.detectors, ["volume", "prada", "fingerprint", "clustering"])
        let big = CampaignBenchmark.config(.init(requests: 10_000_000, accounts: 50_000))
        XCTAssertEqual(big.population.users, 160_000)
        XCTAssertEqual(big.attack.budgetQueries, 1_000_000)
        XCTAssertEqual(big.attack.accounts, 50_000)
        let bad: [(CampaignBenchmark.Scale, String)] = [
            (.init(requests: 10), "--requests"), (.init(accounts: 0), "--accounts"),
            (.init(requests: 100_000, accounts: 20_000), "--accounts"), (.init(detectors: ["nope"]), "--detectors"),
            (.init(detectors: []), "--detectors"),
        ]
        for (scale, flag) in bad {
            XCTAssertThrowsError(try scale.validate()) { error in
                guard case let .invalidConfig(key, _)? = error as? LabError else { return XCTFail("\(error)") }
                XCTAssertEqual(key, flag)
            }
        }
        XCTAssertNoThrow(try CampaignBenchmark.Scale().validate())
    }
}
