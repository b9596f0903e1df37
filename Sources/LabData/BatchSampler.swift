// BatchSampler: random (B, T) training windows from one token stream, and the fixed non-overlapping
// windows that evaluation walks. It only copies token ids; it does not pad, shuffle epochs or prefetch.
import LabCore

/// Draws `batchSize` windows of `sequenceLength` tokens at uniformly random starts; the targets are the
/// same windows shifted one token ahead. Deterministic by seed; `next` writes into the caller's buffers
/// and allocates nothing, so it can run inside the training loop.
public struct BatchSampler: Sendable {
    public let batchSize: Int
    public let sequenceLength: Int
    /// The stream, narrowed once so that each batch is a plain copy.
    let tokens: [Int32]
    var rng: LabRNG

    /// Throws `LabError.invalidConfig` naming `batch_size` or `sequence_length` when they are below 1,
    /// or when the stream is too short to hold one window plus its next-token target.
    public init(tokens: [Int], batchSize: Int, sequenceLength: Int, seed: UInt64) throws {
        guard batchSize >= 1 else {
            throw LabError.invalidConfig(key: "batch_size", message: "is \(batchSize); must be at least 1")
        }
        guard sequenceLength >= 1 else {
            throw LabError.invalidConfig(key: "sequence_length", message: "is \(sequenceLength); must be at least 1")
        }
        guard tokens.count > sequenceLength else {
            throw LabError.invalidConfig(
                key: "sequence_length",
                message:
                    "is \(sequenceLength), but the split has only \(tokens.count) tokens; a window needs sequence_length + 1 (use a shorter sequence_length or a larger split)"
            )
        }
        guard let largest = tokens.max(), largest <= Int(Int32.max), tokens.min() ?? 0 >= 0 else {
            throw LabError.message("token ids must be in 0...\(Int32.max) to be batched")
        }
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.tokens = tokens.map { Int32(truncatingIfNeeded: $0) }
        self.rng = LabRNG(seed: seed, stream: "batches")
    }

    /// Fills `inputs` (B, T) with B windows and `targets` (B, T) with the token after each input position.
    /// Both must already hold B·T elements.
    public mutating func next(inputs: inout [Int32], targets: inout [Int32]) {
        let (b, t) = (batchSize, sequenceLength)
        precondition(
            inputs.count == b * t && targets.count == b * t,
            "BatchSampler.next: inputs and targets must each hold batchSize · sequenceLength = \(b * t) elements")
        let starts = tokens.count - t  // a start s needs s + t < tokens.count for its last target
        tokens.withUnsafeBufferPointer { source in
            inputs.withUnsafeMutableBufferPointer { inputs in
                targets.withUnsafeMutableBufferPointer { targets in
                    for row in 0..<b {
                        let s = rng.int(below: starts)
                        for i in 0..<t {
                            inputs[row * t + i] = source[s + i]
                            targets[row * t + i] = source[s + i + 1]
                        }
                    }
                }
            }
        }
    }

    /// Consecutive windows over `tokens` for evaluation: window w has inputs tokens[wT ..< wT + T] and
    /// targets one ahead, the last one shorter if needed, so every token after the first is a target
    /// exactly once. Each window starts with no context, as a trained model sees at position 0.
    public static func sequentialWindows(over tokens: [Int], sequenceLength: Int) -> [EvaluationWindow] {
        precondition(sequenceLength >= 1, "sequentialWindows: sequenceLength must be at least 1")
        var windows: [EvaluationWindow] = []
        var start = 0
        while start + 1 < tokens.count {
            let length = min(sequenceLength, tokens.count - 1 - start)
            windows.append(
                EvaluationWindow(
                    start: start,
                    inputs: tokens[start..<start + length].map { Int32(truncatingIfNeeded: $0) },
                    targets: tokens[start + 1..<start + length + 1].map { Int32(truncatingIfNeeded: $0) }
                ))
            start += length
        }
        return windows
    }
}

/// One evaluation window: `inputs` are tokens[start ..< start + n], `targets` tokens[start + 1 ... start + n].
public struct EvaluationWindow: Equatable, Sendable {
    public let start: Int
    /// (n), n ≤ sequenceLength.
    public let inputs: [Int32]
    /// (n).
    public let targets: [Int32]
}
