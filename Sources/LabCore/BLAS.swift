// BLAS: the only file in DistillLab that calls OpenBLAS and LAPACKE.
// Everything dense (linear layers, the SVD of the logit-leak attack) goes through here, so the
// kernel in use, its thread count and its row-major conventions are decided in one place.
import CBLAS
import Foundation

/// Row-major matrix products and linear algebra over raw `Float` pointers.
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, all row-major.
    /// `op(A)` is (m, k), `op(B)` is (k, n), `C` is (m, n).
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `sgemm` split across the lab's workers: each worker runs a single-threaded OpenBLAS call
    /// on its block of C's rows (or columns, when C is short and wide). The lab keeps OpenBLAS
    /// itself at one thread (see `useSingleThreadedBLAS`), so there is one thread pool, not two
    /// fighting over the same cores, and element-wise kernels never wait for BLAS's spinners.
    @inlinable
    public static func parallelSgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // The split is fixed by the shape (Parallel.fixedChunks pieces), not by the worker count:
        // OpenBLAS may accumulate differently for different call shapes, so one worker runs the same
        // pieces in turn rather than one whole call.
        switch split(m: m, n: n, k: k) {
        case .whole:
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: beta, c: c, ldc: ldc)
        case .rows:
            // Rows of C: rows of op(A).
            Parallel.forFixedChunks(m, minimumPerChunk: rowPieceMinimum) { _, rows in
                let aOffset = transA ? rows.lowerBound : rows.lowerBound * lda
                sgemm(
                    transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: a + aOffset, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        case .columns:
            // Columns of C: columns of op(B). Keep blocks a multiple of 16 wide.
            let blocks = (n + 15) / 16
            Parallel.forFixedChunks(blocks) { _, range in
                let lo = range.lowerBound * 16, hi = min(n, range.upperBound * 16)
                let bOffset = transB ? lo * ldb : lo
                sgemm(
                    transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                    b: b + bOffset, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// How `parallelSgemm` cuts a product of C (m, n) over k: one call, C's rows in the pieces of
    /// `Parallel.forFixedChunks(m, minimumPerChunk: rowPieceMinimum)`, or C's columns in blocks of 16.
    /// A caller that runs one row piece of a batch through several products on one worker (the
    /// sampler's decode step) makes exactly the calls `parallelSgemm` makes when every product is `.rows`.
    public enum Split: Equatable, Sendable { case whole, rows, columns }

    /// The fewest rows a row piece of `parallelSgemm` has.
    public static let rowPieceMinimum = 8

    /// The cut `parallelSgemm` makes for this shape; it depends on the shape only.
    @inlinable
    public static func split(m: Int, n: Int, k: Int) -> Split {
        // Below ~1 MFLOP a thread hand-off costs more than it saves.
        if Parallel.fixedChunks <= 1 || m * n * k < 1 << 19 { return .whole }
        return m >= n || m >= 16 * Parallel.fixedChunks ? .rows : .columns
    }

    /// Sets OpenBLAS to one thread per call: the lab parallelises products itself
    /// (`parallelSgemm`). Call once before heavy work; `Parallel.workers` sets the width.
    public static func useSingleThreadedBLAS() {
        if threads != 1 { threads = 1 }
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernel family OpenBLAS chose at load time (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// OpenBLAS's build configuration string.
    public static var configuration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// Thin singular value decomposition of a row-major (m, n) matrix (copied; the input is kept).
    /// Returns singular values (descending, min(m,n)), U (m, r) and Vt (r, n), r = min(m, n).
    public static func svd(_ matrix: [Float], rows m: Int, columns n: Int) throws -> (
        s: [Float], u: [Float], vt: [Float]
    ) {
        try gesdd(matrix, rows: m, columns: n, name: "LAPACKE_sgesdd") { a, s, u, vt in
            LAPACKE_sgesdd(
                LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), a, Int32(n), s, u, Int32(min(m, n)), vt,
                Int32(n))
        }
    }

    /// `svd` in double precision (LAPACKE_dgesdd): for spectra that span more decades than Float
    /// resolves, e.g. the logit-leak attack's gap between a rank-C signal and rounding-level noise.
    /// Returns singular values (descending, min(m,n)), U (m, r) and Vt (r, n), r = min(m, n).
    public static func svdDouble(_ matrix: [Double], rows m: Int, columns n: Int) throws -> (
        s: [Double], u: [Double], vt: [Double]
    ) {
        try gesdd(matrix, rows: m, columns: n, name: "LAPACKE_dgesdd") { a, s, u, vt in
            LAPACKE_dgesdd(
                LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), a, Int32(n), s, u, Int32(min(m, n)), vt,
                Int32(n))
        }
    }

    /// The buffers and the error check around one LAPACKE ?gesdd call (jobz "S", row-major).
    private static func gesdd<T: BinaryFloatingPoint>(
        _ matrix: [T], rows m: Int, columns n: Int, name: String,
        _ call: (UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?)
            -> Int32
    ) throws -> (s: [T], u: [T], vt: [T]) {
        precondition(matrix.count == m * n, "svd: matrix has \(matrix.count) entries, expected \(m)×\(n)")
        let r = min(m, n)
        var a = matrix
        var s = [T](repeating: 0, count: r)
        var u = [T](repeating: 0, count: m * r)
        var vt = [T](repeating: 0, count: r * n)
        let info = a.withUnsafeMutableBufferPointer { ap in
            s.withUnsafeMutableBufferPointer { sp in
                u.withUnsafeMutableBufferPointer { up in
                    vt.withUnsafeMutableBufferPointer { vp in
                        call(ap.baseAddress, sp.baseAddress, up.baseAddress, vp.baseAddress)
                    }
                }
            }
        }
        guard info == 0 else { throw LabError.numerical("\(name) failed with info \(info) on a \(m)×\(n) matrix") }
        return (s, u, vt)
    }
}
