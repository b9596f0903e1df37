import TestSupport
// GradientCheckTests: every backward kernel of the GPT engine, and the whole model, against central
// finite differences of a scalar objective evaluated in Double from the Float32 forward.
// Not a parity test (ParityTests compares with the numpy reference) and not a speed test.
import XCTest

@testable import LabCore
@testable import LabModel

final class GradientCheckTests: XCTestCase {
    // Tolerances. The forward is Float32, so a central difference with step h carries a rounding
    // error of about ε·|L|/h (ε = 6e-8) on top of the O(h²) truncation error; h = 1e-2 (scaled by
    // max(1, |x|)) balances the two for inputs of magnitude ~1. Each check passes when
    // |analytic − FD| <= atol + rtol·|FD| on every checked entry.
    // The observed worst |analytic − FD| / (atol + rtol·|FD|) is noted beside each pair, so the
    // margin is visible; a gradient scaled by 1.1 scores ~95 (testCheckerReportsWrongGradients).
    static let step: Float = 1e-2
    /// Kernels whose objective is Σ out ⊙ R with R ~ N(0, 1): gradients up to ~20, observed
    /// absolute errors up to 8e-5 (worst ratio 0.14, GELU and LayerNorm x).
    static let kernelAtol = 2e-4, kernelRtol = 1e-3
    /// The mean loss over logits: gradients up to ~0.4, observed absolute errors up to 1.5e-5
    /// (worst ratio 0.35, sparse bucket at τ = 0.6).
    static let lossAtol = 3e-5, lossRtol = 1e-3
    /// The whole model's loss over its parameters: gradients up to ~0.5, observed absolute errors
    /// up to 2.7e-4 on the largest entries (relative 6e-4; worst ratio 0.27, wpe and c_proj.bias).
    static let modelAtol = 5e-5, modelRtol = 5e-3

    // MARK: Helpers

    /// Compares `analytic` (the first `count` floats) with central differences of `objective`
    /// over `x`, on `indices` (all entries when nil), and asserts the tolerances.
    @discardableResult
    private func check(
        _ name: String, _ x: UnsafeMutablePointer<Float>, analytic: UnsafePointer<Float>, count: Int,
        indices: [Int]? = nil,
        atol: Double = kernelAtol, rtol: Double = kernelRtol, step: Float = step,
        file: StaticString = #filePath, line: UInt = #line, objective: () throws -> Double
    ) rethrows -> GradientCheck {
        let idx = indices ?? Array(0..<count)
        let numeric = try FiniteDifference.gradient(at: x, indices: idx, step: step, objective: objective)
        let result = GradientCheck(
            name: name, analytic: idx.map { Double(analytic[$0]) }, numeric: numeric, indices: idx, atol: atol,
            rtol: rtol)
        print("gradient check \(result)")
        XCTAssertTrue(result.passed, "\(result)", file: file, line: line)
        return result
    }

    private func normals(_ n: Int, _ rng: inout LabRNG, scale: Double = 1, mean: Double = 0) -> FloatBuffer {
        FloatBuffer(FiniteDifference.normals(n, rng: &rng, scale: scale, mean: mean))
    }

    // MARK: The checker can fail

    /// A deliberately wrong analytic gradient (scaled by 1.1, or one entry's sign flipped) must be
    /// reported far outside tolerance, or every other test here proves nothing.
    func testCheckerReportsWrongGradients() {
        Parallel.withWorkers(1) {
            var rng = LabRNG(seed: 7, stream: "self-test")
            let N = 4, IC = 5, OC = 3
            let x = normals(N * IC, &rng), w = normals(IC * OC, &rng), b = normals(OC, &rng),
                out = FloatBuffer(count: N * OC)
            let r = FiniteDifference.normals(N * OC, rng: &rng)
            let dx = FloatBuffer(count: N * IC), dw = FloatBuffer(count: IC * OC), db = FloatBuffer(count: OC)
            let dout = FloatBuffer(r)
            linearBackward(
                dx: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, x: x.pointer,
                weight: w.pointer,
                N: N, IC: IC, OC: OC)
            let objective = {
                linearForward(out: out.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, N: N, IC: IC, OC: OC)
                return FiniteDifference.weightedSum(out.pointer, r)
            }
            let all = Array(0..<(IC * OC))
            let numeric = FiniteDifference.gradient(at: w.pointer, indices: all, step: Self.step, objective: objective)
            let right = GradientCheck(
                name: "W", analytic: all.map { Double(dw[$0]) }, numeric: numeric, indices: all, atol: Self.kernelAtol,
                rtol: Self.kernelRtol)
            let scaled = GradientCheck(
                name: "1.1·W", analytic: all.map { 1.1 * Double(dw[$0]) }, numeric: numeric, indices: all,
                atol: Self.kernelAtol, rtol: Self.kernelRtol)
            var flippedValues = all.map { Double(dw[$0]) }
            flippedValues[6] = -flippedValues[6]
            let flipped = GradientCheck(
                name: "W with one sign flipped", analytic: flippedValues, numeric: numeric, indices: all,
                atol: Self.kernelAtol, rtol: Self.kernelRtol)
            XCTAssertTrue(right.passed, "\(right)")
            XCTAssertGreaterThan(scaled.worstRatio, 10, "\(scaled)")
            XCTAssertFalse(scaled.passed)
            XCTAssertGreaterThan(flipped.worstRatio, 10, "\(flipped)")
            XCTAssertEqual(flipped.worstIndex, 6)
            print(
                "self-test: correct \(right.worstRatio), scaled by 1.1 \(scaled.worstRatio), one sign flipped \(flipped.worstRatio)"
            )
        }
    }

    // MARK: Layers

    func testEncoderGradients() {
        Parallel.withWorkers(1) {
            var rng = LabRNG(seed: 101, stream: "encoder")
            let B = 2, T = 5, C = 8, V = 7
            // Ten positions over seven tokens: some tokens repeat (scatter-add), some never occur.
            let tokens: [Int32] = [3, 1, 3, 0, 5, 1, 1, 6, 3, 0]
            let wte = normals(V * C, &rng), wpe = normals(T * C, &rng), out = FloatBuffer(count: B * T * C)
            let r = FiniteDifference.normals(B * T * C, rng: &rng)
            let dwte = FloatBuffer(count: V * C), dwpe = FloatBuffer(count: T * C), dout = FloatBuffer(r)
            tokens.withUnsafeBufferPointer { tok in
                encoderBackward(
                    dwte: dwte.pointer, dwpe: dwpe.pointer, dout: dout.pointer, tokens: tok.baseAddress!, B: B, T: T,
                    C: C)
                let objective = {
                    encoderForward(
                        out: out.pointer, tokens: tok.baseAddress!, wte: wte.pointer, wpe: wpe.pointer, B: B, T: T, C: C
                    )
                    return FiniteDifference.weightedSum(out.pointer, r)
                }
                check("encoder wte", wte.pointer, analytic: dwte.pointer, count: V * C, objective: objective)
                check("encoder wpe", wpe.pointer, analytic: dwpe.pointer, count: T * C, objective: objective)
            }
            XCTAssertEqual((0..<C).map { dwte[2 * C + $0] }, [Float](repeating: 0, count: C), "token 2 never occurs")
        }
    }

    /// N = 10 runs one chunk; N = 64 with two workers runs the chunked weight/bias partials.
    func testLayerNormGradients() {
        for (N, workers) in [(10, 1), (64, 2)] {
            Parallel.withWorkers(workers) {
                var rng = LabRNG(seed: 202 + UInt64(N), stream: "layernorm")
                let C = 8
                let x = normals(N * C, &rng, scale: 1.5, mean: 0.5)
                let weight = normals(C, &rng, scale: 0.5, mean: 1), bias = normals(C, &rng, scale: 0.5)
                let out = FloatBuffer(count: N * C), mean = FloatBuffer(count: N), rstd = FloatBuffer(count: N)
                let r = FiniteDifference.normals(N * C, rng: &rng)
                let objective = {
                    layerNormForward(
                        out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, x: x.pointer, weight: weight.pointer,
                        bias: bias.pointer, N: N, C: C)
                    return FiniteDifference.weightedSum(out.pointer, r)
                }
                _ = objective()
                let dx = FloatBuffer(count: N * C), dw = FloatBuffer(count: C), db = FloatBuffer(count: C),
                    dout = FloatBuffer(r)
                let scratch = FloatBuffer(count: workers * 2 * C)
                layerNormBackward(
                    dx: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, x: x.pointer,
                    weight: weight.pointer, mean: mean.pointer, rstd: rstd.pointer, N: N, C: C, scratch: scratch.pointer
                )
                check(
                    "layernorm x (N \(N), workers \(workers))", x.pointer, analytic: dx.pointer, count: N * C,
                    objective: objective)
                check(
                    "layernorm weight (N \(N), workers \(workers))", weight.pointer, analytic: dw.pointer, count: C,
                    objective: objective)
                check(
                    "layernorm bias (N \(N), workers \(workers))", bias.pointer, analytic: db.pointer, count: C,
                    objective: objective)
            }
        }
    }

    /// out = residual + x·W + b: x, W, b and the residual (whose gradient is dout itself).
    func testLinearGradients() {
        Parallel.withWorkers(2) {
            var rng = LabRNG(seed: 303, stream: "linear")
            let N = 10, IC = 8, OC = 12
            let x = normals(N * IC, &rng), w = normals(IC * OC, &rng, scale: 0.5), b = normals(OC, &rng),
                residual = normals(N * OC, &rng)
            let out = FloatBuffer(count: N * OC)
            let r = FiniteDifference.normals(N * OC, rng: &rng)
            let dx = FloatBuffer(count: N * IC), dw = FloatBuffer(count: IC * OC), db = FloatBuffer(count: OC),
                dout = FloatBuffer(r)
            linearBackward(
                dx: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, x: x.pointer,
                weight: w.pointer,
                N: N, IC: IC, OC: OC)
            let objective = {
                linearForward(
                    out: out.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, N: N, IC: IC, OC: OC,
                    residual: residual.pointer)
                return FiniteDifference.weightedSum(out.pointer, r)
            }
            check("linear x", x.pointer, analytic: dx.pointer, count: N * IC, objective: objective)
            check("linear W", w.pointer, analytic: dw.pointer, count: IC * OC, objective: objective)
            check("linear b", b.pointer, analytic: db.pointer, count: OC, objective: objective)
            check("linear residual", residual.pointer, analytic: dout.pointer, count: N * OC, objective: objective)
        }
    }

    /// 37 entries: two SIMD16 blocks and a scalar tail of five, over [-4, 4] and near zero.
    func testGeluGradients() {
        Parallel.withWorkers(1) {
            var rng = LabRNG(seed: 404, stream: "gelu")
            let n = 37
            var values = (0..<n).map { i in i % 4 == 0 ? Float(0.1 * rng.normal()) : 8 * rng.uniformFloat() - 4 }
            values[7] = 0  // the backward's s = y/x has a special case at exactly zero
            let x = FloatBuffer(values)
            let out = FloatBuffer(count: n)
            let r = FiniteDifference.normals(n, rng: &rng)
            let d = FloatBuffer(r)
            geluForward(out: out.pointer, x: x.pointer, n: n)
            geluBackward(d: d.pointer, x: x.pointer, y: out.pointer, n: n)
            check("gelu x", x.pointer, analytic: d.pointer, count: n) {
                geluForward(out: out.pointer, x: x.pointer, n: n)
                return FiniteDifference.weightedSum(out.pointer, r)
            }
        }
    }

    /// The q, k and v column blocks of qkv, with one worker and with two (per-worker scratch).
    func testAttentionGradients() {
        for workers in [1, 2] {
            Parallel.withWorkers(workers) {
                var rng = LabRNG(seed: 505, stream: "attention")
                let B = 2, T = 5, C = 8, NH = 2
                let qkv = normals(B * T * 3 * C, &rng)
                let out = FloatBuffer(count: B * T * C), att = FloatBuffer(count: B * NH * T * T)
                let scratch = AttentionScratch(workers: workers, headSize: C / NH, T: T)
                let r = FiniteDifference.normals(B * T * C, rng: &rng)
                let objective = {
                    attentionForward(
                        out: out.pointer, att: att.pointer, qkv: qkv.pointer, B: B, T: T, C: C, NH: NH, scratch: scratch
                    )
                    return FiniteDifference.weightedSum(out.pointer, r)
                }
                _ = objective()
                let dqkv = FloatBuffer(count: B * T * 3 * C), dout = FloatBuffer(r)
                attentionBackward(
                    dqkv: dqkv.pointer, dout: dout.pointer, att: att.pointer, qkv: qkv.pointer, B: B, T: T, C: C,
                    NH: NH,
                    scratch: scratch)
                for (part, name) in ["q", "k", "v"].enumerated() {
                    let idx = (0..<(B * T)).flatMap { row in (0..<C).map { row * 3 * C + part * C + $0 } }
                    check(
                        "attention \(name) (workers \(workers))", qkv.pointer, analytic: dqkv.pointer,
                        count: B * T * 3 * C,
                        indices: idx, objective: objective)
                }
            }
        }
    }

    /// Every target kind (hard, dense, sparse with each tail) at τ = 1 without a mask, at τ = 2.5
    /// with a 0/1 mask, and at τ = 0.6 with fractional weights including zeros; all logits.
    func testLossGradients() throws {
        try Parallel.withWorkers(2) {
            var rng = LabRNG(seed: 606, stream: "loss")
            let N = 10, V = 7, k = 3
            let logits = normals(N * V, &rng, scale: 2)
            let hard = (0..<N).map { _ in Int32(rng.int(below: V)) }
            // Dense rows: positive weights normalised, with one exact zero per row.
            var denseValues = (0..<(N * V)).map { _ in Float(0.05) + rng.uniformFloat() }
            for row in 0..<N {
                denseValues[row * V + rng.int(below: V)] = 0
                let s = denseValues[(row * V)..<((row + 1) * V)].reduce(0, +)
                for v in 0..<V { denseValues[row * V + v] /= s }
            }
            let dense = FloatBuffer(denseValues)
            // Sparse rows: k distinct tokens whose probabilities sum to 0.5–0.9.
            var sparseTokens: [Int32] = [], sparseProbs: [Float] = []
            for _ in 0..<N {
                var perm = Array(0..<V)
                for i in stride(from: V - 1, to: 0, by: -1) { perm.swapAt(i, rng.int(below: i + 1)) }
                let raw = (0..<k).map { _ in 0.1 + rng.uniformFloat() }
                let mass = 0.5 + 0.4 * rng.uniformFloat()
                let s = raw.reduce(0, +)
                sparseTokens += perm.prefix(k).map(Int32.init)
                sparseProbs += raw.map { $0 / s * mass }
            }
            var targets: [(String, LossTargets)] = [
                ("hard", .hard(hard)), ("dense", .dense(UnsafePointer(dense.pointer))),
            ]
            for tail in SparseTail.allCases {
                targets.append(
                    (
                        "sparse \(tail.rawValue)",
                        .sparse(tokens: sparseTokens, probabilities: sparseProbs, k: k, tail: tail)
                    )
                )
            }
            let options: [(String, LossOptions)] = [
                ("τ 1", LossOptions()),
                ("τ 2.5, 0/1 mask", LossOptions(temperature: 2.5, mask: [1, 0, 1, 1, 0, 1, 1, 1, 0, 1])),
                ("τ 0.6, weighted mask", LossOptions(temperature: 0.6, mask: [0.5, 1, 0, 2, 1, 0, 1, 0.25, 1, 1])),
            ]
            let dlogits = FloatBuffer(count: N * V), scratchGrad = FloatBuffer(count: N * V),
                rowLoss = FloatBuffer(count: N)
            for (targetName, target) in targets {
                for (optionName, option) in options {
                    _ = try LossKernel.compute(
                        dlogits: dlogits.pointer, logits: logits.pointer, targets: target, options: option, N: N, V: V,
                        rowLoss: rowLoss.pointer)
                    // The mean masked loss re-summed in Double from the per-row Float losses: a perturbed
                    // logit moves only its own row, so the other rows' roundings cancel exactly, which
                    // rounding the returned Float total would not allow.
                    let norm = option.mask.map { $0.reduce(0.0) { $0 + Double($1) } } ?? Double(N)
                    try check(
                        "loss \(targetName), \(optionName)", logits.pointer, analytic: dlogits.pointer, count: N * V,
                        atol: Self.lossAtol, rtol: Self.lossRtol
                    ) {
                        let mean = try LossKernel.compute(
                            dlogits: scratchGrad.pointer, logits: logits.pointer, targets: target, options: option,
                            N: N,
                            V: V, rowLoss: rowLoss.pointer)
                        let resummed = (0..<N).reduce(0.0) { $0 + Double(rowLoss[$1]) } / norm
                        XCTAssertTrue(isClose(resummed, Double(mean), atol: 0, rtol: 1e-6))
                        return resummed
                    }
                    if let mask = option.mask {
                        for row in 0..<N where mask[row] == 0 {
                            XCTAssertTrue(
                                (0..<V).allSatisfy { dlogits[row * V + $0] == 0 },
                                "masked row \(row) of \(targetName) has a gradient")
                        }
                    }
                }
            }
        }
    }

    // MARK: Whole model

    /// Callers build the model inside their `Parallel.withWorkers` scope: its activations size their
    /// per-worker scratch at the first forward and are reused for the same (B, T).
    /// A tiny GPT whose every parameter is GPT-2's init plus N(0, 0.1) noise, so LayerNorms are
    /// not the identity, biases are not zero, and the residual projections are not negligible.
    private func tinyGPT(contextLength: Int = 6) throws -> GPT {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: 7, contextLength: contextLength, width: 8, layers: 2, heads: 2),
            seed: 0x5EED_2024)
        var rng = LabRNG(seed: 0x5EED_2024, stream: "gradient-check-noise")
        for i in 0..<gpt.layout.count { gpt.parameters[i] += Float(0.1 * rng.normal()) }
        return gpt
    }

    private func batch(B: Int, T: Int, seed: UInt64) -> (tokens: [Int32], targets: [Int32]) {
        var rng = LabRNG(seed: seed, stream: "gradient-check-batch")
        let tokens = (0..<(B * T)).map { _ in Int32(rng.int(below: 7)) }
        let targets = (0..<(B * T)).map { _ in Int32(rng.int(below: 7)) }
        return (tokens, targets)
    }

    /// ∂loss/∂θ after one zeroGradients + backward, as a copy.
    private func modelGradient(_ gpt: GPT, tokens: [Int32], targets: [Int32], B: Int, T: Int) throws -> [Float] {
        try gpt.forward(tokens: tokens, batch: B, length: T)
        _ = try gpt.loss(.hard(targets))
        gpt.zeroGradients()
        gpt.backward()
        return gpt.gradients.array
    }

    /// Four random entries plus the largest-gradient entry of every named tensor (all entries of
    /// tensors with at most four), by finite differences on the hard-target loss.
    func testWholeModelGradients() throws {
        try Parallel.withWorkers(2) {
            let B = 2, T = 5
            let gpt = try tinyGPT()
            let (tokens, targets) = batch(B: B, T: T, seed: 17)
            let analytic = FloatBuffer(try modelGradient(gpt, tokens: tokens, targets: targets, B: B, T: T))
            var rng = LabRNG(seed: 29, stream: "gradient-check-sample")
            let objective = {
                try gpt.forward(tokens: tokens, batch: B, length: T)
                return Double(try gpt.loss(.hard(targets)))
            }
            var worst: GradientCheck?
            for spec in gpt.layout.tensors {
                let g = analytic.pointer + spec.offset
                let idx = FiniteDifference.sampleIndices(
                    spec.count, count: 4, rng: &rng, including: [FiniteDifference.argmaxMagnitude(g, spec.count)])
                XCTAssertGreaterThanOrEqual(idx.count, min(3, spec.count), spec.name)
                let result = try check(
                    spec.name, gpt.parameters.pointer + spec.offset, analytic: g, count: spec.count, indices: idx,
                    atol: Self.modelAtol, rtol: Self.modelRtol, objective: objective)
                if worst.map({ result.worstRatio > $0.worstRatio }) ?? true { worst = result }
            }
            print("whole model, worst tensor: \(worst.map(String.init(describing:)) ?? "none")")
        }
    }

    /// backward() adds into `gradients` (llm.c): a second call without zeroGradients doubles them.
    func testBackwardAddsIntoGradients() throws {
        try Parallel.withWorkers(2) {
            let B = 2, T = 5
            let gpt = try tinyGPT()
            let (tokens, targets) = batch(B: B, T: T, seed: 17)
            let once = try modelGradient(gpt, tokens: tokens, targets: targets, B: B, T: T)
            gpt.backward()
            let twice = gpt.gradients.array
            // Doubling is exact where a backward adds one finished sum (sgemm with beta = 1, the
            // LayerNorm partials); biases, wpe and wte accumulate row by row into the gradient itself,
            // so their second pass starts from g instead of 0 and rounds differently.
            let scale = once.map { abs(Double($0)) }.max() ?? 0
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThanOrEqual(
                maxToleranceRatio(twice, once.map { 2 * Double($0) }, atol: 1e-6 * scale, rtol: 1e-6), 1)
            let inexact = zip(twice, once).filter { $0 != 2 * $1 }.count
            print("backward twice: \(inexact) of \(once.count) entries are not exactly doubled")
        }
    }

    /// The kernels' parameter gradients add too (dx of LayerNorm always, of Linear when asked);
    /// attention and GELU write, as their doc comments say, and GPT.backward relies on both.
    func testKernelBackwardsAddIntoParameterGradients() {
        Parallel.withWorkers(1) {
            var rng = LabRNG(seed: 808, stream: "adds")
            let N = 10, C = 8, OC = 12, V = 7, T = 5
            let x = normals(N * C, &rng), weight = normals(C, &rng, mean: 1), bias = normals(C, &rng)
            let out = FloatBuffer(count: N * C), mean = FloatBuffer(count: N), rstd = FloatBuffer(count: N),
                dout = normals(N * C, &rng)
            layerNormForward(
                out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, x: x.pointer, weight: weight.pointer,
                bias: bias.pointer, N: N, C: C)
            let dx = FloatBuffer(count: N * C), dw = FloatBuffer(count: C), db = FloatBuffer(count: C),
                scratch = FloatBuffer(count: 2 * C)
            func twice(_ buffers: [FloatBuffer], _ body: () -> Void) -> [([Float], [Float])] {
                body()
                let once = buffers.map(\.array)
                body()
                return zip(once, buffers.map(\.array)).map { ($0, $1) }
            }
            let ln = twice([dx, dw, db]) {
                layerNormBackward(
                    dx: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, x: x.pointer,
                    weight: weight.pointer, mean: mean.pointer, rstd: rstd.pointer, N: N, C: C, scratch: scratch.pointer
                )
            }
            let w = normals(C * OC, &rng), doutLinear = normals(N * OC, &rng)
            let ldx = FloatBuffer(count: N * C), ldw = FloatBuffer(count: C * OC), ldb = FloatBuffer(count: OC)
            let linear = twice([ldx, ldw, ldb]) {
                linearBackward(
                    dx: ldx.pointer, dweight: ldw.pointer, dbias: ldb.pointer, dout: doutLinear.pointer, x: x.pointer,
                    weight: w.pointer, N: N, IC: C, OC: OC, accumulate: true)
            }
            let tokens: [Int32] = [3, 1, 3, 0, 5, 1, 1, 6, 3, 0]
            let dwte = FloatBuffer(count: V * C), dwpe = FloatBuffer(count: T * C)
            let encoder = twice([dwte, dwpe]) {
                tokens.withUnsafeBufferPointer {
                    encoderBackward(
                        dwte: dwte.pointer, dwpe: dwpe.pointer, dout: dout.pointer, tokens: $0.baseAddress!, B: 2, T: T,
                        C: C)
                }
            }
            for (name, pairs) in [
                ("layernorm dx, dweight, dbias", ln), ("linear dx (accumulate), dW, db", linear),
                ("encoder dwte, dwpe", encoder),
            ] {
                for (i, (once, doubled)) in pairs.enumerated() {
                    XCTAssertTrue(once.contains { $0 != 0 }, "\(name) #\(i) is all zero")
                    XCTAssertLessThanOrEqual(
                        maxToleranceRatio(doubled, once.map { 2 * Double($0) }, atol: 1e-7, rtol: 1e-6), 1,
                        "\(name) #\(i)")
                }
            }
        }
    }

    /// The tiny model (B·T = 10: one LayerNorm chunk) gives bit-identical gradients with one and two
    /// workers. At B·T = 64 two workers split the LayerNorm weight/bias partials, which reorders a
    /// sum: there the gradients need only agree to rounding, and repeat bit for bit per worker count.
    func testWholeModelGradientAcrossWorkerCounts() throws {
        func gradients(workers: Int, contextLength: Int, B: Int, T: Int) throws -> [Float] {
            try Parallel.withWorkers(workers) {
                let gpt = try tinyGPT(contextLength: contextLength)
                let (tokens, targets) = batch(B: B, T: T, seed: 41)
                return try modelGradient(gpt, tokens: tokens, targets: targets, B: B, T: T)
            }
        }
        let small1 = try gradients(workers: 1, contextLength: 6, B: 2, T: 5)
        let small2 = try gradients(workers: 2, contextLength: 6, B: 2, T: 5)
        XCTAssertEqual(small1.map(\.bitPattern), small2.map(\.bitPattern), "B·T = 10: one worker vs two")

        let large1 = try gradients(workers: 1, contextLength: 16, B: 4, T: 16)
        let large2 = try gradients(workers: 2, contextLength: 16, B: 4, T: 16)
        let large2Again = try gradients(workers: 2, contextLength: 16, B: 4, T: 16)
        XCTAssertEqual(large2.map(\.bitPattern), large2Again.map(\.bitPattern), "B·T = 64, two workers, repeated")
        let differing = zip(large1, large2).filter { $0.bitPattern != $1.bitPattern }.count
        let scale = large1.map { abs(Double($0)) }.max() ?? 0
        let ratio = maxToleranceRatio(large2, large1, atol: 1e-6 * scale, rtol: 1e-5)
        print(
            "B·T = 64: \(differing) of \(large1.count) gradient entries differ between one and two workers; tolerance ratio \(ratio)"
        )
        XCTAssertLessThanOrEqual(ratio, 1, "B·T = 64: one worker vs two")
        // Only the LayerNorm weights and biases, whose row sums are what the chunking reorders.
        let layout = ParameterLayout(GPTConfig(vocabularySize: 7, contextLength: 16, width: 8, layers: 2, heads: 2))
        for spec in layout.tensors where !(spec.name.contains("ln_")) {
            let same = (spec.offset..<(spec.offset + spec.count)).allSatisfy {
                large1[$0].bitPattern == large2[$0].bitPattern
            }
            XCTAssertTrue(same, "\(spec.name) differs between one and two workers")
        }
    }
}
