// Serving: how any TeacherAPI answers a batch of admitted queries under a defence pipeline — one
// batched scoring pass for echo, distribution and label queries, one batched decode for completions,
// the pipeline on every distribution, and the draws. Not policy or billing: see DefendedAPI and Ledger.
import Foundation
import LabCore
import LabModel

extension TeacherAPI {
    /// Answers `queries` (already validated and admitted) with `defences` on every distribution the
    /// teacher serves. Each response's `usage` carries its tokens and FLOPs (its cost is the ledger's).
    ///
    /// Randomness: `seed` is the server's for this call; each query gets its own stream of it, and each
    /// of its positions its own row seed, so noise at one position does not depend on what else was in
    /// the batch. A completion draws with `Query.seed` when the client gave one, so the same query
    /// and seed give the same text in any batch (under defences without noise).
    public func answer(_ queries: [Query], defences: DefencePipeline, seed: UInt64) throws -> [Response] {
        var server = LabRNG(seed: seed, stream: "serve")
        let querySeeds = queries.map { _ in server.next() }
        var responses = queries.map { Response(kind: $0.kind) }
        try answerScoring(queries, seeds: querySeeds, defences: defences, into: &responses)
        try answerCompletions(queries, seeds: querySeeds, defences: defences, into: &responses)
        return responses
    }

    /// echo, distribution and label: every prompt in one `logits` call, every row through the pipeline once.
    func answerScoring(_ queries: [Query], seeds: [UInt64], defences: DefencePipeline, into responses: inout [Response])
        throws
    {
        let scoring = queries.indices.filter { queries[$0].kind != .completion }
        guard !scoring.isEmpty else { return }
        let V = vocabularySize
        let logits = try self.logits(prompts: scoring.map { queries[$0].prompt })
        var rows: [DistributionRow] = []
        var owners: [(query: Int, position: Int)] = []
        for (j, q) in scoring.enumerated() {
            let query = queries[q], n = query.prompt.count
            // Echo reports the positions that predict prompt tokens 1..<n; the others the next token.
            let positions = query.kind == .echo ? 0..<(n - 1) : (n - 1)..<n
            for t in positions {
                let p = logits[j].withUnsafeBufferPointer {
                    ServingMath.probabilities($0.baseAddress! + t * V, V: V, bias: query.logitBias)
                }
                rows.append(
                    DistributionRow(
                        probabilities: p, context: query.prompt[0...t], seed: ServingMath.rowSeed(seeds[q], position: t)
                    ))
                owners.append((q, t))
            }
        }
        try defences.apply(to: &rows)
        for (r, owner) in owners.enumerated() {
            let q = owner.query, row = rows[r]
            switch queries[q].kind {
            case .distribution:
                responses[q].distribution = row.rankedReported.map {
                    TokenLogprob(token: Int32($0), logprob: log(row.values[$0]))
                }
            case .label:
                responses[q].tokens = row.top.map { [Int32($0)] } ?? []
            case .echo:
                responses[q].tokenLogprobs.append(
                    ServingMath.reportedLogprob(row, token: Int(queries[q].prompt[owner.position + 1])))
                if let k = queries[q].logprobs, k > 0 { responses[q].topLogprobs.append(ServingMath.top(row, k)) }
            case .completion:
                break
            }
        }
        for q in scoring {
            let n = queries[q].prompt.count
            responses[q].usage = Usage(
                queries: 1, inputTokens: n, outputTokens: queries[q].maxOutputTokens,
                flops: inferenceFlops(positions: n))
        }
    }

    /// Completions: one decode over all of them; at each step the drawing rows go through the pipeline
    /// together, then each query draws from its served distribution with its own temperature and top-p.
    func answerCompletions(
        _ queries: [Query], seeds: [UInt64], defences: DefencePipeline, into responses: inout [Response]
    ) throws {
        let completing = queries.indices.filter { queries[$0].kind == .completion }
        guard !completing.isEmpty else { return }
        let V = vocabularySize
        var draws = completing.map { LabRNG(seed: queries[$0].seed ?? seeds[$0], stream: "completion") }
        var produced = [Int](repeating: 0, count: completing.count)
        var finished = [Bool](repeating: false, count: completing.count)
        let longest = completing.map { queries[$0].maxNewTokens }.max() ?? 0
        let order = UnsafeMutablePointer<Int32>.allocate(capacity: V)
        let logprobs = UnsafeMutablePointer<Float>.allocate(capacity: V)
        defer {
            order.deallocate()
            logprobs.deallocate()
        }
        let outputs = try decode(prompts: completing.map { queries[$0].prompt }, maxNewTokens: longest) {
            sequences, contexts, logits in
            // Sequences past their own length or stop token still ride along in the batch: they get a
            // filler token that is cut off below, and no pipeline work.
            var chosen = [Int32](repeating: 0, count: sequences.count)
            let live = sequences.indices.filter { !finished[sequences[$0]] }
            var rows: [DistributionRow] = live.map { n in
                let j = sequences[n], q = completing[j]
                let p = ServingMath.probabilities(logits[n], V: V, bias: queries[q].logitBias)
                return DistributionRow(
                    probabilities: p, context: contexts[n][...],
                    seed: ServingMath.rowSeed(seeds[q], position: contexts[n].count - 1))
            }
            try defences.apply(to: &rows)
            for (r, n) in live.enumerated() {
                let j = sequences[n], q = completing[j], query = queries[q]
                let served = rows[r].served ?? rows[r].original
                let token = ServingMath.draw(
                    served, temperature: query.temperature, topP: query.topP, rng: &draws[j], order: order,
                    logprobs: logprobs)
                chosen[n] = Int32(token)
                if let k = query.logprobs {
                    responses[q].tokenLogprobs.append(ServingMath.reportedLogprob(rows[r], token: token))
                    if k > 0 { responses[q].topLogprobs.append(ServingMath.top(rows[r], k)) }
                }
                produced[j] += 1
                if produced[j] >= query.maxNewTokens || Int32(token) == query.stopToken { finished[j] = true }
            }
            return chosen
        }
        for (j, q) in completing.enumerated() {
            let n = queries[q].prompt.count
            responses[q].tokens = Array(outputs[j].prefix(produced[j]))
            // The last generated token is returned, never fed back: n + produced − 1 positions ran.
            responses[q].usage = Usage(
                queries: 1, inputTokens: n, outputTokens: produced[j],
                flops: inferenceFlops(positions: n + produced[j] - 1))
        }
    }
}

/// The arithmetic of serving, shared by the scoring and completion paths.
package enum ServingMath {
    /// softmax(logits + bias) in Double.
    package static func probabilities(_ logits: UnsafePointer<Float>, V: Int, bias: [Int: Float]) -> [Double] {
        [Double](unsafeUninitializedCapacity: V) { p, count in
            for v in 0..<V { p[v] = Double(logits[v]) }
            for (t, b) in bias { p[t] += Double(b) }
            Softmax.probabilities(inPlace: p.baseAddress!, count: V)
            count = V
        }
    }

    static func probabilities(_ logits: UnsafeMutablePointer<Float>, V: Int, bias: [Int: Float]) -> [Double] {
        probabilities(UnsafePointer(logits), V: V, bias: bias)
    }

    /// A seed for position `t` of the query whose stream is `querySeed`.
    static func rowSeed(_ querySeed: UInt64, position t: Int) -> UInt64 {
        var rng = LabRNG(seed: querySeed &+ UInt64(t) &* 0x9E37_79B9_7F4A_7C15)
        return rng.next()
    }

    /// log of the reported value of `token`, or nil when a defence left it out of the report.
    static func reportedLogprob(_ row: DistributionRow, token: Int) -> Double? {
        row.isReported(token) ? log(row.values[token]) : nil
    }

    /// The k largest reported entries as (token, logprob), most likely first.
    static func top(_ row: DistributionRow, _ k: Int) -> [TokenLogprob] {
        row.rankedReported.prefix(k).map { TokenLogprob(token: Int32($0), logprob: log(row.values[$0])) }
    }

    /// One draw from the served distribution `q` at `temperature` (0: argmax, ties to the lowest id) and
    /// nucleus `topP`, with the Sampler's own arithmetic (`Softmax.logProbabilities`, `Sampling.draw`).
    static func draw(
        _ q: [Double], temperature: Float, topP: Float?, rng: inout LabRNG,
        order: UnsafeMutablePointer<Int32>, logprobs: UnsafeMutablePointer<Float>
    ) -> Int {
        if temperature == 0 { return RowMath.argmax(q) }
        let V = q.count
        let logq = q.map { Float(log($0)) }
        logq.withUnsafeBufferPointer {
            Softmax.logProbabilities($0.baseAddress!, count: V, temperature: temperature, into: logprobs)
        }
        return Sampling.draw(logProbabilities: logprobs, V: V, topK: nil, topP: topP, order: order, rng: &rng)
    }
}
