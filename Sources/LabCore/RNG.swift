// RNG: the seeded random source every random choice in the lab draws from.
// xoshiro256** seeded through SplitMix64; not cryptographic, and never seeded from the clock.

/// A deterministic 64-bit generator (xoshiro256**). Same seed, same stream, on every machine.
public struct LabRNG: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x)
        s1 = splitmix(&x)
        s2 = splitmix(&x)
        s3 = splitmix(&x)
    }

    /// A generator for a named sub-stream, so that adding a consumer does not shift the others.
    public init(seed: UInt64, stream: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in stream.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        self.init(seed: seed ^ h)
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 bits (Float) precision.
    @inlinable
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 bits precision.
    @inlinable
    public mutating func uniform() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform integer in 0..<n.
    @inlinable
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs n > 0")
        return Int(truncatingIfNeeded: next() % UInt64(n))
    }

    /// Standard normal (Box–Muller; one value per call, deterministic).
    @inlinable
    public mutating func normal() -> Double {
        var u1 = uniform()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = uniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// Index drawn from unnormalised non-negative weights.
    public mutating func categorical<C: Collection>(_ weights: C) -> Int where C.Element == Double, C.Index == Int {
        var total = 0.0
        for w in weights { total += w }
        precondition(total > 0, "categorical: weights sum to zero")
        var r = uniform() * total
        for i in weights.indices {
            r -= weights[i]
            if r < 0 { return i }
        }
        return weights.count - 1
    }
}

#if canImport(Glibc)
    import Glibc
    @usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
    @usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
    import Darwin
    @usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
    @usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
