// QueryStrategy: where an attacker's prompts come from — the protocol, what a strategy is given once and
// every round, and the registry from config names to strategies (one file per strategy). Not the
// queries themselves (HarvestMode turns prompts into queries) and not the budget (AttackerClient).
import LabAPI
import LabCore
import LabModel

/// What a strategy learns once, before the first round.
public struct StrategySetup {
    public var vocabularySize: Int
    /// Prompt lengths, in tokens: each prompt's length is drawn uniformly from this range.
    public var lengths: ClosedRange<Int>
    /// The strategy's own seed: every draw it makes comes from streams of it.
    public var seed: UInt64
    /// The attacker's own text for a source (see `CorpusSource`).
    public var text: (CorpusSource) throws -> [Int32]
    /// The attacker's own text by topic, with the share of its prompts each gets (a campaign's attacker owns
    /// the train text of every benign source); empty: one topic, `text(.train)`.
    public var topics: [(weight: Double, text: [Int32])] = []

    public init(
        vocabularySize: Int, lengths: ClosedRange<Int>, seed: UInt64, text: @escaping (CorpusSource) throws -> [Int32]
    ) {
        self.vocabularySize = vocabularySize
        self.lengths = lengths
        self.seed = seed
        self.text = text
    }
}

/// What a strategy may use in one round, and what it reports spending there.
public final class StrategyRound {
    /// The attacker's API client: a strategy that buys its own prompts (bootstrap) spends through it,
    /// under the same stop line as the harvest.
    public let client: AttackerClient
    /// The student as trained so far (active selection ranks prompts with it).
    public let student: GPT
    /// Where the harvest mode's targets sit, so a strategy scores the positions that will be bought.
    public let coverage: TargetCoverage
    /// Student inference FLOPs the strategy spent choosing prompts.
    public var studentFlops: Double = 0
    /// API usage the strategy bought for itself.
    public var overhead: Usage = .zero

    public init(client: AttackerClient, student: GPT, coverage: TargetCoverage) {
        self.client = client
        self.student = student
        self.coverage = coverage
    }
}

public protocol QueryStrategy: AnyObject {
    /// The registry name, e.g. "own_corpus".
    var name: String { get }
    /// Every parameter with its value, defaults included.
    var parameters: [(key: String, value: String)] { get }
    /// Whether the strategy ranks prompts with the current student, so the attack trains the student
    /// between rounds rather than only at milestones.
    var isAdaptive: Bool { get }
    func prepare(_ setup: StrategySetup) throws
    /// Up to `count` prompts. Fewer (or none) means the strategy could not buy what it needed within the
    /// stop line: the attack then ends the milestone.
    func prompts(count: Int, round: StrategyRound) throws -> [[Int32]]
    /// The records the last prompts bought (bootstrap reuses the teacher's completions).
    func observe(_ records: [HarvestRecord])
}

/// A strategy a proxy campaign can run: one prompt at a time for one proxy, every draw from the proxy's own
/// stream, so that how the proxies interleave cannot change what any of them sends. Prepared once for all.
public protocol ProxyPromptStrategy: QueryStrategy {
    func prompt(proxy: Int, rng: inout LabRNG) throws -> [Int32]
}

extension QueryStrategy {
    public var isAdaptive: Bool { false }
    public func observe(_ records: [HarvestRecord]) {}

    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty
            ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// A strategy the registry can build from a config file.
public protocol RegisteredStrategy: QueryStrategy {
    static var registryName: String { get }
    /// One line: what it sends, and the paper it follows.
    static var reference: String { get }
    static var parameterDocs: [ParameterDoc] { get }
    init(parameters: inout AttackParameters) throws
}

extension RegisteredStrategy {
    public var name: String { Self.registryName }
}

public enum StrategyRegistry {
    /// Every strategy, one line per kind.
    public static let kinds: [any RegisteredStrategy.Type] = [
        RandomTokens.self,  // random_tokens
        OwnCorpus.self,  // own_corpus
        NaturalPrompts.self,  // natural
        PerturbedPrompts.self,  // perturbed
        TeacherBootstrap.self,  // teacher_bootstrap
        ActiveSelection.self,  // active
    ]

    public static var names: [String] { kinds.map { $0.registryName } }

    /// Builds one strategy; throws `LabError.invalidConfig` for an unknown name, a bad value or an unknown key.
    /// `kinds`: the registry's own unless a caller adds its parts.
    public static func make(_ spec: StrategySpec, kinds: [any RegisteredStrategy.Type] = kinds) throws
        -> any QueryStrategy
    {
        guard let type = kinds.first(where: { $0.registryName == spec.name }) else {
            throw LabError.invalidConfig(
                key: "strategy",
                message:
                    "'\(spec.name)' is not a query strategy; known: \(kinds.map { $0.registryName }.joined(separator: ", "))"
            )
        }
        var params = AttackParameters(spec)
        let strategy = try type.init(parameters: &params)
        try params.finish()
        return strategy
    }

    public static var documentation: String { documentation(of: kinds) }

    public static func documentation(of kinds: [any RegisteredStrategy.Type]) -> String {
        partDocumentationTable(heading: "name", kinds.map { ($0.registryName, $0.reference, $0.parameterDocs) })
    }
}

/// Reads `source` (and `mix` for related) the way own_corpus and active spell them.
/// The `source` and `mix` parameters of the strategies that prompt with the attacker's own text.
public enum CorpusSourceParameters {
    /// `source` is read by hand (a `file:PATH` value is free text); this is its line in the docs.
    public static let source = ParameterDoc(
        "source", "fresh",
        "`train` (the teacher's public train split), `fresh` (a new sample of the same source), `related` (markov: a mixed chain), `split` (a text corpus's attacker part, disjoint from the teacher's text) or `file:PATH` (the attacker's own UTF-8 file)"
    )
    public static let mix = PartParameter.double(
        "mix", 0.5, valid: { (0...1).contains($0) }, "must be in [0, 1]: the share of the other chain",
        meaning: "source: related only — the other chain's share of every next-symbol distribution")
}

func readSource(_ p: inout AttackParameters) throws -> CorpusSource {
    if p.contains("source"), let text = try p.string("source"), text.hasPrefix("file:") {
        let path = String(text.dropFirst("file:".count))
        guard !path.isEmpty else {
            throw LabError.invalidConfig(key: p.key("source"), message: "is 'file:' without a path; write file:PATH")
        }
        return .file(path: path)
    }
    let word = try p.choice(
        "source", CorpusSourceParameters.source.defaultValue, ["train", "fresh", "related", "split", "file:PATH"])
    if p.contains("mix"), word != "related" {
        throw LabError.invalidConfig(key: p.key("mix"), message: "applies to source: related only (source is \(word))")
    }
    let mix = try p.read(CorpusSourceParameters.mix)
    switch word {
    case "train": return .train
    case "split": return .split
    case "related": return .related(mix: mix)
    default: return .fresh
    }
}

extension LabRNG {
    /// A length drawn uniformly from `range`.
    mutating func length(in range: ClosedRange<Int>) -> Int { range.lowerBound + int(below: range.count) }
}
