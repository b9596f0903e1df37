// CurveReading: numbers read off a cost–metric curve by interpolation between its points — the cost at which
// a level is first reached, and a metric at a given cost — for the derived tables (`queries_to_reach`,
// `at_cost`). Interpolation is linear in log(cost) (budgets grow geometrically), and in log(value) for a
// `<=` level. Not extrapolation: outside the points it says so.
import Foundation

/// Where a curve first reaches a level.
enum Crossing: Equatable {
    /// Between two points, at this cost.
    case at(Double)
    /// Already at the first point, whose cost this is.
    case first(Double)
    /// Not by the last point, whose cost this is.
    case never(Double)

    var cost: Double {
        switch self {
        case let .at(q), let .first(q), let .never(q): return q
        }
    }
}

enum CurveReading {
    /// The first crossing of `level` along `curve` (points by increasing cost; a later dip does not count).
    /// Nil for an empty curve.
    static func crossing(_ curve: [(cost: Double, value: Double)], _ level: CurveLevel) -> Crossing? {
        guard let last = curve.last else { return nil }
        for (i, point) in curve.enumerated() where level.reached(by: point.value) {
            if i == 0 { return .first(point.cost) }
            let previous = curve[i - 1]
            var (v0, v1, target) = (previous.value, point.value, level.value)
            if !level.atLeast {
                (v0, v1, target) = (log(v0), log(v1), log(target))
            }
            let t = v1 != v0 ? (v0 - target) / (v0 - v1) : 1
            return .at(exp(log(previous.cost) + t * (log(point.cost) - log(previous.cost))))
        }
        return .never(last.cost)
    }

    /// The value at `cost`, linear in log(cost) between the bracketing points; nil outside the curve.
    static func value(at cost: Double, on curve: [(cost: Double, value: Double)]) -> Double? {
        guard let first = curve.first, let last = curve.last, cost >= first.cost, cost <= last.cost else {
            return nil
        }
        for i in curve.indices.dropFirst() where curve[i].cost >= cost {
            let (a, b) = (curve[i - 1], curve[i])
            if b.cost == a.cost { return b.value }
            let t = (log(cost) - log(a.cost)) / (log(b.cost) - log(a.cost))
            return a.value + t * (b.value - a.value)
        }
        return first.value
    }
}
