// Progress: a progress bar with rate and ETA on a terminal, plain periodic lines otherwise
// (CI logs, pipes). It writes to standard error and never to standard output, which stays
// clean for tables and JSON.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public final class ProgressReporter {
    public let total: Int
    public let label: String
    let isTerminal: Bool
    let start: Date
    var lastDraw: Date = .distantPast
    var lastPlainFraction: Double = -1
    /// Set to false to silence (tests, library use without output).
    public var enabled: Bool

    public init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(1, total)
        self.label = label
        self.enabled = enabled
        self.isTerminal = isatty(STDERR_FILENO) != 0
        self.start = Date()
    }

    /// Reports that `done` of `total` units are finished; `detail` is appended (e.g. "loss 2.31").
    public func update(_ done: Int, detail: String = "") {
        guard enabled else { return }
        let now = Date()
        let fraction = min(1, Double(done) / Double(total))
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .nan
        if isTerminal {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done >= total else { return }
            lastDraw = now
            let width = 28
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "\r\(label) [\(bar)] \(done)/\(total) \(Self.clock(elapsed)) eta \(Self.clock(eta)) \(detail)"
            FileHandle.standardError.write(("\u{1B}[2K" + line).data(using: .utf8)!)
        } else {
            // Plain lines at every 10% and at the end, or every 30 s, whichever comes first.
            guard fraction - lastPlainFraction >= 0.1 || done >= total || now.timeIntervalSince(lastDraw) >= 30 else {
                return
            }
            lastPlainFraction = fraction
            lastDraw = now
            let pct = String(format: "%3.0f%%", fraction * 100)
            FileHandle.standardError.write(
                "\(label): \(done)/\(total) (\(pct)) elapsed \(Self.clock(elapsed)) eta \(Self.clock(eta)) \(detail)\n"
                    .data(using: .utf8)!)
        }
    }

    /// Ends the bar's line on a terminal.
    public func finish(detail: String = "") {
        guard enabled, !finished else { return }
        if isTerminal || lastPlainFraction < 1 { update(total, detail: detail) }
        if isTerminal { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        finished = true
    }
    var finished = false

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%02d:%02d", s / 60, s % 60)
    }
}
