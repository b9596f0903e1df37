// Per-account watermark keys (`account_watermarks:`): each account's completions carry a KGW key derived from
// the provider secret and its name (LabForensics' AccountKeys), so they test positive under their own key and
// not under another account's; a missing secret or a config without a kgw stage is refused at start-up.
import Foundation
import LabCore
import LabDefences
import LabForensics
import LabService
import XCTest

final class ServiceWatermarkTests: XCTestCase {
    func testEachAccountsCompletionsDetectUnderItsOwnKeyAndNotAnothers() async throws {
        let variable = "DISTILL_LAB_TEST_SECRET_\(UUID().uuidString.prefix(8))"
        let secret = "provider-secret-for-tests"
        setenv(variable, secret, 1)
        defer { unsetenv(variable) }
        let server = try ServerHarness(
            "account-watermarks",
            extra: """
                gateway: {rate_limit: null}
                defences: [{kgw: {gamma: 0.25, delta: 4.0}}]
                account_watermarks: {secret_env: \(variable)}
                """)
        let keys = ["alice": try server.key("alice"), "bob": try server.key("bob")]
        try server.start()
        defer { server.stop() }

        let prompts: [[Int]] = (0..<16).map { [($0 * 5) % 12, ($0 * 7 + 3) % 12] }
        var texts: [String: [(prompt: [Int32], tokens: [Int32])]] = [:]
        var V = 0
        for (name, key) in keys {
            let reply = try await server.complete(
                key: key, prompt: prompts, maxTokens: 40, extra: ["temperature": 1, "seed": 7, "logprobs": 1])
            XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self))
            let choices = try XCTUnwrap(reply.json["choices"] as? [[String: Any]])
            XCTAssertEqual(choices.count, prompts.count)
            texts[name] = try choices.map { choice in
                let index = try XCTUnwrap(choice["index"] as? Int)
                let logprobs = try XCTUnwrap(choice["logprobs"] as? [String: Any])
                let ids = try XCTUnwrap(logprobs["x_lab_token_ids"] as? [Int])
                return (prompts[index].map(Int32.init), ids.map(Int32.init))
            }
            if V == 0 {
                let models = try await server.request("GET", "/v1/models", key: key)
                let lab = try XCTUnwrap((models.json["data"] as? [[String: Any]])?.first?["x_lab"] as? [String: Any])
                V = try XCTUnwrap(lab["vocabulary_size"] as? Int)
            }
        }
        XCTAssertNotEqual(
            texts["alice"]?.map(\.tokens), texts["bob"]?.map(\.tokens),
            "the same prompts and seed give different text under different keys")

        func score(_ name: String, keyOf owner: String) throws -> WatermarkScore {
            let watermark = try KGWWatermark(
                gamma: 0.25, delta: 4, key: try AccountKeys.key(secret: secret, account: owner), vocabularySize: V)
            var tally = KGWTally(watermark: watermark, deduplicate: true)
            for t in texts[name] ?? [] { try tally.add(tokens: t.tokens, prompt: t.prompt) }
            return tally.score
        }
        for (name, other) in [("alice", "bob"), ("bob", "alice")] {
            let own = try score(name, keyOf: name), foreign = try score(name, keyOf: other)
            XCTAssertLessThan(own.pValue, 1e-4, "\(name)'s text under \(name)'s key: \(own)")
            XCTAssertGreaterThan(foreign.pValue, 0.01, "\(name)'s text under \(other)'s key: \(foreign)")
        }
    }

    func testPerAccountKeysNeedASecretAndOneKGWStage() throws {
        let scratch = ServiceScratch("watermark-config")
        let unset = "DISTILL_LAB_TEST_UNSET_\(UUID().uuidString.prefix(8))"
        try TinyTeacher.write(to: scratch.url.appendingPathComponent("ck"))
        let missing = scratch.file(
            "missing.yaml",
            """
            teacher: ck
            defences: [{kgw: {gamma: 0.25}}]
            account_watermarks: {secret_env: \(unset)}
            """)
        XCTAssertThrowsError(try Service(config: try ServiceConfig.load(path: missing))) { error in
            XCTAssertTrue("\(error)".contains("account_watermarks.secret_env"), "\(error)")
            XCTAssertTrue("\(error)".contains("export \(unset)="), "\(error)")
        }
        let noStage = scratch.file(
            "no-stage.yaml",
            """
            teacher: ck
            defences: [{rounding: {decimals: 2}}]
            account_watermarks: {secret_env: \(unset)}
            """)
        XCTAssertThrowsError(try ServiceConfig.load(path: noStage)) { error in
            XCTAssertTrue("\(error)".contains("no-stage.yaml:3:"), "located at the key: \(error)")
            XCTAssertTrue("\(error)".contains("exactly one"), "\(error)")
        }
    }
}
