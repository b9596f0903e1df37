// FileLock: an advisory lock on a file (flock), held for the life of the object, with the holder's pid written
// inside so that a refused caller can say who holds it. Guards an output directory against two `run`s and a
// teacher-cache entry against being trained twice. Not a lock between threads of one process.
import Foundation
import LabCore

#if canImport(Glibc)
    import Glibc
#endif

public final class FileLock {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock at `path` (creating the file): exclusive, or `shared` with other shared holders. With
    /// `wait` false, a conflicting lock held by another process is an error naming `what` is locked and the
    /// holder's pid; with `wait` true it blocks until the holder ends. `onWait` is called once before blocking.
    public init(
        path: String, what: String, shared: Bool = false, wait: Bool, hint: String, onWait: (Int32?) -> Void = { _ in }
    ) throws {
        let mode = shared ? LOCK_SH : LOCK_EX
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LabError.file(
                path: path,
                message:
                    "cannot create the lock file for \(what) (\(String(cString: strerror(errno)))); check the directory is writable"
            )
        }
        if flock(fd, mode | LOCK_NB) != 0 {
            let holder = FileLock.holder(fd)
            guard wait else {
                close(fd)
                let who = holder.map { "distill-lab process \($0)" } ?? "another distill-lab process"
                throw LabError.file(path: path, message: "\(what) is in use by \(who); \(hint)")
            }
            onWait(holder)
            while flock(fd, mode) != 0 {
                guard errno == EINTR else {
                    close(fd)
                    throw LabError.file(
                        path: path, message: "cannot lock \(what) (\(String(cString: strerror(errno))))")
                }
            }
        }
        // Record our pid for whoever is refused next (a shared holder overwrites another's: either is a holder).
        _ = ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.path = path
        self.descriptor = fd
    }

    /// The pid written by the current holder, if readable.
    static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
