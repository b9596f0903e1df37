// Incremental streaming: a streamed completion's tokens leave as they are decoded, with their logprobs — the
// first event of a 1,000-token completion arrives long before the last — and its charge, reserved at max_tokens before the first
// event, is settled in the ledger to what was generated (a stop token ends it early).
import Foundation
import LabData
import LabModel
import XCTest

final class ServiceIncrementalStreamTests: XCTestCase {
    /// A 1-layer GPT with a context of 1,024 positions, trained two steps: long completions, quickly.
    static func longContextTeacher(to directory: URL) throws {
        let corpus = try CorpusSpec.markov(symbols: 12, order: 1).build()
        var training = TrainingConfig()
        training.steps = 2
        training.batchSize = 2
        training.sequenceLength = 32
        training.evalInterval = 0
        let (lm, _) = try LanguageModel.train(
            corpus: corpus, spec: nil,
            architecture: ModelArchitecture(contextLength: 1024, width: 16, layers: 1, heads: 2), training: training)
        try lm.save(to: directory)
    }

    /// Sends `body` to /v1/completions on a raw socket and returns each received piece with its arrival time.
    func post(_ body: String, key: String, port: Int) throws -> (sent: Date, pieces: [(Date, String)]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let sent = Date()
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var pieces: [(Date, String)] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            pieces.append((Date(), String(decoding: buffer[0..<n], as: UTF8.self)))
            if pieces.last?.1.contains("data: [DONE]") == true { break }
        }
        return (sent, pieces)
    }

    func testTokensLeaveAsTheyAreDecodedAndTheReservationIsSettled() throws {
        let scratch = ServiceScratch("incremental-ck")
        let checkpoint = scratch.url.appendingPathComponent("long")
        try Self.longContextTeacher(to: checkpoint)
        let server = try ServerHarness(
            "incremental", extra: "gateway: {rate_limit: null}", checkpoint: checkpoint.path)
        let key = try server.key("reader")
        try server.start()
        defer { server.stop() }

        let long =
            #"{"model": "tiny", "prompt": [1], "max_tokens": 1000, "stream": true, "temperature": 1, "seed": 1, "#
            + #""logprobs": 1}"#
        let (sent, pieces) = try post(long, key: key, port: server.port)
        let all = pieces.map(\.1).joined()
        XCTAssertTrue(all.hasPrefix("HTTP/1.1 200"), String(all.prefix(200)))
        XCTAssertTrue(all.contains("data: [DONE]"))
        let tokenEvents = all.components(separatedBy: "\n\n").filter {
            $0.contains("data: {") && $0.contains("\"finish_reason\":null")
        }
        XCTAssertEqual(tokenEvents.count, 1000, "one event per generated token")
        XCTAssertTrue(all.contains("\"finish_reason\":\"length\""))
        let first = try XCTUnwrap(pieces.first { $0.1.contains("\"finish_reason\":null") }?.0)
        let done = try XCTUnwrap(pieces.last?.0)
        let total = done.timeIntervalSince(sent), afterFirst = done.timeIntervalSince(first)
        XCTAssertGreaterThan(
            afterFirst, 0.5 * total,
            "the first token arrived \(first.timeIntervalSince(sent)) s after the request, the last \(total) s after: tokens leave as they are decoded, not after generation"
        )

        // A stop token ends decoding early: the usage chunk and the ledger row hold what was generated, not the
        // reservation of max_tokens.
        let stopped =
            #"{"model": "tiny", "prompt": [1], "max_tokens": 200, "stream": true, "temperature": 1, "seed": 2, "#
            + #""stop": ["b"], "stream_options": {"include_usage": true}}"#
        let reply = try post(stopped, key: key, port: server.port).pieces.map(\.1).joined()
        XCTAssertTrue(reply.contains("\"finish_reason\":\"stop\""), "the stop token was drawn before 200 tokens")
        let usageEvent = try XCTUnwrap(
            reply.components(separatedBy: "\n\n").first { $0.contains("\"usage\":{") }, "a usage chunk")
        // The body is chunked (Transfer-Encoding): the event starts after any chunk-size line.
        let json = try XCTUnwrap(usageEvent.range(of: "data: ").map { usageEvent[$0.upperBound...] })
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let usage = try XCTUnwrap(object["usage"] as? [String: Any])
        let completionTokens = try XCTUnwrap(usage["completion_tokens"] as? Int)
        XCTAssertLessThan(completionTokens, 200)
        let charges = try server.store.charges()
        XCTAssertEqual(charges.count, 2, "one ledger row per request")
        XCTAssertEqual(charges.last?.usage.outputTokens, completionTokens, "the reservation was settled")
        XCTAssertEqual(charges.first?.usage.outputTokens, 1000)
    }
}
