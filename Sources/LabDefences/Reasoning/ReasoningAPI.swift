// ReasoningAPI: the endpoint of a teacher that thinks before it answers. Completions are generated whole by the
// defended API underneath (and billed there, every trace token included, as reasoning providers bill them);
// the trace policy then decides what of the think block the client sees. Not a new teacher and not billing.
import LabAPI
import LabCore

public final class ReasoningAPI {
    public let api: DefendedAPI
    public let policy: any TracePolicy
    public let format: TraceFormat
    /// Seeds the policy's randomness (noisy steps), server side: a client cannot replay it.
    public let seed: UInt64
    public private(set) var callsServed: UInt64 = 0

    public init(api: DefendedAPI, policy: any TracePolicy, format: TraceFormat, seed: UInt64 = 0) {
        self.api = api
        self.policy = policy
        self.format = format
        self.seed = seed
    }

    /// Why a query could read trace text the policy hides, or nil when it cannot. Scoring surfaces (echo,
    /// distribution, label) report the teacher's predictions at the prompt's positions, so a prompt holding an
    /// open marker would read the teacher's next step; a completion may carry a think block only if it is
    /// closed (then the teacher writes the answer, never a step).
    func hidingRefusal(_ query: Query) -> String? {
        guard !policy.showsTeacherTokens, let open = query.prompt.firstIndex(of: format.open) else { return nil }
        if query.kind != .completion {
            return
                "under trace policy \(policy.name) the API does not score text that holds a think block ('\(query.kind.rawValue)' query); send the problem without one"
        }
        if !query.prompt[open...].contains(format.close) {
            return
                "under trace policy \(policy.name) a completion may not continue an open think block; send the problem, or close the block"
        }
        return nil
    }

    /// Answers `queries` for `account`: refused as a whole when one would read hidden trace text (nothing is
    /// charged then); otherwise generated and billed in full by `api`, and each completion reshaped by the
    /// policy. Responses keep the ledger's usage, which counts the hidden tokens too.
    public func call(_ queries: [Query], account: String) throws -> [Response] {
        for (i, q) in queries.enumerated() {
            if let message = hidingRefusal(q) { throw APIRefusal(query: i, reason: .invalidQuery(message)) }
        }
        let responses = try api.call(queries, account: account)
        var stream = LabRNG(seed: seed, stream: "trace-policy-call-\(callsServed)")
        callsServed += 1
        return zip(queries, responses).map { query, response in
            var rng = LabRNG(seed: stream.next(), stream: "completion")
            return query.kind == .completion ? present(response, rng: &rng) : response
        }
    }

    public func call(_ query: Query, account: String) throws -> Response {
        try call([query], account: account)[0]
    }

    /// One completion as the policy shows it: visible tokens, and logprobs only where the shown tokens are
    /// the teacher's own (everywhere under `full`, at the answer's positions otherwise).
    func present(_ response: Response, rng: inout LabRNG) -> Response {
        let cut = TracedTokens(response.tokens, format: format)
        guard cut.opened, !policy.showsTeacherTokens else { return response }
        var out = response
        let answerStart = cut.closed ? cut.traceLength : response.tokens.count
        let shown = policy.visibleSteps(cut.steps, format: format, rng: &rng)
        // An unclosed block (the teacher ran out of tokens) has no answer; nothing after it is shown.
        out.tokens = cut.closed ? TracedTokens.render(steps: shown, answer: cut.answer, format: format) : []
        if !cut.closed, let shown { out.tokens = [format.open] + shown.flatMap { $0 + [format.stepEnd] } }
        let hidden = out.tokens.count - cut.answer.count
        if !response.tokenLogprobs.isEmpty {
            let answerLogprobs = Array(response.tokenLogprobs[min(answerStart, response.tokenLogprobs.count)...])
            out.tokenLogprobs = [Double?](repeating: nil, count: max(0, hidden)) + (cut.closed ? answerLogprobs : [])
        }
        if !response.topLogprobs.isEmpty {
            let answerTop = Array(response.topLogprobs[min(answerStart, response.topLogprobs.count)...])
            out.topLogprobs = [[TokenLogprob]](repeating: [], count: max(0, hidden)) + (cut.closed ? answerTop : [])
        }
        return out
    }
}
