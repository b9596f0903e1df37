// FileRead: reading a whole file a user named, with an error that says which of the usual things is wrong —
// missing, a directory where a file belongs, unreadable (permissions), a parent that cannot be listed — instead
// of a Foundation error number. Not streaming; the files it reads are configs, tokenizers and corpora.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public enum FileRead {
    /// The bytes of the file at `path`; `what` names it in errors ("config.json", "the text corpus").
    public static func data(_ path: String, what: String, fix: String = "check the path") throws -> Data {
        try check(path, what: what, fix: fix)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LabError.file(
                path: path, message: "\(what) cannot be read (\(String(cString: strerror(errno)))); \(fix)")
        }
    }

    /// Throws unless `path` is an existing, readable regular file (or a symlink to one).
    public static func check(_ path: String, what: String, fix: String = "check the path") throws {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == EACCES {
                throw LabError.file(
                    path: path,
                    message:
                        "\(what) cannot be reached: permission denied on a directory above it; check the directories' permissions"
                )
            }
            if code == ENOTDIR {
                throw LabError.file(
                    path: path,
                    message: "\(what) cannot exist here: a component of the path is a file, not a directory; \(fix)")
            }
            throw LabError.file(path: path, message: "\(what) does not exist; \(fix)")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw LabError.file(path: path, message: "is a directory, but \(what) must be a file; pass the file itself")
        }
        if access(path, R_OK) != 0 {
            throw LabError.file(
                path: path, message: "\(what) is not readable (permission denied); check its permissions (chmod +r)")
        }
    }

    /// Throws when `path` cannot be reached or listed for lack of permission (on it or a directory above
    /// it), so that a permission problem is never reported as a missing file. Silent when it is missing.
    public static func checkPermissions(_ path: String, what: String) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == EACCES {
                throw LabError.file(
                    path: path,
                    message:
                        "\(what) cannot be reached: permission denied on a directory above it; check the directories' permissions"
                )
            }
            return
        }
        let needed = (info.st_mode & S_IFMT) == S_IFDIR ? R_OK | X_OK : R_OK
        if access(path, needed) != 0 {
            throw LabError.file(
                path: path, message: "\(what) is not readable (permission denied); check its permissions")
        }
    }

    /// Throws unless files can be created at `path` (a directory to be created or replaced): every missing
    /// directory is created, and a probe file written and removed in the nearest one. For failing before work.
    public static func checkWritableDirectory(_ path: String, what: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw LabError.file(
                path: path,
                message: "exists and is a file; \(what) is a directory: choose another path or remove the file")
        }
        let parent = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw LabError.file(
                path: parent.path,
                message: "cannot be created for \(what) (\(String(cString: strerror(errno)))); choose a writable place")
        }
        let probe = parent.appendingPathComponent(".distill-lab-probe-\(getpid())")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
            throw LabError.file(
                path: parent.path, message: "is not writable, so \(what) cannot be saved there; choose a writable place"
            )
        }
        try? FileManager.default.removeItem(at: probe)
    }
}
