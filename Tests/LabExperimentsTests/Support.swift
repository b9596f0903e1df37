// Helpers shared by the LabExperiments tests: tiny experiment files (fast in a debug build), scratch
// directories, and running a plan in-process. Not assertions: each test file states its own contract.
import Foundation
import LabCore
import LabExperiments
import XCTest

enum Tiny {
    /// A Markov teacher small enough to train in well under a second in a debug build.
    static let teacher = """
        teacher:
          corpus: {kind: markov, symbols: 6, order: 1, train_tokens: 3000, validation_tokens: 400, test_tokens: 400}
          model: {context_length: 16, width: 16, layers: 1, heads: 2}
          training: {steps: 12, batch_size: 4, eval_interval: 0}
        """

    /// A benign workload that fits the tiny teacher's context of 16.
    static let benign = "benign: {prompts: 6, prompt_length: 4, completion_tokens: 4}"

    /// A `teacher` sweep: 2 widths × 2 step counts × 2 seeds = 8 cells.
    static let teacherSweep = """
        experiment: tiny-teachers
        description: A tiny teacher sweep for tests.
        kind: teacher
        seeds: [0, 1]
        \(teacher)
        grid:
          teacher.model.width: [16, 24]
          teacher.training.steps: [8, 12]
        tables:
          - title: Loss by width and steps
            rows: [teacher.model.width, teacher.training.steps]
            values: [validation_loss, gap_to_entropy_rate]
          - rows: teacher.model.width
            columns: teacher.training.steps
            values: test_loss
        plots:
          - x: training_flops
            y: validation_loss
            series: teacher.model.width
          - type: bar
            x: teacher.model.width
            y: test_loss
            where: {teacher.training.steps: "12"}
        """

    /// A `defence_cost` sweep over three pipelines and two seeds on one teacher.
    static let defenceSweep = """
        experiment: tiny-defences
        kind: defence_cost
        seeds: [0, 1]
        \(teacher)
        benign: {prompts: 6, prompt_length: 4, completion_tokens: 4}
        grid:
          defences:
            none: []
            top-2: [{top_k: {k: 2}}]
            noise: [{gaussian_noise: {scale: 0.1}}]
        tables:
          - rows: defences
            values: [mean_kl, top1_agreement, relative_perplexity_increase]
        plots:
          - type: bar
            x: defences
            y: mean_kl
        """
}

final class Scratch {
    let url: URL

    init(_ name: String = "labexp") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String, _ text: String) -> String {
        let u = url.appendingPathComponent(name)
        try? Data(text.utf8).write(to: u)
        return u.path
    }

    func dir(_ name: String) -> URL { url.appendingPathComponent(name) }
}

extension Experiment {
    /// Runs in-process, silently, into `out`, with teachers cached in `cache`.
    @discardableResult
    func runQuietly(out: URL, cache: URL, shard: Shard = .whole) throws -> RunSummary {
        var options = RunOptions(
            output: out, cache: TeacherCache(directory: cache), threads: Parallel.workers, log: { _ in })
        options.shard = shard
        options.showProgress = false
        return try Runner.run(self, options: options)
    }
}

/// The error `text` causes, or a failure when it validates.
func validationError(
    _ text: String, kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds, file: StaticString = #filePath,
    line: UInt = #line
) -> ExperimentError? {
    do {
        _ = try Experiment.parse(text, file: "test.yaml", kinds: kinds)
        XCTFail("expected a validation error", file: file, line: line)
        return nil
    } catch let e as ExperimentError {
        return e
    } catch {
        XCTFail("expected an ExperimentError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// `distill-lab`, built beside the test bundle (.build/<config>/). A failure, not a skip: the tests that run
/// the binary are must-show tests, and `swift test` builds every product.
func labBinary() throws -> URL {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
    let candidates =
        [bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()]
        .map { $0.appendingPathComponent("distill-lab") }
        + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("distill-lab") }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        XCTFail(
            "distill-lab is not built next to the tests (looked in \(candidates.map(\.path))); run `swift build` first")
        throw CocoaError(.fileNoSuchFile)
    }
    return found
}
