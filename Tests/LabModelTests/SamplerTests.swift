// The sampler against the full-sequence forward: KV-cached decode sees the same distributions,
// greedy picks the argmax, filters keep only what they promise, and seeds fix the output.
import XCTest

@testable import LabCore
@testable import LabModel

final class SamplerTests: XCTestCase {
    func model(seed: UInt64 = 11) throws -> GPT {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: 23, contextLength: 16, width: 32, layers: 2, heads: 4), seed: seed)
        // Sharpen the random init so that distributions are far from uniform.
        var rng = LabRNG(seed: seed, stream: "perturb")
        for i in 0..<gpt.parameters.count { gpt.parameters[i] += Float(rng.normal() * 0.3) }
        return gpt
    }

    /// Log-softmax of the full forward at every position of `tokens`.
    func fullLogprobs(_ gpt: GPT, _ tokens: [Int32]) throws -> [[Float]] {
        let V = gpt.config.vocabularySize
        let logits = try gpt.forward(tokens: tokens, batch: 1, length: tokens.count)
        return (0..<tokens.count).map { t in
            var row = [Float](repeating: 0, count: V)
            row.withUnsafeMutableBufferPointer {
                Softmax.logProbabilities(logits.baseAddress! + t * V, count: V, temperature: 1, into: $0.baseAddress!)
            }
            return row
        }
    }

    func testKVCacheDecodeMatchesFullForward() throws {
        try Parallel.withWorkers(2) {
            let gpt = try model()
            let prompts: [[Int32]] = [[3, 7, 1], [5], [9, 9, 2, 4, 8, 1]]
            var seen: [[[Float]]] = Array(repeating: [], count: prompts.count)
            let outs = try Sampler(model: gpt).generate(
                prompts: prompts, maxNewTokens: 8, options: SamplingOptions(temperature: 1), seed: 5
            ) { i, step, lp in
                XCTAssertEqual(step, seen[i].count)
                seen[i].append(Array(lp))
            }
            for (i, p) in prompts.enumerated() {
                XCTAssertEqual(outs[i].count, 8)
                let full = try fullLogprobs(gpt, p + outs[i])
                for step in 0..<outs[i].count {
                    let ratio = maxToleranceRatio(seen[i][step], full[p.count - 1 + step], atol: 1e-4, rtol: 1e-4)
                    XCTAssertLessThanOrEqual(ratio, 1, "sequence \(i) step \(step)")
                }
            }
        }
    }

    func testGreedyIsArgmaxAndStopsAtContext() throws {
        let gpt = try model()
        let prompt: [Int32] = [1, 2, 3]
        let out = try Sampler(model: gpt).generate(
            prompts: [prompt], maxNewTokens: 100, options: SamplingOptions(temperature: 0), seed: 0)[0]
        // The last context position still predicts one more token.
        XCTAssertEqual(out.count, gpt.config.contextLength - prompt.count + 1, "generation stops at the context length")
        let full = try fullLogprobs(gpt, prompt + out.dropLast())
        for (step, token) in out.enumerated() {
            let row = full[prompt.count - 1 + step]
            XCTAssertEqual(Int(token), row.indices.max { row[$0] < row[$1] }!)
        }
    }

    func testSeedsFixOutputsAndSequencesAreIndependentOfTheBatch() throws {
        let gpt = try model()
        let s = Sampler(model: gpt)
        let a = try s.generate(
            prompts: [[1], [2], [3]], maxNewTokens: 10, options: SamplingOptions(temperature: 1), seed: 42)
        let b = try s.generate(
            prompts: [[1], [2], [3]], maxNewTokens: 10, options: SamplingOptions(temperature: 1), seed: 42)
        let c = try s.generate(
            prompts: [[1], [2], [3]], maxNewTokens: 10, options: SamplingOptions(temperature: 1), seed: 43)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let alone = try s.generate(prompts: [[1]], maxNewTokens: 10, options: SamplingOptions(temperature: 1), seed: 42)
        XCTAssertEqual(alone[0], a[0])
    }

    func testTopKTopPAndLogitBias() throws {
        let gpt = try model()
        let s = Sampler(model: gpt)
        let prompt: [Int32] = [4, 4]
        let full = try fullLogprobs(gpt, prompt)[1]
        let ranked = full.indices.sorted { full[$0] > full[$1] }
        // top-k = 3: every first token over many seeds is among the 3 most likely.
        var firsts = Set<Int32>()
        for seed in 0..<200 {
            firsts.insert(
                try s.generate(
                    prompts: [prompt], maxNewTokens: 1, options: SamplingOptions(temperature: 1, topK: 3),
                    seed: UInt64(seed))[0][0])
        }
        XCTAssertTrue(firsts.isSubset(of: Set(ranked.prefix(3).map(Int32.init))), "\(firsts) vs \(ranked.prefix(3))")
        XCTAssertGreaterThan(firsts.count, 1)
        // top-p: the nucleus is the smallest prefix of the ranking reaching p.
        var cum: Float = 0
        var nucleus = 0
        while cum < 0.5 {
            cum += exp(full[ranked[nucleus]])
            nucleus += 1
        }
        for seed in 0..<100 {
            let t = try s.generate(
                prompts: [prompt], maxNewTokens: 1, options: SamplingOptions(temperature: 1, topP: 0.5),
                seed: UInt64(seed))[0][0]
            XCTAssertTrue(ranked.prefix(nucleus).contains(Int(t)))
        }
        // A large bias on the least likely token makes it the greedy choice.
        let least = ranked.last!
        let biased = try s.generate(
            prompts: [prompt], maxNewTokens: 1, options: SamplingOptions(temperature: 0, logitBias: [least: 100]),
            seed: 0)[0][0]
        XCTAssertEqual(Int(biased), least)
    }

    func testBadOptionsAreRefusedWithTheKey() throws {
        let gpt = try model()
        let s = Sampler(model: gpt)
        XCTAssertThrowsError(
            try s.generate(prompts: [[1]], maxNewTokens: 1, options: SamplingOptions(topK: 0), seed: 0)
        ) {
            XCTAssertTrue("\($0)".contains("top_k"))
        }
        XCTAssertThrowsError(
            try s.generate(prompts: [[1]], maxNewTokens: 1, options: SamplingOptions(topP: 1.5), seed: 0)
        ) {
            XCTAssertTrue("\($0)".contains("top_p"))
        }
        XCTAssertThrowsError(try s.generate(prompts: [[99]], maxNewTokens: 1, options: SamplingOptions(), seed: 0))
    }

    /// A decode step that runs each row piece of the batch through the whole stack on one worker gives
    /// the logits of the step whose products, attention and kernels are each a parallel region, bit for
    /// bit, at one and two workers. Batch 32 at width 128 is a shape where every product of a block is
    /// cut into row pieces; batch 16 at width 256 (cut by columns) keeps the per-product path.
    func testRowPieceDecodeStepMatchesThePerProductStepBitForBit() throws {
        XCTAssertTrue(Sampler.rowPiecesApply(B: 32, C: 128))
        XCTAssertFalse(Sampler.rowPiecesApply(B: 16, C: 256))
        XCTAssertFalse(Sampler.rowPiecesApply(B: 32, C: 64))
        let cfg = GPTConfig(vocabularySize: 23, contextLength: 6, width: 128, layers: 2, heads: 4)
        let gpt = try GPT(config: cfg, seed: 3)
        var perturb = LabRNG(seed: 3, stream: "perturb")
        for i in 0..<gpt.parameters.count { gpt.parameters[i] += Float(perturb.normal() * 0.3) }
        let sampler = Sampler(model: gpt)
        let B = 32, V = cfg.vocabularySize, T = cfg.contextLength
        for workers in [1, 2] {
            try Parallel.withWorkers(workers) {
                let caches = (0..<2).map { _ in KVCache(layers: 2, B: B, T: T, C: 128, heads: 4) }
                let states = [true, false].map {
                    Sampler.DecodeState(B: B, C: 128, V: V, T: T, workers: workers, rowPieces: $0)
                }
                var rng = LabRNG(seed: 9)
                for pos in 0..<T {
                    let tokens = (0..<B).map { _ in Int32(rng.int(below: V)) }
                    let logits = try (0..<2).map { k in
                        try sampler.step(tokens: tokens, position: pos, cache: caches[k], state: states[k])
                        return (0..<(B * V)).map { states[k].logits[$0].bitPattern }
                    }
                    XCTAssertEqual(logits[0], logits[1], "position \(pos), \(workers) worker(s)")
                }
            }
        }
    }

    /// `decodeAttention` (scores 16 positions at a time from blocked keys, the output in registers)
    /// against the loop of `Vec.dot` and `Vec.axpy` over keys stored row by row, bit for bit, over head
    /// sizes with and without a 16-float tail and position counts around its blocks of 16.
    func testDecodeAttentionMatchesDotAndAxpyBitForBit() {
        var rng = LabRNG(seed: 21)
        for hs in [8, 16, 24, 32, 48, 64] {
            for n in [1, 3, 15, 16, 17, 31, 40] {
                let q = (0..<hs).map { _ in Float(rng.normal()) }
                let keys = (0..<(n * hs)).map { _ in Float(rng.normal()) }
                let values = (0..<(n * hs)).map { _ in Float(rng.normal()) }
                let scale = 1 / Float(hs).squareRoot()
                var expected = [Float](repeating: 0, count: hs), scores = [Float](repeating: 0, count: n)
                for j in 0..<n { scores[j] = Vec.dot(hs, q, Array(keys[(j * hs)...])) * scale }
                maskedSoftmaxRow(&scores, valid: n, length: n)
                for j in 0..<n { Vec.axpy(hs, scores[j], Array(values[(j * hs)...]), &expected) }
                let stride = (n + 15) / 16 * 16
                var cached = [Float](repeating: 0, count: hs * stride)
                for j in 0..<n {
                    for d in 0..<hs { cached[decodeKeyIndex(component: d, position: j, hs: hs)] = keys[j * hs + d] }
                }
                var got = [Float](repeating: .nan, count: hs), scratch = [Float](repeating: 0, count: stride)
                decodeAttention(
                    out: &got, q: q, keys: cached, values: values, n: n, hs: hs, scale: scale, scores: &scratch)
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "hs \(hs), n \(n)")
            }
        }
    }
}
