// OutputOwner: which experiment an output directory belongs to, read from its owner file (written when a run
// starts) or its manifest.json (written when results are), so that `run` and `merge` refuse to overwrite or
// delete another experiment's results. Not the lock against two concurrent runs (FileLock).
import Foundation
import LabCore

public struct OutputOwner: Equatable {
    public var experiment: String
    public var file: String
    public var fileHash: String
    /// The `--set` overrides the results were computed with: other overrides are other results.
    public var overrides: [String] = []

    static let ownerFile = ".distill-lab-owner.json"
    static let lockFile = ".distill-lab.lock"

    init(experiment: String, file: String, fileHash: String) {
        self.experiment = experiment
        self.file = file
        self.fileHash = fileHash
    }

    init(_ experiment: Experiment) {
        self.init(
            experiment: experiment.name, file: experiment.file, fileHash: SHA256.hex(Data(experiment.source.text.utf8)))
        overrides = experiment.overrides.map(\.text)
    }

    /// The owners recorded in `output` (owner file, manifest), with the file each came from.
    static func recorded(in output: URL) -> [(OutputOwner, String)] {
        var owners: [(OutputOwner, String)] = []
        for name in [ownerFile, "manifest.json"] {
            let url = output.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let experiment = object["experiment"] as? String
            else { continue }
            var owner = OutputOwner(
                experiment: experiment, file: object["file"] as? String ?? "",
                fileHash: object["file_sha256"] as? String ?? "")
            owner.overrides = object["overrides"] as? [String] ?? []
            owners.append((owner, url.path))
        }
        return owners
    }

    /// Another experiment's results: a different name, or the same name from a different file with different
    /// content. (The same file edited keeps its directory: cells are filed by hash, so unchanged ones are reused.)
    func isForeign(to other: OutputOwner) -> Bool {
        if experiment != other.experiment || overrides != other.overrides { return true }
        return fileHash != other.fileHash && !file.isEmpty && !other.file.isEmpty
            && URL(fileURLWithPath: file).standardizedFileURL.path
                != URL(fileURLWithPath: other.file).standardizedFileURL.path
    }

    /// Throws when `output` holds another experiment's results, unless `allowForeign`.
    static func check(_ experiment: Experiment, output: URL, allowForeign: Bool) throws {
        let me = OutputOwner(experiment)
        for (owner, source) in recorded(in: output) where owner.isForeign(to: me) && !allowForeign {
            let origin =
                (owner.file.isEmpty ? "" : " (file \(owner.file), sha256 \(owner.fileHash.prefix(12)))")
                + (owner.overrides.isEmpty ? "" : " with --set \(owner.overrides.joined(separator: " --set "))")
            let mine = me.overrides.isEmpty ? "" : " with --set \(me.overrides.joined(separator: " --set "))"
            throw LabError.file(
                path: output.path,
                message: "holds the results of experiment '\(owner.experiment)'\(origin), per \(source); "
                    + "running '\(me.experiment)' (file \(me.file))\(mine) here would overwrite them. Choose another --out, or pass --overwrite-foreign to replace them"
            )
        }
    }

    /// Records `experiment` as the directory's owner.
    static func claim(_ experiment: Experiment, output: URL) throws {
        let me = OutputOwner(experiment)
        var fields: [(String, JSONValue)] = [
            ("experiment", .string(me.experiment)), ("file", .string(me.file)), ("file_sha256", .string(me.fileHash)),
        ]
        if !me.overrides.isEmpty { fields.append(("overrides", .array(me.overrides.map { .string($0) }))) }
        let json = JSONValue.object(fields)
        try AtomicFile.write(json.pretty, to: output.appendingPathComponent(ownerFile))
    }

    /// Locks `output` against a second `run` or `merge` for as long as the returned locks live. A whole run
    /// holds the directory exclusively; shard i/n holds it shared (other shards of the grid may run beside
    /// it, on other cells) and its own shard exclusively.
    static func lock(_ output: URL, shard: Shard = .whole, wait: Bool, log: @escaping (String) -> Void) throws
        -> [FileLock]
    {
        let onWait = { (pid: Int32?) in
            log("waiting for distill-lab process \(pid.map(String.init) ?? "?") to release \(output.path)")
        }
        let hint = "wait for it to finish, pass --wait to queue behind it, or choose another --out"
        let directory = try FileLock(
            path: output.appendingPathComponent(lockFile).path, what: "output directory \(output.path)",
            shared: shard.count > 1,
            wait: wait, hint: hint, onWait: onWait)
        guard shard.count > 1 else { return [directory] }
        let own = try FileLock(
            path: output.appendingPathComponent(".distill-lab.shard-\(shard.index)-of-\(shard.count).lock").path,
            what: "shard \(shard) of output directory \(output.path)", wait: wait, hint: hint, onWait: onWait)
        return [directory, own]
    }
}
