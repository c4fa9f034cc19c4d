// `build --shard K/N`: which documents one of N cooperating builds (cluster job-array tasks) indexes.
import Foundation
import LHCore

/// Shard K of N of a build. A document belongs to shard `1 + h mod N`, where `h` is the first 8 bytes
/// (big-endian) of the SHA-256 of its bundle name: the bundle's path relative to the output directory
/// without `.lhx` (`dpkg/triggers.txt` for `DIR/dpkg/triggers.txt`, the file name for a file given
/// itself). The name is the same on every machine and does not depend on which other documents exist,
/// so N builds given the same paths with `--shard 1/N` ... `N/N` index every document exactly once,
/// and a document keeps its shard when others are added or removed.
struct BuildShard: Equatable, CustomStringConvertible {
    /// This shard, 1...count.
    let index: Int
    /// Number of shards.
    let count: Int

    /// Parses `K/N` (1 ≤ K ≤ N).
    /// - Throws: `UsageError` in one line naming the value.
    init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1 else {
            throw UsageError("--shard must be K/N with 1 <= K <= N (such as 2/3), got '\(text)'")
        }
        guard (1...n).contains(k) else { throw UsageError("--shard \(text): K must be between 1 and \(n)") }
        index = k
        count = n
    }

    var description: String { "\(index)/\(count)" }

    /// The shard (1...count) of the document whose bundle is named `name` (see the type's comment).
    static func shard(ofBundleNamed name: String, count: Int) -> Int {
        var h = SHA256()
        h.update(name)
        let prefix = UInt64(h.finalizeHex().prefix(16), radix: 16)!
        return Int(prefix % UInt64(count)) + 1
    }

    /// Whether the document whose bundle is named `name` belongs to this shard.
    func owns(bundleNamed name: String) -> Bool { Self.shard(ofBundleNamed: name, count: count) == index }

    /// Whether the bundle at `bundle` inside `outDir` (`OUT/REL.lhx`) belongs to this shard.
    func owns(bundle: String, in outDir: String) -> Bool { owns(bundleNamed: Self.bundleName(bundle, in: outDir)) }

    /// The name a bundle is assigned by: its path relative to `outDir`, without `.lhx`.
    static func bundleName(_ bundle: String, in outDir: String) -> String {
        let rel = bundle.hasPrefix(outDir + "/") ? String(bundle.dropFirst(outDir.count + 1)) : (bundle as NSString).lastPathComponent
        return rel.hasSuffix(".lhx") ? String(rel.dropLast(4)) : rel
    }
}
