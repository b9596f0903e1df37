// CompletionStream: `stream: true` on /v1/completions — the answer as server-sent events in OpenAI's format
// (`data: {text_completion chunk}` per token, the finish reason in each choice's last chunk, an optional usage
// chunk, then `data: [DONE]`). `IncrementalStream` sends each token as the batcher decodes it (the request's
// most is charged before the first event and settled when decoding ends); `CompletionStream.chunks` cuts a
// finished answer into the same events, for requests whose events depend on more than the tokens decoded so far
// (echo with logprobs, stop strings longer than one token). Not the decoding itself (Batcher).
import Foundation
import LabModel
import NIOCore

struct StreamChunkBody: Encodable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [ChoiceBody]
    var usage: UsageBody?

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if let u = usage { try c.encode(u, forKey: .usage) } else { try c.encodeNil(forKey: .usage) }
    }
}

extension LogprobsBody {
    /// The entries of `range` (top logprobs kept only when the whole body has them).
    func slice(_ range: Range<Int>) -> LogprobsBody {
        var out = LogprobsBody()
        out.tokens = Array(tokens[range])
        out.tokenLogprobs = Array(tokenLogprobs[range])
        out.topLogprobs = topLogprobs.map { Array($0[range]) }
        out.textOffset = Array(textOffset[range])
        out.tokenIDs = Array(tokenIDs[range])
        return out
    }
}

enum CompletionStream {
    /// The chunks of `choices`, choice after choice: the echoed prompt in one chunk, then one chunk per
    /// generated token (logprobs when asked for), the text a stop string cut inside a token in a chunk of its
    /// own, and an empty chunk with the finish reason. The chunks' texts joined are exactly the choice's text.
    static func chunks(id: String, created: Int, model: String, choices: [ChoiceBody], usage: UsageBody?)
        -> [StreamChunkBody]
    {
        var out: [StreamChunkBody] = []
        func emit(_ text: String, _ index: Int, _ logprobs: LogprobsBody?, finish: String? = nil) {
            out.append(
                StreamChunkBody(
                    id: id, created: created, model: model,
                    choices: [ChoiceBody(text: text, index: index, logprobs: logprobs, finishReason: finish)]))
        }
        for choice in choices {
            let wanted = choice.logprobs != nil
            let all = choice.tokens
            if choice.echoedTokens > 0 {
                emit(
                    String(choice.text.prefix(choice.echoedLength)), choice.index,
                    wanted ? all.slice(0..<choice.echoedTokens) : nil)
            }
            // Counted in Unicode scalars: a token's text may end inside a grapheme cluster.
            let scalars = choice.text.unicodeScalars
            var sent = choice.text.prefix(choice.echoedLength).unicodeScalars.count
            for i in choice.echoedTokens..<all.tokens.count {
                emit(all.tokens[i], choice.index, wanted ? all.slice(i..<(i + 1)) : nil)
                sent += all.tokens[i].unicodeScalars.count
            }
            if sent < scalars.count {
                emit(
                    String(String.UnicodeScalarView(scalars.dropFirst(sent))), choice.index,
                    wanted ? all.slice(0..<0) : nil)
            }
            emit("", choice.index, nil, finish: choice.finishReason)
        }
        if let usage {
            out.append(StreamChunkBody(id: id, created: created, model: model, choices: [], usage: usage))
        }
        return out
    }

    /// The event stream: `data: <chunk>` per chunk, a blank line after each, then `data: [DONE]`.
    static func events(_ chunks: [StreamChunkBody]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for chunk in chunks {
            data.append(contentsOf: "data: ".utf8)
            data.append(try encoder.encode(chunk))
            data.append(contentsOf: "\n\n".utf8)
        }
        data.append(contentsOf: "data: [DONE]\n\n".utf8)
        return data
    }
}

/// A streamed completion sent as it is decoded: each choice's echoed prompt first, then every token as its step
/// is drawn (choices interleaved, each chunk naming its index), each choice's finish reason with its last token,
/// the usage chunk when asked for (the settled charge), then `[DONE]`; logprobs, when asked for, as the plain
/// answer reports them. Used when no event depends on later tokens or on the echo's scoring: no stop string
/// longer than one token (a one-token stop ends decoding on the server), no echo with logprobs.
final class IncrementalStream: @unchecked Sendable {
    let id: String
    let created: Int
    let model: String
    let request: CompletionRequest
    let tokenizer: Tokenizer
    let stopToken: Int32?
    /// The response body: the events, as they are queued.
    let events: AsyncStream<ByteBuffer>
    private let sink: AsyncStream<ByteBuffer>.Continuation
    private let encoder = JSONEncoder()
    /// Each choice's text so far (for the logprobs' text offsets).
    private var texts: [Int: String] = [:]

    /// Whether `request`'s events can be sent as its tokens are decoded.
    static func fits(_ request: CompletionRequest, tokenizer: Tokenizer) -> Bool {
        request.stream && !(request.echo && request.logprobs != nil) && request.maxTokens > 0
            && request.stops.allSatisfy { s in
                let ids = tokenizer.encode(s)
                return ids.count == 1 && tokenizer.decode(ids) == s
            }
    }

    init(id: String, created: Int, model: String, request: CompletionRequest, tokenizer: Tokenizer) {
        self.id = id
        self.created = created
        self.model = model
        self.request = request
        self.tokenizer = tokenizer
        stopToken = request.stopToken(tokenizer: tokenizer)
        (events, sink) = AsyncStream<ByteBuffer>.makeStream()
        encoder.outputFormatting = [.sortedKeys]
    }

    private func send(_ chunk: StreamChunkBody) {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes((try? encoder.encode(chunk)) ?? Data("{}".utf8))
        buffer.writeString("\n\n")
        sink.yield(buffer)
    }

    private func send(_ text: String, choice: Int, finish: String? = nil, logprobs: LogprobsBody? = nil) {
        texts[choice, default: ""] += text
        send(
            StreamChunkBody(
                id: id, created: created, model: model,
                choices: [ChoiceBody(text: text, index: choice, logprobs: logprobs, finishReason: finish)]))
    }

    /// A generated token's logprobs entry, as `CompletionRendering` writes it in a plain answer.
    private func logprobs(_ t: StreamedToken, text: String) -> LogprobsBody? {
        guard let k = request.logprobs else { return nil }
        var body = LogprobsBody()
        body.tokens = [text]
        body.tokenIDs = [Int(t.token)]
        body.textOffset = [texts[t.completion, default: ""].count]
        body.tokenLogprobs = [t.logprobs?.token.map(CompletionRendering.finite)]
        if k > 0 {
            var top: [String: Double] = [:]
            for e in t.logprobs?.top ?? [] {
                top[tokenizer.symbol(for: Int(e.token)) ?? ""] = CompletionRendering.finite(e.logprob)
            }
            body.topLogprobs = [top]
        }
        return body
    }

    /// Queues the echoed prompts (choices are prompts × n, in order): before any token can be decoded.
    func begin() {
        guard request.echo else { return }
        for (p, prompt) in request.prompts.enumerated() {
            let text = prompt.map { tokenizer.symbol(for: Int($0)) ?? "" }.joined()
            for j in 0..<request.n { send(text, choice: p * request.n + j) }
        }
    }

    /// One decoding step's tokens (called on the teacher's thread). The completions are the choices, in order.
    func send(_ tokens: [StreamedToken]) {
        for t in tokens {
            if t.last, t.token == stopToken {
                send("", choice: t.completion, finish: "stop")
                continue
            }
            let text = tokenizer.symbol(for: Int(t.token)) ?? ""
            send(text, choice: t.completion, logprobs: logprobs(t, text: text))
            if t.last { send("", choice: t.completion, finish: "length") }
        }
    }

    /// Ends the stream: the usage chunk (when asked for) and [DONE], or an error object if decoding failed.
    func finish(_ result: Result<BatchResult, Error>) {
        switch result {
        case let .success(answer):
            if request.includeUsage {
                send(
                    StreamChunkBody(
                        id: id, created: created, model: model, choices: [], usage: UsageBody(answer.charge.usage)))
            }
        case .failure:
            let error = ServiceError(
                status: 500, message: "the server failed while decoding; the request was charged its reservation",
                type: "server_error")
            var buffer = ByteBuffer(string: "data: ")
            buffer.writeBytes(error.body)
            buffer.writeString("\n\n")
            sink.yield(buffer)
        }
        sink.yield(ByteBuffer(string: "data: [DONE]\n\n"))
        sink.finish()
    }
}
