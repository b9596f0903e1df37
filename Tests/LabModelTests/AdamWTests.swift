import LabCore
import XCTest

@testable import LabModel

final class AdamWTests: XCTestCase {
    /// The update written out one element at a time, as the AdamW paper states it: the optimizer's
    /// sixteen-lane body and scalar tail must give these bits exactly, at any worker count (the global
    /// norm, reduced in its own fixed order, is the optimizer's).
    private func reference(
        parameters p: inout [Float], gradients g: [Float], norm: Float, m: inout [Float], v: inout [Float],
        decays: [Bool], step: Int, lr: Float, config c: AdamWConfig
    ) {
        let scale: Float = (c.gradientClip > 0 && norm > c.gradientClip) ? c.gradientClip / norm : 1
        var b1t = 1.0, b2t = 1.0
        for _ in 0..<step {
            b1t *= Double(c.beta1)
            b2t *= Double(c.beta2)
        }
        let c1 = 1 / (1 - Float(b1t)), c2 = 1 / (1 - Float(b2t))
        for i in p.indices {
            let gi = g[i] * scale
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * gi
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * gi * gi
            let decay: Float = decays[i] ? c.weightDecay : 0
            p[i] -= lr * ((m[i] * c1) / ((v[i] * c2).squareRoot() + c.epsilon) + decay * p[i])
        }
    }

    func testUpdateEqualsTheElementwiseFormulaBitForBit() {
        // Width 20 and vocabulary 13: tensor lengths that are not multiples of 16, so every segment
        // ends in a scalar tail, and a slab long enough (> 8,192 floats) to be cut between workers.
        let layout = ParameterLayout(GPTConfig(vocabularySize: 13, contextLength: 9, width: 20, layers: 4, heads: 4))
        var decays = [Bool](repeating: false, count: layout.count)
        for t in layout.tensors where t.decays { for i in t.offset..<(t.offset + t.count) { decays[i] = true } }
        XCTAssertGreaterThan(layout.count, 2 * 8192)
        for workers in [1, 2, 3] {
            var rng = LabRNG(seed: 7)
            let initial = (0..<layout.count).map { _ in Float(rng.uniform() * 2 - 1) }
            let parameters = FloatBuffer(initial)
            let gradients = FloatBuffer(count: layout.count)
            var config = AdamWConfig(learningRate: 0.01)
            config.gradientClip = 0.5
            let optimizer = AdamW(layout: layout, config: config)
            var p = initial, m = [Float](repeating: 0, count: layout.count), v = m
            for step in 1...4 {
                let g = (0..<layout.count).map { _ in Float(rng.uniform() - 0.5) * (step == 2 ? 1e-3 : 1) }
                for i in g.indices { gradients.pointer[i] = g[i] }
                let norm = Parallel.withWorkers(workers) {
                    optimizer.update(parameters: parameters, gradients: gradients, learningRate: 0.01)
                }
                if step == 2 {
                    XCTAssertLessThan(norm, config.gradientClip, "a step without clipping")
                } else {
                    XCTAssertGreaterThan(norm, config.gradientClip, "a clipped step")
                }
                reference(
                    parameters: &p, gradients: g, norm: norm, m: &m, v: &v, decays: decays, step: step, lr: 0.01,
                    config: config)
                var mismatches = 0
                for i in p.indices where p[i].bitPattern != parameters.pointer[i].bitPattern { mismatches += 1 }
                for i in m.indices where m[i].bitPattern != optimizer.state.m.pointer[i].bitPattern { mismatches += 1 }
                for i in v.indices where v[i].bitPattern != optimizer.state.v.pointer[i].bitPattern { mismatches += 1 }
                XCTAssertEqual(mismatches, 0, "workers \(workers), step \(step)")
            }
        }
    }
}
