// Running a kernel test on the AVX2 path or on the scalar fallbacks.
import CKernels

/// Runs `body` with the AVX2 kernels enabled (`simd` true, where the CPU has them) or with the scalar
/// fallbacks, then restores the previous setting.
public func withSIMD<T>(_ simd: Bool, _ body: () throws -> T) rethrows -> T {
    let was = lh_simd_enabled()
    lh_set_simd_enabled(simd ? 1 : 0)
    defer { lh_set_simd_enabled(was) }
    return try body()
}
