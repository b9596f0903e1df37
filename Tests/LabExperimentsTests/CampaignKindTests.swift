// The `campaign` kind: a campaign experiment file validated before any work (its sections' unknown keys and
// ranges located, with did-you-mean), and a cell run through the runner giving exactly what the same config gives
// through LabSimulation directly.
import Foundation
import LabCampaigns
import LabCore
import LabExperiments
import XCTest

final class CampaignKindTests: XCTestCase {
    /// A debug-sized campaign: 40 users over 6 simulated hours, 4 fast proxies under tight limits.
    static let file = """
        experiment: tiny-campaign
        kind: campaign
        seeds: [3]
        campaign:
          horizon_hours: 6
          world: {tokens_per_split: 2000}
          population: {users: 40, requests_per_day_median: 40}
          attack: {accounts: 4, budget_queries: 200, pace: fast, duration_hours: 5, max_new_tokens: 4}
          profile_prompts: 200
          evaluation_prompts: 20
          evaluation_length: 16
        gateway:
          rate_limit: {requests_per_minute: 2, burst: 3, queries_per_day: 400}
          ban_delay_minutes: 10
        detectors:
          volume: {window_minutes: 60, max_requests: 20}
        grid:
          campaign.defence:
            none: {rate_limits: false, monitors: [fingerprint]}
            volume: {detectors: [volume], monitors: [fingerprint]}
        tables:
          - rows: campaign.defence
            values: [fidelity, budget_share, accounts_opened, volume.tpr]
        """

    /// The same cells written in Swift.
    static func config(volume: Bool) -> CampaignConfig {
        var c = CampaignConfig()
        c.horizonHours = 6
        c.world.tokensPerSplit = 2000
        c.population.users = 40
        c.population.requestsPerDayMedian = 40
        c.attack.accounts = 4
        c.attack.budgetQueries = 200
        c.attack.pace = .fast
        c.attack.durationHours = 5
        c.attack.maxNewTokens = 4
        c.profilePrompts = 200
        c.evaluationPrompts = 20
        c.evaluationLength = 16
        c.gateway.rateLimit = RateLimitConfig(requestsPerMinute: 2, burst: 3, queriesPerDay: 400)
        c.gateway.banDelaySeconds = 600
        c.detectors[VolumeDetector.self].windowSeconds = 3600
        c.detectors[VolumeDetector.self].maxRequests = 20
        c.defence =
            volume
            ? CampaignDefenceConfig(detectors: ["volume"], monitors: ["fingerprint"])
            : CampaignDefenceConfig(rateLimits: false, monitors: ["fingerprint"])
        return c
    }

    func testACellThroughTheRunnerIsTheSimulationsOutcome() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.map(\.labels), [["none", "3"], ["volume", "3"]])
        let scratch = Scratch("campaign")
        try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
        let json =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: scratch.dir("out").appendingPathComponent("results.json"))) as? [String: Any]
        let cells = try XCTUnwrap(json?["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.count, 2)

        let world = try CampaignWorld(config: Self.config(volume: false))
        for (i, volume) in [false, true].enumerated() {
            let direct = try CampaignSimulation.run(config: Self.config(volume: volume), seed: 3, world: world).outcome
            let viaRunner = try e.cells[i].run(in: RunContext(cache: TeacherCache(directory: scratch.dir("cache"))))
            for m in direct.metrics {
                XCTAssertEqual(viaRunner.value(m.name), m.value, "\(m.name), defence \(volume ? "volume" : "none")")
            }
            // What the runner wrote is that row too.
            let written = (cells[i]["metrics"] as? [String: Any])?["fidelity"] as? Double
            XCTAssertEqual(try XCTUnwrap(written), try XCTUnwrap(direct.fidelity?.agreement), accuracy: 1e-12)
            if volume {
                // The defence bites in this cell: a banning volume detector makes the attacker rotate.
                XCTAssertGreaterThan(direct.attack.accountsOpened, 4)
            }
        }
        let table = try String(contentsOf: scratch.dir("out").appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(
            table.contains("| campaign.defence | fidelity | budget_share | accounts_opened | volume.tpr |"), table)
    }

    /// The 1-based line of the file holding `text`.
    static func line(of text: String) -> Int {
        (Self.file.components(separatedBy: "\n").firstIndex { $0.contains(text) } ?? -1) + 1
    }

    func testCampaignSectionsAreValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            XCTAssertTrue(Self.file.contains(replace), replace)
            return validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("attack: {accounts: 4,", with: "attack: {acounts: 4,"))
        XCTAssertEqual(typo.key, "campaign.attack.acounts")
        XCTAssertEqual(typo.line, Self.line(of: "attack: {accounts: 4,"))
        XCTAssertTrue(typo.message.contains("did you mean 'accounts'?"), typo.message)
        let top = try XCTUnwrap(error("  horizon_hours: 6", with: "  horizon_hour: 6"))
        XCTAssertEqual(top.key, "campaign.horizon_hour")
        XCTAssertEqual(top.line, Self.line(of: "horizon_hours: 6"))
        XCTAssertTrue(top.message.contains("did you mean 'horizon_hours'?"), top.message)
        let student = try XCTUnwrap(
            error("  profile_prompts: 200", with: "  profile_prompts: 200\n  student: {kind: gpt, min_step: 10}"))
        XCTAssertEqual(student.key, "campaign.student.min_step")
        XCTAssertTrue(student.message.contains("did you mean 'min_steps'?"), student.message)
        let range = try XCTUnwrap(
            error("  profile_prompts: 200", with: "  profile_prompts: 200\n  student: {kind: gpt, batch_size: 0}"))
        XCTAssertEqual(range.key, "campaign.student.batch_size")
        XCTAssertTrue(range.message.contains("allowed range 1...1024"), range.message)
        let room = try XCTUnwrap(error("max_new_tokens: 4}", with: "max_new_tokens: 4, prompt_tokens: [8, 62]}"))
        XCTAssertEqual(room.key, "campaign.attack.prompt_tokens")
        XCTAssertTrue(room.message.contains("context of 64"), room.message)
        let detector = try XCTUnwrap(
            error("volume: {window_minutes: 60,", with: "prada: {delta: 1.5}\n  volume: {window_minutes: 60,"))
        XCTAssertEqual(detector.key, "detectors.prada.delta")
        XCTAssertEqual(detector.line, Self.line(of: "volume: {window_minutes: 60,"))
        let gate = try XCTUnwrap(error("  ban_delay_minutes: 10", with: "  ban_delay_minute: 10"))
        XCTAssertEqual(gate.key, "gateway.ban_delay_minute")
        XCTAssertTrue(gate.message.contains("did you mean 'ban_delay_minutes'?"), gate.message)
        let twice = try XCTUnwrap(
            error("  evaluation_length: 16", with: "  evaluation_length: 16\n  gateway: {ban_delay_minutes: 5}"))
        XCTAssertEqual(twice.key, "gateway")
        XCTAssertTrue(twice.message.contains("both"), twice.message)
        // A swept value is checked in its cell and pointed at in the grid.
        let swept = try XCTUnwrap(error("volume: {detectors: [volume],", with: "volume: {detectors: [volum],"))
        XCTAssertTrue(swept.key.hasPrefix("campaign.defence.detectors"), swept.description)
        XCTAssertEqual(swept.line, Self.line(of: "volume: {detectors: [volume],"))
        let section = try XCTUnwrap(validationError(Self.file + "\nteacher: {corpus: {kind: markov}}\n"))
        XCTAssertTrue(section.message.contains("does not read 'teacher'"), section.message)
    }
}
