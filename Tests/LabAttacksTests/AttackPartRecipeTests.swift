// The recipes for a new query strategy and a new harvest mode (docs/extending.md), proven: each written
// outside the library — its type and one line in a list of kinds — is built from a config spec by name,
// reads and validates its parameters, rejects an unknown one, is documented, and meets the contract the
// attack relies on (prompts within the vocabulary and the length range; records whose targets sit inside
// their text and whose cost is what the ledger charged).
import Foundation
import LabAPI
import LabAttacks
import LabCore
import LabModel
import TestSupport
import XCTest

/// A strategy as a researcher writes it: each prompt one random token repeated to a random length.
final class RepeatedToken: RegisteredStrategy {
    static let registryName = "repeated_token"
    static let reference = "one uniform token repeated to the prompt's length (a recipe example)"
    static let avoidParameter = PartParameter.int(
        "avoid", 0, valid: { $0 >= 0 }, "must be a token id (≥ 0)", meaning: "a token id never used (e.g. an <unk>)")
    static let parameterDocs = [avoidParameter.doc]
    let avoid: Int
    var rng = LabRNG(seed: 0)
    var vocabularySize = 2
    var lengths = 1...1

    init(parameters p: inout AttackParameters) throws {
        avoid = try p.read(Self.avoidParameter)
    }

    var parameters: [(key: String, value: String)] { [("avoid", String(avoid))] }

    func prepare(_ setup: StrategySetup) throws {
        rng = LabRNG(seed: setup.seed, stream: "repeated-token")
        vocabularySize = setup.vocabularySize
        lengths = setup.lengths
    }

    func prompts(count: Int, round: StrategyRound) throws -> [[Int32]] {
        (0..<count).map { _ in
            var token = rng.int(below: vocabularySize)
            while token == avoid, vocabularySize > 1 { token = rng.int(below: vocabularySize) }
            return [Int32](repeating: Int32(token), count: lengths.lowerBound + rng.int(below: lengths.count))
        }
    }
}

/// A harvest mode as a researcher writes it: the label after the prompt and after the prompt less its last
/// token — two one-hot targets for the price of two `label` queries.
struct TwoLabels: RegisteredHarvestMode {
    static let registryName = "two_labels"
    static let reference = "the top-1 token after the prompt and after its prefix (a recipe example)"
    static let parameterDocs: [ParameterDoc] = []

    init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {}

    var parameters: [(key: String, value: String)] { [] }
    var coverage: TargetCoverage { .every }
    func maxPromptLength(contextLength: Int) -> Int { contextLength }

    func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] {
        prompt.count >= 2 ? [.label(prompt), .label(Array(prompt.dropLast()))] : [.label(prompt)]
    }

    func record(prompt: [Int32], responses: [Response], vocabularySize: Int) -> HarvestRecord {
        var targets: [PositionTarget] = []
        for (i, response) in responses.enumerated() {
            guard let token = response.tokens.first else { continue }
            targets.append(
                PositionTarget(position: prompt.count - 1 - i, tokens: [token], probabilities: [1], isComplete: false))
        }
        return HarvestRecord(
            text: prompt, promptLength: prompt.count, targets: targets.reversed(),
            usage: responses.reduce(.zero) { $0 + $1.usage })
    }
}

final class AttackPartRecipeTests: XCTestCase {
    let strategies: [any RegisteredStrategy.Type] = StrategyRegistry.kinds + [RepeatedToken.self]
    let harvests: [any RegisteredHarvestMode.Type] = HarvestRegistry.kinds + [TwoLabels.self]

    func testTheNewPartsAreBuiltFromConfigSpecsAndValidated() throws {
        let strategy = try StrategyRegistry.make(
            try JSONDecoder().decode(StrategySpec.self, from: Data(#"{"repeated_token": {"avoid": 3}}"#.utf8)),
            kinds: strategies)
        XCTAssertEqual(strategy.summary, "repeated_token(avoid=3)")
        let harvest = try HarvestRegistry.make(HarvestSpec("two_labels"), environment: nil, kinds: harvests)
        XCTAssertEqual(harvest.name, "two_labels")
        func key(_ body: () throws -> Any) -> String? {
            guard case let LabError.invalidConfig(k, _)? = Fixture.error(body) as? LabError else { return nil }
            return k
        }
        XCTAssertEqual(
            key {
                try StrategyRegistry.make(
                    StrategySpec("repeated_token", ["avoid": .number(-1)]), kinds: self.strategies)
            },
            "strategy.repeated_token.avoid")
        XCTAssertEqual(
            key {
                try StrategyRegistry.make(StrategySpec("repeated_token", ["void": .number(1)]), kinds: self.strategies)
            },
            "strategy.repeated_token.void")
        XCTAssertEqual(
            key {
                try HarvestRegistry.make(
                    HarvestSpec("two_labels", ["k": .number(1)]), environment: nil, kinds: self.harvests)
            },
            "harvest.two_labels.k")
        XCTAssertNotNil(
            Fixture.error { try StrategyRegistry.make(StrategySpec("repeated_token")) },
            "unknown without the registry line")
        XCTAssertTrue(StrategyRegistry.documentation(of: strategies).contains("| `repeated_token` |"))
        XCTAssertTrue(HarvestRegistry.documentation(of: harvests).contains("| `two_labels` |"))
    }

    func testEveryHarvestModeMeetsTheRecordContractAgainstTheAPI() throws {
        let V = 12
        let teacher = try BigramTeacher.random(vocabularySize: V, contextLength: 32, seed: 4)
        let environment = AttackEnvironment(vocabularySize: V, contextLength: 32)
        var rng = LabRNG(seed: 5)
        for kind in harvests {
            let mode = try HarvestRegistry.make(
                HarvestSpec(kind.registryName), environment: environment, kinds: harvests)
            let ledger = Ledger()
            try ledger.open("a")
            let api = DefendedAPI(teacher: teacher, ledger: ledger)
            for _ in 0..<5 {
                let prompt = (0..<(1 + rng.int(below: min(8, mode.maxPromptLength(contextLength: 32))))).map { _ in
                    Int32(rng.int(below: V))
                }
                let queries = mode.queries(for: prompt, vocabularySize: V)
                let record = mode.record(
                    prompt: prompt, responses: try api.call(queries, account: "a"), vocabularySize: V)
                XCTAssertEqual(Array(record.text.prefix(prompt.count)), prompt, kind.registryName)
                for target in record.targets {
                    XCTAssertTrue(
                        (0..<record.text.count).contains(target.position),
                        "\(kind.registryName): target outside the text")
                    XCTAssertTrue(
                        target.tokens.allSatisfy { (0..<Int32(V)).contains($0) },
                        "\(kind.registryName): token outside the vocabulary")
                }
            }
            let charged = try XCTUnwrap(ledger.usage("a"))
            XCTAssertGreaterThan(charged.queries, 0, kind.registryName)
        }
    }

    func testEveryStrategyMeetsThePromptContract() throws {
        let V = 12
        let teacher = try BigramTeacher.random(vocabularySize: V, contextLength: 16, seed: 4)
        let ledger = Ledger()
        try ledger.open("a")
        let client = AttackerClient(
            api: DefendedAPI(teacher: teacher, ledger: ledger), account: "a", unit: .queries, cap: 1_000_000)
        let student = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: 16, width: 8, layers: 1, heads: 2), seed: 1)
        for kind in strategies {
            let strategy = try StrategyRegistry.make(StrategySpec(kind.registryName), kinds: strategies)
            let text = (0..<400).map { Int32(($0 * 7) % V) }
            try strategy.prepare(StrategySetup(vocabularySize: V, lengths: 2...6, seed: 3, text: { _ in text }))
            let prompts = try strategy.prompts(
                count: 10, round: StrategyRound(client: client, student: student, coverage: .last))
            XCTAssertFalse(prompts.isEmpty, kind.registryName)
            for prompt in prompts {
                XCTAssertTrue(
                    prompt.allSatisfy { (0..<Int32(V)).contains($0) },
                    "\(kind.registryName): token outside the vocabulary")
                XCTAssertLessThanOrEqual(prompt.count, 6, kind.registryName)
            }
        }
    }
}
