// Loss: cross-entropy of the model's softmax against hard or soft targets, fused with the
// gradient with respect to the logits. Soft targets come dense (a full distribution per
// position) or sparse (top-k (token, probability) lists) with the missing mass handled by an
// explicit rule. A per-position mask chooses which positions count. Not here: KL scaling by τ²
// (that belongs to the distiller, which decides how to mix losses).
import Foundation
import LabCore

/// What the model should predict at each position.
public enum LossTargets {
    /// One token per position (B·T).
    case hard([Int32])
    /// A full distribution per position (B·T·V), each row summing to 1.
    case dense(UnsafePointer<Float>)
    /// k listed (token, probability) pairs per position; probabilities may sum to less than 1.
    case sparse(tokens: [Int32], probabilities: [Float], k: Int, tail: SparseTail)
}

/// How sparse targets treat the probability mass r = 1 − Σ listed that the teacher did not report.
public enum SparseTail: String, Codable, Sendable, CaseIterable {
    /// Drop it: the listed probabilities are rescaled to sum to 1.
    case renormalize
    /// Spread it evenly over the V − k unlisted tokens.
    case uniform
    /// Treat all unlisted tokens as one class with mass r: −Σ q_k log p_k − r log(1 − Σ p_k).
    case bucket
}

public struct LossOptions {
    /// Softmax temperature τ applied to the model's logits (targets are used as given).
    public var temperature: Float = 1
    /// Per-position weights (B·T), usually 0 or 1; nil means every position counts.
    public var mask: [Float]? = nil
    public init(temperature: Float = 1, mask: [Float]? = nil) {
        self.temperature = temperature
        self.mask = mask
    }
}

enum LossKernel {
    /// Mean masked loss; writes dlogits (N, V) = ∂loss/∂logits. `rowLoss` (N) is scratch.
    static func compute(
        dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: LossTargets, options: LossOptions,
        N: Int, V: Int, rowLoss: UnsafeMutablePointer<Float>
    ) throws -> Float {
        let tau = options.temperature
        guard tau > 0, tau.isFinite else {
            throw LabError.invalidConfig(key: "temperature", message: "is \(tau); must be a positive number")
        }
        if let m = options.mask, m.count != N {
            throw LabError.message("loss mask has \(m.count) entries for \(N) positions")
        }
        var norm: Double = 0
        if let m = options.mask { for w in m { norm += Double(w) } } else { norm = Double(N) }
        guard norm > 0 else { throw LabError.message("loss mask selects no position; at least one must be 1") }
        let scaleAll = Float(1 / norm)
        let invTau = 1 / tau
        let mask = options.mask
        switch targets {
        case .hard(let t):
            if t.count != N { throw LabError.message("hard targets: \(t.count) for \(N) positions") }
            for x in t where x < 0 || Int(x) >= V {
                throw LabError.message("target token \(x) is outside the vocabulary 0..<\(V)")
            }
        case .sparse(let toks, let probs, let k, _):
            if toks.count != N * k || probs.count != N * k {
                throw LabError.message("sparse targets: expected \(N)×\(k) tokens and probabilities")
            }
            if k >= V {
                throw LabError.invalidConfig(key: "top_k", message: "\(k) must be below the vocabulary size \(V)")
            }
        case .dense: break
        }
        Parallel.forChunks(N, minimumPerChunk: 16) { rows in
            for r in rows {
                let z = logits + r * V, g = dlogits + r * V
                let w: Float = mask?[r] ?? 1
                // p = softmax(z/τ); g holds p first.
                var mx = -Float.infinity
                for v in 0..<V where z[v] > mx { mx = z[v] }
                var sum: Double = 0
                for v in 0..<V {
                    let e = Float(exp(Double((z[v] - mx) * invTau)))
                    g[v] = e
                    sum += Double(e)
                }
                let logSum = log(sum)
                let inv = Float(1 / sum)
                for v in 0..<V { g[v] *= inv }
                // log p_v = (z_v - mx)/τ - logSum
                @inline(__always) func logp(_ v: Int) -> Double { Double((z[v] - mx) * invTau) - logSum }
                let s = w * scaleAll * invTau
                var loss: Double = 0
                switch targets {
                case .hard(let t):
                    let y = Int(t[r])
                    loss = -logp(y)
                    g[y] -= 1
                    for v in 0..<V { g[v] *= s }
                case .dense(let q):
                    let qr = q + r * V
                    for v in 0..<V {
                        if qr[v] > 0 { loss -= Double(qr[v]) * logp(v) }
                        g[v] = (g[v] - qr[v]) * s
                    }
                case .sparse(let toks, let probs, let k, let tail):
                    let tr = r * k
                    var listed: Double = 0
                    for i in 0..<k { listed += Double(probs[tr + i]) }
                    let rest = max(0, 1 - listed)
                    switch tail {
                    case .renormalize:
                        for i in 0..<k {
                            let q = Double(probs[tr + i]) / listed
                            let tok = Int(toks[tr + i])
                            loss -= q * logp(tok)
                            g[tok] -= Float(q)
                        }
                    case .uniform:
                        // Unlisted tokens get u = r/(V − k) each; listed tokens their own probability.
                        let u = rest / Double(V - k)
                        var sumLogp: Double = 0
                        for v in 0..<V { sumLogp += logp(v) }
                        var listedLogp: Double = 0
                        for i in 0..<k {
                            let tok = Int(toks[tr + i])
                            let q = Double(probs[tr + i])
                            listedLogp += logp(tok)
                            loss -= q * logp(tok)
                            g[tok] -= Float(q - u)
                        }
                        loss -= u * (sumLogp - listedLogp)
                        let uf = Float(u)
                        for v in 0..<V { g[v] -= uf }
                    case .bucket:
                        // Unlisted mass R = 1 − Σ_listed p; ∂/∂z_v = p_v − q_v [listed] − r·p_v/R [unlisted].
                        var pListed: Double = 0
                        for i in 0..<k { pListed += Double(g[Int(toks[tr + i])]) }
                        let R = max(1 - pListed, 1e-30)
                        for i in 0..<k { loss -= Double(probs[tr + i]) * logp(Int(toks[tr + i])) }
                        loss -= rest * log(R)
                        let f = Float(rest / R)
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { listedGrad in
                            for i in 0..<k { listedGrad[i] = g[Int(toks[tr + i])] - probs[tr + i] }
                            for v in 0..<V { g[v] *= 1 - f }
                            for i in 0..<k { g[Int(toks[tr + i])] = listedGrad[i] }
                        }
                    }
                    for v in 0..<V { g[v] *= s }
                }
                rowLoss[r] = Float(loss) * w
            }
        }
        var total: Double = 0
        for r in 0..<N { total += Double(rowLoss[r]) }
        return Float(total / norm)
    }
}
