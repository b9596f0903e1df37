// `distill-lab defences`: the benign cost of every registered output defence at its default parameters,
// on the teacher's own validation text — printed, and written as Markdown, CSV and JSON. `--list`
// documents the registry. It measures honest users' cost only; attacks are other commands.
import ArgumentParser
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabExperiments

struct Defences: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Benign cost of every output defence at its defaults: KL and TV to the teacher, top-1 agreement, perplexity of honest text."
    )

    @OptionGroup var threads: ThreadOptions
    @Option(help: "Teacher checkpoint directory (its corpus supplies the benign prompts).") var teacher: String?
    @Option(help: "Benign prompts: windows of the teacher's validation split.") var prompts: Int = 200
    @Option(help: "Tokens per prompt; distributions are measured at each of its positions.") var promptLength: Int = 16
    @Option(help: "Tokens sampled after each prompt (temperature 1) for the honest-text perplexity.")
    var completionTokens: Int = 32
    @Option(help: "Seed of prompts, defence noise and sampling.") var seed: UInt64 = 0
    @Option(help: "Directory for benign_cost.md, .csv and .json.") var out: String = "results/defences"
    @Flag(help: "Print the table as JSON instead of Markdown.") var json = false
    @Flag(help: "List every defence with its parameters and defaults, then exit.") var list = false

    func validate() throws {
        if list { return }
        guard teacher != nil else {
            throw ValidationError("--teacher DIR is required (or --list to document the defences)")
        }
        guard prompts >= 1 else { throw ValidationError("--prompts must be at least 1 (got \(prompts))") }
        guard promptLength >= 1 else {
            throw ValidationError("--prompt-length must be at least 1 (got \(promptLength))")
        }
        guard completionTokens >= 1 else {
            throw ValidationError("--completion-tokens must be at least 1 (got \(completionTokens))")
        }
        for (flag, value) in [
            ("--prompts", prompts), ("--prompt-length", promptLength), ("--completion-tokens", completionTokens),
        ] where value > 1 << 24 {
            throw ValidationError("\(flag) must be at most \(1 << 24) (got \(value))")
        }
    }

    func run() throws {
        try threads.scope {
            if list {
                print(DefenceRegistry.documentation)
                return
            }
            guard let teacher else { return }
            let lm = try loadModel(teacher)
            guard lm.corpusSpec != nil else {
                throw LabError.message(
                    "\(teacher) does not record the corpus it was trained on, so there is no benign validation text to prompt it with"
                )
            }
            let corpus = try lm.rebuildCorpus(checkpoint: teacher)
            let api = GPTTeacher(lm)
            let options = BenignCostOptions(
                prompts: prompts, promptLength: promptLength, completionTokens: completionTokens, seed: seed)
            try options.validate(contextLength: api.contextLength)
            let progress = ProgressReporter(total: DefenceRegistry.kinds.count + 1, label: "defences")
            let rows = try BenignCost.defaultsTable(
                teacher: api, benignTokens: corpus.validation, options: options, progress: progress)
            let report = BenignCostReport(
                teacher: teacher, vocabularySize: api.vocabularySize, contextLength: api.contextLength,
                options: options,
                rows: rows)
            let files = try report.write(to: URL(fileURLWithPath: out))
            print(json ? try report.json() : report.markdown, terminator: "")
            FileHandle.standardError.write(Data("wrote \(files.map(\.path).joined(separator: ", "))\n".utf8))
        }
    }
}
