// `distill-lab attack`: one extraction run against a trained teacher checkpoint — strategy, harvest mode,
// loss, student and budget milestones from flags (or a JSON attack config), defences in front of the
// teacher — with a progress bar, printing the anytime fidelity-versus-cost table. Sweeps are `run`'s job.
import ArgumentParser
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabData
import LabExperiments
import LabModel
import LabService

struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract:
            "Extract a teacher checkpoint by distillation and print fidelity against cost at each budget milestone.",
        discussion: """
            Parts are written NAME or NAME:key=value,key=value, as in an experiment file:
              --strategy own_corpus:source=fresh   --harvest top_k:k=5   --loss soft:temperature=2,alpha=0.9
              --defence rounding:decimals=2 (repeatable, applied in order)
            --list prints every strategy and harvest mode with its parameters.
            """)

    @OptionGroup var threads: ThreadOptions
    @Option(help: "Teacher checkpoint directory (its corpus is rebuilt from the spec it records).") var teacher: String?
    @Option(help: "A JSON attack config; flags given here override its fields.") var config: String?
    @Option(
        help:
            "Query strategy: random_tokens, own_corpus, natural, perturbed, teacher_bootstrap or active [:key=value,...]."
    )
    var strategy: String?
    @Option(help: "Harvest mode: distribution, logit_bias, echo, top_k, completion or label [:key=value,...].")
    var harvest: String?
    @Option(help: "Distillation loss: hard, or soft[:temperature=τ,alpha=α,tail=bucket|uniform|renormalize].") var loss:
        String?
    @Option(
        name: .customLong("defence"),
        help: "A defence in front of the teacher, NAME[:key=value,...]; repeat for a pipeline.") var defences:
        [String] = []
    @Option(help: "Budget unit.") var unit: BudgetUnit?
    @Option(help: "Budget milestones, comma-separated, e.g. 1000,3000,10000 (dollars as decimals).") var budget: String?
    @Option(help: "Prompt lengths, shortest-longest, e.g. 1-32.") var promptLength: String?
    @Option(help: "Student width (default: the teacher's).") var studentWidth: Int?
    @Option(help: "Student layers (default: the teacher's).") var studentLayers: Int?
    @Option(help: "Student heads (default: the teacher's).") var studentHeads: Int?
    @Option(help: "Student batch size.") var batchSize: Int?
    @Option(help: "Student peak learning rate.") var lr: Float?
    @Option(help: "Passes over the harvest at each milestone.") var epochs: Double?
    @Option(help: "Fewest training steps per milestone.") var minSteps: Int?
    @Option(help: "Most training steps per milestone.") var maxSteps: Int?
    @Option(help: "Held-out windows to measure fidelity on.") var evalPrompts: Int?
    @Option(help: "Length of the held-out windows (default: the longest prompt).") var evalLength: Int?
    @Option(help: "Seed of the attack (student, strategy, batches).") var seed: UInt64?
    @Option(help: "Seed of the API's own randomness (defence noise).") var apiSeed: UInt64 = 0
    @Option(help: "API price of a million input tokens in dollars (default: GPT-4o mini's $0.15).") var inputPrice:
        String = "0.15"
    @Option(help: "API price of a million output tokens in dollars (default: GPT-4o mini's $0.60).") var outputPrice:
        String = "0.60"
    @Option(help: "Batch size the teacher was trained with, for its training FLOPs (the train command's default).")
    var teacherBatchSize: Int = 32
    @Option(help: "Directory to write curve.json, curve.csv and table.md into.") var out: String?
    @Flag(help: "Print the curve as JSON instead of a table.") var json = false
    @Flag(help: "List every strategy and harvest mode with its parameters, and exit.") var list = false
    @Option(
        help:
            "Attack a served teacher (`distill-lab serve`) at this base URL instead of the checkpoint in-process; --teacher stays the fidelity yardstick."
    )
    var endpoint: String?
    @Option(help: "The API key for --endpoint.") var apiKey: String?

    func validate() throws {
        if !list, teacher == nil {
            throw ValidationError("--teacher DIR is required (a checkpoint from `distill-lab train`)")
        }
        // Every size is bounded before it reaches an allocation or a loop count.
        let bound = GPTConfig.maximumDimension
        let sizes: [(String, Int?, Int)] = [
            ("--student-width", studentWidth, 1), ("--student-layers", studentLayers, 1),
            ("--student-heads", studentHeads, 1),
            ("--batch-size", batchSize, 1), ("--min-steps", minSteps, 0), ("--max-steps", maxSteps, 1),
            ("--eval-prompts", evalPrompts, 1), ("--eval-length", evalLength, 1),
            ("--teacher-batch-size", teacherBatchSize, 1),
        ]
        for (flag, value, least) in sizes {
            guard let value else { continue }
            guard (least...bound).contains(value) else {
                throw ValidationError("\(flag) must be in \(least)...\(bound) (got \(value))")
            }
        }
        if let epochs, !(epochs > 0 && epochs <= 1e6) {
            throw ValidationError("--epochs must be in (0, 1000000] (got \(epochs))")
        }
        if let lr, !(lr > 0 && lr.isFinite) {
            throw ValidationError("--lr must be a positive learning rate, e.g. --lr 1e-3 (got \(lr))")
        }
        if (endpoint == nil) != (apiKey == nil) { throw ValidationError("--endpoint and --api-key go together") }
        if !defences.isEmpty, endpoint != nil {
            throw ValidationError("--defence applies in-process; a served teacher's defences are in its serve config")
        }
    }

    func run() throws {
        if list {
            print(
                "## Query strategies\n\n\(StrategyRegistry.documentation)\n\n## Harvest modes\n\n\(HarvestRegistry.documentation)"
            )
            print("\n## Losses\n\n\(DistillationLoss.documentation)")
            return
        }
        try threads.scope {
            let attackConfig = try resolvedConfig()
            try attackConfig.validate()
            guard let teacherPath = teacher else { return }
            let lm = try loadModel(teacherPath)
            guard let spec = lm.corpusSpec else {
                throw LabError.message(
                    "\(teacherPath) does not record the corpus it was trained on, so the attack cannot rebuild its held-out data"
                )
            }
            let corpus = try lm.rebuildCorpus(checkpoint: teacherPath)
            let c = lm.model.config
            guard let input = Decimal(string: inputPrice), let output = Decimal(string: outputPrice) else {
                throw ValidationError("--input-price and --output-price are dollars per million tokens, e.g. 0.15")
            }
            let prices = try PriceTable(inputDollarsPerMillion: input, outputDollarsPerMillion: output)
            var target = try ExtractionTarget(
                teacher: lm, corpus: corpus, spec: spec, defences: try defences.map(parseDefence), prices: prices,
                teacherTrainingTokens: lm.step * teacherBatchSize * c.contextLength, apiSeed: apiSeed)
            // With --json, standard output carries only the JSON; these lines go to standard error.
            let say: (String) -> Void =
                json ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { print($0) }
            var wire: HTTPTeacher?
            if let endpoint, let apiKey {
                guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https" else {
                    throw ValidationError("--endpoint must be a URL such as http://127.0.0.1:8080 (got '\(endpoint)')")
                }
                let served = try HTTPTeacher(
                    endpoint: url, apiKey: apiKey, allPositions: attackConfig.harvest.name == "echo")
                guard served.vocabularySize == c.vocabularySize else {
                    throw LabError.message(
                        "\(endpoint) serves \(served.vocabularySize) tokens but --teacher has \(c.vocabularySize); give the checkpoint the server serves"
                    )
                }
                target.servedTeacher = served
                wire = served
                say(
                    "served teacher: \(endpoint) model \(served.model) (V \(served.vocabularySize), context \(served.contextLength))"
                )
            }
            say(
                "teacher \(teacherPath): \(c.parameterCount) parameters (width \(c.width), \(c.layers) layers), \(lm.step) steps on \(corpus.name)"
            )
            say("attack: \(attackConfig.summary); defences: \(target.defences.summary)")
            let curve = try attackConfig.run(against: target, progressLabel: "attack")
            if let wire {
                print(
                    "over the wire: \(wire.requests) HTTP requests, \(wire.rateLimited) answered 429 (waited \(String(format: "%.1f", wire.waitedSeconds)) s)"
                )
            }
            if let out { try curve.write(to: URL(fileURLWithPath: out)) }
            if json {
                print(String(decoding: try curve.json(), as: UTF8.self))
                return
            }
            print(
                "student: \(curve.studentParameters) parameters (width \(curve.studentWidth), \(curve.studentLayers) layers); strategy \(curve.strategy); harvest \(curve.harvest); loss \(curve.loss)"
            )
            if let h = curve.teacher.entropyRate {
                print(String(format: "source entropy rate %.4f nats/token (perplexity %.3f)", h, exp(h)))
            }
            print(curve.markdownTable)
            if let last = curve.points.last, let ratio = last.cost.costRatio {
                print(
                    String(
                        format:
                            "attacker total cost (query dollars + its compute at $%.2f per 10¹⁸ FLOPs) = %.3g × the teacher's training compute",
                        last.cost.computeDollarsPerExaflop, ratio))
            }
        }
    }

    /// The config file (if any) with every flag given laid over it.
    func resolvedConfig() throws -> AttackConfig {
        var c = AttackConfig()
        if let path = config {
            let data = try FileRead.data(path, what: "the attack config (--config)", fix: "pass a JSON attack config")
            do { c = try JSONDecoder().decode(AttackConfig.self, from: data) } catch let error as LabError {
                throw LabError.file(path: path, message: error.description)
            } catch {
                throw LabError.file(
                    path: path,
                    message:
                        "is not a valid attack config (\(DecodingErrorText.describe(error))); see `distill-lab attack --list`"
                )
            }
        }
        if let s = strategy { c.strategy = try parsePart(s, StrategySpec.self, flag: "--strategy") }
        if let h = harvest { c.harvest = try parsePart(h, HarvestSpec.self, flag: "--harvest") }
        if let l = loss { c.student.loss = try parsePart(l, LossSpec.self, flag: "--loss") }
        if let unit { c.budget.unit = unit }
        if let budget {
            let values = budget.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--budget must be numbers separated by commas (got '\(budget)')")
            }
            c.budget.milestones = values.compactMap { $0 }
        }
        if let promptLength {
            let parts = promptLength.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
                throw ValidationError("--prompt-length must be SHORTEST-LONGEST, e.g. 1-32 (got '\(promptLength)')")
            }
            c.promptLength = parts[0]...parts[1]
        }
        if let v = studentWidth { c.student.width = v }
        if let v = studentLayers { c.student.layers = v }
        if let v = studentHeads { c.student.heads = v }
        if let v = batchSize { c.student.batchSize = v }
        if let v = lr { c.student.learningRate = v }
        if let v = epochs { c.student.epochs = v }
        if let v = minSteps { c.student.minSteps = v }
        if let v = maxSteps { c.student.maxSteps = v }
        if let v = evalPrompts { c.evaluation.prompts = v }
        if let v = evalLength { c.evaluation.length = v }
        if let v = seed { c.seed = v }
        return c
    }
}

/// `name` or `name:key=value,key=value` as a part spec; values read as booleans, numbers, else strings.
/// An empty name, an empty key or a key given twice is an error naming `flag`.
func parseParameters(_ text: String, flag: String) throws -> (String, [String: ParameterValue]) {
    let pieces = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let name = pieces[0].trimmingCharacters(in: .whitespaces)
    guard !name.isEmpty else {
        throw LabError.invalidConfig(
            key: flag, message: "'\(text)' has no name; write NAME or NAME:key=value,... (e.g. \(flag) top_k:k=5)")
    }
    var pairs: [(String, ParameterValue)] = []
    if pieces.count == 2 {
        for pair in pieces[1].split(separator: ",", omittingEmptySubsequences: false) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard kv.count == 2, !kv[0].isEmpty else {
                throw LabError.invalidConfig(
                    key: flag, message: "'\(text)': '\(pair)' is not key=value; write \(name):key=value,key=value")
            }
            let value = kv[1]
            if value == "true" || value == "false" {
                pairs.append((kv[0], .bool(value == "true")))
            } else if let d = Double(value) {
                pairs.append((kv[0], .number(d)))
            } else {
                pairs.append((kv[0], .string(value)))
            }
        }
    }
    return (name, try PartParameters.collect(pairs, path: "\(flag) \(name)"))
}

func parsePart<S>(_ text: String, _: NamedSpec<S>.Type, flag: String) throws -> NamedSpec<S> {
    let (name, parameters) = try parseParameters(text, flag: flag)
    return NamedSpec<S>(name, parameters)
}

func parseDefence(_ text: String) throws -> DefenceSpec {
    let (name, parameters) = try parseParameters(text, flag: "--defence")
    return DefenceSpec(name, parameters)
}
