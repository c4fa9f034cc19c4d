// Moving a complete .partial bundle into place: an atomic exchange with the old bundle, and cleanup of what a kill left.
#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Foundation
import LHCore

/// Publishes complete bundles. A reader sees either the old bundle or the new one at `NAME.lhx`, never
/// no bundle: the two directories are exchanged in one `renameat2(RENAME_EXCHANGE)`, and only file systems
/// without it fall back to rename-aside-then-rename (where a kill in between leaves the complete
/// `.partial`, which the next build publishes). Callers hold the output directory's lock.
public enum BundlePublisher {
    /// The name the replaced bundle gets while it is removed: `NAME.lhx.old-PID`.
    static func asidePath(_ bundle: String) -> String { bundle + ".old-\(getpid())" }

    /// Moves the complete bundle at `partial` to `bundle`, replacing a bundle already there, and removes the old one.
    /// - Throws: `LHError.io` naming the path and the failing call.
    public static func publish(partial: String, bundle: String) throws {
        guard RegularFile.kind(of: bundle) == .directory else {
            FaultInjection.point()
            guard rename(partial, bundle) == 0 else { throw LHError.io(path: bundle, call: "rename", errno: errno) }
            return
        }
        let aside = asidePath(bundle)
        FaultInjection.point()
        if exchange(partial, bundle) {
            // The old bundle is now at `partial`: name it as old before removing it, so a kill here leaves
            // a stale `.old-PID` (removed by the next build), not a complete `.partial` of old content.
            FaultInjection.point()
            guard rename(partial, aside) == 0 else { throw LHError.io(path: partial, call: "rename", errno: errno) }
        } else {
            let code = errno   // set by the failed exchange
            guard code == EINVAL || code == ENOSYS || code == EOPNOTSUPP || code == EPERM else {
                throw LHError.io(path: bundle, call: "renameat2", errno: code)
            }
            FaultInjection.point()
            guard rename(bundle, aside) == 0 else { throw LHError.io(path: bundle, call: "rename", errno: errno) }
            FaultInjection.point()
            guard rename(partial, bundle) == 0 else { throw LHError.io(path: bundle, call: "rename", errno: errno) }
        }
        FaultInjection.point()
        try? FileManager.default.removeItem(atPath: aside)
    }

    /// Exchanges the directory entries `a` and `b` atomically; false with `errno` set when it cannot.
    static func exchange(_ a: String, _ b: String) -> Bool { lh_rename_exchange(a, b) == 0 }

    /// Removes `NAME.lhx.old-*` directories next to `bundle` left by builds killed while replacing it.
    /// Only call with the output directory locked (no other build can be publishing it).
    public static func removeStaleOldBundles(of bundle: String) {
        let dir = (bundle as NSString).deletingLastPathComponent, prefix = (bundle as NSString).lastPathComponent + ".old-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(prefix) && Int(name.dropFirst(prefix.count)) != nil {
            FaultInjection.point()
            try? FileManager.default.removeItem(atPath: (dir.isEmpty ? "" : dir + "/") + name)
        }
    }
}
