// Runs an experiment file from Swift through the same runner as `distill-lab run` (resumable: run it twice
// and the second run reuses every cell), then reads the results back from results.json as a program would.
// Usage: RunSweep [OUTPUT-DIRECTORY [EXPERIMENT.yaml]]
//        (defaults: .build/example-sweep, and the small sweep below written to a temporary file)
import Foundation
import LabCore
import LabExperiments

let arguments = CommandLine.arguments.dropFirst()
let output = URL(fileURLWithPath: arguments.first ?? ".build/example-sweep")

/// A small sweep written the way an experiment file is: two defences × two seeds, cells of a few seconds.
let smallSweep = """
    experiment: example-sweep
    description: Agreement bought by 200 and 600 queries against no defence and top-5 truncation.
    kind: attack
    seeds: [0, 1]
    teacher:
      corpus: {kind: markov, symbols: 16, order: 2, train_tokens: 20_000, validation_tokens: 4_000, test_tokens: 4_000}
      model: {context_length: 16, width: 32, layers: 1, heads: 2}
      training: {steps: 200, batch_size: 16, learning_rate: 0.005, warmup_steps: 20, eval_interval: 0}
    attack:
      strategy: own_corpus
      harvest: distribution
      student: {width: 32, layers: 1, heads: 2, batch_size: 32, learning_rate: 0.006, epochs: 2, max_steps: 100}
      budget: {unit: queries, milestones: [200, 600]}
      prompt_length: [1, 8]
      evaluation: {prompts: 32, perplexity_tokens: 1024}
    grid:
      defences:
        none: []
        top-5: [{top_k: {k: 5}}]
    tables:
      - title: Student's top-1 agreement with the teacher
        rows: budget
        columns: defences
        values: agreement
        digits: 3
    """

do {
    let experiment: Experiment
    if let path = arguments.dropFirst().first {
        experiment = try Experiment.load(path: path)
    } else {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("example-sweep.yaml")
        try smallSweep.write(to: file, atomically: true, encoding: .utf8)
        experiment = try Experiment.load(path: file.path)
    }
    print("\(experiment.name): \(experiment.kindName), \(experiment.seeds.count) seed(s)")
    var options = RunOptions(
        output: output, cache: TeacherCache(directory: output.appendingPathComponent("teachers")),
        threads: Parallel.workers)
    options.showProgress = false
    let summary = try Runner.run(experiment, options: options)
    print(
        "\(summary.computed) cell(s) computed, \(summary.reused) reused, in \(String(format: "%.1f", summary.seconds)) s"
    )

    // results.json: one entry per cell — its grid labels, seed and hash, and its metrics at every curve point.
    let data = try Data(contentsOf: output.appendingPathComponent("results.json"))
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let cells = json["cells"] as? [[String: Any]]
    else { throw LabError.message("\(output.path)/results.json has no cells") }
    for cell in cells {
        let labels = (cell["labels"] as? [String: Any] ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(
            separator: " ")
        let curve = cell["curve"] as? [[String: Any]] ?? []
        let agreements = curve.compactMap { ($0["metrics"] as? [String: Any])?["agreement"] as? Double }
        print("  \(labels): agreement " + agreements.map { String(format: "%.3f", $0) }.joined(separator: " → "))
    }
} catch {
    FileHandle.standardError.write(Data("RunSweep: \(error)\n".utf8))
    exit(1)
}
