// MemoryLimit: the bound every user-given size is checked against before memory is allocated for it, so a
// huge or overflowing request is an error saying how much memory it would need, never an allocator failure or
// an arithmetic trap. Not an accounting of what the process holds.
import Foundation

public enum MemoryLimit {
    /// Bytes one request may ask for: half the machine's physical memory, at most 64 GiB, or
    /// `DISTILL_LAB_MEMORY_LIMIT_GIB` when set.
    public static var bytes: Int {
        if let text = ProcessInfo.processInfo.environment["DISTILL_LAB_MEMORY_LIMIT_GIB"], let gib = Double(text),
            gib > 0, gib < 1_048_576
        {
            return Int(gib * 1_073_741_824)
        }
        return Int(min(Double(ProcessInfo.processInfo.physicalMemory) / 2, 64 * 1_073_741_824))
    }

    /// "3.2 GiB", "1.1e+06 TiB", "more than 8 EiB" for a product that overflowed (nil).
    public static func describe(_ bytes: Double?) -> String {
        guard let b = bytes, b.isFinite, b < 9.2e18 else { return "more than 8 EiB" }
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = b, unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) bytes" : String(format: "%.3g %@", value, units[unit] as NSString)
    }

    /// Throws when `bytes` (computed in Double, so it cannot overflow) exceeds the limit: the message says
    /// what would be allocated, how much it needs, the limit, and which key or flag to lower.
    public static func check(_ bytes: Double, for what: String, key: String, fix: String? = nil) throws {
        let limit = Double(Self.bytes)
        guard bytes.isFinite, bytes <= limit else {
            throw LabError.invalidConfig(
                key: key,
                message: "\(what) would need \(describe(bytes)) of memory; the limit is \(describe(limit)) "
                    + "(half this machine's memory; DISTILL_LAB_MEMORY_LIMIT_GIB changes it). \(fix ?? "Lower \(key).")"
            )
        }
    }

    /// `count` elements of `bytesEach` bytes.
    public static func check(count: Int, bytesEach: Int, for what: String, key: String, fix: String? = nil) throws {
        try check(Double(count) * Double(bytesEach), for: what, key: key, fix: fix)
    }
}
