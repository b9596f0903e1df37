// The recipe for a new defence (docs/extending.md), proven: a defence written outside the library — its type
// and one line in a list of kinds — is built from a config spec by name, reads and validates its parameters,
// rejects an unknown one, is documented, runs in a pipeline behind the API, and meets the contract every
// registered defence is held to.
import Foundation
import LabAPI
import LabCore
import LabDefences
import TestSupport
import XCTest

/// The part, as a researcher writes it: report each probability capped at `cap`, renormalised.
struct ProbabilityCap: RegisteredDefence {
    static let registryName = "probability_cap"
    static let reference = "cap each reported probability at `cap`, then renormalise (a recipe example)"
    static let capParameter = PartParameter.double(
        "cap", 0.5, valid: { $0 > 0 && $0 <= 1 }, "must be in (0, 1]", meaning: "the largest probability reported")
    static let parameterDocs = [capParameter.doc]
    let cap: Double

    init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        cap = try p.read(Self.capParameter)
    }

    var parameters: [(key: String, value: String)] { [("cap", String(cap))] }

    func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            var total = 0.0
            for i in rows[r].values.indices where rows[r].isReported(i) {
                rows[r].values[i] = min(rows[r].values[i], cap)
                total += rows[r].values[i]
            }
            guard total > 0 else { continue }
            for i in rows[r].values.indices where rows[r].isReported(i) { rows[r].values[i] /= total }
        }
    }
}

final class DefenceRecipeTests: XCTestCase {
    /// The registry line: the library's kinds plus the new one.
    let kinds: [any RegisteredDefence.Type] = DefenceRegistry.kinds + [ProbabilityCap.self]
    let environment = DefenceEnvironment(vocabularySize: 20, contextLength: 16)

    func testTheNewDefenceIsBuiltFromAConfigSpecAndValidated() throws {
        let specs = try JSONDecoder().decode(
            [DefenceSpec].self, from: Data(#"[{"probability_cap": {"cap": 0.2}}, "label_only"]"#.utf8))
        let pipeline = try DefenceRegistry.pipeline(specs, environment: environment, kinds: kinds)
        XCTAssertEqual(pipeline.defences.map(\.name), ["probability_cap", "label_only"])
        XCTAssertEqual(pipeline.defences.first?.summary, "probability_cap(cap=0.2)")
        func key(_ spec: DefenceSpec) -> String? {
            guard
                case let LabError.invalidConfig(k, _)? = Fixture.error({
                    try DefenceRegistry.make(spec, environment: environment, kinds: kinds)
                }) as? LabError
            else { return nil }
            return k
        }
        XCTAssertEqual(key(DefenceSpec("probability_cap", ["cap": .number(1.5)])), "defences.probability_cap.cap")
        XCTAssertEqual(key(DefenceSpec("probability_cap", ["kap": .number(0.5)])), "defences.probability_cap.kap")
        // Without the registry line the name is unknown.
        XCTAssertNotNil(
            Fixture.error { try DefenceRegistry.make(DefenceSpec("probability_cap"), environment: self.environment) })
        XCTAssertTrue(DefenceRegistry.documentation(of: kinds).contains("| `probability_cap` |"))
    }

    func testTheNewDefenceMeetsTheContractOfEveryRegisteredDefence() throws {
        for kind in kinds {
            let defence = try DefenceRegistry.make(
                DefenceSpec(kind.registryName), environment: environment, kinds: kinds)
            XCTAssertEqual(defence.name, kind.registryName)
            XCTAssertEqual(
                defence.parameters.map(\.key), kind.parameterDocs.map(\.key),
                "\(kind.registryName): documented parameters")
            var rows = Fixture.randomRows(count: 8, V: 20, seed: 9)
            try defence.apply(to: &rows)
            for row in rows {
                XCTAssertEqual(row.values.count, 20)
                XCTAssertTrue(
                    row.values.allSatisfy { $0 >= 0 && $0.isFinite }, "\(kind.registryName): a value outside [0, ∞)")
            }
        }
        // And the new one does what it says, behind the API: min(p, cap) renormalised, token by token.
        let teacher = try BigramTeacher.random(vocabularySize: 20, seed: 3)
        let ledger = Ledger()
        try ledger.open("a")
        let cap = try DefenceRegistry.make(
            DefenceSpec("probability_cap", ["cap": .number(0.1)]), environment: environment, kinds: kinds)
        func distribution(_ defences: DefencePipeline) throws -> [Int32: Double] {
            let api = DefendedAPI(teacher: teacher, defences: defences, ledger: ledger)
            return Dictionary(
                uniqueKeysWithValues: try api.call(.distribution([1, 2]), account: "a").distribution.map {
                    ($0.token, exp($0.logprob))
                })
        }
        let plain = try distribution(.none), capped = try distribution(DefencePipeline([cap]))
        let total = plain.values.reduce(0) { $0 + min($1, 0.1) }
        for (token, p) in plain { XCTAssertEqual(capped[token] ?? -1, min(p, 0.1) / total, accuracy: 1e-9) }
    }
}
