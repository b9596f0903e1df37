// BLASKernel: makes sure OpenBLAS runs its fast kernel on this CPU.
// Debian's OpenBLAS 0.3.21 does not know recent AVX-512 Xeons and falls back to its generic
// "Prescott" kernels (about 5x slower sgemm). The core type is read when the library loads, so
// the only cure from inside is to re-execute the program once with OPENBLAS_CORETYPE set.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public enum BLASKernel {
    public static let environmentKey = "OPENBLAS_CORETYPE"
    /// Set in the re-executed process so that it never re-executes again.
    public static let reexecGuardKey = "DISTILLLAB_KERNEL_REEXEC"
    /// Kernel families that already use AVX-512 sgemm.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// CPU flags from /proc/cpuinfo (empty where that file does not exist).
    public static let cpuFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            }
        }
        return []
    }()

    /// True when the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels need (F, BW, DQ, VL).
    public static var cpuSupportsSkylakeX: Bool {
        ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains)
    }

    /// The value the user set for OPENBLAS_CORETYPE, if any.
    public static var userCoreType: String? { ProcessInfo.processInfo.environment[environmentKey] }

    /// Whether the kernel OpenBLAS picked is slower than one this CPU could run.
    public static var isOnSlowKernel: Bool {
        cpuSupportsSkylakeX && !avx512Cores.contains(BLAS.coreName.lowercased())
    }

    /// The decision behind `ensureFastKernel`, as a pure function: re-execute only when the CPU has
    /// AVX-512 F/BW/DQ/VL, OpenBLAS chose a non-AVX-512 kernel, the user has not set
    /// OPENBLAS_CORETYPE, and this process is not already the re-executed one.
    public static func shouldReexecute(environment: [String: String], cpuFlags: Set<String>, coreName: String) -> Bool {
        guard environment[environmentKey] == nil, environment[reexecGuardKey] == nil else { return false }
        let hasAVX512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains)
        return hasAVX512 && !avx512Cores.contains(coreName.lowercased())
    }

    /// One line for reports: the kernel, how it was chosen, and the thread count.
    public static var summary: String {
        let how: String
        if let set = userCoreType {
            how =
                ProcessInfo.processInfo.environment[reexecGuardKey] != nil
                ? "selected by DistillLab (\(environmentKey)=\(set))" : "set by the user (\(environmentKey)=\(set))"
        } else {
            how = "chosen by OpenBLAS"
        }
        return
            "OpenBLAS kernel \(BLAS.coreName), \(how); \(Parallel.workers) worker thread(s) over single-threaded BLAS calls"
    }

    /// Re-executes the current program once with OPENBLAS_CORETYPE=SkylakeX when the CPU supports
    /// AVX-512, OpenBLAS chose a slower kernel, and the user has not set the variable. Call it first
    /// thing in `main`. Returns normally when no re-execution is needed or possible.
    public static func ensureFastKernel() {
        guard
            shouldReexecute(
                environment: ProcessInfo.processInfo.environment, cpuFlags: cpuFlags, coreName: BLAS.coreName)
        else { return }
        setenv(environmentKey, "SkylakeX", 1)
        setenv(reexecGuardKey, "1", 1)
        fflush(stdout)
        fflush(stderr)
        // Same binary, same arguments; on success this never returns.
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed: carry on with the slow kernel rather than fail.
        unsetenv(environmentKey)
    }
}
