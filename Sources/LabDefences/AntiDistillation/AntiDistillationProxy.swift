// AntidistillationProxy: the proxy student of antidistillation sampling (Savani et al. 2025) held as the
// two perturbed copies θ_P ± ε·g, and the penalty b(·|context) they give by a central difference.
// Not the sampling rule or the API stage (AntiDistillationSampling.swift); it does not train the proxy.
import Foundation
import LabCore
import LabModel

/// The paper's penalty. A student that trains on a token x after context c takes a step
/// θ ← θ + η ∇_θ log p(x | c; θ); to first order that changes its downstream loss ℓ by
/// η ⟨∇ℓ(θ), ∇_θ log p(x | c; θ)⟩. That inner product, for every candidate x at once, is the directional
/// derivative of log p(· | c; θ) along g = ∇ℓ(θ_P), which the paper (Algorithm 1) approximates on a proxy
/// student θ_P by a central difference with step ε:
///
///     b(· | c) = [log p(· | c; θ_P + ε g) − log p(· | c; θ_P − ε g)] / (2ε)
///
/// So b(x | c) > 0 marks tokens a student learning from would *raise* its loss ℓ on. The difference
/// is exact for a quadratic, off by O(ε² ‖g‖²) otherwise, and loses digits to Float32 rounding when
/// ε‖g‖ nears 1e-7 of the weights (the tests check it against smaller and larger ε).
///
/// Choices this lab makes where the paper leaves room:
/// - g is the gradient of the proxy's mean next-token cross-entropy over `target` windows (the paper's
///   downstream loss is the proxy's loss on the task the owner protects); it is not normalised, as in
///   the paper, so the scale of λ depends on ‖g‖ (reported as `gradientNorm`).
/// - Contexts longer than the proxy's context length are cut to their last tokens.
/// - No KV cache: each call runs both copies over whole contexts, so a completion of n tokens costs
///   O(n²) proxy positions (the paper's cost is two proxy forwards per token).
public final class AntidistillationProxy {
    /// θ_P + ε g and θ_P − ε g.
    let plus: GPT
    let minus: GPT
    /// ε, the finite-difference step along g.
    public let epsilon: Double
    /// ‖g‖₂, the norm of the downstream-loss gradient at θ_P.
    public let gradientNorm: Double
    /// ℓ(θ_P): the proxy's mean cross-entropy (nats) on the target windows.
    public let targetLoss: Double
    public var vocabularySize: Int { plus.config.vocabularySize }
    public var contextLength: Int { plus.config.contextLength }

    /// Builds the two perturbed copies of `proxy` (whose parameters are left as they were; its gradients
    /// are overwritten). `target` holds the windows of the downstream loss, each at least 2 tokens and at
    /// most the proxy's context length + 1 (inputs are all but the last token, targets all but the first).
    public init(proxy: GPT, target: [[Int32]], epsilon: Double) throws {
        guard epsilon > 0, epsilon.isFinite else {
            throw LabError.invalidConfig(
                key: "epsilon", message: "is \(epsilon); the finite-difference step must be > 0 (e.g. 1e-2)")
        }
        let T = proxy.config.contextLength
        let windows = target.filter { $0.count >= 2 }
        guard !windows.isEmpty else {
            throw LabError.invalidConfig(
                key: "target",
                message: "has no window of 2 or more tokens; the downstream loss needs text to be measured on")
        }
        if let long = windows.first(where: { $0.count > T + 1 }) {
            throw LabError.invalidConfig(
                key: "target",
                message:
                    "a window has \(long.count) tokens; the proxy reads at most \(T) (give windows of ≤ \(T + 1) tokens)"
            )
        }
        // g = ∇ mean CE over all target positions: each equal-length group is one batch, weighted by its
        // share of the positions (backward adds, so the groups' gradients sum).
        proxy.zeroGradients()
        let positions = windows.reduce(0) { $0 + $1.count - 1 }
        var loss = 0.0
        for (length, group) in Dictionary(grouping: windows, by: \.count).sorted(by: { $0.key < $1.key }) {
            let L = length - 1
            let x = group.flatMap { $0.prefix(L) }, y = group.flatMap { $0.suffix(L) }
            try proxy.forward(tokens: Array(x), batch: group.count, length: L)
            let share = Double(group.count * L) / Double(positions)
            loss += Double(try proxy.loss(.hard(Array(y)))) * share
            // The loss kernel wrote ∂(group mean)/∂logits; scale it to the group's share of the overall mean.
            if let d = proxy.logitGradients { for i in d.indices { d[i] *= Float(share) } }
            proxy.backward()
        }
        let n = proxy.layout.count
        let g = proxy.gradients.pointer, theta = proxy.parameters.pointer
        var norm = 0.0
        for i in 0..<n { norm += Double(g[i]) * Double(g[i]) }
        guard norm.isFinite, loss.isFinite else {
            throw LabError.nonFinite(step: 0, tensor: "proxy gradient of the downstream loss")
        }
        let shifted = FloatBuffer(count: n)
        for i in 0..<n { shifted[i] = theta[i] + Float(epsilon) * g[i] }
        plus = try GPT(config: proxy.config, parameters: shifted)
        for i in 0..<n { shifted[i] = theta[i] - Float(epsilon) * g[i] }
        minus = try GPT(config: proxy.config, parameters: shifted)
        self.epsilon = epsilon
        gradientNorm = norm.squareRoot()
        targetLoss = loss
    }

    /// b(· | c) for each context (V values each, Double). An empty context has no next-token
    /// distribution in a GPT; its penalty is all zeros, so sampling there is left to the teacher.
    public func penalties(contexts: [ArraySlice<Int32>]) throws -> [[Double]] {
        let V = vocabularySize, T = contextLength
        var out = [[Double]](repeating: [Double](repeating: 0, count: V), count: contexts.count)
        // Rows whose (cut) context is a prefix of another's read the longer sequence's logits at the
        // matching position: an echo query's positions then cost one forward, not one each.
        let cut = contexts.map { Array($0.suffix(T)) }
        var sequences: [[Int32]] = []
        var located: [[Int32]: (sequence: Int, position: Int)] = [:]
        var location = [(sequence: Int, position: Int)?](repeating: nil, count: contexts.count)
        for r in cut.indices.sorted(by: { cut[$0].count > cut[$1].count }) where !cut[r].isEmpty {
            if let hit = located[cut[r]] {
                location[r] = hit
                continue
            }
            let s = sequences.count
            sequences.append(cut[r])
            for k in 1...cut[r].count where located[Array(cut[r][0..<k])] == nil {
                located[Array(cut[r][0..<k])] = (s, k - 1)
            }
            location[r] = (s, cut[r].count - 1)
        }
        var logp: [(plus: [Float], minus: [Float])] = Array(repeating: ([], []), count: sequences.count)
        for (length, members) in Dictionary(grouping: sequences.indices, by: { sequences[$0].count }) {
            let tokens = members.flatMap { sequences[$0] }
            let a = try Self.logSoftmaxRows(plus, tokens: tokens, batch: members.count, length: length)
            let b = try Self.logSoftmaxRows(minus, tokens: tokens, batch: members.count, length: length)
            for (j, s) in members.enumerated() {
                logp[s] = (
                    Array(a[(j * length * V)..<((j + 1) * length * V)]),
                    Array(b[(j * length * V)..<((j + 1) * length * V)])
                )
            }
        }
        let scale = 1 / (2 * epsilon)
        for r in contexts.indices {
            guard let (s, t) = location[r] else { continue }
            for v in 0..<V { out[r][v] = (Double(logp[s].plus[t * V + v]) - Double(logp[s].minus[t * V + v])) * scale }
        }
        return out
    }

    /// log softmax of every logit row of one forward pass, (B·T, V).
    static func logSoftmaxRows(_ model: GPT, tokens: [Int32], batch: Int, length: Int) throws -> [Float] {
        let V = model.config.vocabularySize
        let logits = try model.forward(tokens: tokens, batch: batch, length: length)
        var out = [Float](repeating: 0, count: batch * length * V)
        for row in 0..<(batch * length) {
            let z = logits.baseAddress! + row * V
            let (mx, logSum) = Softmax.logNormalizer(z, count: V)
            let lse = Float(logSum) + mx
            for v in 0..<V { out[row * V + v] = z[v] - lse }
        }
        return out
    }
}
