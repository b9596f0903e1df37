// APISpec and BudgetSpec: the `api:` section (the API's policy and its price table) and the budget schema an
// attack spends — closed, with the impossible values named: a top-k cap above the vocabulary, a budget that
// cannot buy one query. Not the API itself (LabAPI's DefendedAPI) nor the ledger that enforces budgets.
import Foundation
import LabAPI
import LabCore

/// `api:` — what the defended API serves and what it charges.
public struct APISpec: Codable, Equatable, Sendable {
    /// Surfaces, top-logprob cap and logit-bias handling (LabAPI's APIPolicy; its keys are its own).
    public var policy: APIPolicy
    /// Dollars per million input and output tokens; GPT-4o mini's launch prices by default.
    public var prices: PriceTable

    public init(policy: APIPolicy = APIPolicy(), prices: PriceTable = .standard) {
        self.policy = policy
        self.prices = prices
    }

    enum Keys: String, CodingKey { case policy, prices }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        policy = try c.decodeIfPresent(APIPolicy.self, forKey: .policy) ?? APIPolicy()
        prices = try c.decodeIfPresent(PriceFields.self, forKey: .prices)?.value ?? .standard
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(policy, forKey: .policy)
        try c.encode(prices, forKey: .prices)
    }

    /// This spec for a teacher of `vocabularySize` tokens: a top-logprob cap the file writes above the
    /// vocabulary is an error; the default cap (20, OpenAI's) is lowered to the vocabulary of a small teacher.
    public func resolved<S>(vocabularySize V: Int, in cell: CellInput<S>) throws -> APISpec {
        var out = self
        if policy.maxLogprobs > V {
            guard !cell.isWritten(["api", "policy", "max_logprobs"]) else {
                throw SpecIssue(
                    ["api", "policy", "max_logprobs"],
                    "is \(policy.maxLogprobs), above the vocabulary of \(V) tokens; allowed range 0...\(V)",
                    fix: "use at most \(V) (20 is OpenAI's cap)")
            }
            out.policy.maxLogprobs = V
        }
        return out
    }
}

/// `prices: {input_dollars_per_million: 0.15, output_dollars_per_million: 0.60}`, read as exact decimals.
struct PriceFields: Decodable {
    var value: PriceTable
    enum Keys: String, CodingKey { case input = "input_dollars_per_million", output = "output_dollars_per_million" }

    init(from decoder: Decoder) throws {
        let path = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: Keys.self)
        let input = try c.decode(Decimal.self, forKey: .input)
        let output = try c.decode(Decimal.self, forKey: .output)
        for (key, d) in [(Keys.input, input), (.output, output)] where d < 0 || Money.wholeMicro(d) == nil {
            throw SpecIssue(
                path + [key.rawValue], "is \(d); allowed: a price ≥ 0 in whole microdollars per million tokens",
                fix: "e.g. 0.15")
        }
        value = try PriceTable(inputDollarsPerMillion: input, outputDollarsPerMillion: output)
    }
}

extension Money {
    /// `d` dollars per million as whole microdollars per million, or nil.
    static func wholeMicro(_ d: Decimal) -> Int64? {
        var x = d * 1_000_000, whole = Decimal()
        NSDecimalRound(&whole, &x, 0, .plain)
        guard whole == d * 1_000_000 else { return nil }
        return Int64(NSDecimalNumber(decimal: whole).stringValue)
    }
}

/// What an attacker may spend: any of queries, tokens (input + output) and dollars; at least one. The ledger
/// enforces it (LabAPI's Budget); this is how an experiment file writes it.
public struct BudgetSpec: Codable, Equatable, Sendable {
    public var queries: Int?
    public var tokens: Int?
    /// Exact dollars.
    public var dollars: Decimal?

    public init(queries: Int? = nil, tokens: Int? = nil, dollars: Decimal? = nil) {
        self.queries = queries
        self.tokens = tokens
        self.dollars = dollars
    }

    enum Keys: String, CodingKey { case queries, tokens, dollars }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        queries = try c.decodeIfPresent(Int.self, forKey: .queries)
        tokens = try c.decodeIfPresent(Int.self, forKey: .tokens)
        dollars = try c.decodeIfPresent(Decimal.self, forKey: .dollars)
        if queries == nil, tokens == nil, dollars == nil {
            throw SpecIssue(
                decoder.codingPath.map(\.stringValue), "sets no limit",
                fix: "write at least one of queries, tokens, dollars, e.g. `{queries: 1000}`")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(queries, forKey: .queries)
        try c.encodeIfPresent(tokens, forKey: .tokens)
        try c.encodeIfPresent(dollars.map { NSDecimalNumber(decimal: $0).stringValue }, forKey: .dollars)
    }

    /// Problems at `path` for queries of `inputTokens` + `outputTokens` tokens at `prices`: every limit must
    /// buy at least one such query.
    public func issues(at path: [String], inputTokens: Int, outputTokens: Int, prices: PriceTable) -> [SpecIssue] {
        var out: [SpecIssue] = []
        let perQuery = inputTokens + outputTokens
        if let q = queries, q < 1 {
            out.append(SpecIssue(path + ["queries"], "is \(q), below one query; allowed range 1...\(Int.max)"))
        }
        if let t = tokens, t < perQuery {
            out.append(
                SpecIssue(
                    path + ["tokens"],
                    "is \(t), below one query of \(perQuery) tokens (\(inputTokens) in, \(outputTokens) out); allowed range \(perQuery)...\(Int.max)"
                ))
        }
        if let d = dollars {
            let one = prices.cost(inputTokens: inputTokens, outputTokens: outputTokens)
            if d < one.dollars || d <= 0 {
                out.append(
                    SpecIssue(
                        path + ["dollars"],
                        "is $\(d), below one query of \(perQuery) tokens, which costs \(one); allowed: at least \(one)")
                )
            }
        }
        return out
    }
}
