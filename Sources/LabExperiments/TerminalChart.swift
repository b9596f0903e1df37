// TerminalChart: an experiment's plots drawn in monospace text for a terminal or a projector — horizontal bars
// with mean ± std for bar plots, a character grid with one marker per series (log x when the plot asks) for
// line plots. Same PlotData as the SVG files. Not a substitute for them: a glance, not a figure.
import Foundation

public enum TerminalChart {
    static let markers: [Character] = ["●", "■", "▲", "◆", "○", "□", "△", "◇"]

    static func render(_ data: PlotData, width: Int = 64, height: Int = 16) -> String {
        data.type == .bar ? bars(data, width: width) : lines(data, width: width, height: height)
    }

    static func bars(_ data: PlotData, width: Int) -> String {
        var out = [data.title, String(repeating: "─", count: min(78, max(data.title.count, 20)))]
        let rows: [(String, PlotPoint)] = data.series.flatMap { s in
            s.points.map { p in ((data.showLegend ? "\(s.label) · " : "") + p.category, p) }
        }
        guard !rows.isEmpty else { return (out + ["(no data)"]).joined(separator: "\n") + "\n" }
        let labelWidth = min(28, rows.map(\.0.count).max() ?? 0)
        let top = rows.map { abs($0.1.y) }.max() ?? 1
        let barWidth = max(10, width - labelWidth - 20)
        for (label, p) in rows {
            let n = top > 0 ? Int((abs(p.y) / top * Double(barWidth)).rounded()) : 0
            let name =
                label.count > labelWidth
                ? String(label.prefix(labelWidth - 1)) + "…"
                : label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            let value = Stats.from(mean: p.y, std: p.yStd).formatted(digits: 3)
            out.append(
                "\(name) \(p.y < 0 ? "-" : "")\(String(repeating: "█", count: n))\(String(repeating: " ", count: barWidth - n)) \(value)"
            )
        }
        out.append("\(data.yLabel); \(data.note)")
        return out.joined(separator: "\n") + "\n"
    }

    static func lines(_ data: PlotData, width: Int, height: Int) -> String {
        let points = data.series.flatMap(\.points).filter {
            $0.x.isFinite && $0.y.isFinite && (data.xScale != .log || $0.x > 0)
        }
        var out = [data.title, String(repeating: "─", count: min(78, max(data.title.count, 20)))]
        guard let xMin = points.map(\.x).min(), let xMax = points.map(\.x).max(), let yMin = points.map(\.y).min(),
            let yMax = points.map(\.y).max()
        else {
            return (out + ["(no data)"]).joined(separator: "\n") + "\n"
        }
        let logX = data.xScale == .log
        func fx(_ x: Double) -> Int {
            let (a, b, v) = logX ? (log10(xMin), log10(xMax), log10(x)) : (xMin, xMax, x)
            return b > a ? Int(((v - a) / (b - a) * Double(width - 1)).rounded()) : width / 2
        }
        func fy(_ y: Double) -> Int {
            yMax > yMin ? Int(((y - yMin) / (yMax - yMin) * Double(height - 1)).rounded()) : height / 2
        }
        var grid = Array(repeating: Array(repeating: Character(" "), count: width), count: height)
        var overlaps = false
        for (s, series) in data.series.enumerated() {
            let marker = markers[s % markers.count]
            let kept = series.points.filter { points.contains($0) }
            // Dots between consecutive points, then the markers on top.
            for (a, b) in zip(kept, kept.dropFirst()) {
                let (x0, y0, x1, y1) = (fx(a.x), fy(a.y), fx(b.x), fy(b.y))
                let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
                for i in 1..<steps {
                    let x = x0 + (x1 - x0) * i / steps, y = y0 + (y1 - y0) * i / steps
                    if grid[height - 1 - y][x] == " " { grid[height - 1 - y][x] = "·" }
                }
            }
            for p in kept {
                let cell = grid[height - 1 - fy(p.y)][fx(p.x)]
                // Where series meet, '+' says so rather than letting the last one hide the others.
                grid[height - 1 - fy(p.y)][fx(p.x)] =
                    markers.contains(cell) && cell != marker || cell == "+" ? "+" : marker
                if grid[height - 1 - fy(p.y)][fx(p.x)] == "+" { overlaps = true }
            }
        }
        let yLabels = [NumberFormat.tick(yMax), NumberFormat.tick((yMin + yMax) / 2), NumberFormat.tick(yMin)]
        let pad = yLabels.map(\.count).max() ?? 0
        for (i, row) in grid.enumerated() {
            let label = i == 0 ? yLabels[0] : i == height / 2 ? yLabels[1] : i == height - 1 ? yLabels[2] : ""
            out.append(label.padding(toLength: pad, withPad: " ", startingAt: 0).reversedPad(pad) + " │" + String(row))
        }
        out.append(String(repeating: " ", count: pad) + " └" + String(repeating: "─", count: width))
        let left = NumberFormat.tick(xMin), right = NumberFormat.tick(xMax)
        out.append(
            String(repeating: " ", count: pad + 2) + left
                + String(repeating: " ", count: max(1, width - left.count - right.count)) + right)
        out.append(
            String(repeating: " ", count: pad + 2) + "\(data.xLabel)\(logX ? " (log scale)" : "")  ↑ \(data.yLabel)")
        if data.showLegend || data.series.count > 1 {
            out.append(
                String(repeating: " ", count: pad + 2)
                    + data.series.enumerated().map { "\(markers[$0.offset % markers.count]) \($0.element.label)" }
                    .joined(separator: "   ")
                    + (overlaps ? "   + several" : ""))
        }
        return out.joined(separator: "\n") + "\n"
    }
}

extension Stats {
    /// A Stats that prints as `mean ± std` (std 0 prints the mean alone).
    static func from(mean: Double, std: Double) -> Stats {
        var s = Stats([mean])
        if std > 0 {
            s.n = 2
            s.std = std
        }
        return s
    }
}

extension String {
    /// Right-aligns within `width` (for y tick labels).
    func reversedPad(_ width: Int) -> String {
        let trimmed = trimmingCharacters(in: .whitespaces)
        return String(repeating: " ", count: max(0, width - trimmed.count)) + trimmed
    }
}
