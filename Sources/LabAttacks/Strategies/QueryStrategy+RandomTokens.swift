// Random-token prompts: every token uniform over the vocabulary — the "nonsense" queries of Krishna et
// al. 2020 ("Thieves on Sesame Street!", RANDOM), which need no data at all. Lengths uniform in the
// configured range. Not a corpus sample; the attacker knows only the vocabulary. A campaign's proxies draw
// from their own streams and skip `<unk>` (id 0), which no text holds.
import LabAPI
import LabCore

public final class RandomTokens: RegisteredStrategy, ProxyPromptStrategy {
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

extension RandomTokens {
    /// Every token uniform over the vocabulary except `<unk>` (id 0), length uniform in the range.
    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        let n = lengths.lowerBound + rng.int(below: lengths.count)
        return (0..<n).map { _ in Int32(1 + rng.int(below: vocabularySize - 1)) }
    }
}
