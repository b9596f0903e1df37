// Streaming: `stream: true` answers with server-sent events whose chunks, joined, are exactly the plain answer
// of the same seeded request — text, tokens, logprobs and finish reason — with the usage block last when asked
// for, `data: [DONE]` at the end, and one charge in the ledger per request, streamed or not.
import Foundation
import XCTest

final class ServiceStreamTests: XCTestCase {
    func testAStreamIsThePlainAnswerCutIntoTokens() async throws {
        let server = try ServerHarness("stream", extra: "gateway: {rate_limit: null}")
        let key = try server.key("reader")
        try server.start()
        defer { server.stop() }

        for extra: [String: Any] in [
            ["logprobs": 2, "temperature": 0.9, "seed": 11, "n": 2],
            ["echo": true, "logprobs": 1, "temperature": 0.7, "seed": 3],
            ["stop": ["b"], "temperature": 1.0, "seed": 5],
        ] {
            let plain = try await server.complete(key: key, prompt: "abcab", maxTokens: 6, extra: extra)
            XCTAssertEqual(plain.status, 200)
            let choices = plain.json["choices"] as? [[String: Any]] ?? []
            var streamed = extra
            streamed["stream"] = true
            streamed["stream_options"] = ["include_usage": true]
            let reply = try await server.complete(key: key, prompt: "abcab", maxTokens: 6, extra: streamed)
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.headers["content-type"], "text/event-stream")
            let events = String(decoding: reply.body, as: UTF8.self).components(separatedBy: "\n\n").filter {
                !$0.isEmpty
            }
            XCTAssertEqual(events.last, "data: [DONE]", "\(extra)")
            let chunks = try events.dropLast().map { event -> [String: Any] in
                XCTAssertTrue(event.hasPrefix("data: "), event)
                let object = try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))
                return try XCTUnwrap(object as? [String: Any])
            }
            let usage = try XCTUnwrap(chunks.last?["usage"] as? [String: Any], "usage chunk last")
            XCTAssertEqual(
                usage["total_tokens"] as? Int, (plain.json["usage"] as? [String: Any])?["total_tokens"] as? Int)
            for (index, choice) in choices.enumerated() {
                let mine = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }.filter {
                    $0["index"] as? Int == index
                }
                XCTAssertEqual(mine.map { $0["text"] as? String ?? "" }.joined(), choice["text"] as? String, "\(extra)")
                let finishes = mine.compactMap { $0["finish_reason"] as? String }
                XCTAssertEqual(finishes, [choice["finish_reason"] as? String ?? "?"], "\(extra)")
                XCTAssertNotNil(mine.last?["finish_reason"] as? String, "the finish reason is in the last chunk")
                if let logprobs = choice["logprobs"] as? [String: Any] {
                    let tokens = mine.flatMap { (($0["logprobs"] as? [String: Any])?["tokens"] as? [String]) ?? [] }
                    let values = mine.flatMap {
                        (($0["logprobs"] as? [String: Any])?["token_logprobs"] as? [Any]) ?? []
                    }
                    XCTAssertEqual(tokens, logprobs["tokens"] as? [String], "\(extra)")
                    XCTAssertEqual(values.count, (logprobs["token_logprobs"] as? [Any])?.count, "\(extra)")
                    // The same served rows, read the same way: the same numbers, offsets and top-k.
                    XCTAssertEqual(
                        values.map { $0 as? Double }, (logprobs["token_logprobs"] as? [Any])?.map { $0 as? Double })
                    for field in ["text_offset", "x_lab_token_ids"] {
                        let streamed = mine.flatMap { (($0["logprobs"] as? [String: Any])?[field] as? [Int]) ?? [] }
                        XCTAssertEqual(streamed, logprobs[field] as? [Int], "\(field) \(extra)")
                    }
                    // A null entry (the first echoed token has no context) stays nil on both sides.
                    let top = mine.flatMap { (($0["logprobs"] as? [String: Any])?["top_logprobs"] as? [Any]) ?? [] }
                    XCTAssertEqual(
                        top.map { $0 as? [String: Double] },
                        (logprobs["top_logprobs"] as? [Any])?.map { $0 as? [String: Double] }, "\(extra)")
                } else {
                    XCTAssertTrue(mine.allSatisfy { $0["logprobs"] is NSNull }, "no logprobs unless asked for")
                }
            }
        }
        XCTAssertEqual(try server.store.charges().count, 6, "each request charged once, streamed or not")
    }
}
