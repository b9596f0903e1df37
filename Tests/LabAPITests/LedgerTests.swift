// Ledger tests: the property that no sequence of calls takes an account past any budget and that
// dollars equal tokens × price exactly, over thousands of seeded random calls of random kinds and sizes
// against a tiny bigram teacher; plus the edges (a budget met exactly, one picodollar over) and Money.
import Foundation
import LabAPI
import LabCore
import LabDefences
import TestSupport
import XCTest

final class LedgerTests: XCTestCase {

    func testNoSequenceOfCallsExceedsABudgetAndDollarsEqualTokensTimesPrice() throws {
        var rng = LabRNG(seed: 2024, stream: "ledger-property")
        var served = 0, refused = 0, refusedBy: [APIRefusal.Limit: Int] = [:]
        let V = 12, T = 24
        // Prices that share no factor with token counts, so a rounding slip could not hide.
        for prices in [
            PriceTable.standard,
            try PriceTable(inputMicrodollarsPerMillion: 1_234_567, outputMicrodollarsPerMillion: 7_654_321),
        ] {
            let teacher = try BigramTeacher.random(vocabularySize: V, contextLength: T, seed: rng.next())
            let ledger = Ledger(prices: prices)
            let budgets: [String: Budget] = [
                "queries": Budget(maxQueries: 700),
                "tokens": Budget(maxTokens: 5_000),
                "dollars": Budget(maxCost: prices.cost(inputTokens: 2_000, outputTokens: 1_500)),
                "all": Budget(
                    maxQueries: 900, maxTokens: 12_000, maxCost: prices.cost(inputTokens: 3_000, outputTokens: 3_000)),
                "open": .unlimited,
            ]
            for (name, budget) in budgets { try ledger.open(name, budget: budget) }
            let names = budgets.keys.sorted()
            let api = DefendedAPI(
                teacher: teacher, defences: DefencePipeline([TopK(k: 4)]), ledger: ledger, seed: rng.next())
            var served_ = [String: Usage]()
            for _ in 0..<1_500 {
                let account = names[rng.int(below: names.count)]
                let queries: [Query] = (0..<(1 + rng.int(below: 6))).map { _ in
                    let n = 1 + rng.int(below: 10)
                    let prompt = (0..<n).map { _ in Int32(rng.int(below: V)) }
                    switch rng.int(below: 4) {
                    case 0:
                        // A stop token on a small vocabulary often ends a completion early: actual < reserved.
                        return .completion(
                            prompt, maxNewTokens: 1 + rng.int(below: T - n),
                            logprobs: rng.int(below: 2) == 0 ? nil : rng.int(below: 4),
                            stopToken: rng.int(below: 2) == 0 ? Int32(rng.int(below: V)) : nil, seed: rng.next())
                    case 1: return .echo(prompt, logprobs: rng.int(below: 3))
                    case 2: return .distribution(prompt)
                    default: return .label(prompt)
                    }
                }
                let before = ledger.usage(account)!
                let worstTokens = queries.reduce(0) { $0 + $1.prompt.count + $1.maxOutputTokens }
                let worstCost = queries.reduce(Money.zero) {
                    $0 + prices.cost(inputTokens: $1.prompt.count, outputTokens: $1.maxOutputTokens)
                }
                let budget = budgets[account]!
                let wouldExceed =
                    (budget.maxQueries.map { before.queries + queries.count > $0 } ?? false)
                    || (budget.maxTokens.map { before.tokens + worstTokens > $0 } ?? false)
                    || (budget.maxCost.map { before.cost + worstCost > $0 } ?? false)
                do {
                    let responses = try api.call(queries, account: account)
                    served += 1
                    XCTAssertFalse(wouldExceed, "a call whose worst case exceeds the budget was served")
                    let after = ledger.usage(account)!
                    XCTAssertEqual(
                        after, responses.reduce(before) { $0 + $1.usage },
                        "the ledger's total is not the sum of its charges")
                    for (q, r) in zip(queries, responses) {
                        XCTAssertEqual(r.usage.inputTokens, q.prompt.count)
                        XCTAssertEqual(r.usage.outputTokens, q.kind == .completion ? r.tokens.count : q.maxOutputTokens)
                        XCTAssertLessThanOrEqual(r.usage.outputTokens, q.maxOutputTokens)
                        XCTAssertEqual(
                            r.usage.cost.picodollars,
                            Int64(r.usage.inputTokens) * prices.inputMicrodollarsPerMillion + Int64(
                                r.usage.outputTokens) * prices.outputMicrodollarsPerMillion)
                    }
                    served_[account, default: .zero] =
                        served_[account, default: .zero] + responses.reduce(.zero) { $0 + $1.usage }
                } catch let refusal as APIRefusal {
                    guard case let .budgetExceeded(acct, limit, _, _, _) = refusal.reason else { throw refusal }
                    refused += 1
                    refusedBy[limit, default: 0] += 1
                    XCTAssertEqual(acct, account)
                    XCTAssertTrue(wouldExceed, "a call that fits the budget was refused: \(refusal)")
                    XCTAssertEqual(ledger.usage(account), before, "a refused call changed the ledger")
                }
                // The property itself, after every call.
                let used = ledger.usage(account)!
                if let m = budget.maxQueries { XCTAssertLessThanOrEqual(used.queries, m) }
                if let m = budget.maxTokens { XCTAssertLessThanOrEqual(used.tokens, m) }
                if let m = budget.maxCost { XCTAssertLessThanOrEqual(used.cost, m) }
                XCTAssertEqual(used.cost, prices.cost(inputTokens: used.inputTokens, outputTokens: used.outputTokens))
                XCTAssertEqual(
                    used.cost.dollars * 1_000_000,
                    Decimal(used.inputTokens) * Decimal(prices.inputMicrodollarsPerMillion) / 1_000_000 + Decimal(
                        used.outputTokens) * Decimal(prices.outputMicrodollarsPerMillion) / 1_000_000)
            }
            for name in names { XCTAssertEqual(ledger.usage(name), served_[name] ?? .zero) }
            XCTAssertEqual(ledger.total, names.reduce(Usage.zero) { $0 + ledger.usage($1)! })
        }
        // The run must actually have pressed every kind of budget.
        XCTAssertGreaterThan(served, 1_000)
        XCTAssertGreaterThan(refusedBy[.queries] ?? 0, 0)
        XCTAssertGreaterThan(refusedBy[.tokens] ?? 0, 0)
        XCTAssertGreaterThan(refusedBy[.dollars] ?? 0, 0)
        print(
            "ledger property: \(served) calls served, \(refused) refused (queries \(refusedBy[.queries] ?? 0), tokens \(refusedBy[.tokens] ?? 0), dollars \(refusedBy[.dollars] ?? 0))"
        )
    }

    func testABudgetMetExactlyIsServedAndOnePicodollarMoreIsNot() throws {
        let teacher = try BigramTeacher.random(vocabularySize: 8, seed: 1)
        let prices = PriceTable.standard
        let ledger = Ledger(prices: prices)
        let exact = prices.cost(inputTokens: 3, outputTokens: 1)
        try ledger.open("exact", budget: Budget(maxCost: exact))
        try ledger.open("short", budget: Budget(maxCost: Money(picodollars: exact.picodollars - 1)))
        try ledger.open("tokens", budget: Budget(maxTokens: 4))
        let api = DefendedAPI(teacher: teacher, ledger: ledger)
        XCTAssertEqual(try api.call(.label([1, 2, 3]), account: "exact").usage.cost, exact)
        XCTAssertEqual(ledger.usage("exact")!.cost, exact)
        guard
            case .budgetExceeded(_, .dollars, _, 0, exact.picodollars)? = Fixture.refusal({
                try api.call(.label([1, 2, 3]), account: "short")
            })
        else {
            return XCTFail("expected a dollar-budget refusal")
        }
        // A completion reserves its max_new_tokens even if it would stop earlier.
        XCTAssertEqual(
            Fixture.refusal { try api.call(.completion([1, 2], maxNewTokens: 3, stopToken: 0), account: "tokens") },
            .budgetExceeded(account: "tokens", limit: .tokens, budget: 4, used: 0, requested: 5))
        XCTAssertNoThrow(try api.call(.completion([1, 2], maxNewTokens: 2), account: "tokens"))
        XCTAssertEqual(ledger.usage("tokens")!.tokens, 4)
        XCTAssertNotNil(Fixture.refusal { try api.call(.echo([1]), account: "tokens") })
    }

    func testMoneyIsExact() throws {
        XCTAssertEqual(PriceTable.standard.cost(inputTokens: 1_000_000, outputTokens: 0).description, "$0.15")
        XCTAssertEqual(PriceTable.standard.cost(inputTokens: 0, outputTokens: 1).description, "$0.0000006")
        XCTAssertEqual(try Money(dollars: Decimal(string: "0.000000000001")!), Money(picodollars: 1))
        XCTAssertNotNil(Fixture.error { try Money(dollars: Decimal(string: "0.0000000000001")!) })
        XCTAssertEqual(
            try PriceTable(
                inputDollarsPerMillion: Decimal(string: "0.15")!, outputDollarsPerMillion: Decimal(string: "0.6")!),
            PriceTable.standard)
        XCTAssertNotNil(
            Fixture.error {
                try PriceTable(inputDollarsPerMillion: Decimal(string: "0.0000001")!, outputDollarsPerMillion: 1)
            })
        // Ten million single-token charges sum to the price of ten million tokens, to the picodollar.
        var sum = Money.zero
        let one = PriceTable.standard.cost(inputTokens: 1, outputTokens: 1)
        for _ in 0..<10_000 { sum += one }
        XCTAssertEqual(sum, PriceTable.standard.cost(inputTokens: 10_000, outputTokens: 10_000))
    }

    func testAccountsAndFLOPs() throws {
        let ledger = Ledger()
        try ledger.open("a")
        XCTAssertNotNil(Fixture.error { try ledger.open("a") })
        XCTAssertNotNil(Fixture.error { try ledger.open("b", budget: Budget(maxTokens: -1)) })
        let gpt = try Fixture.tinyGPT()
        let teacher = GPTTeacher(model: gpt)
        let api = DefendedAPI(teacher: teacher, ledger: ledger)
        let r = try api.call(.distribution([1, 2, 3, 4]), account: "a")
        // FLOPs served are counted, not estimated: Σ_t inferenceFlopsPerToken(t) over the prompt's positions.
        let expected = (1...4).reduce(0.0) { $0 + gpt.config.inferenceFlopsPerToken(sequenceLength: $1) }
        XCTAssertEqual(r.usage.flops, expected, accuracy: 1e-6 * expected)
        let c = try api.call(.completion([1, 2], maxNewTokens: 3, seed: 1), account: "a")
        XCTAssertEqual(
            c.usage.flops, (1...4).reduce(0.0) { $0 + gpt.config.inferenceFlopsPerToken(sequenceLength: $1) },
            accuracy: 1)
        XCTAssertEqual(ledger.usage("a")!.flops, r.usage.flops + c.usage.flops)
    }
}
