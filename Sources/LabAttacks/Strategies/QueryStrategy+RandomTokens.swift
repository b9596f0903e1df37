// Random-token prompts: every token uniform over the vocabulary — the "nonsense" queries of Krishna et
// al. 2020 ("Thieves on Sesame Street!", RANDOM), which need no data at all. Lengths uniform in the
// configured range. Not a corpus sample; the attacker knows only the vocabulary.
import LabAPI
import LabCore

public final class RandomTokens: RegisteredStrategy {
    public static let registryName = "random_tokens"
    public static let reference = "uniform random tokens, no data needed (Krishna et al. 2020, RANDOM)"
    public static let parameterDocs: [ParameterDoc] = []

    var rng = LabRNG(seed: 0)
    var vocabularySize = 2
    var lengths = 1...1

    public init() {}
    public convenience init(parameters p: inout AttackParameters) throws { self.init() }

    public var parameters: [(key: String, value: String)] { [] }

    public func prepare(_ setup: StrategySetup) throws {
        rng = LabRNG(seed: setup.seed, stream: "random-tokens")
        vocabularySize = setup.vocabularySize
        lengths = setup.lengths
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        (0..<count).map { _ in (0..<rng.length(in: lengths)).map { _ in Int32(rng.int(below: vocabularySize)) } }
    }
}
