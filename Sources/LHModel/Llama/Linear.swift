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

    /// `y_j (m, w_j.rows) = x (m, cols) · w_jᵀ` for several matrices with the same columns (a layer's q, k, v, or
    /// its gate and up). Decode-sized batches run as one job on the thread pool (one hand-off for all of them,
    /// the activations quantized once); larger ones matrix by matrix. Results equal separate `apply` calls.
    public func apply(_ products: [(w: WeightMatrix, y: UnsafeMutablePointer<Float>)], x: UnsafePointer<Float>, m: Int) {
        guard let cols = products.first?.w.cols else { return }
        guard m <= Self.quantizedKernelMaxRows, products.allSatisfy({ $0.w.cols == cols }) else {
            for p in products { apply(p.w, x: x, m: m, y: p.y) }
            return
        }
        let xq = products.contains(where: { $0.w.type.usesQuantizedActivations }) ? quantize(x, m: m, cols: cols) : nil
        let parts = products.map {
            lh_matmul_part(type: Int32($0.w.type.rawValue), w: $0.w.data, row_bytes: $0.w.rowBytes, rows: Int64($0.w.rows), y: $0.y)
        }
        lh_matmul_rows_group(parts, Int32(parts.count), Int64(cols), x, xq, Int64(m), 0)
    }

    private func applyQuantized(_ w: WeightMatrix, x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>) {
        let xq = w.type.usesQuantizedActivations ? quantize(x, m: m, cols: w.cols) : nil
        lh_matmul_rows(Int32(w.type.rawValue), w.data, w.rowBytes, Int64(w.rows), Int64(w.cols),
                       x, xq, y, Int64(m), 0)
    }

    /// x (m, cols) as q8 blocks (m, cols/32) in the scratch buffer.
    private func quantize(_ x: UnsafePointer<Float>, m: Int, cols: Int) -> UnsafeMutablePointer<lh_block_q8> {
        let blocks = m * cols / 32
        if blocks > quantizedCapacity {
            quantized?.deallocate()
            quantized = .allocate(capacity: blocks)
            quantizedCapacity = blocks
        }
        for i in 0..<m {
            lh_quantize_row_q8(x + i * cols, quantized! + i * (cols / 32), Int64(cols))
        }
        return quantized!
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
