// Money and PriceTable: dollars as whole picodollars, and prices as whole microdollars per million
// tokens — one unit each, so the cost of n tokens is n × price in integers and every sum is exact.
// Not a currency library: one currency, no rounding modes, nothing fractional below 10⁻¹² $.
import Foundation
import LabCore

/// An amount of money in whole picodollars (10⁻¹² $). A price of p microdollars per million tokens is
/// p picodollars per token (10⁻⁶ $ / 10⁶ = 10⁻¹² $), so cost = tokens × price with no division and no
/// rounding, and the ledger's total equals the sum of its charges exactly. Int64 holds up to about
/// $9.2 million; arithmetic past that traps rather than wrapping silently.
public struct Money: Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var picodollars: Int64

    public init(picodollars: Int64) { self.picodollars = picodollars }

    public static let zero = Money(picodollars: 0)

    /// Exactly `dollars`; throws when it is not a whole number of picodollars or does not fit.
    public init(dollars: Decimal) throws {
        guard let value = Money.wholeInt64(dollars * Decimal(sign: .plus, exponent: 12, significand: 1)) else {
            throw LabError.invalidConfig(
                key: "dollars",
                message: "\(dollars) is not a whole number of picodollars (10⁻¹² $) within ±$9.2 million")
        }
        picodollars = value
    }

    /// `d` as an Int64 when it is a whole number in range, else nil.
    static func wholeInt64(_ d: Decimal) -> Int64? {
        var x = d, whole = Decimal()
        NSDecimalRound(&whole, &x, 0, .plain)
        guard whole == d else { return nil }
        return Int64(NSDecimalNumber(decimal: whole).stringValue)
    }

    /// The exact amount in dollars.
    public var dollars: Decimal { Decimal(picodollars) / Decimal(sign: .plus, exponent: 12, significand: 1) }

    /// Dollars with every significant digit, e.g. "$0.000012345".
    public var description: String { "$" + NSDecimalNumber(decimal: dollars).stringValue }

    public static func + (a: Money, b: Money) -> Money { Money(picodollars: a.picodollars + b.picodollars) }
    public static func += (a: inout Money, b: Money) { a.picodollars += b.picodollars }
    public static func < (a: Money, b: Money) -> Bool { a.picodollars < b.picodollars }
}

/// What tokens cost, per million, the way LLM APIs publish prices.
public struct PriceTable: Codable, Equatable, Sendable {
    /// Price of a million input (prompt) tokens in microdollars — equally, of one input token in picodollars.
    public var inputMicrodollarsPerMillion: Int64
    /// Price of a million output (generated) tokens in microdollars.
    public var outputMicrodollarsPerMillion: Int64

    public init(inputMicrodollarsPerMillion: Int64, outputMicrodollarsPerMillion: Int64) throws {
        guard inputMicrodollarsPerMillion >= 0, outputMicrodollarsPerMillion >= 0 else {
            throw LabError.invalidConfig(
                key: "prices",
                message:
                    "input \(inputMicrodollarsPerMillion), output \(outputMicrodollarsPerMillion) µ$ per million tokens; prices must be 0 or more"
            )
        }
        self.inputMicrodollarsPerMillion = inputMicrodollarsPerMillion
        self.outputMicrodollarsPerMillion = outputMicrodollarsPerMillion
    }

    /// Prices in dollars per million tokens, e.g. (0.15, 0.60); throws unless each is a whole number of microdollars.
    public init(inputDollarsPerMillion: Decimal, outputDollarsPerMillion: Decimal) throws {
        func micro(_ d: Decimal, _ key: String) throws -> Int64 {
            guard d >= 0, let v = Money.wholeInt64(d * 1_000_000) else {
                throw LabError.invalidConfig(
                    key: key, message: "$\(d) per million tokens is not a non-negative whole number of microdollars")
            }
            return v
        }
        try self.init(
            inputMicrodollarsPerMillion: micro(inputDollarsPerMillion, "input_per_million"),
            outputMicrodollarsPerMillion: micro(outputDollarsPerMillion, "output_per_million"))
    }

    /// GPT-4o mini's list price at its launch (July 2024): $0.15 per million input tokens, $0.60 per
    /// million output tokens — a cheap production model, the kind an extraction attack would target.
    public static let standard = PriceTable(unchecked: 150_000, 600_000)

    init(unchecked input: Int64, _ output: Int64) {
        inputMicrodollarsPerMillion = input
        outputMicrodollarsPerMillion = output
    }

    /// input × input price + output × output price, exactly (see `Money`).
    public func cost(inputTokens: Int, outputTokens: Int) -> Money {
        Money(
            picodollars: Int64(inputTokens) * inputMicrodollarsPerMillion + Int64(outputTokens)
                * outputMicrodollarsPerMillion)
    }

    enum CodingKeys: String, CodingKey {
        case inputMicrodollarsPerMillion = "input_microdollars_per_million", outputMicrodollarsPerMillion =
            "output_microdollars_per_million"
    }
}
