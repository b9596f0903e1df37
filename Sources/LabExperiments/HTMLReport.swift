// HTMLReport: report.html — the experiment's tables and plots on one self-contained page (SVG inline, CSS
// inline, no scripts, no network), readable on screen and on paper. Not a dashboard: it is rewritten whole
// by every run that completes the grid.
import Foundation

enum HTML {
    /// Escaped text in which `code spans` (as the docs write key names) become <code> elements.
    static func prose(_ s: String) -> String {
        let parts = escape(s).components(separatedBy: "`")
        guard parts.count >= 3, parts.count % 2 == 1 else { return escape(s) }
        return parts.enumerated().map { $0.offset % 2 == 1 ? "<code>\($0.element)</code>" : $0.element }.joined()
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

enum HTMLReport {
    static let style = """
        body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1.5em;color:#111;line-height:1.45}
        h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
        .meta{color:#444}.note{color:#444;font-size:.92em}
        table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.95em}
        th,td{border:1px solid #bbb;padding:.3em .65em;text-align:left;vertical-align:top}
        th{background:#f0f0f0}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        figure{margin:1em 0 2em}figure svg{max-width:100%;height:auto;border:1px solid #ddd}
        figcaption{font-size:.92em;color:#333;margin-top:.3em}
        details{margin:1em 0}summary{cursor:pointer;font-weight:bold}
        code{background:#f4f4f4;padding:0 .25em}
        @media print{body{max-width:none;margin:0}h2{page-break-after:avoid}figure,table{page-break-inside:avoid}}
        """

    static func render(
        experiment e: Experiment, tables: [BuiltTable], plots: [(PlotData, String)], results: ResultSet,
        fileHash: String
    ) -> String {
        var h = [
            "<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
            "<title>\(HTML.escape(e.name)) — DistillLab</title>", "<style>\(style)</style>", "</head>", "<body>",
        ]
        h.append("<h1>\(HTML.escape(e.name))</h1>")
        if !e.description.isEmpty { h.append("<p>\(HTML.prose(e.description))</p>") }
        h.append(
            "<p class=\"meta\">Kind <code>\(HTML.escape(e.kindName))</code>: \(HTML.escape(e.kindSummary)). \(e.cells.count) cells"
                + " (\(e.axes.map { "\(HTML.escape($0.name)) × \($0.labels.count)" }.joined(separator: ", "))). Seeds: \(e.seeds.map(String.init).joined(separator: ", ")) — \(HTML.prose(e.seedMeaning)).</p>"
        )
        h.append(
            "<p class=\"meta\">From <code>\(HTML.escape(e.file))</code> (SHA-256 <code>\(fileHash.prefix(16))</code>). Files: "
                + ["results.json", "results.csv", "table.md", "config.resolved.yaml", "manifest.json"].map {
                    "<a href=\"\($0)\">\($0)</a>"
                }.joined(separator: ", ") + ".</p>")
        if !tables.isEmpty { h.append("<h2>Tables</h2>") }
        for t in tables {
            if !t.title.isEmpty { h.append("<h3>\(HTML.escape(t.title))</h3>") }
            h.append("<p class=\"note\">\(HTML.prose(t.note))</p>")
            h.append(t.html)
        }
        if !plots.isEmpty { h.append("<h2>Plots</h2>") }
        for (data, svg) in plots {
            h.append("<figure>")
            h.append(svg)
            h.append("<figcaption>\(HTML.escape(data.note))</figcaption>")
            h.append("</figure>")
        }
        h.append("<h2>Outputs</h2>")
        h.append("<table><thead><tr><th>name</th><th>role</th><th>meaning</th></tr></thead><tbody>")
        for o in results.outputs {
            h.append(
                "<tr><td><code>\(HTML.escape(o.name))</code></td><td>\(o.role.rawValue)</td><td>\(HTML.prose(o.meaning))</td></tr>"
            )
        }
        h.append("</tbody></table>")
        h.append("<details><summary>Every cell (\(e.cells.count))</summary>")
        let outputs = results.outputs.map(\.name)
        h.append(
            "<table><thead><tr><th>#</th>" + results.axes.map { "<th>\(HTML.escape($0.name))</th>" }.joined()
                + outputs.map { "<th class=\"num\">\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>")
        for row in results.rows {
            let values = outputs.map { name in row.value(name).map { NumberFormat.significant($0, digits: 5) } ?? "—" }
            h.append(
                "<tr><td>\(row.cell.index)</td>" + row.labels.map { "<td>\(HTML.escape($0))</td>" }.joined()
                    + values.map { "<td class=\"num\">\($0)</td>" }.joined() + "</tr>")
        }
        h.append("</tbody></table></details>")
        h.append(
            "<p class=\"note\">Written by DistillLab \(LabVersion.string). Timings, machine and commit are in manifest.json.</p>"
        )
        h += ["</body>", "</html>"]
        return h.joined(separator: "\n") + "\n"
    }
}
