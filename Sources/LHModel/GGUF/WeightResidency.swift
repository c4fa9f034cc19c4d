// Where a model's weights live while it runs: the file's mapped pages, or a private copy in huge pages.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LHCore

/// Chooses how a model file's weights are held in memory.
///
/// Every generated token reads every weight once. Through a file mapping that is one 4 KB page (and one TLB
/// entry) per 4 KB of weights, and on the Intel Xeons lhindex is measured on the page walks cost about a tenth of
/// generation speed (SmolLM2-135M Q4_1: 161 → 179 tok/s with the weights in 2 MB pages). So a model file is read
/// into anonymous memory advised for transparent huge pages when the kernel offers them and the file is small next
/// to physical memory; otherwise it stays mapped. `LHINDEX_WEIGHTS=map` or `=copy` overrides the choice.
public enum WeightResidency {
    /// Files smaller than this stay mapped: a copy would not fill one huge page's worth of TLB savings.
    static let minimumCopyBytes = 16 << 20
    /// Copies are made only of files up to this fraction of physical memory (a copy is private to the process,
    /// where mapped pages are shared with the page cache and with other processes).
    static let maximumMemoryFraction = 0.25

    /// The residency for a model file of `bytes` bytes.
    public static func preferred(fileBytes bytes: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> MappedFile.Residency {
        switch environment["LHINDEX_WEIGHTS"] {
        case "map"?: return .mapped
        case "copy"?: return .hugePageCopy
        default: break
        }
        guard bytes >= minimumCopyBytes, transparentHugePagesAvailable,
              Double(bytes) <= Double(ProcessInfo.processInfo.physicalMemory) * maximumMemoryFraction else { return .mapped }
        return .hugePageCopy
    }

    /// Whether the kernel gives huge pages to memory that asks for them (`enabled` is `always` or `madvise`).
    static let transparentHugePagesAvailable: Bool = {
        guard let text = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8) else { return false }
        return text.contains("[always]") || text.contains("[madvise]")
    }()
}
