// FastMath: vectorised exp and tanh for the element-wise kernels (softmax, GELU).
// Accurate to a few float ulps over the range the model uses; not a general libm replacement.
import CVector

/// m ? a : b lane by lane. The stdlib's `replacing(with:where:)` inlines here to vector blends; an
/// earlier version through integer bit casts and masks measured 2–4× slower in the GELU kernel.
@inlinable @inline(__always)
public func simdSelect(_ m: SIMDMask<SIMD16<Int32>>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    b.replacing(with: a, where: m)
}

/// √x lane by lane, correctly rounded: the same bits as `x.squareRoot()`, which calls sqrtf once per
/// lane, in one vector instruction per four lanes.
@inlinable @inline(__always)
public func simdSquareRoot(_ x: SIMD16<Float>) -> SIMD16<Float> {
    lab_sqrt16(x)
}

/// Lane-wise max(x, lo) and min(x, hi).
@inlinable @inline(__always)
public func simdClamp(_ x: SIMD16<Float>, _ lo: Float, _ hi: Float) -> SIMD16<Float> {
    let l = SIMD16<Float>(repeating: lo), h = SIMD16<Float>(repeating: hi)
    let y = simdSelect(x .< l, l, x)
    return simdSelect(y .> h, h, y)
}

/// e^x for 16 lanes: range reduction x = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial on r,
/// then scaling by 2^n through the exponent bits. Inputs below -87 give 0; above 88 give +inf.
@inlinable @inline(__always)
public func simdExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let result = simdExpCore(simdClamp(x, -87.3, 88.7))
    // Underflow to 0 below the clamp; above it e^x overflows to +inf.
    return simdSelect(
        x .< SIMD16(repeating: -87.3), SIMD16(),
        simdSelect(x .> SIMD16(repeating: 88.7), SIMD16(repeating: .infinity), result))
}

/// e^x for inputs already inside [-87.3, 88.7] (the caller clamps): `simdExp` without its clamp and
/// its out-of-range selects, bit for bit the same inside the range.
@inlinable @inline(__always)
public func simdExpCore(_ clamped: SIMD16<Float>) -> SIMD16<Float> {
    // Round x·log2(e) to an integer with the 1.5·2²³ trick: the sum's low mantissa bits hold n,
    // so the integer is read by a bit cast instead of a (slow, generic) float-to-int conversion.
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let shifted: SIMD16<Float> = clamped * 1.442_695_04 + magic
    let n: SIMD16<Float> = shifted - magic
    let ni: SIMD16<Int32> = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
    // r = x - n·ln2 in two parts for accuracy (Cody–Waite).
    var r: SIMD16<Float> = clamped - n * 0.693_145_751_953_125
    r = r - n * 1.428_606_765_330_187_045e-6
    // exp(r) ≈ 1 + r + r²/2 + ... + r⁶/720 (Horner).
    var p = SIMD16<Float>(repeating: 1.0 / 720.0)
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let bits: SIMD16<Int32> = (ni &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD16<Float>.self)
}

/// tanh for 16 lanes via 1 - 2/(e^{2x}+1), exact limits at ±9.
@inlinable @inline(__always)
public func simdTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let c = simdClamp(x, -9, 9)
    let e = simdExpCore(c + c)  // 2c lies in [-18, 18]: no range checks needed
    return 1 - 2 / (e + 1)
}
