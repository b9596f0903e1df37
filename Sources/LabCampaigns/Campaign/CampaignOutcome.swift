// CampaignOutcome: the metrics of one campaign cell, defined once — per detector, account-level TPR and FPR
// and queries until detection; for the attacker, the share of the budget delivered, fidelity, and the cost
// multiplier (accounts, proof-of-work, dollars); for honest users, false bans, refusals and added work.
// Read off the gateway and ledger after the run; nothing here is estimated.
import Foundation
import LabAPI
import LabAttacks
import LabCore

/// One detector's operating point in the run.
public struct DetectorOutcome: Codable, Equatable, Sendable {
    public var detector: String
    /// Whether its alarms banned (false: a monitor).
    public var bans: Bool
    public var attackerAccountsAlarmed: Int
    public var attackerAccounts: Int
    public var benignAccountsAlarmed: Int
    public var benignAccounts: Int
    /// Alarmed attacker accounts over all the attacker opened.
    public var truePositiveRate: Double
    /// Alarmed honest accounts over all honest accounts.
    public var falsePositiveRate: Double
    /// Median over alarmed attacker accounts of the requests served to the account before its alarm.
    public var medianQueriesUntilDetection: Double?
    /// Attack requests served (all proxies) before this detector's first alarm on any attacker account.
    public var attackQueriesBeforeFirstAlarm: Int?
    /// Accounts the detector evaluated at least once (enough requests for its test to run).
    public var attackerAccountsEvaluated: Int
    public var benignAccountsEvaluated: Int
    /// Alarmed honest accounts over the honest accounts it evaluated.
    public var falsePositiveRateEvaluated: Double?
    /// Median over evaluated accounts of the detector's statistic (`Detector.statistic`).
    public var medianStatisticAttack: Double?
    public var medianStatisticBenign: Double?
    /// The ROC of its score (`Detector.score`; never evaluated ranks lowest) over attacker against honest
    /// accounts: its area, and the TPR at each of `DetectorROC.reportedFPRs`. Nil without both kinds of account.
    public var auc: Double?
    public var tprAtFPR: [Double]?

    enum CodingKeys: String, CodingKey {
        case detector, bans, attackerAccountsAlarmed = "attacker_accounts_alarmed", attackerAccounts =
            "attacker_accounts"
        case benignAccountsAlarmed = "benign_accounts_alarmed", benignAccounts = "benign_accounts"
        case truePositiveRate = "tpr", falsePositiveRate = "fpr", medianQueriesUntilDetection =
            "median_queries_until_detection"
        case attackQueriesBeforeFirstAlarm = "attack_queries_before_first_alarm"
        case attackerAccountsEvaluated = "attacker_accounts_evaluated", benignAccountsEvaluated =
            "benign_accounts_evaluated"
        case falsePositiveRateEvaluated = "fpr_evaluated", medianStatisticAttack = "median_statistic_attack",
            medianStatisticBenign = "median_statistic_benign"
        case auc, tprAtFPR = "tpr_at_fpr"
    }
}

public struct AttackOutcome: Codable, Equatable, Sendable {
    public var proxies: Int
    public var accountsOpened: Int
    public var accountsBanned: Int
    public var budgetQueries: Int
    /// Requests served to the attacker (cover included).
    public var delivered: Int
    public var coverDelivered: Int
    /// Attack requests refused by rate limits or quotas (429s).
    public var refused: Int
    /// delivered / budget.
    public var budgetShare: Double
    /// Share of the budget delivered before the first ban on any attacker account took effect (all of
    /// what was delivered when no attacker account was banned).
    public var shareBeforeFirstBan: Double
    /// Simulated hours to the first ban on an attacker account, nil when none.
    public var hoursToFirstBan: Double?
    /// Whether every proxy finished its share within the horizon.
    public var complete: Bool
    /// Simulated hours to the last served attack request of a finished campaign.
    public var hoursToFinish: Double?
    /// API charges from the ledger, in dollars (exact picodollars underneath).
    public var apiDollars: Double
    public var accountDollars: Double
    public var proofOfWorkHashes: UInt64
    public var proofOfWorkDollars: Double
    /// (API + accounts + proof-of-work) / API: what the attacker paid per dollar of answers it got.
    public var costMultiplier: Double
    /// Dollars per delivered query, all costs in.
    public var dollarsPerQuery: Double

    enum CodingKeys: String, CodingKey {
        case proxies, accountsOpened = "accounts_opened", accountsBanned = "accounts_banned", budgetQueries =
            "budget_queries"
        case delivered, coverDelivered = "cover_delivered", refused, budgetShare = "budget_share", shareBeforeFirstBan =
            "share_before_first_ban"
        case hoursToFirstBan = "hours_to_first_ban", complete, hoursToFinish = "hours_to_finish"
        case apiDollars = "api_dollars", accountDollars = "account_dollars", proofOfWorkHashes = "pow_hashes"
        case proofOfWorkDollars = "pow_dollars", costMultiplier = "cost_multiplier", dollarsPerQuery =
            "dollars_per_query"
    }
}

public struct BenignOutcome: Codable, Equatable, Sendable {
    public var users: Int
    public var requests: Int
    public var served: Int
    /// Requests refused by rate limits or quotas.
    public var refused: Int
    /// Honest accounts banned: the false-ban rate's numerator.
    public var banned: Int
    public var falseBanRate: Double
    /// Proof-of-work per served honest request: expected hashes and solving seconds.
    public var proofOfWorkHashesPerQuery: Double
    public var proofOfWorkSecondsPerQuery: Double
    public var proofOfWorkDollars: Double

    enum CodingKeys: String, CodingKey {
        case users, requests, served, refused, banned, falseBanRate = "false_ban_rate"
        case proofOfWorkHashesPerQuery = "pow_hashes_per_query", proofOfWorkSecondsPerQuery = "pow_seconds_per_query",
            proofOfWorkDollars = "pow_dollars"
    }
}

public struct CampaignOutcome: Codable, Equatable, Sendable {
    /// Requests the gateway handled (served or refused), honest and attack.
    public var requests: Int
    public var simulatedHours: Double
    public var attack: AttackOutcome
    public var benign: BenignOutcome
    public var detectors: [DetectorOutcome]
    public var fidelity: CampaignFidelity?
    /// The distiller that produced `fidelity`.
    public var distiller: String?

    init(
        config: CampaignConfig, gateway: Gateway, benignAccounts: Range<Int>, attackerAccounts: [Int],
        tally: CampaignTally,
        fidelity: CampaignFidelity?, distiller: String?
    ) {
        let accounts = gateway.accounts
        let attackers = Set(attackerAccounts)
        func dollars(_ m: Money) -> Double { NSDecimalNumber(decimal: m.dollars).doubleValue }
        let apiCost = attackerAccounts.reduce(Money.zero) {
            $0 + (gateway.ledger.usage(accounts[$1].name)?.cost ?? .zero)
        }
        let accountCost = Money(picodollars: config.gateway.accountCost.picodollars * Int64(attackerAccounts.count))
        let attackHashes = attackerAccounts.reduce(UInt64(0)) { $0 + accounts[$1].proofOfWorkHashes }
        let powDollars = gateway.proofOfWork?.dollars(hashes: attackHashes) ?? 0
        let api = dollars(apiCost), total = api + dollars(accountCost) + powDollars
        let horizon = config.horizonHours * 3600
        let firstBan = attackerAccounts.compactMap { accounts[$0].banAt }.filter { $0 <= horizon }.min()
        let beforeBan =
            firstBan.map { ban in
                Self.countBefore(ban, in: tally.attackTimes) - (tally.attackTimes.contains(ban) ? 1 : 0)
            } ?? tally.attackDelivered
        attack = AttackOutcome(
            proxies: config.attack.accounts, accountsOpened: attackerAccounts.count,
            accountsBanned: attackerAccounts.filter { accounts[$0].isBanned(at: horizon) }.count,
            budgetQueries: config.attack.budgetQueries, delivered: tally.attackDelivered,
            coverDelivered: tally.coverDelivered, refused: tally.attackRefused,
            budgetShare: Double(tally.attackDelivered) / Double(config.attack.budgetQueries),
            shareBeforeFirstBan: Double(beforeBan) / Double(config.attack.budgetQueries),
            hoursToFirstBan: firstBan.map { $0 / 3600 },
            complete: tally.attackComplete,
            hoursToFinish: tally.attackComplete ? tally.finishedAt.map { $0 / 3600 } : nil,
            apiDollars: api, accountDollars: dollars(accountCost), proofOfWorkHashes: attackHashes,
            proofOfWorkDollars: powDollars,
            costMultiplier: api > 0 ? total / api : .infinity,
            dollarsPerQuery: tally.attackDelivered > 0 ? total / Double(tally.attackDelivered) : .infinity)

        let benignHashes = benignAccounts.reduce(UInt64(0)) { $0 + accounts[$1].proofOfWorkHashes }
        let benignSeconds = benignAccounts.reduce(0.0) { $0 + accounts[$1].proofOfWorkSeconds }
        let benignBanned = benignAccounts.filter { accounts[$0].isBanned(at: horizon) }.count
        let served = max(1, tally.benignServed)
        benign = BenignOutcome(
            users: benignAccounts.count, requests: tally.benignRequests, served: tally.benignServed,
            refused: tally.benignRefused,
            banned: benignBanned, falseBanRate: Double(benignBanned) / Double(max(1, benignAccounts.count)),
            proofOfWorkHashesPerQuery: Double(benignHashes) / Double(served),
            proofOfWorkSecondsPerQuery: benignSeconds / Double(served),
            proofOfWorkDollars: gateway.proofOfWork?.dollars(hashes: benignHashes) ?? 0)

        func median(_ xs: [Double]) -> Double? {
            let s = xs.sorted()
            return s.isEmpty ? nil : (s[(s.count - 1) / 2] + s[s.count / 2]) / 2
        }
        detectors = gateway.detectorNames.enumerated().map { d, name in
            let detector = gateway.detector(named: name)
            let attackStats = attackerAccounts.compactMap { detector?.statistic(account: $0) }
            let benignEvaluated = benignAccounts.filter { detector?.statistic(account: $0) != nil }
            let mine = gateway.alarms.filter { $0.detector == name }
            let onAttack = mine.filter { attackers.contains($0.account) }
            let benignAlarmedSet = Set(mine.map(\.account)).subtracting(attackers)
            let benignAlarmed = benignAlarmedSet.count
            let bans = mine.first?.bans ?? (config.gateway.bans && d < config.defence.detectors.count)
            let roc = DetectorROC(
                positives: attackerAccounts.map { detector?.score(account: $0) ?? -.infinity },
                negatives: benignAccounts.map { detector?.score(account: $0) ?? -.infinity })
            return DetectorOutcome(
                detector: name, bans: bans, attackerAccountsAlarmed: Set(onAttack.map(\.account)).count,
                attackerAccounts: attackerAccounts.count,
                benignAccountsAlarmed: benignAlarmed, benignAccounts: benignAccounts.count,
                truePositiveRate: Double(Set(onAttack.map(\.account)).count) / Double(max(1, attackerAccounts.count)),
                falsePositiveRate: Double(benignAlarmed) / Double(max(1, benignAccounts.count)),
                medianQueriesUntilDetection: median(onAttack.map { Double($0.served) }),
                attackQueriesBeforeFirstAlarm: onAttack.map(\.time).min().map { first in
                    Self.countBefore(first, in: tally.attackTimes)
                },
                attackerAccountsEvaluated: attackStats.count, benignAccountsEvaluated: benignEvaluated.count,
                falsePositiveRateEvaluated: benignEvaluated.isEmpty
                    ? nil
                    : Double(benignAlarmedSet.intersection(benignEvaluated).count) / Double(benignEvaluated.count),
                medianStatisticAttack: median(attackStats),
                medianStatisticBenign: median(benignEvaluated.compactMap { detector?.statistic(account: $0) }),
                auc: roc?.auc, tprAtFPR: roc.map { r in DetectorROC.reportedFPRs.map { r.tpr(atFPR: $0) } })
        }
        requests = tally.benignRequests + tally.attackRequests
        simulatedHours = config.horizonHours
        self.fidelity = fidelity
        self.distiller = distiller
    }

    /// How many of the ascending `times` are at or before `time`.
    static func countBefore(_ time: Double, in times: [Double]) -> Int {
        var lo = 0, hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] <= time { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
