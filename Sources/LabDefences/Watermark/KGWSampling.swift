// KGWSampling: text sampled from a GPT with a KGW watermark (Kirchenbauer et al. 2023) — each text with its
// own key's green-list bonus, added before or after the temperature, from its own random stream — and the
// Shannon and spike entropies of the distributions it was drawn from (the paper's Theorem 4.2 bound).
// Not the served-distribution defence (`KGWDefence`) nor the detector (`KGWDetector`).
import Foundation
import LabCore
import LabModel

/// Where the KGW bonus δ enters relative to the sampling temperature τ.
public enum KGWBiasOrder: String, Codable, CaseIterable, Sendable {
    /// softmax((l + δ·green)/τ): δ on the raw logits, the order `KGWWatermark.bias` documents. The sampled
    /// distribution gets a bonus of δ/τ.
    case beforeTemperature = "before_temperature"
    /// softmax(l/τ + δ·green): the bonus is δ whatever τ, so τ changes only the entropy (the setting of the
    /// paper's Theorem 4.2, which is about the distribution actually sampled).
    case afterTemperature = "after_temperature"
}

public enum KGWSampling {
    /// What sampling needs: τ, where δ enters, γ (when no watermark is given), tokens per text, texts per batch.
    public struct Settings: Equatable, Sendable {
        public var temperature: Double
        public var biasOrder: KGWBiasOrder
        public var gamma: Double
        public var length: Int
        public var batchSize: Int

        public init(temperature: Double, biasOrder: KGWBiasOrder, gamma: Double, length: Int, batchSize: Int) {
            self.temperature = temperature
            self.biasOrder = biasOrder
            self.gamma = gamma
            self.length = length
            self.batchSize = batchSize
        }

        /// δ', the logit bonus of green tokens in the distribution actually sampled: δ/τ when δ is added before
        /// the temperature, δ after it.
        public func effectiveDelta(_ delta: Double) -> Double {
            biasOrder == .beforeTemperature ? delta / temperature : delta
        }
    }

    /// What sampling returned: the texts (generated tokens only) and, summed over every sampled position, the
    /// Shannon and spike entropies of the tempered distribution before the watermark's bias.
    public struct Sampled {
        public var texts: [[Int32]] = []
        public var entropy = 0.0
        public var spikeEntropy = 0.0
        public var positions = 0
    }

    /// `settings.length` tokens after each prompt from `model`: text i is sampled with watermark i's bias (none
    /// for clean text, δ = 0) added before or after the temperature, from its own stream (seed, `stream`-i), so
    /// a text does not depend on the batch it was sampled in.
    public static func sample(
        model: GPT, prompts: [[Int32]], watermarks: [KGWWatermark], delta: Double, settings options: Settings,
        seed: UInt64,
        stream: String
    ) throws -> Sampled {
        let V = model.config.vocabularySize
        let sampler = Sampler(model: model)
        let temperature = Float(options.temperature)
        // The spike modulus ζ of the bonus the sampled distribution gets (Kirchenbauer et al. Thm 4.2); 0 for clean
        // text, whose spike entropy is 1.
        let alpha = exp(options.effectiveDelta(delta)), g = watermarks.first?.effectiveGamma ?? options.gamma
        let after = options.biasOrder == .afterTemperature
        let modulus = (1 - g) * (alpha - 1) / (1 + (alpha - 1) * g)
        var out = Sampled()
        let row = UnsafeMutablePointer<Float>.allocate(capacity: V),
            logp = UnsafeMutablePointer<Float>.allocate(capacity: V)
        let order = UnsafeMutablePointer<Int32>.allocate(capacity: V)
        defer {
            row.deallocate()
            logp.deallocate()
            order.deallocate()
        }
        for lo in stride(from: 0, to: prompts.count, by: options.batchSize) {
            let hi = min(prompts.count, lo + options.batchSize)
            var rngs = (lo..<hi).map { LabRNG(seed: seed, stream: "watermark-\(stream)-\($0)") }
            var entropy = 0.0, spike = 0.0, positions = 0
            let texts = try sampler.generate(
                prompts: Array(prompts[lo..<hi]), maxNewTokens: options.length, options: SamplingOptions(), seed: seed,
                choose: { sequences, contexts, logits in
                    var chosen: [Int32] = []
                    chosen.reserveCapacity(sequences.count)
                    for (j, b) in sequences.enumerated() {
                        let z = logits + b * V
                        // The unwatermarked sampling distribution: its entropies.
                        Softmax.logProbabilities(z, count: V, temperature: temperature, into: logp)
                        var hShannon = 0.0, hSpike = 0.0
                        for v in 0..<V {
                            let p = Double(exp(logp[v]))
                            if p > 0 { hShannon -= p * Double(logp[v]) }
                            hSpike += p / (1 + modulus * p)
                        }
                        entropy += hShannon
                        spike += hSpike
                        positions += 1
                        if after {
                            for v in 0..<V { row[v] = z[v] / temperature }
                        } else {
                            row.update(from: z, count: V)
                        }
                        watermarks[lo + b].bias(logits: row, context: contexts[j][...])
                        Softmax.logProbabilities(row, count: V, temperature: after ? 1 : temperature, into: logp)
                        chosen.append(
                            Int32(
                                Sampling.draw(
                                    logProbabilities: logp, V: V, topK: nil, topP: nil, order: order, rng: &rngs[b])))
                    }
                    return chosen
                })
            out.texts += texts
            out.entropy += entropy
            out.spikeEntropy += spike
            out.positions += positions
        }
        return out
    }
}
