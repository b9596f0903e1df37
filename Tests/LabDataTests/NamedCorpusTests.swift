// Built-in corpora and the four-part text split: a missing package is an error naming it and the install
// command; parts never overlap and cover the text; a BPE vocabulary sees only the train part; the corpus's
// origin (name, hash, size) reaches the checkpoint. Tests on `fortunes` itself skip when it is not installed.
import Foundation
import LabCore
import LabModel
import XCTest

@testable import LabData

final class NamedCorpusTests: XCTestCase {
    func testAMissingPackageNamesThePackageAndTheInstallCommand() throws {
        let absent = NamedCorpus(
            name: "nowhere", package: "no-such-package", directory: "/nonexistent/\(UUID().uuidString)",
            summary: "", separatorLine: nil, includes: { _ in true })
        XCTAssertThrowsError(try absent.documents()) { error in
            guard case let LabError.file(path, message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, absent.directory)
            XCTAssertTrue(
                message.contains("'no-such-package'") && message.contains("apt-get install no-such-package"), message)
        }
        XCTAssertThrowsError(try NamedCorpus.named("shakespeare")) { error in
            XCTAssertTrue("\(error)".contains("fortunes"), "\(error)")
        }
        var spec = CorpusSpec(kind: .text)
        spec.source = "fortunes"
        spec.path = "x.txt"
        XCTAssertThrowsError(try spec.validate()) { XCTAssertTrue("\($0)".contains("source"), "\($0)") }
    }

    private func temporaryFile(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID().uuidString).txt")
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testAFileSplitsIntoDisjointPartsAtLineBoundariesAndBPESeesOnlyTrain() throws {
        let lines = (0..<400).map { "line \($0): the \($0 % 7 == 0 ? "ZEBRA" : "cat") sat on mat \($0 * 31 % 97)." }
        let text = lines.joined(separator: "\n")
        var spec = CorpusSpec.text(path: try temporaryFile(text), tokenizer: .bpe, maxVocabulary: 300)
        (spec.attackerFraction, spec.validationFraction, spec.testFraction) = (0.45, 0.05, 0.05)
        let corpus = try spec.build()
        let parts = [corpus.train, corpus.attacker, corpus.validation, corpus.test].map { corpus.tokenizer.decode($0) }
        XCTAssertEqual(parts.joined(), text)
        for part in parts.dropLast() { XCTAssertTrue(part.hasSuffix("\n")) }
        let partLines = parts.map { Set($0.split(separator: "\n")) }
        for i in 0..<4 {
            for j in (i + 1)..<4 {
                XCTAssertTrue(partLines[i].isDisjoint(with: partLines[j]), "parts \(i) and \(j) share a line")
            }
        }
        let sizes = parts.map { Double($0.utf8.count) / Double(text.utf8.count) }
        XCTAssertEqual(sizes[0], 0.45, accuracy: 0.01)
        XCTAssertEqual(sizes[1], 0.45, accuracy: 0.01)
        // The vocabulary is the one learned on the train part alone.
        let trainOnly = try Tokenizer.bytePairEncoding(trainedOn: parts[0], vocabularySize: 300)
        XCTAssertEqual(corpus.tokenizer, trainOnly)
        XCTAssertEqual(corpus.origin?.bytes, text.utf8.count)
        XCTAssertEqual(corpus.origin?.sha256, SHA256.hex(Data(text.utf8)))
    }

    func testABuiltInCorpusSplitsByWholeDocumentsUnderTheSeed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("named-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        for file in 0..<2 {
            let documents = (0..<150).map { "document \(file)-\($0) begins\nand document \(file)-\($0) ends\n" }
            try Data(documents.joined(separator: "%\n").utf8).write(to: directory.appendingPathComponent("part\(file)"))
        }
        try Data("skipped".utf8).write(to: directory.appendingPathComponent("part0.dat"))
        let named = NamedCorpus(
            name: "test", package: "test-package", directory: directory.path, summary: "",
            separatorLine: "%", includes: { !$0.hasSuffix(".dat") })
        var spec = CorpusSpec(kind: .text)
        (spec.attackerFraction, spec.validationFraction, spec.testFraction) = (0.45, 0.05, 0.05)
        let corpus = try TextCorpus.build(spec, named: named)
        let parts = [corpus.train, corpus.attacker, corpus.validation, corpus.test].map { corpus.tokenizer.decode($0) }
        var owner: [String: Int] = [:]
        for (index, part) in parts.enumerated() {
            let lines = part.split(separator: "\n")
            XCTAssertEqual(lines.count % 2, 0)
            for k in stride(from: 0, to: lines.count, by: 2) {
                // Both lines of a document, together, in one part.
                let name: String = lines[k].replacingOccurrences(of: " begins", with: "")
                let closing: String = lines[k + 1].replacingOccurrences(of: " ends", with: "").replacingOccurrences(
                    of: "and ", with: "")
                XCTAssertEqual(closing, name)
                XCTAssertNil(owner[name], "\(name) is in two parts")
                owner[name] = index
            }
        }
        XCTAssertEqual(owner.count, 300)
        XCTAssertFalse(parts.contains { $0.contains("skipped") })
        // Shuffled: both files' documents reach the test part; another seed gives another split.
        let testFiles = Set(owner.filter { $0.value == 3 }.keys.map { String($0.dropFirst(9).prefix(1)) })
        XCTAssertEqual(testFiles.count, 2)
        spec.seed = 1
        XCTAssertNotEqual(try TextCorpus.build(spec, named: named).test, corpus.test)
    }

    func testFortunesIsReadInPlaceWithItsOrigin() throws {
        let fortunes = try NamedCorpus.named("fortunes")
        guard FileManager.default.fileExists(atPath: fortunes.directory) else {
            throw XCTSkip("the Debian package 'fortunes' is not installed (bash scripts/corpora.sh)")
        }
        let (documents, origin) = try fortunes.documents()
        XCTAssertGreaterThan(documents.count, 5000)
        XCTAssertGreaterThan(origin.bytes, 2_000_000)
        XCTAssertEqual(origin.sha256, SHA256.hex(try fortunes.contents()))
        var spec = CorpusSpec(kind: .text)
        spec.source = "fortunes"
        let corpus = try spec.build()
        XCTAssertEqual(corpus.origin, origin)
        XCTAssertEqual(corpus.name, "text-fortunes-char")
    }
}
