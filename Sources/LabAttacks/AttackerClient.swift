// AttackerClient: the attacker's side of the API — one account, calls batched up to a size, and a stop
// line (the current milestone) it never crosses: a group of queries is sent only if its worst case fits
// under the line. Not the enforcement (the Ledger refuses overspending on its own) nor the harvest.
import LabAPI
import LabCore

public final class AttackerClient {
    public let api: DefendedAPI
    public let account: String
    public let unit: BudgetUnit
    /// The attacker's own stop line, in `unit`'s measure: no group is sent whose worst case could pass it.
    public var cap: Int64
    /// Most queries per call to the API (a call is answered in batched forward passes).
    public let maxCallSize: Int
    /// Every answered query's usage, summed: equals the ledger's usage of the account.
    public private(set) var spent: Usage = .zero

    public init(api: DefendedAPI, account: String, unit: BudgetUnit, cap: Int64, maxCallSize: Int = 64) {
        self.api = api
        self.account = account
        self.unit = unit
        self.cap = cap
        self.maxCallSize = max(1, maxCallSize)
    }

    /// Spend so far in `unit`'s measure.
    public var spentMeasure: Int64 { unit.measure(spent) }

    /// The worst case of `queries` in `unit`.
    public func worstCase(_ queries: [Query]) -> Int64 {
        queries.reduce(0) { $0 + unit.worstCase($1, prices: api.ledger.prices) }
    }

    /// Sends whole groups, in order, while the next one fits under `cap`; each group goes in one call
    /// (all of it answered or none). Returns the answers of the groups sent: a prefix of `groups`, shorter
    /// when the budget ran out. A refusal other than that (policy, invalid query) is thrown.
    public func serve(_ groups: [[Query]]) throws -> [[Response]] {
        var answers: [[Response]] = []
        var planned = spentMeasure
        var batch: [[Query]] = []
        var batchSize = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            let responses = try api.call(batch.flatMap { $0 }, account: account)
            var i = 0
            for group in batch {
                answers.append(Array(responses[i..<(i + group.count)]))
                i += group.count
            }
            for r in responses { spent = spent + r.usage }
            batch = []
            batchSize = 0
        }
        for group in groups {
            let cost = worstCase(group)
            guard planned + cost <= cap else { break }
            if batchSize + group.count > maxCallSize { try flush() }
            batch.append(group)
            batchSize += group.count
            planned += cost
        }
        try flush()
        return answers
    }

    /// Whether a group with this worst case still fits under the line.
    public func fits(_ queries: [Query]) -> Bool { spentMeasure + worstCase(queries) <= cap }
}
