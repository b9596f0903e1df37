// DetectorFeatures: the feature vector every prompt detector reads — counts of the prompt's token
// unigrams and bigrams hashed into 64 buckets, one SIMD64 value, so a distance is a few vector
// instructions and nothing is allocated per request. Not teacher hidden states (that space needs a
// forward pass, which the detection-only mode exists to avoid).
import LabCore

/// A prompt as the detectors see it. Feature hashing (Weinberger et al. 2009) keeps the vector a fixed
/// size whatever the vocabulary; at 64 buckets, collisions blur rare n-grams but keep the unigram and
/// frequent-bigram profile that tells a source (or uniform noise) apart.
public struct PromptFeatures: Equatable, Sendable {
    public static let dimension = 64

    /// (D) counts of hashed unigrams and bigrams; they sum to 2·length − 1.
    public var counts: SIMD64<Float>
    /// Prompt tokens.
    public var length: Int

    public init(counts: SIMD64<Float>, length: Int) {
        self.counts = counts
        self.length = length
    }

    public init<C: Collection>(prompt: C) where C.Element == Int32 {
        var v = SIMD64<Float>(repeating: 0)
        var previous: Int32?
        for t in prompt {
            v[Self.bucket(UInt64(UInt32(bitPattern: t)))] += 1
            if let p = previous {
                v[
                    Self.bucket(
                        0x8000_0000_0000_0000 | UInt64(UInt32(bitPattern: p)) << 32 | UInt64(UInt32(bitPattern: t)))] +=
                    1
            }
            previous = t
        }
        counts = v
        length = prompt.count
    }

    /// A fixed mix of the n-gram's key, so the buckets do not depend on the seed or the run.
    @inline(__always)
    static func bucket(_ key: UInt64) -> Int {
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) & 63)
    }

    /// Euclidean distance between two count vectors.
    @inline(__always)
    public static func distance(_ a: SIMD64<Float>, _ b: SIMD64<Float>) -> Float {
        let d = a - b
        return (d * d).sum().squareRoot()
    }
}

/// Each account's feature counts summed over its requests, stored flat (accounts, D) so adding a prompt is
/// one vectorised loop rather than SIMD64 arithmetic through an array element (which spills).
struct PooledCounts {
    private(set) var values: [Float] = []
    private(set) var accounts = 0

    /// Adds `features` to `account`'s row, growing the table as needed.
    mutating func add(_ features: SIMD64<Float>, to account: Int) {
        let D = PromptFeatures.dimension
        if account >= accounts {
            values.append(contentsOf: [Float](repeating: 0, count: (account + 1 - accounts) * D))
            accounts = account + 1
        }
        withUnsafeBytes(of: features) { f in
            let x = f.bindMemory(to: Float.self)
            values.withUnsafeMutableBufferPointer { v in
                let base = account * D
                for k in 0..<D { v[base + k] += x[k] }
            }
        }
    }

    /// The account's row as a vector (zeros for an account never seen).
    func vector(_ account: Int) -> SIMD64<Float> {
        var v = SIMD64<Float>(repeating: 0)
        guard account < accounts else { return v }
        let base = account * PromptFeatures.dimension
        for k in 0..<PromptFeatures.dimension { v[k] = values[base + k] }
        return v
    }

    /// The account's row's total count.
    func total(_ account: Int) -> Float {
        guard account < accounts else { return 0 }
        let base = account * PromptFeatures.dimension
        return values[base..<(base + PromptFeatures.dimension)].reduce(0, +)
    }
}
