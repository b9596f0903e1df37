// CampaignOutcome+Metrics: an outcome as flat named numbers — the one list the experiment runner's `campaign`
// kind reports, tables and plots name, and `distill-lab validate --kinds` documents. Not the metrics'
// definitions (CampaignOutcome computes them) nor any file format (the runner writes results).
import Foundation
import LabCore

/// A named metric of a cell; nil where it does not apply (fidelity in detection-only mode) or is not finite.
public struct CampaignMetric: Codable, Equatable, Sendable {
    public var name: String
    public var value: Double?

    public init(_ name: String, _ value: Double?) {
        self.name = name
        self.value = value.flatMap { $0.isFinite ? $0 : nil }
    }
}

/// What a metric name means, and whether it is a price paid (a cost) or a measurement.
public struct CampaignMetricDoc: Sendable {
    public var name: String
    public var isCost: Bool
    public var meaning: String
}

extension CampaignOutcome {
    /// Every metric `metrics` reports, in its order: the attack and honest users' side, the banning detector,
    /// then each registered detector (banning or monitoring) under its own name.
    public static let metricDocs: [CampaignMetricDoc] = {
        func m(_ n: String, _ meaning: String) -> CampaignMetricDoc {
            CampaignMetricDoc(name: n, isCost: false, meaning: meaning)
        }
        func c(_ n: String, _ meaning: String) -> CampaignMetricDoc {
            CampaignMetricDoc(name: n, isCost: true, meaning: meaning)
        }
        var docs = [
            m("fidelity", "top-1 agreement of the student with the teacher on held-out test windows (full mode)"),
            m("kl", "mean KL(teacher ‖ student) on the same positions, nats (full mode)"),
            m("budget_share", "queries delivered to the attacker within the horizon / its budget"),
            m(
                "share_before_first_ban",
                "share of the budget delivered before the first ban on an attacker account took effect"),
            m("hours_to_first_ban", "simulated hours to the first ban on an attacker account (none: null)"),
            m("delivered", "attack queries served, cover included"),
            m("attack_refused", "attack requests refused by rate limits or quotas (429s)"),
            m("complete", "1 when every proxy finished its share within the horizon"),
            m("hours_to_finish", "simulated hours until the last proxy finished (null when not complete)"),
            c("cost_multiplier", "(API + accounts + proof-of-work dollars) / API dollars"),
            c("dollars_per_query", "the attacker's dollars in all / queries delivered"),
            c("api_dollars", "dollars the ledger charged the attacker's accounts"),
            c("account_dollars", "dollars spent opening accounts"),
            c("pow_dollars", "dollars of compute spent on proof-of-work"),
            c("accounts_opened", "accounts the attacker opened, rotations included"),
            m("accounts_banned", "attacker accounts banned"),
            m("false_ban_rate", "honest accounts banned / honest accounts"),
            m("benign_refused_share", "honest requests refused (rate limits, quotas) / honest requests"),
            c("benign_pow_seconds_per_query", "proof-of-work seconds an honest query costs on average"),
            c("benign_pow_hashes_per_query", "proof-of-work hashes an honest query costs on average"),
            m("requests", "requests the gateway handled, honest and attack"),
            m("tpr", "banning detector: alarmed attacker accounts / attacker accounts (null with no banning detector)"),
            m("fpr", "banning detector: alarmed honest accounts / honest accounts"),
            m(
                "queries_until_detection",
                "banning detector: median requests served to an attacker account before its alarm"),
            m(
                "queries_before_first_alarm",
                "banning detector: attack requests served before its first alarm on any attacker account"),
        ]
        for d in DetectorRegistry.names {
            docs += [
                m("\(d).tpr", "\(d) (banning or monitor): alarmed attacker accounts / attacker accounts"),
                m("\(d).fpr", "\(d): alarmed honest accounts / honest accounts"),
                m(
                    "\(d).queries_until_detection",
                    "\(d): median requests served to an attacker account before its alarm"),
                m(
                    "\(d).queries_before_first_alarm",
                    "\(d): attack requests served before its first alarm on any attacker account"),
                m("\(d).attack_evaluated", "\(d): share of attacker accounts with enough requests for its test to run"),
                m("\(d).benign_evaluated", "\(d): honest accounts with enough requests for its test to run"),
                m("\(d).fpr_evaluated", "\(d): alarmed honest accounts / honest accounts it evaluated"),
                m("\(d).statistic_attack", "\(d): median of its statistic over evaluated attacker accounts"),
                m("\(d).statistic_benign", "\(d): median of its statistic over evaluated honest accounts"),
                m(
                    "\(d).auc",
                    "\(d): area under the ROC of its score, attacker accounts against honest ones (never evaluated: lowest)"
                ),
            ]
            for f in DetectorROC.reportedFPRs {
                docs.append(
                    m(
                        "\(d).tpr_at_fpr_\(CampaignFormat.number(f))",
                        "\(d): largest share of attacker accounts whose score passes a threshold that passes at most \(CampaignFormat.number(f)) of honest accounts"
                    ))
            }
        }
        return docs
    }()

    /// The flat metrics of this outcome, in a fixed order (detectors that did not run are absent).
    public var metrics: [CampaignMetric] {
        let o = self
        var m: [CampaignMetric] = [
            .init("fidelity", o.fidelity?.agreement), .init("kl", o.fidelity?.klTeacherStudent),
            .init("budget_share", o.attack.budgetShare), .init("share_before_first_ban", o.attack.shareBeforeFirstBan),
            .init("hours_to_first_ban", o.attack.hoursToFirstBan), .init("delivered", Double(o.attack.delivered)),
            .init("attack_refused", Double(o.attack.refused)),
            .init("complete", o.attack.complete ? 1 : 0), .init("hours_to_finish", o.attack.hoursToFinish),
            .init("cost_multiplier", o.attack.costMultiplier), .init("dollars_per_query", o.attack.dollarsPerQuery),
            .init("api_dollars", o.attack.apiDollars), .init("account_dollars", o.attack.accountDollars),
            .init("pow_dollars", o.attack.proofOfWorkDollars),
            .init("accounts_opened", Double(o.attack.accountsOpened)),
            .init("accounts_banned", Double(o.attack.accountsBanned)),
            .init("false_ban_rate", o.benign.falseBanRate),
            .init("benign_refused_share", Double(o.benign.refused) / Double(max(1, o.benign.requests))),
            .init("benign_pow_seconds_per_query", o.benign.proofOfWorkSecondsPerQuery),
            .init("benign_pow_hashes_per_query", o.benign.proofOfWorkHashesPerQuery),
            .init("requests", Double(o.requests)),
        ]
        let banning = o.detectors.first { $0.bans }
        m += [
            .init("tpr", banning?.truePositiveRate), .init("fpr", banning?.falsePositiveRate),
            .init("queries_until_detection", banning?.medianQueriesUntilDetection),
            .init("queries_before_first_alarm", banning?.attackQueriesBeforeFirstAlarm.map(Double.init)),
        ]
        for d in o.detectors {
            m += [
                .init("\(d.detector).tpr", d.truePositiveRate), .init("\(d.detector).fpr", d.falsePositiveRate),
                .init("\(d.detector).queries_until_detection", d.medianQueriesUntilDetection),
                .init("\(d.detector).queries_before_first_alarm", d.attackQueriesBeforeFirstAlarm.map(Double.init)),
                .init(
                    "\(d.detector).attack_evaluated",
                    Double(d.attackerAccountsEvaluated) / Double(max(1, d.attackerAccounts))),
                .init("\(d.detector).benign_evaluated", Double(d.benignAccountsEvaluated)),
                .init("\(d.detector).fpr_evaluated", d.falsePositiveRateEvaluated),
                .init("\(d.detector).statistic_attack", d.medianStatisticAttack),
                .init("\(d.detector).statistic_benign", d.medianStatisticBenign),
                .init("\(d.detector).auc", d.auc),
            ]
            for (i, f) in DetectorROC.reportedFPRs.enumerated() {
                m.append(.init("\(d.detector).tpr_at_fpr_\(CampaignFormat.number(f))", d.tprAtFPR?[i]))
            }
        }
        return m
    }
}
