// The `safety` kind: its section validated before any work (unknown keys, ranges, located at the key), and a tiny
// end-to-end cell that reports every documented output with rates in [0, 1] and the same numbers on a second run.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class SafetyKindTests: XCTestCase {
    static let file = """
        experiment: tiny-safety
        kind: safety
        seeds: [0]
        safety:
          world: {topics: 6, forbidden_topics: 2}
          teacher: {context_length: 24, width: 16, layers: 1, heads: 2, pretrain_steps: 6, align_steps: 3, batch_size: 4, pretrain_tokens: 3000, align_tokens: 2000, classifier_prompts: 100}
          evaluation_requests: 12
          mapping: {requests: 20, group_size: 4}
          jailbreak_requests: 6
          stripping: {harvest_queries: 40, steps: 4, student: {context_length: 24, width: 16, layers: 1, heads: 2}}
          detection: {users: 6, horizon_days: 0.5}
        grid:
          safety.policy.bill_refusals: [true]
        tables:
          - rows: safety.policy.bill_refusals
            values: [teacher.refusal_rate, mapping.group.queries, detection.fpr]
        """

    func testSectionIsValidatedBeforeAnyWork() throws {
        func error(_ replace: String, with text: String) -> ExperimentError? {
            validationError(Self.file.replacingOccurrences(of: replace, with: text))
        }
        let typo = try XCTUnwrap(error("group_size: 4", with: "group_sise: 4"))
        XCTAssertEqual(typo.key, "safety.mapping.group_sise")
        let group = try XCTUnwrap(error("group_size: 4", with: "group_size: 9"))
        XCTAssertEqual(group.key, "safety.mapping.group_size")
        XCTAssertTrue(group.message.contains("allowed range 1...6"), group.message)
        let topics = try XCTUnwrap(error("forbidden_topics: 2", with: "forbidden_topics: 5"))
        XCTAssertEqual(topics.key, "safety.world.forbidden_topics")
        let users = try XCTUnwrap(error("users: 6", with: "users: 30000"))
        XCTAssertEqual(users.key, "safety.detection.users")
    }

    func testTinyCellReportsEveryOutputAndRepeatsExactly() throws {
        let e = try Experiment.parse(Self.file)
        XCTAssertEqual(e.cells.count, 1)
        var results: [Data] = []
        for run in 0..<2 {
            let scratch = Scratch("safety-\(run)")
            try e.runQuietly(out: scratch.dir("out"), cache: scratch.dir("cache"))
            let data = try Data(contentsOf: scratch.dir("out").appendingPathComponent("results.csv"))
            results.append(data)
        }
        XCTAssertEqual(results[0], results[1], "same file and seed, same numbers")
        let text = String(decoding: results[0], as: UTF8.self)
        for name in [
            "teacher.refusal_rate", "mapping.group.queries", "jailbreak.alias.classifier.success",
            "stripping.jailbreak.content_rate", "detection.fpr", "harvest_dollars",
        ] {
            XCTAssertTrue(text.contains(name), "results.csv lacks \(name)")
        }
    }
}
