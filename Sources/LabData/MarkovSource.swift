// MarkovSource: an order-k Markov chain over V symbols, its exact stationary distribution and entropy rate.
// It works in symbol indices 0..<V and knows nothing of tokenizers; Corpus+Markov maps symbols to tokens.
// Not a general Markov toolkit: contexts are dense (V^k rows), which is what makes the entropy exact.
import Foundation
import LabCore

/// A stationary order-k Markov source. A *context* is the last k symbols, packed base V with the oldest
/// symbol most significant; `transitions[context * V + s]` is P(next = s | context).
///
/// `entropyRate` is H = Σ_ctx π(ctx) · H(next | ctx) in nats per symbol, with π the stationary
/// distribution of the context chain. It is the floor on the expected log-loss per token of *any*
/// predictor of a stream from this source, the true chain included: a model can match it, never beat it.
public struct MarkovSource: Sendable, Equatable {
    /// Upper bound on V^k · V transition entries (32 MB of Doubles): dense rows are the point of this
    /// type, and a chain bigger than this would not be learnable from a lab-sized corpus anyway.
    public static let maxTransitionEntries = 1 << 22

    /// V, the number of symbols.
    public let symbolCount: Int
    /// k, how many previous symbols the next one depends on (0 is an i.i.d. source).
    public let order: Int
    /// V^k.
    public let contextCount: Int
    /// (contextCount, symbolCount) row-major: P(next = s | context).
    public let transitions: [Double]
    /// (contextCount): the stationary distribution π of the context chain.
    public let stationary: [Double]
    /// Nats per symbol; see the type's documentation.
    public let entropyRate: Double
    /// (contextCount, symbolCount): running sums of each row, with the last positive entry and all after
    /// it set to exactly 1, so a uniform draw in [0, 1) always lands on a symbol of positive probability.
    let cumulative: [Double]

    /// A chain with the given rows. Throws `LabError.invalidConfig` naming `symbols`, `order` or
    /// `transitions` when the sizes are impossible or a row is not a probability distribution, and
    /// `LabError.numerical` when the stationary distribution does not converge.
    public init(symbolCount: Int, order: Int, transitions: [Double]) throws {
        let contextCount = try Self.contextCount(symbolCount: symbolCount, order: order)
        guard transitions.count == contextCount * symbolCount else {
            throw LabError.invalidConfig(
                key: "transitions",
                message:
                    "has \(transitions.count) entries; an order-\(order) chain over \(symbolCount) symbols needs \(contextCount) rows of \(symbolCount) = \(contextCount * symbolCount)"
            )
        }
        var rows = transitions
        var cumulative = [Double](repeating: 1, count: rows.count)
        for context in 0..<contextCount {
            let row = context * symbolCount..<(context + 1) * symbolCount
            var total = 0.0
            for i in row {
                guard rows[i] >= 0, rows[i].isFinite else {
                    throw LabError.invalidConfig(
                        key: "transitions",
                        message: "row \(context) has entry \(rows[i]); probabilities must be finite and non-negative")
                }
                total += rows[i]
            }
            guard isClose(total, 1, atol: 1e-9, rtol: 0) else {
                throw LabError.invalidConfig(
                    key: "transitions", message: "row \(context) sums to \(total); each row must sum to 1")
            }
            // Renormalise exactly so that the entropy and the sampler see the same distribution.
            var running = 0.0
            var lastPositive = row.lowerBound
            for i in row {
                rows[i] /= total
                running += rows[i]
                cumulative[i] = running
                if rows[i] > 0 { lastPositive = i }
            }
            for i in lastPositive..<row.upperBound { cumulative[i] = 1 }
        }
        self.symbolCount = symbolCount
        self.order = order
        self.contextCount = contextCount
        self.transitions = rows
        self.cumulative = cumulative
        self.stationary = try Self.stationaryDistribution(
            transitions: rows, symbolCount: symbolCount, contextCount: contextCount)
        var entropy = 0.0
        for context in 0..<contextCount where stationary[context] > 0 {
            var rowEntropy = 0.0
            for s in 0..<symbolCount {
                let p = rows[context * symbolCount + s]
                if p > 0 { rowEntropy -= p * Foundation.log(p) }
            }
            entropy += stationary[context] * rowEntropy
        }
        self.entropyRate = entropy
    }

    /// A random chain: every context's next-symbol distribution is an independent draw from the symmetric
    /// Dirichlet(concentration). Small concentrations give peaked rows and a low entropy rate; large ones
    /// approach the uniform source, whose entropy rate is log V.
    public static func random(symbolCount: Int, order: Int, concentration: Double, rng: inout LabRNG) throws
        -> MarkovSource
    {
        guard concentration > 0, concentration.isFinite else {
            throw LabError.invalidConfig(
                key: "concentration",
                message:
                    "is \(concentration); the Dirichlet concentration must be positive and finite (0.3 gives peaked rows, 1 is uniform over the simplex)"
            )
        }
        let contextCount = try contextCount(symbolCount: symbolCount, order: order)
        var transitions: [Double] = []
        transitions.reserveCapacity(contextCount * symbolCount)
        for _ in 0..<contextCount {
            transitions += rng.dirichlet(count: symbolCount, concentration: concentration)
        }
        return try MarkovSource(symbolCount: symbolCount, order: order, transitions: transitions)
    }

    /// The context after `context` emits `symbol`: drop the oldest symbol, append the new one.
    @inlinable
    public func nextContext(_ context: Int, symbol: Int) -> Int { (context * symbolCount + symbol) % contextCount }

    /// The context formed by the last k of `symbols` (which must hold at least k).
    public func context<C: Collection>(endingWith symbols: C) -> Int where C.Element == Int {
        precondition(symbols.count >= order, "context(endingWith:) needs at least \(order) symbols")
        return symbols.suffix(order).reduce(0) { $0 * symbolCount + $1 }
    }

    /// P(next = symbol | context).
    public func probability(of symbol: Int, inContext context: Int) -> Double {
        transitions[context * symbolCount + symbol]
    }

    /// `count` symbols of one run of the chain. The first k are a context drawn from π, so the run is
    /// stationary from its first symbol: any window of it has the statistics `entropyRate` describes.
    public func generate(count: Int, rng: inout LabRNG) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(count)
        var context = rng.categorical(stationary)
        var divisor = contextCount
        for _ in 0..<min(order, count) {
            divisor /= symbolCount
            out.append((context / divisor) % symbolCount)
        }
        cumulative.withUnsafeBufferPointer { cumulative in
            while out.count < count {
                let u = rng.uniform()
                let row = context * symbolCount
                var s = 0
                while u >= cumulative[row + s] { s += 1 }
                out.append(s)
                context = nextContext(context, symbol: s)
            }
        }
        return out
    }

    // MARK: - Helpers

    static func contextCount(symbolCount: Int, order: Int) throws -> Int {
        guard symbolCount >= 2 else {
            throw LabError.invalidConfig(
                key: "symbols", message: "is \(symbolCount); a Markov source needs at least 2 symbols")
        }
        guard order >= 0 else {
            throw LabError.invalidConfig(
                key: "order", message: "is \(order); the order is how many previous symbols matter, 0 or more")
        }
        var contexts = 1
        for _ in 0..<order {
            let (product, overflow) = contexts.multipliedReportingOverflow(by: symbolCount)
            guard !overflow, product * symbolCount <= maxTransitionEntries else {
                throw LabError.invalidConfig(
                    key: "order",
                    message:
                        "order \(order) over \(symbolCount) symbols needs \(symbolCount)^(\(order) + 1) transition entries, more than the \(maxTransitionEntries) this dense source allows; lower order or symbols"
                )
            }
            contexts = product
        }
        return contexts
    }

    /// Power iteration on the lazy context chain π ← 0.1·π + 0.9·πP, from uniform, until the L1 change
    /// is below 1e-12. The lazy step has the same fixed point as P and cannot oscillate, so it converges
    /// even for a periodic chain (rows with exact zeros); 0.9 keeps it nearly as fast as plain iteration.
    static func stationaryDistribution(transitions: [Double], symbolCount: Int, contextCount: Int) throws -> [Double] {
        let tolerance = 1e-12, maxIterations = 100_000, laziness = 0.1
        var pi = [Double](repeating: 1 / Double(contextCount), count: contextCount)
        var next = pi
        for _ in 0..<maxIterations {
            for c in 0..<contextCount { next[c] = laziness * pi[c] }
            for context in 0..<contextCount where pi[context] > 0 {
                let weight = (1 - laziness) * pi[context]
                let row = context * symbolCount
                for s in 0..<symbolCount {
                    next[(context * symbolCount + s) % contextCount] += weight * transitions[row + s]
                }
            }
            let total = next.reduce(0, +)
            var change = 0.0
            for c in 0..<contextCount {
                next[c] /= total
                change += abs(next[c] - pi[c])
            }
            swap(&pi, &next)
            if change < tolerance { return pi }
        }
        throw LabError.numerical(
            "the Markov chain's stationary distribution did not converge in \(maxIterations) iterations; the chain mixes too slowly (raise concentration)"
        )
    }
}
