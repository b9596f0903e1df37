// The official `openai` Python package against the running server (scripts/openai_client_check.py): models,
// completions with logprobs and echo, 429 with Retry-After, 401 for a bad key. Runs when DISTILL_LAB_PYTHON
// names an interpreter with `openai` installed (scripts/test.sh sets it); skips otherwise.
import Foundation
import XCTest

final class ServiceOpenAIClientTests: XCTestCase {
    func testOfficialOpenAIClientPassesEveryCheck() throws {
        guard let python = ProcessInfo.processInfo.environment["DISTILL_LAB_PYTHON"], !python.isEmpty else {
            throw XCTSkip("DISTILL_LAB_PYTHON is not set (bash scripts/test.sh sets it from scripts/pyenv.sh)")
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import openai"]
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw XCTSkip("\(python) has no `openai` package (scripts/python/requirements-service.txt)")
        }

        // A burst of 20 per key: the main key stays under it, the limited key is spent to reach the limit.
        let server = try ServerHarness(
            "openai",
            extra: """
                api: {policy: {max_logprobs: 5}}
                gateway: {rate_limit: {requests_per_minute: 60, burst: 20, queries_per_day: 100000}}
                """)
        let key = try server.key("python"), limited = try server.key("python-limited")
        try server.start()
        defer { server.stop() }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("scripts/openai_client_check.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script.path, "--base-url", server.base + "/v1", "--key", key, "--limited-key", limited]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print(text)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("all checks passed"), text)
        XCTAssertTrue(text.contains("gets 429 with Retry-After"), text)
        XCTAssertTrue(text.contains("refused with 401"), text)
    }
}
