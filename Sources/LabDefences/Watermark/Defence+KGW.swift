// The KGW watermark as a defence stage (Kirchenbauer et al. 2023): δ added to the logits of the green
// tokens of each position's context, so sampled text carries a detectable bias. Not the green lists or
// the detector (Watermark.swift, WatermarkDetector.swift): this file only puts the watermark in the pipeline.
import Foundation
import LabAPI
import LabCore

/// Applied to every distribution the API serves, so completions are sampled from the watermarked
/// distribution (the paper's soft watermark) and reported logprobs are the watermarked ones too — an
/// API that reported the clean distribution beside watermarked text would hand the attacker the means
/// to undo the bias. Positions with fewer than h context tokens are left alone, as in `KGWWatermark`.
public struct KGWDefence: RegisteredDefence {
    public static let registryName = "kgw"
    public static let reference =
        "green-list watermark on served distributions: +δ on ⌊γV⌋ keyed green tokens — Kirchenbauer et al. 2023"
    /// The hash key of the KGW reference implementation (`hash_key=15485863`), so defaults match it.
    public static let defaultKey: UInt64 = 15_485_863
    public enum Declared {
        public static let gamma = PartParameter.double(
            "gamma", 0.25, valid: { $0 > 0 && $0 < 1 }, "must be in (0, 1) (the paper's default is 0.25)",
            meaning: "γ, fraction of the vocabulary that is green in each context (the paper's default)")
        public static let delta = PartParameter.double(
            "delta", 2.0, valid: { $0 >= 0 }, "must be ≥ 0 (the paper's default is 2)",
            meaning: "δ, logit bonus of green tokens (the paper's default)")
        public static let key = PartParameter.uint64(
            "key", defaultKey, meaning: "the secret key seeding every green list (the reference code's hash key)")
        public static let contextWidth = PartParameter.int(
            "context_width", 1, atLeast: 1, meaning: "h, previous tokens that seed the green list")
    }
    public static let parameterDocs = [
        Declared.gamma.doc, Declared.delta.doc, Declared.key.doc, Declared.contextWidth.doc,
    ]
    public let watermark: KGWWatermark

    public init(watermark: KGWWatermark) { self.watermark = watermark }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        let gamma = try p.read(Declared.gamma)
        let delta = try p.read(Declared.delta)
        let key = try p.read(Declared.key)
        let h = try p.read(Declared.contextWidth)
        do {
            watermark = try KGWWatermark(
                gamma: gamma, delta: Float(delta), key: key, contextWidth: h, vocabularySize: environment.vocabularySize
            )
        } catch let LabError.invalidConfig(k, message) {
            throw LabError.invalidConfig(key: "defences.kgw.\(k)", message: message)
        }
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("gamma", show(watermark.gamma)), ("delta", show(Double(watermark.delta))), ("key", String(watermark.key)),
            ("context_width", String(watermark.contextWidth)),
        ]
    }

    public func apply(to rows: inout [DistributionRow]) throws {
        guard let V = rows.first?.vocabularySize else { return }
        guard V == watermark.vocabularySize else {
            throw LabError.message(
                "the kgw watermark was made for \(watermark.vocabularySize) tokens, the teacher has \(V)")
        }
        // `bias` on a zero row yields δ on exactly the green tokens; the values are then scaled by e^δ
        // in Double, which is adding δ to their logits without a round trip through Float logits.
        var bonus = [Float](repeating: 0, count: V)
        for r in rows.indices {
            for i in bonus.indices { bonus[i] = 0 }
            bonus.withUnsafeMutableBufferPointer { watermark.bias(logits: $0.baseAddress!, context: rows[r].context) }
            let tokens = rows[r].reportedTokens
            var before = 0.0, after = 0.0
            for i in tokens {
                before += rows[r].values[i]
                if bonus[i] != 0 { rows[r].values[i] *= exp(Double(bonus[i])) }
                after += rows[r].values[i]
            }
            // Renormalise to the row's previous total (1 for a distribution), as a softmax would.
            if after > 0 { for i in tokens { rows[r].values[i] *= before / after } }
        }
    }
}
