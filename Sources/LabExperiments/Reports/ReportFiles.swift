// ReportFiles: how the single-run reports (an attack's curve, a logit-leak sweep, the benign-cost table) reach
// disk. Not the runner's results directory (ResultsWriter), which also keeps a manifest and cells.
import Foundation
import LabCore

/// The one way `distill-lab`'s single-run commands write their report files: the directory created if needed,
/// each file written to a temporary name and renamed into place, and a failure naming the path.
enum ReportFiles {
    static func write(_ files: [(name: String, data: Data)], to directory: URL) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LabError.file(
                path: directory.path, message: "cannot create the directory (\(error.localizedDescription))")
        }
        var written: [URL] = []
        for (name, data) in files {
            let url = directory.appendingPathComponent(name)
            do {
                try data.write(to: url, options: .atomic)
            } catch {
                throw LabError.file(path: url.path, message: "cannot write (\(error.localizedDescription))")
            }
            written.append(url)
        }
        return written
    }
}
