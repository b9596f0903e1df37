// HTTPTeacher against a live server: the distributions it reads over the wire equal the checkpoint's own
// (no defences configured), decoding draws through the caller's chooser, and 429s are waited out.
import Foundation
import LabAPI
import LabCore
import LabData
import LabModel
import LabService
import XCTest

final class HTTPTeacherTests: XCTestCase {
    func testServedDistributionsEqualTheCheckpointsAndRateLimitsAreWaitedOut() throws {
        // 10 requests per second after a burst of 2: the client must wait for most of them.
        let server = try ServerHarness(
            "wire", extra: "gateway: {rate_limit: {requests_per_minute: 600, burst: 2, queries_per_day: 100000}}")
        let key = try server.key("wire")
        try server.start()
        defer { server.stop() }
        let local = GPTTeacher(try LanguageModel.load(from: server.scratch.url.appendingPathComponent("ck")))
        let remote = try HTTPTeacher(
            endpoint: URL(string: server.base)!, apiKey: key, allPositions: true, maxPromptsPerRequest: 2)
        XCTAssertEqual(remote.vocabularySize, local.vocabularySize)
        XCTAssertEqual(remote.contextLength, local.contextLength)
        XCTAssertEqual(
            remote.inferenceFlops(positions: 7), local.inferenceFlops(positions: 7),
            accuracy: 1e-6 * local.inferenceFlops(positions: 7))

        let prompts: [[Int32]] = [[1, 2, 3], [4, 5], [6], [2, 2, 2, 2]]
        let V = local.vocabularySize
        let mine = try local.logits(prompts: prompts), theirs = try remote.logits(prompts: prompts)
        for (p, (a, b)) in zip(prompts, zip(mine, theirs)) {
            XCTAssertEqual(b.count, p.count * V)
            for t in 0..<p.count {
                // Served values are log-softmax; compare as probabilities.
                let pa = softmax(Array(a[(t * V)..<((t + 1) * V)])), pb = softmax(Array(b[(t * V)..<((t + 1) * V)]))
                for v in 0..<V { XCTAssertEqual(pa[v], pb[v], accuracy: 1e-5, "prompt \(p) position \(t) token \(v)") }
            }
        }
        XCTAssertGreaterThan(
            remote.rateLimited, 0, "the burst of 2 was exceeded, so some requests were answered 429 and retried")
        XCTAssertLessThanOrEqual(
            remote.rateLimited, remote.requests,
            "each 429 names a time at which the whole request fits: one wait per request at most")

        let generated = try remote.decode(prompts: [[1, 2], [3]], maxNewTokens: 3) { sequences, contexts, rows in
            XCTAssertEqual(sequences, [0, 1])
            return rows.map { row in Int32((0..<V).max { row[$0] < row[$1] } ?? 0) }
        }
        let greedy = try local.decode(prompts: [[1, 2], [3]], maxNewTokens: 3) { _, _, rows in
            rows.map { row in Int32((0..<V).max { row[$0] < row[$1] } ?? 0) }
        }
        XCTAssertEqual(generated, greedy, "greedy decoding over the wire matches the checkpoint")
    }

    func softmax(_ x: [Float]) -> [Double] {
        let m = Double(x.max() ?? 0)
        let e = x.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}
