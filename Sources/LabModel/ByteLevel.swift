// ByteLevel: GPT-2's byte-to-unicode table and its pre-tokenizer, written out by hand (no regex engine), so that
// the lab splits text exactly where Hugging Face's `ByteLevel` pre-tokenizer (add_prefix_space false, use_regex
// true) does. Not the BPE merges (BytePairEncoding) nor a normalizer: text is split as it is, byte for byte.
import LabCore

/// GPT-2's byte-level alphabet and pre-tokenizer.
///
/// The pre-tokenizer is the regular expression GPT-2 and `tokenizers.pre_tokenizers.ByteLevel` use,
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// evaluated as a leftmost, first-alternative-wins scan over Unicode scalars: `\p{L}` is the general
/// categories Lu Ll Lt Lm Lo, `\p{N}` Nd Nl No, `\s` the White_Space property, and ` ?` one U+0020.
public enum ByteLevel {
    /// `unicode[b]`: the printable character GPT-2 spells byte `b` with (printable Latin-1 bytes stand for
    /// themselves; the 68 others are shifted to U+0100…U+0143).
    public static let unicode: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = printable.map { UInt32($0) }
        var shifted: UInt32 = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            scalars.append(256 + shifted)
            shifted += 1
        }
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        for (byte, scalar) in zip(printable, scalars) {
            // Every value is below U+0144, so the scalar always exists.
            table[byte] = Unicode.Scalar(scalar) ?? "\0"
        }
        return table
    }()

    /// The inverse of `unicode`: the byte a byte-level character stands for, nil for any other character.
    public static let byteOf: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in unicode.enumerated() { inverse[scalar] = UInt8(byte) }
        return inverse
    }()

    /// The byte-level spelling of `bytes` (how tokenizer.json writes a token).
    public static func spelling<S: Sequence>(of bytes: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for byte in bytes { out.append(unicode[Int(byte)]) }
        return String(out)
    }

    /// The bytes a byte-level spelling stands for, or nil when it holds a character outside the alphabet.
    public static func bytes(ofSpelling spelling: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(spelling.unicodeScalars.count)
        for scalar in spelling.unicodeScalars {
            guard let byte = byteOf[scalar] else { return nil }
            out.append(byte)
        }
        return out
    }

    // MARK: Pre-tokenizer

    /// The class of a scalar as the regular expression sees it.
    enum Class: UInt8 { case letter, number, space, other }

    static func classify(_ scalar: Unicode.Scalar) -> Class {
        let v = scalar.value
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Calls `body` with the UTF-8 bytes of each pre-token of `text`, in order; their concatenation is `text`.
    public static func preTokenize(_ text: String, _ body: (ArraySlice<UInt8>) -> Void) {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(classify)
        // UTF-8 offset of every scalar (and of the end), so a piece is a slice of one byte array.
        let bytes = Array(text.utf8)
        var offsets = [Int](repeating: 0, count: scalars.count + 1)
        for (i, scalar) in scalars.enumerated() { offsets[i + 1] = offsets[i] + UTF8.width(scalar) }
        var i = 0
        for piece in pieces(scalars, classes) {
            body(bytes[offsets[i]..<offsets[piece]])
            i = piece
        }
    }

    /// The pre-tokens of `text` as strings (for tests and for reading).
    public static func preTokens(_ text: String) -> [String] {
        var out: [String] = []
        preTokenize(text) { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    /// End indices (exclusive, in scalars) of the successive matches of the regular expression.
    static func pieces(_ s: [Unicode.Scalar], _ c: [Class]) -> [Int] {
        let n = s.count
        var ends: [Int] = []
        ends.reserveCapacity(n / 3 + 1)
        var i = 0
        func run(from start: Int, of cls: Class) -> Int {
            var j = start
            while j < n, c[j] == cls { j += 1 }
            return j
        }
        while i < n {
            // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, ASCII apostrophe)
            if s[i] == "'", i + 1 < n {
                let a = s[i + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" {
                    i += 2
                    ends.append(i)
                    continue
                }
                if i + 2 < n {
                    let b = s[i + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        i += 3
                        ends.append(i)
                        continue
                    }
                }
            }
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ : an optional space, then a run of one class.
            let start = (s[i] == " " && i + 1 < n && c[i + 1] != .space) ? i + 1 : i
            if c[start] != .space {
                i = run(from: start, of: c[start])
                ends.append(i)
                continue
            }
            // \s+(?!\S) | \s+ : whitespace up to, but not including, the last one before non-whitespace.
            let end = run(from: i, of: .space)
            if end == n || end - i == 1 {
                i = end
            } else {
                i = end - 1
            }
            ends.append(i)
        }
        return ends
    }
}
