// Shapiro–Wilk tests: W and p against scipy.stats.shapiro on fixed samples (values hard-coded below with
// their provenance), the coefficients' normalisation, the inverse normal against Φ, and typed errors.
// Not a test of PRADA: that is DetectorPRADATests.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabCampaigns
@testable import LabDefences

final class ShapiroWilkTests: XCTestCase {
    /// Computed once with scipy 1.17.1 / numpy 2.4.6 (`scipy.stats.shapiro(x)`, the same AS R94 algorithm)
    /// on this machine, and pasted here: (name, sample, W, p). scipy takes the Blom scores from a 7-digit
    /// normal quantile (AS 241's PPND7), so its W differs from a double-precision one by up to ~5e-10 and
    /// its p by a few parts in 10⁶; the tolerances below are those, and `testMatchesDoublePrecisionReference`
    /// pins W tighter against the same formula evaluated with scipy.special.ndtri.
    static let scipyExplicit: [(String, [Double], Double, Double)] = [
        ("n3", [1.0, 2.0, 4.0], 0.9642857142857142, 0.6368868450289689),
        ("n5", [2.1, 3.4, 1.9, 5.6, 4.4], 0.9320849391953863, 0.6106559022604845),
        ("n8", [0.5, 1.5, 0.2, 3.3, 2.2, 1.1, 0.9, 7.0], 0.8006572881370961, 0.02909293798799308),
        (
            "normal20",
            [
                -1.4238, 1.2637, -0.8707, -0.2592, -0.0753, -0.7409, -1.3678, 0.6489, 0.3611, -1.9529, 2.3474, 0.9685,
                -0.7594, 0.9022, -0.467, -0.0607, 0.7888, -1.2567, 0.5759, 1.399,
            ], 0.9796561493782207, 0.9295839001200612
        ),
        (
            "exp30",
            [
                0.0405, 0.2197, 0.9933, 0.7426, 0.3721, 0.8098, 0.5035, 0.3346, 0.3136, 0.3492, 0.1624, 1.6988, 2.3718,
                3.1929,
                1.2813, 1.6718, 1.0882, 2.1467, 0.7026, 0.0888, 0.434, 2.3997, 1.0875, 3.26, 0.5799, 0.502, 0.5083,
                0.4023,
                0.0094, 0.7866,
            ], 0.8411586243681137, 0.000407100839089879
        ),
    ]

    /// Samples defined by formulas (so large n fits in the file), same provenance as above:
    ///   irwin(i) = ((7919 i mod 1009) + (104729 i mod 1013) + (15485863 i mod 1019)) / 1000   (nearly normal)
    ///   expo(i)  = −log((7919 i mod 1009 + 1) / 1010)                                           (exponential-like)
    ///   unif(i)  = (7919 i mod 1009) / 1009                                                      (uniform-like)
    static let scipyFormulas: [(String, Int, Double, Double)] = [
        ("irwin", 12, 0.9547306440993373, 0.7068039390839267),
        ("irwin", 100, 0.9935139781499949, 0.9170415535435589),
        ("irwin", 1000, 0.9971673422771236, 0.07535888886457039),
        ("irwin", 5000, 0.9975441191745555, 3.2978334473936536e-07),
        ("expo", 12, 0.6199270775602137, 0.00015807297056121556),
        ("expo", 200, 0.8084463318372024, 6.104074229792412e-15),
        ("expo", 5000, 0.8242484382270665, 3.5843432008745033e-59),
        ("unif", 12, 0.9724288454027806, 0.9345073558956069),
        ("unif", 200, 0.9535013687650307, 4.166857311844538e-06),
        ("unif", 1000, 0.954846876865679, 5.4835676293919606e-17),
    ]

    static func sample(_ name: String, _ n: Int) -> [Double] {
        (0..<n).map { i -> Double in
            let a: Int = (i * 7919) % 1009
            switch name {
            case "irwin":
                let b: Int = (i * 104729) % 1013, c: Int = (i * 15485863) % 1019
                return Double(a + b + c) / 1000
            case "expo": return -log(Double(a + 1) / 1010)
            default: return Double(a) / 1009
            }
        }
    }

    func check(_ label: String, _ x: [Double], w: Double, p: Double) throws {
        let got = try ShapiroWilk.test(x)
        // p is a normal tail of log(1 − W), so scipy's W error of ~5e-10 moves it by up to a few parts in 10⁶
        // (more where 1 − W is small: n = 1000 near-normal data).
        XCTAssert(isClose(got.w, w, atol: 2e-9, rtol: 0), "\(label): W \(got.w) vs scipy \(w)")
        XCTAssert(isClose(got.p, p, atol: 1e-12, rtol: 1e-4), "\(label): p \(got.p) vs scipy \(p)")
    }

    func testMatchesScipyOnExplicitSamples() throws {
        for (name, x, w, p) in Self.scipyExplicit { try check(name, x, w: w, p: p) }
    }

    func testMatchesScipyOnFormulaSamples() throws {
        for (name, n, w, p) in Self.scipyFormulas { try check("\(name)\(n)", Self.sample(name, n), w: w, p: p) }
    }

    /// The AS R94 coefficients rebuilt in numpy with scipy.special.ndtri (double-precision Blom scores) and
    /// W = (aᵀx₍ₛₒᵣₜₑd₎)² / Σ(x − x̄)², computed once on this machine (script in the commit message).
    func testMatchesDoublePrecisionReference() throws {
        XCTAssertEqual(try ShapiroWilk.test([2.1, 3.4, 1.9, 5.6, 4.4]).w, 0.9320849396015234, accuracy: 1e-14)
        XCTAssertEqual(try ShapiroWilk.test(Self.sample("unif", 200)).w, 0.953501368327203, accuracy: 1e-13)
    }

    func testCoefficientsAreUnitNormAndDecreasing() {
        for n in [3, 4, 5, 6, 7, 11, 12, 101, 1000] {
            let a = ShapiroWilk.coefficients(count: n)
            XCTAssertEqual(a.count, n / 2)
            XCTAssert(isClose(2 * a.reduce(0) { $0 + $1 * $1 }, 1, atol: 1e-12, rtol: 0), "n = \(n)")
            XCTAssert(zip(a, a.dropFirst()).allSatisfy { $0 > $1 }, "n = \(n): not decreasing")
        }
    }

    func testNormalQuantileInvertsTheCDF() {
        for p in [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999999] {
            let x = ShapiroWilk.normalQuantile(p)
            XCTAssert(isClose(1 - ShapiroWilk.normalUpperTail(x), p, atol: 1e-15, rtol: 1e-12), "p = \(p)")
        }
        XCTAssert(isClose(ShapiroWilk.normalQuantile(0.975), 1.959963984540054, atol: 1e-13, rtol: 0))
    }

    func testOrderDoesNotMatterAndBadSizesThrow() throws {
        let x = Self.sample("irwin", 50)
        let a = try ShapiroWilk.test(x), b = try ShapiroWilk.test(x.reversed())
        XCTAssertEqual(a.w, b.w, accuracy: 1e-15)
        XCTAssertThrowsError(try ShapiroWilk.test([1, 2]))
        XCTAssertThrowsError(try ShapiroWilk.test([Double](repeating: 3, count: 10)))
        XCTAssertThrowsError(try ShapiroWilk.test(Self.sample("irwin", 5001)))
    }
}
