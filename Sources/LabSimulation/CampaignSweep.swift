// CampaignSweep: a grid of campaign cells run in order, their flat metrics, and the files a sweep writes —
// results.json (deterministic: no timings), results.csv and table.md (mean ± std over seeds) — in the shape
// issue 5's runner uses (`tables:` with rows, columns, values, where, digits), until a `campaign` kind joins it.
// Not YAML: the CLI reads the experiment file and hands over decoded cells.
import Foundation
import LabCore

/// One cell of a sweep: its axis labels in grid order, its seed and its resolved config.
public struct CampaignCell: Sendable {
    public var labels: [(axis: String, label: String)]
    public var seed: UInt64
    public var config: CampaignConfig

    public init(labels: [(axis: String, label: String)], seed: UInt64, config: CampaignConfig) {
        self.labels = labels
        self.seed = seed
        self.config = config
    }
}

/// A named metric of a cell; nil where it does not apply (fidelity in detection-only mode) or is not finite.
public struct CampaignMetric: Codable, Equatable, Sendable {
    public var name: String
    public var value: Double?

    public init(_ name: String, _ value: Double?) {
        self.name = name
        self.value = value.flatMap { $0.isFinite ? $0 : nil }
    }
}

public struct CampaignCellResult: Codable, Equatable, Sendable {
    public struct Label: Codable, Equatable, Sendable {
        public var axis: String
        public var label: String
    }

    public var labels: [Label]
    public var seed: UInt64
    public var metrics: [CampaignMetric]
    public var outcome: CampaignOutcome

    public func value(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
    public func label(_ axis: String) -> String? { axis == "seed" ? String(seed) : labels.first { $0.axis == axis }?.label }
}

/// A table of a sweep, as issue 5's `tables:` entries spell one.
public struct CampaignTableSpec: Codable, Equatable, Sendable {
    public var title: String
    /// Axes whose label combinations make the rows.
    public var rows: [String]
    /// An axis whose labels make the columns (showing the one value), or nil for one column per value.
    public var columns: String?
    public var values: [String]
    /// Axis → label: cells elsewhere are left out.
    public var filter: [String: String]
    public var digits: Int

    public init(title: String, rows: [String], columns: String?, values: [String], filter: [String: String] = [:], digits: Int = 3) {
        self.title = title
        self.rows = rows
        self.columns = columns
        self.values = values
        self.filter = filter
        self.digits = digits
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case title, rows, columns, values, filter = "where", digits }

    public init(from decoder: Decoder) throws {
        try ConfigKeys.reject(unknownIn: decoder, allowed: CodingKeys.allCases.map(\.rawValue), section: "tables[]")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func oneOrMany(_ key: CodingKeys) throws -> [String] {
            if let many = try? c.decode([String].self, forKey: key) { return many }
            return [try c.decode(String.self, forKey: key)]
        }
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        rows = try oneOrMany(.rows)
        columns = try c.decodeIfPresent(String.self, forKey: .columns)
        values = try oneOrMany(.values)
        filter = try c.decodeIfPresent([String: String].self, forKey: .filter) ?? [:]
        digits = try c.decodeIfPresent(Int.self, forKey: .digits) ?? 3
        guard (1...12).contains(digits) else { throw LabError.invalidConfig(key: "tables[].digits", message: "is \(digits); must be in 1...12") }
        if columns != nil, values.count != 1 {
            throw LabError.invalidConfig(key: "tables[].values", message: "has \(values.count) entries; a table with `columns` shows exactly one value")
        }
    }
}

public enum CampaignSweep {
    /// Runs `cells` in order; worlds (benign text and teacher) are built once per distinct world spec.
    /// `progress` is told each finished cell's index and wall seconds.
    public static func run(_ cells: [CampaignCell], progress: (Int, Double) -> Void = { _, _ in }) throws -> [CampaignCellResult] {
        var worlds: [(BenignMixtureSpec, Double, CampaignWorld)] = []
        var results: [CampaignCellResult] = []
        for (i, cell) in cells.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let world: CampaignWorld
            if let cached = worlds.first(where: { $0.0 == cell.config.world && $0.1 == cell.config.teacherSmoothing }) {
                world = cached.2
            } else {
                world = try CampaignWorld(config: cell.config)
                worlds.append((cell.config.world, cell.config.teacherSmoothing, world))
            }
            let run = try CampaignSimulation.run(config: cell.config, seed: cell.seed, world: world)
            results.append(CampaignCellResult(labels: cell.labels.map { .init(axis: $0.axis, label: $0.label) }, seed: cell.seed,
                                              metrics: metrics(run.outcome), outcome: run.outcome))
            progress(i, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return results
    }

    /// The flat metrics of an outcome, in a fixed order: what tables and the CSV read.
    public static func metrics(_ o: CampaignOutcome) -> [CampaignMetric] {
        var m: [CampaignMetric] = [
            .init("fidelity", o.fidelity?.agreement), .init("kl", o.fidelity?.klTeacherStudent),
            .init("budget_share", o.attack.budgetShare), .init("share_before_first_ban", o.attack.shareBeforeFirstBan),
            .init("hours_to_first_ban", o.attack.hoursToFirstBan), .init("delivered", Double(o.attack.delivered)),
            .init("complete", o.attack.complete ? 1 : 0), .init("hours_to_finish", o.attack.hoursToFinish),
            .init("cost_multiplier", o.attack.costMultiplier), .init("dollars_per_query", o.attack.dollarsPerQuery),
            .init("api_dollars", o.attack.apiDollars), .init("account_dollars", o.attack.accountDollars),
            .init("pow_dollars", o.attack.proofOfWorkDollars), .init("accounts_opened", Double(o.attack.accountsOpened)),
            .init("accounts_banned", Double(o.attack.accountsBanned)),
            .init("false_ban_rate", o.benign.falseBanRate), .init("benign_refused_share", Double(o.benign.refused) / Double(max(1, o.benign.requests))),
            .init("benign_pow_seconds_per_query", o.benign.proofOfWorkSecondsPerQuery), .init("benign_pow_hashes_per_query", o.benign.proofOfWorkHashesPerQuery),
            .init("requests", Double(o.requests)),
        ]
        let banning = o.detectors.first { $0.bans }
        m += [.init("tpr", banning?.truePositiveRate), .init("fpr", banning?.falsePositiveRate),
              .init("queries_until_detection", banning?.medianQueriesUntilDetection),
              .init("queries_before_first_alarm", banning?.attackQueriesBeforeFirstAlarm.map(Double.init))]
        for d in o.detectors {
            m += [.init("\(d.detector).tpr", d.truePositiveRate), .init("\(d.detector).fpr", d.falsePositiveRate),
                  .init("\(d.detector).queries_until_detection", d.medianQueriesUntilDetection),
                  .init("\(d.detector).queries_before_first_alarm", d.attackQueriesBeforeFirstAlarm.map(Double.init)),
                  .init("\(d.detector).attack_evaluated", Double(d.attackerAccountsEvaluated) / Double(max(1, d.attackerAccounts))),
                  .init("\(d.detector).benign_evaluated", Double(d.benignAccountsEvaluated)),
                  .init("\(d.detector).fpr_evaluated", d.falsePositiveRateEvaluated),
                  .init("\(d.detector).statistic_attack", d.medianStatisticAttack), .init("\(d.detector).statistic_benign", d.medianStatisticBenign)]
        }
        return m
    }

    /// results.json: every cell with its labels, seed, metrics and full outcome; sorted keys, no timings.
    public static func json(experiment: String, results: [CampaignCellResult]) throws -> Data {
        struct File: Encodable {
            var experiment: String
            var cells: [CampaignCellResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(File(experiment: experiment, cells: results))
    }

    /// results.csv: one line per cell, axes then seed then every metric any cell has (empty where absent).
    public static func csv(_ results: [CampaignCellResult]) -> String {
        let axes = results.first?.labels.map(\.axis) ?? []
        var names: [String] = []
        for r in results { for m in r.metrics where !names.contains(m.name) { names.append(m.name) } }
        var lines = [(axes + ["seed"] + names).joined(separator: ",")]
        for r in results {
            let values = names.map { n in r.value(n).map { String($0) } ?? "" }
            lines.append((r.labels.map { quoteCSV($0.label) } + [String(r.seed)] + values).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoteCSV(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// One Markdown table: mean ± std (sample std, n − 1) over the cells that share a row's and a column's
    /// labels; "—" where no cell has the value, and "n/a" where the metric does not apply.
    public static func markdown(_ spec: CampaignTableSpec, results: [CampaignCellResult]) -> String {
        let kept = results.filter { r in spec.filter.allSatisfy { r.label($0.key) == $0.value } }
        func ordered(_ axis: String) -> [String] {
            var seen: [String] = []
            for r in kept { if let l = r.label(axis), !seen.contains(l) { seen.append(l) } }
            return seen
        }
        var rowKeys: [[String]] = [[]]
        for axis in spec.rows { rowKeys = rowKeys.flatMap { prefix in ordered(axis).map { prefix + [$0] } } }
        let columnLabels = spec.columns.map(ordered) ?? spec.values
        var out = spec.title.isEmpty ? "" : "### \(spec.title)\n\n"
        out += "| " + (spec.rows + columnLabels).joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "---|", count: spec.rows.count + columnLabels.count) + "\n"
        for key in rowKeys {
            let inRow = kept.filter { r in zip(spec.rows, key).allSatisfy { r.label($0) == $1 } }
            guard !inRow.isEmpty else { continue }
            var cells = key
            for c in columnLabels {
                let group = spec.columns.map { axis in inRow.filter { $0.label(axis) == c } } ?? inRow
                let metric = spec.columns == nil ? c : spec.values[0]
                cells.append(summary(group.map { $0.value(metric) }, digits: spec.digits, present: !group.isEmpty))
            }
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func summary(_ values: [Double?], digits: Int, present: Bool) -> String {
        guard present else { return "—" }
        let xs = values.compactMap { $0 }
        guard !xs.isEmpty else { return "n/a" }
        let mean = xs.reduce(0, +) / Double(xs.count)
        func fmt(_ x: Double, _ d: Int) -> String {
            if x == 0 { return "0" }
            let magnitude = Int(floor(log10(abs(x))))
            let decimals = max(0, d - 1 - magnitude)
            return String(format: "%.\(min(decimals, 12))f", x)
        }
        guard xs.count > 1 else { return fmt(mean, digits) }
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
        return "\(fmt(mean, digits)) ± \(fmt(variance.squareRoot(), 2))"
    }
}
