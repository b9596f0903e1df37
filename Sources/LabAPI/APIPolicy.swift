// APIPolicy: which surfaces the API serves and under what limits — enabled query kinds, the cap on top
// logprobs, and what it does with logit bias. It decides yes or no per query; it does not count usage
// (Ledger) or change answers (defences).
import LabCore

public struct APIPolicy: Equatable, Sendable {
    /// What the API does with a query's logit bias.
    public enum LogitBiasMode: Equatable, Sendable {
        /// Any finite bias on any token.
        case allowed
        /// Biases up to this magnitude; a larger one refuses the query (OpenAI's API refuses |bias| > 100).
        case capped(magnitude: Float)
        /// Refused on any query that asks for logprobs (echo, distribution, completion with logprobs):
        /// the mitigation Carlini et al. 2024 ("Stealing Part of a Production Language Model") propose,
        /// since bias plus logprobs reveals the logit of any chosen token.
        case refusedWithLogprobs
        /// Never accepted.
        case refused
    }

    /// Surfaces the API serves; the rest are refused with `.kindDisabled`.
    public var enabledKinds: Set<QueryKind>
    /// Cap on k for top logprobs per position (OpenAI's `top_logprobs` is at most 20).
    public var maxLogprobs: Int
    public var logitBias: LogitBiasMode

    /// Defaults: every surface, at most 20 top logprobs, any logit bias — the lab's most open API, so a
    /// defence or a restriction is always a deliberate line of an experiment.
    public init(
        enabledKinds: Set<QueryKind> = Set(QueryKind.allCases), maxLogprobs: Int = 20,
        logitBias: LogitBiasMode = .allowed
    ) {
        self.enabledKinds = enabledKinds
        self.maxLogprobs = maxLogprobs
        self.logitBias = logitBias
    }

    /// Throws `LabError.invalidConfig` naming the first field out of range.
    public func validate() throws {
        guard maxLogprobs >= 0 else {
            throw LabError.invalidConfig(key: "max_logprobs", message: "is \(maxLogprobs); must be 0 or more")
        }
        if case let .capped(m) = logitBias, !(m >= 0 && m.isFinite) {
            throw LabError.invalidConfig(key: "logit_bias_cap", message: "is \(m); must be a finite magnitude ≥ 0")
        }
    }

    /// Throws `APIRefusal` when the policy refuses `query`; `index` is its place in the call.
    public func check(_ query: Query, index: Int? = nil) throws {
        guard enabledKinds.contains(query.kind) else {
            throw APIRefusal(query: index, reason: .kindDisabled(query.kind))
        }
        if let k = query.logprobs, query.kind == .completion || query.kind == .echo, k > maxLogprobs {
            throw APIRefusal(query: index, reason: .logprobsAboveCap(requested: k, cap: maxLogprobs))
        }
        guard !query.logitBias.isEmpty else { return }
        switch logitBias {
        case .allowed:
            return
        case let .capped(cap):
            for (token, bias) in query.logitBias.sorted(by: { $0.key < $1.key }) where abs(bias) > cap {
                throw APIRefusal(query: index, reason: .logitBiasAboveCap(token: token, bias: bias, cap: cap))
            }
        case .refusedWithLogprobs:
            if query.requestsLogprobs { throw APIRefusal(query: index, reason: .logitBiasWithLogprobs(query.kind)) }
        case .refused:
            throw APIRefusal(query: index, reason: .logitBiasDisabled)
        }
    }
}

extension APIPolicy: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabledKinds = "enabled_kinds", maxLogprobs = "max_logprobs", logitBias = "logit_bias", logitBiasCap =
            "logit_bias_cap"
    }

    /// `logit_bias` is one of allowed, capped, refused_with_logprobs, refused; `capped` needs
    /// `logit_bias_cap`. Unknown keys are rejected by name.
    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = any.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw LabError.invalidConfig(
                key: "policy.\(unknown.stringValue)",
                message: "unknown key; a policy has \(known.sorted().joined(separator: ", "))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let kinds = try c.decodeIfPresent([QueryKind].self, forKey: .enabledKinds) { enabledKinds = Set(kinds) }
        if let k = try c.decodeIfPresent(Int.self, forKey: .maxLogprobs) { maxLogprobs = k }
        let cap = try c.decodeIfPresent(Float.self, forKey: .logitBiasCap)
        switch try c.decodeIfPresent(String.self, forKey: .logitBias) ?? "allowed" {
        case "allowed": logitBias = .allowed
        case "capped":
            guard let cap else {
                throw LabError.invalidConfig(
                    key: "policy.logit_bias_cap",
                    message: "is missing; logit_bias: capped needs the magnitude (OpenAI uses 100)")
            }
            logitBias = .capped(magnitude: cap)
        case "refused_with_logprobs": logitBias = .refusedWithLogprobs
        case "refused": logitBias = .refused
        case let other:
            throw LabError.invalidConfig(
                key: "policy.logit_bias",
                message: "is '\(other)'; must be allowed, capped, refused_with_logprobs or refused")
        }
        if let cap, logitBias != .capped(magnitude: cap) {
            throw LabError.invalidConfig(
                key: "policy.logit_bias_cap",
                message: "is set but logit_bias is not 'capped'; remove it or set logit_bias: capped")
        }
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(QueryKind.allCases.filter(enabledKinds.contains), forKey: .enabledKinds)
        try c.encode(maxLogprobs, forKey: .maxLogprobs)
        switch logitBias {
        case .allowed: try c.encode("allowed", forKey: .logitBias)
        case let .capped(m):
            try c.encode("capped", forKey: .logitBias)
            try c.encode(m, forKey: .logitBiasCap)
        case .refusedWithLogprobs: try c.encode("refused_with_logprobs", forKey: .logitBias)
        case .refused: try c.encode("refused", forKey: .logitBias)
        }
    }
}

/// A coding key for any string, to list the keys a config actually has.
package struct AnyKey: CodingKey {
    package var stringValue: String
    package var intValue: Int? { nil }
    package init(stringValue: String) { self.stringValue = stringValue }
    package init?(intValue: Int) { nil }
}
