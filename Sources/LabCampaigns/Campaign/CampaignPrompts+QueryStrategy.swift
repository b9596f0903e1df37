// CampaignPrompts+QueryStrategy: LabAttacks' query strategies inside a campaign — one strategy instance per
// proxy (its own seed), prepared with the benign mixture's public train text as the attacker's corpus.
// Campaign proxies send one query per event and train no student mid-run, so strategies that adapt to a
// student (active) or buy their own prompts through the API (teacher_bootstrap) are refused by name.
import LabAPI
import LabAttacks
import LabCore
import LabModel

public final class CampaignQueryStrategy: CampaignPromptSource {
    public let name: String
    let spec: StrategySpec
    let setup: (Int) -> StrategySetup
    let round: StrategyRound
    var instances: [Int: any QueryStrategy] = [:]

    /// Strategies of LabAttacks' registry a campaign cannot run, with the reason.
    public static let unsupported: [String: String] = [
        "active":
            "ranks prompts with a student trained between rounds; a campaign trains its student once, after the harvest",
        "teacher_bootstrap":
            "buys its own prompts through the API; a campaign's proxies send one query per event through the gateway",
    ]

    /// `name` from `StrategyRegistry`; proxy p's instance is seeded from `seed` and p.
    public init(name: String, mixture: BenignMixture, lengths: ClosedRange<Int>, seed: UInt64, teacher: any TeacherAPI)
        throws
    {
        if let reason = Self.unsupported[name] {
            throw LabError.invalidConfig(
                key: "attack.strategy",
                message: "'\(name)' \(reason); use random_tokens, natural, perturbed or own_corpus")
        }
        self.name = name
        spec = StrategySpec(name)
        _ = try StrategyRegistry.make(spec)
        let text = Self.attackerText(mixture)
        setup = { proxy in
            var rng = LabRNG(seed: seed, stream: "campaign-strategy-\(proxy)")
            return StrategySetup(vocabularySize: mixture.vocabularySize, lengths: lengths, seed: rng.next()) { source in
                switch source {
                case .train, .fresh: return text
                case .related, .split, .file:
                    throw LabError.invalidConfig(
                        key: "attack.strategy",
                        message:
                            "source: \(source.summary) is not available in a campaign; a campaign's attacker owns the mixture's train text (source: train or fresh)"
                    )
                }
            }
        }
        // The round a non-adaptive strategy is handed and never uses: a client with no budget (so a strategy
        // that tried to buy would get nothing) and a one-layer placeholder student.
        let ledger = Ledger()
        try ledger.open("strategy", budget: Budget(maxQueries: 0))
        let api = DefendedAPI(teacher: teacher, ledger: ledger)
        let student = try GPT(
            config: GPTConfig(
                vocabularySize: mixture.vocabularySize, contextLength: teacher.contextLength, width: 8, layers: 1,
                heads: 1),
            seed: 0)
        round = StrategyRound(
            client: AttackerClient(api: api, account: "strategy", unit: .queries, cap: 0), student: student,
            coverage: .every)
    }

    /// Each source's train text in proportion to its weight (the first weight × total tokens of each, its
    /// text repeated if short), so windows drawn uniformly from it follow the population's mixture.
    static func attackerText(_ mixture: BenignMixture) -> [Int32] {
        let total = mixture.sources.reduce(0) { $0 + $1.train.count }
        var text: [Int32] = []
        for s in mixture.sources where !s.train.isEmpty {
            let want = Int(s.weight * Double(total))
            for i in 0..<want { text.append(s.train[i % s.train.count]) }
        }
        return text
    }

    public func prompt(proxy: Int, rng: inout LabRNG) throws -> [Int32] {
        let strategy: any QueryStrategy
        if let existing = instances[proxy] {
            strategy = existing
        } else {
            strategy = try StrategyRegistry.make(spec)
            try strategy.prepare(setup(proxy))
            instances[proxy] = strategy
        }
        guard let prompt = try strategy.prompts(count: 1, round: round).first else {
            throw LabError.invalidConfig(
                key: "attack.strategy",
                message: "'\(name)' produced no prompt without buying through the API; campaigns cannot run it")
        }
        return prompt
    }
}
