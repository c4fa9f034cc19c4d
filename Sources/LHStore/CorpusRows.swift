// One kind of per-chunk rows of a corpus (summaries, key bounds or representative keys), copied from the documents when first read.
import Foundation
import LHCore

/// The rows of one kind for every chunk of a corpus, one table per (layer, head or KV head) laid out as the
/// scorers read them: `width` floats per chunk, `capacity` chunks. The tables are allocated and copied from
/// the documents' files (`fill`) when a scorer first reads one, so a question that never scores by
/// summaries never holds the corpus's summaries in memory (about 280 MB at a million tokens for the
/// default model). Rows set before then wait in `pending` and are written over the copy.
final class CorpusRows {
    let groups: Int
    let width: Int
    private(set) var capacity: Int
    private var tables: [UnsafeMutablePointer<Float>] = []      // per group (capacity, width); empty until filled
    private var pending: [Int: [Float]] = [:]                    // group · 2³² + chunk → row, until filled
    private let fill: (_ group: Int, _ table: UnsafeMutablePointer<Float>, _ capacity: Int) -> Void
    private let finish: (_ tables: [UnsafeMutablePointer<Float>]) -> Void
    private let filled: () -> Void
    private let lock = NSLock()                                  // scorers and summarisers call from pool threads

    /// - Parameters:
    ///   - fill: writes every row of `group`'s (capacity, width) table (uninitialised; the capacity is the
    ///     third argument, grown since `init` when questions outgrew it): the documents' rows, zeros elsewhere.
    ///   - finish: writes rows into every group's table at once once all are filled (rows read from a file per
    ///     document rather than per group), before the rows set since `init`.
    ///   - filled: called once every table is filled (the documents' mapped rows can be released).
    init(groups: Int, width: Int, capacity: Int,
         fill: @escaping (_ group: Int, _ table: UnsafeMutablePointer<Float>, _ capacity: Int) -> Void,
         finish: @escaping (_ tables: [UnsafeMutablePointer<Float>]) -> Void = { _ in },
         filled: @escaping () -> Void) {
        self.groups = groups
        self.width = width
        self.capacity = capacity
        self.fill = fill
        self.finish = finish
        self.filled = filled
    }

    deinit { for t in tables { t.deallocate() } }

    /// Bytes the tables take once filled.
    var bytes: Int { groups * capacity * width * MemoryLayout<Float>.stride }

    /// The table of `group`, filling every table on the first call. An allocation the address-space check at
    /// opening allowed but the system then refused stops the process, as any small allocation would.
    func table(_ group: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        if tables.isEmpty { materialize() }
        return tables[group]
    }

    /// Sets row `chunk` of `group` to `row` (`width` floats).
    func set(group: Int, chunk: Int, _ row: UnsafePointer<Float>) {
        lock.lock()
        defer { lock.unlock() }
        if tables.isEmpty {
            pending[group << 32 | chunk] = Array(UnsafeBufferPointer(start: row, count: width))
        } else {
            (tables[group] + chunk * width).update(from: row, count: width)
        }
    }

    /// Makes room for `chunks` rows per table, keeping the rows.
    func grow(to chunks: Int) throws {
        guard chunks > capacity else { return }
        if !tables.isEmpty {
            // Every new table is allocated before any old one is freed, so a failure leaves the rows as they were.
            var fresh: [UnsafeMutablePointer<Float>] = []
            do {
                for _ in 0..<groups { fresh.append(try Allocation.floats(chunks * width, what: "the corpus's chunk tables")) }
            } catch {
                for p in fresh { p.deallocate() }
                throw error
            }
            for (old, new) in zip(tables, fresh) {
                new.update(from: old, count: capacity * width)
                old.deallocate()
            }
            tables = fresh
        }
        capacity = chunks
    }

    /// Zeroes rows `first...` of every table (question-time rows after a question).
    func clear(from first: Int) {
        pending = pending.filter { $0.key & 0xFFFF_FFFF < first }
        for t in tables { (t + first * width).update(repeating: 0, count: (capacity - first) * width) }
    }

    private func materialize() {
        tables = (0..<groups).map { _ in
            try! Allocation.raw(bytes: capacity * width * MemoryLayout<Float>.stride, what: "the corpus's chunk tables")
                .bindMemory(to: Float.self, capacity: capacity * width)
        }
        for g in 0..<groups { fill(g, tables[g], capacity) }
        finish(tables)
        for (key, row) in pending { (tables[key >> 32] + (key & 0xFFFF_FFFF) * width).update(from: row, count: width) }
        pending = [:]
        filled()
    }
}
