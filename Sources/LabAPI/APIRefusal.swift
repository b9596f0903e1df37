// APIRefusal: the one error type for "the API said no" — a malformed query, a surface or logit bias the
// policy forbids, an unknown account, a budget that would be exceeded — each worded to say why and what
// would be accepted. Not for the lab's own failures (those are LabError or preconditions).
import Foundation

/// A refused call. Nothing of a refused call is served or charged.
public struct APIRefusal: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Which budget a call would have exceeded.
    public enum Limit: String, Codable, Sendable, Equatable {
        case queries, tokens, dollars
    }

    public enum Reason: Equatable, Sendable {
        /// A field out of range (empty prompt, token outside the vocabulary, too long for the context).
        case invalidQuery(String)
        /// The policy has switched this surface off.
        case kindDisabled(QueryKind)
        /// More top logprobs than the policy's cap (OpenAI: `top_logprobs` ≤ 20).
        case logprobsAboveCap(requested: Int, cap: Int)
        /// The policy accepts no logit bias at all.
        case logitBiasDisabled
        /// The policy refuses logit bias on a query that asks for logprobs (Carlini et al. 2024's mitigation).
        case logitBiasWithLogprobs(QueryKind)
        /// One bias entry is larger in magnitude than the policy's cap (OpenAI: |bias| ≤ 100).
        case logitBiasAboveCap(token: Int, bias: Float, cap: Float)
        /// No account of this name is open in the ledger.
        case unknownAccount(String)
        /// Serving the call could take the account past a budget. `used` is spent so far, `requested`
        /// the call's worst case, `limit` the budget — in queries, tokens, or picodollars.
        case budgetExceeded(account: String, limit: Limit, budget: Int64, used: Int64, requested: Int64)
    }

    /// The query's index within its call, when one query caused the refusal.
    public var query: Int?
    public var reason: Reason

    public init(query: Int? = nil, reason: Reason) {
        self.query = query
        self.reason = reason
    }

    public var description: String {
        let prefix = query.map { "query \($0): " } ?? ""
        switch reason {
        case let .invalidQuery(message):
            return prefix + message
        case let .kindDisabled(kind):
            return prefix
                + "the API does not serve '\(kind.rawValue)' queries (policy enabled_kinds); use one of the enabled kinds"
        case let .logprobsAboveCap(requested, cap):
            return prefix
                + "logprobs \(requested) exceeds the policy's cap of \(cap) top logprobs per position; ask for at most \(cap)"
        case .logitBiasDisabled:
            return prefix + "the API accepts no logit bias (policy logit_bias: refused); send the query without one"
        case let .logitBiasWithLogprobs(kind):
            return prefix
                + "logit bias cannot be combined with logprobs (a '\(kind.rawValue)' query asks for them) under policy logit_bias: refused_with_logprobs, the mitigation of Carlini et al. 2024; drop one of the two"
        case let .logitBiasAboveCap(token, bias, cap):
            return prefix + "logit bias \(bias) on token \(token) exceeds the policy's cap of ±\(cap)"
        case let .unknownAccount(name):
            return prefix + "no account '\(name)' is open in the ledger; open it first"
        case let .budgetExceeded(account, limit, budget, used, requested):
            func show(_ v: Int64) -> String {
                limit == .dollars ? Money(picodollars: v).description : "\(v) \(limit.rawValue)"
            }
            return prefix
                + "account '\(account)' would exceed its \(limit.rawValue) budget of \(show(budget)): \(show(used)) spent, this call may need up to \(show(requested)) more (nothing was served); send fewer or shorter queries"
        }
    }

    public var errorDescription: String? { description }
}
