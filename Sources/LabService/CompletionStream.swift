// CompletionStream: `stream: true` on /v1/completions — the answer as server-sent events in OpenAI's format
// (`data: {text_completion chunk}` per token, the finish reason in each choice's last chunk, an optional usage
// chunk, then `data: [DONE]`). The completion is generated and its charge committed to the ledger before the
// first event is written, as for a plain answer, so a client that drops the stream has still paid exactly
// what the ledger says; the events cut that answer into tokens. Not incremental generation.
import Foundation

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
