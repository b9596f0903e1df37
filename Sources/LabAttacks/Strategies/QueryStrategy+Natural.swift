// Natural prompts: windows of the attacker's own text, each from a topic drawn by its weight — the knockoff
// attacker owns data like the users' and so writes prompts like theirs (Orekondy et al. 2019's Knockoff Nets
// transfer set; Krishna et al. 2020's WIKI). With one topic (an attack's `text(.train)`) it is own_corpus on
// the train split. Not held-out text.
import LabAPI
import LabCore

public final class NaturalPrompts: RegisteredStrategy, ProxyPromptStrategy {
    public static let registryName = "natural"
    public static let reference =
        "windows of the attacker's own text, topics by their weights (Orekondy et al. 2019 Knockoff Nets; Krishna et al. 2020 WIKI)"
    public static let parameterDocs: [ParameterDoc] = []

    var topics: [(weight: Double, text: [Int32])] = []
    var weights: [Double] = []
    var lengths = 1...1
    var rng = LabRNG(seed: 0)

    public init() {}
    public convenience init(parameters p: inout AttackParameters) throws { self.init() }

    public var parameters: [(key: String, value: String)] { [] }

    public func prepare(_ setup: StrategySetup) throws {
        topics = setup.topics.isEmpty ? [(1, try setup.text(.train))] : setup.topics
        guard topics.allSatisfy({ !$0.text.isEmpty }), topics.contains(where: { $0.weight > 0 }) else {
            throw LabError.invalidConfig(
                key: "strategy.natural",
                message: "has an empty topic or no positive weight; it needs text to prompt with")
        }
        weights = topics.map(\.weight)
        lengths = setup.lengths
        rng = LabRNG(seed: setup.seed, stream: "natural")
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        (0..<count).map { _ in prompt(proxy: 0, rng: &rng) }
    }

    /// A length uniform in the range, a topic by the weights, then a window of its text (shorter if the
    /// text is).
    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        let n = lengths.lowerBound + rng.int(below: lengths.count)
        let text = topics[rng.categorical(weights)].text
        let m = min(n, text.count)
        let start = rng.int(below: text.count - m + 1)
        return Array(text[start..<(start + m)])
    }
}
