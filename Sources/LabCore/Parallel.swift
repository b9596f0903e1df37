// Parallel: the lab's own parallel loops for the work that is not a BLAS call
// (attention, LayerNorm, GELU, losses, AdamW). They run between BLAS calls, never during one,
// so the two thread pools do not fight over the same cores.
import Dispatch

public enum Parallel {
    /// Worker count for the lab's own loops (defaults to the machine's active cores).
    nonisolated(unsafe) public static var workers: Int = max(1, ProcessInfoCores.active)

    /// Runs `body(range)` over `0..<count` split into at most `workers` contiguous chunks.
    /// Runs inline when the work is too small to be worth a thread (`count < minimumPerChunk * 2`).
    @inlinable
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers, max(1, count / max(1, minimumPerChunk)))
        if chunks <= 1 || count <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks
            let hi = count * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, items spread over the workers in interleaved
    /// order (good for uneven items such as causal-attention heads).
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let w = min(workers, count)
        if w <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: w) { worker in
            var i = worker
            while i < count {
                body(i)
                i += w
            }
        }
    }
}

/// Core count without Foundation in hot code paths.
public enum ProcessInfoCores {
    public static var active: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 2
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
