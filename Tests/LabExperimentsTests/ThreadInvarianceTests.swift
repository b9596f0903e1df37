// Thread invariance: the built `distill-lab` trains a teacher, attacks it and runs a small defence sweep at
// 1, 2 and 3 worker threads; results.json must be byte-identical. The shapes are chosen so that products are
// large enough to be split and LayerNorm backward runs in chunks (the code paths that once depended on the
// worker count). Not a speed test.
import Foundation
import XCTest

final class ThreadInvarianceTests: XCTestCase {
    func testResultsAreByteIdenticalAt1And2And3Threads() throws {
        let binary = try labBinary()
        let scratch = Scratch("threads")
        let file = scratch.file(
            "sweep.yaml",
            """
            experiment: thread-invariance
            kind: attack
            seeds: [0]
            teacher:
              corpus: {kind: markov, symbols: 12, order: 1, train_tokens: 6000, validation_tokens: 600, test_tokens: 600}
              model: {context_length: 32, width: 64, layers: 1, heads: 4}
              training: {steps: 12, batch_size: 16, eval_interval: 0}
            attack:
              strategy: own_corpus
              harvest: distribution
              student: {width: 64, layers: 1, heads: 2, batch_size: 16, epochs: 1, min_steps: 4, max_steps: 6}
              budget: {unit: queries, milestones: [40, 80]}
              prompt_length: [1, 8]
              evaluation: {prompts: 16, perplexity_tokens: 256}
            grid:
              defences:
                none: []
                noise: [{gaussian_noise: {scale: 0.1}}]
            tables:
              - rows: budget
                columns: defences
                values: kl_teacher_student
            """)
        var results: [Int: Data] = [:]
        for threads in [1, 2, 3] {
            let out = scratch.dir("out-\(threads)")
            let process = Process()
            process.executableURL = binary
            // Each run trains its own teacher: a separate cache per thread count.
            process.arguments = [
                "run", file, "--out", out.path, "--cache", scratch.dir("cache-\(threads)").path, "--quiet", "--threads",
                "\(threads)",
            ]
            process.currentDirectoryURL = scratch.url
            process.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            process.standardError = err
            try process.run()
            let message = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, String(decoding: message, as: UTF8.self))
            results[threads] = try Data(contentsOf: out.appendingPathComponent("results.json"))
        }
        XCTAssertFalse(results[1]?.isEmpty ?? true)
        XCTAssertEqual(results[1], results[2], "1 and 2 threads give different results.json")
        XCTAssertEqual(results[3], results[2], "3 and 2 threads give different results.json")
    }
}
