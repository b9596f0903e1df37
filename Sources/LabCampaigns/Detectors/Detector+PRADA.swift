// PRADA (Juuti, Szyller, Marchal, Asokan 2019, "PRADA: Protecting against DNN Model Stealing Attacks",
// Algorithm 1) adapted to prompts: per account, the minimum distance of each new prompt to the account's
// growing set of earlier prompts, and a Shapiro–Wilk test of those distances; natural queries give roughly
// normal distances, synthetic ones do not. Not class-conditional: a prompt has no class, so one set per account.
import LabCore

public final class PRADADetector: RegisteredDetector {
    public static let registryName = "prada"
    public static let reference =
        "Juuti et al. 2019 PRADA: Shapiro–Wilk W of min distances to the account's growing set, alarm when W < δ"

    public struct Config: Equatable, Sendable {
        /// δ: alarm when W falls below it (the paper's default 0.9 for its image tasks).
        public var delta: Double = 0.9
        /// Test only once the account has more than this many distances (the paper: 100).
        public var minDistances: Int = 100
        /// Test every this many new distances (the paper's "every 10 queries" in its experiments).
        public var testEvery: Int = 10
        /// The test reads the most recent `window` distances. The paper tests them all; Royston's p-value
        /// approximation covers n ≤ 5000, and a bounded window bounds the per-query cost.
        public var window: Int = 5000
        /// Cap on the growing set G (oldest evicted first), so a distance costs at most this many comparisons;
        /// the paper's set is unbounded (its threshold rule keeps G small in practice, and it does here too).
        public var maxGrowingSet: Int = 256
        /// Distances between count vectors scaled to unit length (cosine geometry) rather than raw counts.
        /// Raw counts make a prompt's length dominate its distances, and honest users who mix short task
        /// problems with long sentences then give multimodal, non-normal distances (measured: about half of
        /// the heavy honest users alarm at δ = 0.9); unit vectors compare what the prompts say.
        public var normalize = true

        public init() {}

        public func validate() throws {
            func fail(_ key: String, _ message: String) -> LabError {
                LabError.invalidConfig(key: "detectors.prada.\(key)", message: message)
            }
            guard delta > 0, delta <= 1 else {
                throw fail("delta", "is \(delta); W is in (0, 1], so δ must be in (0, 1] (the paper uses 0.9)")
            }
            guard minDistances >= 3 else {
                throw fail(
                    "min_distances", "is \(minDistances); Shapiro–Wilk needs at least 3 values (the paper uses 100)")
            }
            guard testEvery >= 1 else { throw fail("test_every", "is \(testEvery); must be at least 1") }
            guard window >= minDistances, window <= ShapiroWilk.sizes.upperBound else {
                throw fail(
                    "window",
                    "is \(window); must be in \(minDistances)...\(ShapiroWilk.sizes.upperBound) (min_distances to Royston's limit)"
                )
            }
            guard maxGrowingSet >= 1 else { throw fail("max_growing_set", "is \(maxGrowingSet); must be at least 1") }
        }
    }

    /// One account's state.
    struct Account {
        /// G: the prompts kept for comparison, flat (|G|, D) with their squared norms (a ring once full).
        var growing: [Float] = []
        var norms: [Float] = []
        var growingHead = 0
        /// Distances of the prompts that entered G, for the threshold T = max(T, mean − std).
        var addedCount = 0.0, addedSum = 0.0, addedSumSquares = 0.0
        var threshold: Float = 0
        /// D, most recent `window` in arrival order (a ring) and the same values kept sorted.
        var recent: [Double] = []
        var recentHead = 0
        var sorted: [Double] = []
        var distances = 0
        var lastW: Double?
        var minW: Double?
        var alarmed = false
    }

    public let config: Config
    var accounts: [Account] = []
    /// Shapiro–Wilk coefficients by sample size; the run tests a few hundred sizes, each computed once.
    var coefficients: [Int: [Double]] = [:]
    /// Every W computed (account, number of distances, W): what the report's distribution of W reads.
    public private(set) var tests: [(account: Int, distances: Int, w: Double)] = []

    public init(config: Config) { self.config = config }
    public convenience init(config: Config, context: DetectorContext) { self.init(config: config) }

    public var parameters: [(key: String, value: String)] {
        [
            ("delta", CampaignFormat.number(config.delta)), ("min_distances", "\(config.minDistances)"),
            ("test_every", "\(config.testEvery)"),
            ("window", "\(config.window)"), ("max_growing_set", "\(config.maxGrowingSet)"),
            ("normalize", "\(config.normalize)"),
        ]
    }

    public func observe(_ o: DetectorObservation) -> Bool {
        while accounts.count <= o.account { accounts.append(Account()) }
        let counts = o.features.counts
        let x = config.normalize ? counts / max(1e-12, (counts * counts).sum().squareRoot()) : counts
        let D = PromptFeatures.dimension
        // Swapped out and back so its arrays stay uniquely referenced and grow in place.
        var s = Account()
        swap(&s, &accounts[o.account])
        defer { swap(&s, &accounts[o.account]) }
        func keep() {
            if s.norms.count < config.maxGrowingSet {
                for k in 0..<D { s.growing.append(x[k]) }
                s.norms.append((x * x).sum())
            } else {
                for k in 0..<D { s.growing[s.growingHead * D + k] = x[k] }
                s.norms[s.growingHead] = (x * x).sum()
                s.growingHead = (s.growingHead + 1) % config.maxGrowingSet
            }
        }
        if s.norms.isEmpty {
            keep()
            return false
        }
        let dmin = DetectorMath.minSquaredDistance(x, rows: s.growing, norms: s.norms).squareRoot()
        record(Double(dmin), in: &s)
        if dmin > s.threshold {
            keep()
            let d = Double(dmin)
            s.addedCount += 1
            s.addedSum += d
            s.addedSumSquares += d * d
            let mean = s.addedSum / s.addedCount
            let std = max(0, s.addedSumSquares / s.addedCount - mean * mean).squareRoot()
            s.threshold = max(s.threshold, Float(mean - std))
        }
        guard s.distances > config.minDistances, (s.distances - config.minDistances) % config.testEvery == 0 else {
            return false
        }
        let w = shapiroW(s.sorted)
        s.lastW = w
        s.minW = min(s.minW ?? w, w)
        tests.append((o.account, s.distances, w))
        guard w < config.delta, !s.alarmed else { return false }
        s.alarmed = true
        return true
    }

    /// Adds a distance to D's window, keeping the sorted copy in step (two memmoves, no sort per test).
    func record(_ d: Double, in s: inout Account) {
        s.distances += 1
        if s.recent.count < config.window {
            s.recent.append(d)
        } else {
            let old = s.recent[s.recentHead]
            s.recent[s.recentHead] = d
            s.recentHead = (s.recentHead + 1) % config.window
            s.sorted.remove(at: Self.lowerBound(s.sorted, old))
        }
        s.sorted.insert(d, at: Self.lowerBound(s.sorted, d))
    }

    static func lowerBound(_ a: [Double], _ x: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// W of the sorted window. A window whose distances are all equal (an account resending one prompt)
    /// has no normal fit at all: W is taken as 0.
    func shapiroW(_ sorted: [Double]) -> Double {
        let n = sorted.count
        let a: [Double]
        if let cached = coefficients[n] {
            a = cached
        } else {
            a = ShapiroWilk.coefficients(count: n)
            coefficients[n] = a
        }
        return (try? ShapiroWilk.testSorted(sorted, coefficients: a).w) ?? 0
    }

    /// 0 until the first test; then how far W has fallen from 1 towards δ.
    public func suspicion(account: Int) -> Double {
        guard account < accounts.count, let w = accounts[account].lastW else { return 0 }
        return min(1, max(0, (1 - w) / max(1e-12, 1 - config.delta)))
    }

    /// The lowest W of any test of the account (nil before its first test).
    public func statistic(account: Int) -> Double? { account < accounts.count ? accounts[account].minW : nil }

    /// 1 − the lowest W: the less normal the distances ever looked, the more suspicious.
    public func score(account: Int) -> Double? { statistic(account: account).map { 1 - $0 } }

    /// The last W of an account (nil before its first test).
    public func lastW(account: Int) -> Double? { account < accounts.count ? accounts[account].lastW : nil }
}

extension PRADADetector.Config: DetectorConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case delta, minDistances = "min_distances", testEvery = "test_every", window, maxGrowingSet = "max_growing_set",
            normalize
    }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(
            unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "detectors.prada")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        delta = try c.decodeIfPresent(Double.self, forKey: .delta) ?? delta
        minDistances = try c.decodeIfPresent(Int.self, forKey: .minDistances) ?? minDistances
        testEvery = try c.decodeIfPresent(Int.self, forKey: .testEvery) ?? testEvery
        window = try c.decodeIfPresent(Int.self, forKey: .window) ?? window
        maxGrowingSet = try c.decodeIfPresent(Int.self, forKey: .maxGrowingSet) ?? maxGrowingSet
        normalize = try c.decodeIfPresent(Bool.self, forKey: .normalize) ?? normalize
        try validate()
    }
}

/// The inner loop of distance-based detectors, written so the compiler vectorises it.
enum DetectorMath {
    /// min over the rows of ‖x − row‖², for `rows` stored flat (count, D) with `norms` their squared norms:
    /// ‖x‖² + ‖y‖² − 2 x·y. Exact for count vectors (integers far below 2²⁴), and clamped at 0 for others.
    static func minSquaredDistance(_ x: SIMD64<Float>, rows: [Float], norms: [Float]) -> Float {
        let D = PromptFeatures.dimension
        let xx = (x * x).sum()
        var best = Float.infinity
        withUnsafeBytes(of: x) { xb in
            let x0 = xb.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
            let x1 = xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let x2 = xb.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
            let x3 = xb.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
            rows.withUnsafeBytes { rb in
                for j in 0..<norms.count {
                    let o = j * D * 4
                    var acc = x0 * rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                    acc += x1 * rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self)
                    acc += x2 * rb.loadUnaligned(fromByteOffset: o + 128, as: SIMD16<Float>.self)
                    acc += x3 * rb.loadUnaligned(fromByteOffset: o + 192, as: SIMD16<Float>.self)
                    best = min(best, xx + norms[j] - 2 * acc.sum())
                }
            }
        }
        return max(0, best)
    }
}
