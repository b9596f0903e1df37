// Cross-account clustering: on a schedule, every account's pooled n-gram distribution is embedded as √p
// (Euclidean distance = √2 × Hellinger); two accounts are neighbours when their distance is within `max_z`
// times what sampling noise alone gives two samples of one distribution. An account alarms when its
// neighbourhood (itself and at least `min_neighbours` others) pooled together is unlike every mixture of
// benign topics, and the account's own prompts are likelier under that crowd's distribution than under
// its own best benign mixture — a crowd of look-alikes that honest users do not form, found even when each
// proxy sends too few queries to stand out alone, without taking the honest users it brushes against.
// Not a clustering algorithm that names clusters: a per-account neighbourhood test (DBSCAN's core-point
// rule plus the fingerprint's residual, pooled).
import Foundation
import LabCore

public final class ClusteringDetector: RegisteredDetector {
    public static let registryName = "clustering"
    public static let reference =
        "pooled n-gram fingerprint of the account's statistically indistinguishable neighbours, against the benign topic mixture"

    public struct Config: Equatable, Sendable {
        /// Requests pooled before an account is fingerprinted at all.
        public var minQueries: Int = 10
        /// Neighbours: ‖√p̂ᵢ − √p̂ⱼ‖² < max_z · (D − 1)/4 · (1/Nᵢ + 1/Nⱼ), Nᵢ the account's n-gram count. The
        /// right side's (D − 1)/(4N) is the delta-method expectation of ‖√p̂ − √p‖² for N draws over D buckets,
        /// so max_z = 1 is "no further apart than two samples of one distribution, on average".
        public var maxZ: Double = 1.5
        /// A neighbourhood is tested only with at least this many other accounts in it.
        public var minNeighbours: Int = 5
        /// Alarm when (pooled queries) × JS residual of the neighbourhood exceeds this — the fingerprint's
        /// statistic, on the neighbourhood's pooled counts.
        public var threshold: Double = 0.6
        /// ... and the residual itself exceeds this (nats): a floor above the error of the topic profiles,
        /// which a neighbourhood of thousands of honest queries would otherwise magnify past the threshold.
        public var minResidual: Double = 0.002
        public var sweepSeconds: Double = 3600
        /// Neighbours are sought among at most this many fingerprinted accounts (nil: among all of them): a sample
        /// fixed by a hash of the account ids (the `referenceAccounts` with the smallest hashes at each sweep, so an
        /// account in the sample stays in it until accounts with smaller hashes arrive). With M fingerprinted
        /// accounts a sweep then costs rows × min(M, R) instead of rows × M. Up to R accounts it is the exact
        /// detector; beyond, a neighbourhood holds only the sampled look-alikes, so a campaign with few accounts
        /// among many honest ones is seen less (measured in BENCHMARKS.md).
        public var referenceAccounts: Int?

        public init() {}

        public func validate() throws {
            func fail(_ key: String, _ message: String) -> LabError {
                LabError.invalidConfig(key: "detectors.clustering.\(key)", message: message)
            }
            guard minQueries >= 1 else { throw fail("min_queries", "is \(minQueries); must be at least 1") }
            guard maxZ > 0, maxZ.isFinite else {
                throw fail("max_z", "is \(maxZ); must be positive (1: the distance sampling noise alone gives)")
            }
            guard minNeighbours >= 1 else { throw fail("min_neighbours", "is \(minNeighbours); must be at least 1") }
            guard threshold > 0, threshold.isFinite else {
                throw fail("threshold", "is \(threshold); must be positive (pooled queries × JS, nats)")
            }
            guard minResidual >= 0, minResidual <= log(2.0) else {
                throw fail("min_residual", "is \(minResidual); JS divergence is in [0, log 2 ≈ 0.693] nats")
            }
            guard sweepSeconds > 0, sweepSeconds.isFinite else {
                throw fail("sweep_minutes", "is \(sweepSeconds / 60); must be positive")
            }
            if let r = referenceAccounts, r <= minNeighbours {
                throw fail(
                    "reference_accounts",
                    "is \(r); must exceed min_neighbours (\(minNeighbours)), or leave it out to compare against every account"
                )
            }
        }
    }

    public let config: Config
    public let topics: DetectorTopics
    var pooled = PooledCounts()
    var counts: [Int] = []
    /// The account's request count when it was last scored (0: never): it is scored again once that has
    /// grown by a fifth, so a sweep re-scores the accounts whose fingerprint has moved, not all of them.
    var scoredAt: [Int] = []
    var neighbours: [Int] = []
    var statistics: [Double] = []
    var weights: [[Float]] = []
    var ownWeights: [[Float]] = []
    var alarmed: [Bool] = []
    /// Sweeps run and the rows scored in them, for the benchmark.
    public private(set) var sweeps = 0
    public private(set) var rowsScored = 0

    public convenience init(config: Config, context: DetectorContext) {
        self.init(config: config, topics: context.benignTopics)
    }

    public init(config: Config, topics: DetectorTopics) {
        self.config = config
        self.topics = topics
    }

    public var parameters: [(key: String, value: String)] {
        [
            ("min_queries", "\(config.minQueries)"), ("max_z", CampaignFormat.number(config.maxZ)),
            ("min_neighbours", "\(config.minNeighbours)"), ("threshold", CampaignFormat.number(config.threshold)),
            ("min_residual", CampaignFormat.number(config.minResidual)),
            ("sweep_minutes", CampaignFormat.number(config.sweepSeconds / 60)),
        ] + (config.referenceAccounts.map { [("reference_accounts", "\($0)")] } ?? [])
    }

    public var sweepInterval: Double? { config.sweepSeconds }

    public func observe(_ o: DetectorObservation) -> Bool {
        let a = o.account
        while counts.count <= a {
            counts.append(0)
            scoredAt.append(0)
            neighbours.append(0)
            statistics.append(0)
            weights.append([])
            ownWeights.append([])
            alarmed.append(false)
        }
        pooled.add(o.features.counts, to: a)
        counts[a] += 1
        return false
    }

    /// Neighbours found for the account at its last scoring.
    public func neighbours(account: Int) -> Int { account < neighbours.count ? neighbours[account] : 0 }
    /// Its neighbourhood's pooled statistic at its last scoring (0 when too few neighbours to test; nil
    /// when never scored).
    public func statistic(account: Int) -> Double? {
        account < statistics.count && scoredAt[account] > 0 ? statistics[account] : nil
    }

    public func suspicion(account: Int) -> Double {
        account < statistics.count ? min(1, statistics[account] / config.threshold) : 0
    }

    /// Scores the accounts due (see `scoredAt`) against every fingerprinted account — banned ones included:
    /// a fresh proxy that looks like banned ones is the point. Per block of rows, one BLAS product gives the
    /// Gram matrix of the embeddings, the neighbour test turns it into a 0/1 matrix in place, and a second
    /// product pools each row's neighbourhood counts; the workers take a block each, the blocks are scored in
    /// order. Single-threaded BLAS calls whose shapes do not depend on the workers: on one machine the same shapes
    /// give the same sums, so the same seed gives the same alarms.
    public func sweep(time: Double) -> [Int] {
        sweeps += 1
        let members = counts.indices.filter { counts[$0] >= config.minQueries }
        let rows = members.indices.filter { i in
            let a = members[i]
            return !alarmed[a] && (scoredAt[a] == 0 || counts[a] * 5 >= scoredAt[a] * 6)
        }
        guard members.count > config.minNeighbours, !rows.isEmpty else { return [] }
        let D = PromptFeatures.dimension, N = members.count
        // The accounts neighbourhoods are sought among: every member, or the reference sample's.
        let reference = referenceSample(members)
        let R = reference.count
        // position[i]: member i's row in the reference matrices, −1 when it is not in the sample.
        var position = [Int](repeating: -1, count: N)
        for (j, i) in reference.enumerated() { position[i] = j }
        // embedding: (N, D) each member's √p; raw: (R, D + 1) each reference account's counts and, in the last
        // column, its request count, so one product pools a neighbourhood's counts and its queries together.
        let W = D + 1
        var embedding = [Float](repeating: 0, count: N * D)
        var raw = [Float](repeating: 0, count: R * W)
        var noise = [Float](repeating: 0, count: N)
        let scale = Float(config.maxZ * Double(D - 1) / 4)
        pooled.values.withUnsafeBufferPointer { values in
            for (i, a) in members.enumerated() {
                let row = values[(a * D)..<(a * D + D)]
                let total = max(1, row.reduce(0, +))
                let j = position[i]
                for (k, v) in row.enumerated() {
                    if j >= 0 { raw[j * W + k] = v }
                    embedding[i * D + k] = (v / total).squareRoot()
                }
                if j >= 0 { raw[j * W + D] = Float(counts[a]) }
                noise[i] = scale / total
            }
        }
        let references: NeighbourReferences
        if R == N {
            references = NeighbourReferences(embedding: embedding, noise: noise, raw: raw, position: position)
        } else {
            var e = [Float](repeating: 0, count: R * D), n = [Float](repeating: 0, count: R)
            for (j, i) in reference.enumerated() {
                for k in 0..<D { e[j * D + k] = embedding[i * D + k] }
                n[j] = noise[i]
            }
            references = NeighbourReferences(embedding: e, noise: n, raw: raw, position: position)
        }
        let block = 256
        var alarms: [Int] = []
        // The workers' slots: each finds and pools the neighbourhoods of one block of rows at a time (the same
        // products, of the same shapes, whichever worker runs it); the blocks are then scored in order.
        let slots = max(1, min(Parallel.workers, (rows.count + block - 1) / block))
        var slot = (0..<slots).map { _ in NeighbourBlock(rows: block, members: R, width: W) }
        for first in stride(from: 0, to: rows.count, by: block * slots) {
            let chunks = stride(from: first, to: min(rows.count, first + block * slots), by: block).map {
                Array(rows[$0..<min(rows.count, $0 + block)])
            }
            slot.withUnsafeMutableBufferPointer { slot in
                Parallel.perform(chunks.count) { c in
                    slot[c].find(chunks[c], embedding: embedding, noise: noise, references: references)
                }
            }
            for (c, chunk) in chunks.enumerated() {
                alarms += score(chunk, members: members, close: slot[c].close, pools: slot[c].pools, width: W)
            }
        }
        return alarms
    }

    /// The members (indices into `members`, ascending) neighbourhoods are sought among: all of them, or the
    /// `referenceAccounts` whose account ids hash lowest (SplitMix64's finaliser; ties by id).
    func referenceSample(_ members: [Int]) -> [Int] {
        guard let limit = config.referenceAccounts, members.count > limit else { return Array(members.indices) }
        func hash(_ account: Int) -> UInt64 {
            var z = UInt64(truncatingIfNeeded: account) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let keyed = members.indices.map { (hash: hash(members[$0]), index: $0) }
        let lowest = keyed.sorted { $0.hash != $1.hash ? $0.hash < $1.hash : $0.index < $1.index }.prefix(limit)
        return lowest.map(\.index).sorted()
    }

    /// Scores one block of rows from their neighbourhoods: the alarms, in row order.
    func score(_ chunk: [Int], members: [Int], close: [Int], pools: [Float], width W: Int) -> [Int] {
        let D = PromptFeatures.dimension
        var alarms: [Int] = []
        for (r, i) in chunk.enumerated() {
            let a = members[i]
            scoredAt[a] = counts[a]
            neighbours[a] = close[r]
            guard close[r] >= config.minNeighbours else {
                statistics[a] = 0
                continue
            }
            var pool = pooled.vector(a)
            for k in 0..<D { pool[k] += pools[r * W + k] }
            let queries = counts[a] + Int(pools[r * W + D])
            let crowd = pool / max(1, pool.sum())
            let residual = topics.residual(crowd, weights: &weights[a], iterations: 30)
            statistics[a] = residual > config.minResidual ? Double(queries) * residual : 0
            if statistics[a] > config.threshold, belongsToCrowd(a, crowd: crowd) {
                alarmed[a] = true
                alarms.append(a)
            }
        }
        rowsScored += chunk.count
        return alarms
    }
}

/// The accounts a sweep's neighbourhoods are drawn from: their √p embeddings (R, D), noise terms (R), raw counts
/// and request counts (R, D + 1), and each member's row among them (−1: not among them).
struct NeighbourReferences {
    var embedding: [Float]
    var noise: [Float]
    var raw: [Float]
    var position: [Int]
}

/// One worker's buffers for the neighbour test of a block of rows: the Gram block, turned in place into the
/// 0/1 neighbour matrix, and the pooled counts of each row's neighbourhood.
struct NeighbourBlock {
    var query: [Float]
    var gram: [Float]
    var pools: [Float]
    var close: [Int]

    init(rows: Int, members: Int, width: Int) {
        query = [Float](repeating: 0, count: rows * PromptFeatures.dimension)
        gram = [Float](repeating: 0, count: rows * members)
        pools = [Float](repeating: 0, count: rows * width)
        close = [Int](repeating: 0, count: rows)
    }

    /// For each row i of `chunk` (a member index): one BLAS product gives its dot products with every reference
    /// account's embedding, the neighbour test turns them into 0/1 in place (the member itself excluded), and a
    /// second product pools the neighbours' `raw` rows.
    mutating func find(_ chunk: [Int], embedding: [Float], noise: [Float], references: NeighbourReferences) {
        let D = PromptFeatures.dimension, N = references.noise.count, W = references.raw.count / max(1, N)
        for (r, i) in chunk.enumerated() {
            for k in 0..<D { query[r * D + k] = embedding[i * D + k] }
        }
        BLAS.product(query, references.embedding, into: &gram, m: chunk.count, n: N, k: D, transB: true)
        gram.withUnsafeMutableBufferPointer { g in
            references.noise.withUnsafeBufferPointer { refNoise in
                for (r, i) in chunk.enumerated() {
                    let row = g.baseAddress! + r * N
                    var count = 0
                    // ‖x − y‖² = 2 − 2 x·y for the unit vectors √p; sixteen lanes at a time, each lane the
                    // same IEEE operations as the scalar tail.
                    let ni = SIMD16<Float>(repeating: noise[i])
                    var j = 0
                    while j + 16 <= N {
                        let x = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
                        let nj = UnsafeRawPointer(refNoise.baseAddress! + j).loadUnaligned(as: SIMD16<Float>.self)
                        let near = (2 - 2 * x) .< (ni + nj)
                        let ones = SIMD16<Float>(repeating: 0).replacing(with: 1, where: near)
                        UnsafeMutableRawPointer(row + j).storeBytes(of: ones, as: SIMD16<Float>.self)
                        count += Int(ones.sum())
                        j += 16
                    }
                    while j < N {
                        let near: Float = 2 - 2 * row[j] < noise[i] + refNoise[j] ? 1 : 0
                        row[j] = near
                        count += Int(near)
                        j += 1
                    }
                    let own = references.position[i]
                    if own >= 0 {
                        count -= Int(row[own])
                        row[own] = 0
                    }
                    close[r] = count
                }
            }
        }
        BLAS.product(gram, references.raw, into: &pools, m: chunk.count, n: W, k: N, transB: false)
    }
}

extension ClusteringDetector {
    /// Whether the account's own counts are likelier under the crowd's distribution than under the account's
    /// best benign mixture: log-likelihood ratio Σᵢ cᵢ log(crowdᵢ / benignᵢ) > 0 (both floored at 10⁻⁶). An
    /// honest user whose noisy fingerprint happens to fall among proxies is still better explained by honest
    /// topics; a proxy is better explained by its crowd.
    func belongsToCrowd(_ a: Int, crowd: SIMD64<Float>) -> Bool {
        let own = pooled.vector(a)
        let benign = topics.fit(own / max(1, own.sum()), weights: &ownWeights[a], iterations: 30)
        var llr = 0.0
        for i in 0..<PromptFeatures.dimension where own[i] > 0 {
            llr += Double(own[i]) * log(max(1e-6, Double(crowd[i])) / max(1e-6, Double(benign[i])))
        }
        return llr > 0
    }
}

extension BLAS {
    /// c (m, n) = a (m, k) · b (k, n), or · bᵀ with b (n, k) when `transB`; single-threaded, row-major.
    static func product(_ a: [Float], _ b: [Float], into c: inout [Float], m: Int, n: Int, k: Int, transB: Bool) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let A = pa.baseAddress, let B = pb.baseAddress, let C = pc.baseAddress else { return }
                    sgemm(
                        transA: false, transB: transB, m: m, n: n, k: k, a: A, lda: k, b: B, ldb: transB ? k : n, c: C,
                        ldc: n)
                }
            }
        }
    }
}

extension ClusteringDetector.Config: DetectorConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case minQueries = "min_queries", maxZ = "max_z", minNeighbours = "min_neighbours", threshold, minResidual =
            "min_residual"
        case sweep = "sweep_minutes"
        case referenceAccounts = "reference_accounts"
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors.clustering")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        minQueries = try c.decodeIfPresent(Int.self, forKey: .minQueries) ?? minQueries
        maxZ = try c.decodeIfPresent(Double.self, forKey: .maxZ) ?? maxZ
        minNeighbours = try c.decodeIfPresent(Int.self, forKey: .minNeighbours) ?? minNeighbours
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? threshold
        minResidual = try c.decodeIfPresent(Double.self, forKey: .minResidual) ?? minResidual
        if let m = try c.decodeIfPresent(Double.self, forKey: .sweep) { sweepSeconds = m * 60 }
        referenceAccounts = try c.decodeIfPresent(Int.self, forKey: .referenceAccounts)
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(minQueries, forKey: .minQueries)
        try c.encode(maxZ, forKey: .maxZ)
        try c.encode(minNeighbours, forKey: .minNeighbours)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(minResidual, forKey: .minResidual)
        try c.encode(sweepSeconds / 60, forKey: .sweep)
        try c.encodeIfPresent(referenceAccounts, forKey: .referenceAccounts)
    }
}
