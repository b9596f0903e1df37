// An attack experiment whose `endpoint:` names a served teacher: the same cell run in-process and over HTTP
// against `distill-lab serve` of the teacher `teacher:` trains gives the same student — bit for bit for
// completions (the client draws every token), and for distributions the same costs and agreement with the
// metrics within 1e-6 relative (the served log-probabilities are renormalised once more on the client, a
// float rounding) — and a missing key, a stopped server or a refused key each fail naming the key to fix.
import Foundation
import LabAPI
import LabCore
import LabExperiments
import LabService
import XCTest

final class ServiceEndpointExperimentTests: XCTestCase {
    /// A tiny teacher and a 300-query attack; `endpoint` lines appended when given.
    func experiment(harvest: String = "distribution", endpoint: String = "", defences: String = "") -> String {
        """
        experiment: wire-test
        kind: attack
        seeds: [3]
        teacher:
          corpus: {kind: markov, symbols: 12, order: 1, train_tokens: 20_000, validation_tokens: 2_000, test_tokens: 2_000}
          model: {context_length: 24, width: 16, layers: 1, heads: 2}
          training: {steps: 30, batch_size: 8, eval_interval: 0}
        attack:
          strategy: random_tokens
          harvest: \(harvest)
          student: {width: 16, layers: 1, heads: 2, batch_size: 16, epochs: 1, min_steps: 10, max_steps: 20}
          budget: {unit: queries, milestones: [100, 300]}
          prompt_length: [1, 6]
          evaluation: {prompts: 16, perplexity_tokens: 256}
        \(endpoint)
        \(defences)
        """
    }

    func run(_ text: String, cache: TeacherCache) throws -> CellResult {
        let planned = try Experiment.parse(text, file: "wire-test.yaml")
        XCTAssertEqual(planned.cells.count, 1)
        let context = RunContext(cache: cache, showProgress: false, remoteTeachers: HTTPTeacherConnector())
        return try planned.cells[0].run(in: context)
    }

    func testAnEndpointCellGivesTheInProcessStudentAndItsFailuresNameTheirKeys() throws {
        let scratch = ServiceScratch("endpoint-exp")
        let cache = TeacherCache(directory: scratch.url.appendingPathComponent("cache"))
        let inProcess = try [
            "distribution", "{completion: {max_new_tokens: 4, temperature: 1}}",
        ].map { try run(experiment(harvest: $0), cache: cache) }
        let entries = try FileManager.default.contentsOfDirectory(
            at: cache.directory.appendingPathComponent("teachers"), includingPropertiesForKeys: nil
        ).filter { !$0.lastPathComponent.hasPrefix(".") && !$0.lastPathComponent.hasSuffix(".lock") }
        XCTAssertEqual(entries.count, 1, "one trained teacher in the cache: \(entries)")
        let checkpoint = try XCTUnwrap(entries.first).appendingPathComponent("checkpoint")

        let server = try ServerHarness(
            "endpoint-exp", extra: "gateway: {rate_limit: null}", checkpoint: checkpoint.path)
        let key = try server.key("experiment")
        try server.start()
        defer { server.stop() }
        let variable = "DISTILL_LAB_TEST_KEY_\(UUID().uuidString.prefix(8))"
        let endpoint = "endpoint: {url: \"\(server.base)\", api_key_env: \(variable)}"

        // No key in the environment yet.
        XCTAssertThrowsError(try run(experiment(endpoint: endpoint), cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("endpoint.api_key_env"), "\(error)")
            XCTAssertTrue("\(error)".contains("export \(variable)="), "\(error)")
        }
        setenv(variable, "not-a-key", 1)
        XCTAssertThrowsError(try run(experiment(endpoint: endpoint), cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("endpoint.api_key_env"), "\(error)")
            XCTAssertTrue("\(error)".contains("refused the key in \(variable)"), "\(error)")
        }
        setenv(variable, key, 1)
        defer { unsetenv(variable) }
        let harvests = ["distribution", "{completion: {max_new_tokens: 4, temperature: 1}}"]
        for (harvest, expected) in zip(harvests, inProcess) {
            let wire = try run(experiment(harvest: harvest, endpoint: endpoint), cache: cache)
            if harvest == "distribution" {
                assertClose(wire, expected)
            } else {
                XCTAssertEqual(wire, expected, "harvest \(harvest): the student bought over HTTP is the in-process one")
            }
        }
        let usage = try XCTUnwrap(try server.store.usage().first { $0.account.name == "experiment" })
        XCTAssertGreaterThan(usage.usage.queries, 0, "the server's ledger charged the experiment's requests")

        // A stopped server: nothing answers at the URL.
        server.stop()
        XCTAssertThrowsError(try run(experiment(endpoint: endpoint), cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("endpoint.url"), "\(error)")
            XCTAssertTrue("\(error)".contains("distill-lab serve"), "\(error)")
        }
    }

    /// Same points, same costs, same agreement; every other metric within 1e-6 relative.
    func assertClose(_ a: CellResult, _ b: CellResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.metrics, b.metrics, file: file, line: line)
        XCTAssertEqual(a.curve.map(\.label), b.curve.map(\.label), file: file, line: line)
        for (p, q) in zip(a.curve, b.curve) {
            XCTAssertEqual(p.costs, q.costs, "milestone \(p.label)", file: file, line: line)
            XCTAssertEqual(p.metrics.map(\.name), q.metrics.map(\.name), file: file, line: line)
            for (m, n) in zip(p.metrics, q.metrics) {
                if m.name == "agreement" {
                    XCTAssertEqual(m.value, n.value, "milestone \(p.label)", file: file, line: line)
                } else if let x = m.value, let y = n.value {
                    XCTAssertEqual(x, y, accuracy: 1e-6 * abs(y), "\(m.name) at \(p.label)", file: file, line: line)
                } else {
                    XCTAssertEqual(m.value, n.value, "\(m.name) at \(p.label)", file: file, line: line)
                }
            }
        }
    }

    func testTheEndpointSectionIsClosedAndLocated() throws {
        let cases: [(String, String, String)] = [
            ("endpoint: {url: \"http://127.0.0.1:1\"}", "endpoint.api_key_env", "api_key_env"),
            ("endpoint: {url: \"ftp://x\", api_key_env: K}", "endpoint.url", "http://"),
            ("endpoint: {url: \"http://127.0.0.1:1\", api_key_env: \"sk-123\"}", "endpoint.api_key_env", "variable"),
            ("endpoint: {url: \"http://127.0.0.1:1\", api_key_env: K, key: x}", "endpoint.key", "unknown key"),
        ]
        for (line, key, words) in cases {
            XCTAssertThrowsError(try Experiment.parse(experiment(endpoint: line), file: "wire-test.yaml")) { error in
                XCTAssertTrue("\(error)".contains(key), "\(line): \(error)")
                XCTAssertTrue("\(error)".contains(words), "\(line): \(error)")
                XCTAssertTrue("\(error)".contains("wire-test.yaml:"), "located in the file: \(error)")
            }
        }
        XCTAssertThrowsError(
            try Experiment.parse(
                experiment(
                    endpoint: "endpoint: {url: \"http://127.0.0.1:1\", api_key_env: K}",
                    defences: "defences: [label_only]"),
                file: "wire-test.yaml")
        ) { error in
            XCTAssertTrue("\(error)".contains("defences"), "\(error)")
            XCTAssertTrue("\(error)".contains("server's config"), "\(error)")
        }
    }
}
