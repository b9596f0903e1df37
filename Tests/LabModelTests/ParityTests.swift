// Parity with the independent numpy reference (scripts/reference_gpt2.py): logits, loss, every
// parameter gradient, five AdamW steps with clipping, and the soft-target losses' logit gradients.
import Foundation
import TestSupport
import XCTest

@testable import LabCore
@testable import LabModel

final class ParityTests: XCTestCase {
    struct Fixture {
        let json: [String: Any]
        var config: GPTConfig
        var B: Int, T: Int
        var tokens: [Int32], targets: [Int32]
        var order: [String]

        init() throws {
            let data = try Data(contentsOf: Fixtures.url("parity_tiny.json"))
            json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            let c = json["config"] as! [String: Int]
            config = GPTConfig(
                vocabularySize: c["vocab_size"]!, contextLength: c["n_positions"]!, width: c["n_embd"]!,
                layers: c["n_layer"]!, heads: c["n_head"]!)
            B = json["batch"] as! Int
            T = json["seq_len"] as! Int
            tokens = (json["tokens"] as! [Int]).map(Int32.init)
            targets = (json["targets"] as! [Int]).map(Int32.init)
            order = json["param_order"] as! [String]
        }

        func doubles(_ any: Any?) -> [Double] { (any as! [NSNumber]).map(\.doubleValue) }

        func model() throws -> GPT {
            let layout = ParameterLayout(config)
            let slab = FloatBuffer(count: layout.count)
            let params = json["params"] as! [String: [String: Any]]
            XCTAssertEqual(Set(params.keys), Set(layout.tensors.map(\.name)))
            for spec in layout.tensors {
                let entry = params[spec.name]!
                XCTAssertEqual(entry["shape"] as! [Int], spec.shape, spec.name)
                let values = doubles(entry["data"])
                for (i, x) in values.enumerated() { slab[spec.offset + i] = Float(x) }
            }
            return try GPT(config: config, parameters: slab)
        }
    }

    func testLogitsLossAndEveryGradientMatchReference() throws {
        let f = try Fixture()
        let gpt = try f.model()
        let logits = try gpt.forward(tokens: f.tokens, batch: f.B, length: f.T)
        XCTAssertLessThanOrEqual(
            maxToleranceRatio(Array(logits), f.doubles(f.json["logits"]), atol: 1e-5, rtol: 1e-4), 1, "logits")
        let loss = try gpt.loss(.hard(f.targets))
        XCTAssertTrue(isClose(Double(loss), f.json["loss"] as! Double, atol: 1e-6, rtol: 1e-5), "loss \(loss)")
        gpt.zeroGradients()
        gpt.backward()
        let grads = f.json["grads"] as! [String: Any]
        for spec in gpt.layout.tensors {
            let ours = Array(UnsafeBufferPointer(start: gpt.gradients.pointer + spec.offset, count: spec.count))
            let ratio = maxToleranceRatio(ours, f.doubles(grads[spec.name]), atol: 2e-6, rtol: 1e-3)
            XCTAssertLessThanOrEqual(ratio, 1, "gradient of \(spec.name)")
        }
    }

    func testFiveAdamWStepsMatchReferenceLosses() throws {
        let f = try Fixture()
        let gpt = try f.model()
        let a = f.json["adamw"] as! [String: Any]
        let cfg = AdamWConfig(
            learningRate: Float(a["lr"] as! Double), beta1: Float(a["beta1"] as! Double),
            beta2: Float(a["beta2"] as! Double), epsilon: Float(a["eps"] as! Double),
            weightDecay: Float(a["weight_decay"] as! Double), gradientClip: Float(a["grad_clip"] as! Double))
        let opt = AdamW(layout: gpt.layout, config: cfg)
        let expected = f.doubles(a["losses"]), norms = f.doubles(a["grad_norms"])
        for step in 0..<6 {
            try gpt.forward(tokens: f.tokens, batch: f.B, length: f.T)
            let loss = try gpt.loss(.hard(f.targets))
            XCTAssertTrue(
                isClose(Double(loss), expected[step], atol: 1e-5, rtol: 1e-4),
                "loss before step \(step + 1): \(loss) vs \(expected[step])")
            guard step < 5 else { break }
            gpt.zeroGradients()
            gpt.backward()
            let norm = opt.update(parameters: gpt.parameters, gradients: gpt.gradients, learningRate: cfg.learningRate)
            XCTAssertTrue(isClose(Double(norm), norms[step], atol: 1e-5, rtol: 1e-4), "grad norm at step \(step + 1)")
        }
    }

    func testSoftTargetLossesMatchReference() throws {
        let f = try Fixture()
        let gpt = try f.model()
        try gpt.forward(tokens: f.tokens, batch: f.B, length: f.T)
        let soft = f.json["soft"] as! [String: Any]
        let tau = Float(soft["temperature"] as! Double)
        let mask = f.doubles(soft["mask"]).map(Float.init)
        func check(_ name: String, _ targets: LossTargets, _ options: LossOptions, _ ref: Any?) throws {
            let r = ref as! [String: Any]
            let loss = try gpt.loss(targets, options: options)
            XCTAssertTrue(
                isClose(Double(loss), r["loss"] as! Double, atol: 1e-6, rtol: 1e-5),
                "\(name) loss \(loss) vs \(r["loss"]!)")
            let ratio = maxToleranceRatio(Array(gpt.logitGradients!), f.doubles(r["dlogits"]), atol: 1e-7, rtol: 1e-4)
            XCTAssertLessThanOrEqual(ratio, 1, "\(name) dlogits")
        }
        try check("hard_masked", .hard(f.targets), LossOptions(temperature: 1, mask: mask), soft["hard_masked"])
        let dense = f.doubles(soft["dense_targets"]).map(Float.init)
        try dense.withUnsafeBufferPointer { q in
            try check("dense", .dense(q.baseAddress!), LossOptions(temperature: tau, mask: mask), soft["dense"])
        }
        let sparse = soft["sparse"] as! [String: Any]
        let k = sparse["k"] as! Int
        let toks = (sparse["tokens"] as! [Int]).map(Int32.init)
        let probs = f.doubles(sparse["probs"]).map(Float.init)
        for tail in SparseTail.allCases {
            try check(
                "sparse/\(tail)", .sparse(tokens: toks, probabilities: probs, k: k, tail: tail),
                LossOptions(temperature: tau, mask: mask), sparse[tail.rawValue])
        }
    }
}
