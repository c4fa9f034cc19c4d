// Running a kernel test on each SIMD path: AVX-512 (where a kernel has it), AVX2, or the scalar fallbacks.
import CKernels
import LHModel

/// Runs `body` with the AVX2 kernels enabled (`simd` true: the widest level the CPU has) or with the scalar
/// fallbacks, then restores the previous level.
public func withSIMD<T>(_ simd: Bool, _ body: () throws -> T) rethrows -> T {
    try withSIMDLevel(simd ? SIMDLevel.supported : .scalar, body)
}

/// Runs `body` at `level` (capped at what the CPU has), then restores the previous level.
public func withSIMDLevel<T>(_ level: SIMDLevel, _ body: () throws -> T) rethrows -> T {
    let was = SIMDLevel.current
    SIMDLevel.use(level)
    defer { SIMDLevel.use(was) }
    return try body()
}

/// Runs `body` at every level this CPU supports, widest first, passing the level's name (avx512, avx2, scalar) for
/// messages.
public func forEachSIMDPath(_ body: (String) throws -> Void) rethrows {
    try forEachSIMDLevel { try body($0.name) }
}

/// Runs `body` once at every level this CPU supports, widest first, passing the level in use.
public func forEachSIMDLevel(_ body: (SIMDLevel) throws -> Void) rethrows {
    for level in SIMDLevel.allCases.reversed() where level <= SIMDLevel.supported {
        try withSIMDLevel(level) { try body(level) }
    }
}
