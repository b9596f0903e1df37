// Query and Response: what a client sends to the teacher's API and what comes back, shaped like the
// surfaces real LLM APIs expose (sampled completions with top-k logprobs, echoed prompt logprobs, logit
// bias). Not here: whether a query is allowed (APIPolicy), what it costs (Ledger), how it is computed.

/// The four surfaces of the API, from the least to the most revealing per token bought.
public enum QueryKind: String, Codable, CaseIterable, Sendable, Hashable {
    /// prompt → up to N sampled tokens, optionally with the logprob of each and the top-k alternatives at
    /// each generated position (OpenAI's `logprobs` / `top_logprobs`).
    case completion
    /// prompt → the logprob of every prompt token after the first and the top-k alternatives at each
    /// position (the legacy completions API's `echo=true` with `max_tokens=0`).
    case echo
    /// prompt → the whole next-token distribution: the leakiest surface; no production API offers it.
    case distribution
    /// prompt → only the most likely next token.
    case label
}

/// One request. Build it with `completion`, `echo`, `distribution` or `label`; every field a kind does
/// not read keeps its default, and `validate` rejects values out of range with the field named.
public struct Query: Codable, Equatable, Sendable {
    public var kind: QueryKind
    /// Token ids; at least one.
    public var prompt: [Int32]
    /// completion: the most tokens to generate (fewer when `stopToken` comes first).
    public var maxNewTokens: Int = 0
    /// completion and echo: nil asks for no logprobs; 0 for the logprob of each returned (or echoed)
    /// token; k > 0 also for the k most likely tokens at each position. `APIPolicy.maxLogprobs` caps k.
    public var logprobs: Int? = nil
    /// completion: sampling temperature over the served distribution; 0 is greedy.
    public var temperature: Float = 1
    /// completion: nucleus sampling over the served distribution (nil: off).
    public var topP: Float? = nil
    /// completion: generation ends after this token (it is returned).
    public var stopToken: Int32? = nil
    /// Added to the teacher's logits before anything else (token id → bias), as in LLM APIs'
    /// `logit_bias`; what the policy allows is `APIPolicy.logitBias`.
    public var logitBias: [Int: Float] = [:]
    /// completion: seed of the sampling draws (OpenAI's `seed`); nil lets the server draw one. Defence
    /// randomness (noise) always comes from the server, so a client cannot replay it.
    public var seed: UInt64? = nil

    public init(kind: QueryKind, prompt: [Int32]) {
        self.kind = kind
        self.prompt = prompt
    }

    public static func completion(
        _ prompt: [Int32], maxNewTokens: Int, temperature: Float = 1, topP: Float? = nil,
        logprobs: Int? = nil, stopToken: Int32? = nil, logitBias: [Int: Float] = [:], seed: UInt64? = nil
    ) -> Query {
        var q = Query(kind: .completion, prompt: prompt)
        q.maxNewTokens = maxNewTokens
        q.temperature = temperature
        q.topP = topP
        q.logprobs = logprobs
        q.stopToken = stopToken
        q.logitBias = logitBias
        q.seed = seed
        return q
    }

    public static func echo(_ prompt: [Int32], logprobs: Int = 0, logitBias: [Int: Float] = [:]) -> Query {
        var q = Query(kind: .echo, prompt: prompt)
        q.logprobs = logprobs
        q.logitBias = logitBias
        return q
    }

    public static func distribution(_ prompt: [Int32], logitBias: [Int: Float] = [:]) -> Query {
        var q = Query(kind: .distribution, prompt: prompt)
        q.logitBias = logitBias
        return q
    }

    public static func label(_ prompt: [Int32], logitBias: [Int: Float] = [:]) -> Query {
        var q = Query(kind: .label, prompt: prompt)
        q.logitBias = logitBias
        return q
    }

    enum CodingKeys: String, CodingKey {
        case kind, prompt, maxNewTokens = "max_new_tokens", logprobs, temperature, topP = "top_p"
        case stopToken = "stop_token", logitBias = "logit_bias", seed
    }

    /// Whether the answer carries log-probabilities: the trigger of the `refused_with_logprobs` bias policy.
    public var requestsLogprobs: Bool {
        switch kind {
        case .echo, .distribution: return true
        case .completion: return logprobs != nil
        case .label: return false
        }
    }

    /// The output tokens this query can be charged at most: the number the ledger reserves before serving.
    /// Echo returns no new tokens (as the legacy API billed it); a distribution or a label is one position.
    public var maxOutputTokens: Int {
        switch kind {
        case .completion: return maxNewTokens
        case .echo: return 0
        case .distribution, .label: return 1
        }
    }

    /// Throws `APIRefusal` (`.invalidQuery`) naming the first field out of range for a teacher with
    /// `vocabularySize` tokens and `contextLength` positions. `index` is the query's place in its call.
    public func validate(vocabularySize V: Int, contextLength T: Int, index: Int? = nil) throws {
        func refuse(_ message: String) -> APIRefusal { APIRefusal(query: index, reason: .invalidQuery(message)) }
        guard !prompt.isEmpty else { throw refuse("prompt is empty; give at least one token") }
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= V }) {
            throw refuse("prompt token \(bad) is outside the vocabulary 0..<\(V)")
        }
        switch kind {
        case .completion:
            guard maxNewTokens >= 1 else { throw refuse("max_new_tokens is \(maxNewTokens); must be at least 1") }
            guard prompt.count + maxNewTokens <= T else {
                throw refuse(
                    "prompt (\(prompt.count) tokens) plus max_new_tokens (\(maxNewTokens)) exceeds the context length \(T); shorten one"
                )
            }
            guard temperature >= 0, temperature.isFinite else {
                throw refuse("temperature is \(temperature); must be 0 (greedy) or positive")
            }
            if let p = topP, !(p > 0 && p <= 1) { throw refuse("top_p is \(p); must be in (0, 1]") }
            if let s = stopToken, s < 0 || Int(s) >= V {
                throw refuse("stop_token \(s) is outside the vocabulary 0..<\(V)")
            }
        case .echo, .distribution, .label:
            guard prompt.count <= T else {
                throw refuse("prompt has \(prompt.count) tokens; the context length is \(T)")
            }
        }
        if let k = logprobs, k < 0 { throw refuse("logprobs is \(k); must be nil, 0 or a positive k") }
        for (t, b) in logitBias where t < 0 || t >= V || !b.isFinite {
            throw refuse("logit_bias entry \(t): \(b); tokens must be in 0..<\(V) and biases finite")
        }
    }
}

/// One (token, logprob) entry as the API reports it. A logprob of −∞ means the served value is 0
/// (e.g. a probability rounded to zero), which is not the same as a token left out of the report.
public struct TokenLogprob: Codable, Equatable, Sendable {
    public var token: Int32
    public var logprob: Double
    public init(token: Int32, logprob: Double) {
        self.token = token
        self.logprob = logprob
    }
}

/// What the API returns for one query, after every defence.
public struct Response: Equatable, Sendable {
    public var kind: QueryKind
    /// completion: the generated tokens (ending with the stop token when it came). label: the one token,
    /// or empty when a defence withheld the whole row. echo, distribution: empty.
    public var tokens: [Int32] = []
    /// completion (when logprobs were asked for): the reported logprob of each generated token, nil
    /// where a defence left that token out of the report. echo: the logprob of prompt token t at
    /// index t − 1 (t ≥ 1), nil likewise.
    public var tokenLogprobs: [Double?] = []
    /// completion and echo with logprobs k > 0: the k most likely reported tokens at each position
    /// (fewer when a defence reports fewer), most likely first, ties by token id.
    public var topLogprobs: [[TokenLogprob]] = []
    /// distribution: every reported entry, most likely first — all V unless a defence withholds some.
    public var distribution: [TokenLogprob] = []
    /// Tokens, FLOPs and dollars charged for this query (the ledger's figures).
    public var usage: Usage = .zero

    public init(kind: QueryKind) { self.kind = kind }
}
