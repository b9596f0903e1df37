// Perturbed prompts: each proxy starts from `seeds` natural prompts of its own and then sends copies of its
// earlier prompts (seeds included) with `edits` tokens replaced at random — the text analogue of synthesising
// new inputs by small steps from old ones (Papernot et al. 2017's Jacobian-based augmentation; Juuti et al.
// 2019's T-RND), the synthetic queries PRADA was built against. Not a gradient step: the attacker has none.
import LabAPI
import LabCore

public final class PerturbedPrompts: RegisteredStrategy, ProxyPromptStrategy {
    public static let registryName = "perturbed"
    public static let reference =
        "random token edits of earlier queries (Papernot et al. 2017 augmentation; PRADA's target)"

    public enum Declared {
        public static let seeds = PartParameter.int(
            "seeds", 10, atLeast: 1, meaning: "natural prompts each proxy sends before it starts editing")
        public static let edits = PartParameter.int(
            "edits", 2, atLeast: 1, meaning: "tokens replaced at random in each copy of an earlier prompt")
    }
    public static let parameterDocs = [Declared.seeds.doc, Declared.edits.doc]

    public let natural = NaturalPrompts()
    public let seeds: Int
    public let edits: Int
    var vocabularySize = 2
    var pools: [Int: [[Int32]]] = [:]
    var rng = LabRNG(seed: 0)

    public init(seeds: Int = Declared.seeds.defaultValue, edits: Int = Declared.edits.defaultValue) {
        self.seeds = seeds
        self.edits = edits
    }

    public convenience init(parameters p: inout AttackParameters) throws {
        self.init(seeds: try p.read(Declared.seeds), edits: try p.read(Declared.edits))
    }

    public var parameters: [(key: String, value: String)] { [("seeds", String(seeds)), ("edits", String(edits))] }

    public func prepare(_ setup: StrategySetup) throws {
        try natural.prepare(setup)
        vocabularySize = setup.vocabularySize
        pools = [:]
        rng = LabRNG(seed: setup.seed, stream: "perturbed")
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        (0..<count).map { _ in prompt(proxy: 0, rng: &rng) }
    }

    /// The proxy's next prompt: one of its first `seeds` natural ones, then an edited copy of one it sent.
    public func prompt(proxy: Int, rng: inout LabRNG) -> [Int32] {
        var pool = pools[proxy] ?? []
        defer { pools[proxy] = pool }
        if pool.count < seeds {
            let p = natural.prompt(proxy: proxy, rng: &rng)
            pool.append(p)
            return p
        }
        var p = pool[rng.int(below: pool.count)]
        for _ in 0..<edits { p[rng.int(below: p.count)] = Int32(1 + rng.int(below: vocabularySize - 1)) }
        pool.append(p)
        return p
    }
}
