// GPTConfig: the five numbers that fix a GPT-2 shaped model, with validation.
// Everything else (eps, GELU flavour, tied unembedding, biases) is GPT-2's and not configurable.
import LabCore

public struct GPTConfig: Codable, Equatable, Hashable, Sendable {
    /// Vocabulary size V.
    public var vocabularySize: Int
    /// Maximum sequence length T (number of learned positions).
    public var contextLength: Int
    /// Residual width C.
    public var width: Int
    /// Number of transformer blocks L.
    public var layers: Int
    /// Number of attention heads NH; must divide `width`.
    public var heads: Int

    public static let layerNormEpsilon: Float = 1e-5

    public init(vocabularySize: Int, contextLength: Int, width: Int, layers: Int, heads: Int) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
    }

    /// The former spelling, kept so that packages written against it still build.
    @available(*, deprecated, renamed: "vocabularySize")
    public var vocabSize: Int {
        get { vocabularySize }
        set { vocabularySize = newValue }
    }

    @available(*, deprecated, renamed: "init(vocabularySize:contextLength:width:layers:heads:)")
    public init(vocabSize: Int, contextLength: Int, width: Int, layers: Int, heads: Int) {
        self.init(vocabularySize: vocabSize, contextLength: contextLength, width: width, layers: layers, heads: heads)
    }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", contextLength = "context_length", width, layers, heads
    }

    public var headSize: Int { width / heads }

    /// Throws `LabError.invalidConfig` naming the first key that is out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: message) }
        }
        try check(vocabularySize >= 2, "vocab_size", "is \(vocabularySize); a vocabulary needs at least 2 tokens")
        try check(contextLength >= 1, "context_length", "is \(contextLength); must be at least 1")
        try check(width >= 1, "width", "is \(width); must be at least 1")
        try check(layers >= 1, "layers", "is \(layers); must be at least 1")
        try check(heads >= 1, "heads", "is \(heads); must be at least 1")
        // Each size is bounded before any product of sizes is formed, so the layout's arithmetic cannot overflow.
        for (key, value) in [
            ("vocab_size", vocabularySize), ("context_length", contextLength), ("width", width), ("layers", layers),
            ("heads", heads),
        ] {
            try check(
                value <= Self.maximumDimension, key, "is \(value); must be at most \(Self.maximumDimension) (2^24)")
        }
        try check(
            width % heads == 0, "heads",
            "\(heads) heads do not divide width \(width); choose a divisor of \(width) (e.g. \(Self.divisors(of: width).suffix(4).map(String.init).joined(separator: ", ")))"
        )
        try MemoryLimit.check(
            approximateParameterCount * 16,
            for:
                "a model of \(Self.describe(approximateParameterCount)) parameters (weights, gradients and two AdamW moments)",
            key: "width", fix: "Lower width, layers, vocab_size or context_length.")
    }

    /// The largest value any one dimension may take.
    public static let maximumDimension = 1 << 24

    /// N computed in floating point (never overflows), for bounds checks before the layout is built.
    public var approximateParameterCount: Double {
        let V = Double(vocabularySize), T = Double(contextLength), C = Double(width), L = Double(layers)
        return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    }

    /// Bytes of the activations one forward and backward pass keep at batch `batch` (each block's saved inputs,
    /// QKV, attention weights (B, NH, T, T), the MLP's 4C, logits and their gradient), in floating point.
    public func activationBytes(batch: Int, length: Int? = nil) -> Double {
        let B = Double(batch), T = Double(length ?? contextLength), C = Double(width), L = Double(layers),
            NH = Double(heads), V = Double(vocabularySize)
        return 4 * (B * T * (L * (16 * C + 2 * NH * T) + 2 * V + 8 * C))
    }

    static func describe(_ n: Double) -> String { n < 1e6 ? String(Int(n)) : String(format: "%.3g", n) }

    /// Up to the largest few divisors not above 16, found by trial up to 16 only (a width of 2^40 must not
    /// make an error message enumerate its divisors).
    static func divisors(of n: Int) -> [Int] { (1...16).filter { n % $0 == 0 } }

    /// Parameter count N (tied unembedding counted once), as in the layout.
    public var parameterCount: Int { ParameterLayout(self).count }

    /// Non-embedding-ish count used by the FLOP convention: 12·L·C² + C·V (PaLM appendix B).
    public var flopParameterCount: Int { 12 * layers * width * width + width * vocabularySize }

    /// Training FLOPs per token at sequence length `t`: 6N + 12·L·C·T.
    public func trainingFlopsPerToken(sequenceLength t: Int) -> Double {
        Double(6 * flopParameterCount + 12 * layers * width * t)
    }

    /// Inference FLOPs per token at sequence length `t`: 2N + 4·L·C·T.
    public func inferenceFlopsPerToken(sequenceLength t: Int) -> Double {
        Double(2 * flopParameterCount + 4 * layers * width * t)
    }
}
