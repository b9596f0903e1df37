// The two attention implementations (per-head sgemm, and fused Swift SIMD over the unmasked half)
// compute the same function: forward outputs, probabilities and every input gradient agree.
import XCTest

@testable import LabCore
@testable import LabModel

final class AttentionKernelTests: XCTestCase {
    func testGEMMAndFusedAttentionAgree() {
        for (B, T, C, NH, workers) in [(2, 5, 8, 2, 1), (3, 17, 64, 2, 2), (2, 33, 96, 3, 2)] {
            Parallel.withWorkers(workers) {
                var rng = LabRNG(seed: UInt64(T), stream: "attention-kernels")
                let N = B * T
                let qkv = FloatBuffer((0..<(N * 3 * C)).map { _ in Float(rng.normal()) })
                let dout = FloatBuffer((0..<(N * C)).map { _ in Float(rng.normal()) })
                let out1 = FloatBuffer(count: N * C), out2 = FloatBuffer(count: N * C)
                let att1 = FloatBuffer(count: B * NH * T * T), att2 = FloatBuffer(count: B * NH * T * T)
                let d1 = FloatBuffer(count: N * 3 * C), d2 = FloatBuffer(count: N * 3 * C)
                let scratch = AttentionScratch(workers: workers, headSize: C / NH, T: T)
                attentionForward(
                    out: out1.pointer, att: att1.pointer, qkv: qkv.pointer, B: B, T: T, C: C, NH: NH, scratch: scratch)
                attentionForwardGEMM(out: out2.pointer, att: att2.pointer, qkv: qkv.pointer, B: B, T: T, C: C, NH: NH)
                attentionBackward(
                    dqkv: d1.pointer, dout: dout.pointer, att: att1.pointer, qkv: qkv.pointer, B: B, T: T, C: C, NH: NH,
                    scratch: scratch)
                attentionBackwardGEMM(
                    dqkv: d2.pointer, dout: dout.pointer, att: att2.pointer, qkv: qkv.pointer, B: B, T: T, C: C, NH: NH,
                    scratch: scratch.buffer.pointer)
                let shape = "B\(B) T\(T) C\(C) NH\(NH)"
                XCTAssertLessThanOrEqual(
                    maxToleranceRatio(out2.array, out1.array, atol: 1e-5, rtol: 1e-4), 1, "out \(shape)")
                XCTAssertLessThanOrEqual(
                    maxToleranceRatio(att2.array, att1.array, atol: 1e-6, rtol: 1e-4), 1, "probabilities \(shape)")
                XCTAssertLessThanOrEqual(
                    maxToleranceRatio(d2.array, d1.array, atol: 1e-5, rtol: 1e-3), 1, "dqkv \(shape)")
                // The causal mask: nothing above the diagonal.
                for bh in 0..<(B * NH) {
                    for t in 0..<T {
                        for j in (t + 1)..<max(t + 1, T) { XCTAssertEqual(att2[(bh * T + t) * T + j], 0) }
                    }
                }
            }
        }
    }
}
