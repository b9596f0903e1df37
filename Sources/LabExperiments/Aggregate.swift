// Aggregate: cells grouped by their labels and a value summarised as mean ± sample standard deviation — the
// numbers every table and plot shows — and their formatting with a fixed number of significant digits.
// Not rendering: the table and plot writers lay these out.
import Foundation

/// Mean, sample standard deviation (n − 1 denominator; 0 for one value) and count of the non-null values.
public struct Stats: Equatable, Sendable {
    public var mean: Double?
    public var std: Double?
    public var n: Int

    public init(_ values: [Double]) {
        n = values.count
        guard !values.isEmpty else { mean = nil; std = nil; return }
        let m = values.reduce(0, +) / Double(values.count)
        mean = m
        std = values.count > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
    }

    /// "1.234 ± 0.056" (n > 1), "1.234" (n = 1), "—" (no values).
    public func formatted(digits: Int) -> String {
        guard let mean else { return "—" }
        let m = NumberFormat.significant(mean, digits: digits)
        guard n > 1, let std else { return m }
        return "\(m) ± \(NumberFormat.significant(std, digits: 2))"
    }
}

enum NumberFormat {
    /// `x` to `digits` significant digits without exponent for ordinary magnitudes; integers exactly; very
    /// large or small magnitudes in scientific notation.
    static func significant(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        // Below 1e-12 is rounding noise of a quantity that is zero (KL of a distribution to itself).
        if abs(x) < 1e-12 { return "0" }
        let magnitude = abs(x)
        if x == x.rounded(), magnitude < 1e15, magnitude >= pow(10, Double(digits - 1)) { return String(Int64(x)) }
        if magnitude >= 1e6 || magnitude < 1e-4 { return String(format: "%.\(max(0, digits - 1))e", x) }
        let decimals = max(0, digits - 1 - Int(floor(log10(magnitude))))
        return String(format: "%.\(decimals)f", x)
    }

    /// Short form for tick labels: up to 3 significant digits.
    static func tick(_ x: Double) -> String {
        if x == 0 { return "0" }
        let magnitude = abs(x)
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.2g", x) }
        var s = String(format: "%.3g", x)
        if s.contains("e") { s = String(format: "%.3f", x) }
        return s
    }
}

/// The cells of an experiment with their records, for grouping.
struct ResultSet {
    let experiment: Experiment
    let records: [CellRecord]

    func axisIndex(_ name: String) -> Int? { experiment.axes.firstIndex { $0.name == name } }

    /// Cells whose labels match every (axis, label) in `fixed`.
    func cells(matching fixed: [String: String]) -> [(PlannedCell, CellRecord)] {
        zip(experiment.cells, records).filter { cell, _ in
            fixed.allSatisfy { name, label in axisIndex(name).map { cell.labels[$0] == label } ?? false }
        }
    }

    func values(_ output: String, of cells: [(PlannedCell, CellRecord)]) -> [Double] {
        cells.compactMap { $0.1.result.value(output) }
    }

    /// The labels of `axis` that occur among cells matching `fixed`, in axis order.
    func labels(of axis: String, matching fixed: [String: String]) -> [String] {
        guard let i = axisIndex(axis) else { return [] }
        let present = Set(cells(matching: fixed).map { $0.0.labels[i] })
        return experiment.axes[i].labels.filter(present.contains)
    }
}
