// CorpusSpec+Codable: the closed config schema, flat snake_case keys, e.g.
//   {kind: markov, seed: 0, symbols: 16, order: 2, concentration: 0.3, train_tokens: 200000}
// A key that is unknown, or belongs to another kind, is an error naming it; nothing is silently ignored.
import LabCore
import LabModel

extension CorpusSpec: Codable {
    /// Keys every kind accepts. For `text`, `seed` shuffles a built-in corpus's documents before the split and
    /// is unused for a file (its split is contiguous), so an experiment can set one seed for every corpus.
    static let commonKeys = ["kind", "seed"]
    static let sizeKeys = ["train_tokens", "validation_tokens", "test_tokens"]

    /// The keys a config file may use for `kind`, in the order they are written.
    public static func keys(for kind: Kind) -> [String] {
        switch kind {
        case .markov: return commonKeys + sizeKeys + ["symbols", "order", "concentration"]
        case .grammar: return commonKeys + sizeKeys
        case .tasks: return commonKeys + sizeKeys + ["task", "digits", "length"]
        case .text:
            return commonKeys + [
                "path", "source", "tokenizer", "max_vocabulary", "attacker_fraction", "train_on", "validation_fraction",
                "test_fraction",
            ]
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        func read<T: Decodable>(_ key: String, _ expected: String) throws -> T? {
            guard container.contains(Key(key)) else { return nil }
            do {
                return try container.decode(T.self, forKey: Key(key))
            } catch {
                throw LabError.invalidConfig(key: key, message: "expected \(expected)")
            }
        }
        func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E?
        where E.RawValue == String {
            let names = E.allCases.map(\.rawValue).joined(separator: ", ")
            guard let raw: String = try read(key, "one of \(names)") else { return nil }
            guard let value = E(rawValue: raw) else {
                throw LabError.invalidConfig(key: key, message: "is '\(raw)'; expected one of \(names)")
            }
            return value
        }
        /// A range written as [min, max], or one integer n meaning exactly n.
        func range(_ key: String) throws -> ClosedRange<Int>? {
            let expected = "an integer or a [min, max] pair of integers"
            guard container.contains(Key(key)) else { return nil }
            if let single = try? container.decode(Int.self, forKey: Key(key)) { return single...single }
            guard let pair: [Int] = try read(key, expected), pair.count == 2 else {
                throw LabError.invalidConfig(key: key, message: "expected \(expected)")
            }
            guard pair[0] <= pair[1] else {
                throw LabError.invalidConfig(key: key, message: "is [\(pair[0]), \(pair[1])]; min must not exceed max")
            }
            return pair[0]...pair[1]
        }

        guard let kind = try choice("kind", Kind.self) else {
            throw LabError.invalidConfig(
                key: "kind",
                message: "is missing; choose one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let allowed = Self.keys(for: kind)
        for key in container.allKeys.map(\.stringValue).sorted() where !allowed.contains(key) {
            let owners = Kind.allCases.filter { Self.keys(for: $0).contains(key) }.map(\.rawValue)
            let hint =
                owners.isEmpty ? "it is not a corpus key" : "it belongs to kind \(owners.joined(separator: " / "))"
            throw LabError.invalidConfig(
                key: key, message: "\(hint); a \(kind.rawValue) corpus takes \(allowed.joined(separator: ", "))")
        }

        self.init(kind: kind)
        let integer = "an integer"
        if let v: UInt64 = try read("seed", "a non-negative integer") { seed = v }
        if let v: Int = try read("train_tokens", integer) { trainTokens = v }
        if let v: Int = try read("validation_tokens", integer) { validationTokens = v }
        if let v: Int = try read("test_tokens", integer) { testTokens = v }
        if let v: Int = try read("symbols", integer) { symbols = v }
        if let v: Int = try read("order", integer) { order = v }
        if let v: Double = try read("concentration", "a number") { concentration = v }
        if let v = try choice("task", Task.self) { task = v }
        if let v = try range("digits") { digits = v }
        if let v = try range("length") { length = v }
        if let v: String = try read("path", "a file path") { path = v }
        if let v: String = try read("source", "the name of a built-in corpus") { source = v }
        if let v: Double = try read("attacker_fraction", "a number") { attackerFraction = v }
        if let v = try choice("train_on", TrainingPart.self) { trainOn = v }
        if let v = try choice("tokenizer", Tokenizer.Kind.self) { tokenizer = v }
        if let v: Int = try read("max_vocabulary", integer) { maxVocabulary = v }
        if let v: Double = try read("validation_fraction", "a number") { validationFraction = v }
        if let v: Double = try read("test_fraction", "a number") { testFraction = v }
    }

    /// Writes every key of `kind`, defaults included: the resolved spec saved beside results says
    /// exactly what was built.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for key in Self.keys(for: kind) {
            let k = Key(key)
            switch key {
            case "kind": try container.encode(kind, forKey: k)
            case "seed": try container.encode(seed, forKey: k)
            case "train_tokens": try container.encode(trainTokens, forKey: k)
            case "validation_tokens": try container.encode(validationTokens, forKey: k)
            case "test_tokens": try container.encode(testTokens, forKey: k)
            case "symbols": try container.encode(symbols, forKey: k)
            case "order": try container.encode(order, forKey: k)
            case "concentration": try container.encode(concentration, forKey: k)
            case "task": try container.encode(task, forKey: k)
            case "digits": try container.encode([digits.lowerBound, digits.upperBound], forKey: k)
            case "length": try container.encode([length.lowerBound, length.upperBound], forKey: k)
            case "path": try container.encodeIfPresent(path, forKey: k)
            case "source": try container.encodeIfPresent(source, forKey: k)
            case "attacker_fraction": try container.encode(attackerFraction, forKey: k)
            case "train_on": try container.encode(trainOn, forKey: k)
            case "tokenizer": try container.encode(tokenizer, forKey: k)
            case "max_vocabulary": try container.encodeIfPresent(maxVocabulary, forKey: k)
            case "validation_fraction": try container.encode(validationFraction, forKey: k)
            case "test_fraction": try container.encode(testFraction, forKey: k)
            default: preconditionFailure("CorpusSpec.encode: key '\(key)' is listed in keys(for:) but not encoded")
            }
        }
    }
}
