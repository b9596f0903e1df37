// The kernel-selection decision: re-execute onto SkylakeX only when it helps and the user has not
// chosen; and sgemm (the one BLAS entry point) against a naive triple loop, split or not.
import XCTest

@testable import LabCore

final class BLASKernelTests: XCTestCase {
    let avx512: Set<String> = ["sse2", "avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl"]

    func testReexecutesOnlyFromASlowKernelOnAnAVX512CPU() {
        XCTAssertTrue(BLASKernel.shouldReexecute(environment: [:], cpuFlags: avx512, coreName: "Prescott"))
        XCTAssertTrue(BLASKernel.shouldReexecute(environment: [:], cpuFlags: avx512, coreName: "Haswell"))
        XCTAssertFalse(BLASKernel.shouldReexecute(environment: [:], cpuFlags: avx512, coreName: "SkylakeX"))
        XCTAssertFalse(BLASKernel.shouldReexecute(environment: [:], cpuFlags: avx512, coreName: "Cooperlake"))
        // No AVX-512 (or only part of it): nothing faster to go to.
        XCTAssertFalse(BLASKernel.shouldReexecute(environment: [:], cpuFlags: ["sse2", "avx2"], coreName: "Haswell"))
        XCTAssertFalse(BLASKernel.shouldReexecute(environment: [:], cpuFlags: ["avx512f"], coreName: "Prescott"))
        // A value the user set is never overridden, and the re-executed process never loops.
        XCTAssertFalse(
            BLASKernel.shouldReexecute(
                environment: ["OPENBLAS_CORETYPE": "Prescott"], cpuFlags: avx512, coreName: "Prescott"))
        XCTAssertFalse(
            BLASKernel.shouldReexecute(
                environment: [BLASKernel.reexecGuardKey: "1"], cpuFlags: avx512, coreName: "Prescott"))
    }

    func testThisProcessIsNotLeftOnASlowKernelByTheTestCommand() {
        // The test runner is not re-executed; this records which kernel the suite's numbers came from.
        print("test suite BLAS: \(BLASKernel.summary)")
        XCTAssertFalse(BLAS.coreName.isEmpty)
    }

    func testSgemmAndItsSplitMatchANaiveProduct() {
        for (m, n, k, workers) in [(3, 5, 7, 1), (130, 40, 70, 2), (20, 300, 90, 2), (97, 97, 97, 2)] {
            Parallel.withWorkers(workers) {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    var rng = LabRNG(seed: UInt64(m * n + k))
                    let a = (0..<(m * k)).map { _ in Float(rng.normal()) },
                        b = (0..<(k * n)).map { _ in Float(rng.normal()) }
                    var c = [Float](repeating: 0.5, count: m * n)
                    var naive = [Double](repeating: 0, count: m * n)
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            for p in 0..<k {
                                let av = ta ? a[p * m + i] : a[i * k + p]
                                let bv = tb ? b[j * k + p] : b[p * n + j]
                                s += Double(av) * Double(bv)
                            }
                            naive[i * n + j] = 2 * s + 0.5 * 0.5
                        }
                    }
                    BLAS.parallelSgemm(
                        transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: a, lda: ta ? m : k, b: b,
                        ldb: tb ? k : n,
                        beta: 0.5, c: &c, ldc: n)
                    XCTAssertLessThanOrEqual(
                        maxToleranceRatio(c, naive, atol: 1e-3, rtol: 1e-4), 1,
                        "\(m)×\(n)×\(k) tA=\(ta) tB=\(tb) workers=\(workers)")
                }
            }
        }
    }
}
