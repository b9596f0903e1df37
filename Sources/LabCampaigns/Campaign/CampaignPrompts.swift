// CampaignPrompts: where a campaign's extraction prompts come from — a small protocol with three strategies,
// uniform random tokens (Krishna et al. 2020's RANDOM "nonsense" queries), natural text from the attacker's
// own corpus (Orekondy et al. 2019's Knockoff Nets transfer set; Krishna et al.'s WIKI), and perturbations
// of earlier queries (Papernot et al. 2017's Jacobian-based augmentation, the synthetic queries PRADA was
// built against), and a registry that also reaches LabAttacks' query strategies (CampaignPrompts+QueryStrategy).
import LabAPI
import LabAttacks
import LabCore

public protocol CampaignPromptSource: AnyObject {
    /// The registry name, e.g. "random_tokens".
    var name: String { get }
    /// The next prompt of proxy `proxy`, drawn from `rng` (each proxy passes its own stream).
    func prompt(proxy: Int, rng: inout LabRNG) throws -> [Int32]
}

/// Every token uniform over the vocabulary except `<unk>` (id 0), length uniform in the range.
public final class CampaignRandomTokens: CampaignPromptSource {
    public let name = "random_tokens"
    public let vocabularySize: Int
    public let lengths: ClosedRange<Int>

    public init(vocabularySize: Int, lengths: ClosedRange<Int>) {
        self.vocabularySize = vocabularySize
        self.lengths = lengths
    }

    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        let n = lengths.lowerBound + rng.int(below: lengths.count)
        return (0..<n).map { _ in Int32(1 + rng.int(below: vocabularySize - 1)) }
    }
}

/// Windows of the benign sources' public train text, sources drawn by the population's weights: the
/// knockoff attacker owns data like the users', and so writes prompts like theirs.
public final class CampaignNaturalPrompts: CampaignPromptSource {
    public let name = "natural"
    public let mixture: BenignMixture
    public let lengths: ClosedRange<Int>

    public init(mixture: BenignMixture, lengths: ClosedRange<Int>) {
        self.mixture = mixture
        self.lengths = lengths
    }

    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        let n = lengths.lowerBound + rng.int(below: lengths.count)
        return mixture.window(source: rng.categorical(mixture.weights), split: .train, length: n, rng: &rng)
    }
}

/// Each proxy starts from `seeds` natural prompts of its own and then sends copies of its earlier prompts
/// (seeds included) with `edits` tokens replaced at random — the text analogue of synthesising new inputs
/// by small steps from old ones (Papernot et al. 2017; Juuti et al. 2019's T-RND is the same idea).
public final class CampaignPerturbedPrompts: CampaignPromptSource {
    public let name = "perturbed"
    public let natural: CampaignNaturalPrompts
    public let seeds: Int
    public let edits: Int
    var pools: [Int: [[Int32]]] = [:]

    public init(mixture: BenignMixture, lengths: ClosedRange<Int>, seeds: Int = 10, edits: Int = 2) {
        natural = CampaignNaturalPrompts(mixture: mixture, lengths: lengths)
        self.seeds = seeds
        self.edits = edits
    }

    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        var pool = pools[proxy] ?? []
        defer { pools[proxy] = pool }
        if pool.count < seeds {
            let p = natural.prompt(proxy: proxy, rng: &rng)
            pool.append(p)
            return p
        }
        var p = pool[rng.int(below: pool.count)]
        for _ in 0..<edits {
            p[rng.int(below: p.count)] = Int32(1 + rng.int(below: natural.mixture.vocabularySize - 1))
        }
        pool.append(p)
        return p
    }
}

public enum CampaignPromptRegistry {
    public typealias Factory = (BenignMixture, ClosedRange<Int>) -> any CampaignPromptSource

    /// The campaign's own strategies, then LabAttacks' (`StrategyRegistry`) under their own names, through
    /// `CampaignQueryStrategy` — those of its strategies a campaign can run.

    /// Every strategy, one line per kind.
    public static let kinds: [(name: String, reference: String, make: Factory)] = [
        (
            "random_tokens", "uniform random tokens (Krishna et al. 2020, RANDOM)",
            { m, l in CampaignRandomTokens(vocabularySize: m.vocabularySize, lengths: l) }
        ),
        (
            "natural", "the attacker's own natural text (Orekondy et al. 2019 Knockoff Nets; Krishna et al. 2020 WIKI)",
            { m, l in CampaignNaturalPrompts(mixture: m, lengths: l) }
        ),
        (
            "perturbed", "random token edits of earlier queries (Papernot et al. 2017 augmentation; PRADA's target)",
            { m, l in CampaignPerturbedPrompts(mixture: m, lengths: l) }
        ),
    ]

    public static var names: [String] {
        kinds.map(\.name)
            + StrategyRegistry.names.filter { n in
                !kinds.contains { $0.name == n } && CampaignQueryStrategy.unsupported[n] == nil
            }
    }

    public static func make(
        _ name: String, mixture: BenignMixture, lengths: ClosedRange<Int>, seed: UInt64, teacher: any TeacherAPI
    ) throws -> any CampaignPromptSource {
        if let kind = kinds.first(where: { $0.name == name }) { return kind.make(mixture, lengths) }
        guard StrategyRegistry.names.contains(name) else {
            throw LabError.invalidConfig(
                key: "attack.strategy",
                message: "'\(name)' is not a campaign strategy; known: \(names.joined(separator: ", "))")
        }
        return try CampaignQueryStrategy(name: name, mixture: mixture, lengths: lengths, seed: seed, teacher: teacher)
    }
}
