import Foundation
import XCTest

@testable import LabCore

final class FastMathTests: XCTestCase {
    /// The vector square root gives the scalar one's bits on every lane: zeros of both signs, subnormals,
    /// infinity, NaN for negatives, and a spread of normal values.
    func testSquareRootEqualsTheScalarOneBitForBit() {
        var values: [Float] = [
            0, -0, .leastNonzeroMagnitude, .leastNormalMagnitude, 1e-38, 1, 2, 3, .greatestFiniteMagnitude,
            .infinity, -1, -.infinity, .nan,
        ]
        var rng = LabRNG(seed: 3)
        while values.count < 16 * 4096 {
            let exponent = Float(rng.uniform() * 80 - 40)
            values.append(Float(rng.uniform()) * Float.pow10(exponent))
        }
        var mismatches = 0
        var i = 0
        while i + 16 <= values.count {
            var v = SIMD16<Float>()
            for lane in 0..<16 { v[lane] = values[i + lane] }
            let r = simdSquareRoot(v)
            for lane in 0..<16 {
                let expected = values[i + lane].squareRoot()
                let same = expected.isNaN ? r[lane].isNaN : r[lane].bitPattern == expected.bitPattern
                if !same { mismatches += 1 }
            }
            i += 16
        }
        XCTAssertEqual(mismatches, 0)
    }
}

extension Float {
    fileprivate static func pow10(_ e: Float) -> Float { Float(Foundation.pow(10.0, Double(e))) }
}
