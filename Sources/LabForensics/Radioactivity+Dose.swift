// Radioactivity dose: the training stream of a student of whose tokens a chosen share comes from
// watermarked text (Sander et al. 2024 vary that share, 0–100%). Not the training or the test itself.
import LabCore

public enum RadioactivityDose {
    /// About `tokens` tokens of whole texts: the first watermarked texts until `share` of the budget is
    /// met, then clean texts for the rest, in an order shuffled by `seed` (so the watermarked texts are
    /// spread through training, as in a fine-tuning mix). Whole texts keep every (context, token) tuple
    /// as the teacher produced it; the share is therefore met to within one text. Throws when either
    /// pool is too small for its part of the budget.
    public static func mix(watermarked: [[Int32]], clean: [[Int32]], share: Double, tokens: Int, seed: UInt64) throws
        -> [Int]
    {
        guard share >= 0, share <= 1 else {
            throw LabError.invalidConfig(
                key: "share", message: "is \(share); the watermarked share of the training tokens must be in [0, 1]")
        }
        guard tokens >= 1 else {
            throw LabError.invalidConfig(key: "tokens", message: "is \(tokens); must be at least 1")
        }
        func take(_ pool: [[Int32]], _ budget: Int, _ what: String) throws -> [[Int32]] {
            var out: [[Int32]] = [], n = 0
            for text in pool where n < budget {
                out.append(text)
                n += text.count
            }
            guard n >= budget else {
                throw LabError.message(
                    "the \(what) texts hold \(n) tokens; the mix needs \(budget) — generate more texts or lower `tokens`"
                )
            }
            return out
        }
        let marked = Int((share * Double(tokens)).rounded())
        var texts = try take(watermarked, marked, "watermarked") + take(clean, tokens - marked, "clean")
        var rng = LabRNG(seed: seed, stream: "radioactivity-dose")
        texts.shuffle(using: &rng)
        return texts.flatMap { $0.map(Int.init) }
    }
}
