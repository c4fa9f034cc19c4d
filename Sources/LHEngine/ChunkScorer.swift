// Scores of candidate chunks for a set of queries of one head: summaries, exact max q·k, Quest bounds, or representative keys.
import CKernels
import LHCore
import LHModel

/// Candidate-chunk scoring (DESIGN §8's scoring choices). Quest reads the bounds and the representative-key
/// scorings the r keys the store keeps per complete chunk; max-key reads every candidate's keys.
enum ChunkScorer {
    /// Fills `out` (n) with the scores of chunks `candidates` for one token's queries of the query heads `heads` of
    /// one KV group, summed over the heads (per-KV-head selection).
    /// - Parameter queries: (heads.count, d) the heads' pre-RoPE queries, one after another.
    /// Quest reads the group's bounds once for all its heads: an answer token at a million tokens scores 4,096
    /// chunks per group, and one read of the table per head was a third of its time. The heads' scores are added
    /// in the order of one `score` per head with `accumulate`, so they are the same.
    static func scoreGroup(_ scoring: ChunkScoring, store: ChunkStore, layer: Int, heads: Range<Int>, groupSize: Int,
                           queries: UnsafePointer<Float>, candidates: Range<Int>, out: UnsafeMutablePointer<Float>,
                           scratch s: WindowScratch) {
        let d = store.layout.headDimension, n = candidates.count
        guard scoring == .quest, heads.count > 1 else {
            for (j, head) in heads.enumerated() {
                score(scoring, store: store, layer: layer, head: head, groupSize: groupSize, queries: queries + j * d, ld: d, m: 1,
                      candidates: candidates, accumulate: j > 0, out: out, scratch: s)
            }
            return
        }
        s.groupScores.ensure(count: heads.count * n)
        let each = s.groupScores.pointer                                  // (heads, n)
        score(.quest, store: store, layer: layer, head: heads.lowerBound, groupSize: groupSize, queries: queries, ld: d,
              m: heads.count, candidates: candidates, accumulate: false, out: each, scratch: s)
        out.update(from: each, count: n)
        for h in 1..<heads.count {
            let row = each + h * n
            for j in 0..<n { out[j] = row[j] + out[j] }
        }
    }

    /// Fills `out` (m, n) with the scores of chunks `candidates` (n of them) for m queries of query head `head`.
    /// - Parameters:
    ///   - queries: (m, d) pre-RoPE queries, row i at `queries + i·ld`. Scores are taken against the stored
    ///     in-chunk-rotated keys k̃ (and summaries, which live in the same space).
    ///   - accumulate: add to `out` instead of overwriting it (per-KV-head selection sums a group's heads).
    static func score(_ scoring: ChunkScoring, store: ChunkStore, layer: Int, head: Int, groupSize: Int,
                      queries: UnsafePointer<Float>, ld: Int, m: Int, candidates: Range<Int>,
                      accumulate: Bool, out: UnsafeMutablePointer<Float>, scratch s: WindowScratch) {
        let lay = store.layout, d = lay.headDimension, w = lay.chunkSize, n = candidates.count
        let g = head / groupSize
        switch scoring {
        case .summaries:
            let summaries = store.summaries(layer: layer, head: head)
            // out (m, n) = q (m, d) · s[candidates]ᵀ
            Gemm.nt(m: m, n: n, k: d, alpha: 1, a: queries, lda: ld, b: summaries + candidates.lowerBound * d, ldb: d,
                    beta: accumulate ? 1 : 0, c: out, ldc: n)
        case .maxKey:
            s.kv.ensure(count: 2 * w * d)
            s.keyScores.ensure(count: m * w)
            let ks = s.keyScores.pointer
            for (j, chunk) in candidates.enumerated() {
                let valid = store.validRows(chunk: chunk), rows = valid.upperBound
                let blk = store.block(layer: layer, kvHead: g, chunk: chunk, rows: rows, scratch: s.kv.pointer)
                // ks (m, rows) = q · k̃ᵀ
                Gemm.nt(m: m, n: rows, k: d, alpha: 1, a: queries, lda: ld, b: blk.keys, ldb: d, beta: 0, c: ks, ldc: rows)
                for i in 0..<m {
                    var best = -Float.infinity
                    for t in valid { best = max(best, ks[i * rows + t]) }
                    out[i * n + j] = (accumulate ? out[i * n + j] : 0) + best
                }
            }
        case .quest:
            // Quest's bound Σₓ max(qₓ·loₓ, qₓ·hiₓ) is min(q, 0)·lo + max(q, 0)·hi (hi ≥ lo), so the scores of
            // every candidate are one product: out (m, n) = [min(q, 0) | max(q, 0)] (m, 2d) · bounds[candidates]ᵀ.
            let bounds = store.keyBounds(layer: layer, kvHead: g)     // (chunks, 2, d): minimum then maximum
            s.keyScores.ensure(count: m * 2 * d)
            let split = s.keyScores.pointer
            for i in 0..<m {
                let q = queries + i * ld, row = split + i * 2 * d
                for x in 0..<d {
                    row[x] = min(q[x], 0)
                    row[d + x] = max(q[x], 0)
                }
            }
            switch bounds {
            case let .f32(rows):
                Gemm.nt(m: m, n: n, k: 2 * d, alpha: 1, a: split, lda: 2 * d, b: rows + candidates.lowerBound * 2 * d, ldb: 2 * d,
                        beta: accumulate ? 1 : 0, c: out, ldc: n)
            case let .f16(rows):
                lh_sgemm_nt_f16b(Int64(m), Int64(n), Int64(2 * d), split, Int64(2 * d), rows + candidates.lowerBound * 2 * d, Int64(2 * d),
                                 accumulate ? 1 : 0, out, Int64(n))
            }
        case .representatives, .representativesMean:
            let r = lay.representatives
            let reps = store.representatives(layer: layer, kvHead: g)   // (chunks, r, d)
            s.keyScores.ensure(count: m * n * r)
            let ks = s.keyScores.pointer
            // ks (m, n·r) = q · (representative keys of the candidates)ᵀ
            Gemm.nt(m: m, n: n * r, k: d, alpha: 1, a: queries, lda: ld, b: reps + candidates.lowerBound * r * d, ldb: d,
                    beta: 0, c: ks, ldc: n * r)
            let mean = scoring == .representativesMean
            for i in 0..<m {
                for j in 0..<n {
                    let row = ks + i * n * r + j * r
                    var v: Float
                    if mean {
                        v = 0
                        for t in 0..<r { v += row[t] }
                        v /= Float(r)
                    } else {
                        v = -.infinity
                        for t in 0..<r { v = max(v, row[t]) }
                    }
                    out[i * n + j] = (accumulate ? out[i * n + j] : 0) + v
                }
            }
        }
    }
}
