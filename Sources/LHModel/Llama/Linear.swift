// y = x · Wᵀ for a batch of activation rows, choosing the kernel by batch size.
//
// Few rows (decode): fused dequantize-and-dot C kernels over the mapped quantized blocks, with
// activations quantized to 8 bits for the block-quantized types, as llama.cpp does. Memory-bound,
// so reading 4-bit weights directly is what makes decode fast.
// Many rows (prefill): dequantize a panel of weight rows to f32 and multiply with OpenBLAS sgemm,
// which is compute-bound; the activation rows are split over the pool (see Gemm for the backend).
import CKernels
import LHCore

/// Scratch memory and kernel choice for weight products. One per thread of use; not thread-safe.
public final class LinearScratch {
    /// Batches of at most this many rows use the quantized matrix-vector kernels.
    public static let quantizedKernelMaxRows = 8
    /// Weight rows dequantized at once on the sgemm path (bounds the f32 panel to rows × cols).
    static let panelRows = 4096

    private var panel = FloatBuffer(count: 0)           // (panelRows, cols) f32 weights
    private var quantized: UnsafeMutablePointer<lh_block_q8>? = nil   // (m, cols/32) activations
    private var quantizedCapacity = 0

    public init() {}

    deinit { quantized?.deallocate() }

    /// `y (m, w.rows) = x (m, w.cols) · wᵀ`, rows of `y` `ldy` apart (default `w.rows`).
    public func apply(_ w: WeightMatrix, x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>, ldy: Int? = nil) {
        let ldy = ldy ?? w.rows
        if m <= Self.quantizedKernelMaxRows && ldy == w.rows {
            applyQuantized(w, x: x, m: m, y: y)
        } else {
            applyBLAS(w, x: x, m: m, y: y, ldy: ldy)
        }
    }

    private func applyQuantized(_ w: WeightMatrix, x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>) {
        var xq: UnsafeMutablePointer<lh_block_q8>? = nil
        if w.type.usesQuantizedActivations {
            let blocks = m * w.cols / 32
            if blocks > quantizedCapacity {
                quantized?.deallocate()
                quantized = .allocate(capacity: blocks)
                quantizedCapacity = blocks
            }
            for i in 0..<m {
                lh_quantize_row_q8(x + i * w.cols, quantized! + i * (w.cols / 32), Int64(w.cols))
            }
            xq = quantized
        }
        lh_matmul_rows(Int32(w.type.rawValue), w.data, w.rowBytes, Int64(w.rows), Int64(w.cols),
                       x, xq, y, Int64(m), 0)
    }

    private func applyBLAS(_ w: WeightMatrix, x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
        let panelRows = min(w.rows, Self.panelRows)
        panel.ensure(count: panelRows * w.cols)
        let panel = self.panel.pointer
        var start = 0
        while start < w.rows {
            let n = min(panelRows, w.rows - start)
            Parallel.forRanges(n, grain: 64) { range, _ in
                Dequantize.rows(w, (start + range.lowerBound)..<(start + range.upperBound), into: panel + range.lowerBound * w.cols)
            }
            // y[:, start..<start+n] (m, n) = x (m, cols) · panelᵀ (cols, n), activation rows split over threads
            Parallel.forRanges(m, grain: 16) { rows, _ in
                Gemm.nt(m: rows.count, n: n, k: w.cols, a: x + rows.lowerBound * w.cols, lda: w.cols,
                        b: panel, ldb: w.cols, c: y + rows.lowerBound * ldy + start, ldc: ldy)
            }
            start += n
        }
    }
}
