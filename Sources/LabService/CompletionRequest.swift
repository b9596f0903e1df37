// CompletionRequest: a POST /v1/completions body (OpenAI's legacy completions schema) read field by field,
// so every refusal names the field and what would be accepted; the body becomes the lab's Queries. Also the
// lab's extension bodies (x-lab distribution and label). Not the response JSON (CompletionResponse).
import Foundation
import LabAPI
import LabModel

/// A parsed JSON value that keeps numbers' integer-ness, so `max_tokens: 1.5` can be refused by name.
indirect enum WireValue: Decodable, Sendable {
    case null, bool(Bool), int(Int64), double(Double), string(String), array([WireValue]), object([String: WireValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([WireValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: WireValue].self))
        }
    }

    var shape: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// The parsed object of a request body, read one field at a time; unknown fields are refused by name.
struct WireObject {
    let fields: [String: WireValue]

    /// Parses `body`: invalid UTF-8, malformed JSON and a non-object are 400s that say which.
    init(body: Data) throws {
        guard String(data: body, encoding: .utf8) != nil else {
            throw ServiceError.badRequest(
                nil, "the request body is not valid UTF-8; send JSON encoded as UTF-8", code: "invalid_encoding")
        }
        let value: WireValue
        do {
            value = try JSONDecoder().decode(WireValue.self, from: body)
        } catch {
            throw ServiceError.badRequest(
                nil, "the request body is not valid JSON (\(Self.describe(error))); send one JSON object",
                code: "invalid_json")
        }
        guard case let .object(fields) = value else {
            throw ServiceError.badRequest(
                nil, "the request body is \(value.shape); send one JSON object of fields", code: "invalid_json")
        }
        self.fields = fields
    }

    static func describe(_ error: Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            return (context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription)
        }
        return "\(error)"
    }

    func rejectUnknown(allowed: [String]) throws {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ServiceError.badRequest(
                unknown, "unknown field '\(unknown)'; this endpoint takes \(allowed.joined(separator: ", "))",
                code: "unknown_field")
        }
    }

    func present(_ key: String) -> WireValue? {
        guard let v = fields[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    func int(_ key: String, in range: ClosedRange<Int>, hint: String) throws -> Int? {
        guard let v = present(key) else { return nil }
        guard case let .int(i) = v else {
            throw ServiceError.badRequest(
                key, "'\(key)' is \(v.shape); must be an integer in \(range.lowerBound)...\(range.upperBound)\(hint)")
        }
        guard i >= Int64(range.lowerBound), i <= Int64(range.upperBound) else {
            throw ServiceError.badRequest(
                key, "'\(key)' is \(i); must be an integer in \(range.lowerBound)...\(range.upperBound)\(hint)")
        }
        return Int(i)
    }

    func double(_ key: String, in range: ClosedRange<Double>, openBelow: Bool = false) throws -> Double? {
        guard let v = present(key) else { return nil }
        let d: Double
        switch v {
        case let .int(i): d = Double(i)
        case let .double(x): d = x
        default:
            throw ServiceError.badRequest(
                key,
                "'\(key)' is \(v.shape); must be a number in \(openBelow ? "(" : "[")\(range.lowerBound), \(range.upperBound)]"
            )
        }
        guard range.contains(d), !(openBelow && d == range.lowerBound) else {
            throw ServiceError.badRequest(
                key, "'\(key)' is \(d); must be in \(openBelow ? "(" : "[")\(range.lowerBound), \(range.upperBound)]")
        }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        guard case let .bool(b) = v else {
            throw ServiceError.badRequest(key, "'\(key)' is \(v.shape); must be true or false")
        }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let v = present(key) else { return nil }
        guard case let .string(s) = v else {
            throw ServiceError.badRequest(key, "'\(key)' is \(v.shape); must be a string")
        }
        return s
    }

    /// `prompt`: a string, a list of strings, a list of token ids, or a list of lists of token ids.
    func prompts(tokenizer: Tokenizer, vocabularySize V: Int) throws -> [[Int32]] {
        guard let v = present("prompt") else {
            throw ServiceError.badRequest(
                "prompt", "'prompt' is missing; send a string, a list of strings, or token ids")
        }
        func text(_ s: String, _ where_: String) throws -> [Int32] {
            let ids = tokenizer.encode(s).map(Int32.init)
            guard !ids.isEmpty else {
                throw ServiceError.badRequest("prompt", "\(where_) is empty; a prompt needs at least one token")
            }
            return ids
        }
        func tokens(_ items: [WireValue], _ where_: String) throws -> [Int32] {
            guard !items.isEmpty else {
                throw ServiceError.badRequest("prompt", "\(where_) is an empty list of token ids")
            }
            return try items.enumerated().map { i, item in
                guard case let .int(t) = item, t >= 0, t < Int64(V) else {
                    throw ServiceError.badRequest("prompt", "\(where_)[\(i)] is not a token id in 0...\(V - 1)")
                }
                return Int32(t)
            }
        }
        switch v {
        case let .string(s):
            return [try text(s, "'prompt'")]
        case let .array(items) where items.isEmpty:
            throw ServiceError.badRequest("prompt", "'prompt' is an empty list; send at least one prompt")
        case let .array(items):
            switch items[0] {
            case .int: return [try tokens(items, "'prompt'")]
            case .string:
                return try items.enumerated().map { i, item in
                    guard case let .string(s) = item else {
                        throw ServiceError.badRequest(
                            "prompt", "'prompt'[\(i)] is \(item.shape); a list of prompts holds strings only")
                    }
                    return try text(s, "'prompt'[\(i)]")
                }
            case .array:
                return try items.enumerated().map { i, item in
                    guard case let .array(inner) = item else {
                        throw ServiceError.badRequest(
                            "prompt", "'prompt'[\(i)] is \(item.shape); expected a list of token ids")
                    }
                    return try tokens(inner, "'prompt'[\(i)]")
                }
            default:
                throw ServiceError.badRequest(
                    "prompt",
                    "'prompt'[0] is \(items[0].shape); a prompt list holds strings, token ids or lists of token ids")
            }
        default:
            throw ServiceError.badRequest(
                "prompt", "'prompt' is \(v.shape); send a string, a list of strings, or token ids")
        }
    }

    /// `logit_bias`: {"token id": bias}, bias in [-100, 100] as in OpenAI's API (the policy may allow less).
    func logitBias(vocabularySize V: Int) throws -> [Int: Float] {
        guard let v = present("logit_bias") else { return [:] }
        guard case let .object(entries) = v else {
            throw ServiceError.badRequest(
                "logit_bias", "'logit_bias' is \(v.shape); must map token ids (as strings) to biases")
        }
        var out: [Int: Float] = [:]
        for (key, value) in entries {
            guard let t = Int(key), t >= 0, t < V else {
                throw ServiceError.badRequest(
                    "logit_bias", "'logit_bias' key '\(key)' is not a token id in 0...\(V - 1)")
            }
            let b: Double
            switch value {
            case let .int(i): b = Double(i)
            case let .double(d): b = d
            default:
                throw ServiceError.badRequest(
                    "logit_bias", "'logit_bias'['\(key)'] is \(value.shape); must be a number in [-100, 100]")
            }
            guard b >= -100, b <= 100 else {
                throw ServiceError.badRequest("logit_bias", "'logit_bias'['\(key)'] is \(b); must be in [-100, 100]")
            }
            out[t] = Float(b)
        }
        return out
    }

    /// `stop`: a string or up to 4 strings.
    func stops() throws -> [String] {
        guard let v = present("stop") else { return [] }
        switch v {
        case let .string(s): return s.isEmpty ? [] : [s]
        case let .array(items):
            guard items.count <= 4 else {
                throw ServiceError.badRequest("stop", "'stop' has \(items.count) sequences; at most 4")
            }
            return try items.map {
                guard case let .string(s) = $0, !s.isEmpty else {
                    throw ServiceError.badRequest("stop", "'stop' holds \($0.shape); must be non-empty strings")
                }
                return s
            }
        default:
            throw ServiceError.badRequest("stop", "'stop' is \(v.shape); must be a string or a list of up to 4 strings")
        }
    }
}

/// A completions request, validated against the teacher and the policy.
struct CompletionRequest {
    static let fields = [
        "model", "prompt", "max_tokens", "temperature", "top_p", "n", "stream", "stream_options", "logprobs", "echo",
        "stop", "presence_penalty", "frequency_penalty", "best_of", "logit_bias", "user", "seed", "suffix",
    ]

    var model: String
    var prompts: [[Int32]]
    var maxTokens: Int
    var temperature: Float
    var topP: Float?
    var n: Int
    var logprobs: Int?
    var echo: Bool
    var stops: [String]
    var logitBias: [Int: Float]
    var seed: UInt64?
    /// `stream: true`: the answer goes out as server-sent events, one per token (`CompletionStream`).
    var stream = false
    /// `stream_options: {include_usage: true}`: a last event carries the usage block, as OpenAI's does.
    var includeUsage = false

    init(
        _ body: WireObject, tokenizer: Tokenizer, vocabularySize V: Int, contextLength T: Int, policy: APIPolicy,
        maxChoices: Int
    ) throws {
        try body.rejectUnknown(allowed: Self.fields)
        guard let model = try body.string("model") else {
            throw ServiceError.badRequest("model", "'model' is missing; GET /v1/models lists the served model")
        }
        self.model = model
        prompts = try body.prompts(tokenizer: tokenizer, vocabularySize: V)
        maxTokens =
            try body.int("max_tokens", in: 0...(T - 1), hint: " (the context holds \(T) tokens, prompt included)") ?? 16
        temperature = Float(try body.double("temperature", in: 0...2) ?? 1)
        topP = try body.double("top_p", in: 0...1, openBelow: true).map(Float.init)
        n = try body.int("n", in: 1...maxChoices, hint: "") ?? 1
        stream = try body.bool("stream") ?? false
        if let options = body.present("stream_options") {
            guard stream else {
                throw ServiceError.badRequest(
                    "stream_options", "'stream_options' is only allowed with 'stream': true")
            }
            guard case let .object(fields) = options else {
                throw ServiceError.badRequest(
                    "stream_options",
                    "'stream_options' is \(options.shape); must be an object such as {\"include_usage\": true}")
            }
            if let unknown = fields.keys.sorted().first(where: { $0 != "include_usage" }) {
                throw ServiceError.badRequest(
                    "stream_options", "unknown stream option '\(unknown)'; 'stream_options' takes include_usage",
                    code: "unknown_field")
            }
            if let usage = fields["include_usage"] {
                guard case let .bool(b) = usage else {
                    throw ServiceError.badRequest(
                        "stream_options", "'stream_options.include_usage' is \(usage.shape); must be true or false")
                }
                includeUsage = b
            }
        }
        logprobs = try body.int("logprobs", in: 0...policy.maxLogprobs, hint: " (the policy's top-logprob cap)")
        echo = try body.bool("echo") ?? false
        stops = try body.stops()
        logitBias = try body.logitBias(vocabularySize: V)
        if let s = try body.int("seed", in: Int(Int64.min)...Int(Int64.max), hint: "") {
            seed = UInt64(bitPattern: Int64(s))
        }
        for key in ["presence_penalty", "frequency_penalty"] where (try body.double(key, in: -2...2)) ?? 0 != 0 {
            throw ServiceError.badRequest(key, "'\(key)' is not served; omit it or send 0")
        }
        if let b = try body.int("best_of", in: 1...maxChoices, hint: ""), b != n {
            throw ServiceError.badRequest("best_of", "'best_of' other than n is not served; omit it")
        }
        if let s = try body.string("suffix"), !s.isEmpty {
            throw ServiceError.badRequest("suffix", "'suffix' (insertion) is not served; omit it")
        }
        _ = try body.string("user")
        guard prompts.count * n <= maxChoices else {
            throw ServiceError.badRequest(
                "n",
                "\(prompts.count) prompts × n = \(n) is \(prompts.count * n) completions; at most \(maxChoices) per request"
            )
        }
        guard maxTokens > 0 || echo else {
            throw ServiceError.badRequest(
                "max_tokens", "'max_tokens' is 0 without echo: nothing to return; ask for at least 1 token or set echo")
        }
        for (i, p) in prompts.enumerated() where p.count + maxTokens > T {
            throw ServiceError.badRequest(
                maxTokens > 0 ? "max_tokens" : "prompt",
                "prompt\(prompts.count > 1 ? " \(i)" : "") has \(p.count) tokens and max_tokens is \(maxTokens): \(p.count + maxTokens) exceeds the context length \(T); shorten one"
            )
        }
        if echo, prompts.contains(where: { $0.count < 2 }), maxTokens == 0 {
            throw ServiceError.badRequest(
                "prompt", "echo with max_tokens 0 scores prompt tokens after the first; send at least 2 tokens")
        }
    }

    /// A single-token stop string ends generation on the server; longer ones cut the text afterwards.
    func stopToken(tokenizer: Tokenizer) -> Int32? {
        for s in stops {
            let ids = tokenizer.encode(s)
            if ids.count == 1, tokenizer.decode(ids) == s { return Int32(ids[0]) }
        }
        return nil
    }

    /// The queries, in order: for each prompt, n completions (when max_tokens > 0), then its echo (when asked).
    func queries(tokenizer: Tokenizer) -> [Query] {
        let stop = stopToken(tokenizer: tokenizer)
        var out: [Query] = []
        for p in prompts {
            if maxTokens > 0 {
                for j in 0..<n {
                    out.append(
                        .completion(
                            p, maxNewTokens: maxTokens, temperature: temperature, topP: topP, logprobs: logprobs,
                            stopToken: stop, logitBias: logitBias, seed: seed.map { $0 &+ UInt64(j) }))
                }
            }
            if echo && p.count >= 2 { out.append(.echo(p, logprobs: logprobs ?? 0, logitBias: logitBias)) }
        }
        return out
    }
}

/// The body of the lab's extension endpoints (/v1/x-lab/distribution, /v1/x-lab/label).
struct ExtensionRequest {
    static let fields = ["model", "prompt", "logit_bias"]
    var model: String
    var prompts: [[Int32]]
    var logitBias: [Int: Float]

    init(_ body: WireObject, tokenizer: Tokenizer, vocabularySize V: Int, contextLength T: Int, maxChoices: Int) throws
    {
        try body.rejectUnknown(allowed: Self.fields)
        guard let model = try body.string("model") else {
            throw ServiceError.badRequest("model", "'model' is missing; GET /v1/models lists the served model")
        }
        self.model = model
        prompts = try body.prompts(tokenizer: tokenizer, vocabularySize: V)
        logitBias = try body.logitBias(vocabularySize: V)
        guard prompts.count <= maxChoices else {
            throw ServiceError.badRequest("prompt", "\(prompts.count) prompts; at most \(maxChoices) per request")
        }
        for (i, p) in prompts.enumerated() where p.count > T {
            throw ServiceError.badRequest("prompt", "prompt \(i) has \(p.count) tokens; the context length is \(T)")
        }
    }
}
