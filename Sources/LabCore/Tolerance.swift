// Tolerance: explicit absolute-plus-relative float comparison, the only way floats are compared.

/// `|a - b| <= atol + rtol * |b|`.
@inlinable
public func isClose(_ a: Double, _ b: Double, atol: Double, rtol: Double) -> Bool {
    if a.isNaN || b.isNaN { return false }
    return abs(a - b) <= atol + rtol * abs(b)
}

/// The largest `|a - b| / (atol + rtol * |b|)` over two arrays; <= 1 means every entry is close.
public func maxToleranceRatio<A: Collection, B: Collection>(_ a: A, _ b: B, atol: Double, rtol: Double) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    precondition(a.count == b.count, "maxToleranceRatio: \(a.count) vs \(b.count) entries")
    var worst = 0.0
    for (x, y) in zip(a, b) {
        let xd = Double(x), yd = Double(y)
        if xd.isNaN || yd.isNaN { return .infinity }
        worst = max(worst, abs(xd - yd) / (atol + rtol * abs(yd)))
    }
    return worst
}
