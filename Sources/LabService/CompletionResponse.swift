// CompletionResponse: the JSON the service returns — OpenAI's text_completion object (choices with text,
// legacy logprobs and finish_reason, a usage block with the lab's cost as x_lab fields) and the extension
// endpoints' bodies — built from the lab's Responses. Not parsing (CompletionRequest) nor serving.
import Foundation
import LabAPI
import LabModel

struct UsageBody: Encodable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var costPicodollars: Int64
    var costDollars: Double

    init(_ u: Usage) {
        promptTokens = u.inputTokens
        completionTokens = u.outputTokens
        totalTokens = u.inputTokens + u.outputTokens
        costPicodollars = u.cost.picodollars
        costDollars = NSDecimalNumber(decimal: u.cost.dollars).doubleValue
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case costPicodollars = "x_lab_cost_picodollars", costDollars = "x_lab_cost_dollars"
    }
}

struct LogprobsBody: Encodable {
    var tokens: [String] = []
    var tokenLogprobs: [Double?] = []
    var topLogprobs: [[String: Double]?]?
    var textOffset: [Int] = []
    /// The lab's extension: token ids beside their text.
    var tokenIDs: [Int] = []

    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset",
            tokenIDs = "x_lab_token_ids"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(tokenLogprobs, forKey: .tokenLogprobs)
        if let top = topLogprobs {
            try c.encode(top, forKey: .topLogprobs)
        } else {
            try c.encodeNil(forKey: .topLogprobs)
        }
        try c.encode(textOffset, forKey: .textOffset)
        try c.encode(tokenIDs, forKey: .tokenIDs)
    }
}

struct ChoiceBody: Encodable {
    var text: String
    var index: Int
    var logprobs: LogprobsBody?
    /// Always set in a plain answer; in a stream, only in each choice's last chunk (null before).
    var finishReason: String?
    /// Every token of `text` with its logprobs, whether or not the request asked for them (not encoded): what
    /// a stream cuts into one event per token.
    var tokens = LogprobsBody()
    /// How many of `tokens` are the echoed prompt.
    var echoedTokens = 0
    /// How many characters of `text` are the echoed prompt.
    var echoedLength = 0

    enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(index, forKey: .index)
        if let l = logprobs { try c.encode(l, forKey: .logprobs) } else { try c.encodeNil(forKey: .logprobs) }
        if let f = finishReason {
            try c.encode(f, forKey: .finishReason)
        } else {
            try c.encodeNil(forKey: .finishReason)
        }
    }
}

struct CompletionBody: Encodable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [ChoiceBody]
    var usage: UsageBody

    init(id: String, created: Int, model: String, choices: [ChoiceBody], usage: UsageBody) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

struct TokenBody: Encodable {
    var token: Int
    var text: String
    var logprob: Double?
}

struct ExtensionChoice: Encodable {
    var index: Int
    var label: TokenBody?
    var distribution: [TokenBody]?
}

struct ExtensionBody: Encodable {
    var id: String
    var object: String
    var model: String
    var data: [ExtensionChoice]
    var usage: UsageBody
}

/// Turns the Responses of one completions request back into OpenAI choices.
struct CompletionRendering {
    let tokenizer: Tokenizer
    let request: CompletionRequest
    let stopToken: Int32?

    /// JSON has no −∞: a served probability of exactly 0 is reported as a log-probability of −1e9.
    static func finite(_ x: Double) -> Double { x.isFinite ? x : (x < 0 ? -1e9 : 1e9) }

    func text(_ id: Int32) -> String { tokenizer.symbol(for: Int(id)) ?? "" }

    /// One choice per (prompt, n); the responses come in `CompletionRequest.queries` order.
    func choices(_ responses: [Response]) -> [ChoiceBody] {
        var out: [ChoiceBody] = []
        var r = 0
        for prompt in request.prompts {
            let completions = request.maxTokens > 0 ? Array(responses[r..<(r + request.n)]) : []
            r += completions.count
            var echo: Response?
            if request.echo && prompt.count >= 2 {
                echo = responses[r]
                r += 1
            }
            for j in 0..<max(1, completions.count) {
                out.append(
                    choice(
                        index: out.count, prompt: prompt, completion: completions.isEmpty ? nil : completions[j],
                        echo: echo))
            }
        }
        return out
    }

    func choice(index: Int, prompt: [Int32], completion: Response?, echo: Response?) -> ChoiceBody {
        let wantLogprobs = request.logprobs != nil
        var logprobs = LogprobsBody()
        if let k = request.logprobs, k > 0 { logprobs.topLogprobs = [] }
        var text = ""
        func append(_ token: Int32, _ logprob: Double??, _ top: [TokenLogprob]?) {
            logprobs.textOffset.append(text.count)
            logprobs.tokens.append(self.text(token))
            logprobs.tokenIDs.append(Int(token))
            logprobs.tokenLogprobs.append(logprob.flatMap { $0.map(Self.finite) })
            if logprobs.topLogprobs != nil {
                guard let top else {
                    logprobs.topLogprobs?.append(nil)
                    text += self.text(token)
                    return
                }
                var dict: [String: Double] = [:]
                for e in top { dict[self.text(e.token)] = Self.finite(e.logprob) }
                logprobs.topLogprobs?.append(dict)
            }
            text += self.text(token)
        }
        if request.echo {
            for (t, token) in prompt.enumerated() {
                let lp: Double?? =
                    t == 0
                    ? .some(nil) : echo.map { $0.tokenLogprobs.indices.contains(t - 1) ? $0.tokenLogprobs[t - 1] : nil }
                let top =
                    t == 0 ? nil : echo.flatMap { $0.topLogprobs.indices.contains(t - 1) ? $0.topLogprobs[t - 1] : nil }
                append(token, lp, top)
            }
        }
        let echoedLength = text.count
        var finish = "length"
        if let c = completion {
            var tokens = c.tokens
            if let stop = stopToken, let last = tokens.last, last == stop {
                finish = "stop"
                tokens.removeLast()
            }
            // Multi-token stop strings: the text ends before the first one, as in OpenAI's API.
            var generated = tokens.map(self.text).joined()
            var keep = tokens.count
            if let cut = request.stops.compactMap({ generated.range(of: $0)?.lowerBound }).min() {
                finish = "stop"
                let limit = generated.distance(from: generated.startIndex, to: cut)
                generated = String(generated[..<cut])
                var length = 0
                keep = 0
                while keep < tokens.count, length + self.text(tokens[keep]).count <= limit {
                    length += self.text(tokens[keep]).count
                    keep += 1
                }
            }
            for i in 0..<keep {
                append(
                    tokens[i], c.tokenLogprobs.indices.contains(i) ? .some(c.tokenLogprobs[i]) : .some(nil),
                    c.topLogprobs.indices.contains(i) ? c.topLogprobs[i] : nil)
            }
            // A stop string that splits a token leaves part of it in `generated`, not in the token lists.
            text = String(text.prefix(echoedLength)) + generated
        }
        var body = ChoiceBody(text: text, index: index, logprobs: wantLogprobs ? logprobs : nil, finishReason: finish)
        body.tokens = logprobs
        body.echoedTokens = request.echo ? prompt.count : 0
        body.echoedLength = echoedLength
        return body
    }
}
