// ValidationContext: what kinds need to validate a cell before any work — the vocabulary and split sizes of a
// corpus (found by building a tiny copy, memoised across cells) and the defence registry's verdict on a
// pipeline — turned into `SpecIssue`s with key paths. Not training, not serving: nothing here is slow.
import Foundation
import LabAPI
import LabCore
import LabData
import LabDefences
import LabModel

/// What validation knows about a corpus without training on it.
public struct CorpusProbe: Sendable {
    public var vocabularySize: Int
    /// Tokens per split, when known before a full build (always, except for text files which are built).
    public var splitTokens: [Split: Int]
    public var entropyRate: Double?
}

/// A defence as resolved from the registry: its name and every parameter, defaults included, as the defence
/// itself prints them — what is hashed, so `{top_k: {}}` and `{top_k: {k: 5}}` are the same cell.
public struct ResolvedDefence: Encodable, Equatable, Sendable {
    public var name: String
    public var parameters: [String: String]
    /// "top_k(k=5, renormalise=false)".
    public var summary: String
    /// The parameters in the order the defence lists them: how they are written out. (A dictionary's own
    /// order changes from process to process, which would make config.resolved.yaml differ between runs.)
    var order: [String]

    enum CodingKeys: String, CodingKey { case name, parameters, summary }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try OrderedStrings(keys: order, values: parameters).encode(to: c.superEncoder(forKey: .parameters))
        try c.encode(summary, forKey: .summary)
    }
}

/// A string-to-string mapping encoded in a fixed key order.
struct OrderedStrings: Encodable {
    var keys: [String]
    var values: [String: String]

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: PathKey.self)
        for k in keys { if let v = values[k] { try c.encode(v, forKey: PathKey(stringValue: k)) } }
    }
}

public final class ValidationContext {
    var probes: [String: CorpusProbe] = [:]

    public init() {}

    /// Vocabulary and split sizes of `spec`. Built-in corpora are built with tiny splits (their tokenizer does
    /// not depend on the split sizes); text corpora are built in full, since their vocabulary is the file's.
    public func probe(_ spec: CorpusSpec) throws -> CorpusProbe {
        let key = try CanonicalJSON.string(spec)
        if let p = probes[key] { return p }
        let probe: CorpusProbe
        do {
            if spec.kind == .text {
                let corpus = try spec.build()
                probe = CorpusProbe(
                    vocabularySize: corpus.tokenizer.vocabularySize,
                    splitTokens: [
                        .train: corpus.train.count, .validation: corpus.validation.count, .test: corpus.test.count,
                    ],
                    entropyRate: nil)
            } else {
                var tiny = spec
                tiny.trainTokens = 64
                tiny.validationTokens = 64
                tiny.testTokens = 64
                let corpus = try tiny.build()
                probe = CorpusProbe(
                    vocabularySize: corpus.tokenizer.vocabularySize,
                    splitTokens: [
                        .train: spec.trainTokens, .validation: spec.validationTokens, .test: spec.testTokens,
                    ],
                    entropyRate: corpus.entropyRate)
            }
        } catch let LabError.invalidConfig(key, message) {
            throw SpecIssue(["teacher", "corpus", key], message)
        } catch let LabError.file(path, message) {
            throw SpecIssue(
                ["teacher", "corpus", "path"], "\(path): \(message)",
                fix: "paths are relative to the directory you run distill-lab from")
        } catch {
            throw SpecIssue(["teacher", "corpus"], "cannot build the corpus: \(error)")
        }
        probes[key] = probe
        return probe
    }

    /// Validates a teacher spec (throwing its first issue) and returns its corpus probe.
    public func validate(_ teacher: TeacherSpec) throws -> CorpusProbe {
        // Range problems first: a probe of an out-of-range corpus would only repeat them less clearly.
        if let first = teacher.issues(vocabularySize: 2).first(where: { $0.path.starts(with: ["teacher", "corpus"]) }) {
            throw first
        }
        let probe = try self.probe(teacher.corpus)
        if let first = teacher.issues(vocabularySize: probe.vocabularySize, splitTokens: probe.splitTokens).first {
            throw first
        }
        return probe
    }

    /// Builds each stage of `pipeline` through the registry for a teacher of `vocabularySize` tokens and
    /// `contextLength` positions; throws the first problem at `defences.<i>...`.
    public func resolve(_ pipeline: [DefenceSpec], vocabularySize: Int, contextLength: Int) throws -> [ResolvedDefence]
    {
        let environment = DefenceEnvironment(vocabularySize: vocabularySize, contextLength: contextLength)
        return try pipeline.enumerated().map { i, spec in
            let here = ["defences", String(i)]
            guard let type = DefenceRegistry.kind(named: spec.name) else {
                throw SpecIssue(
                    here, "unknown defence '\(spec.name)'",
                    fix: EditDistance.hint(for: spec.name, among: DefenceRegistry.names, noun: "defences"))
            }
            let known = type.parameterDocs.map(\.key)
            for key in spec.parameters.keys.sorted() where !known.contains(key) {
                throw SpecIssue(
                    here + [spec.name, key], "unknown parameter of \(spec.name)",
                    fix: EditDistance.hint(for: key, among: known, noun: "\(spec.name) takes"), atKey: true)
            }
            let defence: any Defence
            do {
                defence = try DefenceRegistry.make(spec, environment: environment)
            } catch let LabError.invalidConfig(key, message) {
                // The registry names "defences.<name>.<parameter>"; the file's path has the stage index.
                let parameter = key.split(separator: ".").last.map(String.init) ?? key
                let path = spec.parameters[parameter] != nil ? here + [spec.name, parameter] : here
                throw SpecIssue(
                    path, message,
                    fix: type.parameterDocs.first { $0.key == parameter }.map {
                        "\(parameter): \($0.meaning) (default \($0.defaultValue))"
                    })
            }
            var parameters: [String: String] = [:]
            for (k, v) in defence.parameters { parameters[k] = v }
            return ResolvedDefence(
                name: defence.name, parameters: parameters, summary: defence.summary,
                order: defence.parameters.map(\.key))
        }
    }
}
