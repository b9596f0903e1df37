// `distill-lab train`, `eval`, `sample` and `logprobs`: a model from a corpus spec to a checkpoint
// directory, and back out of it.
import ArgumentParser
import Foundation
import LabCore
import LabData
import LabModel

/// Which corpus: the built-in kinds with their main knobs, or a text file.
struct CorpusOptions: ParsableArguments {
    @Option(help: "Corpus kind.")
    var corpus: CorpusSpec.Kind = .markov
    @Option(help: "Text file for --corpus text.")
    var path: String?
    @Option(help: "Built-in text corpus for --corpus text, instead of --path (fortunes).")
    var source: String?
    @Option(help: "Tokenizer for --corpus text.")
    var tokenizer: Tokenizer.Kind?
    @Option(help: "Vocabulary size for --corpus text (bpe: 257...16384, <unk> and the 256 bytes included).")
    var vocab: Int?
    @Option(help: "Seed of the corpus.")
    var corpusSeed: UInt64 = 0
    @Option(help: "Markov: number of symbols.")
    var symbols: Int?
    @Option(help: "Markov: order of the chain.")
    var order: Int?
    @Option(help: "Tokens in the train split (markov, grammar, tasks).")
    var trainTokens: Int?

    func spec() throws -> CorpusSpec {
        var spec: CorpusSpec
        switch corpus {
        case .text:
            guard (path == nil) != (source == nil) else {
                throw ValidationError("--corpus text needs one of --path FILE or --source NAME")
            }
            spec = CorpusSpec(kind: .text)
            (spec.path, spec.source, spec.maxVocabulary) = (path, source, vocab)
            if let tokenizer { spec.tokenizer = tokenizer }
        default:
            spec = CorpusSpec(kind: corpus, seed: corpusSeed)
        }
        if let symbols { spec.symbols = symbols }
        if let order { spec.order = order }
        if let trainTokens { spec.trainTokens = trainTokens }
        try spec.validate()
        return spec
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a GPT on a corpus and save a checkpoint directory.")

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var corpus: CorpusOptions
    @Option(help: "Output checkpoint directory.") var out: String
    @Option(help: "Context length.") var context: Int = 64
    @Option(help: "Width (n_embd).") var width: Int = 128
    @Option(help: "Layers.") var layers: Int = 4
    @Option(help: "Attention heads.") var heads: Int = 4
    @Option(help: "Training steps.") var steps: Int = 1000
    @Option(help: "Batch size.") var batchSize: Int = 32
    @Option(help: "Peak learning rate.") var lr: Float = 3e-3
    @Option(help: "Warm-up steps.") var warmup: Int = 50
    @Option(help: "Validation every N steps.") var evalInterval: Int = 100
    @Option(help: "Seed of initialisation and batch order.") var seed: UInt64 = 0

    func validate() throws {
        for (flag, value) in [
            ("--context", context), ("--width", width), ("--layers", layers), ("--heads", heads), ("--steps", steps),
            ("--batch-size", batchSize),
        ] {
            guard value >= 1 else { throw ValidationError("\(flag) must be at least 1 (got \(value))") }
            guard value <= GPTConfig.maximumDimension else {
                throw ValidationError("\(flag) must be at most \(GPTConfig.maximumDimension) (got \(value))")
            }
        }
        guard (0...GPTConfig.maximumDimension).contains(warmup) else {
            throw ValidationError("--warmup must be in 0...\(GPTConfig.maximumDimension) (got \(warmup))")
        }
        guard (0...GPTConfig.maximumDimension).contains(evalInterval) else {
            throw ValidationError(
                "--eval-interval must be 0 (never) or up to \(GPTConfig.maximumDimension) (got \(evalInterval))")
        }
        guard lr > 0, lr.isFinite else {
            throw ValidationError("--lr must be a positive learning rate, e.g. --lr 3e-3 (got \(lr))")
        }
    }

    func run() throws {
        try threads.scope {
            // Fail before work: the checkpoint's place must be writable before hours of training.
            try FileRead.checkWritableDirectory(out, what: "the checkpoint (--out)")
            let spec = try corpus.spec()
            let arch = ModelArchitecture(contextLength: context, width: width, layers: layers, heads: heads)
            var check = TrainingConfig()
            check.batchSize = batchSize
            try arch.config(vocabularySize: 2).validate()
            try check.validate(model: arch.config(vocabularySize: 2))
            let data = try spec.build()
            var training = TrainingConfig()
            training.steps = steps
            training.batchSize = batchSize
            training.learningRate = lr
            training.warmupSteps = warmup
            training.evalInterval = evalInterval
            training.seed = seed
            let config = arch.config(vocabularySize: data.tokenizer.vocabularySize)
            try config.validate()
            print(
                "corpus \(data.name): \(data.train.count) train tokens, vocabulary \(data.tokenizer.vocabularySize)"
                    + (data.entropyRate.map { String(format: ", entropy rate %.4f nats/token", $0) } ?? ""))
            print(
                "model: \(config.parameterCount) parameters (context \(context), width \(width), \(layers) layers, \(heads) heads); \(BLASKernel.summary)"
            )
            let progress = ProgressReporter(total: steps, label: "train")
            let (lm, history) = try LanguageModel.train(
                corpus: data, spec: spec, architecture: arch, training: training, progress: progress)
            try lm.save(to: URL(fileURLWithPath: out))
            let val = history.finalValidationLoss.map { Double($0) } ?? .nan
            var line = String(
                format: "done in %.1f s (%.0f tokens/s); validation loss %.4f nats/token", history.seconds,
                history.tokensPerSecond, val)
            if let h = data.entropyRate {
                line += String(format: " (entropy rate %.4f, gap %+.2f%%)", h, (val - h) / h * 100)
            }
            print(line)
            print("checkpoint written to \(out)")
        }
    }
}

/// Loads a checkpoint, mapping the path into the error message on failure.
func loadModel(_ path: String) throws -> LanguageModel {
    try LanguageModel.load(from: URL(fileURLWithPath: path))
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss and perplexity of a checkpoint on its corpus (and the gap to the entropy rate for markov).")
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "Split to evaluate on.") var split: Split = .test
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try threads.scope {
            let sp = split
            let lm = try loadModel(checkpoint)
            guard lm.corpusSpec != nil else {
                throw LabError.message(
                    "\(checkpoint) does not record the corpus it was trained on, so eval cannot rebuild it")
            }
            let corpus = try lm.rebuildCorpus(checkpoint: checkpoint)
            let r = try lm.evaluate(on: corpus, split: sp)
            guard r.loss.isFinite else {
                throw LabError.file(
                    path: checkpoint,
                    message:
                        "gives a non-finite loss (\(r.loss)) on the \(sp.rawValue) split; the weights are corrupt or the model diverged"
                )
            }
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(r), as: UTF8.self))
                return
            }
            print(
                String(
                    format: "%@ loss %.4f nats/token, perplexity %.3f", sp.rawValue as NSString, r.loss, r.perplexity))
            if let h = r.entropyRate, let g = r.relativeGapToEntropyRate {
                print(String(format: "source entropy rate %.4f nats/token; gap %+.2f%%", h, g * 100))
            }
            if let em = r.exactMatch { print(String(format: "exact-match accuracy %.1f%%", em * 100)) }
        }
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sample text from a checkpoint.")
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "Prompt text (default: one token of the tokenizer's first symbol).") var prompt: String?
    @Option(help: "Tokens to generate (default: 100, or as many as fit the context after the prompt).") var tokens: Int?
    @Option(help: "Number of samples.") var count: Int = 1
    @Option(help: "Temperature (0 = greedy).") var temperature: Float = 1
    @Option(help: "Top-k.") var topK: Int?
    @Option(help: "Top-p.") var topP: Float?
    @Option(help: "Seed.") var seed: UInt64 = 0

    func validate() throws {
        if let tokens, tokens < 1 { throw ValidationError("--tokens must be at least 1 (got \(tokens))") }
        guard count <= GPTConfig.maximumDimension else {
            throw ValidationError("--count must be at most \(GPTConfig.maximumDimension) (got \(count))")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1 (got \(count))") }
        guard temperature >= 0, temperature.isFinite else {
            throw ValidationError("--temperature must be 0 (greedy) or positive (got \(temperature))")
        }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1] (got \(topP))") }
    }

    func run() throws {
        try threads.scope {
            let lm = try loadModel(checkpoint)
            var ids = lm.tokenizer.encode(prompt ?? "").map(Int32.init)
            if ids.isEmpty { ids = [Int32(min(1, lm.tokenizer.vocabularySize - 1))] }
            let c = lm.model.config
            let room = c.contextLength - ids.count
            guard room > 0 else {
                throw LabError.invalidConfig(
                    key: "--prompt",
                    message: "has \(ids.count) tokens; the model's context is \(c.contextLength): shorten it")
            }
            let tokens = self.tokens ?? min(100, room)
            guard tokens <= room else {
                throw LabError.invalidConfig(
                    key: "--tokens",
                    message:
                        "\(tokens) does not fit: the model's context is \(c.contextLength) and the prompt takes \(ids.count), so at most \(room) new tokens"
                )
            }
            // KV cache (2·L·T·C per sequence), logits and scratch, per sample.
            try MemoryLimit.check(
                Double(count) * 4
                    * (2 * Double(c.layers) * Double(c.contextLength) * Double(c.width) + 4 * Double(c.vocabularySize)
                        + 8
                        * Double(c.width) + Double(c.contextLength)),
                for: "\(count) samples at once", key: "--count", fix: "Lower --count.")
            let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
            let outs = try Sampler(model: lm.model).generate(
                prompts: Array(repeating: ids, count: count), maxNewTokens: tokens, options: options, seed: seed)
            let promptIds = prompt == nil ? [] : ids.map(Int.init)
            for out in outs {
                // Decode prompt and continuation together, so word-level text keeps its spaces.
                print(lm.tokenizer.decode(promptIds + out.map(Int.init)))
                if count > 1 { print("---") }
            }
        }
    }
}

struct Logprobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Token ids and the log-probability of each next token, for checking against other implementations.")
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "Text to score.") var text: String
    @Flag(help: "Also print the full log-probability vector at every position.") var full = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try threads.scope {
            let lm = try loadModel(checkpoint)
            let ids = lm.tokenizer.encode(text)
            guard ids.count >= 2 else {
                throw ValidationError("--text must encode to at least 2 tokens (got \(ids.count))")
            }
            guard ids.count <= lm.model.config.contextLength else {
                throw ValidationError(
                    "--text encodes to \(ids.count) tokens; the model's context is \(lm.model.config.contextLength)")
            }
            let V = lm.model.config.vocabularySize, T = ids.count
            let logits = try lm.model.forward(tokens: ids.map(Int32.init), batch: 1, length: T)
            var rows: [[Float]] = []
            var next: [Float] = []
            var row = [Float](repeating: 0, count: V)
            for t in 0..<T {
                row.withUnsafeMutableBufferPointer {
                    Softmax.logProbabilities(
                        logits.baseAddress! + t * V, count: V, temperature: 1, into: $0.baseAddress!)
                }
                if full { rows.append(row) }
                if t + 1 < T { next.append(row[ids[t + 1]]) }
            }
            if json {
                var obj: [String: Any] = [
                    "tokens": ids, "next_token_logprobs": next.map(Double.init), "blas_kernel": BLAS.coreName,
                ]
                if full { obj["logprobs"] = rows.map { $0.map(Double.init) } }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(data: data, encoding: .utf8)!)
            } else {
                for t in 0..<(T - 1) {
                    print(
                        String(
                            format: "%4d %-12@ %9.4f", t + 1,
                            lm.tokenizer.symbol(for: ids[t + 1])?.debugDescription as NSString? ?? "?", next[t]))
                }
                print(String(format: "mean %.4f nats/token", -next.reduce(0, +) / Float(next.count)))
            }
        }
    }
}
