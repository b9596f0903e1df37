import LabCore
// BatchSampler tests: targets are inputs shifted by one, windows are contiguous and in range, the
// sampler is deterministic by seed, and evaluation windows cover every target exactly once.
import XCTest

@testable import LabData

final class BatchSamplerTests: XCTestCase {
    func testTargetsAreInputsShiftedByOne() throws {
        // Token value = its position, so a window is contiguous iff values increase by 1.
        let tokens = Array(0..<500)
        var sampler = try BatchSampler(tokens: tokens, batchSize: 4, sequenceLength: 16, seed: 1)
        var inputs = [Int32](repeating: -1, count: 64), targets = [Int32](repeating: -1, count: 64)
        var starts: Set<Int32> = []
        for _ in 0..<200 {
            sampler.next(inputs: &inputs, targets: &targets)
            for row in 0..<4 {
                let window = row * 16..<(row + 1) * 16
                for i in window {
                    XCTAssertEqual(targets[i], inputs[i] + 1)
                    if i > window.lowerBound { XCTAssertEqual(inputs[i], inputs[i - 1] + 1) }
                }
                XCTAssertLessThan(Int(targets[window.upperBound - 1]), tokens.count)
                starts.insert(inputs[window.lowerBound])
            }
        }
        // 800 uniform starts over 484 positions reach both ends' neighbourhoods.
        XCTAssertLessThan(starts.min() ?? 99, 10)
        XCTAssertGreaterThan(starts.max() ?? 0, 473)
    }

    func testDeterministicBySeed() throws {
        let tokens = (0..<1_000).map { ($0 * 7919) % 97 }
        func batches(_ seed: UInt64) throws -> [[Int32]] {
            var sampler = try BatchSampler(tokens: tokens, batchSize: 2, sequenceLength: 8, seed: seed)
            var inputs = [Int32](repeating: 0, count: 16), targets = inputs
            return (0..<5).map { _ in
                sampler.next(inputs: &inputs, targets: &targets)
                return inputs + targets
            }
        }
        XCTAssertEqual(try batches(3), try batches(3))
        XCTAssertNotEqual(try batches(3), try batches(4))
    }

    func testShortSplitIsAConfigError() {
        XCTAssertThrowsError(try BatchSampler(tokens: Array(0..<16), batchSize: 1, sequenceLength: 16, seed: 0)) {
            error in
            guard case LabError.invalidConfig(key: "sequence_length", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try BatchSampler(tokens: Array(0..<17), batchSize: 1, sequenceLength: 16, seed: 0))
        XCTAssertThrowsError(try BatchSampler(tokens: Array(0..<17), batchSize: 0, sequenceLength: 16, seed: 0))
    }

    func testSequentialWindowsCoverEveryTargetOnce() {
        for (count, length) in [(100, 10), (101, 10), (102, 10), (5, 64), (2, 1), (1, 4)] {
            let tokens = Array(0..<count)
            let windows = BatchSampler.sequentialWindows(over: tokens, sequenceLength: length)
            let targets = windows.flatMap(\.targets).map(Int.init)
            XCTAssertEqual(targets, Array(tokens.dropFirst()), "count \(count), length \(length)")
            for window in windows {
                XCTAssertLessThanOrEqual(window.inputs.count, length)
                XCTAssertEqual(window.inputs.map { $0 + 1 }, window.targets)
                XCTAssertEqual(Int(window.inputs[0]), window.start)
            }
        }
    }
}
