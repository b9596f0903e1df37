// ExperimentKind: the extension point of the runner. A kind names the sections of an experiment file it reads,
// resolves one cell (validated, every default filled: the value that is hashed, saved and run) and runs it into
// a row of named metrics and costs. The runner knows nothing else about what a cell computes.
// Not the registry (ExperimentRegistry) and not the runner (Runner).
import Foundation
import LabAPI
import LabAttacks
import LabCore
import Yams

/// Sections of an experiment file that several kinds share; each kind lists the ones it reads, and a file
/// that writes a section its kind does not read is an error (nothing is silently ignored).
public enum SharedSection: String, CaseIterable, Sendable {
    /// `teacher:` — corpus, model and training of the teacher (TeacherSpec).
    case teacher
    /// `api:` — the API's policy and prices (APISpec).
    case api
    /// `defences:` — the ordered defence pipeline in front of the teacher (DefenceSpec list).
    case defences
}

/// A metric or cost a kind reports, with what it means (printed by `distill-lab validate --kinds`, checked
/// against tables and plots at validation).
public struct OutputDoc: Sendable {
    public enum Role: String, Sendable { case metric, cost }
    public var name: String
    public var role: Role
    public var meaning: String
    /// Listed in results (results.json, results.csv, report.html) only when some cell reports a value: an
    /// output a kind adds for some corpora leaves the results of every other experiment of the kind unchanged.
    public var onlyWhenReported: Bool

    public init(_ name: String, _ role: Role, _ meaning: String, onlyWhenReported: Bool = false) {
        self.name = name
        self.role = role
        self.meaning = meaning
        self.onlyWhenReported = onlyWhenReported
    }
}

/// One cell as a kind receives it before resolution: the shared sections it reads (decoded, defaults filled),
/// its own settings, the seed, and the cell's YAML tree (to ask whether a key was written).
public struct CellInput<Settings> {
    public var seed: UInt64
    public var teacher: TeacherSpec?
    public var api: APISpec?
    public var defences: [DefenceSpec]?
    public var settings: Settings
    /// The cell's document: the file with the grid's values substituted.
    public var node: Node

    /// Whether the file (or the grid) writes a value at `path`.
    public func isWritten(_ path: [String]) -> Bool {
        NodePath.find(path, in: node).matched == path.count
    }

    /// The teacher section; kinds that read `.teacher` always get one (the schema requires it).
    public func requireTeacher() throws -> TeacherSpec {
        guard let teacher else {
            throw SpecIssue(
                ["teacher"], "is missing", fix: "add a `teacher:` section with at least `corpus: {kind: markov}`")
        }
        return teacher
    }
}

/// Settings for kinds that have no section of their own.
public struct NoSettings: Decodable, Sendable {
    public init() {}
    public init(from decoder: Decoder) throws {}
}

/// What a cell produced: named metrics and costs, in the order the kind documents them. A nil value is a
/// metric that does not apply (an entropy rate of a corpus that has none); NaN is stored as nil too.
public struct CellResult: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var value: Double?
        public init(_ name: String, _ value: Double?) {
            self.name = name
            self.value = value.flatMap { $0.isFinite ? $0 : nil }
        }
    }

    public var metrics: [Entry]
    public var costs: [Entry]
    /// An anytime curve (kinds with a `curveAxis`): the metrics and costs at each milestone of one run, e.g.
    /// a student's fidelity after 1k, 3k, 10k queries. Tables and plots treat the milestone labels as one
    /// more axis; `metrics` and `costs` above hold what applies to the whole cell.
    public var curve: [Point]
    /// Words a cell reports beside its numbers (e.g. the plan an adaptive attacker chose): one more column
    /// each in results.csv, after the numbers; never a table's value.
    public var notes: [Note]

    /// A named piece of text a cell reports.
    public struct Note: Codable, Equatable, Sendable {
        public var name: String
        public var text: String
        public init(_ name: String, _ text: String) {
            self.name = name
            self.text = text
        }
    }

    public init(metrics: [Entry] = [], costs: [Entry] = [], curve: [Point] = [], notes: [Note] = []) {
        self.metrics = metrics
        self.costs = costs
        self.curve = curve
        self.notes = notes
    }

    /// The value of a metric or cost by name (nil when absent or not applicable).
    public func value(_ name: String) -> Double? {
        (metrics.first { $0.name == name } ?? costs.first { $0.name == name })?.value
    }

    enum CodingKeys: String, CodingKey { case metrics, costs, curve, notes }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metrics = try c.decode([Entry].self, forKey: .metrics)
        costs = try c.decode([Entry].self, forKey: .costs)
        curve = try c.decodeIfPresent([Point].self, forKey: .curve) ?? []
        notes = try c.decodeIfPresent([Note].self, forKey: .notes) ?? []
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(costs, forKey: .costs)
        if !curve.isEmpty { try c.encode(curve, forKey: .curve) }
        if !notes.isEmpty { try c.encode(notes, forKey: .notes) }
    }
}

/// One milestone of an anytime curve: its label on the kind's curve axis (e.g. "1000" queries) and the
/// metrics and costs measured there. (Nested, so as not to clash with LabAttacks's CurvePoint, the attack
/// runner's own record of a milestone, which an attack kind turns into these.)
extension CellResult {
    public struct Point: Codable, Equatable, Sendable {
        public var label: String
        public var metrics: [Entry]
        public var costs: [Entry]

        public init(label: String, metrics: [Entry], costs: [Entry] = []) {
            self.label = label
            self.metrics = metrics
            self.costs = costs
        }
    }
}

/// A kind of experiment: how a cell of a file with `kind: <name>` is resolved and run.
///
/// Adding one is a new file `Kind+<Name>.swift` with a type conforming to this protocol, plus one line in
/// `ExperimentRegistry.kinds`. Nothing else in the runner, the writers or the CLI changes.
public protocol ExperimentKind {
    /// The kind's own top-level sections, decoded from a mapping that holds only `settingsKeys`.
    associatedtype Settings: Decodable
    /// A fully resolved cell: every default filled, every seed applied. Its canonical JSON is hashed (so
    /// an unchanged cell is never recomputed) and saved in config.resolved.yaml.
    associatedtype Resolved: Encodable

    /// `kind:` in the file.
    static var name: String { get }
    /// One line for `distill-lab validate --kinds` and the README.
    static var summary: String { get }
    /// Bump when the same resolved cell would now give different numbers: finished cells are recomputed.
    static var version: Int { get }
    /// Shared sections the kind reads; any other shared section in the file is an error.
    static var reads: [SharedSection] { get }
    /// Top-level keys that belong to this kind alone (decoded into `Settings`).
    static var settingsKeys: [String] { get }
    /// What the per-cell `seed` drives, in one sentence.
    static var seedMeaning: String { get }
    /// Every metric and cost `run` reports, in order (at cell level or at curve points).
    static var outputs: [OutputDoc] { get }
    /// The name of the axis a cell's anytime curve spans (e.g. "budget"), or nil when a cell is one row.
    /// Tables and plots may use it like a grid axis; its labels are the curve points' labels.
    static var curveAxis: String? { get }

    /// Validates the cell (throwing `SpecIssue`s with key paths from the top of the file) and resolves it.
    /// Must be cheap: it runs for every cell before any work.
    static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved
    /// Computes the cell. Deterministic: the same resolved cell gives the same numbers, bit for bit.
    static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult
}

extension ExperimentKind {
    public static var curveAxis: String? { nil }
}
