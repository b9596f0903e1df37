// Committed results come from committed code: computing into a repository's results/ refuses while code
// outside results/ has uncommitted changes, and is allowed when told, outside results/, or with only
// results/ changed.
import Foundation
import LabExperiments
import XCTest

final class CleanTreeTests: XCTestCase {
    func git(_ args: [String], in dir: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", dir.path, "-c", "user.name=lab", "-c", "user.email=lab@example.invalid"] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw XCTSkip("git \(args.joined(separator: " ")) failed (is git installed?)")
        }
    }

    func testResultsAreRefusedFromADirtyTreeUnlessAllowed() throws {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("clean-tree-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: repo) }
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("results/old"), withIntermediateDirectories: true)
        try "let x = 1\n".write(to: repo.appendingPathComponent("code.swift"), atomically: true, encoding: .utf8)
        try "1\n".write(to: repo.appendingPathComponent("results/old/results.csv"), atomically: true, encoding: .utf8)
        try git(["init", "-q"], in: repo)
        try git(["add", "."], in: repo)
        try git(["commit", "-q", "-m", "start"], in: repo)
        let output = repo.appendingPathComponent("results/new")

        XCTAssertNoThrow(try CleanTree.check(output: output, allowDirty: false), "a clean tree")
        try "2\n".write(to: repo.appendingPathComponent("results/old/results.csv"), atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try CleanTree.check(output: output, allowDirty: false), "only results/ changed")

        try "let x = 2\n".write(to: repo.appendingPathComponent("code.swift"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CleanTree.check(output: output, allowDirty: false)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("code.swift"), text)
            XCTAssertTrue(text.contains("--allow-dirty"), text)
        }
        XCTAssertNoThrow(try CleanTree.check(output: output, allowDirty: true), "allowed")
        XCTAssertNoThrow(
            try CleanTree.check(output: repo.appendingPathComponent("scratch/out"), allowDirty: false),
            "outside results/")
    }
}
