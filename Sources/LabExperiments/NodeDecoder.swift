// NodeDecoder: a `Decoder` over a Yams `Node` tree, so any `Decodable` config type (ours, CorpusSpec, APIPolicy,
// DefenceSpec) reads straight from the one parse and every error it causes carries file:line:column. It makes
// every mapping closed: a key no decode asked for is an error with a did-you-mean. Not a YAML parser (Yams
// is) and not an encoder.
import Foundation
import LabCore
import Yams

public enum NodeDecoder {
    /// Decodes `type` from `node`, whose place in the document is `path` below `root`. Every error thrown is
    /// an `ExperimentError` located in `file`.
    public static func decode<T: Decodable>(_ type: T.Type, from node: Node, path: [String], root: Node, file: String)
        throws -> T
    {
        let session = DecodeSession(file: file, root: root)
        return try session.decodeValue(type, node: node, path: path)
    }

    /// How a value is described in messages: "a mapping", "a list", "the number 5", "the text 'abc'", "null".
    public static func shape(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(s):
            if ScalarText.isNull(s) { return "null (nothing)" }
            let quoted = s.style == .singleQuoted || s.style == .doubleQuoted
            if !quoted, ScalarText.bool(s) != nil { return "the boolean \(s.string)" }
            if !quoted, ScalarText.double(s) != nil { return "the number \(s.string)" }
            let text = s.string.count > 40 ? String(s.string.prefix(37)) + "..." : s.string
            return "the text '\(text)'"
        }
    }
}

/// The keys of one mapping that decoders asked about; what remains is unknown.
final class KeyTracker {
    let mapping: Node.Mapping
    let path: [String]
    var asked: [String] = []

    init(mapping: Node.Mapping, path: [String]) {
        self.mapping = mapping
        self.path = path
    }

    func ask(_ key: String) {
        if !asked.contains(key) { asked.append(key) }
    }
}

/// State shared by the decoders of one decode call.
final class DecodeSession {
    let file: String
    let root: Node
    /// Trackers of mappings decoded since the innermost `decodeValue` began; checked when it returns.
    var pending: [KeyTracker] = []

    init(file: String, root: Node) {
        self.file = file
        self.root = root
    }

    func error(at mark: Mark?, path: [String], _ message: String, fix: String? = nil) -> ExperimentError {
        let p = mark.map { Position($0) } ?? NodePath.position(for: path, in: root, atKey: false)
        return ExperimentError(
            file: file, line: p.line, column: p.column, key: path.joined(separator: "."), message: message, fix: fix)
    }

    /// Decodes `type` from `node`, then rejects keys of any mapping it read that no decode asked for. Errors
    /// other than `ExperimentError` thrown by the type's own `init(from:)` are located here.
    func decodeValue<T: Decodable>(_ type: T.Type, node: Node, path: [String]) throws -> T {
        if let scalarType = T.self as? ScalarDecodable.Type {
            guard let value = try scalarType.decodeScalar(node: node, path: path, session: self) as? T else {
                preconditionFailure("ScalarDecodable \(T.self) returned another type")
            }
            return value
        }
        let start = pending.count
        defer { pending.removeSubrange(min(start, pending.count)...) }
        let decoder = NodeValueDecoder(node: node, path: path, session: self)
        let value: T
        do {
            value = try T(from: decoder)
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw locate(error, node: node, path: path)
        }
        for tracker in pending[start...] { try check(tracker) }
        return value
    }

    /// The first key of `tracker`'s mapping, in file order, that nothing asked for.
    func check(_ tracker: KeyTracker) throws {
        for (key, _) in tracker.mapping {
            guard let name = NodePath.keyString(key) else {
                throw error(
                    at: key.mark, path: tracker.path,
                    "a key must be a plain word; this one is \(NodeDecoder.shape(of: key))")
            }
            if !tracker.asked.contains(name) {
                let place = tracker.path.isEmpty ? "at the top level" : "in '\(tracker.path.joined(separator: "."))'"
                throw ExperimentError(
                    file: file, line: key.mark?.line ?? 1, column: key.mark?.column ?? 1,
                    key: (tracker.path + [name]).joined(separator: "."), message: "unknown key \(place)",
                    fix: EditDistance.hint(for: name, among: tracker.asked, noun: "keys here"))
            }
        }
    }

    /// Turns an error a config type threw while decoding `node` into a located one.
    func locate(_ error: Error, node: Node, path: [String]) -> ExperimentError {
        switch error {
        case let issue as SpecIssue:
            return issue.located(in: root, file: file)
        case let LabError.invalidConfig(key, message):
            // Config types name keys relative to themselves, sometimes with a prefix of their own
            // ("policy.logit_bias", "defences.top_k.k"): match the longest tail that exists below `node`.
            let parts = key.split(separator: ".").map(String.init)
            for drop in 0..<max(1, parts.count) {
                let tail = Array(parts.dropFirst(drop))
                guard !tail.isEmpty else { break }
                let found = NodePath.find(tail, in: node)
                if found.matched == tail.count {
                    let mark = found.node.mark ?? found.keyMark ?? node.mark
                    return self.error(at: mark, path: path + tail, message)
                }
            }
            return self.error(at: node.mark, path: path + parts.suffix(1), message)
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.keyNotFound(_, context), let DecodingError.dataCorrupted(context):
            return self.error(at: node.mark, path: path, context.debugDescription)
        default:
            return self.error(at: node.mark, path: path, "\(error)")
        }
    }
}

/// The `Decoder` for one node.
struct NodeValueDecoder: Decoder {
    let node: Node
    let path: [String]
    let session: DecodeSession

    var codingPath: [CodingKey] { path.map { PathKey(stringValue: $0) } }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .mapping(m) = node else {
            throw session.error(
                at: node.mark, path: path, "expected a mapping of keys to values, found \(NodeDecoder.shape(of: node))",
                fix: "write `key: value` lines indented under '\(path.joined(separator: "."))'")
        }
        // Decoders may open several containers on one mapping (APIPolicy lists its keys, then reads them):
        // they share one tracker, so a key asked through either counts as known.
        let tracker: KeyTracker
        if let existing = session.pending.first(where: { $0.path == path }) {
            tracker = existing
        } else {
            tracker = KeyTracker(mapping: m, path: path)
            session.pending.append(tracker)
        }
        return KeyedDecodingContainer(
            KeyedNodeContainer<Key>(mapping: m, path: path, session: session, tracker: tracker))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case let .sequence(s) = node else {
            throw session.error(
                at: node.mark, path: path, "expected a list, found \(NodeDecoder.shape(of: node))",
                fix: "write a list as [a, b] or as `- item` lines")
        }
        return UnkeyedNodeContainer(sequence: s, path: path, session: session)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleNodeContainer(node: node, path: path, session: session)
    }
}

struct PathKey: CodingKey {
    var stringValue: String
    var intValue: Int? { Int(stringValue) }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { stringValue = String(intValue) }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let path: [String]
    let session: DecodeSession
    let tracker: KeyTracker

    var codingPath: [CodingKey] { path.map { PathKey(stringValue: $0) } }

    var allKeys: [Key] {
        mapping.compactMap { NodePath.keyString($0.key).flatMap(Key.init(stringValue:)) }
    }

    func value(_ key: Key) -> Node? {
        mapping.first { NodePath.keyString($0.key) == key.stringValue }?.value
    }

    func contains(_ key: Key) -> Bool {
        tracker.ask(key.stringValue)
        return value(key) != nil
    }

    func required(_ key: Key) throws -> Node {
        tracker.ask(key.stringValue)
        guard let node = value(key) else {
            throw session.error(
                at: mapping.mark, path: path + [key.stringValue], "is missing",
                fix: "add `\(key.stringValue): ...` "
                    + (path.isEmpty ? "at the top level" : "under '\(path.joined(separator: "."))'"))
        }
        return node
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        tracker.ask(key.stringValue)
        guard let node = value(key) else { return true }
        if case let .scalar(s) = node { return ScalarText.isNull(s) }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try session.decodeValue(type, node: try required(key), path: path + [key.stringValue])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try NodeValueDecoder(node: try required(key), path: path + [key.stringValue], session: session).container(
            keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try NodeValueDecoder(node: try required(key), path: path + [key.stringValue], session: session)
            .unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        NodeValueDecoder(node: .mapping(mapping), path: path, session: session)
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        NodeValueDecoder(node: try required(key), path: path + [key.stringValue], session: session)
    }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let sequence: Node.Sequence
    let path: [String]
    let session: DecodeSession
    var currentIndex = 0

    init(sequence: Node.Sequence, path: [String], session: DecodeSession) {
        self.sequence = sequence
        self.path = path
        self.session = session
    }

    var codingPath: [CodingKey] { path.map { PathKey(stringValue: $0) } }
    var count: Int? { sequence.count }
    var isAtEnd: Bool { currentIndex >= sequence.count }

    mutating func next() throws -> (Node, [String]) {
        guard !isAtEnd else {
            throw session.error(
                at: sequence.mark, path: path, "the list has \(sequence.count) items; more were expected")
        }
        defer { currentIndex += 1 }
        return (sequence[currentIndex], path + [String(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case let .scalar(s) = sequence[currentIndex], ScalarText.isNull(s) {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, itemPath) = try next()
        return try session.decodeValue(type, node: node, path: itemPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        let (node, itemPath) = try next()
        return try NodeValueDecoder(node: node, path: itemPath, session: session).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (node, itemPath) = try next()
        return try NodeValueDecoder(node: node, path: itemPath, session: session).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (node, itemPath) = try next()
        return NodeValueDecoder(node: node, path: itemPath, session: session)
    }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let node: Node
    let path: [String]
    let session: DecodeSession

    var codingPath: [CodingKey] { path.map { PathKey(stringValue: $0) } }

    func decodeNil() -> Bool {
        if case let .scalar(s) = node { return ScalarText.isNull(s) }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try session.decodeValue(type, node: node, path: path)
    }
}
