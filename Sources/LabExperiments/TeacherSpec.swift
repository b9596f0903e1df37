// TeacherSpec: the `teacher:` section — corpus, model shape and training — read as a closed schema with every
// default filled in, validated before any work (heads dividing width, sizes the machine can hold), and hashed
// by content so the cache can reuse a trained teacher. Not the training itself (LanguageModel) nor the cache.
import Foundation
import LabCore
import LabData
import LabModel

public struct TeacherSpec: Equatable, Sendable {
    public var corpus: CorpusSpec
    public var model: ModelArchitecture
    public var training: TrainingConfig

    public init(
        corpus: CorpusSpec, model: ModelArchitecture = ModelArchitecture(), training: TrainingConfig = TrainingConfig()
    ) {
        self.corpus = corpus
        self.model = model
        self.training = training
    }

    /// Upper bounds that keep a typo (an extra zero or three) from asking for more memory or time than a
    /// lab machine has; raise them here if a real experiment needs more.
    public enum Limits {
        public static let contextLength = 1...2048
        public static let width = 1...2048
        public static let layers = 1...48
        public static let steps = 1...10_000_000
        public static let batchSize = 1...1024
        public static let splitTokens = 1...50_000_000
    }

    /// Problems with this spec for a corpus of `vocabularySize` tokens whose splits hold `splitTokens`
    /// tokens (known after building; nil to skip those checks), as issues under `teacher.`.
    public func issues(vocabularySize: Int, splitTokens: [Split: Int]? = nil) -> [SpecIssue] {
        var out: [SpecIssue] = []
        func check(_ ok: Bool, _ path: [String], _ message: String, fix: String? = nil) {
            if !ok { out.append(SpecIssue(["teacher"] + path, message, fix: fix)) }
        }
        do { try corpus.validate() } catch let LabError.invalidConfig(key, message) {
            out.append(SpecIssue(["teacher", "corpus", key], message))
        } catch {
            out.append(SpecIssue(["teacher", "corpus"], "\(error)"))
        }
        if corpus.kind != .text {
            for (key, value) in [
                ("train_tokens", corpus.trainTokens), ("validation_tokens", corpus.validationTokens),
                ("test_tokens", corpus.testTokens),
            ] {
                check(
                    Limits.splitTokens.contains(value), ["corpus", key],
                    "is \(value); allowed range \(Limits.splitTokens.lowerBound)...\(Limits.splitTokens.upperBound)")
            }
        }
        let m = model
        check(
            Limits.contextLength.contains(m.contextLength), ["model", "context_length"],
            "is \(m.contextLength); allowed range \(Limits.contextLength.lowerBound)...\(Limits.contextLength.upperBound)"
        )
        check(
            Limits.width.contains(m.width), ["model", "width"],
            "is \(m.width); allowed range \(Limits.width.lowerBound)...\(Limits.width.upperBound)")
        check(
            Limits.layers.contains(m.layers), ["model", "layers"],
            "is \(m.layers); allowed range \(Limits.layers.lowerBound)...\(Limits.layers.upperBound)")
        if (1...max(1, m.width)).contains(m.heads), m.width >= 1, m.width % m.heads != 0 {
            let divisors = (1...min(m.width, 64)).filter { m.width % $0 == 0 }.suffix(5).map(String.init).joined(
                separator: ", ")
            check(
                false, ["model", "heads"],
                "\(m.heads) heads do not divide width \(m.width); allowed: a divisor of \(m.width)",
                fix: "use one of \(divisors)")
        } else {
            check(
                (1...max(1, m.width)).contains(m.heads), ["model", "heads"],
                "is \(m.heads); allowed range 1...\(max(1, m.width)) and a divisor of width \(m.width)")
        }
        let t = training
        check(
            Limits.steps.contains(t.steps), ["training", "steps"],
            "is \(t.steps); allowed range \(Limits.steps.lowerBound)...\(Limits.steps.upperBound)")
        check(
            Limits.batchSize.contains(t.batchSize), ["training", "batch_size"],
            "is \(t.batchSize); allowed range \(Limits.batchSize.lowerBound)...\(Limits.batchSize.upperBound)")
        if let s = t.sequenceLength {
            check(
                (1...max(1, m.contextLength)).contains(s), ["training", "sequence_length"],
                "is \(s); allowed range 1...\(m.contextLength) (the model's context_length)")
        }
        check(
            t.learningRate > 0 && t.learningRate.isFinite && t.learningRate <= 1, ["training", "learning_rate"],
            "is \(t.learningRate); allowed range (0, 1]")
        check(
            t.warmupSteps >= 0 && t.warmupSteps <= Limits.steps.upperBound, ["training", "warmup_steps"],
            "is \(t.warmupSteps); allowed range 0...\(Limits.steps.upperBound)")
        check(
            (0...1).contains(t.minLearningRateFraction), ["training", "min_learning_rate_fraction"],
            "is \(t.minLearningRateFraction); allowed range [0, 1]")
        check(
            t.weightDecay >= 0 && t.weightDecay.isFinite, ["training", "weight_decay"],
            "is \(t.weightDecay); allowed range [0, ∞)")
        check(
            t.gradientClip > 0 && t.gradientClip.isFinite, ["training", "gradient_clip"],
            "is \(t.gradientClip); allowed range (0, ∞)")
        check(t.beta1 >= 0 && t.beta1 < 1, ["training", "beta1"], "is \(t.beta1); allowed range [0, 1)")
        check(t.beta2 >= 0 && t.beta2 < 1, ["training", "beta2"], "is \(t.beta2); allowed range [0, 1)")
        check(
            t.evalInterval >= 0, ["training", "eval_interval"],
            "is \(t.evalInterval); allowed range 0 (only at the end) or more")
        check(
            vocabularySize >= 2, ["corpus"], "gives a vocabulary of \(vocabularySize) tokens; a model needs at least 2")
        // Training windows and evaluation windows need context + 1 tokens in their split.
        if let sizes = splitTokens, Limits.contextLength.contains(m.contextLength) {
            let window = (t.sequenceLength ?? m.contextLength) + 1
            for (split, key) in [
                (Split.train, "train_tokens"), (.validation, "validation_tokens"), (.test, "test_tokens"),
            ] {
                guard let n = sizes[split] else { continue }
                let need = split == .train ? window : m.contextLength + 1
                let path =
                    corpus.kind == .text ? ["corpus", corpus.source == nil ? "path" : "source"] : ["corpus", key]
                check(
                    n >= need, path,
                    "gives a \(split.rawValue) split of \(n) tokens; it needs at least \(need) (context_length + 1)",
                    fix: corpus.kind == .text
                        ? "use a longer file or a shorter context_length" : "raise \(key) or lower model.context_length"
                )
            }
        }
        return out
    }

    /// The content hash the cache files a trained teacher under: SHA-256 of the canonical JSON of the whole
    /// spec (defaults included), the cache format, and for text corpora the file's (or the built-in corpus's
    /// files') own hash — so editing the text, or any number that changes training, trains a new teacher.
    public func contentHash() throws -> String {
        var parts = [try CanonicalJSON.string(self), "teacher-cache-format-\(TeacherCache.format)"]
        if corpus.kind == .text, let path = corpus.path {
            let data: Data
            data = try FileRead.data(
                path, what: "the text corpus (teacher.corpus.path)", fix: "check teacher.corpus.path")
            parts.append(SHA256.hex(data))
        }
        if corpus.kind == .text, let source = corpus.source {
            parts.append(SHA256.hex(try NamedCorpus.named(source).contents()))
        }
        return SHA256.hex(Data(parts.joined(separator: "\n").utf8))
    }

    /// FLOPs of training by the 6N + 12·L·C·T per-token convention (PaLM appendix B), N counting the
    /// unembedding once: steps × batch × sequence length tokens.
    public func trainingFlops(vocabularySize: Int) -> Double {
        let T = training.sequenceLength ?? model.contextLength
        let config = model.config(vocabularySize: vocabularySize)
        return Double(trainingTokens) * config.trainingFlopsPerToken(sequenceLength: T)
    }

    public var trainingTokens: Int {
        training.steps * training.batchSize * (training.sequenceLength ?? model.contextLength)
    }
}

extension TeacherSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable { case corpus, model, training }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        corpus = try c.decode(CorpusFields.self, forKey: .corpus).value
        model = try c.decodeIfPresent(ArchitectureFields.self, forKey: .model)?.value ?? ModelArchitecture()
        training = try c.decodeIfPresent(TrainingFields.self, forKey: .training)?.value ?? TrainingConfig()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(corpus, forKey: .corpus)
        try c.encode(model, forKey: .model)
        try c.encode(training, forKey: .training)
    }
}

/// `teacher.corpus`: checks the kind and the keys it takes (with a did-you-mean) before CorpusSpec reads them.
struct CorpusFields: Decodable {
    var value: CorpusSpec

    init(from decoder: Decoder) throws {
        let path = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: PathKey.self)
        let kinds = CorpusSpec.Kind.allCases.map(\.rawValue)
        guard c.contains(PathKey(stringValue: "kind")) else {
            throw SpecIssue(path, "has no 'kind'", fix: "add `kind:` with one of \(kinds.joined(separator: ", "))")
        }
        let name = try c.decode(String.self, forKey: PathKey(stringValue: "kind"))
        guard let kind = CorpusSpec.Kind(rawValue: name) else {
            throw SpecIssue(
                path + ["kind"], "unknown corpus kind '\(name)'",
                fix: EditDistance.hint(for: name, among: kinds, noun: "kinds"))
        }
        let allowed = CorpusSpec.keys(for: kind)
        for key in c.allKeys.map(\.stringValue) where !allowed.contains(key) {
            let owners = CorpusSpec.Kind.allCases.filter { CorpusSpec.keys(for: $0).contains(key) }.map(\.rawValue)
            let belongs = owners.isEmpty ? "" : " (it belongs to kind \(owners.joined(separator: " / ")))"
            throw SpecIssue(
                path + [key], "unknown key for a \(name) corpus\(belongs)",
                fix: EditDistance.hint(for: key, among: allowed, noun: "a \(name) corpus takes"), atKey: true)
        }
        for key in allowed { _ = c.contains(PathKey(stringValue: key)) }
        value = try CorpusSpec(from: decoder)
    }
}

/// `teacher.model`: any of the four keys; the rest keep ModelArchitecture's defaults.
struct ArchitectureFields: Decodable {
    var value: ModelArchitecture
    enum Keys: String, CodingKey { case contextLength = "context_length", width, layers, heads }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        var m = ModelArchitecture()
        if let v = try c.decodeIfPresent(Int.self, forKey: .contextLength) { m.contextLength = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .width) { m.width = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .layers) { m.layers = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .heads) { m.heads = v }
        value = m
    }
}

/// `teacher.training`: any of TrainingConfig's keys; the rest keep its defaults.
struct TrainingFields: Decodable {
    var value: TrainingConfig
    enum Keys: String, CodingKey {
        case steps, batchSize = "batch_size", sequenceLength = "sequence_length", learningRate = "learning_rate"
        case warmupSteps = "warmup_steps", minLearningRateFraction = "min_learning_rate_fraction"
        case weightDecay = "weight_decay", gradientClip = "gradient_clip", beta1, beta2, evalInterval = "eval_interval",
            seed
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        var t = TrainingConfig()
        if let v = try c.decodeIfPresent(Int.self, forKey: .steps) { t.steps = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .batchSize) { t.batchSize = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .sequenceLength) { t.sequenceLength = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .learningRate) { t.learningRate = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) { t.warmupSteps = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .minLearningRateFraction) { t.minLearningRateFraction = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .weightDecay) { t.weightDecay = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .gradientClip) { t.gradientClip = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .beta1) { t.beta1 = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .beta2) { t.beta2 = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .evalInterval) { t.evalInterval = v }
        if let v = try c.decodeIfPresent(UInt64.self, forKey: .seed) { t.seed = v }
        value = t
    }
}
