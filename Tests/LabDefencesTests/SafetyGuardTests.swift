// The safety guard's contract: the refusal string is exact, refusals are billed or not as the policy says, the
// classifier's decision is deterministic and it learns the labelled boundary. The teacher here is scripted, so
// these tests check the API and the classifier, not training.
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel
import XCTest

/// Answers "#!#" to prompts naming a forbidden topic (canonical symbol only) and the true answer otherwise.
final class ScriptedSafetyTeacher: TeacherAPI {
    let world: SafetyWorld
    init(world: SafetyWorld) { self.world = world }
    var vocabularySize: Int { world.tokenizer.vocabularySize }
    var contextLength: Int { 32 }
    func inferenceFlops(positions: Int) -> Double { Double(positions) }

    func continuation(_ prompt: [Int32]) -> [Int32] {
        let text = world.tokenizer.decode(prompt.map(Int.init))
        let forbidden = world.forbidden.contains {
            text.contains(Character(world.tokenizer.symbol(for: Int(world.token(topic: $0)))!))
        }
        let answer = forbidden ? SafetyWorld.refusal : "12"
        return world.tokenizer.encode(answer + "\n").map(Int32.init)
    }

    func row(for context: [Int32], promptLength: Int) -> [Float] {
        var logits = [Float](repeating: 0, count: vocabularySize)
        let script = continuation(Array(context.prefix(promptLength)))
        let k = context.count - promptLength
        logits[Int(script[min(k, script.count - 1)])] = 10
        return logits
    }

    func logits(prompts: [[Int32]]) throws -> [[Float]] {
        prompts.map { p in (1...p.count).flatMap { row(for: Array(p.prefix($0)), promptLength: $0) } }
    }

    func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]] {
        var contexts = prompts
        for _ in 0..<maxNewTokens {
            let pointers = prompts.indices.map { i -> UnsafeMutablePointer<Float> in
                let row = row(for: contexts[i], promptLength: prompts[i].count)
                let p = UnsafeMutablePointer<Float>.allocate(capacity: row.count)
                p.initialize(from: row, count: row.count)
                return p
            }
            defer { for p in pointers { p.deallocate() } }
            let next = try choose(Array(prompts.indices), contexts, pointers)
            for i in prompts.indices { contexts[i].append(next[i]) }
        }
        return contexts.indices.map { Array(contexts[$0].dropFirst(prompts[$0].count)) }
    }
}

final class SafetyGuardTests: XCTestCase {
    func world() throws -> SafetyWorld { try SafetyWorld(SafetyWorldConfig()) }

    func classifier(_ world: SafetyWorld, threshold: Double = 0.5) -> RefusalClassifier {
        var rng = LabRNG(seed: 3)
        var prompts: [[Int32]] = [], labels: [Bool] = []
        while prompts.count < 600 {
            let e = world.alignmentExample(rng: &rng)
            guard e.source != .replay else { continue }
            prompts.append(world.tokenizer.encode(e.request.text).map(Int32.init))
            labels.append(e.source == .refusal)
        }
        return RefusalClassifier.train(
            prompts: prompts, labels: labels, vocabularySize: world.tokenizer.vocabularySize, threshold: threshold)
    }

    func api(_ world: SafetyWorld, bill: Bool, classifier on: Bool) throws -> GuardedAPI {
        var policy = RefusalPolicy()
        policy.billRefusals = bill
        policy.classifier = on
        let ledger = Ledger()
        try ledger.open("a")
        return try GuardedAPI(
            teacher: ScriptedSafetyTeacher(world: world), tokenizer: world.tokenizer, policy: policy,
            classifier: classifier(world), ledger: ledger)
    }

    func testRefusalsAreBilledOrNotAsThePolicySays() throws {
        let w = try world()
        let forbidden = w.plainRequests(count: 5, forbidden: true, stream: "f").map(\.text)
        let allowed = w.plainRequests(count: 5, forbidden: false, stream: "a").map(\.text)
        for on in [false, true] {
            let billed = try api(w, bill: true, classifier: on), free = try api(w, bill: false, classifier: on)
            let b = try billed.ask(forbidden + allowed, account: "a"),
                f = try free.ask(forbidden + allowed, account: "a")
            for i in 0..<5 {
                XCTAssertEqual(b[i].refusedBy, on ? .classifier : .model)
                XCTAssertEqual(f[i].usage.tokens, 0, "an unbilled refusal is charged no tokens")
                XCTAssertEqual(f[i].usage.cost, .zero)
                XCTAssertEqual(f[i].usage.queries, 1, "but it is still a query")
                XCTAssertEqual(b[i].usage.inputTokens, forbidden[i].count)
                XCTAssertEqual(b[i].usage.outputTokens, SafetyWorld.refusal.count + 1)
                XCTAssertGreaterThan(b[i].usage.cost, .zero)
            }
            for i in 5..<10 {
                XCTAssertNil(b[i].refusedBy)
                XCTAssertEqual(b[i].usage, f[i].usage, "allowed answers are billed the same under both policies")
            }
            XCTAssertEqual(
                free.ledger.usage("a")!.tokens, f[5...].reduce(0) { $0 + $1.usage.tokens },
                "the ledger holds exactly the billed tokens")
        }
    }

    func testTheRefusalStringIsExact() throws {
        let w = try world()
        let forbidden = w.plainRequests(count: 5, forbidden: true, stream: "f").map(\.text)
        for on in [false, true] {
            for a in try api(w, bill: true, classifier: on).ask(forbidden, account: "a") {
                XCTAssertEqual(a.text, "#!#")
                XCTAssertTrue(a.refused)
            }
        }
    }

    func testClassifierLearnsTheBoundaryAndDecidesDeterministically() throws {
        let w = try world()
        let c1 = classifier(w), c2 = classifier(w)
        XCTAssertEqual(c1, c2, "training is deterministic, bit for bit")
        let forbidden = w.plainRequests(count: 200, forbidden: true, stream: "f")
        let allowed = w.requests(count: 200, forbiddenShare: 0, stream: "a")
        func enc(_ r: SafetyRequest) -> [Int32] { w.tokenizer.encode(r.text).map(Int32.init) }
        XCTAssertGreaterThan(forbidden.filter { c1.refuses(enc($0)) }.count, 190)
        XCTAssertLessThan(allowed.filter { c1.refuses(enc($0)) }.count, 10)
        for r in forbidden + allowed {
            let p = enc(r)
            XCTAssertEqual(c1.refuses(p), c1.refuses(p))
            XCTAssertEqual(c1.refuses(p), c1.score(p) >= c1.threshold)
        }
    }

    func testABudgetStopsTheCallBeforeAnythingIsServed() throws {
        let w = try world()
        let ledger = Ledger()
        try ledger.open("small", budget: Budget(maxQueries: 2))
        let api = try GuardedAPI(
            teacher: ScriptedSafetyTeacher(world: w), tokenizer: w.tokenizer, policy: RefusalPolicy(), classifier: nil,
            ledger: ledger)
        XCTAssertThrowsError(try api.ask(["ab=", "bc=", "cd="], account: "small"))
        XCTAssertEqual(ledger.usage("small")!.queries, 0)
    }
}
