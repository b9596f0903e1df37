// PartParameterTests: a declared parameter is the one place its default, range and meaning live — reading
// gives the default when the key is absent, the value when valid, an error naming the key and the requirement
// otherwise, and the docs line shows the same default.
import Foundation
import LabAPI
import LabCore
import TestSupport
import XCTest

final class PartParameterTests: XCTestCase {
    enum Side: String, CaseIterable, Sendable { case left, right }
    static let width = PartParameter.int("width", 3, valid: { (1...8).contains($0) }, "must be in 1...8", meaning: "w")
    static let rate = PartParameter.double("rate", 0.25, valid: { $0 > 0 }, "must be > 0", meaning: "r")
    static let cap = PartParameter.optionalDouble("cap", "must be finite", absent: "none", meaning: "c")
    static let side = PartParameter.choice("side", Side.right, meaning: "s")
    static let seed = PartParameter.uint64("seed", 7, meaning: "seed")

    func parameters(_ values: [String: ParameterValue]) -> PartParameters {
        PartParameters(defence: "example", values: values)
    }

    func testDefaultsValuesAndDocsComeFromTheDeclaration() throws {
        var p = parameters([:])
        XCTAssertEqual(try p.read(Self.width), 3)
        XCTAssertEqual(try p.read(Self.rate), 0.25)
        XCTAssertNil(try p.read(Self.cap))
        XCTAssertEqual(try p.read(Self.side), .right)
        XCTAssertEqual(try p.read(Self.seed), 7)
        try p.finish()
        XCTAssertEqual(
            [Self.width.doc, Self.rate.doc, Self.cap.doc, Self.side.doc, Self.seed.doc].map(\.defaultValue),
            ["3", "0.25", "none", "right", "7"])

        var given = parameters([
            "width": .number(8), "rate": .number(2), "cap": .number(-1), "side": .string("left"),
            "seed": .string("18446744073709551615"),
        ])
        XCTAssertEqual(try given.read(Self.width), 8)
        XCTAssertEqual(try given.read(Self.rate), 2)
        XCTAssertEqual(try given.read(Self.cap), -1)
        XCTAssertEqual(try given.read(Self.side), .left)
        XCTAssertEqual(try given.read(Self.seed), UInt64.max)
        try given.finish()
    }

    func testABadValueNamesTheKeyAndTheRequirement() {
        for (declared, value, requirement) in [
            ("width", ParameterValue.number(9), "must be in 1...8"), ("width", .number(2.5), "must be in 1...8"),
            ("rate", .number(0), "must be > 0"), ("side", .string("up"), "left, right"),
            ("width", .string("three"), "must be in 1...8"),
        ] {
            var p = parameters([declared: value])
            let error = Fixture.error {
                _ = try p.read(Self.width)
                _ = try p.read(Self.rate)
                _ = try p.read(Self.side)
            }
            guard case let LabError.invalidConfig(key, message)? = error as? LabError else {
                XCTFail("\(declared) = \(value): expected a located error, got \(String(describing: error))")
                continue
            }
            XCTAssertEqual(key, "defences.example.\(declared)")
            XCTAssertTrue(message.contains(requirement), "\(declared): '\(message)' lacks '\(requirement)'")
        }
    }
}
