// TraceFormat: where a think block sits in token ids — the ids of the markers, the step separator, the newline
// and the digits in a character tokenizer — and the split of a generated completion into steps and answer.
// Not the policies (TracePolicy+*.swift) and not the text-level parsing (LabData's ReasoningCompletion).
import LabCore
import LabData
import LabModel

/// The token ids a trace policy needs, read from the teacher's tokenizer.
public struct TraceFormat: Equatable, Sendable {
    public var open: Int32
    public var close: Int32
    public var stepEnd: Int32
    public var newline: Int32
    /// The ids of "0" … "9", in digit order.
    public var digits: [Int32]

    public init(open: Int32, close: Int32, stepEnd: Int32, newline: Int32, digits: [Int32]) {
        self.open = open
        self.close = close
        self.stepEnd = stepEnd
        self.newline = newline
        self.digits = digits
    }

    /// The format of a character tokenizer that holds `ThinkMarkers`, the newline and the ten digits (an
    /// `addition_steps` corpus's); `LabError.invalidConfig(key: "teacher.corpus.task")` otherwise.
    public init(tokenizer: Tokenizer) throws {
        func id(_ c: Character) throws -> Int32 {
            let i = tokenizer.id(for: String(c))
            guard tokenizer.kind == .character, i != Tokenizer.unknownID else {
                throw LabError.invalidConfig(
                    key: "teacher.corpus.task",
                    message:
                        "the teacher's tokenizer has no token for '\(c == "\n" ? "\\n" : String(c))'; trace policies need a character tokenizer with think markers: use a tasks corpus with task: addition_steps"
                )
            }
            return Int32(i)
        }
        self.init(
            open: try id(ThinkMarkers.open), close: try id(ThinkMarkers.close), stepEnd: try id(ThinkMarkers.stepEnd),
            newline: try id("\n"), digits: try Array("0123456789").map(id))
    }
}

/// A generated completion cut at its think block.
public struct TracedTokens: Equatable, Sendable {
    /// Whether the completion opened a think block (its first token is the open marker).
    public var opened: Bool
    /// The steps inside the block, each without its separator (a last unterminated piece included).
    public var steps: [[Int32]]
    /// Whether the block was closed.
    public var closed: Bool
    /// Everything after the close marker (or the whole completion when it opened no block; nothing when the
    /// block never closed), the stop token included.
    public var answer: [Int32]
    /// How many tokens of the completion belong to the think block, markers included.
    public var traceLength: Int

    /// Cuts `tokens` (a completion, without its prompt) at the first open marker at position 0 and the first
    /// close marker after it.
    public init(_ tokens: [Int32], format: TraceFormat) {
        guard tokens.first == format.open else {
            (opened, steps, closed, answer, traceLength) = (false, [], false, tokens, 0)
            return
        }
        opened = true
        let close = tokens.dropFirst().firstIndex(of: format.close)
        closed = close != nil
        let inside = tokens[1..<(close ?? tokens.count)]
        var pieces = inside.split(separator: format.stepEnd, omittingEmptySubsequences: false).map(Array.init)
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        steps = pieces
        answer = close.map { Array(tokens[($0 + 1)...]) } ?? []
        traceLength = close.map { $0 + 1 } ?? tokens.count
    }

    /// The tokens of a completion that shows `steps` (nil: no think block at all) and then the answer.
    public static func render(steps: [[Int32]]?, answer: [Int32], format: TraceFormat) -> [Int32] {
        guard let steps else { return answer }
        return [format.open] + steps.flatMap { $0 + [format.stepEnd] } + [format.close] + answer
    }
}
