// Runner: runs an experiment's cells in their fixed order with a progress bar and ETA, skipping every cell whose
// record is already in the cells directory (so a killed run resumes where it stopped), optionally only a
// contiguous shard of them; and, once every cell of the grid has a record, writes the results. `merge` joins
// the cells directories of separate shard runs. Not what a cell computes (kinds) nor how results look (writers).
import Foundation
import LabCore

/// A deterministic slice of the cells: shard i of n (1-based) takes the i-th contiguous block.
/// Contiguous rather than round-robin so that cells sharing a teacher (adjacent in grid order) tend to land
/// in the same shard, and each teacher is trained once per shard rather than once per cell.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public static let whole = Shard(index: 1, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses "i/n" with 1 ≤ i ≤ n. (For 0-based array indices, as Kubernetes gives, pass $((INDEX + 1)).)
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(i) else {
            throw LabError.invalidConfig(
                key: "--shard",
                message:
                    "is '\(text)'; write i/n with 1 ≤ i ≤ n, e.g. --shard 2/3 (for 0-based job indices use $((INDEX + 1))/n)"
            )
        }
        self.init(index: i, count: n)
    }

    /// The indices of `total` cells this shard runs.
    public func range(of total: Int) -> Range<Int> {
        ((index - 1) * total / count)..<(index * total / count)
    }

    public var description: String { "\(index)/\(count)" }
}

public struct RunOptions {
    /// results/<experiment> by default; cells go in its `cells/` directory.
    public var output: URL
    public var cache: TeacherCache
    public var shard: Shard = .whole
    /// Delete finished cells first and compute everything again.
    public var fresh = false
    /// Run even when the output directory holds another experiment's results (replacing them).
    public var overwriteForeign = false
    /// Wait for another process using the output directory instead of refusing.
    public var waitForLock = false
    /// Compute into the repository's results/ even while code outside results/ differs from the commit.
    public var allowDirtyTree = false
    public var showProgress = true
    /// Cells to run at once (`--jobs`): chosen by CellCostModel, or fixed.
    public var jobs: CellJobs = .auto
    /// Worker threads: the run's `Parallel.withWorkers` scope, shared out among cells run side by side;
    /// recorded in the manifest.
    public var threads: Int
    /// Progress lines and notes, to standard error by default.
    public var log: (String) -> Void
    /// How attack cells that name an `endpoint:` reach the served teacher (nil: such cells fail, naming it).
    public var remoteTeachers: (any RemoteTeacherConnector)?

    public init(
        output: URL, cache: TeacherCache, threads: Int,
        log: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    ) {
        self.output = output
        self.cache = cache
        self.threads = threads
        self.log = log
    }

    public var cells: CellStore { CellStore(directory: output.appendingPathComponent("cells")) }
}

public struct RunSummary {
    public var total: Int
    /// Cells this invocation was asked for (its shard), computed now, or found finished.
    public var inShard: Int
    public var computed: Int
    public var reused: Int
    /// Cells of the whole grid still without a record (other shards' work).
    public var missing: Int
    public var wrote: [URL]
    public var seconds: Double
}

public enum Runner {
    /// Runs the experiment's cells (those of `options.shard`) with `options.threads` workers, then writes its results.
    public static func run(_ experiment: Experiment, options: RunOptions) throws -> RunSummary {
        try Parallel.withWorkers(options.threads) { try runCells(experiment, options: options) }
    }

    private static func runCells(_ experiment: Experiment, options: RunOptions) throws -> RunSummary {
        let start = Date()
        let store = options.cells
        try OutputOwner.check(experiment, output: options.output, allowForeign: options.overwriteForeign)
        let locks = try OutputOwner.lock(
            options.output, shard: options.shard, wait: options.waitForLock, log: options.log)
        defer { withExtendedLifetime(locks) {} }
        // Checked again under the lock: the holder we waited for may have claimed the directory.
        try OutputOwner.check(experiment, output: options.output, allowForeign: options.overwriteForeign)
        let mine = experiment.cells[options.shard.range(of: experiment.cells.count)]
        // Before anything is deleted or computed: committed results come from committed code.
        if options.fresh || mine.contains(where: { !store.contains($0.hash) }) {
            try CleanTree.check(output: options.output, allowDirty: options.allowDirtyTree)
        }
        if OutputOwner.recorded(in: options.output).contains(where: { $0.0.isForeign(to: OutputOwner(experiment)) }) {
            try store.clear()
        } else if options.fresh {
            // A shard discards only its own cells: the other shards' may be running beside it.
            if options.shard.count > 1 { try store.remove(Set(mine.map(\.hash))) } else { try store.clear() }
        }
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
        try OutputOwner.claim(experiment, output: options.output)
        // Cells that share a hash (identical resolved specs) are computed once.
        var seen = Set<String>()
        let todo = mine.filter { !store.contains($0.hash) && seen.insert($0.hash).inserted }
        let reused = mine.count - todo.count
        if reused > 0 {
            options.log(
                "\(reused) of \(mine.count) cells already finished in \(store.directory.path); computing the other \(todo.count)"
            )
        }

        let commit = todo.isEmpty ? "unknown" : Manifest.gitState().commit
        // One cell at a time on every worker, or several side by side (CellScheduler).
        let outcome = try CellScheduler.run(todo, of: experiment, options: options, store: store, commit: commit)

        var invocation = Invocation(
            command: "run", shard: options.shard, threads: options.threads, started: start,
            seconds: Date().timeIntervalSince(start),
            computed: todo.count, reused: reused, trained: outcome.trained, loadedFromCache: outcome.loadedFromCache)
        invocation.cellsInParallel = outcome.cellsInParallel
        return try finish(experiment, store: store, output: options.output, invocation: invocation, inShard: mine.count)
    }

    /// Copies the finished cells of each shard's output directory into `output`'s cells directory (a cell
    /// already there is kept), then writes the results if every cell of the grid is present.
    public static func merge(
        _ experiment: Experiment, from sources: [URL], into output: URL, threads: Int, overwriteForeign: Bool = false,
        wait: Bool = false, log: @escaping (String) -> Void = { _ in }
    ) throws -> RunSummary {
        let start = Date()
        let store = CellStore(directory: output.appendingPathComponent("cells"))
        try OutputOwner.check(experiment, output: output, allowForeign: overwriteForeign)
        let locks = try OutputOwner.lock(output, wait: wait, log: log)
        defer { withExtendedLifetime(locks) {} }
        try OutputOwner.check(experiment, output: output, allowForeign: overwriteForeign)
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
        try OutputOwner.claim(experiment, output: output)
        let wanted = Set(experiment.cells.map(\.hash))
        var copied = 0
        for source in sources {
            let shardStore = CellStore(directory: source.appendingPathComponent("cells"))
            guard FileManager.default.fileExists(atPath: shardStore.directory.path) else {
                throw LabError.file(
                    path: shardStore.directory.path,
                    message: "does not exist; pass the --out directory of each shard run")
            }
            for hash in shardStore.hashes().sorted() where wanted.contains(hash) && !store.contains(hash) {
                guard let record = try shardStore.record(hash) else { continue }
                try store.write(record)
                copied += 1
            }
        }
        let invocation = Invocation(
            command: "merge", shard: .whole, threads: threads, started: start, seconds: Date().timeIntervalSince(start),
            computed: 0, reused: copied, trained: [], loadedFromCache: [])
        return try finish(experiment, store: store, output: output, invocation: invocation, inShard: 0)
    }

    /// Writes the results when every cell has a record; otherwise reports what is missing.
    static func finish(_ experiment: Experiment, store: CellStore, output: URL, invocation: Invocation, inShard: Int)
        throws -> RunSummary
    {
        var records: [CellRecord] = []
        var missing = 0
        for cell in experiment.cells {
            if let r = try store.record(cell.hash) { records.append(r) } else { missing += 1 }
        }
        var summary = RunSummary(
            total: experiment.cells.count, inShard: inShard, computed: invocation.computed, reused: invocation.reused,
            missing: missing, wrote: [], seconds: invocation.seconds)
        if missing == 0 {
            summary.wrote = try ResultsWriter(experiment: experiment, records: records, invocation: invocation).write(
                to: output)
        }
        return summary
    }

    /// "teacher.model.width=64 seed=1".
    static func describe(_ cell: PlannedCell, in experiment: Experiment) -> String {
        zip(experiment.axes, cell.labels).filter { $0.0.labels.count > 1 || $0.0.isSeed }.map {
            "\(short($0.0.name))=\($0.1)"
        }.joined(separator: " ")
    }

    /// The last component of a key path, for compact progress lines.
    static func short(_ name: String) -> String { name.split(separator: ".").last.map(String.init) ?? name }
}

/// What one invocation did, for the manifest.
public struct Invocation {
    public var command: String
    public var shard: Shard
    public var threads: Int
    public var started: Date
    public var seconds: Double
    public var computed: Int
    public var reused: Int
    public var trained: [TeacherRecord]
    public var loadedFromCache: [String]
    /// Cells this invocation ran side by side (1: one at a time on every worker).
    public var cellsInParallel = 1
}
