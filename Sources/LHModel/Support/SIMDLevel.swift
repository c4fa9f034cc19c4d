// The SIMD kernels in use (scalar, AVX2, AVX-512), chosen from the CPU at first use and lowerable for comparisons.
import CKernels

/// The widest SIMD kernels lhindex's C kernels use. Each kernel without a path at the chosen level uses the next
/// lower one it has (most kernels have AVX2 and scalar paths only).
public enum SIMDLevel: Int, CaseIterable, Sendable, Comparable {
    case scalar = 0, avx2 = 1, avx512 = 2

    /// The name used on the command line and in reports: scalar, avx2 or avx512.
    public var name: String { ["scalar", "avx2", "avx512"][rawValue] }

    /// The level named `name`, or nil.
    public init?(name: String) {
        guard let level = SIMDLevel.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    /// The level in use.
    public static var current: SIMDLevel { SIMDLevel(rawValue: Int(lh_simd_level())) ?? .scalar }

    /// The highest level this CPU supports.
    public static var supported: SIMDLevel { SIMDLevel(rawValue: Int(lh_cpu_simd_level())) ?? .scalar }

    /// Uses `level`, capped at `supported`; call it while no kernel runs. Returns the level now in use.
    @discardableResult
    public static func use(_ level: SIMDLevel) -> SIMDLevel {
        lh_set_simd_level(Int32(level.rawValue))
        return current
    }

    public static func < (a: SIMDLevel, b: SIMDLevel) -> Bool { a.rawValue < b.rawValue }
}
