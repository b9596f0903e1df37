// Fixtures of the campaign tests: one small benign world (built once: the corpora are the slow part in a
// debug build), a small cell config, and a detector stub whose alarms and suspicion a test dictates.
// Not assertions: each test file states its own contract.
import Foundation
import LabAPI
import LabAttacks
import LabCampaigns
import LabCore
import LabDefences

enum CampaignFixture {
    /// grammar / tasks / markov at 2,000 tokens per split, and their bigram teacher.
    static let world: CampaignWorld = {
        var spec = BenignMixtureSpec()
        spec.tokensPerSplit = 2000
        do {
            let mixture = try BenignMixture(spec: spec)
            return CampaignWorld(
                mixture: mixture, teacher: try mixture.bigramTeacher(contextLength: CampaignConfig.contextLength))
        } catch {
            preconditionFailure("CampaignFixture.world: \(error)")
        }
    }()

    /// A cell small enough for a debug build: 40 users over 6 simulated hours, tight limits, 4 proxies.
    static func config(strategy: String = "random_tokens", accounts: Int = 4, budget: Int = 400) -> CampaignConfig {
        var c = CampaignConfig()
        c.world.tokensPerSplit = 2000
        c.horizonHours = 6
        c.population.users = 40
        c.population.requestsPerDayMedian = 40
        c.gateway.rateLimit = RateLimitConfig(requestsPerMinute: 2, burst: 3, queriesPerDay: 400)
        c.gateway.banDelaySeconds = 600
        c.attack.accounts = accounts
        c.attack.budgetQueries = budget
        c.attack.strategy = strategy
        c.attack.pace = .fast
        c.attack.durationHours = 5
        c.attack.maxNewTokens = 4
        c.profilePrompts = 200
        c.evaluationPrompts = 20
        c.evaluationLength = 16
        return c
    }
}

/// A detector that alarms on an account's `alarmAt`-th request and reports a fixed suspicion per account.
final class StubDetector: Detector {
    let name: String
    let alarmAt: Int
    var scores: [Int: Double]
    var seen: [Int: Int] = [:]
    var parameters: [(key: String, value: String)] { [("alarm_at", "\(alarmAt)")] }

    init(name: String = "stub", alarmAt: Int, scores: [Int: Double] = [:]) {
        self.name = name
        self.alarmAt = alarmAt
        self.scores = scores
    }

    func observe(_ o: DetectorObservation) -> Bool {
        seen[o.account, default: 0] += 1
        return seen[o.account] == alarmAt
    }

    func suspicion(account: Int) -> Double { scores[account] ?? 0 }
    func statistic(account: Int) -> Double? { seen[account].map(Double.init) }
}
