// Which past chunks a head attends to for a query, and at what distance each one sits (DESIGN §2, §8).
import LHCore
import LHModel

/// Chunk selection and positioning, as pure functions of the settings and candidate scores.
enum ChunkSelector {
    /// The chunks a query in chunk `c` reading with `reading` chooses among by score: sinks and the
    /// `reading.locals` most recent chunks are always taken, so the candidates are `sinks ..< c − locals`.
    /// Nil when nothing is scored: every past chunk fits (c < slots, dense) or the selection is `.recent`.
    static func candidates(c: Int, reading: WindowReading, settings: LongHeadsSettings) -> Range<Int>? {
        guard c > reading.slots - 1, settings.selection == .summaries else { return nil }
        return settings.sinkChunks..<(c - reading.locals)
    }

    /// The sorted past chunks (all < c) a query in chunk `c` attends to with `reading.slots` window slots (the
    /// last slot holds chunk c itself), `reading.locals` of them the most recent. With c < slots every past
    /// chunk is selected (dense).
    /// - Parameter scores: (n) scores of `candidates(c:reading:settings:)`, when that is not nil.
    static func select(c: Int, reading: WindowReading, settings: LongHeadsSettings, scores: UnsafePointer<Float>?) -> [Int] {
        let past = reading.slots - 1
        if c <= past { return Array(0..<c) }
        let sinks = settings.sinkChunks, locals = reading.locals
        let k = past - sinks - locals                   // chunks chosen freely
        let lo = sinks, hi = c - locals                 // candidates lo ..< hi (hi − lo > k)
        let chosen: [Int]
        switch settings.selection {
        case .recent:
            chosen = Array((hi - k)..<hi)
        case .summaries:
            guard let scores else { preconditionFailure("summary selection needs candidate scores") }
            chosen = topK(scores, count: hi - lo, k: k).map { $0 + lo }
        }
        return (Array(0..<sinks) + chosen + Array(hi..<c)).sorted()
    }

    /// The selection of an answer token that follows one which selected `previous` (`LongHeadsSettings.answerFreshChunks`):
    /// its `fresh` best-scored free choices, then the previous token's chunks that are still candidates, best
    /// scored first, then the next best by score, until the free slots are full. With `fresh` at least the
    /// free slots, or no previous selection, it is `select(c:reading:settings:scores:)`.
    static func select(c: Int, reading: WindowReading, settings: LongHeadsSettings, scores: UnsafePointer<Float>,
                       keeping previous: [Int], fresh: Int) -> [Int] {
        let past = reading.slots - 1, sinks = settings.sinkChunks, locals = reading.locals
        let k = past - sinks - locals                   // chunks chosen freely
        guard c > past, settings.selection == .summaries, fresh < k, !previous.isEmpty else {
            return select(c: c, reading: reading, settings: settings, scores: scores)
        }
        let lo = sinks, hi = c - locals                 // candidates lo ..< hi (hi − lo > k)
        let ranked = topK(scores, count: hi - lo, k: k)
        var chosen = Array(ranked.prefix(fresh))
        var taken = Set(chosen)
        let kept = previous.map { $0 - lo }.filter { (0..<(hi - lo)).contains($0) && !taken.contains($0) }
            .sorted { ranksAbove($0, $1, scores) }
        for x in kept.prefix(k - chosen.count) { chosen.append(x); taken.insert(x) }
        for x in ranked where chosen.count < k && !taken.contains(x) { chosen.append(x) }
        return (Array(0..<sinks) + chosen.map { $0 + lo } + Array(hi..<c)).sorted()
    }

    /// Whether candidate i ranks above candidate j: the higher score, and on a tie the lower index.
    static func ranksAbove(_ i: Int, _ j: Int, _ s: UnsafePointer<Float>) -> Bool { s[i] > s[j] || (s[i] == s[j] && i < j) }

    /// Indices of the `k` largest of `count` scores (ties: the lower index wins), best first.
    static func topK(_ s: UnsafePointer<Float>, count n: Int, k: Int) -> [Int] {
        guard k > 0 else { return [] }
        if k >= n { return (0..<n).sorted { ranksAbove($0, $1, s) } }
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
            return offsets(chunks: chunks, c: c, w: w, positioning: .clipped(distance: trainedContext - w),
                           trainedContext: trainedContext)
        case let .clipped(limit):
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
