// `distill-lab campaign FILE`: reads an experiment file of kind `campaign` in the runner's schema (experiment,
// description, kind, seeds, grid, tables, and the kind's own sections campaign, gateway, detectors), expands
// the grid, runs every cell through LabSimulation.CampaignSweep and writes results.json, results.csv, table.md
// and timings.json. A stand-in until `distill-lab run` has a `campaign` kind; it does not resume or shard.
import ArgumentParser
import Foundation
import LabCore
import LabSimulation
import Yams

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Run a proxy-account extraction campaign sweep against gateway defences (rate limits, detectors, bans, proof-of-work).")

    @OptionGroup var threads: ThreadOptions
    @Argument(help: "Experiment file (YAML, kind: campaign).") var file: String?
    @Option(help: "Output directory (default: results/<experiment>).") var out: String?
    @Option(help: "Override campaign.mode in every cell: full or detection_only.") var mode: String?
    @Option(help: "Override the seeds, e.g. 0,1,2.") var seeds: String?
    @Option(name: .customLong("set"), help: "Set a value in every cell before the grid: key.path=value (YAML), e.g. campaign.student.kind=gpt. Repeatable.")
    var assignments: [String] = []
    @Option(name: .customLong("where"), help: "Run only the cells whose axis has this label: axis=label, e.g. campaign.defence=rate_limits. Repeatable.")
    var filters: [String] = []
    @Flag(help: "Print the first cell's resolved config as JSON and exit.") var resolve = false
    @Flag(help: "Time the detection-only scale run (16,000 users, ~1.1M requests, a 1,000-account campaign, all detectors) instead of a file.")
    var benchmark = false

    func validate() throws {
        if benchmark { return }
        guard file != nil else { throw ValidationError("give an experiment file (kind: campaign), or --benchmark") }
        if let mode, CampaignMode(rawValue: mode) == nil { throw ValidationError("--mode must be full or detection_only (got \(mode))") }
        for a in assignments + filters where !a.contains("=") { throw ValidationError("'\(a)' must be key.path=value") }
        if let seeds, seeds.split(separator: ",").contains(where: { UInt64($0) == nil }) {
            throw ValidationError("--seeds must be comma-separated non-negative integers (got \(seeds))")
        }
    }

    func run() throws {
        threads.apply()
        if benchmark { return try runBenchmark() }
        guard let file else { return }
        var experiment = try CampaignFile(path: file)
        for a in assignments {
            let (key, value) = Self.split(a)
            try experiment.assign(value, at: key)
        }
        var cells = try experiment.cells(seeds: seeds.map { $0.split(separator: ",").compactMap { UInt64($0) } })
        for f in filters {
            let (axis, label) = Self.split(f)
            guard experiment.axes.contains(where: { $0.name == axis }) else {
                throw LabError.invalidConfig(key: "--where", message: "'\(axis)' is not an axis of \(file); axes: \(experiment.axes.map(\.name).joined(separator: ", "))")
            }
            cells = cells.filter { $0.labels.contains { $0.axis == axis && $0.label == label } }
        }
        guard !cells.isEmpty else { throw LabError.message("no cell of \(file) matches the --where filters") }
        if let mode, let m = CampaignMode(rawValue: mode) { for i in cells.indices { cells[i].config.mode = m } }
        if resolve {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(cells[0].config), as: UTF8.self))
            return
        }
        let directory = URL(fileURLWithPath: out ?? "results/\(experiment.name)")
        var timings: [(String, Double, Int)] = []
        let results = try CampaignSweep.run(cells) { i, seconds in
            let cell = cells[i]
            let labels = cell.labels.map { "\($0.axis)=\($0.label)" }.joined(separator: " ")
            FileHandle.standardError.write(Data("[\(i + 1)/\(cells.count)] \(labels) seed=\(cell.seed): \(String(format: "%.2f", seconds)) s\n".utf8))
            timings.append((labels + " seed=\(cell.seed)", seconds, 0))
        }
        for i in results.indices { timings[i].2 = results[i].outcome.requests }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(CampaignSweep.json(experiment: experiment.name, results: results), to: directory.appendingPathComponent("results.json"))
        try write(Data(CampaignSweep.csv(results).utf8), to: directory.appendingPathComponent("results.csv"))
        var markdown = "# \(experiment.name)\n\n" + (experiment.description.isEmpty ? "" : experiment.description + "\n\n")
        let invocation = (["distill-lab"] + CommandLine.arguments.dropFirst()).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        markdown += "Generated by `\(invocation)` (\(cells.count) cells). Mean ± std over seeds.\n\n"
        markdown += experiment.tables.map { CampaignSweep.markdown($0, results: results) }.joined(separator: "\n")
        try write(Data(markdown.utf8), to: directory.appendingPathComponent("table.md"))
        let timingLines = timings.map { "  {\"cell\": \"\($0.0)\", \"seconds\": \(String(format: "%.3f", $0.1)), \"requests\": \($0.2)}" }
        try write(Data(("{\"cells\": [\n" + timingLines.joined(separator: ",\n") + "\n]}\n").utf8), to: directory.appendingPathComponent("timings.json"))
        print(markdown, terminator: "")
        FileHandle.standardError.write(Data("wrote \(directory.path)/{results.json,results.csv,table.md,timings.json}\n".utf8))
    }

    func runBenchmark() throws {
        let report = try CampaignBenchmark.run { FileHandle.standardError.write(Data("campaign benchmark: \($0)\n".utf8)) }
        let o = report.outcome
        print("requests handled      \(report.requests) (\(o.benign.requests) honest, \(o.requests - o.benign.requests) attack)")
        print("wall seconds          \(String(format: "%.2f", report.wallSeconds))")
        print("CPU seconds           \(String(format: "%.2f", report.cpuSeconds)) (user + system, all threads)")
        print("requests per second   \(String(format: "%.0f", report.requestsPerSecond))")
        print("peak RSS              \(String(format: "%.0f", report.peakResidentMebibytes)) MiB")
        for d in o.detectors {
            print("\(d.detector.padding(toLength: 12, withPad: " ", startingAt: 0)) TPR \(String(format: "%.3f", d.truePositiveRate))  FPR \(String(format: "%.4f", d.falsePositiveRate))")
        }
        print("attack budget share   \(String(format: "%.3f", o.attack.budgetShare)), accounts opened \(o.attack.accountsOpened)")
    }

    static func split(_ assignment: String) -> (String, String) {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : "")
    }

    /// Atomic: a temp file renamed over the target, so a reader never sees half a file.
    func write(_ data: Data, to url: URL) throws {
        try data.write(to: url, options: .atomic)
    }
}

/// An experiment file of kind `campaign`, read with Yams: the grid is expanded by substituting each axis
/// value at its key path in the `campaign` section, axes in file order with the last varying fastest and
/// seeds innermost (issue 5's order).
struct CampaignFile {
    static let topLevelKeys = ["experiment", "description", "kind", "seeds", "grid", "tables", "campaign", "gateway", "detectors"]
    /// The kind's own sections; `gateway` and `detectors` are read into the campaign config's keys of those names.
    static let sections = ["campaign", "gateway", "detectors"]
    let path: String
    let name: String
    let description: String
    let seeds: [UInt64]
    var campaign: Node
    let axes: [(name: String, path: [String], labels: [String], values: [Node])]
    let tables: [CampaignTableSpec]

    init(path: String) throws {
        self.path = path
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LabError.file(path: path, message: "cannot be read as UTF-8 text (\(error.localizedDescription))")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw LabError.file(path: path, message: "is empty; an experiment file needs `kind: campaign` and a `campaign:` section") }
            root = node
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError.file(path: path, message: "is not valid YAML: \(error)")
        }
        guard let top = root.mapping else { throw LabError.file(path: path, message: "must be a mapping of experiment, kind, seeds, campaign, grid, tables") }
        func fail(_ key: String, _ message: String, _ node: Node? = nil) -> LabError {
            let at = node?.mark.map { ":\($0.line):\($0.column)" } ?? ""
            return LabError.invalidConfig(key: key, message: "\(message) (\(path)\(at))")
        }
        for (k, v) in top {
            guard let key = k.string, Self.topLevelKeys.contains(key) else {
                throw fail(k.string ?? "?", "unknown top-level key; an experiment file has \(Self.topLevelKeys.joined(separator: ", "))", v)
            }
        }
        guard top["kind"]?.string == "campaign" else { throw fail("kind", "must be `campaign` for this command", top["kind"]) }
        name = top["experiment"]?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        description = top["description"]?.string ?? ""
        if let s = top["seeds"] {
            guard let list = s.sequence, !list.isEmpty else { throw fail("seeds", "must be a non-empty list of integers", s) }
            seeds = try list.map { n in
                guard let v = n.string.flatMap(UInt64.init) else { throw fail("seeds", "'\(n.string ?? "?")' is not a non-negative integer", n) }
                return v
            }
        } else {
            seeds = [0]
        }
        var campaign = top["campaign"]?.mapping ?? Node.Mapping([])
        for section in ["gateway", "detectors"] {
            guard let node = top[section] else { continue }
            if campaign[section] != nil { throw fail(section, "is written both at the top level and inside `campaign`; keep one", node) }
            campaign[section] = node
        }
        self.campaign = Node.mapping(campaign)
        var axes: [(String, [String], [String], [Node])] = []
        if let grid = top["grid"] {
            guard let m = grid.mapping else { throw fail("grid", "must map key paths (campaign.x.y) to lists of values or label → value mappings", grid) }
            for (k, v) in m {
                guard let axis = k.string else { throw fail("grid", "an axis is named by a key path such as campaign.attack.accounts", k) }
                let parts = axis.split(separator: ".").map(String.init)
                guard parts.count >= 2, Self.sections.contains(parts[0]) else {
                    throw fail("grid.\(axis)", "sweeps only inside \(Self.sections.joined(separator: ", ")) (write e.g. campaign.attack.accounts)", k)
                }
                // The config reads gateway and detectors as keys of the campaign section.
                let path = parts[0] == "campaign" ? Array(parts.dropFirst()) : parts
                if let list = v.sequence {
                    axes.append((axis, path, list.map(Self.label), Array(list)))
                } else if let labelled = v.mapping {
                    axes.append((axis, path, labelled.map { $0.key.string ?? "?" }, labelled.map(\.value)))
                } else {
                    throw fail("grid.\(axis)", "must be a list of values or a mapping of label → value", v)
                }
            }
        }
        self.axes = axes.map { (name: $0.0, path: $0.1, labels: $0.2, values: $0.3) }
        if let t = top["tables"] {
            do {
                tables = try YAMLDecoder().decode([CampaignTableSpec].self, from: t)
            } catch let error as LabError {
                throw error
            } catch {
                throw fail("tables", "\(error)", t)
            }
        } else {
            tables = []
        }
    }

    /// Sets `value` (YAML) at `key` (campaign.…, gateway.… or detectors.…) in the section every cell starts from.
    mutating func assign(_ value: String, at key: String) throws {
        let parts = key.split(separator: ".").map(String.init)
        guard parts.count >= 2, Self.sections.contains(parts[0]) else {
            throw LabError.invalidConfig(key: "--set", message: "'\(key)' must start with \(Self.sections.joined(separator: ", ")) and name a key inside")
        }
        let node: Node
        do {
            node = try Yams.compose(yaml: value) ?? Node("")
        } catch {
            throw LabError.invalidConfig(key: "--set \(key)", message: "'\(value)' is not a YAML value")
        }
        campaign = try Self.set(node, at: parts[0] == "campaign" ? Array(parts.dropFirst()) : parts, in: campaign, axis: key)
    }

    static func label(_ node: Node) -> String {
        if let s = node.scalar { return s.string }
        return ((try? Yams.serialize(node: node)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every cell, decoded and validated before any runs.
    func cells(seeds override: [UInt64]?) throws -> [CampaignCell] {
        var combos: [[Int]] = [[]]
        for axis in axes { combos = combos.flatMap { prefix in axis.values.indices.map { prefix + [$0] } } }
        var cells: [CampaignCell] = []
        for combo in combos {
            var node = campaign
            for (a, i) in combo.enumerated() { node = try Self.set(axes[a].values[i], at: axes[a].path, in: node, axis: axes[a].name) }
            let config: CampaignConfig
            do {
                config = try YAMLDecoder().decode(CampaignConfig.self, from: node)
            } catch let error as LabError {
                throw LabError.message("\(path): cell \(zip(axes, combo).map { "\($0.name)=\($0.labels[$1])" }.joined(separator: " ")): \(error)")
            } catch {
                throw LabError.message("\(path): campaign section: \(error)")
            }
            let labels = zip(axes, combo).map { (axis: $0.name, label: $0.labels[$1]) }
            for seed in override ?? seeds { cells.append(CampaignCell(labels: labels, seed: seed, config: config)) }
        }
        return cells
    }

    /// `node` with `value` at `path` (intermediate mappings created as needed).
    static func set(_ value: Node, at path: [String], in node: Node, axis: String) throws -> Node {
        guard let key = path.first else { return value }
        var mapping: Node.Mapping
        if let m = node.mapping {
            mapping = m
        } else {
            guard node.scalar?.string.isEmpty ?? true else {
                throw LabError.invalidConfig(key: "grid.\(axis)", message: "reaches through '\(key)', whose parent is not a mapping")
            }
            mapping = Node.Mapping([])
        }
        let inner = mapping[key] ?? Node.mapping(Node.Mapping([]))
        mapping[key] = try set(value, at: Array(path.dropFirst()), in: inner, axis: axis)
        return Node.mapping(mapping)
    }
}
