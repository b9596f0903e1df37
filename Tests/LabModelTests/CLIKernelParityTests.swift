// The shipped binary on the BLAS kernel it selects for itself: `distill-lab logprobs` on the
// numpy reference's model must reproduce the reference's log-probabilities — once as users run it
// (where the CPU has AVX-512 it must end up on an AVX-512 kernel), and once with a kernel the user
// forced through OPENBLAS_CORETYPE, which it must respect.
import Foundation
import TestSupport
import XCTest

@testable import LabCore
@testable import LabModel

final class CLIKernelParityTests: XCTestCase {
    /// `.build/<config>/distill-lab`, beside the test bundle.
    func binary() throws -> URL {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("distill-lab")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("distill-lab binary not found next to \(exe.path); run `swift build` first")
    }

    /// Writes the reference model as a checkpoint whose tokenizer maps a…l to ids 1…12.
    func writeReferenceCheckpoint() throws -> (URL, text: String, expected: [Double]) {
        let f = try ParityTests.Fixture()
        let gpt = try f.model()
        let tokenizer = try Tokenizer(kind: .character, symbols: (0..<12).map { String(UnicodeScalar(UInt8(97 + $0))) })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "distill-lab-cli-parity-\(UUID().uuidString)")
        try Checkpoint.save(
            directory: dir, config: gpt.config, layout: gpt.layout, parameters: gpt.parameters,
            tokenizerJSON: try JSONEncoder().encode(tokenizer))
        // Batch row 0 of the fixture and the reference log-probabilities of each next token.
        let ids = Array(f.tokens[0..<f.T]).map(Int.init)
        let logits = f.doubles(f.json["logits"])
        let V = f.config.vocabularySize
        var expected: [Double] = []
        for t in 0..<(f.T - 1) {
            let row = logits[(t * V)..<((t + 1) * V)]
            let mx = row.max()!
            let lse = mx + log(row.reduce(0) { $0 + exp($1 - mx) })
            expected.append(row[row.startIndex + ids[t + 1]] - lse)
        }
        return (dir, tokenizer.decode(ids), expected)
    }

    func run(_ binary: URL, _ args: [String], environment: [String: String]) throws -> [String: Any] {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: errData, as: UTF8.self))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func testBinaryMatchesReferenceOnTheKernelItSelects() throws {
        let bin = try binary()
        let (dir, text, expected) = try writeReferenceCheckpoint()
        defer { try? FileManager.default.removeItem(at: dir) }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: BLASKernel.environmentKey)
        env.removeValue(forKey: BLASKernel.reexecGuardKey)
        let asUsersRunIt = try run(
            bin, ["logprobs", "--checkpoint", dir.path, "--text", text, "--json"], environment: env)
        let kernel = asUsersRunIt["blas_kernel"] as! String
        if BLASKernel.cpuSupportsSkylakeX {
            XCTAssertTrue(
                BLASKernel.avx512Cores.contains(kernel.lowercased()), "CPU has AVX-512 but the binary ran on \(kernel)")
        }
        let got = (asUsersRunIt["next_token_logprobs"] as! [NSNumber]).map(\.doubleValue)
        XCTAssertLessThanOrEqual(maxToleranceRatio(got, expected, atol: 1e-5, rtol: 1e-5), 1, "kernel \(kernel)")

        // A kernel the user forces is kept, and gives the same numbers.
        env[BLASKernel.environmentKey] = "Haswell"
        let forced = try run(bin, ["logprobs", "--checkpoint", dir.path, "--text", text, "--json"], environment: env)
        XCTAssertEqual((forced["blas_kernel"] as! String).lowercased(), "haswell")
        let got2 = (forced["next_token_logprobs"] as! [NSNumber]).map(\.doubleValue)
        XCTAssertLessThanOrEqual(maxToleranceRatio(got2, expected, atol: 1e-5, rtol: 1e-5), 1, "forced Haswell")
    }
}
