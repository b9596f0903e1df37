// Faults a client can cause — malformed JSON, invalid UTF-8, an oversize body, a slow client holding a
// connection, negative or huge max_tokens, unknown fields — each answered with a 4xx OpenAI error object
// while the server keeps serving; and the walls between accounts (usage, admin endpoints, bans).
import Foundation
import LabService
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

final class ServiceFaultTests: XCTestCase {
    static let extra = """
        gateway: {rate_limit: null}
        limits: {max_body_bytes: 4096, idle_timeout_seconds: 2}
        """

    /// After each fault, a valid request still gets 200.
    func assertStillServing(_ server: ServerHarness, key: String, file: StaticString = #filePath, line: UInt = #line)
        async throws
    {
        let reply = try await server.complete(key: key)
        XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self), file: file, line: line)
    }

    func testEveryMalformedRequestIsA4xxErrorObjectAndTheServerKeepsServing() async throws {
        let server = try ServerHarness("faults", extra: Self.extra)
        let key = try server.key("user")
        try server.start()
        defer { server.stop() }

        // (body, status, param the error must name, code)
        let cases: [(String, Data, Int, String?, String?)] = [
            ("malformed JSON", Data("{\"model\": \"tiny\", \"prompt\": ".utf8), 400, nil, "invalid_json"),
            ("invalid UTF-8", Data([0x7B, 0x22, 0x6D, 0xFF, 0xFE, 0x22, 0x7D]), 400, nil, "invalid_encoding"),
            ("not an object", Data("[1, 2]".utf8), 400, nil, "invalid_json"),
            (
                "negative max_tokens", Data(#"{"model": "tiny", "prompt": "abc", "max_tokens": -5}"#.utf8), 400,
                "max_tokens", nil
            ),
            (
                "huge max_tokens", Data(#"{"model": "tiny", "prompt": "abc", "max_tokens": 9223372036854775807}"#.utf8),
                400, "max_tokens", nil
            ),
            (
                "fractional max_tokens", Data(#"{"model": "tiny", "prompt": "abc", "max_tokens": 1.5}"#.utf8), 400,
                "max_tokens", nil
            ),
            (
                "prompt plus max_tokens past the context",
                Data(#"{"model": "tiny", "prompt": "abc", "max_tokens": 47}"#.utf8), 400, "max_tokens", nil
            ),
            (
                "unknown field", Data(#"{"model": "tiny", "prompt": "abc", "max_tokens": 2, "temprature": 0.5}"#.utf8),
                400, "temprature", "unknown_field"
            ),
            (
                "token id outside the vocabulary",
                Data(#"{"model": "tiny", "prompt": [1, 2, 99999], "max_tokens": 2}"#.utf8), 400, "prompt", nil
            ),
            (
                "temperature out of range", Data(#"{"model": "tiny", "prompt": "abc", "temperature": 7}"#.utf8), 400,
                "temperature", nil
            ),
            (
                "logprobs above the policy cap", Data(#"{"model": "tiny", "prompt": "abc", "logprobs": 500}"#.utf8),
                400, "logprobs", nil
            ),
            (
                "logit bias out of range", Data(#"{"model": "tiny", "prompt": "abc", "logit_bias": {"1": 1000}}"#.utf8),
                400, "logit_bias", nil
            ),
            ("missing prompt", Data(#"{"model": "tiny"}"#.utf8), 400, "prompt", nil),
            (
                "stream options without streaming",
                Data(#"{"model": "tiny", "prompt": "abc", "stream_options": {"include_usage": true}}"#.utf8), 400,
                "stream_options", nil
            ),
            (
                "unknown stream option",
                Data(#"{"model": "tiny", "prompt": "abc", "stream": true, "stream_options": {"x": 1}}"#.utf8), 400,
                "stream_options", "unknown_field"
            ),
            ("unknown model", Data(#"{"model": "gpt-9", "prompt": "abc"}"#.utf8), 404, "model", "model_not_found"),
            (
                "oversize body",
                Data(("{\"model\": \"tiny\", \"prompt\": \"" + String(repeating: "a", count: 20_000) + "\"}").utf8),
                413, nil, "request_too_large"
            ),
        ]
        for (name, body, status, param, code) in cases {
            let reply = try await server.request("POST", "/v1/completions", key: key, body: body)
            XCTAssertEqual(reply.status, status, "\(name): \(String(decoding: reply.body, as: UTF8.self))")
            let error = reply.errorObject
            XCTAssertNotNil(error?["message"] as? String, "\(name): an OpenAI error object")
            XCTAssertNotNil(error?["type"] as? String, name)
            if let param { XCTAssertEqual(error?["param"] as? String, param, name) }
            if let code { XCTAssertEqual(error?["code"] as? String, code, name) }
            try await assertStillServing(server, key: key)
        }
        XCTAssertEqual(try server.store.charges().count, cases.count, "only the valid requests were charged")
    }

    func testASlowClientHoldingAConnectionDoesNotStopOthersAndIsCutOffAtTheIdleTimeout() async throws {
        let server = try ServerHarness("slow", extra: Self.extra)
        let key = try server.key("user")
        try server.start()
        defer { server.stop() }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        // Headers promise 200 bytes; one arrives, then nothing.
        let partial =
            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
        _ = partial.withCString { send(fd, $0, strlen($0), 0) }

        let start = Date()
        for _ in 0..<5 { try await assertStillServing(server, key: key) }
        XCTAssertLessThan(
            Date().timeIntervalSince(start), 10, "others are served while the slow client holds its connection")

        // The server closes the stalled connection after its idle timeout (2 s): recv sees the end (0) or a reply.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var closed = false
        let waitStart = Date()
        while Date().timeIntervalSince(waitStart) < 10 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 {
                closed = true
                break
            }
            if n < 0 { break }
        }
        XCTAssertTrue(closed, "the stalled connection was closed by the server")
        XCTAssertLessThan(Date().timeIntervalSince(waitStart), 8)
        try await assertStillServing(server, key: key)
    }

    func testAnAccountCannotReadAnothersUsageNorReachAdminEndpoints() async throws {
        let server = try ServerHarness("walls", extra: Self.extra)
        let alice = try server.key("alice"), bob = try server.key("bob"), admin = try server.key("root", admin: true)
        try server.start()
        defer { server.stop() }

        for _ in 0..<3 { try await assertStillServing(server, key: alice) }
        let own = try await server.request("GET", "/v1/usage", key: bob)
        XCTAssertEqual(own.status, 200)
        XCTAssertEqual(own.json["account"] as? String, "bob")
        XCTAssertEqual(own.json["requests"] as? Int, 0, "bob sees his own usage, not alice's")
        let other = try await server.request("GET", "/v1/usage?account=alice", key: bob)
        XCTAssertEqual(other.status, 403)
        XCTAssertEqual(other.errorObject?["code"] as? String, "admin_only")
        for (method, path) in [("GET", "/admin/summary"), ("POST", "/admin/keys"), ("POST", "/admin/bans")] {
            let reply = try await server.request(method, path, key: bob, body: method == "POST" ? Data("{}".utf8) : nil)
            XCTAssertEqual(reply.status, 403, "\(path) refuses a non-admin key")
        }
        let anonymous = try await server.request("GET", "/admin/summary", key: nil)
        XCTAssertEqual(anonymous.status, 401)
        let wrong = try await server.request("GET", "/v1/usage", key: "dl-0000")
        XCTAssertEqual(wrong.status, 401)
        XCTAssertEqual(wrong.errorObject?["code"] as? String, "invalid_api_key")

        // The admin sees everyone, issues a key that works at once, and bans.
        let all = try await server.request("GET", "/v1/usage", key: admin)
        let rows = all.json["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(rows.first { $0["account"] as? String == "alice" }?["requests"] as? Int, 3)
        let created = try await server.post("/admin/keys", key: admin, json: ["name": "carol"])
        XCTAssertEqual(created.status, 200)
        let carol = try XCTUnwrap(created.json["key"] as? String)
        try await assertStillServing(server, key: carol)
        let banned = try await server.post("/admin/bans", key: admin, json: ["account": "alice"])
        XCTAssertEqual(banned.status, 200)
        let refused = try await server.complete(key: alice)
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(refused.errorObject?["code"] as? String, "account_banned")
        // The store keeps hashes only: no key appears in the database file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try server.store.path))
        XCTAssertNil(bytes.range(of: Data(carol.utf8)), "keys are stored hashed")
    }
}
