// LogitLeak harvest: buys n next-token logit vectors through a DefendedAPI in one of three modes (full
// distributions; top-k logprobs plus logit bias, Carlini et al. 2024 §5; top-k alone) and stacks them.
// Not the analysis (LogitLeak+Spectrum.swift); every query goes through the API's policy, defences and ledger.
import Foundation
import LabAPI
import LabCore

extension LogitLeak {
    /// n random prompts from `options.seed`, their logit vectors recovered per `options.mode`, centred and
    /// stacked into (n, V). Throws `APIRefusal` as the API does (nothing of a refused call is charged;
    /// calls before it were), `LabError.invalidConfig` for options the teacher cannot serve.
    public static func harvest(api: DefendedAPI, account: String, options: LogitLeakOptions) throws -> LogitHarvest {
        let V = api.teacher.vocabularySize, n = options.vectors
        try options.validate(vocabularySize: V, contextLength: api.teacher.contextLength)
        var rng = LabRNG(seed: options.seed, stream: "logit-leak-prompts")
        let prompts = (0..<n).map { _ in (0..<options.promptLength).map { _ in Int32(rng.int(below: V)) } }

        // Every query of the harvest, in order, with the row (vector) its answer fills.
        var queries: [Query] = []
        var owners: [Int] = []
        switch options.mode {
        case .full:
            queries = prompts.map { Query.distribution($0) }
            owners = Array(0..<n)
        case .topK:
            queries = prompts.map { Query.completion($0, maxNewTokens: 1, temperature: 0, logprobs: options.topK) }
            owners = Array(0..<n)
        case .topKBias:
            let blocks = biasBlocks(vocabularySize: V, reference: options.referenceToken, perQuery: options.topK - 1)
            for (i, prompt) in prompts.enumerated() {
                for block in blocks {
                    var bias: [Int: Float] = [options.referenceToken: options.bias]
                    for t in block { bias[t] = options.bias }
                    queries.append(
                        .completion(prompt, maxNewTokens: 1, temperature: 0, logprobs: options.topK, logitBias: bias))
                    owners.append(i)
                }
            }
        }

        // NaN marks an entry no answer has determined yet.
        var rows = [[Double]](repeating: [Double](repeating: .nan, count: V), count: n)
        var usage = Usage.zero
        var start = 0
        while start < queries.count {
            let end = min(queries.count, start + options.batchSize)
            let responses = try api.call(Array(queries[start..<end]), account: account)
            for (j, response) in responses.enumerated() {
                let q = start + j, i = owners[q]
                usage = usage + response.usage
                switch options.mode {
                case .full:
                    for e in response.distribution { rows[i][Int(e.token)] = e.logprob }
                case .topK:
                    for e in response.topLogprobs.first ?? [] { rows[i][Int(e.token)] = e.logprob }
                case .topKBias:
                    record(
                        response.topLogprobs.first ?? [], bias: queries[q].logitBias, reference: options.referenceToken,
                        into: &rows[i])
                }
            }
            start = end
        }

        var unrecovered = 0
        var matrix: [Double] = []
        matrix.reserveCapacity(n * V)
        for i in 0..<n {
            unrecovered += fillAndCentre(&rows[i])
            matrix += rows[i]
        }
        return LogitHarvest(
            mode: options.mode, vectors: n, vocabularySize: V, matrix: matrix, unrecoveredEntries: unrecovered,
            usage: usage)
    }

    /// The tokens other than `reference`, in blocks of `perQuery` = k − 1: one topk-bias query each, so a
    /// vector costs ⌈(V − 1)/(k − 1)⌉ queries.
    static func biasBlocks(vocabularySize V: Int, reference: Int, perQuery: Int) -> [[Int]] {
        let others = (0..<V).filter { $0 != reference }
        return stride(from: 0, to: others.count, by: perQuery).map {
            Array(others[$0..<min(others.count, $0 + perQuery)])
        }
    }

    /// One topk-bias answer: every biased token reported with a finite logprob gets logprob − logprob(R),
    /// its logit relative to the reference (the equal biases cancel); R itself is 0. A biased token that
    /// missed the report (bias too small, a top-k defence, a probability rounded to 0) stays undetermined,
    /// as does the whole block when R is missing.
    static func record(_ top: [TokenLogprob], bias: [Int: Float], reference: Int, into row: inout [Double]) {
        var reported: [Int: Double] = [:]
        for e in top where e.logprob.isFinite { reported[Int(e.token)] = e.logprob }
        guard let lr = reported[reference] else { return }
        row[reference] = 0
        for t in bias.keys where t != reference {
            if let l = reported[t] { row[t] = l - lr }
        }
    }

    /// Fills every undetermined or −∞ entry of `row` with its smallest finite entry (for a top-k report the
    /// k-th logprob is an upper bound on every unreported one; it is the attacker's best single guess), then
    /// subtracts the row mean. Returns the number of entries filled. A row with nothing finite becomes 0.
    static func fillAndCentre(_ row: inout [Double]) -> Int {
        var floor = Double.infinity
        for x in row where x.isFinite && x < floor { floor = x }
        if !floor.isFinite { floor = 0 }
        var filled = 0
        for i in row.indices where !row[i].isFinite {
            row[i] = floor
            filled += 1
        }
        let mean = row.reduce(0, +) / Double(row.count)
        for i in row.indices { row[i] -= mean }
        return filled
    }
}
