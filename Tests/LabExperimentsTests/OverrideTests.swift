// `--set key.path=value`: an override is checked by the file's closed schema, an error about it names the
// `--set` and the key, a key the grid sweeps is refused, the manifest records the overrides, and an overridden
// run never writes over the file's own results.
import Foundation
import LabCore
import XCTest

@testable import LabExperiments

final class OverrideTests: XCTestCase {
    func overrideError(_ sets: [String], file: StaticString = #filePath, line: UInt = #line) -> ExperimentError? {
        do {
            _ = try Experiment.parse(
                Tiny.teacherSweep, file: "sweep.yaml", overrides: sets.map(Override.init(parsing:)))
            XCTFail("expected an error for \(sets)", file: file, line: line)
        } catch let e as ExperimentError {
            return e
        } catch {
            XCTFail("expected an ExperimentError, got \(error)", file: file, line: line)
        }
        return nil
    }

    func testAnOverrideChangesEveryCellAndIsRecorded() throws {
        let plain = try Experiment.parse(Tiny.teacherSweep, file: "sweep.yaml")
        let set = try Experiment.parse(
            Tiny.teacherSweep, file: "sweep.yaml", overrides: [try Override(parsing: "teacher.model.heads=1")])
        XCTAssertEqual(set.cells.count, plain.cells.count)
        XCTAssertEqual(set.overrides.map(\.text), ["teacher.model.heads=1"])
        for (a, b) in zip(plain.cells, set.cells) {
            XCTAssertNotEqual(a.hash, b.hash)
            XCTAssertTrue(b.resolvedJSON.contains("\"heads\":1"), b.resolvedJSON)
        }
        // A YAML list for a grid axis (the rest of the path after grid. is one axis name).
        let narrowed = try Experiment.parse(
            Tiny.teacherSweep, file: "sweep.yaml", overrides: [try Override(parsing: "grid.teacher.model.width=[16]")])
        XCTAssertEqual(narrowed.cells.count, plain.cells.count / 2)
        XCTAssertEqual(Set(narrowed.cells.map(\.hash)), Set(plain.cells.filter { $0.labels[0] == "16" }.map(\.hash)))
    }

    func testABadValueIsRefusedNamingTheSetAndTheKey() throws {
        let e = try XCTUnwrap(overrideError(["teacher.model.heads=many"]))
        XCTAssertEqual(e.override, "teacher.model.heads=many")
        XCTAssertEqual(e.key, "teacher.model.heads")
        XCTAssertTrue(e.description.hasPrefix("--set teacher.model.heads=many (on sweep.yaml): error:"), e.description)
        XCTAssertEqual(e.description.split(separator: "\n").count, e.fix == nil ? 1 : 2)

        let unknown = try XCTUnwrap(overrideError(["teacher.model.haeds=2"]))
        XCTAssertEqual(unknown.override, "teacher.model.haeds=2")
        XCTAssertTrue(unknown.description.contains("haeds"), unknown.description)
        XCTAssertTrue(unknown.description.contains("heads"), "suggests the near key: \(unknown.description)")

        let range = try XCTUnwrap(overrideError(["teacher.training.batch_size=0"]))
        XCTAssertEqual(range.override, "teacher.training.batch_size=0")

        let swept = try XCTUnwrap(overrideError(["teacher.model.width=32"]))
        XCTAssertTrue(swept.description.contains("grid.teacher.model.width"), swept.description)

        // An error elsewhere in the file keeps its line and column.
        XCTAssertNil(validationError("experiment: x\nkind: teacher\nteacher: {model: {width: -1}}\n")?.override)
    }

    func testMalformedOverridesAreRefusedBeforeAnyWork() {
        for text in ["teacher.model.width", "teacher..width=3", "=3", "teacher.model.width=", "seeds=[0, 1"] {
            XCTAssertThrowsError(try Override(parsing: text), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("--set \(text)"), "\(error)")
                XCTAssertTrue("\(error)".contains("fix:"), "\(error)")
            }
        }
        XCTAssertEqual(try Override(parsing: "grid.attack.budget=[1, 2]").path, ["grid", "attack.budget"])
        XCTAssertEqual(try Override(parsing: "defences.0.top_k.k=5").path, ["defences", "0", "top_k", "k"])
    }

    func testAnOverriddenRunNeverWritesOverTheFilesResults() throws {
        let scratch = Scratch("override")
        let out = scratch.dir("out"), cache = scratch.dir("cache")
        let file = scratch.file("sweep.yaml", Tiny.teacherSweep)
        let plain = try Experiment.load(path: file, overrides: [try Override(parsing: "grid.teacher.model.width=[16]")])
        try plain.runQuietly(out: out, cache: cache)
        let manifest = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json")))
                as? [String: Any])
        XCTAssertEqual(manifest["overrides"] as? [String], ["grid.teacher.model.width=[16]"])
        let before = try Data(contentsOf: out.appendingPathComponent("results.json"))

        // Other overrides (or none) are another experiment's results here: refused, nothing changed.
        for sets in [[], ["grid.teacher.model.width=[16]", "teacher.model.heads=1"]] {
            let other = try Experiment.load(path: file, overrides: sets.map(Override.init(parsing:)))
            XCTAssertThrowsError(try other.runQuietly(out: out, cache: cache)) { error in
                XCTAssertTrue("\(error)".contains("--overwrite-foreign"), "\(error)")
            }
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("results.json")), before)
        }
        // The same overrides resume.
        XCTAssertEqual(try plain.runQuietly(out: out, cache: cache).computed, 0)
        XCTAssertNotEqual(Override.digest(plain.overrides), Override.digest([]))
    }
}
