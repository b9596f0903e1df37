// Ledger: per-account accounting of queries, input and output tokens, dollars and teacher FLOPs, and
// the budgets it enforces itself — a call is admitted only if its worst case fits, before it is served.
// The single source of costs in the lab; it does not decide what a query may ask for (APIPolicy).
import LabCore

/// What one query (or a sum of queries) used.
public struct Usage: Codable, Equatable, Sendable {
    public var queries: Int
    public var inputTokens: Int
    public var outputTokens: Int
    /// `PriceTable.cost(inputTokens:outputTokens:)` of the tokens, exactly.
    public var cost: Money
    /// Teacher inference FLOPs spent on the query (`TeacherAPI.inferenceFlops(positions:)`); not budgeted.
    public var flops: Double

    public init(queries: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0, cost: Money = .zero, flops: Double = 0) {
        self.queries = queries
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.flops = flops
    }

    public static let zero = Usage()

    /// Input plus output tokens: what a token budget counts.
    public var tokens: Int { inputTokens + outputTokens }

    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(
            queries: a.queries + b.queries, inputTokens: a.inputTokens + b.inputTokens,
            outputTokens: a.outputTokens + b.outputTokens,
            cost: a.cost + b.cost, flops: a.flops + b.flops)
    }

    enum CodingKeys: String, CodingKey {
        case queries, inputTokens = "input_tokens", outputTokens = "output_tokens", cost = "cost_picodollars", flops
    }
}

/// Limits on an account's total spend; nil is unlimited. Tokens count input plus output.
public struct Budget: Codable, Equatable, Sendable {
    public var maxQueries: Int?
    public var maxTokens: Int?
    public var maxCost: Money?

    public init(maxQueries: Int? = nil, maxTokens: Int? = nil, maxCost: Money? = nil) {
        self.maxQueries = maxQueries
        self.maxTokens = maxTokens
        self.maxCost = maxCost
    }

    public static let unlimited = Budget()

    enum CodingKeys: String, CodingKey {
        case maxQueries = "max_queries", maxTokens = "max_tokens", maxCost = "max_cost_picodollars"
    }
}

/// The token counts of one query as served (or, before serving, at most): the ledger prices them.
public struct Metered: Equatable, Sendable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var flops: Double
    public init(inputTokens: Int, outputTokens: Int, flops: Double = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.flops = flops
    }
}

public final class Ledger {
    public let prices: PriceTable
    struct Account {
        var budget: Budget
        var usage: Usage
    }
    private var accounts: [String: Account] = [:]

    public init(prices: PriceTable = .standard) { self.prices = prices }

    /// Opens `account` with `budget`; throws `LabError.invalidConfig` if it is already open or a limit is negative.
    public func open(_ account: String, budget: Budget = .unlimited) throws {
        guard accounts[account] == nil else {
            throw LabError.invalidConfig(key: "account", message: "'\(account)' is already open; use another name")
        }
        if let q = budget.maxQueries, q < 0 {
            throw LabError.invalidConfig(key: "max_queries", message: "is \(q); must be 0 or more")
        }
        if let t = budget.maxTokens, t < 0 {
            throw LabError.invalidConfig(key: "max_tokens", message: "is \(t); must be 0 or more")
        }
        if let c = budget.maxCost, c < .zero {
            throw LabError.invalidConfig(key: "max_cost", message: "is \(c); must be 0 or more")
        }
        accounts[account] = Account(budget: budget, usage: .zero)
    }

    public func usage(_ account: String) -> Usage? { accounts[account]?.usage }
    public func budget(_ account: String) -> Budget? { accounts[account]?.budget }
    /// Every account's usage summed.
    public var total: Usage { accounts.values.reduce(.zero) { $0 + $1.usage } }

    /// Admits a call whose queries use at most `worstCase` (one entry per query), runs `serve`, and
    /// records what it reports it used (one entry per query, each within its worst case). If the worst
    /// case could take any budget past its limit, throws `APIRefusal.budgetExceeded` before `serve`
    /// runs, so nothing is served or charged; if `serve` throws, nothing is charged either.
    /// Returns `serve`'s result and each query's priced usage.
    public func charge<T>(account: String, worstCase: [Metered], serve: () throws -> (T, [Metered])) throws -> (
        T, [Usage]
    ) {
        guard let entry = accounts[account] else { throw APIRefusal(reason: .unknownAccount(account)) }
        let worstTokens = worstCase.reduce(0) { $0 + $1.inputTokens + $1.outputTokens }
        let worstCost = worstCase.reduce(Money.zero) {
            $0 + prices.cost(inputTokens: $1.inputTokens, outputTokens: $1.outputTokens)
        }
        let used = entry.usage, budget = entry.budget
        func check(_ limit: APIRefusal.Limit, _ max: Int64?, _ spent: Int64, _ request: Int64) throws {
            if let max, spent + request > max {
                throw APIRefusal(
                    reason: .budgetExceeded(
                        account: account, limit: limit, budget: max, used: spent, requested: request))
            }
        }
        try check(.queries, budget.maxQueries.map(Int64.init), Int64(used.queries), Int64(worstCase.count))
        try check(.tokens, budget.maxTokens.map(Int64.init), Int64(used.tokens), Int64(worstTokens))
        try check(.dollars, budget.maxCost?.picodollars, used.cost.picodollars, worstCost.picodollars)

        let (result, actual) = try serve()
        precondition(
            actual.count == worstCase.count, "Ledger: \(actual.count) usages reported for \(worstCase.count) queries")
        var usages: [Usage] = []
        usages.reserveCapacity(actual.count)
        for (a, w) in zip(actual, worstCase) {
            // A server that reports more than it reserved would let a caller overspend: a lab bug, not input.
            precondition(
                a.inputTokens <= w.inputTokens && a.outputTokens <= w.outputTokens,
                "Ledger: a query used \(a.inputTokens)+\(a.outputTokens) tokens, more than its reserved \(w.inputTokens)+\(w.outputTokens)"
            )
            usages.append(
                Usage(
                    queries: 1, inputTokens: a.inputTokens, outputTokens: a.outputTokens,
                    cost: prices.cost(inputTokens: a.inputTokens, outputTokens: a.outputTokens), flops: a.flops))
        }
        accounts[account]?.usage = usages.reduce(used, +)
        return (result, usages)
    }
}
