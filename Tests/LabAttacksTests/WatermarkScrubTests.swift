// Watermark scrubbing without the key: on KGW-watermarked completions of a bigram teacher, the frequency
// contrast against the attacker's own clean text finds green pairs well enough that dropping the
// highest-scoring texts or rewriting the highest-scoring tokens lowers the green share the detector sees,
// and rewriting more lowers it more; `none` changes nothing; bad values name their key.
import Foundation
import LabCore
import XCTest

@testable import LabAPI
@testable import LabAttacks
@testable import LabDefences

final class WatermarkScrubTests: XCTestCase {
    let V = 16

    func texts() throws -> (marked: [[Int32]], own: [Int], watermark: KGWWatermark) {
        let teacher = try BigramTeacher.random(vocabularySize: V, scale: 1, contextLength: 64, seed: 2)
        let watermark = try KGWWatermark(gamma: 0.25, delta: 3, key: 77, contextWidth: 1, vocabularySize: V)
        let ledger = Ledger()
        try ledger.open("a")
        var rng = LabRNG(seed: 4, stream: "scrub-test")
        let queries = (0..<300).map { _ in
            Query.completion([Int32(rng.int(below: V))], maxNewTokens: 40, seed: rng.next())
        }
        let marked = try DefendedAPI(
            teacher: teacher, defences: DefencePipeline([KGWDefence(watermark: watermark)]), ledger: ledger
        ).call(queries, account: "a")
        let clean = try DefendedAPI(teacher: teacher, ledger: ledger).call(queries, account: "a")
        return (
            zip(queries, marked).map { $0.prompt + $1.tokens },
            zip(queries, clean).flatMap { ($0.prompt + $1.tokens).map(Int.init) }, watermark
        )
    }

    func greenShare(_ texts: [[Int32]], _ watermark: KGWWatermark) throws -> Double {
        try KGWDetector(watermark: watermark).aggregate(
            texts: texts.map { Array($0.dropFirst()) }, prompts: texts.map { Array($0.prefix(1)) }, deduplicate: false
        ).greenFraction
    }

    func testScrubbingLowersTheGreenShareWithoutTheKey() throws {
        let (marked, own, watermark) = try texts()
        let before = try greenShare(marked, watermark)
        XCTAssertGreaterThan(before, 0.5, "δ = 3 makes most tokens green")

        let none = WatermarkScrub().scrub(marked, promptLength: 1, own: own, vocabularySize: V, seed: 0)
        XCTAssertEqual(none.texts, marked)

        let dropped = WatermarkScrub(method: .drop, fraction: 0.5).scrub(
            marked, promptLength: 1, own: own, vocabularySize: V, seed: 0)
        XCTAssertEqual(dropped.texts.count, 150)
        XCTAssertEqual(dropped.dropped, 150)
        XCTAssertLessThan(try greenShare(dropped.texts, watermark), before)

        var shares: [Double] = []
        for fraction in [0.25, 0.5] {
            let rewritten = WatermarkScrub(method: .resample, fraction: fraction).scrub(
                marked, promptLength: 1, own: own, vocabularySize: V, seed: 0)
            XCTAssertEqual(rewritten.rewrittenShare, fraction, accuracy: 0.01)
            XCTAssertEqual(rewritten.texts.map(\.count), marked.map(\.count))
            shares.append(try greenShare(rewritten.texts, watermark))
        }
        XCTAssertLessThan(shares[0], before)
        XCTAssertLessThan(shares[1], shares[0])
        // The contrast finds green pairs better than chance: rewriting a quarter of the tokens at random
        // would leave about before − 0.25 × (before − 0.25) green.
        XCTAssertLessThan(shares[0], before - 0.25 * (before - 0.25))
    }

    func testBadValuesNameTheirKey() {
        XCTAssertEqual(
            ExtractionFixture.invalidKey { try WatermarkScrub(method: .drop, fraction: 1).validate() }, "fraction")
        XCTAssertEqual(
            ExtractionFixture.invalidKey { try WatermarkScrub(contextWidth: 0).validate() }, "context_width")
        XCTAssertEqual(WatermarkScrub(method: .drop, fraction: 0.5).textsToBuy(10), 20)
        XCTAssertEqual(WatermarkScrub(method: .resample, fraction: 0.5).textsToBuy(10), 10)
    }
}
