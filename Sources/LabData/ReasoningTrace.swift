// ReasoningTrace: the written-out reasoning of the `addition_steps` task — its markers, the steps of column
// addition with the carries written digit by digit, the reading of a completion into (steps, answer), and a
// checker that names the first wrong step. Not a model and not an API policy: those read traces through here.
import LabCore

/// The single characters that delimit a trace in the character tokenizer's text:
/// `347+85=[7+5+0=12;4+8+1=13;3+0+1=04;]432` — `[` opens the think block, `]` closes it, `;` ends a step.
/// `347+85=[]432` is the same problem answered directly (an empty think block).
public enum ThinkMarkers {
    public static let open: Character = "["
    public static let close: Character = "]"
    public static let stepEnd: Character = ";"
}

/// One addition problem "a+b=" with its column-by-column solution.
///
/// Step i (from the units column up) is written `x+y+c=ss`: the i-th digits of a and b (0 past an operand's
/// end), the carry into the column, and their sum as two digits, whose first digit is the next carry. There are
/// as many steps as the longer operand has digits; a final carry becomes the answer's leading 1.
public struct AdditionProblem: Equatable, Hashable, Sendable {
    public var a: Int
    public var b: Int

    public init(a: Int, b: Int) {
        self.a = a
        self.b = b
    }

    /// Reads "a+b=" (non-negative decimal operands of at most `CorpusSpec.maxDigits` digits); nil otherwise.
    public init?(prompt: String) {
        guard prompt.hasSuffix("=") else { return nil }
        let parts = prompt.dropLast().split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ !$0.isEmpty && $0.count <= CorpusSpec.maxDigits && $0.allSatisfy(\.isASCII) }),
            let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0
        else { return nil }
        self.init(a: a, b: b)
    }

    public var prompt: String { "\(a)+\(b)=" }
    public var answer: String { String(a + b) }

    /// The column steps, units first.
    public var steps: [String] {
        let x = Array(String(a).reversed()), y = Array(String(b).reversed())
        var carry = 0
        var out: [String] = []
        for i in 0..<max(x.count, y.count) {
            let dx = i < x.count ? Int(String(x[i]))! : 0
            let dy = i < y.count ? Int(String(y[i]))! : 0
            let sum = dx + dy + carry
            out.append("\(dx)+\(dy)+\(carry)=\(sum / 10)\(sum % 10)")
            carry = sum / 10
        }
        return out
    }

    /// What follows the prompt when the model thinks: "[step;step;…;]answer".
    public var tracedSolution: String { ReasoningCompletion(steps: steps, answer: answer).text }
    /// What follows the prompt when it answers directly: "[]answer".
    public var directSolution: String { ReasoningCompletion(steps: [], answer: answer).text }

    /// Checks `steps` against this problem's solution, step by step.
    public func check(steps given: [String]) -> TraceVerdict {
        let expected = steps
        for (i, step) in given.enumerated() {
            guard i < expected.count else { return .extraStep(index: i, found: step) }
            if step != expected[i] { return .wrongStep(index: i, expected: expected[i], found: step) }
        }
        if given.count < expected.count {
            return .missingStep(index: given.count, expected: expected[given.count])
        }
        return .valid
    }
}

/// The result of checking a trace: valid, or the first step that is wrong, missing or one too many.
public enum TraceVerdict: Equatable, Sendable {
    case valid
    case wrongStep(index: Int, expected: String, found: String)
    case missingStep(index: Int, expected: String)
    case extraStep(index: Int, found: String)

    /// The index of the first step at fault; nil for a valid trace.
    public var firstWrongStep: Int? {
        switch self {
        case .valid: return nil
        case let .wrongStep(i, _, _), let .missingStep(i, _), let .extraStep(i, _): return i
        }
    }

    public var isValid: Bool { self == .valid }
}

/// A completion read as a trace and an answer.
public struct ReasoningCompletion: Equatable, Sendable {
    /// The steps inside the think block, in order; nil when the completion has no closed think block.
    public var steps: [String]?
    /// The text after the think block (or the whole line without one), up to the first newline.
    public var answer: String

    public init(steps: [String]?, answer: String) {
        self.steps = steps
        self.answer = answer
    }

    /// Reads the first line of `completion`: "[s1;s2;]answer" gives steps [s1, s2]; a line that does not
    /// open and then close a think block gives nil steps and the whole line as the answer.
    public init(parsing completion: String) {
        let line = completion.prefix { $0 != "\n" }
        guard line.first == ThinkMarkers.open, let close = line.firstIndex(of: ThinkMarkers.close) else {
            self.init(steps: nil, answer: String(line))
            return
        }
        let inside = line[line.index(after: line.startIndex)..<close]
        let steps = inside.split(separator: ThinkMarkers.stepEnd, omittingEmptySubsequences: false).map(String.init)
        // "a;b;" ends with a separator, which leaves one empty piece at the end.
        let trimmed = steps.last == "" ? Array(steps.dropLast()) : steps
        self.init(steps: trimmed, answer: String(line[line.index(after: close)...]))
    }

    /// The completion as text, without its newline: "[" + each step followed by ";" + "]" + answer, or only
    /// the answer when `steps` is nil.
    public var text: String {
        guard let steps else { return answer }
        return String(ThinkMarkers.open) + steps.map { $0 + String(ThinkMarkers.stepEnd) }.joined()
            + String(ThinkMarkers.close) + answer
    }
}

/// Fraction of `problems` whose completion's answer (read with `ReasoningCompletion(parsing:)`) equals the
/// sum exactly, whatever its trace says. `complete` receives the prompt (plus `forcing`, e.g. "[]" to make
/// the model answer directly) and returns the continuation after it. An empty list scores 0.
public func answerAccuracy(
    problems: [AdditionProblem], forcing prefix: String = "", complete: (String) throws -> String
) rethrows -> Double {
    guard !problems.isEmpty else { return 0 }
    var correct = 0
    for problem in problems {
        let continuation = try complete(problem.prompt + prefix)
        if ReasoningCompletion(parsing: prefix + continuation).answer == problem.answer { correct += 1 }
    }
    return Double(correct) / Double(problems.count)
}
