// Experiment: an experiment file read, checked and planned before any work — the closed top level, the kind,
// seeds, grid, tables and plots, and every cell resolved by its kind and hashed. `Experiment.load` either
// returns a plan that can run or throws one located `ExperimentError`. Not the runner (Runner).
import Foundation
import LabAPI
import LabCore
import Yams

/// One cell of the plan: its place in the grid, its resolved spec's content hash, and how to run it.
public struct PlannedCell {
    /// Position in the deterministic order (the same in every run and every shard).
    public let index: Int
    /// One label per axis of the experiment (seed last).
    public let labels: [String]
    public let seed: UInt64
    /// SHA-256 of the canonical JSON of (kind, kind version, resolved cell): the cell's identity on disk.
    public let hash: String
    /// The canonical JSON that was hashed.
    public let resolvedJSON: String
    /// The canonical JSON of the resolved cell alone (what config.resolved.yaml shows).
    let resolvedCellJSON: String
    let compute: (RunContext) throws -> CellResult

    public func run(in context: RunContext) throws -> CellResult { try compute(context) }
}

public struct Experiment {
    /// Keys every experiment file may use, whatever its kind.
    public static let commonKeys = ["experiment", "description", "kind", "seeds", "grid", "tables", "plots"]
    /// More cells than one results directory (and one validation pass) should hold.
    public static let maxCells = 100_000

    public let source: YAMLSource
    public var file: String { source.file }
    /// `experiment:` — names the output directory results/<name>/.
    public let name: String
    public let description: String
    public let kindName: String
    public let kindSummary: String
    public let seedMeaning: String
    public let outputs: [OutputDoc]
    public let seeds: [UInt64]
    /// The grid's axes in file order, then the seed axis.
    public let axes: [GridAxis]
    /// The kind's curve axis, when its cells are anytime curves (labels known once cells have run).
    public let curveAxis: String?
    public let cells: [PlannedCell]
    public let tables: [TableSpec]
    public let plots: [PlotSpec]
    /// The `--set` overrides applied to the file before planning (empty: the file as written).
    public var overrides: [Override] = []

    public static func load(
        path: String, kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds, overrides: [Override] = []
    ) throws -> Experiment {
        try plan(YAMLSource.load(path: path), kinds: kinds, overrides: overrides)
    }

    public static func parse(
        _ text: String, file: String = "<string>", kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds,
        overrides: [Override] = []
    ) throws -> Experiment {
        try plan(YAMLSource.parse(data: Data(text.utf8), file: file), kinds: kinds, overrides: overrides)
    }

    /// The file with `overrides` applied, planned; an error about an overridden key names its `--set`.
    public static func plan(
        _ source: YAMLSource, kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds, overrides: [Override]
    ) throws -> Experiment {
        guard !overrides.isEmpty else { return try plan(source, kinds: kinds) }
        do {
            var experiment = try plan(try Override.apply(overrides, to: source), kinds: kinds)
            try Override.checkAgainstGrid(overrides, axes: experiment.axes, file: source.file)
            experiment.overrides = overrides
            return experiment
        } catch let error as ExperimentError {
            throw Override.attribute(error, to: overrides)
        }
    }

    public static func plan(_ source: YAMLSource, kinds: [any ExperimentKind.Type] = ExperimentRegistry.kinds) throws
        -> Experiment
    {
        let file = source.file, root = source.root
        guard case let .mapping(top) = root else { preconditionFailure("YAMLSource guarantees a mapping") }
        func error(_ path: [String], _ message: String, fix: String? = nil, atKey: Bool = false) -> ExperimentError {
            let p = NodePath.position(for: path, in: root, atKey: atKey)
            return ExperimentError(
                file: file, line: p.line, column: p.column, key: path.joined(separator: "."), message: message, fix: fix
            )
        }
        func value(_ key: String) -> Node? { top.first { NodePath.keyString($0.key) == key }?.value }

        // The closed top level: common keys, shared sections, and the sections some kind owns.
        let shared = SharedSection.allCases.map(\.rawValue)
        let owned = kinds.flatMap { $0.settingsKeys }
        let allowed = commonKeys + shared + owned
        for (keyNode, _) in top {
            guard let key = NodePath.keyString(keyNode) else {
                let p = Position(keyNode.mark)
                throw ExperimentError(
                    file: file, line: p.line, column: p.column, key: "",
                    message: "a key must be a plain word; this one is \(NodeDecoder.shape(of: keyNode))")
            }
            if !allowed.contains(key) {
                throw error(
                    [key], "unknown key at the top level",
                    fix: EditDistance.hint(for: key, among: allowed, noun: "top-level keys"), atKey: true)
            }
        }

        // The kind decides which sections are read.
        guard let kindNode = value("kind") else {
            throw error(
                [], "has no 'kind'", fix: "add `kind:` with one of \(kinds.map { $0.name }.joined(separator: ", "))")
        }
        let kindName = try NodeDecoder.decode(String.self, from: kindNode, path: ["kind"], root: root, file: file)
        guard let kind = ExperimentRegistry.kind(named: kindName, in: kinds) else {
            throw error(
                ["kind"], "unknown experiment kind '\(kindName)'",
                fix: EditDistance.hint(for: kindName, among: kinds.map { $0.name }, noun: "kinds"))
        }
        let readable = Set(kind.reads.map { $0.rawValue } + kind.settingsKeys)
        for (keyNode, _) in top {
            guard let key = NodePath.keyString(keyNode), !commonKeys.contains(key), !readable.contains(key) else {
                continue
            }
            var readers: [String] = []
            for k in kinds where k.reads.map({ $0.rawValue }).contains(key) || k.settingsKeys.contains(key) {
                readers.append(k.name)
            }
            throw error(
                [key], "kind '\(kind.name)' does not read '\(key)'",
                fix: "remove it"
                    + (readers.isEmpty ? "" : ", or use a kind that reads it (\(readers.joined(separator: ", ")))"),
                atKey: true)
        }

        guard let nameNode = value("experiment") else {
            throw error(
                [], "has no 'experiment' (the name of its results directory)", fix: "add e.g. `experiment: my-sweep`")
        }
        let name = try NodeDecoder.decode(String.self, from: nameNode, path: ["experiment"], root: root, file: file)
        let nameCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, !name.hasPrefix("."),
            name.unicodeScalars.allSatisfy({ nameCharacters.contains($0) && $0.isASCII })
        else {
            throw error(
                ["experiment"], "is '\(name)'; allowed: ASCII letters, digits, '-', '_' and '.' (not first)",
                fix: "e.g. `experiment: defence-cost`")
        }
        var description = ""
        if let d = value("description") {
            description = try NodeDecoder.decode(String.self, from: d, path: ["description"], root: root, file: file)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        var seeds: [UInt64] = [0]
        if let seedsNode = value("seeds") {
            seeds = try NodeDecoder.decode([UInt64].self, from: seedsNode, path: ["seeds"], root: root, file: file)
            guard !seeds.isEmpty else {
                throw error(["seeds"], "is empty", fix: "list at least one seed, e.g. `seeds: [0, 1, 2]`")
            }
            var seen = Set<UInt64>()
            for (i, s) in seeds.enumerated() where !seen.insert(s).inserted {
                throw error(
                    ["seeds", String(i)], "the seed \(s) appears twice; its cells would be counted twice in mean ± std",
                    fix: "list each seed once")
            }
        }

        var axes = try Grid.axes(from: value("grid"), readable: readable, file: file)
        axes.append(
            GridAxis(name: GridAxis.seedName, path: [], labels: seeds.map(String.init), values: [], keyMark: nil))

        var tables: [TableSpec] = []
        var plots: [PlotSpec] = []
        if let t = value("tables") {
            tables = try NodeDecoder.decode([TableSpec].self, from: t, path: ["tables"], root: root, file: file)
        }
        if let p = value("plots") {
            plots = try NodeDecoder.decode([PlotSpec].self, from: p, path: ["plots"], root: root, file: file)
        }
        // Tables and plots may also name the curve axis, whose labels are known only after running.
        var outputAxes = axes
        if let curve = kind.curveAxis {
            if axes.contains(where: { $0.name == curve }) {
                throw error(
                    ["grid"], "an axis is named '\(curve)', which is the name of kind \(kind.name)'s curve axis",
                    fix: "sweep another key")
            }
            outputAxes.insert(
                GridAxis(name: curve, path: [], labels: [], values: [], keyMark: nil, isCurve: true), at: axes.count - 1
            )
        }
        do {
            for (i, t) in tables.enumerated() {
                try OutputChecks.check(t, index: i, axes: outputAxes, outputs: kind.outputs)
            }
            for (i, p) in plots.enumerated() {
                try OutputChecks.check(p, index: i, axes: outputAxes, outputs: kind.outputs)
            }
            var stems = Set<String>()
            for (i, p) in plots.enumerated() where !stems.insert(p.file ?? "plot-\(i + 1)").inserted {
                throw SpecIssue(
                    ["plots", String(i), "file"], "'\(p.file ?? "")' names another plot's file too",
                    fix: "give each plot its own file name")
            }
        } catch let issue as SpecIssue {
            throw issue.located(in: root, file: file)
        }

        // Refuse a grid too large to list before listing it.
        var count = 1
        for axis in axes {
            let (product, overflow) = count.multipliedReportingOverflow(by: axis.labels.count)
            guard !overflow, product <= maxCells else {
                throw error(
                    ["grid"],
                    "expands to more than \(maxCells) cells (\(axes.map { "\($0.labels.count)" }.joined(separator: " × ")))",
                    fix: "sweep fewer values, or split the sweep into several files")
            }
            count = product
        }
        let cells = try kind.planCells(root: root, axes: axes, seeds: seeds, file: file)
        return Experiment(
            source: source, name: name, description: description, kindName: kind.name, kindSummary: kind.summary,
            seedMeaning: kind.seedMeaning, outputs: kind.outputs, seeds: seeds, axes: axes, curveAxis: kind.curveAxis,
            cells: cells,
            tables: tables, plots: plots)
    }

}

extension ExperimentKind {
    /// The cells in order: every combination of the grid's values (last axis fastest), each with every seed.
    /// (A static method of the kind, so that calling it on `any ExperimentKind.Type` opens the existential.)
    static func planCells(root: Node, axes: [GridAxis], seeds: [UInt64], file: String) throws -> [PlannedCell] {
        typealias K = Self
        let context = ValidationContext()
        let gridAxes = axes.filter { !$0.isSeed }
        var cells: [PlannedCell] = []
        for choice in Grid.combinations(gridAxes.map(\.labels.count)) {
            let doc = try Grid.document(root: root, axes: gridAxes, choice: choice, file: file)
            let input = try decodeInput(doc: doc, file: file)
            for (s, seed) in seeds.enumerated() {
                var cell = input
                cell.seed = seed
                let resolved: K.Resolved
                do {
                    resolved = try K.resolve(cell, in: context)
                } catch let issue as SpecIssue {
                    throw issue.located(in: doc, file: file)
                } catch let e as ExperimentError {
                    throw e
                } catch {
                    throw ExperimentError(file: file, line: 1, column: 1, key: "", message: "\(error)")
                }
                let json = try CanonicalJSON.string(CellIdentity(kind: K.name, version: K.version, cell: resolved))
                let labels = zip(gridAxes, choice).map { $0.labels[$1] } + [String(seeds[s])]
                cells.append(
                    PlannedCell(
                        index: cells.count, labels: labels, seed: seed, hash: SHA256.hex(Data(json.utf8)),
                        resolvedJSON: json,
                        resolvedCellJSON: try CanonicalJSON.string(resolved),
                        compute: { context in try K.run(resolved, in: context) }))
            }
        }
        return cells
    }

    /// The shared sections `kind` reads and its own settings, decoded from one cell's document.
    static func decodeInput(doc: Node, file: String) throws -> CellInput<Settings> {
        typealias K = Self
        guard case let .mapping(top) = doc else { preconditionFailure("a cell document is a mapping") }
        func value(_ key: String) -> Node? { top.first { NodePath.keyString($0.key) == key }?.value }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
            try value(key).map { try NodeDecoder.decode(type, from: $0, path: [key], root: doc, file: file) }
        }
        var teacher: TeacherSpec?
        var api: APISpec?
        var defences: [DefenceSpec]?
        for section in K.reads {
            switch section {
            case .teacher:
                guard let t = try decode(TeacherSpec.self, "teacher") else {
                    throw ExperimentError(
                        file: file, line: 1, column: 1, key: "teacher",
                        message: "is missing; kind '\(K.name)' needs a teacher",
                        fix: "add e.g. `teacher: {corpus: {kind: markov}}`")
                }
                teacher = t
            case .api: api = try decode(APISpec.self, "api") ?? APISpec()
            case .defences: defences = try decode([DefenceSpec].self, "defences") ?? []
            }
        }
        let own = top.filter { NodePath.keyString($0.key).map(K.settingsKeys.contains) ?? false }
        let settingsNode = Node.mapping(Node.Mapping(own.map { ($0.key, $0.value) }, .implicit, .block, top.mark))
        let settings = try NodeDecoder.decode(K.Settings.self, from: settingsNode, path: [], root: doc, file: file)
        return CellInput(seed: 0, teacher: teacher, api: api, defences: defences, settings: settings, node: doc)
    }
}

/// What a cell's hash covers: the kind, its version, and the resolved cell.
struct CellIdentity<Cell: Encodable>: Encodable {
    var kind: String
    var version: Int
    var cell: Cell
}
