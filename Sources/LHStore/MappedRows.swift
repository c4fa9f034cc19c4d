// f32 rows per (layer, group, chunk) in a mapped file with a 64-byte header: summaries.f32, bounds.f32 and reps.f32.
import Foundation
import LHCore

/// A mapped table `R[l][g][c]` of `width` floats per row, `capacityChunks` rows per (layer, group), after a
/// `RowsHeader` (FORMAT.md §4). Shared while building (writes reach the file); private while asking, so
/// question-time rows stay in memory, and grown into an owned copy when questions outgrow the room.
final class MappedRows: @unchecked Sendable {
    let kind: RowsHeader.Kind
    let path: String
    let groups: Int          // L · (H or G)
    let width: Int
    private let map: MemoryMap
    private let file: PosixFile
    private(set) var rows: UnsafeMutablePointer<Float>      // (groups, capacity, width)
    private var owned: UnsafeMutablePointer<Float>?
    private(set) var capacity: Int

    private init(kind: RowsHeader.Kind, path: String, header: RowsHeader, map: MemoryMap, file: PosixFile) {
        self.kind = kind
        self.path = path
        self.file = file
        groups = header.layers * header.groups
        width = header.width
        self.map = map
        rows = (map.base + BundleFormat.headerBytes).assumingMemoryBound(to: Float.self)
        capacity = header.capacityChunks
    }

    deinit { owned?.deallocate() }

    /// Creates the file with zero rows.
    static func create(_ kind: RowsHeader.Kind, directory: String, header: RowsHeader) throws -> MappedRows {
        let path = directory + "/" + kind.fileName
        let file = try PosixFile(path: path, writable: true, create: true, truncate: true)
        try file.truncate(to: header.fileBytes)
        try header.encoded().withUnsafeBytes { try file.write($0, at: 0) }
        return MappedRows(kind: kind, path: path, header: header, map: try MemoryMap(file: file, mode: .shared), file: file)
    }

    /// Opens an existing file and checks its header against `expected` (capacity aside).
    static func open(_ kind: RowsHeader.Kind, directory: String, expected: RowsHeader, building: Bool) throws -> MappedRows {
        let path = directory + "/" + kind.fileName
        let file = try PosixFile(path: path, writable: building)
        let map = try MemoryMap(file: file, mode: building ? .shared : .privateWritable)
        let h = try RowsHeader(decoding: UnsafeRawBufferPointer(start: map.base, count: map.count), kind: kind, path: path)
        guard h.layers == expected.layers, h.groups == expected.groups, h.width == expected.width,
              h.documentChunks == expected.documentChunks else {
            throw LHError.badFile(path: path, reason: "header dimensions do not match kv.seek and the index metadata")
        }
        return MappedRows(kind: kind, path: path, header: h, map: map, file: file)
    }

    /// Row `chunk` of group `g` (= layer · groups per layer + head).
    @inline(__always)
    func row(_ g: Int, _ chunk: Int) -> UnsafeMutablePointer<Float> {
        precondition(chunk < capacity, "\(kind.fileName) row \(chunk) beyond the capacity \(capacity)")
        return rows + (g * capacity + chunk) * width
    }

    /// Copies row `chunk` of group `g` into `out` (`width` floats) through a read of the file rather than the
    /// mapping, so that the page is not brought into this process: for rows nothing writes while asking (a
    /// document's own chunks) whose pages were released (`release(group:rows:)`). From memory once owned.
    /// - Throws: `LHError.badFile` when the file is shorter than its header says.
    func copyRow(_ g: Int, _ chunk: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard owned == nil else { out.update(from: row(g, chunk), count: width); return }
        precondition(chunk < capacity, "\(kind.fileName) row \(chunk) beyond the capacity \(capacity)")
        let bytes = width * MemoryLayout<Float>.stride
        try file.read(into: UnsafeMutableRawBufferPointer(start: out, count: bytes),
                      at: BundleFormat.headerBytes + (g * capacity + chunk) * bytes)
    }

    /// Makes room for `chunks` rows per group (an owned copy; the file is not changed).
    func reserve(chunks: Int) {
        guard chunks > capacity else { return }
        let n = max(chunks, capacity * 2)
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: groups * n * width)
        fresh.initialize(repeating: 0, count: groups * n * width)
        for i in 0..<groups { (fresh + i * n * width).update(from: rows + i * capacity * width, count: capacity * width) }
        owned?.deallocate()
        owned = fresh
        rows = fresh
        capacity = n
    }

    /// Zeroes rows `first...` of every group (question-time rows after a question).
    func clear(from first: Int) {
        for g in 0..<groups { (rows + (g * capacity + first) * width).update(repeating: 0, count: (capacity - first) * width) }
    }

    func sync() throws { try map.sync() }

    /// Lets the kernel take back the mapped pages this process touched (they are read from the file again
    /// when touched next; rows written while asking are lost, so only for rows nothing will write or read
    /// soon). Does nothing once the rows live in an owned copy.
    func release() {
        guard owned == nil, map.count > 0 else { return }
        _ = madvise(map.base, map.count, MADV_DONTNEED)
    }

    /// `release` for rows `0 ..< count` of group `g` alone (the whole pages inside them), rows nothing writes
    /// while asking: a document's own chunks.
    func release(group g: Int, rows count: Int) {
        guard owned == nil, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UnsafeMutableRawPointer(row(g, 0)), end = start + min(count, capacity) * width * MemoryLayout<Float>.stride
        let first = (Int(bitPattern: start) + page - 1) / page * page, last = Int(bitPattern: end) / page * page
        guard last > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, last - first, MADV_DONTNEED)
    }
}
