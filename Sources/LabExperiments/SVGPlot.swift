// SVGPlot: a small SVG writer for the lab's plots — lines with markers and ±1 std error bars, or grouped bars —
// with a log or linear axis, decade ticks, labelled axes and a legend. Series differ in colour (Okabe–Ito,
// safe for colour-blind readers), marker shape and dash pattern, so they stay apart when printed in grey.
// Not a general plotting library: one plot per file, no interactivity, fonts left to the viewer.
import Foundation

enum SVGPlot {
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]
    static let dashes = ["", "8 4", "3 3", "10 3 3 3", "1 3", "12 6"]

    struct Scale {
        var min: Double
        var max: Double
        var log: Bool
        var from: Double
        var to: Double

        func map(_ v: Double) -> Double {
            let (a, b, x) = log ? (log10(min), log10(max), log10(v)) : (min, max, v)
            return b == a ? (from + to) / 2 : from + (x - a) / (b - a) * (to - from)
        }
    }

    /// Tick positions and their labels. Log axes: decades, plus 2× and 5× (or every integer multiple) when
    /// the range spans few decades, labelled "1eK" or "MeK" for M×10^K (spelled with superscripts by
    /// `tickText`); linear axes: 1-2-2.5-5 steps, about five ticks.
    static func ticks(min lo: Double, max hi: Double, log: Bool) -> [(Double, String)] {
        if log {
            let a = Int(floor(log10(lo) + 1e-9)), b = Int(ceil(log10(hi) - 1e-9))
            func within(_ v: Double) -> Bool { v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) }
            for multiples in [[1.0], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]] {
                var out: [(Double, String)] = []
                for k in a...max(a, b) {
                    for m in multiples where within(m * pow(10, Double(k))) {
                        out.append((m * pow(10, Double(k)), m == 1 ? "1e\(k)" : "\(Int(m))e\(k)"))
                    }
                }
                if out.count >= 3 || multiples.count == 9 && out.count >= 2 {
                    return out.count > 12 ? out.filter { $0.1.hasPrefix("1e") } : out
                }
            }
            return ticks(min: lo, max: hi, log: false)
        }
        let span = hi - lo
        guard span > 0, span.isFinite else { return [(lo, NumberFormat.tick(lo))] }
        let rough = span / 5
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= rough } ?? rough
        var out: [(Double, String)] = []
        var v = ceil(lo / step) * step
        while v <= hi + step * 1e-9 {
            let clean = abs(v) < step * 1e-9 ? 0 : v
            out.append((clean, NumberFormat.tick(clean)))
            v += step
        }
        return out
    }

    /// Range of positive or all values, padded, for one axis.
    static func range(_ values: [Double], log: Bool, includeZero: Bool) -> (Double, Double) {
        var vs = values.filter { $0.isFinite && (!log || $0 > 0) }
        if includeZero && !log { vs.append(0) }
        guard var lo = vs.min(), var hi = vs.max() else { return log ? (1, 10) : (0, 1) }
        if log {
            if lo == hi {
                lo /= 2
                hi *= 2
            }
            let pad = pow(hi / lo, 0.05)
            return (lo / pad, hi * pad)
        }
        if lo == hi {
            lo -= max(1, abs(lo) * 0.1)
            hi += max(1, abs(hi) * 0.1)
        }
        let pad = (hi - lo) * 0.06
        return (includeZero && lo >= 0 ? lo : lo - pad, hi + pad)
    }

    static func escape(_ s: String) -> String { HTML.escape(s) }

    static func marker(_ shape: Int, x: Double, y: Double, colour: String) -> String {
        let r = 5.0
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        switch shape % 6 {
        case 0: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(colour)\"/>"
        case 1:
            return
                "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"\(colour)\"/>"
        case 2:
            return
                "<polygon points=\"\(f(x)),\(f(y - r * 1.2)) \(f(x - r * 1.1)),\(f(y + r * 0.8)) \(f(x + r * 1.1)),\(f(y + r * 0.8))\" fill=\"\(colour)\"/>"
        case 3:
            return
                "<polygon points=\"\(f(x)),\(f(y - r * 1.3)) \(f(x + r)),\(f(y)) \(f(x)),\(f(y + r * 1.3)) \(f(x - r)),\(f(y))\" fill=\"\(colour)\"/>"
        case 4:
            return
                "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"white\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
        default:
            return
                "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"white\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
        }
    }

    /// A tick label: "1e3" is written 10 with a superscript 3, "2e3" as 2×10 with a superscript 3.
    static func tickText(_ label: String, x: Double, y: Double, anchor: String) -> String {
        let pos = String(format: "x=\"%.1f\" y=\"%.1f\"", x, y)
        let parts = label.split(separator: "e", maxSplits: 1)
        if parts.count == 2, let m = Int(parts[0]), let k = Int(parts[1]) {
            let mantissa = m == 1 ? "" : "\(m)×"
            return
                "<text \(pos) text-anchor=\"\(anchor)\" class=\"tick\">\(mantissa)10<tspan dy=\"-7\" font-size=\"10\">\(k)</tspan></text>"
        }
        return "<text \(pos) text-anchor=\"\(anchor)\" class=\"tick\">\(escape(label))</text>"
    }

    static func render(_ data: PlotData) -> String {
        let isBar = data.type == .bar
        // Bar plots need room below the axis for their slanted category labels.
        let width = 760.0, height = isBar ? 500.0 : 470.0
        let legend = data.showLegend
        // The legend takes the width its longest label needs (labels are cut at 25 characters).
        let legendWidth = 46 + 7.4 * Double(data.series.map { min(25, $0.label.count) }.max() ?? 0)
        let left = 88.0, top = 48.0, bottom = height - (isBar ? 110 : 70),
            right = width - (legend ? legendWidth + 34 : 30)
        let xLog = !isBar && data.xScale == .log, yLog = data.yScale == .log
        var omitted = 0
        var drawn: [PlotSeries] = data.series.map { s in
            var t = s
            t.points = s.points.filter { (!xLog || $0.x > 0) && (!yLog || $0.y > 0) && $0.x.isFinite && $0.y.isFinite }
            omitted += s.points.count - t.points.count
            return t
        }
        drawn = drawn.filter { !$0.points.isEmpty || isBar }
        let allPoints = drawn.flatMap(\.points)
        let (x0, x1) =
            isBar
            ? (-0.5, Double(max(1, data.categories.count)) - 0.5)
            : range(allPoints.map(\.x), log: xLog, includeZero: false)
        let (y0, y1) = range(allPoints.flatMap { [$0.y - $0.yStd, $0.y + $0.yStd] }, log: yLog, includeZero: isBar)
        let xs = Scale(min: x0, max: x1, log: xLog, from: left, to: right)
        let ys = Scale(min: y0, max: y1, log: yLog, from: bottom, to: top)

        var svg = [String]()
        svg.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\">"
        )
        svg.append(
            "<style>.tick{font-size:13px;fill:#222}.label{font-size:15px;fill:#000}.title{font-size:17px;font-weight:bold;fill:#000}.legend{font-size:13px;fill:#000}</style>"
        )
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        svg.append(
            "<text x=\"\(Int((left + right) / 2))\" y=\"28\" text-anchor=\"middle\" class=\"title\">\(escape(data.title))</text>"
        )
        // Grid lines and ticks.
        for (v, label) in ticks(min: y0, max: y1, log: yLog) {
            let y = ys.map(v)
            svg.append(
                String(
                    format:
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\" stroke-width=\"1\"/>",
                    left, y, right, y))
            svg.append(tickText(label, x: left - 8, y: y + 4, anchor: "end"))
        }
        if isBar {
            for (i, c) in data.categories.enumerated() {
                let x = xs.map(Double(i))
                let short = c.count > 18 ? String(c.prefix(16)) + "…" : c
                svg.append(
                    String(
                        format:
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\" transform=\"rotate(-30 %.1f %.1f)\">%@</text>",
                        x, bottom + 18, x, bottom + 18, escape(short) as NSString))
            }
        } else {
            for (v, label) in ticks(min: x0, max: x1, log: xLog) {
                let x = xs.map(v)
                svg.append(
                    String(
                        format:
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\" stroke-width=\"1\"/>",
                        x, top, x, bottom))
                svg.append(tickText(label, x: x, y: bottom + 20, anchor: "middle"))
            }
        }
        svg.append(
            String(
                format:
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.2\"/>",
                left, top, right - left, bottom - top))
        // Axis labels.
        let xTitle = data.xLabel + (xLog ? " — log scale" : "")
        svg.append(
            "<text x=\"\(Int((left + right) / 2))\" y=\"\(Int(height - 14))\" text-anchor=\"middle\" class=\"label\">\(escape(xTitle))</text>"
        )
        let yTitle = data.yLabel + (yLog ? " — log scale" : "")
        svg.append(
            "<text x=\"22\" y=\"\(Int((top + bottom) / 2))\" text-anchor=\"middle\" class=\"label\" transform=\"rotate(-90 22 \(Int((top + bottom) / 2)))\">\(escape(yTitle))</text>"
        )

        if allPoints.isEmpty {
            svg.append(
                "<text x=\"\(Int((left + right) / 2))\" y=\"\(Int((top + bottom) / 2))\" text-anchor=\"middle\" class=\"label\">no data to plot</text>"
            )
        }
        let groupWidth = isBar ? (xs.map(1) - xs.map(0)) * 0.8 : 0
        let barWidth = isBar ? groupWidth / Double(max(1, drawn.count)) : 0
        for (s, series) in drawn.enumerated() {
            let colour = colours[s % colours.count]
            if isBar {
                for p in series.points {
                    let x = xs.map(p.x) - groupWidth / 2 + Double(s) * barWidth
                    let y = ys.map(p.y), base = ys.map(yLog ? y0 : max(y0, 0))
                    svg.append(
                        String(
                            format:
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\" fill-opacity=\"0.85\" stroke=\"#000\" stroke-width=\"0.6\"/>",
                            x, min(y, base), barWidth * 0.92, abs(base - y), colour as NSString))
                    if p.yStd > 0 { svg.append(errorBar(x: x + barWidth * 0.46, p: p, ys: ys)) }
                }
                continue
            }
            let path = series.points.map { String(format: "%.1f,%.1f", xs.map($0.x), ys.map($0.y)) }.joined(
                separator: " ")
            let dash = dashes[s % dashes.count]
            if series.points.count > 1 {
                svg.append(
                    "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>"
                )
            }
            for p in series.points {
                if p.yStd > 0 { svg.append(errorBar(x: xs.map(p.x), p: p, ys: ys)) }
                svg.append(marker(s, x: xs.map(p.x), y: ys.map(p.y), colour: colour))
            }
        }
        if legend {
            let lx = right + 16
            svg.append(
                String(
                    format:
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"#999\"/>",
                    lx - 6, top,
                    min(width - lx - 4, legendWidth), 12 + 22 * Double(drawn.count)))
            for (s, series) in drawn.enumerated() {
                let y = top + 18 + 22 * Double(s)
                let colour = colours[s % colours.count]
                let dash = dashes[s % dashes.count]
                if isBar {
                    svg.append(
                        String(
                            format:
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"26\" height=\"12\" fill=\"%@\" fill-opacity=\"0.85\" stroke=\"#000\" stroke-width=\"0.6\"/>",
                            lx, y - 9, colour as NSString))
                } else {
                    svg.append(
                        String(
                            format:
                                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2.2\"%@/>",
                            lx, y - 3, lx + 26, y - 3, colour as NSString,
                            (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") as NSString))
                    svg.append(marker(s, x: lx + 13, y: y - 3, colour: colour))
                }
                let label = series.label.count > 24 ? String(series.label.prefix(22)) + "…" : series.label
                svg.append(
                    String(
                        format: "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">%@</text>", lx + 34, y + 1,
                        escape(label) as NSString))
            }
        }
        if omitted > 0 {
            svg.append(
                "<text x=\"\(Int(left))\" y=\"\(Int(top - 8))\" class=\"tick\">\(omitted) point(s) ≤ 0 not shown on the log axis</text>"
            )
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    static func errorBar(x: Double, p: PlotPoint, ys: Scale) -> String {
        let lo = ys.map(ys.log ? max(p.y - p.yStd, ys.min) : p.y - p.yStd), hi = ys.map(p.y + p.yStd)
        return String(
            format:
                "<path d=\"M%.1f,%.1f V%.1f M%.1f,%.1f H%.1f M%.1f,%.1f H%.1f\" stroke=\"#333\" stroke-width=\"1.2\" fill=\"none\"/>",
            x, lo, hi, x - 4, lo, x + 4, x - 4, hi, x + 4)
    }
}
