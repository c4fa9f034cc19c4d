// The block cache's memory: buffers cut from huge-page slabs, recycled; LRU order kept by hits.
import Foundation
import XCTest
@testable import LHStore

final class BlockMemoryTests: XCTestCase {
    /// Buffers from slabs are distinct, 64-byte aligned, do not overlap (each keeps what was written to it), and
    /// come back after `give`.
    func testSlabBuffersAreDisjointAndRecycled() throws {
        let bytes = 65_536 + 8   // not a divisor of the slab: buffers are cut at a 64-byte stride
        let pool = BufferPool(bytes: bytes, limit: 4)
        let taken = try (0..<100).map { _ in try pool.take() }
        XCTAssertEqual(Set(taken).count, 100)
        XCTAssertTrue(taken.allSatisfy { Int(bitPattern: $0) % 64 == 0 })
        for (i, p) in taken.enumerated() { p.initializeMemory(as: UInt8.self, repeating: UInt8(i), count: bytes) }
        for (i, p) in taken.enumerated() {
            let b = UnsafeRawBufferPointer(start: p, count: bytes)
            XCTAssertTrue(b.allSatisfy { $0 == UInt8(i) }, "buffer \(i) was overwritten by a neighbour")
        }
        for p in taken { pool.give(p) }
        let again = try (0..<100).map { _ in try pool.take() }
        XCTAssertEqual(Set(again), Set(taken), "slab buffers are reused, not allocated anew")
        for p in again { pool.give(p) }
    }

    /// Buffers larger than half a slab are allocated one by one and only `limit` of them are kept.
    func testLargeBuffersAreAllocatedSingly() throws {
        let pool = BufferPool(bytes: 1_500_000, limit: 1)
        let a = try pool.take(), b = try pool.take()
        XCTAssertNotEqual(a, b)
        a.initializeMemory(as: UInt8.self, repeating: 1, count: 1_500_000)
        b.initializeMemory(as: UInt8.self, repeating: 2, count: 1_500_000)
        XCTAssertEqual(a.load(fromByteOffset: 1_499_999, as: UInt8.self), 1)
        pool.give(a)
        pool.give(b)   // over the limit: freed
        XCTAssertEqual(try pool.take(), a)
    }

    /// A hit makes a block the newest, so the least recently used one is evicted, not the oldest inserted.
    func testHitsRefreshTheLeastRecentlyUsedOrder() throws {
        let cache = BlockCache(capacityBytes: 300)
        var loads: [Int] = []
        func get(_ k: Int) throws { _ = try cache.block(k) { loads.append(k); return (try CachedBlock(count: 100, rows: 1), 10) } }
        for k in [0, 1, 2] { try get(k) }
        try get(0)        // hit: 1 is now the least recently used
        try get(3)        // evicts 1
        try get(0); try get(2); try get(3)
        XCTAssertEqual(loads, [0, 1, 2, 3])
        try get(1)        // a miss; evicts 0, the least recently used of 0, 2, 3
        try get(2); try get(3)
        XCTAssertEqual(loads, [0, 1, 2, 3, 1])
        try get(0)
        XCTAssertEqual(loads, [0, 1, 2, 3, 1, 0])
        cache.removeAll()
        XCTAssertEqual(cache.residentBytes, 0)
    }
}
