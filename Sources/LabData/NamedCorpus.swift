// NamedCorpus: natural-language corpora that a Debian package installs, read in place from where the package
// puts them (never copied into the repository), split into documents. Not a downloader: a missing package is an
// error naming it and the command that installs it (scripts/corpora.sh installs every one).
import Foundation
import LabCore

/// A corpus `kind: text` can name with `source:` instead of a `path:`.
public struct NamedCorpus: Sendable, Equatable {
    /// The name an experiment file writes (`source: fortunes`).
    public let name: String
    /// The Debian package that installs the files.
    public let package: String
    /// The directory the package installs them into.
    public let directory: String
    /// What it is, for documentation and error messages.
    public let summary: String
    /// A line that separates documents inside a file (nil: each file is one document).
    public let separatorLine: String?
    /// Which files of `directory` belong to the corpus.
    let includes: @Sendable (String) -> Bool

    public static func == (a: NamedCorpus, b: NamedCorpus) -> Bool {
        a.name == b.name && a.package == b.package && a.directory == b.directory
    }

    public init(
        name: String, package: String, directory: String, summary: String, separatorLine: String?,
        includes: @escaping @Sendable (String) -> Bool
    ) {
        self.name = name
        self.package = package
        self.directory = directory
        self.summary = summary
        self.separatorLine = separatorLine
        self.includes = includes
    }

    /// Every built-in corpus.
    public static let all: [NamedCorpus] = [
        NamedCorpus(
            name: "fortunes", package: "fortunes", directory: "/usr/share/games/fortunes",
            summary:
                "the fortune(6) cookie files (about 2.5 MB of English quotations, jokes and verse; documents are single fortunes)",
            separatorLine: "%", includes: { !$0.hasSuffix(".dat") && !$0.hasSuffix(".u8") && !$0.hasPrefix(".") })
    ]

    /// The built-in corpus called `name`, or `LabError.invalidConfig(key: "source")` listing the names.
    public static func named(_ name: String) throws -> NamedCorpus {
        guard let corpus = all.first(where: { $0.name == name }) else {
            throw LabError.invalidConfig(
                key: "source",
                message:
                    "is '\(name)'; built-in corpora: \(all.map(\.name).joined(separator: ", ")) (or give a file with `path:`)"
            )
        }
        return corpus
    }

    /// The corpus's files in name order, or `LabError.file` naming the package and the install command.
    public func files() throws -> [URL] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let install = "install it with `sudo apt-get install \(package)` (or `bash scripts/corpora.sh`)"
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LabError.file(
                path: directory,
                message:
                    "is missing: the built-in corpus '\(name)' is read from the Debian package '\(package)'; \(install)"
            )
        }
        let names = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter(includes).sorted()
        let urls = names.map { URL(fileURLWithPath: directory).appendingPathComponent($0) }.filter { url in
            // Symbolic links (fortunes' *.u8 aliases) would count a file twice.
            ((try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])).map {
                $0.isRegularFile == true && $0.isSymbolicLink != true
            }) ?? false
        }
        guard !urls.isEmpty else {
            throw LabError.file(
                path: directory,
                message:
                    "holds none of the corpus '\(name)''s files; reinstall the package: `sudo apt-get install --reinstall \(package)`"
            )
        }
        return urls
    }

    /// The bytes of every file, concatenated in name order: what `sha256` and `bytes` describe.
    public func contents() throws -> Data {
        var data = Data()
        for url in try files() {
            do {
                data.append(try Data(contentsOf: url))
            } catch {
                throw LabError.file(
                    path: url.path,
                    message: "cannot be read (\(error.localizedDescription)); reinstall the package '\(package)'")
            }
        }
        return data
    }

    /// The documents of the corpus in file order, each ending in a newline, and its origin record.
    public func documents() throws -> (documents: [String], origin: CorpusOrigin) {
        let data = try contents()
        var documents: [String] = []
        for url in try files() {
            guard let text = String(data: (try? Data(contentsOf: url)) ?? Data(), encoding: .utf8) else {
                throw LabError.file(
                    path: url.path, message: "is not valid UTF-8 text; reinstall the package '\(package)'")
            }
            var current: [Substring] = []
            func flush() {
                if current.contains(where: { !$0.allSatisfy(\.isWhitespace) }) {
                    documents.append(current.joined(separator: "\n") + "\n")
                }
                current = []
            }
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if let separatorLine, line == separatorLine { flush() } else { current.append(line) }
            }
            flush()
        }
        return (documents, CorpusOrigin(name: name, sha256: SHA256.hex(data), bytes: data.count))
    }
}

/// Where a text corpus came from: recorded in checkpoints (`corpus_name`, `corpus_sha256`, `corpus_bytes`).
public struct CorpusOrigin: Codable, Equatable, Sendable {
    /// The built-in corpus's name, or the file's name.
    public var name: String
    /// SHA-256 of the source bytes (for a built-in corpus, its files concatenated in name order).
    public var sha256: String
    public var bytes: Int

    public init(name: String, sha256: String, bytes: Int) {
        self.name = name
        self.sha256 = sha256
        self.bytes = bytes
    }

    /// The checkpoint metadata entries.
    public var metadata: [String: String] {
        ["corpus_name": name, "corpus_sha256": sha256, "corpus_bytes": String(bytes)]
    }
}
