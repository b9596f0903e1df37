// Active selection: from a candidate pool (own corpus or random tokens), send the prompts on which the
// current student is least certain — highest predictive entropy at the positions the harvest will buy —
// re-ranked every round as the student trains (uncertainty sampling as in ActiveThief, Pal et al. 2020).
// The student's scoring passes are counted as attacker FLOPs. Not a learned acquisition function.
import Foundation
import LabAPI
import LabCore
import LabModel

public final class ActiveSelection: RegisteredStrategy {
    public static let registryName = "active"
    public static let reference =
        "highest student entropy among pool_factor × candidates, re-ranked each round (uncertainty sampling, Pal et al. 2020 ActiveThief)"
    /// Where candidates come from.
    public enum Pool: String, CaseIterable, Sendable {
        case ownCorpus = "own_corpus"
        case randomTokens = "random_tokens"
    }
    public enum Declared {
        public static let pool = PartParameter.choice(
            "pool", Pool.ownCorpus, meaning: "where candidates come from: `own_corpus` or `random_tokens`")
        public static let poolFactor = PartParameter.int(
            "pool_factor", 4, valid: { $0 >= 1 }, "must be at least 1 (1 is no selection)",
            meaning: "candidates scored per prompt sent")
    }
    public static let parameterDocs = [
        Declared.pool.doc,
        ParameterDoc(
            CorpusSourceParameters.source.key, CorpusSourceParameters.source.defaultValue,
            "pool: own_corpus only — `train`, `fresh`, `related`, `split` or `file:PATH`"),
        CorpusSourceParameters.mix.doc(meaning: "source: related only — the other chain's share"),
        Declared.poolFactor.doc,
    ]
    public let candidates: any QueryStrategy
    public let poolFactor: Int

    public init(candidates: any QueryStrategy = OwnCorpus(), poolFactor: Int = Declared.poolFactor.defaultValue) {
        self.candidates = candidates
        self.poolFactor = poolFactor
    }

    public convenience init(parameters p: inout AttackParameters) throws {
        let pool = try p.read(Declared.pool)
        if pool == .randomTokens, p.contains("source") {
            throw LabError.invalidConfig(key: p.key("source"), message: "applies to pool: own_corpus only")
        }
        let source = try readSource(&p)
        let factor = try p.read(Declared.poolFactor)
        self.init(candidates: pool == .randomTokens ? RandomTokens() : OwnCorpus(source: source), poolFactor: factor)
    }

    public var parameters: [(key: String, value: String)] {
        [("pool", candidates.name)] + candidates.parameters + [("pool_factor", String(poolFactor))]
    }

    public var isAdaptive: Bool { true }

    public func prepare(_ setup: StrategySetup) throws {
        var inner = setup
        var rng = LabRNG(seed: setup.seed, stream: "active-pool")
        inner.seed = rng.next()
        try candidates.prepare(inner)
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        let pool = try candidates.prompts(count: count * poolFactor, round: round)
        let scores = try Self.entropies(
            pool, student: round.student, coverage: round.coverage, flops: &round.studentFlops)
        // Highest entropy first; ties keep pool order so a run is reproducible.
        let order = pool.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        return order.prefix(count).map { pool[$0] }
    }

    /// The student's predictive entropy (nats) at each prompt's last position, or averaged over its
    /// positions for `.every`; adds the forward passes' FLOPs to `flops`.
    static func entropies(_ prompts: [[Int32]], student: GPT, coverage: TargetCoverage, flops: inout Double) throws
        -> [Double]
    {
        let V = student.config.vocabularySize, batch = 64
        var out: [Double] = []
        out.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + batch)])
            let T = min(student.config.contextLength, ((chunk.map(\.count).max() ?? 1) + 7) / 8 * 8)
            var tokens = [Int32](repeating: 0, count: chunk.count * T)
            for (b, p) in chunk.enumerated() { for (t, x) in p.suffix(T).enumerated() { tokens[b * T + t] = x } }
            let logits = try student.forward(tokens: tokens, batch: chunk.count, length: T)
            flops += student.config.inferenceFlopsPerToken(sequenceLength: T) * Double(chunk.count * T)
            for (b, p) in chunk.enumerated() {
                let n = min(p.count, T)
                let positions = coverage == .last ? (n - 1)..<n : 0..<n
                var total = 0.0
                for t in positions { total += Softmax.entropy(logits.baseAddress! + (b * T + t) * V, count: V) }
                out.append(total / Double(positions.count))
            }
            start += chunk.count
        }
        return out
    }
}
