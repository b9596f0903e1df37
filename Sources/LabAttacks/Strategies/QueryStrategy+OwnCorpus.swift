// Own-corpus prompts: windows of the attacker's own text — the teacher's public train split, a fresh
// sample of the same source, or a related source (Krishna et al. 2020's WIKI queries; Orekondy et al.
// 2019's natural-data transfer sets). Not held-out text: fidelity is measured on the test split only.
import LabAPI
import LabCore

public final class OwnCorpus: RegisteredStrategy {
    public static let registryName = "own_corpus"
    public static let reference =
        "windows of the attacker's own text (Krishna et al. 2020 WIKI; Orekondy et al. 2019 transfer sets)"
    public static let parameterDocs = [CorpusSourceParameters.source, CorpusSourceParameters.mix.doc]
    public let source: CorpusSource

    var text: [Int32] = []
    var rng = LabRNG(seed: 0)
    var lengths = 1...1

    public init(source: CorpusSource = .fresh) { self.source = source }
    public convenience init(parameters p: inout AttackParameters) throws { self.init(source: try readSource(&p)) }

    public var parameters: [(key: String, value: String)] {
        if case let .related(mix) = source { return [("source", "related"), ("mix", show(mix))] }
        return [("source", source.summary)]
    }

    public func prepare(_ setup: StrategySetup) throws {
        text = try setup.text(source)
        guard text.count > setup.lengths.upperBound else {
            throw LabError.invalidConfig(
                key: "strategy.own_corpus.source",
                message: "gives \(text.count) tokens, fewer than one prompt of \(setup.lengths.upperBound)")
        }
        rng = LabRNG(seed: setup.seed, stream: "own-corpus")
        lengths = setup.lengths
    }

    public func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        (0..<count).map { _ in
            let n = rng.length(in: lengths)
            let start = rng.int(below: text.count - n + 1)
            return Array(text[start..<(start + n)])
        }
    }
}
