// BenignMixture: the text honest users write, as a weighted mixture of LabData sources (grammar sentences,
// task problems, Markov text, a text file), all re-encoded in one character vocabulary so a single teacher
// and the detectors see them alike. Which split serves whom is fixed: train fits the teacher and is the
// attacker's public corpus, validation is what users send, test measures fidelity. Not the users (BenignPopulation).
import Foundation
import LabCore
import LabData
import LabModel

/// Which sources, in what proportion, and how much text of each.
public struct BenignMixtureSpec: Equatable, Sendable {
    /// Source name → weight: grammar, tasks, markov, text (text needs `textPath`). Weights need not sum to 1.
    public var sources: [String: Double] = ["grammar": 0.5, "tasks": 0.3, "markov": 0.2]
    /// A UTF-8 file for the `text` source.
    public var textPath: String?
    /// Tokens of each split of each generated source (the text source splits its file 90/5/5).
    public var tokensPerSplit = 40_000
    public var seed: UInt64 = 0

    public init() {}

    public static let knownSources = ["grammar", "markov", "tasks", "text"]

    public func validate() throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "world.\(key)", message: message)
        }
        guard !sources.isEmpty else {
            throw fail(
                "sources", "is empty; give at least one of \(Self.knownSources.joined(separator: ", ")) with a weight")
        }
        for (name, w) in sources.sorted(by: { $0.key < $1.key }) {
            guard Self.knownSources.contains(name) else {
                throw fail("sources.\(name)", "is not a source; known: \(Self.knownSources.joined(separator: ", "))")
            }
            guard w > 0, w.isFinite else { throw fail("sources.\(name)", "has weight \(w); weights must be positive") }
        }
        if sources["text"] != nil, textPath?.isEmpty ?? true {
            throw fail("text_path", "is missing; the text source needs the path of a UTF-8 file")
        }
        guard tokensPerSplit >= 1000 else {
            throw fail(
                "tokens_per_split",
                "is \(tokensPerSplit); must be at least 1000 so prompts can be drawn from every split")
        }
    }
}

public final class BenignMixture {
    public struct Source: Sendable {
        public let name: String
        /// Normalised weight.
        public let weight: Double
        public let train: [Int32]
        public let validation: [Int32]
        public let test: [Int32]

        public func tokens(_ split: Split) -> [Int32] {
            switch split {
            case .train: return train
            case .validation: return validation
            case .test: return test
            }
        }
    }

    public let spec: BenignMixtureSpec
    /// Character level over every character of every source, most frequent first, `<unk>` at 0.
    public let tokenizer: Tokenizer
    /// Sources in name order.
    public let sources: [Source]

    public var vocabularySize: Int { tokenizer.vocabularySize }
    public var weights: [Double] { sources.map(\.weight) }

    public init(spec: BenignMixtureSpec) throws {
        try spec.validate()
        self.spec = spec
        let names = spec.sources.keys.sorted()
        var texts: [(name: String, splits: [String])] = []
        for name in names {
            let corpus: Corpus
            switch name {
            case "grammar": corpus = try Self.sized(.grammar(seed: spec.seed), spec.tokensPerSplit).build()
            case "tasks": corpus = try Self.sized(.tasks(.mixed, seed: spec.seed), spec.tokensPerSplit).build()
            case "markov":
                corpus = try Self.sized(
                    .markov(symbols: 16, order: 2, concentration: 0.3, seed: spec.seed), spec.tokensPerSplit
                ).build()
            default: corpus = try CorpusSpec.text(path: spec.textPath ?? "", tokenizer: .character).build()
            }
            texts.append((name, Split.allCases.map { corpus.tokenizer.decode(corpus.tokens($0)) }))
        }
        let shared = try Tokenizer.characterLevel(from: texts.flatMap(\.splits).joined())
        let weights = spec.sources
        let total = names.reduce(0) { $0 + (weights[$1] ?? 0) }
        tokenizer = shared
        sources = texts.map { t in
            let encoded = t.splits.map { shared.encode($0).map(Int32.init) }
            return Source(
                name: t.name, weight: (weights[t.name] ?? 0) / total, train: encoded[0], validation: encoded[1],
                test: encoded[2])
        }
    }

    static func sized(_ spec: CorpusSpec, _ tokens: Int) -> CorpusSpec {
        var s = spec
        s.trainTokens = tokens
        s.validationTokens = tokens
        s.testTokens = tokens
        return s
    }

    /// A window of `length` tokens of source `source`'s `split`, at a uniform offset.
    public func window(source: Int, split: Split, length: Int, rng: inout LabRNG) -> [Int32] {
        let text = sources[source].tokens(split)
        let n = min(length, text.count)
        let start = rng.int(below: text.count - n + 1)
        return Array(text[start..<(start + n)])
    }

    /// Each source's hashed n-gram distribution, as a defender would estimate its traffic's topics from
    /// `prompts` logged prompts per source: windows of the validation split (the text users send), drawn from
    /// a stream of `seed` that no simulated user draws from.
    public func topicProfiles(prompts count: Int, lengths: PromptLengths, seed: UInt64) -> [SIMD64<Float>] {
        sources.indices.map { s in
            var rng = LabRNG(seed: seed, stream: "benign-profile-\(sources[s].name)")
            var sum = SIMD64<Float>(repeating: 0)
            for _ in 0..<count {
                sum +=
                    PromptFeatures(prompt: window(source: s, split: .validation, length: lengths.draw(&rng), rng: &rng))
                    .counts
            }
            return sum / max(1, sum.sum())
        }
    }
}

/// Prompt lengths in tokens: log-normal around a median, clipped — most prompts short, a few long.
public struct PromptLengths: Equatable, Sendable {
    public var median = 16.0
    public var sigma = 0.5
    public var min = 4
    public var max = 48

    public init(median: Double = 16, sigma: Double = 0.5, min: Int = 4, max: Int = 48) {
        self.median = median
        self.sigma = sigma
        self.min = min
        self.max = max
    }

    public func validate(prefix: String) throws {
        func fail(_ key: String, _ message: String) -> LabError {
            LabError.invalidConfig(key: "\(prefix).\(key)", message: message)
        }
        guard median >= 1, median.isFinite else { throw fail("median", "is \(median); must be at least 1 token") }
        guard sigma >= 0, sigma.isFinite else { throw fail("sigma", "is \(sigma); must be 0 or more") }
        guard min >= 1 else { throw fail("min", "is \(min); a prompt has at least 1 token") }
        guard max >= min else { throw fail("max", "is \(max); must be at least min (\(min))") }
    }

    public func draw(_ rng: inout LabRNG) -> Int {
        let x = (median * Foundation.exp(sigma * rng.normal())).rounded()
        return Swift.min(max, Swift.max(min, Int(x)))
    }
}

extension PromptLengths: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case median, sigma, min, max }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "prompt_tokens")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        median = try c.decodeIfPresent(Double.self, forKey: .median) ?? median
        sigma = try c.decodeIfPresent(Double.self, forKey: .sigma) ?? sigma
        min = try c.decodeIfPresent(Int.self, forKey: .min) ?? min
        max = try c.decodeIfPresent(Int.self, forKey: .max) ?? max
    }
}

extension BenignMixtureSpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case sources, textPath = "text_path", tokensPerSplit = "tokens_per_split", seed
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "world")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        sources = try c.decodeIfPresent([String: Double].self, forKey: .sources) ?? sources
        textPath = try c.decodeIfPresent(String.self, forKey: .textPath)
        tokensPerSplit = try c.decodeIfPresent(Int.self, forKey: .tokensPerSplit) ?? tokensPerSplit
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        try validate()
    }
}
