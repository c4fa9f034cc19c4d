// Which past chunks a head attends to for a query, and at what distance each one sits (DESIGN §2, §8).
import LHCore
import LHModel

/// Chunk selection and positioning, as pure functions of the settings.
enum ChunkSelector {
    /// The sorted past chunks (all < c) a query in chunk `c` attends to with `slots` window slots
    /// (the last slot holds chunk c itself). With c < slots every past chunk is selected (dense).
    /// - Parameters:
    ///   - query: (d) the scoring query (pre-RoPE q, or the sum of a block's queries); unused for `.recent`.
    ///   - summaries: (≥ c, d) chunk summaries of this (layer, head).
    ///   - scores: scratch of at least c floats.
    static func select(c: Int, slots: Int, settings: LongHeadsSettings, d: Int, query: UnsafePointer<Float>,
                       summaries: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>) -> [Int] {
        let past = slots - 1
        if c <= past { return Array(0..<c) }
        let sinks = settings.sinkChunks, locals = settings.localChunks
        let k = past - sinks - locals                   // chunks chosen freely
        let lo = sinks, hi = c - locals                 // candidates lo ..< hi (hi − lo > k)
        var chosen: [Int]
        switch settings.selection {
        case .recent:
            chosen = Array((hi - k)..<hi)
        case .summaries:
            let n = hi - lo
            // scores[i] = q · s_{lo+i}
            Gemm.nt(m: 1, n: n, k: d, alpha: 1, a: query, lda: d, b: summaries + lo * d, ldb: d,
                      beta: 0, c: scores, ldc: n)
            chosen = topK(scores, count: n, k: k).map { $0 + lo }
        }
        return (Array(0..<sinks) + chosen + Array(hi..<c)).sorted()
    }

    /// Indices of the `k` largest of `count` scores (ties: the lower index wins), unordered.
    static func topK(_ s: UnsafePointer<Float>, count n: Int, k: Int) -> [Int] {
        guard k > 0 else { return [] }
        if k >= n { return Array(0..<n) }
        var best: [Int] = []                            // indices sorted by score, descending
        best.reserveCapacity(k + 1)
        for i in 0..<n {
            let v = s[i]
            if best.count == k, v <= s[best[k - 1]] { continue }
            var j = best.count
            while j > 0, s[best[j - 1]] < v { j -= 1 }
            best.insert(i, at: j)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// Rotation offsets δ_r for the selected chunks `chunks` (sorted) of a query in chunk `c`: the query
    /// at in-chunk offset i is rotated by R(δ_r + i) against the stored keys of slot r, i.e. δ_r is the
    /// distance between the start of the query's chunk and the start of chunk r's window position.
    /// The current chunk always has δ = 0 (in-chunk positions).
    static func offsets(chunks: [Int], c: Int, w: Int, positioning: ChunkPositioning, trainedContext: Int) -> [Int] {
        let ns = chunks.count
        switch positioning {
        case .contiguous:
            return (0..<ns).map { (ns - $0) * w }
        case .truePositions:
            let limit = trainedContext - w
            return chunks.map { min((c - $0) * w, limit) }
        case let .selfExtend(neighbor):
            if (c + 1) * w <= trainedContext { return chunks.map { (c - $0) * w } }
            let cbase = trainedContext - w
            let group = max(1, (c * w - neighbor + (cbase - neighbor) - 1) / (cbase - neighbor))
            return chunks.map { j in
                let dist = (c - j) * w
                return dist <= neighbor ? dist : neighbor + (dist - neighbor) / group
            }
        }
    }
}
