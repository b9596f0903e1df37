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
    /// Size and hash of the text corpus file, when the checkpoint recorded them.
    public var recordedCorpusFile: (bytes: Int, hash: String)?
    /// Training steps taken so far.
    public var step: Int
    /// Where the training text came from (text corpora): saved as corpus_name, corpus_sha256, corpus_bytes.
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

    /// Writes the checkpoint. `corpusFile`, the text file a text corpus was read from, has its size and hash
    /// recorded so that a later eval or attack can tell the file changed (`verifyCorpusFile`).
    public func save(to directory: URL, corpusFile: String? = nil) throws {
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
        if let corpusFile {
            let data = try FileRead.data(corpusFile, what: "the text corpus")
            meta[Self.corpusBytesKey] = String(data.count)
            meta[Self.corpusHashKey] = Self.fingerprint(data)
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
        guard tokenizer.vocabularySize == ck.config.vocabSize else {
            throw LabError.file(
                path: directory.path,
                message:
                    "tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(ck.config.vocabSize)"
            )
        }
        var spec: CorpusSpec?
        if let text = ck.metadata["corpus"], let data = text.data(using: .utf8) {
            spec = try? JSONDecoder().decode(CorpusSpec.self, from: data)
        }
        let lm = LanguageModel(
            model: try GPT(config: ck.config, parameters: ck.parameters), tokenizer: tokenizer, corpusSpec: spec,
            step: ck.step ?? 0)
        lm.recordedCorpusFile = ck.metadata[corpusBytesKey].flatMap(Int.init).map {
            ($0, ck.metadata[corpusHashKey] ?? "")
        }
        if let name = ck.metadata["corpus_name"], let sha = ck.metadata["corpus_sha256"],
            let bytes = ck.metadata["corpus_bytes"].flatMap(Int.init)
        {
            lm.corpusOrigin = CorpusOrigin(name: name, sha256: sha, bytes: bytes)
        }
        return lm
    }

    static let corpusBytesKey = "corpus_file_bytes"
    static let corpusHashKey = "corpus_file_fnv1a64"

    /// 64-bit FNV-1a of the bytes, in hex: enough to notice an edited corpus file.
    static func fingerprint(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }

    /// Throws when the checkpoint recorded its text corpus file's size and hash and the file now differs.
    public func verifyCorpusFile(checkpoint: String) throws {
        guard let (bytes, hash) = recordedCorpusFile, let path = corpusSpec?.path else { return }
        let data = try FileRead.data(
            path, what: "the text corpus this checkpoint was trained on", fix: "restore it at that path")
        guard data.count == bytes, Self.fingerprint(data) == hash else {
            throw LabError.file(
                path: path,
                message:
                    "has changed since \(checkpoint) was trained on it (\(data.count) bytes, hash \(Self.fingerprint(data)); the checkpoint recorded \(bytes) bytes, hash \(hash)); restore the original file, or retrain on the new one"
            )
        }
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
        GPTConfig(vocabSize: vocabularySize, contextLength: contextLength, width: width, layers: layers, heads: heads)
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
