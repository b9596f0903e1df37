// CellScheduler: how the runner spends the machine on an experiment's cells — one cell at a time on every
// worker, or several cells at once on one worker each — chosen per experiment from a cost model of the cells'
// shapes (CellCostModel) or forced with `run --jobs N`. Cells take their numbers from their seed alone and
// products are cut into pieces fixed by shape (Parallel.forFixedChunks), so either way every cell record, and
// every results file built from them, is the one a sequential run writes. Teachers stay shared: those the cells
// name are trained (or loaded) once, on every worker, before cells start side by side, and a teacher a cell
// asks for while another thread or process trains it is waited for through the cache entry's file lock.
// Not what a cell computes (kinds) nor which cells to run (Runner).
import Foundation
import LabCore

#if canImport(Glibc)
    import Glibc
#endif

/// How many cells run at once: chosen by the cost model, or fixed by `--jobs N`.
public enum CellJobs: Equatable, Sendable, CustomStringConvertible {
    case auto
    case fixed(Int)

    /// Parses "auto" or a count N ≥ 1.
    public init(parsing text: String) throws {
        if text == "auto" {
            self = .auto
            return
        }
        guard let n = Int(text), n >= 1 else {
            throw LabError.invalidConfig(
                key: "--jobs",
                message:
                    "is '\(text)'; write auto (the cost model chooses) or a count N ≥ 1 of cells to run at once (1 = one cell at a time on every worker)"
            )
        }
        self = .fixed(n)
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let n): return "\(n)"
        }
    }
}

/// The cost model behind `--jobs auto`.
///
/// A cell spends its time in training and evaluation steps of small transformers. On `W` workers one cell
/// opens a few hundred parallel regions per step (products split in `Parallel.fixedChunks` pieces, element-wise
/// kernels split by rows); each region costs a hand-off and a wait of roughly fixed size, while its work grows
/// with the rows × width it touches. So the cell's speed-up on `W` workers is modelled as
/// `1 + (W − 1) · e` with efficiency `e = w / (w + w₀)`, where `w` = batch × context × width (floats one
/// element-wise kernel touches; a product's row block is that times the width) and `w₀` is the work at which
/// the hand-off costs as much as the work it splits (`regionBreakEven`, measured: see Experiments/README.md).
/// Running `k` cells side by side on one worker each instead costs nothing in hand-offs but shares caches and
/// memory bandwidth: speed-up `k · η`, with `η = sideBySideEfficiency`. The runner picks side by side
/// (`k = W`, or fewer when fewer cells remain) when `k · η` beats `1 + (W − 1) · e` for the largest cell of
/// the experiment (its slowest), else one cell at a time on every worker.
///
/// Shapes come from the resolved cell: every object with `width` and `layers` is a model; its batch is the
/// `batch_size` beside it or in the `training` object next to it, its context the `context_length` beside it
/// or else the longest in the cell. The top-level `teacher` counts only when it is the cell's only model (a
/// teacher sweep); otherwise it is trained once for all cells before they start. Cells that name no model
/// (specs the model cannot read) run one at a time on every worker, as they always did.
public enum CellCostModel {
    /// w₀: work per parallel region (rows × width, in floats) at which splitting it across two workers saves as
    /// much as the hand-off costs.
    public static let regionBreakEven = 32_768.0
    /// η: throughput of each of `k` cells run side by side on `k` cores, relative to one cell alone.
    public static let sideBySideEfficiency = 0.9

    /// A model a cell trains or evaluates.
    public struct Shape: Equatable, Sendable {
        public var width: Int
        public var layers: Int
        public var batch: Int
        public var context: Int

        /// Floats one element-wise kernel of a step touches.
        public var regionWork: Double { Double(batch) * Double(context) * Double(width) }
    }

    /// The models the resolved cell (canonical JSON) names.
    public static func shapes(resolvedJSON: String) -> [Shape] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(resolvedJSON.utf8)) as? [String: Any] else {
            return []
        }
        let longest = maxInt("context_length", in: root) ?? 64
        var teacher: [Shape] = []
        var others: [Shape] = []
        func visit(_ node: Any, parent: [String: Any]?, topKey: String?) {
            if let object = node as? [String: Any] {
                if let width = int(object["width"]), let layers = int(object["layers"]) {
                    let training = parent?["training"] as? [String: Any]
                    let batch = int(object["batch_size"]) ?? int(training?["batch_size"]) ?? 32
                    let context = int(object["context_length"]) ?? longest
                    let shape = Shape(width: width, layers: layers, batch: batch, context: context)
                    if topKey == "teacher" { teacher.append(shape) } else { others.append(shape) }
                }
                for (key, value) in object { visit(value, parent: object, topKey: topKey ?? key) }
            } else if let array = node as? [Any] {
                for value in array { visit(value, parent: parent, topKey: topKey) }
            }
        }
        for (key, value) in root { visit(value, parent: root, topKey: key) }
        return others.isEmpty ? teacher : others
    }

    /// Modelled speed-up of one cell with these shapes on `workers` workers (its largest model decides).
    /// A cell whose resolved spec names no model is assumed to use every worker fully (the old behaviour: one
    /// cell at a time).
    public static func inCellSpeedup(_ shapes: [Shape], workers: Int) -> Double {
        guard workers > 1 else { return 1 }
        guard let w = shapes.map(\.regionWork).max() else { return Double(workers) }
        let efficiency = w / (w + regionBreakEven)
        return 1 + Double(workers - 1) * efficiency
    }

    /// The model's verdict for a set of cells on `workers` workers.
    public struct Choice: Equatable, Sendable {
        /// Cells to run at once: 1 (each on every worker) or up to `workers` (each on one worker).
        public var jobs: Int
        /// Modelled speed-up of the slowest cell on every worker, and of `k` cells side by side.
        public var inCell: Double
        public var sideBySide: Double
    }

    public static func choose(for cells: [PlannedCell], workers: Int) -> Choice {
        let k = min(workers, cells.count)
        // The distinct specs, so a thousand cells of one shape are read once.
        var seen = Set<String>()
        var worst = 1.0
        for cell in cells {
            let key = cell.resolvedCellJSON
            guard seen.count < 256, seen.insert(key).inserted else { continue }
            worst = max(worst, inCellSpeedup(shapes(resolvedJSON: key), workers: workers))
        }
        let side = k > 1 ? Double(k) * sideBySideEfficiency : 1
        return Choice(jobs: k > 1 && side > worst ? k : 1, inCell: worst, sideBySide: side)
    }

    /// Cells to run at once for these cells on `workers` workers.
    public static func jobs(for cells: [PlannedCell], workers: Int) -> Int {
        choose(for: cells, workers: workers).jobs
    }

    static func int(_ value: Any?) -> Int? {
        if let n = value as? NSNumber { return n.intValue }
        return nil
    }

    static func maxInt(_ key: String, in node: Any) -> Int? {
        var best: Int?
        if let object = node as? [String: Any] {
            if let n = int(object[key]) { best = n }
            for value in object.values {
                if let n = maxInt(key, in: value) { best = max(best ?? n, n) }
            }
        } else if let array = node as? [Any] {
            for value in array {
                if let n = maxInt(key, in: value) { best = max(best ?? n, n) }
            }
        }
        return best
    }
}

/// What the scheduler did, for the manifest.
struct ScheduleOutcome {
    var cellsInParallel: Int
    var trained: [TeacherRecord]
    var loadedFromCache: [String]
}

enum CellScheduler {
    /// Computes `todo` and writes each finished cell's record to `store`; returns what it did.
    static func run(
        _ todo: [PlannedCell], of experiment: Experiment, options: RunOptions, store: CellStore, commit: String
    ) throws -> ScheduleOutcome {
        let workers = max(1, options.threads)
        let jobs: Int
        let note: String
        switch options.jobs {
        case .auto:
            let choice = CellCostModel.choose(for: todo, workers: workers)
            jobs = choice.jobs
            note = String(
                format:
                    " (cost model: %.2f× for one cell on %d workers, %.2f× for %d side by side; --jobs N overrides)",
                choice.inCell, workers, choice.sideBySide, min(workers, todo.count))
        case .fixed(let n):
            jobs = max(1, min(n, todo.count))
            note = " (--jobs \(n))"
        }
        if todo.count > 1, workers > 1 || jobs > 1 {
            options.log(
                jobs > 1
                    ? "running \(todo.count) cells \(jobs) at a time, each on \(max(1, workers / jobs)) worker(s)\(note)"
                    : "running \(todo.count) cells one at a time, each on \(workers) worker(s)\(note)")
        }
        let context = RunContext(
            cache: options.cache, showProgress: options.showProgress, log: options.log,
            remoteTeachers: options.remoteTeachers)
        func record(_ cell: PlannedCell, _ result: CellResult, since start: Date) throws {
            try store.write(
                CellRecord(
                    hash: cell.hash, kind: experiment.kindName, index: cell.index, labels: cell.labels, result: result,
                    seconds: Date().timeIntervalSince(start), shard: options.shard.description, commit: commit))
        }
        func compute(_ cell: PlannedCell, in context: RunContext) throws -> CellResult {
            do {
                return try cell.run(in: context)
            } catch {
                throw LabError.message(
                    "cell \(cell.index) (\(Runner.describe(cell, in: experiment))) failed: \(error)")
            }
        }

        guard jobs > 1 else {
            let progress = ProgressReporter(
                total: todo.count, label: "\(experiment.name) cells", enabled: options.showProgress && !todo.isEmpty)
            for (done, cell) in todo.enumerated() {
                let start = Date()
                try record(cell, compute(cell, in: context), since: start)
                progress.update(done + 1, detail: Runner.describe(cell, in: experiment))
            }
            progress.finish()
            return ScheduleOutcome(
                cellsInParallel: 1, trained: context.trained, loadedFromCache: context.loadedFromCache)
        }

        // The teachers the cells name, trained or loaded once on every worker before cells share the cores. A
        // teacher that fails here fails again in its first cell, which reports it as that cell's error.
        for spec in teachers(of: todo) { _ = try? context.teacher(spec) }
        let display = CellProgress(
            label: experiment.name, total: todo.count, slots: jobs, enabled: options.showProgress,
            log: options.log)
        let shared = SharedQueue(todo)
        let contexts = (0..<jobs).map { _ in
            RunContext(
                cache: options.cache, showProgress: false, log: { display.log($0) },
                remoteTeachers: options.remoteTeachers)
        }
        // Each slot runs its cells on its own thread with its share of the workers.
        let perCell = max(1, workers / jobs)
        func runSlot(_ slot: Int) {
            let context = contexts[slot]
            while let (i, cell) = shared.next() {
                display.started(slot, text: "cell \(cell.index) \(Runner.describe(cell, in: experiment))")
                let start = Date()
                do {
                    try record(cell, compute(cell, in: context), since: start)
                    display.finished(slot)
                } catch {
                    shared.fail(i, error)
                    display.finished(slot)
                    return
                }
            }
        }
        let body: (Int) -> Void = { slot in
            Parallel.withWorkers(perCell) { runSlot(slot) }
        }
        let unchecked = UncheckedSendable(body)
        var threads: [Thread] = []
        let group = DispatchGroup()
        for slot in 1..<jobs {
            group.enter()
            let thread = Thread {
                unchecked.value(slot)
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.name = "distill-lab cells \(slot)"
            threads.append(thread)
            thread.start()
        }
        display.startTicker()
        body(0)
        group.wait()
        display.finish()
        if let error = shared.firstError { throw error }
        return ScheduleOutcome(
            cellsInParallel: jobs,
            trained: context.trained + contexts.flatMap(\.trained),
            loadedFromCache: context.loadedFromCache + contexts.flatMap(\.loadedFromCache))
    }

    /// The distinct top-level `teacher` specs of the cells, in cell order (kinds that name one train it).
    static func teachers(of cells: [PlannedCell]) -> [TeacherSpec] {
        var seen = Set<String>()
        var out: [TeacherSpec] = []
        for cell in cells {
            guard
                let root = try? JSONSerialization.jsonObject(with: Data(cell.resolvedCellJSON.utf8)) as? [String: Any],
                let node = root["teacher"], JSONSerialization.isValidJSONObject(node),
                let data = try? JSONSerialization.data(withJSONObject: node),
                let spec = try? JSONDecoder().decode(TeacherSpec.self, from: data),
                let hash = try? spec.contentHash(), seen.insert(hash).inserted
            else { continue }
            out.append(spec)
        }
        return out
    }
}

/// A value handed to another thread that the caller guarantees is used safely (here: per-slot contexts and
/// a queue behind a mutex).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The cells still to start, handed out in grid order; after a failure no new cell starts.
final class SharedQueue: @unchecked Sendable {
    private let cells: [PlannedCell]
    private let lock = NSLock()
    private var position = 0
    private var failure: (index: Int, error: any Error)?

    init(_ cells: [PlannedCell]) { self.cells = cells }

    func next() -> (Int, PlannedCell)? {
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil, position < cells.count else { return nil }
        position += 1
        return (position - 1, cells[position - 1])
    }

    /// Keeps the failure of the earliest cell (so the message does not depend on timing).
    func fail(_ index: Int, _ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        if failure == nil || index < failure!.index { failure = (index, error) }
    }

    var firstError: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return failure?.error
    }
}

/// Progress of cells running side by side: on a terminal, a bar with ETA and one line per running cell,
/// redrawn in place; otherwise a plain line when a cell starts and when it ends (with the count and ETA).
final class CellProgress: @unchecked Sendable {
    let label: String
    let total: Int
    let enabled: Bool
    let isTerminal: Bool
    let start = Date()
    private let sink: (String) -> Void
    private let lock = NSLock()
    private var running: [(text: String, since: Date)?]
    private var done = 0
    private var drawnLines = 0

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
    private var stopped = false

    init(label: String, total: Int, slots: Int, enabled: Bool, log: @escaping (String) -> Void) {
        self.label = label
        self.total = max(1, total)
        self.enabled = enabled
        self.isTerminal = enabled && isatty(STDERR_FILENO) != 0
        self.running = Array(repeating: nil, count: slots)
        self.sink = log
    }

    func started(_ slot: Int, text: String) {
        locked {
            running[slot] = (text, Date())
            if isTerminal { redraw() } else if enabled { sink("\(label): started \(text)") }
        }
    }

    func finished(_ slot: Int) {
        locked {
            let text = running[slot]?.text ?? ""
            let seconds = running[slot].map { Date().timeIntervalSince($0.since) } ?? 0
            running[slot] = nil
            done += 1
            if isTerminal {
                redraw()
            } else if enabled {
                sink(
                    "\(label): finished \(text) in \(clock(seconds)); \(done)/\(total) cells, elapsed \(clock(elapsed)) eta \(clock(eta))"
                )
            }
        }
    }

    /// A line from a cell (teacher training, waiting for a lock), printed above the bar.
    func log(_ line: String) {
        locked {
            clear()
            sink(line)
            if isTerminal, !stopped { redraw() }
        }
    }

    /// On a terminal, redraws every second so elapsed times move while long cells run.
    func startTicker() {
        guard isTerminal else { return }
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 1)
                let more = locked {
                    if !stopped { redraw() }
                    return !stopped
                }
                if !more { return }
            }
        }
        thread.start()
    }

    func finish() {
        locked {
            if isTerminal {
                clear()
                sink(
                    "\(label) cells [\(bar(1))] \(done)/\(total) \(clock(elapsed))")
            }
            stopped = true
        }
    }

    /// "mm:ss", or "h:mm:ss" from an hour.
    func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%02d:%02d", s / 60, s % 60)
    }

    private var elapsed: Double { Date().timeIntervalSince(start) }
    private var eta: Double { done > 0 ? elapsed / Double(done) * Double(total - done) : .nan }

    private func bar(_ fraction: Double) -> String {
        let width = 28
        let filled = Int(min(1, fraction) * Double(width))
        return String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    }

    /// Erases the block drawn last (cursor up and clear each line).
    private func clear() {
        guard isTerminal, drawnLines > 0 else { return }
        FileHandle.standardError.write(Data(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawnLines).utf8))
        drawnLines = 0
    }

    private func redraw() {
        clear()
        var lines = [
            "\(label) cells [\(bar(Double(done) / Double(total)))] \(done)/\(total) \(clock(elapsed)) eta \(clock(eta))"
        ]
        for (slot, entry) in running.enumerated() {
            guard let entry else { continue }
            lines.append("  [\(slot + 1)] \(entry.text) \(clock(Date().timeIntervalSince(entry.since)))")
        }
        FileHandle.standardError.write(Data(lines.map { $0 + "\n" }.joined().utf8))
        drawnLines = lines.count
    }
}
