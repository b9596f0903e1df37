// Fixtures for the extraction tests: a small bigram teacher behind the API, attack data drawn from its
// own chain, and attack configs small enough for a debug build. Not assertions: each test states its own.
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabDefences
import LabModel

enum ExtractionFixture {
    /// A random bigram teacher over V tokens.
    static func teacher(V: Int = 8, contextLength: Int = 16, seed: UInt64 = 5) throws -> BigramTeacher {
        try BigramTeacher.random(vocabularySize: V, scale: 2, contextLength: contextLength, seed: seed)
    }

    /// `count` tokens sampled from the teacher's own chain (its softmax rows), from `seed`.
    static func chain(_ teacher: BigramTeacher, count: Int, seed: UInt64) -> [Int32] {
        let V = teacher.vocabularySize
        var rng = LabRNG(seed: seed, stream: "fixture-chain")
        var out: [Int32] = [Int32(rng.int(below: V))]
        while out.count < count {
            let row = Int(out.last!) * V
            let z = (0..<V).map { Double(teacher.table[row + $0]) }
            let m = z.max()!
            out.append(Int32(rng.categorical(z.map { exp($0 - m) })))
        }
        return out
    }

    /// Held-out windows from one run of the chain, perplexity text from it, attacker text from other runs.
    static func data(_ teacher: BigramTeacher, windows: Int = 8, length: Int = 8) -> AttackData {
        let heldOut = chain(teacher, count: windows * length, seed: 99)
        return AttackData(
            heldOut: (0..<windows).map { Array(heldOut[($0 * length)..<(($0 + 1) * length)]) },
            testTokens: chain(teacher, count: 256, seed: 98).map(Int.init),
            attackerText: { source, seed in
                switch source {
                case .train: return chain(teacher, count: 2_000, seed: 1)
                case .fresh: return chain(teacher, count: 2_000, seed: seed)
                case .related: return (0..<2_000).map { Int32($0 % teacher.vocabularySize) }
                case .split, .file:
                    throw LabError.invalidConfig(
                        key: "strategy.source", message: "the bigram fixture has no text corpus")
                }
            })
    }

    static func target(
        _ teacher: BigramTeacher, defences: DefencePipeline = .none, policy: APIPolicy = APIPolicy(),
        prices: PriceTable = .standard
    ) -> ExtractionTarget {
        ExtractionTarget(
            teacher: teacher, policy: policy, defences: defences, prices: prices, data: .prepared(data(teacher)),
            teacherTrainingFlops: 1e9)
    }

    /// An attack that trains a 1-layer width-8 student for a handful of steps: fast, not faithful.
    static func config(
        strategy: StrategySpec, harvest: HarvestSpec, budget: AttackBudget, loss: LossSpec = .soft(), seed: UInt64 = 1
    ) -> AttackConfig {
        var student = StudentSpec(width: 8, layers: 1, heads: 2, loss: loss, batchSize: 8)
        student.minSteps = 1
        student.maxSteps = 2
        student.epochs = 0.01
        var c = AttackConfig(
            strategy: strategy, harvest: harvest, student: student, budget: budget, promptLength: 2...6, roundSize: 8,
            seed: seed)
        c.evaluation = EvaluationSpec(prompts: 2, length: 8, perplexityTokens: 0, taskExamples: 0)
        return c
    }

    /// Every strategy, spelled for Swift.
    static let strategies: [StrategySpec] = [
        .randomTokens, .ownCorpus(.fresh), .teacherBootstrap(seedLength: 1, reuse: 2), .active(poolFactor: 3),
    ]
    /// Every harvest mode, with parameters that fit V = 8 and the default policy.
    static let harvests: [HarvestSpec] = [
        .distribution, .logitBias(k: 3), .echo(3), .topK(3), .completion(maxNewTokens: 4), .label,
    ]

    /// The error a throwing expression raised, or nil.
    static func error<T>(_ body: () throws -> T) -> Error? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    /// The key of the `LabError.invalidConfig` a throwing expression raised, or nil.
    static func invalidKey<T>(_ body: () throws -> T) -> String? {
        if case let .invalidConfig(key, _)? = error(body) as? LabError { return key }
        return nil
    }
}
