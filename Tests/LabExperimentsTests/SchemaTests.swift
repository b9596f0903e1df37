// The closed schema's contract: every mistake a user can make in an experiment file is reported before any
// work with file:line:column, the key path, and the allowed keys or range (with a did-you-mean for names).
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

final class SchemaTests: XCTestCase {
    func testValidFilesPlanTheirCells() throws {
        let e = try Experiment.parse(Tiny.teacherSweep)
        XCTAssertEqual(e.name, "tiny-teachers")
        XCTAssertEqual(e.axes.map(\.name), ["teacher.model.width", "teacher.training.steps", "seed"])
        XCTAssertEqual(e.cells.count, 8)
        // Last axis fastest, seeds innermost.
        XCTAssertEqual(
            e.cells.map { $0.labels.joined(separator: "/") },
            ["16/8/0", "16/8/1", "16/12/0", "16/12/1", "24/8/0", "24/8/1", "24/12/0", "24/12/1"])
        XCTAssertEqual(Set(e.cells.map(\.hash)).count, 8, "distinct specs hash differently")
        let d = try Experiment.parse(Tiny.defenceSweep)
        XCTAssertEqual(d.axes[0].labels, ["none", "top-2", "noise"])
    }

    func testUnknownKeyIsLocatedWithDidYouMean() throws {
        let e = try XCTUnwrap(
            validationError(
                """
                experiment: x
                kind: teacher
                teacher:
                  corpus: {kind: markov}
                  model:
                    widht: 64
                """))
        XCTAssertEqual([e.line, e.column], [6, 5])
        XCTAssertEqual(e.key, "teacher.model.widht")
        XCTAssertTrue(e.fix?.contains("did you mean 'width'?") ?? false, e.description)
        XCTAssertTrue(e.description.hasPrefix("test.yaml:6:5: error:"), e.description)

        let top = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\nteacher: {corpus: {kind: markov}}\nseeds: [1]\ntabels: []\n")
        )
        XCTAssertEqual([top.line, top.column], [5, 1])
        XCTAssertTrue(top.fix?.contains("did you mean 'tables'?") ?? false, top.description)

        let corpus = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\nteacher: {corpus: {kind: markov, symbls: 4}}\n"))
        XCTAssertEqual([corpus.line, corpus.column], [3, 34])
        XCTAssertTrue(corpus.fix?.contains("did you mean 'symbols'?") ?? false, corpus.description)

        let kind = try XCTUnwrap(validationError("experiment: x\nkind: teachr\n"))
        XCTAssertEqual([kind.line, kind.column], [2, 7])
        XCTAssertTrue(kind.fix?.contains("did you mean 'teacher'?") ?? false)

        let defence = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: defence_cost\n\(Tiny.teacher)\n\(Tiny.benign)\ndefences: [{top_kk: {k: 2}}]\n"))
        XCTAssertEqual(defence.line, 8)
        XCTAssertTrue(defence.fix?.contains("did you mean 'top_k'?") ?? false, defence.description)

        let parameter = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: defence_cost\n\(Tiny.teacher)\n\(Tiny.benign)\ndefences:\n  - top_k: {kk: 2}\n"))
        XCTAssertEqual([parameter.line, parameter.column], [9, 13])
        XCTAssertEqual(parameter.key, "defences.0.top_k.kk")
        XCTAssertTrue(parameter.fix?.contains("did you mean 'k'?") ?? false, parameter.description)
    }

    func testImpossibleValuesNameTheKeyAndTheRange() throws {
        let heads = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  model: {width: 60, heads: 8}\n"))
        XCTAssertEqual([heads.line, heads.column], [5, 29])
        XCTAssertEqual(heads.key, "teacher.model.heads")
        XCTAssertTrue(heads.message.contains("do not divide width 60"), heads.message)

        // top-k above the vocabulary (6 symbols + <unk> = 7 tokens), as a defence and as the API's cap.
        let topK = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: defence_cost\n\(Tiny.teacher)\n\(Tiny.benign)\ndefences: [{top_k: {k: 50}}]\n"))
        XCTAssertEqual(topK.key, "defences.0.top_k.k")
        XCTAssertEqual(topK.line, 8)
        XCTAssertTrue(topK.message.contains("1...7"), topK.message)
        let cap = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: toy_attack\n\(Tiny.teacher)\napi: {policy: {max_logprobs: 20}}\nattack: {budget: {queries: 10}}\n",
                kinds: [ToyAttackKind.self]))
        XCTAssertEqual(cap.key, "api.policy.max_logprobs")
        XCTAssertEqual([cap.line, cap.column], [7, 30])
        XCTAssertTrue(cap.message.contains("allowed range 0...7"), cap.message)

        // A budget below one query, in queries, in tokens and in dollars.
        let queries = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: toy_attack\n\(Tiny.teacher)\nattack: {budget: {queries: 0}}\n",
                kinds: [ToyAttackKind.self]))
        XCTAssertEqual(queries.key, "attack.budget.queries")
        XCTAssertEqual([queries.line, queries.column], [7, 28])
        XCTAssertTrue(queries.message.contains("below one query"), queries.message)
        let tokens = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: toy_attack\n\(Tiny.teacher)\nattack: {budget: {tokens: 3}, prompt_length: 4}\n",
                kinds: [ToyAttackKind.self]))
        XCTAssertEqual(tokens.key, "attack.budget.tokens")
        XCTAssertTrue(tokens.message.contains("allowed range 5..."), tokens.message)
        let dollars = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: toy_attack\n\(Tiny.teacher)\nattack: {budget: {dollars: 0.0000001}}\n",
                kinds: [ToyAttackKind.self]))
        XCTAssertEqual(dollars.key, "attack.budget.dollars")
        XCTAssertTrue(dollars.message.contains("costs $"), dollars.message)

        let steps = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  training: {steps: 0}\n"))
        XCTAssertEqual(steps.key, "teacher.training.steps")
        XCTAssertTrue(steps.message.contains("allowed range 1...10000000"), steps.message)

        let prompts = try XCTUnwrap(
            validationError("experiment: x\nkind: defence_cost\n\(Tiny.teacher)\nbenign: {prompts: 0}\n"))
        XCTAssertEqual([prompts.line, prompts.column], [7, 19])
        XCTAssertTrue(prompts.message.contains("allowed range 1...100000"), prompts.message)

        // A default that no longer fits points at the key it depends on, and says the default is in play.
        let fit = try XCTUnwrap(
            validationError("experiment: x\nkind: defence_cost\n\(Tiny.teacher)\nbenign: {prompt_length: 10}\n"))
        XCTAssertEqual(fit.key, "benign.completion_tokens")
        XCTAssertEqual([fit.line, fit.column], [7, 25], "points at the written prompt_length")
        XCTAssertTrue(fit.message.contains("default is in play"), fit.message)
    }

    func testWrongTypesAreLocated() throws {
        let word = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  training: {steps: many}\n"))
        XCTAssertEqual([word.line, word.column], [5, 21])
        XCTAssertTrue(word.message.contains("expected a whole number"), word.message)
        let quoted = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  training: {steps: \"10\"}\n"))
        XCTAssertTrue(quoted.fix?.contains("remove the quotes") ?? false, quoted.description)
        let list = try XCTUnwrap(validationError("experiment: x\nkind: teacher\nteacher:\n  corpus: [markov]\n"))
        XCTAssertEqual([list.line, list.column], [4, 11])
        XCTAssertTrue(list.message.contains("expected a mapping"), list.message)
        let fraction = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  model: {width: 64.5}\n"))
        XCTAssertTrue(fraction.message.contains("whole number"), fraction.message)
        // Exponents and separators are numbers.
        XCTAssertNoThrow(
            try Experiment.parse(
                "experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov, train_tokens: 2e4, validation_tokens: 1_000}\n"
            ))
    }

    func testSweptValuesAreLocatedInTheGrid() throws {
        let e = try XCTUnwrap(
            validationError(
                """
                experiment: x
                kind: teacher
                \(Tiny.teacher)
                grid:
                  teacher.model.heads: [1, 2, 3]
                """))
        XCTAssertEqual([e.line, e.column], [8, 31], "the offending list element")
        XCTAssertEqual(e.key, "teacher.model.heads")
        let path = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\n\(Tiny.teacher)\ngrid:\n  teacher.modle.width: [8]\n"))
        XCTAssertEqual([path.line, path.column], [8, 3], "an unknown key path points at the grid key")
        XCTAssertTrue(path.fix?.contains("did you mean 'model'?") ?? false, path.description)
        let section = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\n\(Tiny.teacher)\ngrid:\n  defences: [[]]\n"))
        XCTAssertTrue(section.message.contains("cannot be swept"), section.message)
        let duplicate = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\n\(Tiny.teacher)\ngrid:\n  teacher.model.width: [16, 16]\n"))
        XCTAssertTrue(duplicate.message.contains("appears twice"), duplicate.message)
    }

    func testTablesAndPlotsAreChecked() throws {
        let metric = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\n\(Tiny.teacher)\ntables: [{rows: seed, values: valdation_loss}]\n"))
        XCTAssertEqual(metric.line, 7)
        XCTAssertTrue(metric.fix?.contains("did you mean 'validation_loss'?") ?? false, metric.description)
        let unplaced = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\n\(Tiny.teacher)\ngrid: {teacher.model.width: [16, 24]}\ntables: [{rows: seed, values: test_loss}]\n"
            ))
        XCTAssertTrue(unplaced.message.contains("leaves axis 'teacher.model.width'"), unplaced.message)
        let scale = try XCTUnwrap(
            validationError(
                "experiment: x\nkind: teacher\n\(Tiny.teacher)\nplots: [{x: training_flops, y: test_loss, x_scale: logarithmic}]\n"
            ))
        XCTAssertTrue(scale.fix?.contains("did you mean 'log'?") ?? false, scale.description)
    }

    func testYAMLSyntaxAndStructureErrors() throws {
        let duplicate = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\nteacher: {corpus: {kind: markov}}\nkind: teacher\n"))
        XCTAssertEqual([duplicate.line, duplicate.column], [4, 1], "the later occurrence")
        XCTAssertTrue(duplicate.message.contains("first at line 2"), duplicate.message)
        let indent = try XCTUnwrap(validationError("experiment: x\nkind: teacher\n teacher: 3\n"))
        XCTAssertEqual(indent.line, 3)
        let scalar = try XCTUnwrap(validationError("just a string\n"))
        XCTAssertTrue(scalar.message.contains("mapping of keys"), scalar.message)
        let empty = try XCTUnwrap(validationError(""))
        XCTAssertEqual([empty.line, empty.column], [1, 1])
        let missing = try XCTUnwrap(validationError("experiment: x\nkind: teacher\n"))
        XCTAssertEqual(missing.key, "teacher")
        let misplaced = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\n\(Tiny.teacher)\nbenign: {prompts: 3}\n"))
        XCTAssertTrue(misplaced.message.contains("does not read 'benign'"), misplaced.message)
        XCTAssertTrue(misplaced.fix?.contains("defence_cost") ?? false)
        let seed = try XCTUnwrap(
            validationError("experiment: x\nkind: teacher\nteacher:\n  corpus: {kind: markov}\n  training: {seed: 3}\n")
        )
        XCTAssertTrue(seed.message.contains("from `seeds`"), seed.message)
        XCTAssertEqual([seed.line, seed.column], [5, 14])
    }

    func testEditDistanceSuggestions() {
        XCTAssertEqual(EditDistance.levenshtein("width", "widht"), 2)
        XCTAssertEqual(EditDistance.levenshtein("", "abc"), 3)
        XCTAssertEqual(EditDistance.levenshtein("kitten", "sitting"), 3)
        XCTAssertEqual(
            EditDistance.suggestion(for: "lerning_rate", among: ["steps", "learning_rate"]), "learning_rate")
        XCTAssertNil(
            EditDistance.suggestion(for: "colour", among: ["steps", "width"]), "no suggestion for an unrelated word")
    }
}
