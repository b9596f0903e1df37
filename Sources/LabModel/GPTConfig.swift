// GPTConfig: the five numbers that fix a GPT-2 shaped model, with validation.
// Everything else (eps, GELU flavour, tied unembedding, biases) is GPT-2's and not configurable.

public struct GPTConfig: Codable, Equatable, Hashable, Sendable {
    /// Vocabulary size V.
    public var vocabSize: Int
    /// Maximum sequence length T (number of learned positions).
    public var contextLength: Int
    /// Residual width C.
    public var width: Int
    /// Number of transformer blocks L.
    public var layers: Int
    /// Number of attention heads NH; must divide `width`.
    public var heads: Int

    public static let layerNormEpsilon: Float = 1e-5

    public init(vocabSize: Int, contextLength: Int, width: Int, layers: Int, heads: Int) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "context_length", width, layers, heads
    }

    public var headSize: Int { width / heads }

    /// Throws `LabError.invalidConfig` naming the first key that is out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: key, message: message) }
        }
        try check(vocabSize >= 2, "vocab_size", "is \(vocabSize); a vocabulary needs at least 2 tokens")
        try check(contextLength >= 1, "context_length", "is \(contextLength); must be at least 1")
        try check(width >= 1, "width", "is \(width); must be at least 1")
        try check(layers >= 1, "layers", "is \(layers); must be at least 1")
        try check(heads >= 1, "heads", "is \(heads); must be at least 1")
        try check(width % heads == 0, "heads", "\(heads) heads do not divide width \(width); choose a divisor of \(width) (e.g. \(Self.divisors(of: width).suffix(4).map(String.init).joined(separator: ", ")))")
    }

    static func divisors(of n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 && $0 <= 16 } }

    /// Parameter count N (tied unembedding counted once), as in the layout.
    public var parameterCount: Int { ParameterLayout(self).count }

    /// Non-embedding-ish count used by the FLOP convention: 12·L·C² + C·V (PaLM appendix B).
    public var flopParameterCount: Int { 12 * layers * width * width + width * vocabSize }

    /// Training FLOPs per token at sequence length `t`: 6N + 12·L·C·T.
    public func trainingFlopsPerToken(sequenceLength t: Int) -> Double {
        Double(6 * flopParameterCount + 12 * layers * width * t)
    }

    /// Inference FLOPs per token at sequence length `t`: 2N + 4·L·C·T.
    public func inferenceFlopsPerToken(sequenceLength t: Int) -> Double {
        Double(2 * flopParameterCount + 4 * layers * width * t)
    }
}

import LabCore
