// Trace-policy contract tests: every registered policy leaves honest answers and billing unchanged; hidden
// trace text reaches no field of any response (tokens, logprobs, top-k alternatives, echo, labels, distributions);
// the summary is deterministic; truncation and noise do what they say; the registry refuses bad names and keys.
import LabAPI
import LabCore
import LabData
import LabModel
import XCTest

@testable import LabDefences

final class TracePolicyTests: XCTestCase {
    private static let tokenizer: Tokenizer = {
        var spec = CorpusSpec.tasks(.additionSteps, digits: 1...3)
        (spec.trainTokens, spec.validationTokens, spec.testTokens) = (200, 100, 100)
        return try! spec.build().tokenizer
    }()
    private var tokenizer: Tokenizer { Self.tokenizer }
    private func encode(_ s: String) -> [Int32] { tokenizer.encode(s).map(Int32.init) }
    private func decode(_ t: [Int32]) -> String { tokenizer.decode(t.map(Int.init)) }

    private let problems = [
        AdditionProblem(a: 347, b: 85), AdditionProblem(a: 999, b: 1), AdditionProblem(a: 5, b: 7),
        AdditionProblem(a: 120, b: 406),
    ]

    private func api(_ policy: any TracePolicy, seed: UInt64 = 0) throws -> ReasoningAPI {
        let ledger = Ledger()
        try ledger.open("user")
        let inner = DefendedAPI(teacher: OracleTraceTeacher(tokenizer: tokenizer), ledger: ledger, seed: seed)
        return ReasoningAPI(api: inner, policy: policy, format: try TraceFormat(tokenizer: tokenizer), seed: seed)
    }

    private func allPolicies() throws -> [any TracePolicy] {
        try TracePolicyRegistry.names.map { try TracePolicyRegistry.make(TracePolicySpec($0)) }
            + [SummarisedTrace(lastOnly: true), TruncatedTrace(steps: 0), NoisyTrace(probability: 1)]
    }

    private func completion(_ p: AdditionProblem, logprobs: Int? = nil, temperature: Float = 0) -> Query {
        Query.completion(
            encode(p.prompt), maxNewTokens: 64 - p.prompt.count, temperature: temperature, logprobs: logprobs,
            stopToken: Int32(tokenizer.id(for: "\n")), seed: 7)
    }

    func testHonestAnswersAndBillingAreTheSameUnderEveryPolicy() throws {
        var billed: [Double] = []
        for policy in try allPolicies() {
            let cost = try TracePolicyCost.measure(
                api: try api(policy), problems: problems, tokenizer: tokenizer, account: "user", maxNewTokens: 40)
            XCTAssertEqual(cost.answerAccuracy, 1, policy.summary)
            billed.append(cost.billedOutputTokensPerQuery)
            switch policy.name {
            case "full":
                XCTAssertEqual(cost.traceShownFraction, 1)
                XCTAssertEqual(cost.shownStepValidity, 1)
            case "hidden":
                XCTAssertEqual(cost.traceShownFraction, 0)
                XCTAssertNil(cost.shownStepValidity)
                XCTAssertGreaterThan(cost.billedPerVisibleToken, 3, "hidden tokens are billed, not shown")
            default:
                XCTAssertLessThanOrEqual(cost.traceShownFraction, 1, policy.summary)
            }
            if policy.summary == NoisyTrace(probability: 1).summary { XCTAssertEqual(cost.shownStepValidity, 0) }
        }
        // Every policy bills the whole generation: [ steps ] answer newline.
        let generated = problems.map { Double($0.tracedSolution.count + 1) }.reduce(0, +) / Double(problems.count)
        XCTAssertEqual(Set(billed), [generated])
    }

    func testHiddenTraceTextReachesNoResponseField() throws {
        for policy in try allPolicies() where policy.name == "hidden" {
            let api = try api(policy)
            let full = try self.api(FullTrace())
            for p in problems {
                for temperature: Float in [0, 1] {
                    let query = completion(p, logprobs: 5, temperature: temperature)
                    let hidden = try api.call(query, account: "user")
                    let shown = try full.call(query, account: "user")
                    let text = decode(hidden.tokens)
                    // The same generation (client seed 7), shown without its think block.
                    let fullText = decode(shown.tokens)
                    XCTAssertTrue(fullText.hasPrefix("["), fullText)
                    XCTAssertEqual(text, String(fullText[fullText.index(after: fullText.firstIndex(of: "]")!)...]))
                    // Greedy, the answer is digits only; sampled, it is whatever the teacher wrote after "]".
                    if temperature == 0 { XCTAssertTrue(text.allSatisfy { $0.isNumber || $0 == "\n" }, text) }
                    // Logprobs and alternatives exist only at the shown (answer) positions, and are the teacher's.
                    XCTAssertEqual(hidden.tokenLogprobs.count, hidden.tokens.count)
                    XCTAssertEqual(hidden.topLogprobs.count, hidden.tokens.count)
                    XCTAssertEqual(hidden.tokenLogprobs, Array(shown.tokenLogprobs.suffix(hidden.tokens.count)))
                    XCTAssertEqual(hidden.topLogprobs, Array(shown.topLogprobs.suffix(hidden.tokens.count)))
                    // No step of the trace is spelled by the top alternatives read as a sequence either.
                    let topRun = decode(hidden.topLogprobs.compactMap { $0.first?.token })
                    for step in p.steps { XCTAssertFalse(topRun.contains(step) || text.contains(step)) }
                    // The ledger billed every generated token, hidden ones included.
                    XCTAssertEqual(hidden.usage.outputTokens, shown.tokens.count)
                    XCTAssertGreaterThan(hidden.usage.outputTokens, hidden.tokens.count)
                }
            }
            XCTAssertEqual(api.api.ledger.usage("user"), full.api.ledger.usage("user"))
        }
    }

    func testScoringSurfacesCannotReadAHiddenTrace() throws {
        for policy in try allPolicies() {
            let api = try api(policy)
            let inside = encode("347+85=[7+5+0=12;")
            let closed = encode("347+85=[7+5+0=12;]")
            let reading: [Query] = [
                .echo(inside, logprobs: 5), .distribution(inside), .label(inside), .echo(closed, logprobs: 5),
                .completion(inside, maxNewTokens: 10, temperature: 0),
            ]
            for query in reading {
                if policy.showsTeacherTokens {
                    XCTAssertNoThrow(try api.call(query, account: "user"))
                    continue
                }
                XCTAssertThrowsError(try api.call(query, account: "user"), "\(policy.summary) \(query.kind)") {
                    error in
                    guard let refusal = error as? APIRefusal, case .invalidQuery = refusal.reason else {
                        return XCTFail("\(error)")
                    }
                }
            }
            if !policy.showsTeacherTokens { XCTAssertEqual(api.api.ledger.usage("user")?.queries, 0, "refused: free") }
            // The problem itself, a closed block, and echo of the bare problem are served under every policy.
            XCTAssertNoThrow(try api.call(.completion(closed, maxNewTokens: 5, temperature: 0), account: "user"))
            XCTAssertNoThrow(try api.call(.echo(encode("347+85="), logprobs: 5), account: "user"))
            XCTAssertNoThrow(try api.call(.distribution(encode("347+85=")), account: "user"))
        }
    }

    func testSummaryIsDeterministicAndKeepsTheStepsItSays() throws {
        let p = AdditionProblem(a: 12_345, b: 678)
        let steps = p.steps.map(encode)
        let format = try TraceFormat(tokenizer: tokenizer)
        var a = LabRNG(seed: 1), b = LabRNG(seed: 2)
        let summary = SummarisedTrace(every: 2)
        XCTAssertEqual(
            summary.visibleSteps(steps, format: format, rng: &a), summary.visibleSteps(steps, format: format, rng: &b))
        XCTAssertEqual(
            summary.visibleSteps(steps, format: format, rng: &a)?.map(decode), [0, 2, 4].map { p.steps[$0] })
        XCTAssertEqual(SummarisedTrace(every: 3).visibleSteps(steps, format: format, rng: &a)?.count, 3)  // 0, 3, last
        XCTAssertEqual(
            SummarisedTrace(lastOnly: true).visibleSteps(steps, format: format, rng: &a)?.map(decode), [p.steps[4]])
        XCTAssertEqual(
            TruncatedTrace(steps: 2).visibleSteps(steps, format: format, rng: &a)?.map(decode), Array(p.steps.prefix(2))
        )
        XCTAssertNil(HiddenTrace().visibleSteps(steps, format: format, rng: &a))
        // Through the API: calls with different server seeds show the same summary.
        let one = try api(summary, seed: 1).call(completion(p), account: "user")
        let two = try api(summary, seed: 2).call(completion(p), account: "user")
        XCTAssertEqual(one.tokens, two.tokens)
        XCTAssertEqual(decode(one.tokens), "[" + [0, 2, 4].map { p.steps[$0] + ";" }.joined() + "]" + p.answer + "\n")
    }

    func testNoisyStepsChangeOneDigitWithTheStatedProbability() throws {
        let format = try TraceFormat(tokenizer: tokenizer)
        let p = AdditionProblem(a: 123_456_789, b: 987_654_321)
        let steps = p.steps.map(encode)
        var rng = LabRNG(seed: 5)
        XCTAssertEqual(NoisyTrace(probability: 0).visibleSteps(steps, format: format, rng: &rng), steps)
        let always = NoisyTrace(probability: 1).visibleSteps(steps, format: format, rng: &rng)!
        for (shown, truth) in zip(always, steps) {
            XCTAssertEqual(zip(shown, truth).filter { $0 != $1 }.count, 1)
        }
        XCTAssertEqual(p.check(steps: always.map(decode)).firstWrongStep, 0)
        var changed = 0, total = 0
        var stream = LabRNG(seed: 9)
        for _ in 0..<300 {
            let shown = NoisyTrace(probability: 0.3).visibleSteps(steps, format: format, rng: &stream)!
            changed += zip(shown, steps).filter { $0 != $1 }.count
            total += steps.count
        }
        XCTAssertEqual(Double(changed) / Double(total), 0.3, accuracy: 0.03)
        var x = LabRNG(seed: 4), y = LabRNG(seed: 4)
        XCTAssertEqual(
            NoisyTrace().visibleSteps(steps, format: format, rng: &x),
            NoisyTrace().visibleSteps(steps, format: format, rng: &y))
    }

    func testRegistryRefusesUnknownNamesAndKeys() {
        XCTAssertEqual(TracePolicyRegistry.names, ["full", "summary", "truncated", "noisy", "hidden"])
        XCTAssertThrowsError(try TracePolicyRegistry.make(TracePolicySpec("secret"))) { error in
            guard case LabError.invalidConfig(key: "trace_policy.secret", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TracePolicyRegistry.make(TracePolicySpec("summary", ["evry": .number(2)]))) { error in
            guard case LabError.invalidConfig(key: "trace_policy.summary.evry", _) = error else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try TracePolicyRegistry.make(TracePolicySpec("noisy", ["probability": .number(2)])))
        for name in TracePolicyRegistry.names { XCTAssertTrue(TracePolicyRegistry.documentation.contains("`\(name)`")) }
        XCTAssertThrowsError(try TraceFormat(tokenizer: try! Tokenizer(kind: .character, symbols: ["a", "b"])))
    }
}

/// A policy written outside the library, as a researcher's package would: every step reversed.
private struct ReversedSteps: RegisteredTracePolicy {
    static let registryName = "reversed"
    static let reference = "the recipe's example: steps in reverse order"
    static let parameterDocs: [ParameterDoc] = []
    init(parameters: inout PartParameters) throws {}
    var parameters: [(key: String, value: String)] { [] }
    func visibleSteps(_ steps: [[Int32]], format: TraceFormat, rng: inout LabRNG) -> [[Int32]]? { steps.reversed() }
}

final class TracePolicyRecipeTests: XCTestCase {
    func testAPolicyFromOutsideTheLibraryRunsThroughTheRegistry() throws {
        let kinds = TracePolicyRegistry.kinds + [ReversedSteps.self]
        let policy = try TracePolicyRegistry.make(TracePolicySpec("reversed"), kinds: kinds)
        XCTAssertEqual(policy.summary, "reversed")
        XCTAssertFalse(policy.showsTeacherTokens, "a reshaping policy withholds trace logprobs by default")
        XCTAssertThrowsError(try TracePolicyRegistry.make(TracePolicySpec("reversed")))
    }
}
