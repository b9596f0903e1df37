// FastMath: vectorised exp and tanh for the element-wise kernels (softmax, GELU).
// Accurate to a few float ulps over the range the model uses; not a general libm replacement.

public typealias Float16x = SIMD16<Float>

/// e^x for 16 lanes: range reduction x = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial on r,
/// then scaling by 2^n through the exponent bits. Inputs below -87 give 0; above 88 give +inf.
@inlinable @inline(__always)
public func simdExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let clamped = x.clamped(lowerBound: SIMD16(repeating: -87.3), upperBound: SIMD16(repeating: 88.7))
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    // r = x - n·ln2 in two parts for accuracy (Cody–Waite).
    var r = clamped - n * 0.693_145_751_953_125
    r = r - n * 1.428_606_765_330_187_045e-6
    // exp(r) ≈ 1 + r + r²/2 + ... + r⁶/720 (Horner).
    var p = SIMD16<Float>(repeating: 1.0 / 720.0)
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let bits = (SIMD16<Int32>(truncatingIfNeeded: SIMD16<Int32>(n)) &+ 127) &<< 23
    let scale = unsafeBitCast(bits, to: SIMD16<Float>.self)
    var result = p * scale
    result.replace(with: 0, where: x .< -87.3)
    result.replace(with: Float.infinity, where: x .> 88.7)
    return result
}

/// tanh for 16 lanes via 1 - 2/(e^{2x}+1), exact limits at ±9.
@inlinable @inline(__always)
public func simdTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let c = x.clamped(lowerBound: SIMD16(repeating: -9), upperBound: SIMD16(repeating: 9))
    let e = simdExp(c + c)
    return 1 - 2 / (e + 1)
}

/// Scalar e^x with the same polynomial as `simdExp` (for tails shorter than 16).
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    simdExp(SIMD16(repeating: x))[0]
}
