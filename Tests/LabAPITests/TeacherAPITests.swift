// Teacher API tests: every surface of the GPT-backed teacher agrees with a plain forward pass, a batched
// call answers each query as it would be answered alone, completions follow the sampler's own greedy
// decoding and the client's seed, stop tokens and per-query lengths; and the bigram teacher's semantics.
import Foundation
import LabAPI
import LabCore
import LabDefences
import LabModel
import TestSupport
import XCTest

final class TeacherAPITests: XCTestCase {
    func logSoftmax(_ logits: UnsafeBufferPointer<Float>, row t: Int, V: Int) -> [Double] {
        let z = (0..<V).map { Double(logits[t * V + $0]) }
        let m = z.max()!
        let lse = m + log(z.map { exp($0 - m) }.reduce(0, +))
        return z.map { $0 - lse }
    }

    func makeAPI(_ teacher: any TeacherAPI, defences: DefencePipeline = .none) throws -> DefendedAPI {
        let ledger = Ledger()
        try ledger.open("a")
        return DefendedAPI(teacher: teacher, defences: defences, ledger: ledger, seed: 9)
    }

    func testScoringSurfacesMatchAPlainForwardPass() throws {
        let gpt = try Fixture.tinyGPT()
        let api = try makeAPI(GPTTeacher(model: gpt))
        let V = gpt.config.vocabularySize
        let prompt: [Int32] = [3, 1, 4, 1, 5, 9, 2]
        let rs = try api.call([.distribution(prompt), .echo(prompt, logprobs: 3), .label(prompt)], account: "a")
        let logits = try gpt.forward(tokens: prompt, batch: 1, length: prompt.count)
        let rows = (0..<prompt.count).map { logSoftmax(UnsafeBufferPointer(logits), row: $0, V: V) }
        // distribution: all V entries, sorted, equal to the last position's log-softmax.
        XCTAssertEqual(rs[0].distribution.count, V)
        for e in rs[0].distribution { XCTAssertEqual(e.logprob, rows.last![Int(e.token)], accuracy: 1e-5) }
        XCTAssertEqual(rs[0].distribution.map(\.logprob), rs[0].distribution.map(\.logprob).sorted(by: >))
        // echo: the logprob of prompt token t from row t − 1, with the top 3 there.
        XCTAssertEqual(rs[1].tokenLogprobs.count, prompt.count - 1)
        for t in 1..<prompt.count {
            XCTAssertEqual(rs[1].tokenLogprobs[t - 1]!, rows[t - 1][Int(prompt[t])], accuracy: 1e-5)
            XCTAssertEqual(
                rs[1].topLogprobs[t - 1].map { Int($0.token) },
                Array(rows[t - 1].indices.sorted { rows[t - 1][$0] > rows[t - 1][$1] }.prefix(3)))
        }
        // label: the argmax of the last position.
        XCTAssertEqual(rs[2].tokens, [Int32(Fixture.argmax(rows.last!))])
        XCTAssertEqual(rs.map(\.usage.outputTokens), [1, 0, 1])
    }

    func testABatchedCallAnswersEachQueryAsIfAlone() throws {
        let gpt = try Fixture.tinyGPT()
        let batched = try makeAPI(GPTTeacher(model: gpt, maxBatch: 3))
        let single = try makeAPI(GPTTeacher(model: gpt))
        let queries: [Query] = [
            .completion([1, 2, 3], maxNewTokens: 9, logprobs: 2, seed: 11),
            .distribution([5, 6]),
            .completion([7], maxNewTokens: 4, temperature: 0.7, topP: 0.9, seed: 12),
            .echo([2, 4, 6, 8, 10], logprobs: 2),
            .label([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
            .completion([4, 4], maxNewTokens: 12, stopToken: 3, seed: 13),
        ]
        let together = try batched.call(queries, account: "a")
        for (q, r) in zip(queries, together) {
            let alone = try single.call(q, account: "a")
            XCTAssertEqual(r.tokens, alone.tokens, "\(q.kind)")
            XCTAssertEqual(r.distribution.map(\.token), alone.distribution.map(\.token))
            XCTAssertLessThan(
                maxToleranceRatio(
                    r.distribution.map(\.logprob), alone.distribution.map(\.logprob), atol: 1e-5, rtol: 1e-5), 1)
            XCTAssertLessThan(
                maxToleranceRatio(r.tokenLogprobs.map { $0! }, alone.tokenLogprobs.map { $0! }, atol: 1e-5, rtol: 1e-5),
                1)
            XCTAssertEqual(r.topLogprobs.map { $0.map(\.token) }, alone.topLogprobs.map { $0.map(\.token) })
            XCTAssertEqual(r.usage, alone.usage)
        }
        XCTAssertEqual(together[0].tokens.count, 9)
        XCTAssertEqual(together[0].topLogprobs.count, 9)
        XCTAssertEqual(together[2].tokens.count, 4)
        XCTAssertTrue(together[2].tokenLogprobs.isEmpty)
        let stopped = together[5].tokens
        XCTAssertTrue(stopped.count == 12 || stopped.last == 3)
        XCTAssertFalse(stopped.dropLast().contains(3))
    }

    func testGreedyCompletionMatchesTheSamplersOwnDecoding() throws {
        let gpt = try Fixture.tinyGPT()
        let api = try makeAPI(GPTTeacher(model: gpt))
        let prompts: [[Int32]] = [[1], [2, 3, 4], [5, 6]]
        let ours = try api.call(prompts.map { .completion($0, maxNewTokens: 8, temperature: 0) }, account: "a")
        let theirs = try Sampler(model: gpt).generate(
            prompts: prompts, maxNewTokens: 8, options: SamplingOptions(temperature: 0), seed: 0)
        XCTAssertEqual(ours.map(\.tokens), theirs)
    }

    func testClientSeedFixesTheTextAndServerSeedVariesIt() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 20, scale: 1, seed: 4)
        let api = try makeAPI(teacher)
        let q = Query.completion([1], maxNewTokens: 20, seed: 77)
        XCTAssertEqual(try api.call(q, account: "a").tokens, try api.call(q, account: "a").tokens)
        // Without a client seed each call draws from the server's next stream.
        var unseeded = q
        unseeded.seed = nil
        XCTAssertNotEqual(try api.call(unseeded, account: "a").tokens, try api.call(unseeded, account: "a").tokens)
    }

    func testCompletionsAreDrawnFromTheServedDistribution() throws {
        // With label-only in front, sampling at any temperature can only return the label: greedy text.
        let teacher = try BigramTeacher.random(vocabularySize: 10, scale: 1, seed: 5)
        let defended = try makeAPI(teacher, defences: DefencePipeline([LabelOnly()]))
        let open = try makeAPI(teacher)
        let hot = try defended.call(
            .completion([2], maxNewTokens: 15, temperature: 1.5, logprobs: 1, seed: 3), account: "a")
        let greedy = try open.call(.completion([2], maxNewTokens: 15, temperature: 0), account: "a")
        XCTAssertEqual(hot.tokens, greedy.tokens)
        XCTAssertTrue(hot.tokenLogprobs.allSatisfy { $0 == 0 })
        XCTAssertEqual(hot.topLogprobs.map(\.count), [Int](repeating: 1, count: 15))
    }

    func testBigramTeacherValidatesItsTable() {
        XCTAssertNotNil(Fixture.error { try BigramTeacher(table: [1, 2, 3], vocabularySize: 2) })
        XCTAssertNotNil(Fixture.error { try BigramTeacher(table: [1, .nan, 3, 4], vocabularySize: 2) })
    }
}
