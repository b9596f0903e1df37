// AttackBudget: what an attacker may spend, in queries, tokens or dollars, and the milestones at which an
// anytime run stops to train and evaluate its student. Not the enforcement: the Ledger holds the account
// to the last milestone, and AttackerClient keeps the attacker under each one on its own side.
import Foundation
import LabAPI
import LabCore

/// The currency of a budget and of the cost axis of a curve.
public enum BudgetUnit: String, Codable, CaseIterable, Sendable {
    case queries, tokens, dollars

    /// `usage` in this unit's integer measure: queries, input + output tokens, or picodollars.
    public func measure(_ usage: Usage) -> Int64 {
        switch self {
        case .queries: return Int64(usage.queries)
        case .tokens: return Int64(usage.tokens)
        case .dollars: return usage.cost.picodollars
        }
    }

    /// The most a query can be charged, in this unit, at `prices`.
    public func worstCase(_ query: Query, prices: PriceTable) -> Int64 {
        switch self {
        case .queries: return 1
        case .tokens: return Int64(query.prompt.count + query.maxOutputTokens)
        case .dollars:
            return prices.cost(inputTokens: query.prompt.count, outputTokens: query.maxOutputTokens).picodollars
        }
    }

    /// A measure as a person reads it: "3000 queries", "$0.0012".
    public func show(_ measure: Int64) -> String {
        switch self {
        case .queries, .tokens: return "\(measure) \(rawValue)"
        case .dollars: return Money(picodollars: measure).description
        }
    }
}

/// Milestones in one unit, ascending; the last is the whole budget.
public struct AttackBudget: Codable, Equatable, Sendable {
    public var unit: BudgetUnit
    /// Spend at which the student is trained and evaluated: whole queries or tokens, or dollars.
    public var milestones: [Double]

    public init(unit: BudgetUnit, milestones: [Double]) {
        self.unit = unit
        self.milestones = milestones
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case unit, milestones }

    /// `unit` is queries, tokens or dollars; `milestones` a list. Unknown keys are rejected by name.
    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), section: "budget")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let word = try c.decodeIfPresent(String.self, forKey: .unit) ?? "queries"
        guard let unit = BudgetUnit(rawValue: word) else {
            throw LabError.invalidConfig(
                key: "budget.unit",
                message: "is '\(word)'; must be one of \(BudgetUnit.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let milestones = try c.decodeIfPresent([Double].self, forKey: .milestones) else {
            throw LabError.invalidConfig(
                key: "budget.milestones",
                message: "is missing; give the spends to evaluate at, e.g. [1000, 3000, 10000]")
        }
        self.init(unit: unit, milestones: milestones)
    }

    public static func queries(_ milestones: [Int]) -> AttackBudget {
        AttackBudget(unit: .queries, milestones: milestones.map(Double.init))
    }
    public static func tokens(_ milestones: [Int]) -> AttackBudget {
        AttackBudget(unit: .tokens, milestones: milestones.map(Double.init))
    }
    public static func dollars(_ milestones: [Double]) -> AttackBudget {
        AttackBudget(unit: .dollars, milestones: milestones)
    }

    /// The milestones in the unit's integer measure (dollars to whole picodollars).
    public var measures: [Int64] {
        milestones.map { unit == .dollars ? Int64(($0 * 1e12).rounded()) : Int64($0) }
    }

    /// The ledger budget that stops the account at the last milestone.
    public var ledgerBudget: Budget {
        guard let last = measures.last else { return .unlimited }
        switch unit {
        case .queries: return Budget(maxQueries: Int(last))
        case .tokens: return Budget(maxTokens: Int(last))
        case .dollars: return Budget(maxCost: Money(picodollars: last))
        }
    }

    /// Throws `LabError.invalidConfig` naming `budget.milestones` when the list is empty, not ascending,
    /// holds a fraction of a query or token, or a value below one query's worth.
    public func validate() throws {
        func fail(_ message: String) -> LabError { LabError.invalidConfig(key: "budget.milestones", message: message) }
        guard !milestones.isEmpty else { throw fail("is empty; give at least one budget, e.g. [1000, 3000, 10000]") }
        for m in milestones {
            guard m.isFinite, m > 0 else { throw fail("holds \(m); every milestone must be a positive amount") }
            if unit != .dollars {
                guard m == m.rounded(), m < 1e15 else {
                    throw fail("holds \(m); \(unit.rawValue) are counted in whole numbers")
                }
            } else {
                guard m <= 9e6 else { throw fail("holds $\(m); the ledger counts up to about $9.2 million") }
                guard m * 1e12 >= 1 else { throw fail("holds $\(m); below one picodollar") }
            }
        }
        for (a, b) in zip(measures, measures.dropFirst()) where b <= a {
            throw fail("is [\(milestones.map { show($0) }.joined(separator: ", "))]; milestones must rise strictly")
        }
    }
}
