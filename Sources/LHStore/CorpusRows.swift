// One kind of per-chunk rows of a corpus (summaries, key bounds or representative keys), copied from the documents when
// first read; also one document's key bounds as halves for scoring (`FileChunkStore`).
import CKernels
import Foundation
import LHCore

/// The rows of one kind for every chunk of a corpus, one table per (layer, head or KV head) laid out as the
/// scorers read them: `width` values per chunk, `capacity` chunks. The tables are allocated and copied from
/// the documents' files (`fill`) when a scorer first reads one, so a question that never scores by
/// summaries never holds the corpus's summaries in memory (about 280 MB at a million tokens for the
/// default model). Rows set before then wait in `pending` and are written over the copy.
///
/// Key bounds are kept as halves rounded outward (`Encoding.outwardBounds`): half the memory (96 MB instead of
/// 192 MB at a million tokens), and each chunk's Quest score stays an upper bound of its keys' scores.
final class CorpusRows {
    /// How a table holds its rows.
    enum Encoding {
        /// f32, as the documents store them.
        case f32
        /// IEEE halves; each row is d minima rounded down then d maxima rounded up (`lh_f32_to_f16_directed`).
        case outwardBounds
    }

    let groups: Int
    let width: Int
    let encoding: Encoding
    private(set) var capacity: Int
    private var tables: [UnsafeMutableRawPointer] = []          // per group (capacity, width) elements; empty until filled
    private var pending: [Int: [Float]] = [:]                    // group · 2³² + chunk → row, until filled
    private let fill: (_ write: Writer) -> Void
    private let finish: (_ tables: [UnsafeMutablePointer<Float>]) -> Void
    private let lock = NSLock()                                  // scorers and summarisers call from pool threads

    /// Writes `count` consecutive rows (count, width) of f32 into `group`'s table from row `chunk`, in the
    /// table's encoding.
    typealias Writer = (_ group: Int, _ chunk: Int, _ rows: UnsafePointer<Float>, _ count: Int) -> Void

    /// - Parameters:
    ///   - fill: writes the documents' rows through the writer it is given, into tables of zeros. It may go
    ///     document by document and release each document's mapped rows once written, so at most one
    ///     document's rows of this kind are mapped beside the tables.
    ///   - finish: (f32 tables only) writes rows into every group's table at once once all are filled (rows read from a file per
    ///     document rather than per group), before the rows set since `init`.
    init(groups: Int, width: Int, capacity: Int, encoding: Encoding = .f32,
         fill: @escaping (_ write: Writer) -> Void,
         finish: @escaping (_ tables: [UnsafeMutablePointer<Float>]) -> Void = { _ in }) {
        self.groups = groups
        self.width = width
        self.capacity = capacity
        self.encoding = encoding
        self.fill = fill
        self.finish = finish
    }

    deinit { for t in tables { t.deallocate() } }

    /// Bytes of one element.
    private var elementBytes: Int { encoding == .f32 ? MemoryLayout<Float>.stride : MemoryLayout<UInt16>.stride }
    /// Bytes of one row.
    private var rowBytes: Int { width * elementBytes }

    /// Bytes the tables take once filled.
    var bytes: Int { groups * capacity * rowBytes }

    /// The f32 table of `group` (`Encoding.f32`), filling every table on the first call. An allocation the
    /// address-space check at opening allowed but the system then refused stops the process, as any small
    /// allocation would.
    func floats(_ group: Int) -> UnsafeMutablePointer<Float> {
        precondition(encoding == .f32, "the rows are kept as halves")
        return table(group).assumingMemoryBound(to: Float.self)
    }

    /// The half table of `group` (`Encoding.outwardBounds`), filling every table on the first call.
    func halves(_ group: Int) -> UnsafeMutablePointer<UInt16> {
        precondition(encoding == .outwardBounds, "the rows are kept as f32")
        return table(group).assumingMemoryBound(to: UInt16.self)
    }

    private func table(_ group: Int) -> UnsafeMutableRawPointer {
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
            encode(rows: 1, from: row, to: tables[group] + chunk * rowBytes)
        }
    }

    /// Sets row `chunk` of `group` when the tables are filled; before that nothing is kept, for the fill reads
    /// the row from where the caller wrote it (a document's own bounds file, `FileChunkStore`).
    func setIfFilled(group: Int, chunk: Int, _ row: UnsafePointer<Float>) {
        lock.lock()
        defer { lock.unlock() }
        if !tables.isEmpty { encode(rows: 1, from: row, to: tables[group] + chunk * rowBytes) }
    }

    /// Writes `rows` rows (rows, width) of floats at `dst` in the table's encoding.
    private func encode(rows: Int, from src: UnsafePointer<Float>, to dst: UnsafeMutableRawPointer) {
        switch encoding {
        case .f32:
            dst.assumingMemoryBound(to: Float.self).update(from: src, count: rows * width)
        case .outwardBounds:
            let d = width / 2, out = dst.assumingMemoryBound(to: UInt16.self)
            for r in 0..<rows {
                lh_f32_to_f16_directed(src + r * width, out + r * width, Int64(d), 0)
                lh_f32_to_f16_directed(src + r * width + d, out + r * width + d, Int64(d), 1)
            }
        }
    }

    /// Makes room for `chunks` rows per table, keeping the rows.
    func grow(to chunks: Int) throws {
        guard chunks > capacity else { return }
        if !tables.isEmpty {
            // Every new table is allocated before any old one is freed, so a failure leaves the rows as they were.
            var fresh: [UnsafeMutableRawPointer] = []
            do {
                for _ in 0..<groups { fresh.append(try Allocation.raw(bytes: chunks * rowBytes, what: "the corpus's chunk tables")) }
            } catch {
                for p in fresh { p.deallocate() }
                throw error
            }
            for (old, new) in zip(tables, fresh) {
                new.copyMemory(from: old, byteCount: capacity * rowBytes)
                old.deallocate()
            }
            tables = fresh
        }
        capacity = chunks
    }

    /// Zeroes rows `first...` of every table (question-time rows after a question).
    func clear(from first: Int) {
        pending = pending.filter { $0.key & 0xFFFF_FFFF < first }
        for t in tables { (t + first * rowBytes).initializeMemory(as: UInt8.self, repeating: 0, count: (capacity - first) * rowBytes) }
    }

    private func materialize() {
        tables = (0..<groups).map { _ in
            let t = try! Allocation.raw(bytes: capacity * rowBytes, what: "the corpus's chunk tables")
            t.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * rowBytes)
            return t
        }
        fill { group, chunk, rows, count in
            precondition(chunk + count <= self.capacity, "rows \(chunk) + \(count) beyond the table's \(self.capacity)")
            self.encode(rows: count, from: rows, to: self.tables[group] + chunk * self.rowBytes)
        }
        if encoding == .f32 { finish(tables.map { $0.bindMemory(to: Float.self, capacity: capacity * width) }) }
        for (key, row) in pending { row.withUnsafeBufferPointer { encode(rows: 1, from: $0.baseAddress!, to: tables[key >> 32] + (key & 0xFFFF_FFFF) * rowBytes) } }
        pending = [:]
    }
}
