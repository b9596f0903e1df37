// The live parts of the service: detectors watching real traffic ban through the gateway (alarm in the admin
// summary and /metrics, 403 afterwards, ban durable across a restart), concurrent requests share teacher
// batches, and `serve --check` reports a located error for a bad config.
import Foundation
import LabService
import XCTest

final class ServiceLiveTests: XCTestCase {
    func testAVolumeAlarmBansTheAccountLiveAndTheBanSurvivesARestart() async throws {
        let server = try ServerHarness(
            "detect",
            extra: """
                gateway: {rate_limit: null, ban_delay_minutes: 0}
                detectors:
                  ban: [volume]
                  settings: {volume: {window_minutes: 10, max_requests: 5}}
                """)
        let greedy = try server.key("greedy"), modest = try server.key("modest"),
            admin = try server.key("ops", admin: true)
        try server.start()

        var statuses: [Int] = []
        for _ in 0..<8 { statuses.append(try await server.complete(key: greedy).status) }
        XCTAssertEqual(
            Array(statuses.prefix(6)), [200, 200, 200, 200, 200, 200],
            "the sixth request trips the alarm and is still served")
        XCTAssertEqual(Array(statuses.suffix(2)), [403, 403], "then the ban holds")
        for _ in 0..<3 {
            let reply = try await server.complete(key: modest)
            XCTAssertEqual(reply.status, 200, "an account under the threshold is untouched")
        }

        let summary = try await server.request("GET", "/admin/summary", key: admin).json
        let alarms = summary["alarms"] as? [[String: Any]] ?? []
        XCTAssertEqual(alarms.count, 1)
        XCTAssertEqual(alarms.first?["detector"] as? String, "volume")
        XCTAssertEqual(alarms.first?["served"] as? Int, 6)
        let metrics = String(decoding: try await server.request("GET", "/metrics", key: nil).body, as: UTF8.self)
        XCTAssertTrue(metrics.contains("distill_bans_total 1"), metrics)
        XCTAssertTrue(metrics.contains(#"distill_alarms_total{detector="volume"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"distill_refusals_total{reason="account_banned"} 2"#), metrics)

        server.stop()
        try server.start()
        defer { server.stop() }
        let after = try await server.complete(key: greedy)
        XCTAssertEqual(after.status, 403, "the ban is in the database, not only in memory")
        let modestAfter = try await server.complete(key: modest)
        XCTAssertEqual(modestAfter.status, 200)
    }

    func testConcurrentRequestsShareTeacherBatches() async throws {
        let server = try ServerHarness(
            "batch",
            extra: """
                gateway: {rate_limit: null}
                batching: {window_ms: 100, max_batch: 64}
                """)
        let key = try server.key("many")
        try server.start()
        defer { server.stop() }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 {
                group.addTask {
                    try await server.complete(key: key, prompt: "abc", maxTokens: 4, extra: ["seed": i]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(statuses, [Int](repeating: 200, count: 16))
        let metrics = String(decoding: try await server.request("GET", "/metrics", key: nil).body, as: UTF8.self)
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("distill_batch_queries_count") }
        let batches = line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        XCTAssertGreaterThan(batches, 0)
        XCTAssertLessThan(
            batches, 16, "16 concurrent requests were answered in fewer than 16 teacher batches (\(batches))")
    }

    func testCheckReportsALocatedErrorForAnUnknownKey() throws {
        let scratch = ServiceScratch("check")
        let path = scratch.file(
            "bad.yaml",
            """
            teacher: ck
            listen: {host: 127.0.0.1, port: 8080}
            batching: {window_ms: 5, max_bach: 64}
            """)
        XCTAssertThrowsError(try ServiceConfig.load(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bad.yaml:3:"), text)
            XCTAssertTrue(text.contains("max_bach"), text)
            XCTAssertTrue(text.contains("max_batch"), "a did-you-mean: \(text)")
        }
        let port = scratch.file("port.yaml", "teacher: ck\nlisten: {port: 70000}\n")
        XCTAssertThrowsError(try ServiceConfig.load(path: port)) { error in
            XCTAssertTrue("\(error)".contains("port.yaml:2:"), "\(error)")
            XCTAssertTrue("\(error)".contains("listen.port"), "\(error)")
        }

        let missing = scratch.file("missing.yaml", "teacher: no-such-dir\n")
        let p = Process()
        p.executableURL = try ServerHarness.binary()
        p.arguments = ["serve", "--check", missing]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(text.contains("missing.yaml:1:"), text)
        XCTAssertTrue(text.contains("teacher"), text)
    }
}
