// Gateway tests: the token bucket and quota never let an account exceed its published limits (a property
// over random traffic, checked on every window between two served requests), a banned account is never
// served after its ban lands, bans wait their delay, proof-of-work follows suspicion, and misuse is typed.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabCampaigns
@testable import LabDefences

final class GatewayTests: XCTestCase {
    func testTokenBucketArithmetic() {
        var b = TokenBucket(capacity: 2, ratePerSecond: 0.5, now: 0)
        XCTAssertNil(b.take(at: 0))
        XCTAssertNil(b.take(at: 0))
        XCTAssertEqual(b.take(at: 0), 2)  // one token accrues in 1 / 0.5 s
        XCTAssertNil(b.take(at: 2))
        XCTAssertEqual(b.take(at: 3) ?? 0, 4, accuracy: 1e-12)  // half a token at 3 s, a whole one at 4 s
        var q = DailyQuota(limit: 2)
        XCTAssertNil(q.take(at: 10))
        XCTAssertNil(q.take(at: 20))
        XCTAssertEqual(q.take(at: 30), 86_400)
        XCTAssertNil(q.take(at: 86_400))
    }

    /// Random arrivals from several accounts, bursty on purpose. For every account and every pair of its
    /// served requests i < j: j − i + 1 ≤ burst + rate · (tⱼ − tᵢ) (the bucket's guarantee), and each
    /// calendar day serves at most the quota.
    func testRateLimitsAreNeverExceeded() throws {
        let limit = RateLimitConfig(requestsPerMinute: 6, burst: 4, queriesPerDay: 300)
        let gateway = try Gateway(config: GatewayConfig(rateLimit: limit), api: nil)
        var rng = LabRNG(seed: 11)
        let accounts = try (0..<5).map { _ in try gateway.openAccount(at: 0) }
        var served: [Int: [Double]] = [:]
        var time = 0.0
        var refused = 0
        for _ in 0..<6000 {
            // Mostly bursts (a few ms apart), sometimes long pauses, over about two days.
            time += rng.uniform() < 0.9 ? 0.01 * rng.uniform() : 200 * rng.uniform()
            let a = accounts[rng.int(below: accounts.count)]
            switch try gateway.submit(.completion([1, 2, 3], maxNewTokens: 2), account: a, at: time) {
            case .served: served[a, default: []].append(time)
            case .refused(.rateLimited), .refused(.quotaExhausted): refused += 1
            case let .refused(other): XCTFail("unexpected refusal \(other)")
            }
        }
        XCTAssertGreaterThan(refused, 1000, "the traffic must actually press on the limits")
        let rate = limit.requestsPerMinute / 60
        for (a, times) in served {
            for i in times.indices {
                for j in i..<min(times.count, i + 200) {
                    XCTAssertLessThanOrEqual(
                        Double(j - i + 1), Double(limit.burst) + rate * (times[j] - times[i]) + 1e-9,
                        "account \(a): \(j - i + 1) requests in \(times[j] - times[i]) s")
                }
            }
            let perDay = Dictionary(grouping: times) { Int($0 / 86_400) }.mapValues(\.count)
            XCTAssert(perDay.values.allSatisfy { $0 <= limit.queriesPerDay! }, "account \(a): \(perDay)")
        }
    }

    func testBanLandsAfterItsDelayAndABannedAccountIsNeverServed() throws {
        let stub = StubDetector(alarmAt: 3)
        let gateway = try Gateway(
            config: GatewayConfig(rateLimit: nil, banDelaySeconds: 100), api: nil, detectors: [(stub, true)])
        let a = try gateway.openAccount(at: 0)
        var servedAfterBan = 0
        var outcomes: [String] = []
        for t in stride(from: 0.0, through: 400, by: 20) {
            let r = try gateway.submit(.label([1, 2]), account: a, at: t)
            if case .served = r, let ban = gateway.accounts[a].banAt, t >= ban { servedAfterBan += 1 }
            if case .served = r { outcomes.append("s") } else { outcomes.append("b") }
        }
        // The third request (t = 40) alarms; the ban lands at 140: requests at 60...120 are still served.
        XCTAssertEqual(gateway.accounts[a].banAt, 140)
        XCTAssertEqual(gateway.alarms.map(\.served), [3])
        XCTAssertEqual(outcomes.prefix(7).joined(), "sssssss")
        XCTAssert(outcomes.dropFirst(7).allSatisfy { $0 == "b" })
        XCTAssertEqual(servedAfterBan, 0)
    }

    func testMonitorsLogAlarmsWithoutBanning() throws {
        let gateway = try Gateway(
            config: GatewayConfig(rateLimit: nil), api: nil, detectors: [(StubDetector(alarmAt: 1), false)])
        let a = try gateway.openAccount(at: 0)
        for t in 0..<5 { _ = try gateway.submit(.label([1]), account: a, at: Double(t)) }
        XCTAssertEqual(gateway.alarms.count, 1)
        XCTAssertNil(gateway.accounts[a].banAt)
        XCTAssertEqual(gateway.accounts[a].served, 5)
    }

    /// Dziedzic et al. 2022: bits = min + round((max − min) · suspicion); each request pays 2^bits hashes.
    func testProofOfWorkGrowsWithSuspicion() throws {
        var pow = ProofOfWorkConfig()
        pow.scoreFrom = "stub"
        pow.minBits = 4
        pow.maxBits = 20
        pow.hashesPerSecond = 1024
        let stub = StubDetector(alarmAt: .max, scores: [1: 0.5, 2: 1])
        let gateway = try Gateway(
            config: GatewayConfig(rateLimit: nil), api: nil, detectors: [(stub, false)],
            proofOfWork: ProofOfWork(config: pow))
        let accounts = try (0..<3).map { _ in try gateway.openAccount(at: 0) }
        var seconds: [Double] = []
        for a in accounts {
            guard case let .served(receipt) = try gateway.submit(.label([1]), account: a, at: 0) else {
                return XCTFail("refused")
            }
            seconds.append(receipt.proofOfWork?.seconds ?? -1)
        }
        XCTAssertEqual(accounts.map { gateway.accounts[$0].proofOfWorkHashes }, [1 << 4, 1 << 12, 1 << 20])
        XCTAssertEqual(seconds, [1.0 / 64, 4, 1024])
        XCTAssertEqual(ProofOfWork(config: ProofOfWorkConfig()).dollars(hashes: 36_000_000_000), 0.04, accuracy: 1e-12)
    }

    func testMisuseIsTyped() throws {
        let gateway = try Gateway(config: GatewayConfig(), api: nil)
        let a = try gateway.openAccount(at: 10)
        XCTAssertThrowsError(try gateway.submit(.label([1]), account: a, at: 5)) { XCTAssert($0 is LabError) }
        XCTAssertThrowsError(try gateway.submit(.label([1]), account: 99, at: 10)) { XCTAssert($0 is APIRefusal) }
        XCTAssertThrowsError(
            try Gateway(config: GatewayConfig(rateLimit: RateLimitConfig(requestsPerMinute: 0)), api: nil)
        ) { error in
            XCTAssertEqual(
                error as? LabError,
                .invalidConfig(
                    key: "gateway.rate_limit.requests_per_minute", message: "is 0.0; must be a positive rate"))
        }
        var pow = ProofOfWorkConfig()
        pow.scoreFrom = "prada"
        XCTAssertThrowsError(try Gateway(config: GatewayConfig(), api: nil, proofOfWork: ProofOfWork(config: pow)))
    }

    func testDetectionOnlyChargesTheLedgerWithoutATeacher() throws {
        let gateway = try Gateway(config: GatewayConfig(rateLimit: nil), api: nil)
        let a = try gateway.openAccount(at: 0)
        _ = try gateway.submit(.completion([1, 2, 3], maxNewTokens: 5), account: a, at: 0)
        let usage = try XCTUnwrap(gateway.ledger.usage(gateway.accounts[a].name))
        XCTAssertEqual(usage.inputTokens, 3)
        XCTAssertEqual(usage.outputTokens, 5)
        XCTAssertEqual(usage.cost, PriceTable.standard.cost(inputTokens: 3, outputTokens: 5))
    }
}
