// Crash safety of the durable ledger: the server is killed with SIGKILL under concurrent load, restarted,
// and the ledger reconciled against the clients' log of 200 responses — every one has exactly one row, none
// lost or doubled — and after the restart the server serves and charges on from where it stopped.
import Foundation
import LabService
import XCTest

/// The ids of the 200 responses the clients saw, and how many requests failed.
actor ClientLog {
    var ok: [String] = []
    var failed = 0
    var stopped = false
    func record(_ id: String) { ok.append(id) }
    func fail() { failed += 1 }
    func stop() { stopped = true }
}

final class ServiceCrashTests: XCTestCase {
    func testKill9UnderLoadThenRestartLosesAndDoublesNoCharge() async throws {
        let server = try ServerHarness(
            "crash",
            extra: """
                gateway: {rate_limit: null}
                batching: {window_ms: 5, max_batch: 64}
                """)
        let keys = try (0..<4).map { try server.key("client-\($0)") }
        try server.start()
        XCTAssertEqual(try server.store.journalMode(), "wal")

        let log = ClientLog()
        let clients = (0..<16).map { c in
            Task {
                while await !log.stopped {
                    do {
                        let reply = try await server.complete(
                            key: keys[c % keys.count], prompt: "abcab", maxTokens: 4, extra: ["seed": c])
                        if reply.status == 200, let id = reply.json["id"] as? String {
                            await log.record(id)
                        } else {
                            await log.fail()
                        }
                    } catch {
                        await log.fail()
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        // Kill once a good number of requests were answered (bounded: at most 60 s of load).
        let deadline = Date().addingTimeInterval(60)
        while await log.ok.count < 150, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        server.stop(signal: SIGKILL)
        XCTAssertEqual(server.process?.terminationReason, .uncaughtSignal)
        try await Task.sleep(for: .milliseconds(200))
        await log.stop()
        for c in clients { await c.value }

        let delivered = await log.ok
        XCTAssertGreaterThanOrEqual(delivered.count, 150, "the load ran before the kill")
        let rows = try server.store.charges()
        var count: [String: Int] = [:]
        for r in rows { count[r.requestID, default: 0] += 1 }
        let lost = delivered.filter { count[$0] == nil }
        let doubled = count.filter { $0.value > 1 }
        XCTAssertEqual(lost, [], "every 200 response has its ledger row")
        XCTAssertTrue(doubled.isEmpty, "no request is charged twice: \(doubled)")
        XCTAssertEqual(Set(delivered).count, delivered.count, "request ids are unique")
        let undelivered = rows.count - delivered.count
        print(
            "kill -9 after \(delivered.count) delivered responses: \(rows.count) ledger rows, \(lost.count) lost, \(doubled.count) doubled, "
                + "\(undelivered) charged but cut off by the kill before their response left")
        XCTAssertGreaterThanOrEqual(undelivered, 0)
        XCTAssertLessThanOrEqual(undelivered, 64, "at most one batch can be committed and not delivered")

        // Restart on the same database: it serves, and charges add to what was there.
        try server.start()
        var after: [String] = []
        for i in 0..<10 {
            let reply = try await server.complete(key: keys[i % keys.count], prompt: "cab", maxTokens: 3)
            XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self))
            if let id = reply.json["id"] as? String { after.append(id) }
        }
        server.stop(signal: SIGTERM)
        XCTAssertEqual(server.process?.terminationStatus, 0, "SIGTERM shuts down cleanly")
        let final = try server.store.charges()
        XCTAssertEqual(final.count, rows.count + 10)
        XCTAssertEqual(Set(final.map(\.requestID)).count, final.count)
        XCTAssertTrue(Set(after).isSubset(of: Set(final.map(\.requestID))))
        let usage = try server.store.usage()
        XCTAssertEqual(usage.reduce(0) { $0 + $1.usage.queries }, final.count, "per-account usage sums the ledger rows")
    }

    func testSIGTERMLetsInFlightRequestsFinishAndChargesThem() async throws {
        // A long batching window keeps the requests waiting inside the server when the signal lands.
        let server = try ServerHarness(
            "drain",
            extra: """
                gateway: {rate_limit: null}
                batching: {window_ms: 400, max_batch: 64}
                """)
        let key = try server.key("drain")
        try server.start()
        // Prime: one request, so the batcher has seen concurrency and waits its window for the next batch.
        async let a = server.complete(key: key, maxTokens: 8)
        async let b = server.complete(key: key, maxTokens: 8)
        _ = try await (a, b)
        let inFlight = (0..<8).map { i in
            Task { try await server.complete(key: key, prompt: "abcab", maxTokens: 8, extra: ["seed": i]) }
        }
        try await Task.sleep(for: .milliseconds(150))
        let pid = try XCTUnwrap(server.process?.processIdentifier)
        kill(pid, SIGTERM)
        var ids: [String] = []
        for t in inFlight {
            let reply = try await t.value
            XCTAssertEqual(
                reply.status, 200,
                "an in-flight request is answered during shutdown: \(String(decoding: reply.body, as: UTF8.self))")
            if let id = reply.json["id"] as? String { ids.append(id) }
        }
        server.process?.waitUntilExit()
        XCTAssertEqual(server.process?.terminationStatus, 0)
        let rows = Set(try server.store.charges().map(\.requestID))
        XCTAssertEqual(ids.count, 8)
        XCTAssertTrue(Set(ids).isSubset(of: rows), "each drained response has its ledger row")
    }
}
