// LabError: the typed errors a user can cause, each worded to say what went wrong and the fix.
// Programming errors (broken invariants inside the lab) stay preconditions; these are for input.
import Foundation

public enum LabError: Error, CustomStringConvertible, Equatable {
    /// A configuration value is out of range or inconsistent: the key, and what would be valid.
    case invalidConfig(key: String, message: String)
    /// A file is missing, unreadable, truncated or of the wrong shape.
    case file(path: String, message: String)
    /// A checkpoint tensor is missing, mis-shaped or corrupt.
    case checkpoint(path: String, tensor: String, message: String)
    /// Training produced a NaN or infinity.
    case nonFinite(step: Int, tensor: String)
    /// A numerical routine failed.
    case numerical(String)
    /// Anything else a user can fix, worded in full.
    case message(String)

    public var description: String {
        switch self {
        case let .invalidConfig(key, message): return "invalid value for '\(key)': \(message)"
        case let .file(path, message): return "\(path): \(message)"
        case let .checkpoint(path, tensor, message): return "\(path): tensor '\(tensor)': \(message)"
        case let .nonFinite(step, tensor):
            return
                "training diverged at step \(step): '\(tensor)' contains NaN or infinity (try a lower learning rate or stronger gradient clipping)"
        case let .numerical(text): return text
        case let .message(text): return text
        }
    }
}

extension LabError: LocalizedError {
    public var errorDescription: String? { description }
}
