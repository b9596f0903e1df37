// BenignCostReport: the benign-cost table as Markdown, CSV and JSON, written atomically beside each other, for
// `distill-lab defences`. Not the measurement (LabDefences' BenignCost); experiment files use the runner's writers.
import Foundation
import LabCore
import LabDefences

/// A benign-cost table with what produced it.
public struct BenignCostReport: Codable, Sendable {
    /// The teacher's checkpoint directory (or another label).
    public var teacher: String
    /// The teacher's vocabulary size and context length.
    public var vocabularySize: Int
    public var contextLength: Int
    public var options: BenignCostOptions
    public var rows: [BenignCostRow]

    public init(
        teacher: String, vocabularySize: Int, contextLength: Int, options: BenignCostOptions, rows: [BenignCostRow]
    ) {
        self.teacher = teacher
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.options = options
        self.rows = rows
    }

    enum CodingKeys: String, CodingKey {
        case teacher, vocabularySize = "vocabulary_size", contextLength = "context_length", options, rows
    }

    static let header = [
        "defence", "parameters", "KL(served‖teacher) nats", "total variation", "top-1 agreement", "top-1 change",
        "withheld rows", "honest-text perplexity", "Δ perplexity", "Δ perplexity %",
    ]

    func cells(_ r: BenignCostRow) -> [String] {
        [
            r.defence, r.parameters.isEmpty ? "—" : r.parameters, String(format: "%.4f", r.meanKL),
            String(format: "%.4f", r.meanTotalVariation),
            String(format: "%.4f", r.top1Agreement), String(format: "%+.4f", r.top1Change),
            String(format: "%.4f", r.withheldRate),
            String(format: "%.3f", r.textPerplexity), String(format: "%+.3f", r.perplexityIncrease),
            String(format: "%+.1f", r.relativePerplexityIncrease * 100),
        ]
    }

    public var markdown: String {
        var lines = [
            "Benign cost of each defence at its default parameters — teacher `\(teacher)` (V = \(vocabularySize), context \(contextLength)); "
                + "\(options.prompts) validation prompts of \(options.promptLength) tokens (\(rows.first?.positions ?? 0) positions), "
                + "\(options.completionTokens) sampled tokens each, seed \(options.seed).",
            "",
            "| " + Self.header.joined(separator: " | ") + " |",
            "|" + Self.header.map { _ in "---" }.joined(separator: "|") + "|",
        ]
        for r in rows {
            lines.append(
                "| " + cells(r).map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var csv: String {
        func field(_ s: String) -> String {
            s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let keys = [
            "defence", "parameters", "positions", "mean_kl", "mean_total_variation", "top1_agreement", "top1_change",
            "withheld_rate",
            "text_perplexity", "perplexity_increase", "relative_perplexity_increase",
        ]
        var lines = [keys.joined(separator: ",")]
        for r in rows {
            let values: [String] = [
                r.defence, r.parameters, String(r.positions), "\(r.meanKL)", "\(r.meanTotalVariation)",
                "\(r.top1Agreement)",
                "\(r.top1Change)", "\(r.withheldRate)", "\(r.textPerplexity)", "\(r.perplexityIncrease)",
                "\(r.relativePerplexityIncrease)",
            ]
            lines.append(values.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }

    /// Writes benign_cost.md, .csv and .json into `directory` (created if needed), each atomically
    /// (a temporary file renamed into place), so a reader never sees half a table.
    public func write(to directory: URL) throws -> [URL] {
        try ReportFiles.write(
            [("md", markdown), ("csv", csv), ("json", try json())].map { ("benign_cost.\($0.0)", Data($0.1.utf8)) },
            to: directory)
    }
}
