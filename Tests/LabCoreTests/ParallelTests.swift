import Dispatch
import LabCore
import XCTest

/// Parallel.perform's contract: every item runs exactly once per region, the call returns only
/// after all have finished, and regions opened from several threads or from inside a region
/// (which fall back to Dispatch) neither deadlock nor lose items.
final class ParallelTests: XCTestCase {
    func testEveryItemRunsOnceAndIsFinishedOnReturn() {
        for n in 1...6 {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
            defer { counts.deallocate() }
            for region in 0..<2_000 {
                counts.initialize(repeating: 0, count: n)
                Parallel.perform(n) { i in counts[i] += 1 }
                for i in 0..<n where counts[i] != 1 {
                    XCTFail("n = \(n), region \(region): item \(i) ran \(counts[i]) times")
                    return
                }
            }
        }
    }

    func testChunksCoverTheRangeExactlyOnce() {
        for workers in [1, 2, 3] {
            Parallel.withWorkers(workers) {
                for count in [0, 1, 2, 5, 31, 32, 33, 1000] {
                    let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
                    defer { hits.deallocate() }
                    hits.initialize(repeating: 0, count: max(1, count))
                    Parallel.forChunks(count, minimumPerChunk: 4) { range in for i in range { hits[i] += 1 } }
                    XCTAssertEqual((0..<count).filter { hits[$0] != 1 }, [], "workers \(workers), count \(count)")
                }
            }
        }
    }

    func testNestedRegionsComplete() {
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 3)
        defer { total.deallocate() }
        total.initialize(repeating: 0, count: 12)
        Parallel.perform(4) { i in
            Parallel.perform(3) { j in total[i * 3 + j] += 1 }
        }
        XCTAssertEqual((0..<12).map { total[$0] }, Array(repeating: 1, count: 12))
    }

    func testRegionsFromSeveralThreadsAtOnce() {
        let threads = 4, regions = 500, n = 2
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: threads * n)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: threads * n)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for _ in 0..<regions {
                Parallel.perform(n) { i in sums[t * n + i] += 1 }
            }
        }
        XCTAssertEqual((0..<(threads * n)).map { sums[$0] }, Array(repeating: regions, count: threads * n))
    }
}
