// Watermark: the KGW green-list watermark (Kirchenbauer et al. 2023, "A Watermark for Large Language
// Models") — the keyed green list of a context and the logit bias a teacher applies before sampling.
// Not here: scoring text for the watermark (WatermarkDetector.swift) or the sampling loop itself.
import LabCore

/// The "soft" KGW watermark. Before each sampled token the teacher adds `delta` to the logits of the
/// green tokens of the current context; a detector holding the same key counts how many tokens of a
/// text are green in their context and tests that count against the fraction `gamma` expected by chance.
///
/// Parameters (the paper's names):
/// - γ `gamma`: the green fraction of the vocabulary; every green list has exactly ⌊γ·V⌋ tokens
///   (the paper's default 0.25).
/// - δ `delta`: the logit bonus of green tokens (the paper's default 2; 0 leaves the text untouched).
/// - `key`: the secret that seeds every green list; text is independent of a key it was not made with.
/// - h `contextWidth`: how many previous tokens seed the green list. h = 1 is the paper's default
///   (the "LeftHash" of Kirchenbauer et al. 2023b); larger h hashes the whole h-token window in order,
///   which makes tuples repeat less but makes the watermark easier to wash out by editing.
///
/// How a green list is drawn. The paper's green list for a context is the first ⌊γV⌋ entries of a
/// random permutation of the vocabulary seeded by a hash of the context. A detector that scores millions
/// of tokens cannot afford to build a V-entry permutation per position, so the permutation here is a
/// keyed pseudo-random *bijection* of 0..<V evaluated one token at a time: a 4-round Feistel network on
/// the smallest even number of bits covering V (Luby & Rackoff 1988: 4 rounds of a pseudo-random
/// round function give a strong pseudo-random permutation), restricted to 0..<V by cycle-walking
/// (Black & Rogaway 2002). Token t is green in context c iff π_c(t) < ⌊γV⌋, so
/// - every green list has exactly ⌊γV⌋ members, as in the paper (a per-token coin with probability γ
///   would give lists of random size);
/// - `isGreen` costs O(1): at most 4 expected Feistel evaluations (the domain is < 4V), each 4 hashes;
/// - the green list itself (for the bias) is π_c⁻¹(0..<⌊γV⌋), O(γV) through the inverse network.
/// Under a random key (and an ideal permutation) a fixed token is green in a fixed context with
/// probability exactly ⌊γV⌋ / V, which is `effectiveGamma` — the null the detector uses (it differs from γ when γV is not
/// an integer, e.g. V = 63: 15/63 = 0.238, and would bias z by ≈ −0.4 at T = 200 if ignored).
///
/// A position with fewer than h previous tokens has no green list: it is neither biased nor scored.
public struct KGWWatermark: Sendable, Equatable {
    public let gamma: Double
    public let delta: Float
    public let key: UInt64
    public let contextWidth: Int
    public let vocabularySize: Int
    /// ⌊γ·V⌋, the size of every green list.
    public let greenListSize: Int
    /// Bits of the Feistel domain (even; 2^bits ≥ V).
    let domainBits: Int

    public init(gamma: Double = 0.25, delta: Float = 2.0, key: UInt64, contextWidth: Int = 1, vocabularySize: Int)
        throws
    {
        guard vocabularySize >= 2, vocabularySize <= Int(Int32.max) else {
            throw LabError.invalidConfig(
                key: "vocabulary_size",
                message: "is \(vocabularySize); a watermark needs a vocabulary of 2...\(Int32.max) tokens")
        }
        guard gamma > 0, gamma < 1 else {
            throw LabError.invalidConfig(
                key: "gamma", message: "is \(gamma); the green fraction must be in (0, 1) (the paper's default is 0.25)"
            )
        }
        let size = Int((gamma * Double(vocabularySize)).rounded(.down))
        guard size >= 1 else {
            throw LabError.invalidConfig(
                key: "gamma",
                message:
                    "is \(gamma); with \(vocabularySize) tokens the green list ⌊γ·V⌋ would be empty — raise gamma to at least \(1.0 / Double(vocabularySize))"
            )
        }
        guard delta >= 0, delta.isFinite else {
            throw LabError.invalidConfig(
                key: "delta",
                message:
                    "is \(delta); the green-token logit bonus must be finite and at least 0 (the paper's default is 2)")
        }
        guard contextWidth >= 1 else {
            throw LabError.invalidConfig(
                key: "context_width",
                message:
                    "is \(contextWidth); the green list is seeded by at least 1 previous token (1 is the paper's default)"
            )
        }
        self.gamma = gamma
        self.delta = delta
        self.key = key
        self.contextWidth = contextWidth
        self.vocabularySize = vocabularySize
        greenListSize = size
        var bits = 2
        while (1 << bits) < vocabularySize { bits += 2 }
        domainBits = bits
    }

    /// ⌊γV⌋ / V: the probability, under a key the text does not depend on, that a token is green in its
    /// context. This, not `gamma`, is the detector's null proportion.
    public var effectiveGamma: Double { Double(greenListSize) / Double(vocabularySize) }

    // MARK: Context hashing

    /// The keyed hash of the last h tokens of `context` (in order), or nil when `context` has fewer
    /// than h tokens. Distinct windows collide with probability about 2⁻⁶⁴ per pair.
    public func contextHash(_ context: ArraySlice<Int32>) -> UInt64? {
        guard context.count >= contextWidth else { return nil }
        var c = Self.mix(key ^ 0x4B47_5721_5761_746D)  // "KGW!Watm": domain-separates the key
        for t in context.suffix(contextWidth) {
            c = Self.mix(c &+ (UInt64(UInt32(bitPattern: t)) &+ 1) &* Self.golden)
        }
        return c
    }

    // MARK: Green lists

    /// Whether `token` is green after `context` (the tokens before it; only the last h are read).
    /// False when `context` is shorter than h, or `token` is outside 0..<V.
    public func isGreen(token: Int32, context: ArraySlice<Int32>) -> Bool {
        guard let c = contextHash(context) else { return false }
        return isGreen(token: token, contextHash: c)
    }

    /// Whether `token` is green in the context whose `contextHash` is `c`: π_c(token) < ⌊γV⌋.
    public func isGreen(token: Int32, contextHash c: UInt64) -> Bool {
        guard token >= 0, Int(token) < vocabularySize else { return false }
        return permute(Int(token), contextHash: c) < greenListSize
    }

    /// One Bool per vocabulary entry: true for the green tokens after `context` (all false when the
    /// context is shorter than h).
    public func greenMask(context: ArraySlice<Int32>) -> [Bool] {
        var mask = [Bool](repeating: false, count: vocabularySize)
        for t in greenList(context: context) { mask[Int(t)] = true }
        return mask
    }

    /// The ⌊γV⌋ green tokens after `context`, in ascending order (empty when the context is shorter than
    /// h). Costs O(γV): the inverse permutation of the green ranks, not a pass over the vocabulary.
    public func greenList(context: ArraySlice<Int32>) -> [Int32] {
        guard let c = contextHash(context) else { return [] }
        var out = [Int32]()
        out.reserveCapacity(greenListSize)
        for rank in 0..<greenListSize { out.append(Int32(truncatingIfNeeded: inversePermute(rank, contextHash: c))) }
        out.sort()
        return out
    }

    /// Adds δ to the logits of the green tokens after `context` — the KGW soft watermark, applied to raw
    /// logits before temperature and sampling. `logits` holds V floats. No change when the context is
    /// shorter than h.
    public func bias(logits: UnsafeMutablePointer<Float>, context: ArraySlice<Int32>) {
        guard delta != 0, let c = contextHash(context) else { return }
        for rank in 0..<greenListSize { logits[inversePermute(rank, contextHash: c)] += delta }
    }

    // MARK: The keyed permutation

    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// SplitMix64's finaliser (Steele et al. 2014): a bijective avalanche mix of 64 bits.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Round function r of the Feistel network keyed by context hash `c`: the SplitMix64 output of
    /// state c at counter 4·half + r + 1, so every (round, half) pair reads a different stream value.
    static func round(_ r: Int, _ half: UInt64, _ c: UInt64, mask: UInt64) -> UInt64 {
        mix(c &+ (half &* 4 &+ UInt64(r) &+ 1) &* golden) & mask
    }

    /// π_c(x) for x in 0..<V: the Feistel permutation of the 2^bits domain, re-applied until the value
    /// lands back in 0..<V (cycle-walking; a bijection of 0..<V because the orbit of x returns to x).
    func permute(_ x: Int, contextHash c: UInt64) -> Int {
        let halfBits = UInt64(domainBits / 2), mask = (UInt64(1) << halfBits) - 1
        var v = UInt64(x)
        repeat {
            var l = v >> halfBits, r = v & mask
            for k in 0..<4 { (l, r) = (r, l ^ Self.round(k, r, c, mask: mask)) }
            v = (l << halfBits) | r
        } while v >= UInt64(vocabularySize)
        return Int(v)
    }

    /// π_c⁻¹(y): the rounds undone in reverse order, cycle-walking the same way.
    func inversePermute(_ y: Int, contextHash c: UInt64) -> Int {
        let halfBits = UInt64(domainBits / 2), mask = (UInt64(1) << halfBits) - 1
        var v = UInt64(y)
        repeat {
            var l = v >> halfBits, r = v & mask
            for k in stride(from: 3, through: 0, by: -1) { (l, r) = (r ^ Self.round(k, l, c, mask: mask), l) }
            v = (l << halfBits) | r
        } while v >= UInt64(vocabularySize)
        return Int(v)
    }
}

/// The tokens a keyed watermark scores in one text: every token of `tokens` with a full h-token window before
/// it (taken from `prompt` where `tokens` has too few), in order. A text without a prompt skips its first h
/// tokens: they have no full window, so no key ever touched them. Prompt tokens are context only. Calls
/// `body(token, window)`; throws on a token outside 0..<V, naming its position (after `label`, when given).
public func forEachWatermarkedToken(
    in tokens: [Int32], prompt: [Int32] = [], contextWidth h: Int, vocabularySize V: Int, label: String = "",
    _ body: (Int32, ArraySlice<Int32>) throws -> Void
) throws {
    let full = prompt.isEmpty ? tokens : prompt + tokens
    let first = max(prompt.count, h)
    guard first < full.count else { return }
    for i in first..<full.count {
        let token = full[i]
        guard token >= 0, Int(token) < V else {
            throw LabError.message(
                "\(label)token \(token) at position \(i - prompt.count) is outside the watermark's vocabulary 0..<\(V); score text in the tokenizer the watermark was made with"
            )
        }
        try body(token, full[(i - h)..<i])
    }
}
