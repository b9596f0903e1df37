// Fixtures shared by the simulation rooms' tests (LabAPI, LabDefences, LabAttacks, LabForensics, LabCampaigns): random distributions, rows built from them, a tiny
// random GPT, error catchers. Not assertions: each test file states its own contract.
import Foundation
import LabAPI
import LabCore
import LabModel

public enum Fixture {
    /// A random distribution over V tokens: softmax of N(0, spread²) logits (spread 3 gives peaked rows).
    public static func distribution(_ V: Int, spread: Double = 2, rng: inout LabRNG) -> [Double] {
        let z = (0..<V).map { _ in spread * rng.normal() }
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    public static func rows(_ distributions: [[Double]], seed: UInt64 = 1) -> [DistributionRow] {
        distributions.enumerated().map { i, p in
            DistributionRow(probabilities: p, context: [Int32(i % max(1, p.count))], seed: seed &+ UInt64(i))
        }
    }

    public static func randomRows(count: Int, V: Int, spread: Double = 2, seed: UInt64) -> [DistributionRow] {
        var rng = LabRNG(seed: seed)
        return rows((0..<count).map { _ in distribution(V, spread: spread, rng: &rng) }, seed: seed)
    }

    /// A randomly initialised GPT, small enough for debug-build tests.
    public static func tinyGPT(vocabularySize V: Int = 12, contextLength T: Int = 16, seed: UInt64 = 3) throws -> GPT {
        let gpt = try GPT(
            config: GPTConfig(vocabularySize: V, contextLength: T, width: 16, layers: 1, heads: 2), seed: seed)
        // Initial weights give near-uniform logits; scaling the embedding makes the distributions peaked
        // enough that top-1 and sampling differences are visible.
        if let wte = gpt.parameter("transformer.wte.weight") { for i in 0..<(V * 16) { wte[i] *= 40 } }
        return gpt
    }

    /// The index of the largest value (ties: lowest).
    public static func argmax(_ v: [Double]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    /// The error a throwing expression raised, or nil.
    public static func error<T>(_ body: () throws -> T) -> Error? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    /// The refusal reason a throwing expression raised, or nil.
    public static func refusal<T>(_ body: () throws -> T) -> APIRefusal.Reason? {
        (error(body) as? APIRefusal)?.reason
    }
}
