// CleanTree: the rule that committed results come from committed code — computing cells into a repository's
// `results/` refuses while tracked files outside `results/` differ from HEAD, naming them, unless the caller
// allows a dirty tree (the manifest then records it). Not a git wrapper: it only asks `git status`.
import Foundation
import LabCore

public enum CleanTree {
    /// Throws when `output` lies under the `results/` directory at the top of a git work tree whose tracked
    /// files outside `results/` have uncommitted changes. Outside a repository, or outside its results/, it
    /// never throws.
    public static func check(output: URL, allowDirty: Bool) throws {
        guard !allowDirty else { return }
        var probe = output.standardizedFileURL
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" {
            probe = probe.deletingLastPathComponent()
        }
        guard
            let top = Manifest.run(["git", "-C", probe.path, "rev-parse", "--show-toplevel"])?.trimmingCharacters(
                in: .whitespacesAndNewlines),
            !top.isEmpty
        else { return }
        let results = URL(fileURLWithPath: top).appendingPathComponent("results").resolvingSymlinksInPath().path + "/"
        guard (output.standardizedFileURL.resolvingSymlinksInPath().path + "/").hasPrefix(results) else { return }
        let status =
            Manifest.run([
                "git", "-C", top, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results",
            ]) ?? ""
        let changed = status.split(separator: "\n").map { String($0.dropFirst(3)) }.filter { !$0.isEmpty }
        guard changed.isEmpty else {
            let shown =
                changed.prefix(5).joined(separator: ", ") + (changed.count > 5 ? " and \(changed.count - 5) more" : "")
            throw LabError.message(
                "\(output.path) is in the repository's results/, but \(shown) differ from the commit, so its manifest could not name "
                    + "the code that made it; commit first, write elsewhere with --out, or pass --allow-dirty (the manifest records a dirty tree)"
            )
        }
    }
}
