// Defence: the protocol every output defence implements, the row of values it transforms, and the
// ordered pipeline that runs them. One defence per file (Defence+<Name>.swift); the registry maps YAML
// names to them. Not here: refusing queries (APIPolicy, Ledger) or detecting attackers.
import Foundation
import LabCore

/// One next-token distribution on its way to a client: the teacher's probabilities (after the client's
/// logit bias) to start with, then whatever each defence in the pipeline makes of them.
///
/// Every surface reads its answer from the row: a distribution query reports the reported entries, a
/// label query their argmax, echo and completion their top-k, and a completion draws its next token
/// from the reported values renormalised (the *served distribution*). So a defence that changes the
/// row changes the text honest users receive as much as the numbers an attacker harvests.
public struct DistributionRow: Sendable {
    /// One non-negative value per token (V). Probabilities summing to 1 as the teacher produced them;
    /// after a rounding or a high-confidence cutoff they need not sum to 1 (ART leaves them so too).
    public var values: [Double]
    /// The tokens whose values are reported, ascending, when a defence has withheld the others (top-k,
    /// label-only, high-confidence); nil when all V are. Withheld tokens have value 0.
    public private(set) var reported: [Int]?
    /// The teacher's distribution (after the client's bias) before any defence: the reference of the
    /// benign-cost metrics, and what a completion draws from when defences leave nothing to draw from.
    public let original: [Double]
    /// The tokens before this position: the prompt's prefix, plus the tokens generated so far.
    public let context: ArraySlice<Int32>
    /// The server's seed for this row; the pipeline gives each stage its own stream of it.
    public let seed: UInt64
    /// The seed of the stage now running (set by `DefencePipeline`).
    public internal(set) var stageSeed: UInt64

    public init(probabilities: [Double], context: ArraySlice<Int32>, seed: UInt64) {
        values = probabilities
        original = probabilities
        reported = nil
        self.context = context
        self.seed = seed
        stageSeed = seed
    }

    public var vocabularySize: Int { values.count }

    /// Whether token `i` is in the report.
    @inlinable public func isReported(_ i: Int) -> Bool { reported.map { $0.contains(i) } ?? true }

    /// The reported token ids, ascending.
    public var reportedTokens: [Int] { reported ?? RowMath.indices(values.count) }

    /// Keeps only `tokens` in the report; every other value becomes 0.
    public mutating func withhold(allBut tokens: [Int]) {
        let keep = Set(tokens).intersection(reportedTokens)
        for i in 0..<values.count where !keep.contains(i) { values[i] = 0 }
        reported = keep.sorted()
    }

    /// The reported entries, largest value first, ties by token id: the order of every top-k list.
    public var rankedReported: [Int] {
        reportedTokens.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    }

    /// The reported token of largest value (ties: lowest id), or nil when nothing positive is reported.
    public var top: Int? {
        var best: Int?
        for i in reportedTokens where values[i] > 0 && (best == nil || values[i] > values[best!]) { best = i }
        return best
    }

    /// The reported values renormalised to sum to 1 (withheld tokens 0), or nil when they sum to 0.
    public var served: [Double]? {
        // Withheld values are 0, so the sum over all tokens is the sum over the reported ones.
        var total = 0.0
        for v in values { total += v }
        guard total > 0, total.isFinite else { return nil }
        let scale = 1 / total
        return values.map { $0 * scale }
    }

    /// A random stream for the running stage, independent of every other row and stage.
    public func rng(_ stream: String) -> LabRNG { LabRNG(seed: stageSeed, stream: stream) }
}

/// An output defence: transforms the rows of one batch in place. Defences see whole batches so that a
/// defence may share work across rows; every defence here treats rows independently, which the
/// contract tests check (label-only answers one label per row, unlike ART's ClassLabels).
public protocol Defence {
    /// The registry name, e.g. "gaussian_noise".
    var name: String { get }
    /// Every parameter with its value, defaults included, in the registry's order: for tables and logs.
    var parameters: [(key: String, value: String)] { get }
    func apply(to rows: inout [DistributionRow]) throws
}

extension Defence {
    /// "name(key=value, ...)".
    public var summary: String {
        parameters.isEmpty
            ? name : "\(name)(" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// Defences applied in order, the first to the teacher's distribution, each to the previous one's output.
public struct DefencePipeline {
    public var defences: [any Defence]

    public init(_ defences: [any Defence] = []) { self.defences = defences }

    public static let none = DefencePipeline()

    public var isEmpty: Bool { defences.isEmpty }

    /// "none", or the stages joined by " → ".
    public var summary: String { defences.isEmpty ? "none" : defences.map(\.summary).joined(separator: " → ") }

    public func apply(to rows: inout [DistributionRow]) throws {
        for (stage, defence) in defences.enumerated() {
            for r in rows.indices {
                var rng = LabRNG(seed: rows[r].seed, stream: "defence-stage-\(stage)")
                rows[r].stageSeed = rng.next()
            }
            try defence.apply(to: &rows)
        }
    }
}

/// Helpers the defences share.
package enum RowMath {
    /// [0, 1, ..., n − 1], built without the generic sequence copy that dominates debug builds.
    static func indices(_ n: Int) -> [Int] {
        [Int](unsafeUninitializedCapacity: n) { buffer, count in
            var i = 0
            while i < n {
                buffer[i] = i
                i += 1
            }
            count = n
        }
    }

    /// Divides the values of `tokens` by their sum (no change when the sum is 0).
    package static func normalise(_ v: inout [Double], over tokens: [Int]) {
        var sum = 0.0
        for i in tokens { sum += v[i] }
        guard sum > 0, sum.isFinite else { return }
        for i in tokens { v[i] /= sum }
    }

    /// Index of the largest value (ties: lowest index).
    package static func argmax(_ v: [Double]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }
}
