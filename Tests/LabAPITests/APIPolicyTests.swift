// API policy tests: each refusal — disabled surface, top-logprobs cap, logit bias allowed / capped /
// refused with logprobs (Carlini et al. 2024) / refused, malformed queries — is a typed APIRefusal that
// says why, and a refused call reaches neither the teacher nor the ledger.
import Foundation
import LabAPI
import LabCore
import TestSupport
import XCTest

final class APIPolicyTests: XCTestCase {
    func api(_ policy: APIPolicy) throws -> (DefendedAPI, BigramTeacher) {
        let teacher = try BigramTeacher.random(vocabularySize: 16, contextLength: 12, seed: 1)
        let ledger = Ledger()
        try ledger.open("a")
        return (DefendedAPI(teacher: teacher, policy: policy, ledger: ledger), teacher)
    }

    func testDisabledKindIsRefused() throws {
        let (api, _) = try api(APIPolicy(enabledKinds: [.completion, .label]))
        XCTAssertEqual(Fixture.refusal { try api.call(.distribution([1])) }, .kindDisabled(.distribution))
        XCTAssertEqual(Fixture.refusal { try api.call(.echo([1, 2])) }, .kindDisabled(.echo))
        XCTAssertNoThrow(try api.call(.label([1]), account: "a"))
        XCTAssertNoThrow(try api.call(.completion([1], maxNewTokens: 2), account: "a"))
    }

    func testTopLogprobsCapDefaultsTo20AndIsConfigurable() throws {
        let (open, _) = try api(APIPolicy())
        XCTAssertNoThrow(try open.call(.completion([1], maxNewTokens: 1, logprobs: 16), account: "a"))
        XCTAssertEqual(APIPolicy().maxLogprobs, 20)
        XCTAssertEqual(
            Fixture.refusal { try open.call(.completion([1], maxNewTokens: 1, logprobs: 21)) },
            .logprobsAboveCap(requested: 21, cap: 20))
        let (tight, _) = try api(APIPolicy(maxLogprobs: 5))
        XCTAssertEqual(
            Fixture.refusal { try tight.call(.echo([1, 2, 3], logprobs: 6)) }, .logprobsAboveCap(requested: 6, cap: 5))
        let r = try tight.call(.echo([1, 2, 3], logprobs: 5), account: "a")
        XCTAssertEqual(r.topLogprobs.map(\.count), [5, 5])
    }

    func testLogitBiasModes() throws {
        let bias = [3: Float(50)]
        let (allowed, _) = try api(APIPolicy(logitBias: .allowed))
        XCTAssertNoThrow(try allowed.call(.distribution([1], logitBias: [3: 500]), account: "a"))

        let (capped, _) = try api(APIPolicy(logitBias: .capped(magnitude: 100)))
        XCTAssertNoThrow(try capped.call(.distribution([1], logitBias: [3: -100]), account: "a"))
        XCTAssertEqual(
            Fixture.refusal { try capped.call(.distribution([1], logitBias: [2: 5, 3: -100.5])) },
            .logitBiasAboveCap(token: 3, bias: -100.5, cap: 100))

        // Carlini et al. 2024: bias is refused exactly when the query asks for logprobs.
        let (carlini, _) = try api(APIPolicy(logitBias: .refusedWithLogprobs))
        XCTAssertEqual(
            Fixture.refusal { try carlini.call(.completion([1], maxNewTokens: 2, logprobs: 0, logitBias: bias)) },
            .logitBiasWithLogprobs(.completion))
        XCTAssertEqual(
            Fixture.refusal { try carlini.call(.echo([1, 2], logitBias: bias)) }, .logitBiasWithLogprobs(.echo))
        XCTAssertEqual(
            Fixture.refusal { try carlini.call(.distribution([1], logitBias: bias)) },
            .logitBiasWithLogprobs(.distribution))
        XCTAssertNoThrow(try carlini.call(.completion([1], maxNewTokens: 2, logitBias: bias), account: "a"))
        XCTAssertNoThrow(try carlini.call(.label([1], logitBias: bias), account: "a"))
        XCTAssertNoThrow(try carlini.call(.completion([1], maxNewTokens: 2, logprobs: 5), account: "a"))

        let (none, _) = try api(APIPolicy(logitBias: .refused))
        XCTAssertEqual(Fixture.refusal { try none.call(.label([1], logitBias: bias)) }, .logitBiasDisabled)
        XCTAssertNoThrow(try none.call(.label([1]), account: "a"))
    }

    func testLogitBiasShiftsWhatIsServed() throws {
        let (api, teacher) = try api(APIPolicy())
        let plain = try api.call(.label([4]), account: "a").tokens[0]
        let other: Int = plain == 7 ? 8 : 7
        XCTAssertEqual(try api.call(.label([4], logitBias: [other: 1000]), account: "a").tokens, [Int32(other)])
        // The reported logprob moves by exactly the bias minus the log-normaliser change.
        let z = try teacher.logits(prompts: [[4]])[0].map(Double.init)
        let d = try api.call(.distribution([4], logitBias: [other: 2]), account: "a").distribution
        var biased = z
        biased[other] += 2
        let lse = log(biased.map { exp($0) }.reduce(0, +))
        for e in d { XCTAssertEqual(e.logprob, biased[Int(e.token)] - lse, accuracy: 1e-6) }
    }

    func testMalformedQueriesAreRefusedNamingTheField() throws {
        let (api, _) = try api(APIPolicy())
        func message(_ q: Query) -> String? {
            if case let .invalidQuery(m)? = Fixture.refusal({ try api.call([.label([1]), q], account: "a") }) {
                return m
            }
            return nil
        }
        XCTAssertTrue(message(.label([]))?.contains("empty") ?? false)
        XCTAssertTrue(message(.label([16]))?.contains("outside the vocabulary") ?? false)
        XCTAssertTrue(message(.completion([1, 2, 3], maxNewTokens: 10))?.contains("context length 12") ?? false)
        XCTAssertTrue(message(.completion([1], maxNewTokens: 0))?.contains("max_new_tokens") ?? false)
        XCTAssertTrue(message(.completion([1], maxNewTokens: 1, temperature: -1))?.contains("temperature") ?? false)
        XCTAssertTrue(message(.completion([1], maxNewTokens: 1, topP: 0))?.contains("top_p") ?? false)
        XCTAssertTrue(message(.distribution([1], logitBias: [99: 1]))?.contains("logit_bias") ?? false)
        // The refusal names the query's place in the call.
        let refusal = Fixture.error { try api.call([.label([1]), .label([])], account: "a") } as? APIRefusal
        XCTAssertEqual(refusal?.query, 1)
        XCTAssertTrue(refusal?.description.hasPrefix("query 1: ") ?? false)
    }

    func testRefusedCallsReachNeitherTheTeacherNorTheLedger() throws {
        let (api, teacher) = try api(APIPolicy(enabledKinds: [.label], logitBias: .refused))
        _ = try api.call(.label([1]), account: "a")
        let calls = teacher.calls, usage = api.ledger.usage("a")
        XCTAssertNotNil(Fixture.refusal { try api.call([.label([2]), .distribution([1])], account: "a") })
        XCTAssertNotNil(Fixture.refusal { try api.call([.label([2], logitBias: [1: 1])], account: "a") })
        XCTAssertEqual(Fixture.refusal { try api.call([.label([2])], account: "nobody") }, .unknownAccount("nobody"))
        XCTAssertEqual(teacher.calls, calls)
        XCTAssertEqual(api.ledger.usage("a"), usage)
    }

    func testRefusalMessagesSayWhy() {
        XCTAssertTrue(APIRefusal(reason: .logitBiasWithLogprobs(.echo)).description.contains("Carlini et al. 2024"))
        XCTAssertTrue(APIRefusal(reason: .kindDisabled(.distribution)).description.contains("'distribution'"))
        let budget = APIRefusal(
            reason: .budgetExceeded(account: "x", limit: .dollars, budget: 1_000_000, used: 900_000, requested: 200_000)
        )
        XCTAssertTrue(budget.description.contains("$0.000001"), budget.description)
        XCTAssertTrue(budget.description.contains("nothing was served"))
    }

    func testPolicyDecodesWithClosedKeys() throws {
        func decode(_ json: String) throws -> APIPolicy {
            try JSONDecoder().decode(APIPolicy.self, from: Data(json.utf8))
        }
        let p = try decode(
            #"{"enabled_kinds": ["completion"], "max_logprobs": 5, "logit_bias": "capped", "logit_bias_cap": 100}"#)
        XCTAssertEqual(p, APIPolicy(enabledKinds: [.completion], maxLogprobs: 5, logitBias: .capped(magnitude: 100)))
        XCTAssertEqual(try decode(#"{"logit_bias": "refused_with_logprobs"}"#).logitBias, .refusedWithLogprobs)
        XCTAssertEqual(try decode(String(decoding: try JSONEncoder().encode(p), as: UTF8.self)), p)
        func key(_ json: String) -> String? {
            if case let LabError.invalidConfig(k, _)? = Fixture.error({ try decode(json) }) as? LabError { return k }
            return nil
        }
        XCTAssertEqual(key(#"{"max_logprob": 5}"#), "policy.max_logprob")
        XCTAssertEqual(key(#"{"logit_bias": "capped"}"#), "policy.logit_bias_cap")
        XCTAssertEqual(key(#"{"logit_bias": "sometimes"}"#), "policy.logit_bias")
        XCTAssertEqual(key(#"{"logit_bias_cap": 3}"#), "policy.logit_bias_cap")
        XCTAssertEqual(key(#"{"max_logprobs": -1}"#), "max_logprobs")
    }
}

extension DefendedAPI {
    /// One query for account "a", for brevity in these tests.
    func call(_ query: Query) throws -> Response { try call(query, account: "a") }
}
