// CampaignPrompts: where a campaign's extraction prompts come from — a strategy of LabAttacks' one registry
// (`StrategyRegistry`: random tokens, natural text, perturbations of earlier queries, own corpus), prepared
// with the benign mixture's public train text as the attacker's own (each source a topic, by its weight).
// A `ProxyPromptStrategy` draws each proxy's prompts from the proxy's own stream; any other strategy gets one
// instance per proxy, seeded from the campaign's seed and the proxy. Strategies that adapt to a student
// (active) or buy their own prompts through the API (teacher_bootstrap) are refused by name: proxies send one
// query per event and the student is trained once, after the harvest. Not a registry of its own.
import LabAPI
import LabAttacks
import LabCore
import LabModel

public final class CampaignPrompts {
    public let name: String
    /// The strategy as built from the registry (for a `ProxyPromptStrategy`, the one all proxies share).
    public let strategy: any QueryStrategy
    let spec: StrategySpec
    let setup: (Int) -> StrategySetup
    var round: StrategyRound?
    var instances: [Int: any QueryStrategy] = [:]

    /// Strategies of the registry a campaign cannot run, with the reason.
    public static let unsupported: [String: String] = [
        "active":
            "ranks prompts with a student trained between rounds; a campaign trains its student once, after the harvest",
        "teacher_bootstrap":
            "buys its own prompts through the API; a campaign's proxies send one query per event through the gateway",
    ]

    /// The registry's strategies a campaign can run, in registry order.
    public static var names: [String] { StrategyRegistry.names.filter { unsupported[$0] == nil } }

    /// `name` from `StrategyRegistry` at its defaults; throws `LabError.invalidConfig` naming `attack.strategy`
    /// for an unknown or unsupported one.
    public init(name: String, mixture: BenignMixture, lengths: ClosedRange<Int>, seed: UInt64, teacher: any TeacherAPI)
        throws
    {
        if let reason = Self.unsupported[name] {
            throw LabError.invalidConfig(
                key: "attack.strategy", message: "'\(name)' \(reason); use \(Self.names.joined(separator: ", "))")
        }
        guard StrategyRegistry.names.contains(name) else {
            throw LabError.invalidConfig(
                key: "attack.strategy",
                message: "'\(name)' is not a campaign strategy; known: \(Self.names.joined(separator: ", "))")
        }
        self.name = name
        spec = StrategySpec(name)
        strategy = try StrategyRegistry.make(spec)
        let text = Self.attackerText(mixture)
        let topics = mixture.sources.map { (weight: $0.weight, text: $0.train) }
        setup = { proxy in
            var rng = LabRNG(seed: seed, stream: "campaign-strategy-\(proxy)")
            var setup = StrategySetup(vocabularySize: mixture.vocabularySize, lengths: lengths, seed: rng.next()) {
                source in
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
            setup.topics = topics
            return setup
        }
        if strategy is any ProxyPromptStrategy {
            try strategy.prepare(setup(0))
        } else {
            // The round a non-adaptive strategy is handed and never uses: a client with no budget (so a
            // strategy that tried to buy would get nothing) and a one-layer placeholder student.
            let ledger = Ledger()
            try ledger.open("strategy", budget: Budget(maxQueries: 0))
            let api = DefendedAPI(teacher: teacher, ledger: ledger)
            let student = try GPT(
                config: GPTConfig(
                    vocabularySize: mixture.vocabularySize, contextLength: teacher.contextLength, width: 8,
                    layers: 1, heads: 1),
                seed: 0)
            round = StrategyRound(
                client: AttackerClient(api: api, account: "strategy", unit: .queries, cap: 0), student: student,
                coverage: .every)
        }
    }

    /// Each source's train text in proportion to its weight (the first weight × total tokens of each, its
    /// text repeated if short), so windows drawn uniformly from it follow the population's mixture: the
    /// single text of strategies that read one (own_corpus).
    static func attackerText(_ mixture: BenignMixture) -> [Int32] {
        let total = mixture.sources.reduce(0) { $0 + $1.train.count }
        var text: [Int32] = []
        for s in mixture.sources where !s.train.isEmpty {
            let want = Int(s.weight * Double(total))
            for i in 0..<want { text.append(s.train[i % s.train.count]) }
        }
        return text
    }

    /// The next prompt of proxy `proxy`: from its own stream `rng`, or from its own instance of the strategy.
    public func prompt(proxy: Int, rng: inout LabRNG) throws -> [Int32] {
        if let shared = strategy as? any ProxyPromptStrategy { return try shared.prompt(proxy: proxy, rng: &rng) }
        let instance: any QueryStrategy
        if let existing = instances[proxy] {
            instance = existing
        } else {
            instance = try StrategyRegistry.make(spec)
            try instance.prepare(setup(proxy))
            instances[proxy] = instance
        }
        guard let round, let prompt = try instance.prompts(count: 1, round: round).first else {
            throw LabError.invalidConfig(
                key: "attack.strategy",
                message: "'\(name)' produced no prompt without buying through the API; campaigns cannot run it")
        }
        return prompt
    }
}
