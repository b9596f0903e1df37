// TestSupport: helpers shared by the test targets (fixture paths, finite differences).
import Foundation

public enum Fixtures {
    /// Directory `Tests/<target>/Fixtures` next to the calling test file.
    public static func url(_ name: String, file: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures")
            .appendingPathComponent(name)
    }
}
