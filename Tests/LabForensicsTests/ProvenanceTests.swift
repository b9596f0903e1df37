// Provenance (per-account keys, Sander et al. 2024 radioactivity per key, Bonferroni/BH): the honest-user
// cost of per-account keys equals one global key's; 1,000 keys × 20 clean suspects stay within the nominal
// family-wise error; a sampler distilled from one account's text names that account only. Not reading mode.
import Foundation
import LabCore
import LabDefences
import LabForensics
import XCTest

final class ProvenanceTests: XCTestCase {
    /// A random-bigram teacher: logits[prev][v] = scale · N(0, 1), seeded.
    struct Bigram {
        let V: Int
        var logits: [Float]
        init(V: Int, scale: Double, seed: UInt64) {
            self.V = V
            var rng = LabRNG(seed: seed, stream: "bigram")
            logits = (0..<(V * V)).map { _ in Float(scale * rng.normal()) }
        }

        /// Softmax of row `prev`, after the watermark's bias in that context when one is given.
        func distribution(prev: Int32, watermark: KGWWatermark?) -> [Double] {
            var row = Array(logits[(Int(prev) * V)..<(Int(prev) * V + V)])
            if let watermark {
                row.withUnsafeMutableBufferPointer { watermark.bias(logits: $0.baseAddress!, context: [prev][...]) }
            }
            let m = row.max() ?? 0
            let e = row.map { exp(Double($0 - m)) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }

        func sample(length: Int, watermark: KGWWatermark?, seed: UInt64) -> [Int32] {
            var rng = LabRNG(seed: seed, stream: "sample")
            var text: [Int32] = [Int32(rng.int(below: V))]
            while text.count < length {
                text.append(Int32(rng.categorical(distribution(prev: text.last!, watermark: watermark))))
            }
            return text
        }
    }

    static let secret = "provider-secret"
    static func accounts(_ n: Int) -> [String] { (0..<n).map { String(format: "acct-%05d", $0) } }

    func testAccountKeysAreDeterministicDistinctAndNeedASecret() throws {
        let a = try AccountKeys.key(secret: Self.secret, account: "alice")
        XCTAssertEqual(a, try AccountKeys.key(secret: Self.secret, account: "alice"))
        XCTAssertNotEqual(a, try AccountKeys.key(secret: Self.secret, account: "bob"))
        XCTAssertNotEqual(a, try AccountKeys.key(secret: "other-secret", account: "alice"))
        XCTAssertNotEqual(
            try AccountKeys.key(secret: "ab", account: "c"), try AccountKeys.key(secret: "a", account: "bc"))
        let keys = Set(try Self.accounts(2000).map { try AccountKeys.key(secret: Self.secret, account: $0) })
        XCTAssertEqual(keys.count, 2000)
        XCTAssertThrowsError(try AccountKeys.key(secret: "", account: "alice"))
        XCTAssertThrowsError(try AccountKeys.key(secret: Self.secret, account: ""))
    }

    func testCorrectionsMatchHandComputedValues() {
        let p = [0.01, 0.04, 0.03, 0.5]
        let bonf = MultipleTesting.bonferroni(p), bh = MultipleTesting.benjaminiHochberg(p)
        for (x, y) in zip(bonf, [0.04, 0.16, 0.12, 1.0]) { XCTAssertEqual(x, y, accuracy: 1e-12) }
        // Sorted 0.01, 0.03, 0.04, 0.5 → 4p/rank 0.04, 0.06, 0.0533, 0.5 → running min from the top.
        for (x, y) in zip(bh, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]) { XCTAssertEqual(x, y, accuracy: 1e-12) }
    }

    /// Per-account keys cost an honest user what one global key costs: the served distribution's KL and TV
    /// from the unwatermarked teacher, averaged over every context of a V = 128 bigram teacher (δ = 2, γ = 0.25).
    func testPerAccountKeysCostTheSameAsOneGlobalKey() throws {
        let V = 128, teacher = Bigram(V: V, scale: 2, seed: 3)
        func cost(_ key: UInt64) throws -> (kl: Double, tv: Double) {
            let w = try KGWWatermark(gamma: 0.25, delta: 2, key: key, vocabularySize: V)
            var kl = 0.0, tv = 0.0
            for prev in 0..<V {
                let p = teacher.distribution(prev: Int32(prev), watermark: nil),
                    q = teacher.distribution(prev: Int32(prev), watermark: w)
                kl += zip(q, p).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * log($1.0 / $1.1) : 0) }
                tv += 0.5 * zip(q, p).reduce(0) { $0 + abs($1.0 - $1.1) }
            }
            return (kl / Double(V), tv / Double(V))
        }
        let global = try cost(0xC0FFEE)
        let perAccount = try Self.accounts(50).map { try cost(AccountKeys.key(secret: Self.secret, account: $0)) }
        let kl = perAccount.map(\.kl), tv = perAccount.map(\.tv)
        let meanKL = kl.reduce(0, +) / 50, meanTV = tv.reduce(0, +) / 50
        let sdKL = (kl.map { ($0 - meanKL) * ($0 - meanKL) }.reduce(0, +) / 49).squareRoot()
        print(
            "honest cost: global key KL \(global.kl) TV \(global.tv); 50 account keys KL \(meanKL) ± \(sdKL) TV \(meanTV), range KL \(kl.min()!)…\(kl.max()!)"
        )
        // The cost is a property of (γ, δ, teacher), not of the key: within noise of the 50-key spread.
        XCTAssertLessThan(abs(global.kl - meanKL), 3 * sdKL + 1e-9)
        XCTAssertEqual(global.tv, meanTV, accuracy: 0.1 * meanTV)
        XCTAssertLessThan(sdKL / meanKL, 0.1)
    }

    /// No suspect depends on any key: over 20 independent clean suspects (each its own random-bigram teacher
    /// and seed, 300 tokens, V = 256) and 1,000 account keys each, the share of suspects with at least one
    /// accusation must stay within the binomial bound of the nominal α = 0.05 (P(Bin(20, 0.05) ≥ 4) ≈ 0.016).
    func testFamilyWiseFalseAccusationRateOnCleanSuspects() throws {
        let V = 256, accounts = Self.accounts(1000)
        let template = try KGWWatermark(gamma: 0.25, delta: 2, key: 0, vocabularySize: V)
        var bonferroniEvents = 0, bhEvents = 0, rawRejections = 0, tests = 0
        for s in 0..<20 {
            let text = Bigram(V: V, scale: 2, seed: 1000 + UInt64(s)).sample(
                length: 300, watermark: nil, seed: 77 + UInt64(s))
            let report = try Provenance.trace(
                texts: [text], accounts: accounts, secret: Self.secret, watermark: template)
            XCTAssertEqual(report.correction, .bonferroni)
            XCTAssertEqual(report.rows.count, 1000)
            if report.rows.contains(where: { $0.bonferroni <= 0.05 }) { bonferroniEvents += 1 }
            if report.rows.contains(where: { $0.benjaminiHochberg <= 0.05 }) { bhEvents += 1 }
            rawRejections += report.rows.filter { $0.pValue <= 0.05 }.count
            tests += report.rows.count
        }
        print(
            "clean suspects: FWER Bonferroni \(bonferroniEvents)/20, BH \(bhEvents)/20, per-key raw rejections at 0.05: \(rawRejections)/\(tests)"
        )
        XCTAssertLessThanOrEqual(bonferroniEvents, 3)
        XCTAssertLessThanOrEqual(bhEvents, 3)
        // The per-key test is exact-binomial and conservative: raw rejections at most ≈ 5% (+ 4 sd of 20,000 draws).
        XCTAssertLessThanOrEqual(
            Double(rawRejections) / Double(tests), 0.05 + 4 * (0.05 * 0.95 / Double(tests)).squareRoot())
    }

    /// A student distilled from one account's watermarked text (a bigram model counted on 30,000 served
    /// tokens, then sampled) is traced to that account among 1,000, and no other account is accused.
    func testDistilledStudentNamesItsAccountOnly() throws {
        let V = 128, teacher = Bigram(V: V, scale: 2, seed: 5), accounts = Self.accounts(1000)
        let template = try KGWWatermark(gamma: 0.25, delta: 2, key: 0, vocabularySize: V)
        let proxy = accounts[417]
        let served = teacher.sample(
            length: 30_000, watermark: try AccountKeys.watermark(template, secret: Self.secret, account: proxy), seed: 9
        )
        var student = Bigram(V: V, scale: 0, seed: 0)
        var counts = [Double](repeating: 0.01, count: V * V)
        for i in 1..<served.count { counts[Int(served[i - 1]) * V + Int(served[i])] += 1 }
        for prev in 0..<V {
            let row = counts[(prev * V)..<(prev * V + V)], total = row.reduce(0, +)
            for v in 0..<V { student.logits[prev * V + v] = Float(log(row[prev * V + v] / total)) }
        }
        let suspect = student.sample(length: 400, watermark: nil, seed: 11)
        let report = try Provenance.trace(
            texts: [suspect], accounts: accounts, secret: Self.secret, watermark: template)
        print(
            "distilled student: top \(report.rows[0].account) p \(report.rows[0].pValue) bonferroni \(report.rows[0].bonferroni); next p \(report.rows[1].pValue)"
        )
        XCTAssertEqual(report.rows[0].account, proxy)
        XCTAssertEqual(report.accused, [proxy])
        let bh = try Provenance.trace(
            texts: [suspect], accounts: accounts, secret: Self.secret, watermark: template,
            correction: .benjaminiHochberg)
        XCTAssertEqual(bh.accused, [proxy])
        XCTAssertThrowsError(
            try Provenance.trace(texts: [suspect], accounts: [proxy, proxy], secret: Self.secret, watermark: template))
        XCTAssertThrowsError(
            try Provenance.trace(
                texts: [suspect], accounts: [proxy], secret: Self.secret, watermark: template, alpha: 0))
    }
}
