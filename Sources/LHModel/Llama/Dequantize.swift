// Conversion of stored weight rows to f32 (through the C kernels).
import CKernels

/// Dequantization of weight rows.
public enum Dequantize {
    /// Row `r` of `w` as f32 values.
    public static func row(_ w: WeightMatrix, _ r: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: w.cols) { buf, n in
            lh_dequantize_row(Int32(w.type.rawValue), w.data + r * w.rowBytes, buf.baseAddress!, Int64(w.cols))
            n = w.cols
        }
    }

    /// Rows `range` of `w` into `out` (row-major, `range.count` × `w.cols`).
    public static func rows(_ w: WeightMatrix, _ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        for (i, r) in range.enumerated() {
            lh_dequantize_row(Int32(w.type.rawValue), w.data + r * w.rowBytes, out + i * w.cols, Int64(w.cols))
        }
    }
}
