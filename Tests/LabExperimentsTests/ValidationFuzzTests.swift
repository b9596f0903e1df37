// Property: whatever bytes an experiment file holds — mutations of a valid file (deleted, duplicated and
// swapped lines, random bytes, values of the wrong type, broken indentation, truncation) or random YAML-ish
// token soup — the validator never crashes and never throws anything but a located ExperimentError whose
// line and column lie inside the file.
import Foundation
import LabCore
import LabExperiments
import XCTest

final class ValidationFuzzTests: XCTestCase {
    static let base = Tiny.defenceSweep

    /// Values a mutation may put where a value was: every YAML type, extremes, and near-misses.
    static let replacements = [
        "0", "-1", "3.5", "1e300", "-1e300", "99999999999999999999999", "0x10", ".inf", ".nan", "true", "null", "~",
        "\"\"",
        "\"12\"", "abc", "[]", "{}", "[1, 2]", "{a: 1}", "[[[]]]", "&a 3", "*a", "!!str 5", "|\n  text", "'q'", "- x",
        "2e5",
        "markov", "top_k", "seed", "teacher.model.width", "{top_k: {k: 999}}", "[{noise: {}}]", "9223372036854775807",
        "-0",
    ]

    func mutate(_ lines: [String], rng: inout LabRNG) -> Data {
        var lines = lines
        let pick = { (rng: inout LabRNG, n: Int) in rng.int(below: max(1, n)) }
        switch rng.int(below: 9) {
        case 0:  // delete a line
            if !lines.isEmpty { lines.remove(at: pick(&rng, lines.count)) }
        case 1:  // duplicate a line somewhere
            if !lines.isEmpty { lines.insert(lines[pick(&rng, lines.count)], at: pick(&rng, lines.count + 1)) }
        case 2:  // swap two lines
            if lines.count > 1 { lines.swapAt(pick(&rng, lines.count), pick(&rng, lines.count)) }
        case 3:  // a value of another type
            let i = pick(&rng, lines.count)
            if let colon = lines[i].firstIndex(of: ":") {
                lines[i] = String(lines[i][...colon]) + " " + Self.replacements[pick(&rng, Self.replacements.count)]
            } else if let dash = lines[i].firstIndex(of: "-") {
                lines[i] = String(lines[i][...dash]) + " " + Self.replacements[pick(&rng, Self.replacements.count)]
            }
        case 4:  // indentation off by one or two
            let i = pick(&rng, lines.count)
            if rng.int(below: 2) == 0 {
                lines[i] = String(repeating: " ", count: 1 + rng.int(below: 2)) + lines[i]
            } else if lines[i].hasPrefix(" ") {
                lines[i].removeFirst()
            }
        case 5:  // a YAML-significant character
            let i = pick(&rng, lines.count)
            var chars = Array(lines[i])
            let specials: [Character] = [
                ":", "-", "[", "]", "{", "}", "&", "*", "!", "|", ">", "#", "%", "@", "`", "\t", ",", "?", "'", "\"",
            ]
            chars.insert(specials[pick(&rng, specials.count)], at: pick(&rng, chars.count + 1))
            lines[i] = String(chars)
        case 6:  // truncate the file
            let text = lines.joined(separator: "\n")
            return Data(text.utf8.prefix(pick(&rng, text.utf8.count)))
        case 7:  // a key renamed by a typo
            let i = pick(&rng, lines.count)
            if let colon = lines[i].firstIndex(of: ":"), colon > lines[i].startIndex {
                var key = Array(lines[i][..<colon])
                if let j = key.indices.last(where: { key[$0] != " " }) { key.remove(at: j) }
                lines[i] = String(key) + lines[i][colon...]
            }
        default:  // random bytes, including invalid UTF-8, control characters and NUL
            var data = Data(lines.joined(separator: "\n").utf8)
            for _ in 0..<(1 + rng.int(below: 4)) {
                let byte = UInt8(truncatingIfNeeded: rng.next())
                data.insert(byte, at: pick(&rng, data.count + 1))
            }
            return data
        }
        return Data(lines.joined(separator: "\n").utf8)
    }

    /// Runs the validator on `data`; fails the test on anything but success or a located ExperimentError.
    func check(_ data: Data, outcome: inout [String: Int]) {
        let lineCount = data.split(separator: 0x0A, omittingEmptySubsequences: false).count
        do {
            let source = try YAMLSource.parse(data: data, file: "fuzz.yaml")
            _ = try Experiment.plan(source)
            outcome["valid", default: 0] += 1
        } catch let e as ExperimentError {
            outcome["located error", default: 0] += 1
            XCTAssertTrue(
                (1...max(1, lineCount)).contains(e.line),
                "line \(e.line) outside the file's \(lineCount) lines: \(e)\n---\n\(String(decoding: data, as: UTF8.self))"
            )
            XCTAssertGreaterThanOrEqual(e.column, 1)
            XCTAssertFalse(e.message.isEmpty)
            XCTAssertTrue(e.description.hasPrefix("fuzz.yaml:\(e.line):\(e.column): error: "), e.description)
        } catch {
            XCTFail("unlocated \(type(of: error)): \(error)\n---\n\(String(decoding: data, as: UTF8.self))")
        }
    }

    func testMutatedFilesAlwaysGetALocatedError() throws {
        let lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertNoThrow(try Experiment.parse(Self.base), "the base file must be valid")
        var rng = LabRNG(seed: 2024, stream: "fuzz")
        var outcome: [String: Int] = [:]
        for _ in 0..<2000 {
            var data = mutate(lines, rng: &rng)
            // Half the time, a second mutation on top of the first.
            if rng.int(below: 2) == 0 {
                let again = String(decoding: data, as: UTF8.self).split(
                    separator: "\n", omittingEmptySubsequences: false
                ).map(String.init)
                data = mutate(again, rng: &rng)
            }
            check(data, outcome: &outcome)
        }
        print("mutations: \(outcome)")
        XCTAssertGreaterThan(outcome["located error", default: 0], 1000, "most mutations should break the file")
    }

    func testRandomTokenSoupAlwaysGetsALocatedError() {
        let tokens = [
            "experiment", "kind", "teacher", "defences", "grid", "seeds", "tables", "plots", ":", ": ", "\n", "\n  ",
            "\n    ", "- ", "[", "]", "{", "}",
            ", ", "1", "-3", "0.5", "x", "markov", "corpus", "model", "width", "heads", "defence_cost",
            "teacher.model.width", "\"", "'", "#", "&a", "*a", "!!int", "|", "\t",
        ]
        var rng = LabRNG(seed: 7, stream: "soup")
        var outcome: [String: Int] = [:]
        for _ in 0..<1000 {
            let text = (0..<(1 + rng.int(below: 40))).map { _ in tokens[rng.int(below: tokens.count)] }.joined()
            check(Data(text.utf8), outcome: &outcome)
        }
        print("token soup: \(outcome)")
    }
}
