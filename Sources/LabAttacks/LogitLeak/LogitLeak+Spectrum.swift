// LogitLeak analysis: the SVD of the stacked logit vectors, the hidden width at the largest gap in the
// log singular values (Carlini et al. 2024, Algorithm 1), and the output projection recovered up to a
// d×d transform (their §4.2), scored against the truth. Not the querying (LogitLeak+Harvest.swift).
import Foundation
import LabCore

/// The SVD of a harvest's (n, V) matrix Q = U·Σ·Vᵀ, in Double.
public struct LogitSpectrum: Sendable {
    /// s_1 ≥ s_2 ≥ … , min(n, V) of them.
    public let singularValues: [Double]
    /// Vᵀ, (r, V) row-major, r = min(n, V): row j is the j-th right singular vector, a direction in logit space.
    public let rightVectors: [Double]
    public let vocabularySize: Int
}

extension LogitLeak {
    /// SVD through LAPACKE (`BLAS.svdDouble`). Double, because a noise-free teacher's spectrum falls from
    /// its width to Float32 rounding of the logits, ~7 decades, and the gap is read in logs.
    public static func spectrum(of harvest: LogitHarvest) throws -> LogitSpectrum {
        let (s, _, vt) = try BLAS.svdDouble(harvest.matrix, rows: harvest.vectors, columns: harvest.vocabularySize)
        return LogitSpectrum(singularValues: s, rightVectors: vt, vocabularySize: harvest.vocabularySize)
    }

    /// Carlini et al.'s rule, for the spectrum of an (n, V) harvest: d̂ = argmax_i ln s_i − ln s_{i+1} over
    /// i < m, m = min(n, V − 1). The rows are centred, so s_V = 0 by construction when n ≥ V; it is left
    /// out. Values at or below s_1·10⁻³⁰⁰ are floored there, so an exact zero cannot make an infinite gap.
    /// Also computes the Gavish–Donoho count (`WidthEstimate.bulkEdgeWidth`).
    public static func estimateWidth(singularValues s: [Double], vectors n: Int, vocabularySize V: Int) -> WidthEstimate
    {
        let m = min(s.count, V - 1)
        // An all-zero matrix (every entry withheld or rounded away) has no direction to count.
        guard let top = s.first, top > 0 else {
            return WidthEstimate(
                width: 0, logGap: 0, runnerUpLogGap: 0, searched: max(0, m), saturated: false, bulkEdgeWidth: 0)
        }
        guard m >= 2 else {
            return WidthEstimate(
                width: max(0, m), logGap: 0, runnerUpLogGap: 0, searched: max(0, m), saturated: true,
                bulkEdgeWidth: max(0, m))
        }
        let floor = max(top * 1e-300, Double.leastNormalMagnitude)
        let logs = s.prefix(m).map { log(max($0, floor)) }
        var best = 1, bestGap = -Double.infinity, runnerUp = -Double.infinity
        for i in 1..<m {
            let g = logs[i - 1] - logs[i]
            if g > bestGap {
                runnerUp = bestGap
                bestGap = g
                best = i
            } else if g > runnerUp {
                runnerUp = g
            }
        }
        return WidthEstimate(
            width: best, logGap: bestGap, runnerUpLogGap: runnerUp.isFinite ? runnerUp : 0,
            searched: m, saturated: best >= m - 1,
            bulkEdgeWidth: bulkEdgeWidth(s.prefix(m), vectors: n, vocabularySize: V))
    }

    /// #{i : s_i > ω(β)·median(s)}, ω(β) ≈ 0.56β³ − 0.95β² + 1.82β + 1.43 (Gavish & Donoho 2014, eq. (5), the
    /// unknown-noise threshold), over the m searched values; β = m / max(rows, V − 1). The n rows live in
    /// the V − 1 dimensions orthogonal to the all-ones vector, so the noise matrix is (n, V − 1).
    static func bulkEdgeWidth(_ s: ArraySlice<Double>, vectors n: Int, vocabularySize V: Int) -> Int {
        let m = s.count
        guard m >= 1 else { return 0 }
        let beta = Double(m) / Double(max(n, V - 1))
        let omega = 0.56 * beta * beta * beta - 0.95 * beta * beta + 1.82 * beta + 1.43
        let sorted = s.sorted()
        let median = m % 2 == 1 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2
        return s.filter { $0 > omega * median }.count
    }

    /// Ŵ = V_d·Σ_d, (V, d) row-major: the recovered output projection, equal to W·G for some d×d G when the
    /// harvest is exact and d = C (Carlini et al. Lemma 4.2, in our (n, V) orientation Q = H·Wᵀ, so W's
    /// columns span the top right singular vectors).
    public static func recoveredProjection(spectrum: LogitSpectrum, width d: Int) -> [Double] {
        let V = spectrum.vocabularySize
        let d = min(d, spectrum.singularValues.count)
        var w = [Double](repeating: 0, count: V * d)
        for j in 0..<d {
            let sj = spectrum.singularValues[j]
            for v in 0..<V { w[v * d + j] = spectrum.rightVectors[j * V + v] * sj }
        }
        return w
    }

    /// The error of the width-d recovery after the best alignment to `truth` (see `ProjectionAlignment`).
    /// Ŵ = V_d·Σ_d and V_d have the same column space, so min_G ‖Ŵ·G − W‖ is the same with either; it is
    /// computed with the orthonormal V_d (plus 1/√V for the constant), a projection with no ill-conditioned
    /// normal equations whatever the spread of Σ_d.
    public static func align(spectrum: LogitSpectrum, width d: Int, truth: OutputProjection) -> ProjectionAlignment {
        let V = spectrum.vocabularySize, C = truth.width
        let d = min(d, spectrum.singularValues.count)
        var basis: [[Double]] = (0..<d).map { j in Array(spectrum.rightVectors[(j * V)..<((j + 1) * V)]) }
        let norm = truth.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return ProjectionAlignment(width: d, rmsError: 0, linearRMSError: 0) }
        let linear = projectionResidual(of: truth.values, rows: V, columns: C, onto: basis) / norm
        basis.append([Double](repeating: 1 / Double(V).squareRoot(), count: V))
        let affine = projectionResidual(of: truth.values, rows: V, columns: C, onto: basis) / norm
        return ProjectionAlignment(width: d, rmsError: affine, linearRMSError: linear)
    }

    /// ‖(I − P)·M‖_F, P the orthogonal projector onto the span of `basis` (vectors of length `rows`), M
    /// (rows, columns) row-major: the least-squares residual min_G ‖B·G − M‖. The basis is orthonormalised
    /// by modified Gram–Schmidt, twice (enough for full precision); vectors that add no new direction drop out.
    static func projectionResidual(of m: [Double], rows: Int, columns: Int, onto basis: [[Double]]) -> Double {
        var q: [[Double]] = []
        for var b in basis {
            let start = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for _ in 0..<2 {
                for e in q {
                    var dot = 0.0
                    for i in 0..<rows { dot += e[i] * b[i] }
                    for i in 0..<rows { b[i] -= dot * e[i] }
                }
            }
            let norm = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 1e-10 * start, norm > 0 else { continue }
            q.append(b.map { $0 / norm })
        }
        var residual = m
        var coefficients = [Double](repeating: 0, count: columns)
        for e in q {
            for c in 0..<columns { coefficients[c] = 0 }
            for i in 0..<rows {
                let ei = e[i]
                for c in 0..<columns { coefficients[c] += ei * residual[i * columns + c] }
            }
            for i in 0..<rows {
                let ei = e[i]
                for c in 0..<columns { residual[i * columns + c] -= ei * coefficients[c] }
            }
        }
        return residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }
}
