// LanguageModel: a GPT together with its tokenizer and the corpus spec it was trained on — the
// unit that is trained, evaluated, saved as a checkpoint directory and loaded again.
// It joins LabModel (the network) and LabData (corpora); it holds no training loop of its own.
import Foundation
import LabCore
import LabModel

extension BatchSampler: BatchSource {}

public final class LanguageModel {
    public let model: GPT
    public let tokenizer: Tokenizer
    /// The corpus the model was trained on, when known (saved in the checkpoint's metadata).
    public var corpusSpec: CorpusSpec?
    /// Training steps taken so far.
    public var step: Int
    /// Where the training text came from (text corpora): saved as corpus_name, corpus_sha256, corpus_bytes,
    /// and checked against the rebuilt corpus by `rebuildCorpus(checkpoint:)`.
    public var corpusOrigin: CorpusOrigin?

    public init(model: GPT, tokenizer: Tokenizer, corpusSpec: CorpusSpec? = nil, step: Int = 0) {
        self.model = model
        self.tokenizer = tokenizer
        self.corpusSpec = corpusSpec
        self.step = step
    }

    // MARK: Training

    /// Builds a fresh model for `corpus` (vocabulary taken from its tokenizer) and trains it.
    public static func train(
        corpus: Corpus, spec: CorpusSpec?, architecture: ModelArchitecture, training: TrainingConfig,
        progress: ProgressReporter? = nil
    ) throws -> (LanguageModel, TrainingHistory) {
        let config = architecture.config(vocabularySize: corpus.tokenizer.vocabularySize)
        try config.validate()
        try training.validate(model: config)
        let gpt = try GPT(config: config, seed: training.seed)
        let lm = LanguageModel(model: gpt, tokenizer: corpus.tokenizer, corpusSpec: spec)
        lm.corpusOrigin = corpus.origin
        let history = try lm.train(on: corpus, training: training, progress: progress)
        return (lm, history)
    }

    /// Continues training on `corpus`'s train split, validating on its validation split.
    public func train(
        on corpus: Corpus, training: TrainingConfig, validationTokens: Int = 16_384, progress: ProgressReporter? = nil
    ) throws -> TrainingHistory {
        let T = training.sequenceLength ?? model.config.contextLength
        var sampler = try BatchSampler(
            tokens: corpus.train, batchSize: training.batchSize, sequenceLength: T, seed: training.seed)
        let trainer = try Trainer(model: model, config: training)
        let history = try trainer.train(
            data: &sampler,
            validate: { [self] in
                Float(try self.meanLoss(tokens: corpus.validation, sequenceLength: T, maxTokens: validationTokens))
            }, progress: progress)
        step += training.steps
        return history
    }

    // MARK: Evaluation

    /// Mean next-token cross-entropy (nats) over non-overlapping windows of `tokens`.
    public func meanLoss(tokens: [Int], sequenceLength: Int? = nil, maxTokens: Int? = nil, batchSize: Int = 32) throws
        -> Double
    {
        let T = min(sequenceLength ?? model.config.contextLength, model.config.contextLength)
        var windows = BatchSampler.sequentialWindows(over: tokens, sequenceLength: T)
        if let maxTokens { windows = Array(windows.prefix(max(1, maxTokens / T))) }
        guard !windows.isEmpty else {
            throw LabError.message("evaluation needs at least \(T + 1) tokens; the split has \(tokens.count)")
        }
        return try Evaluation.meanLoss(
            model: model, inputs: windows.map(\.inputs), targets: windows.map(\.targets), batchSize: batchSize)
    }

    /// Loss and perplexity on a split, with the gap to the source's entropy rate when known.
    public func evaluate(on corpus: Corpus, split: Split, maxTokens: Int? = nil) throws -> EvaluationReport {
        let loss = try meanLoss(tokens: corpus.tokens(split), maxTokens: maxTokens)
        var report = EvaluationReport(
            split: split.rawValue, loss: loss, perplexity: exp(loss), entropyRate: corpus.entropyRate, exactMatch: nil)
        if split == .test, let examples = corpus.examples {
            // A traced solution is longer than any other task's answer: let it run to the context's end.
            let traced = examples.contains { $0.answer.first == ThinkMarkers.open }
            let limit = traced ? model.config.contextLength : 24
            report.exactMatch = try exactMatchAccuracy(examples: Array(examples.prefix(200))) { prompt in
                try self.greedyCompletion(prompt, maxTokens: limit)
            }
        }
        return report
    }

    /// Greedy continuation of `prompt` up to a newline or `maxTokens`, as text.
    public func greedyCompletion(_ prompt: String, maxTokens: Int) throws -> String {
        let ids = tokenizer.encode(prompt).map(Int32.init)
        let room = model.config.contextLength - ids.count
        guard room > 0 else { return "" }
        let newline = tokenizer.kind == .character ? tokenizer.id(for: "\n") : nil
        let out = try Sampler(model: model).generate(
            prompts: [Array(ids.suffix(model.config.contextLength))], maxNewTokens: min(maxTokens, room),
            options: SamplingOptions(temperature: 0, stopToken: newline), seed: 0)
        return tokenizer.decode(out[0].map(Int.init))
    }

    // MARK: Checkpoints

    /// Writes the checkpoint: weights, tokenizer, the corpus spec and, for text corpora, the corpus's origin
    /// (name, SHA-256, size), the one record a later eval or attack checks the corpus against.
    public func save(to directory: URL) throws {
        // Sorted keys: identical runs write byte-identical tokenizer files.
        let tokenizerEncoder = JSONEncoder()
        tokenizerEncoder.outputFormatting = [.sortedKeys]
        let tokJSON = tokenizer.kind == .bpe ? tokenizer.huggingFaceJSON() : try tokenizerEncoder.encode(tokenizer)
        var meta: [String: String] = [:]
        if let spec = corpusSpec {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            meta["corpus"] = String(decoding: try enc.encode(spec), as: UTF8.self)
        }
        if let origin = corpusOrigin { meta.merge(origin.metadata) { a, _ in a } }
        try Checkpoint.save(
            directory: directory, config: model.config, layout: model.layout, parameters: model.parameters,
            tokenizerJSON: tokJSON, step: step, metadata: meta)
    }

    public static func load(from directory: URL) throws -> LanguageModel {
        let ck = try Checkpoint.load(directory: directory)
        guard let tokData = ck.tokenizerJSON else {
            throw LabError.file(
                path: directory.appendingPathComponent(Tokenizer.fileName).path,
                message: "missing; a DistillLab checkpoint needs its tokenizer file")
        }
        let tokenizer: Tokenizer
        do {
            tokenizer = try JSONDecoder().decode(Tokenizer.self, from: tokData)
        } catch {
            throw LabError.file(
                path: directory.appendingPathComponent(Tokenizer.fileName).path,
                message:
                    "is not a valid tokenizer file (\(DecodingErrorText.describe(error))); restore it or re-save the checkpoint"
            )
        }
        guard tokenizer.vocabularySize == ck.config.vocabularySize else {
            throw LabError.file(
                path: directory.path,
                message:
                    "tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(ck.config.vocabularySize)"
            )
        }
        var spec: CorpusSpec?
        if let text = ck.metadata["corpus"], let data = text.data(using: .utf8) {
            spec = try? JSONDecoder().decode(CorpusSpec.self, from: data)
        }
        let lm = LanguageModel(
            model: try GPT(config: ck.config, parameters: ck.parameters), tokenizer: tokenizer, corpusSpec: spec,
            step: ck.step ?? 0)
        if let name = ck.metadata["corpus_name"], let sha = ck.metadata["corpus_sha256"],
            let bytes = ck.metadata["corpus_bytes"].flatMap(Int.init)
        {
            lm.corpusOrigin = CorpusOrigin(name: name, sha256: sha, bytes: bytes)
        }
        return lm
    }

    /// The corpus this checkpoint records, rebuilt. A text corpus whose bytes differ from the recorded origin
    /// (an edited file, an upgraded package) is refused, and so is a corpus whose vocabulary no longer matches
    /// the model's; both errors name the checkpoint and the corpus.
    public func rebuildCorpus(checkpoint: String) throws -> Corpus {
        guard let spec = corpusSpec else {
            throw LabError.message(
                "\(checkpoint) does not record the corpus it was trained on, so it cannot be rebuilt")
        }
        let corpus = try spec.build()
        if let recorded = corpusOrigin, let now = corpus.origin,
            recorded.sha256 != now.sha256 || recorded.bytes != now.bytes
        {
            throw LabError.file(
                path: spec.path ?? spec.source ?? now.name,
                message:
                    "has changed since \(checkpoint) was trained on it (\(now.bytes) bytes, SHA-256 \(now.sha256.prefix(16))…; the checkpoint recorded \(recorded.bytes) bytes, SHA-256 \(recorded.sha256.prefix(16))…); restore the original text, or retrain on the new one"
            )
        }
        guard corpus.tokenizer.vocabularySize == tokenizer.vocabularySize else {
            throw LabError.file(
                path: checkpoint,
                message:
                    "the model's vocabulary has \(tokenizer.vocabularySize) tokens but its corpus (\(spec.path ?? corpus.name)) now gives \(corpus.tokenizer.vocabularySize); the corpus changed since training: restore it or retrain"
            )
        }
        return corpus
    }
}

/// The shape of a model apart from its vocabulary (which the corpus decides).
public struct ModelArchitecture: Codable, Equatable, Sendable {
    public var contextLength: Int = 64
    public var width: Int = 128
    public var layers: Int = 4
    public var heads: Int = 4
    public init(contextLength: Int = 64, width: Int = 128, layers: Int = 4, heads: Int = 4) {
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
    }
    enum CodingKeys: String, CodingKey { case contextLength = "context_length", width, layers, heads }
    public func config(vocabularySize: Int) -> GPTConfig {
        GPTConfig(
            vocabularySize: vocabularySize, contextLength: contextLength, width: width, layers: layers, heads: heads)
    }
}

public struct EvaluationReport: Codable, Sendable {
    public var split: String
    /// Mean cross-entropy, nats per token.
    public var loss: Double
    public var perplexity: Double
    /// The source's exact entropy rate (nats per token), when known.
    public var entropyRate: Double?
    /// Exact-match accuracy on the task test problems, for `tasks` corpora.
    public var exactMatch: Double?
    /// (loss − entropy rate) / entropy rate.
    public var relativeGapToEntropyRate: Double? { entropyRate.map { (loss - $0) / $0 } }
}
