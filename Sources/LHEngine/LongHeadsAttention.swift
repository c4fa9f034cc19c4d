// The LongHeads attention cache: chunked in-chunk-RoPE keys, chunk summaries, per-head selection, window attention.
import LHCore
import LHModel

/// The chunks one answer token selected (for one store layer and head, or KV group), for the next token to
/// keep what it can (`LongHeadsSettings.answerFreshChunks`).
final class SelectionMemory {
    /// The token's position; -2 before any (never the position before a token).
    var position = -2
    var chunks: [Int] = []
}

/// LongHeads (Lu et al. 2024) as an `AttentionCache` for the forward pass (DESIGN §2).
///
/// Per layer and batch of m new tokens: (1) keys are rotated to their in-chunk positions and stored with
/// the values in `store`; (2) every chunk completed by the batch gets its summaries (one per query head);
/// (3) every query attends, per head, to a window of selected chunks. While a query's chunk index is below
/// the slot count every past chunk is selected and the result equals dense attention.
/// Document tokens select per block of a chunk's queries or per token (`settings.granularity`); question
/// tokens (positions ≥ `questionStart`) select per token with `settings.questionAttentionLength`, and
/// single-token decode steps (answer tokens after the first) with `settings.answerSlots`.
///
/// In a model whose layers differ (Gemma 3), only the layers that attend everything select chunks and are
/// stored (`storedLayers`, the store's layer index); the sliding-window layers attend their window as trained.
public final class LongHeadsAttention: AttentionCache {
    /// The configuration (validated).
    public let settings: LongHeadsSettings
    /// The model's shape.
    public let config: LlamaConfig
    /// Where keys, values and summaries live.
    public let store: ChunkStore
    let rope: RoPE
    /// The model layers whose keys are stored in chunks, in order (every layer unless some attend a
    /// sliding window): store layer i is model layer `storedLayers[i]`.
    public let storedLayers: [Int]
    private let storeLayer: [Int?]                             // per model layer: its store layer, nil if sliding
    private let sliding: SlidingWindowLayers
    public private(set) var count = 0
    /// First position treated as a question token (default: none; decode steps always are).
    public var questionStart = Int.max
    /// Diagnostic ("oracle"): chunks every question token's window must contain, whatever their scores
    /// (e.g. the chunk holding a planted pass key). Empty in normal use.
    public var oracleChunks: [Int] = []
    /// When set, the selection used by the query at this position is recorded per (layer, head).
    public var tracePosition: Int? {
        didSet { for i in 0..<traceCount { trace[i] = nil; traceMass[i] = nil } }
    }
    /// Rows at the start of chunk 0 the traced attention mass leaves out: the template prefix, where the
    /// attention sink lies (0: none).
    public var traceSkippedRows = 0
    private let traceCount: Int
    private let trace: UnsafeMutablePointer<[Int]?>           // (L·H) selections of `tracePosition`
    private let traceMass: UnsafeMutablePointer<[Float]?>     // (L·H) attention weight per selected chunk
    private let pendingQueries: [FloatBuffer]                  // per store layer (w, H·d) pre-RoPE q of the open chunk
    private let openOutputSums: [FloatBuffer]                  // per store layer (H, d) Σ o_t over the open chunk's folded rows
    /// Per store layer, the open chunk's rows not yet in `openOutputSums`, in the batches that brought them (their
    /// queries are in `pendingQueries`). Folding waits until the chunk completes or its state is exported,
    /// so a decode step does no summary work; folding batch by batch keeps every sum the same, whenever done.
    private var unfoldedRows: [[Range<Int>]]
    private let scratch: [WindowScratch]                       // per pool thread
    private let partResults = FloatBuffer(count: 0)            // outputs and log-sum-exps of windows read in parts
    private let decodeScores = FloatBuffer(count: 0)           // (groups, candidates) a decode step's candidate scores
    /// Slices each decode step's windows are read in (nil: 2). For tests.
    var windowParts: Int?
    private let decodeSelections: [SelectionMemory]            // per (store layer, query head): the last decode step's selection

    /// An empty cache for `model`.
    /// - Throws: `LHError.invalidInput` when the settings are invalid for the model.
    public init(model: LlamaModel, settings: LongHeadsSettings, store: ChunkStore? = nil) throws {
        try settings.validate(trainedContext: model.config.contextLength)
        storedLayers = model.config.fullAttentionLayers
        if storedLayers.isEmpty {
            throw LHError.invalidInput("every layer of this \(model.config.architecture.rawValue) model attends a sliding window: LongHeads has no layer to select chunks for; use dense attention (lhindex generate, perplexity)")
        }
        self.settings = settings
        config = model.config
        rope = model.rope
        sliding = SlidingWindowLayers(model: model)
        var storeLayer = [Int?](repeating: nil, count: model.config.layerCount)
        for (i, l) in storedLayers.enumerated() { storeLayer[l] = i }
        self.storeLayer = storeLayer
        let c = config
        let layout = ChunkLayout(layers: storedLayers.count, heads: c.headCount, kvHeads: c.kvHeadCount,
                                 headDimension: c.headDimension, chunkSize: settings.chunkSize, precision: settings.precision,
                                 representatives: settings.representatives)
        if let store, store.layout != layout {
            throw LHError.invalidInput("chunk store layout \(store.layout) does not match the model and settings (\(layout))")
        }
        self.store = store ?? InMemoryChunkStore(layout: layout)
        // Every rotation stays below the trained context plus one chunk; grow the table now, not inside tasks.
        rope.reserve(positions: c.contextLength + settings.chunkSize)
        traceCount = c.layerCount * c.headCount
        trace = .allocate(capacity: traceCount)
        trace.initialize(repeating: nil, count: traceCount)
        traceMass = .allocate(capacity: traceCount)
        traceMass.initialize(repeating: nil, count: traceCount)
        pendingQueries = storedLayers.map { _ in FloatBuffer(count: settings.chunkSize * c.queryWidth) }
        openOutputSums = storedLayers.map { _ in FloatBuffer(count: c.queryWidth) }
        unfoldedRows = Array(repeating: [], count: storedLayers.count)
        scratch = (0..<max(Parallel.threadCount, 1)).map { _ in WindowScratch() }
        decodeSelections = (0..<(storedLayers.count * c.headCount)).map { _ in SelectionMemory() }
    }

    /// A cache continuing over `store`, which already holds the keys, values and complete-chunk summaries of
    /// `tokens` tokens (e.g. a stored index). `openChunk` is what `openChunkState` returned after those tokens
    /// (nil when `tokens` is a chunk boundary); it lets the open chunk be summarized once later tokens
    /// complete it, exactly as in one uninterrupted run.
    /// - Throws: `LHError.invalidInput` when the settings are invalid or `openChunk` does not fit the model.
    public convenience init(model: LlamaModel, settings: LongHeadsSettings, store: ChunkStore, startingAt tokens: Int,
                            openChunk: OpenChunkState?) throws {
        try self.init(model: model, settings: settings, store: store)
        let rows = tokens % settings.chunkSize, e = config.queryWidth, layers = storedLayers.count
        count = tokens
        if !sliding.layers.isEmpty, tokens > 0 {
            try sliding.restore(openChunk?.slidingWindows ?? [], tokens: tokens)
        }
        guard rows > 0 else { return }
        let needsQueries = settings.representatives > 0
        guard let open = openChunk, open.rows == rows,
              open.outputSums != nil || open.queries != nil, !needsQueries || open.queries != nil else {
            throw LHError.invalidInput("resuming at token \(tokens) needs the open chunk's \(rows) rows of state"
                                       + (needsQueries ? " with their queries (representative keys)" : ""))
        }
        if let q = open.queries {
            guard q.count == layers, q.allSatisfy({ $0.count == rows * e }) else {
                throw LHError.invalidInput("open-chunk queries: expected \(layers) layers of \(rows)×\(e) floats")
            }
            for (l, rowsOfLayer) in q.enumerated() {
                rowsOfLayer.withUnsafeBufferPointer { pendingQueries[l].pointer.update(from: $0.baseAddress!, count: rows * e) }
            }
        }
        if let sums = open.outputSums {
            guard sums.count == layers, sums.allSatisfy({ $0.count == e }) else {
                throw LHError.invalidInput("open-chunk output sums: expected \(layers) layers of \(e) floats")
            }
            for (l, sum) in sums.enumerated() { sum.withUnsafeBufferPointer { openOutputSums[l].pointer.update(from: $0.baseAddress!, count: e) } }
        } else {
            // Older indexes kept only the queries: their outputs are summed when needed, as the build's would be.
            for l in 0..<layers {
                openOutputSums[l].pointer.update(repeating: 0, count: e)
                unfoldedRows[l] = [0..<rows]
            }
        }
    }

    /// Per store layer, the (count mod w, H·d) pre-RoPE queries of the open chunk (what older indexes stored).
    public var openChunkQueries: [[Float]] {
        let rows = count % settings.chunkSize, e = config.queryWidth
        return pendingQueries.map { Array(UnsafeBufferPointer(start: $0.pointer, count: rows * e)) }
    }

    /// What `init(…startingAt:openChunk:)` takes back to continue after the current tokens: the open chunk's
    /// output sums, its queries only when representative keys need them, and the sliding-window layers' recent
    /// keys and values.
    public var openChunkState: OpenChunkState {
        let rows = count % settings.chunkSize, e = config.queryWidth
        foldOpenChunk()
        let sums = openOutputSums.map { Array(UnsafeBufferPointer(start: $0.pointer, count: e)) }
        return OpenChunkState(rows: rows, outputSums: rows > 0 ? sums : [],
                              queries: settings.representatives > 0 ? openChunkQueries : nil,
                              slidingWindows: sliding.layers.isEmpty ? nil : sliding.state)
    }

    deinit {
        trace.deinitialize(count: traceCount)
        trace.deallocate()
        traceMass.deinitialize(count: traceCount)
        traceMass.deallocate()
    }

    /// Selections (sorted chunk indices) used by the query at `tracePosition`, per model layer then head;
    /// nil where not recorded yet and for sliding-window layers.
    public var tracedSelections: [[[Int]?]] {
        (0..<config.layerCount).map { l in (0..<config.headCount).map { trace[l * config.headCount + $0] } }
    }

    /// The chunks `tracedAttentionMass` covers: each traced selection, then the query's own chunk when that
    /// holds document keys (positions before `questionStart`).
    public var tracedMassChunks: [[[Int]?]] {
        guard let tp = tracePosition else { return tracedSelections }
        let own = tp / settings.chunkSize
        return tracedSelections.map { $0.map { sel in sel.map { own * settings.chunkSize < questionStart ? $0 + [own] : $0 } } }
    }

    /// For each chunk of `tracedMassChunks`, the attention weight the query at `tracePosition` gave its
    /// document keys (summed; the first `traceSkippedRows` keys of chunk 0 and question tokens left out), per
    /// layer then head.
    public var tracedAttentionMass: [[[Float]?]] {
        (0..<config.layerCount).map { l in (0..<config.headCount).map { traceMass[l * config.headCount + $0] } }
    }

    public func commit(m: Int) { count += m }

    public func attend(layer modelLayer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                       v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        guard let layer = storeLayer[modelLayer] else {
            sliding.attend(layer: modelLayer, m: m, q: q, k: k, v: v, out: out)
            return
        }
        let c = config, d = c.headDimension, e = c.queryWidth, kvw = c.kvWidth, w = settings.chunkSize
        let n0 = count, end = n0 + m
        store.reserve(tokens: end)
        // 1. Keys to in-chunk positions; store k̃ and v per (layer, KV head, token).
        for i in 0..<m {
            let p = n0 + i
            rope.rotate(k + i * kvw, heads: c.kvHeadCount, position: p % w)
            for g in 0..<c.kvHeadCount {
                store.write(layer: layer, kvHead: g, position: p, key: k + i * kvw + g * d, value: v + i * kvw + g * d)
            }
        }
        // 2. Summaries of the chunks this batch completes.
        if settings.selection == .summaries {
            summarize(layer: layer, chunks: Array(completedChunks(n0: n0, end: end)), n0: n0, q: q)
            // The open chunk's new rows: their outputs join its running sum (the summary's only need of them).
            let open = end / w, openStart = open * w
            let first = max(n0, openStart) - openStart
            if end % w != 0 {
                if first == 0 {
                    openOutputSums[layer].pointer.update(repeating: 0, count: e)
                    unfoldedRows[layer] = []
                }
                unfoldedRows[layer].append(first..<(end - openStart))
            }
        }
        // 4. k5v4, k4v4: once this batch has attended, the keys of the chunks it completed become channel codes. A
        // token reads its own chunk's keys as int8 rows and earlier chunks' as codes (with chunk-aligned batches and
        // in single steps alike; a token after a chunk boundary inside a batch still reads the int8 rows).
        defer { if store.layout.sealsKeys { sealCompletedChunks(layer: layer, n0: n0, end: end) } }
        // Keep the open chunk's queries (representative keys vote with them once a later batch completes it).
        let pending = pendingQueries[layer].pointer
        for i in 0..<m where (n0 + i) / w == (end - 1) / w {
            (pending + ((n0 + i) % w) * e).update(from: q + i * e, count: e)
        }
        // 3. Attention, one task per (segment, head); a segment is the batch's rows of one chunk and phase.
        // Question segments selecting per KV head run one task per (segment, KV head) for the group's heads
        // together: one selection, and each selected block read once for all of them.
        let segments = self.segments(n0: n0, m: m)
        var tasks: [(segment: Int, heads: Range<Int>)] = []
        for (i, seg) in segments.enumerated() {
            if seg.question && settings.questionSelectionPerKVHead {
                for g in 0..<c.kvHeadCount { tasks.append((i, (g * c.groupSize)..<((g + 1) * c.groupSize))) }
            } else {
                for h in 0..<c.headCount { tasks.append((i, h..<(h + 1))) }
            }
        }
        // A decode step has one task per KV group (or head), which rarely share the threads evenly (3 KV groups on
        // 2 threads left one idle a third of the time; Gemma 3's one KV group used one thread): each window is read
        // in two halves by separate tasks and merged. Always two, whatever the thread count, so that an answer
        // does not depend on the machine's cores.
        if m == 1, tracePosition != n0 {
            attendInParts(segments[0], heads: tasks.map(\.heads), parts: windowParts ?? 2, layer: layer, n0: n0, q: q, out: out)
            return
        }
        Parallel.forEach(tasks.count) { task, thread in
            let t = tasks[task]
            self.attendSegment(segments[t.segment], heads: t.heads, layer: layer, modelLayer: modelLayer, n0: n0, q: q, out: out,
                               s: self.scratch[thread])
        }
    }

    /// Rows `rows` (batch indices) of one chunk sharing one selection mode.
    struct Segment {
        var chunk: Int
        var rows: Range<Int>
        var perToken: Bool
        var question: Bool
        var reading: WindowReading
        /// One token decoded after another (answer tokens), which may keep the previous token's chunks.
        var decode = false
    }

    private func segments(n0: Int, m: Int) -> [Segment] {
        let w = settings.chunkSize
        let decode = m == 1
        var out: [Segment] = []
        var i = 0
        while i < m {
            let p = n0 + i, chunk = p / w
            let question = decode || p >= questionStart
            var j = min(m, (chunk + 1) * w - n0)
            if !question, questionStart < n0 + j { j = questionStart - n0 }
            out.append(Segment(chunk: chunk, rows: i..<j, perToken: question ? decode || settings.questionGranularity == .token : settings.granularity == .token,
                               question: question, reading: settings.reading(question: question, answer: decode), decode: decode))
            i = j
        }
        return out
    }

    /// The selections of the query heads `hs` (one head, or the heads of one KV group sharing a selection) over
    /// the rows of `seg`: groups of rows sharing one selection, in order of first appearance. `scored`: the
    /// candidates' scores of a one-token segment, already taken (a decode step scores in halves, `attendInParts`).
    private func windows(_ seg: Segment, heads hs: Range<Int>, layer: Int, n0: Int, q: UnsafePointer<Float>,
                         s: WindowScratch, scored: UnsafeMutablePointer<Float>? = nil) -> [(chunks: [Int], rows: [Int])] {
        let c = config, d = c.headDimension, e = c.queryWidth
        let chunk = seg.chunk
        var groups: [(chunks: [Int], rows: [Int])] = []
        if let candidates = ChunkSelector.candidates(c: chunk, reading: seg.reading, settings: settings) {
            let n = candidates.count
            // Every head of `hs` adds its scores (several only when selecting per KV head).
            let rows = seg.perToken ? seg.rows.count : 1
            let scores: UnsafeMutablePointer<Float>
            if let scored {
                precondition(seg.perToken && rows == 1, "scores taken beforehand are one token's")
                scores = scored
            } else if seg.perToken, rows == 1 {
                // One token: the group's heads are scored together (their queries lie one after another).
                s.candidateScores.ensure(count: n)
                scores = s.candidateScores.pointer
                ChunkScorer.scoreGroup(seg.reading.scoring, store: store, layer: layer, heads: hs, groupSize: c.groupSize,
                                       queries: q + seg.rows.lowerBound * e + hs.lowerBound * d, candidates: candidates,
                                       out: scores, scratch: s)
            } else {
                s.candidateScores.ensure(count: rows * n)
                scores = s.candidateScores.pointer
                for (j, head) in hs.enumerated() {
                    var queries = q + seg.rows.lowerBound * e + head * d, ld = e
                    if !seg.perToken {
                        // One selection for the block, scored by the sum of its queries.
                        s.scoringQueries.ensure(count: d)
                        let qs = s.scoringQueries.pointer
                        qs.update(repeating: 0, count: d)
                        for i in seg.rows { for x in 0..<d { qs[x] += q[i * e + head * d + x] } }
                        queries = UnsafePointer(qs)
                        ld = d
                    }
                    ChunkScorer.score(seg.reading.scoring, store: store, layer: layer, head: head, groupSize: c.groupSize,
                                      queries: queries, ld: ld, m: rows, candidates: candidates, accumulate: j > 0,
                                      out: scores, scratch: s)
                }
            }
            if seg.question {
                for chunk in oracleChunks where candidates.contains(chunk) {
                    for r in 0..<rows { scores[r * n + chunk - candidates.lowerBound] = .infinity }
                }
            }
            if !seg.perToken {
                groups = [(ChunkSelector.select(c: chunk, reading: seg.reading, settings: settings, scores: scores), Array(seg.rows))]
            } else {
                var index: [[Int]: Int] = [:]
                for (r, i) in seg.rows.enumerated() {
                    var sel: [Int]
                    if seg.decode, let fresh = settings.answerFreshChunks {
                        let memory = decodeSelections[layer * c.headCount + hs.lowerBound]
                        let previous = memory.position == n0 + i - 1 ? memory.chunks : []
                        sel = ChunkSelector.select(c: chunk, reading: seg.reading, settings: settings, scores: scores + r * n,
                                                   keeping: previous, fresh: fresh)
                        memory.position = n0 + i
                        memory.chunks = sel
                    } else {
                        sel = ChunkSelector.select(c: chunk, reading: seg.reading, settings: settings, scores: scores + r * n)
                    }
                    if let gi = index[sel] { groups[gi].rows.append(i) } else {
                        index[sel] = groups.count
                        groups.append((sel, [i]))
                    }
                }
            }
        } else {
            groups = [(ChunkSelector.select(c: chunk, reading: seg.reading, settings: settings, scores: nil), Array(seg.rows))]
        }
        return groups
    }

    /// One token's attention for each head group of `heads` (all over the one row of `seg`), every window read
    /// in `parts` slices of its slots by separate tasks and merged by their log-sum-exp.
    private func attendInParts(_ seg: Segment, heads: [Range<Int>], parts: Int, layer: Int, n0: Int, q: UnsafePointer<Float>,
                               out: UnsafeMutablePointer<Float>) {
        let c = config, d = c.headDimension, w = settings.chunkSize
        // Each group's candidates are scored in two halves by separate tasks (one task per group left one of two
        // threads idle a third of the time, a twelfth of an answer token at a million tokens), then chosen from here.
        let candidates = ChunkSelector.candidates(c: seg.chunk, reading: seg.reading, settings: settings)
        let n = candidates?.count ?? 0
        if let candidates {
            decodeScores.ensure(count: heads.count * n)
            Parallel.forEach(heads.count * 2) { item, thread in
                let t = item / 2, half = item % 2, hs = heads[t]
                let lo = candidates.lowerBound + n * half / 2, hi = candidates.lowerBound + n * (half + 1) / 2
                guard lo < hi else { return }
                ChunkScorer.scoreGroup(seg.reading.scoring, store: self.store, layer: layer, heads: hs, groupSize: c.groupSize,
                                       queries: q + hs.lowerBound * d, candidates: lo..<hi,
                                       out: self.decodeScores.pointer + t * n + (lo - candidates.lowerBound), scratch: self.scratch[thread])
            }
        }
        let selected = heads.indices.map { t in
            windows(seg, heads: heads[t], layer: layer, n0: n0, q: q, s: scratch[0],
                    scored: candidates == nil ? nil : decodeScores.pointer + t * n)[0].chunks
        }
        let mq = heads.map(\.count).max()!, stride = mq * (d + 1)     // per part: (mq, d) output, then (mq) log-sum-exp
        partResults.ensure(count: heads.count * parts * stride)
        let results = partResults.pointer, offset = n0 % w
        Parallel.forEach(heads.count * parts) { item, thread in
            let t = item / parts, p = item % parts, hs = heads[t], chunks = selected[t], s = self.scratch[thread]
            let slots = chunks.count + 1, g = hs.lowerBound / c.groupSize
            s.queries.ensure(count: hs.count * d)
            for (k, head) in hs.enumerated() { (s.queries.pointer + k * d).update(from: q + head * d, count: d) }
            let deltas = ChunkSelector.offsets(chunks: chunks, c: seg.chunk, w: w, positioning: seg.reading.positioning,
                                               trainedContext: c.contextLength)
            let result = results + item * stride
            WindowAttention.attend(store: self.store, layer: layer, kvHead: g, m: hs.count, offsets: Array(repeating: offset, count: hs.count),
                                   c: seg.chunk, chunks: chunks, deltas: deltas, rope: self.rope, scratch: s,
                                   part: (slots * p / parts)..<(slots * (p + 1) / parts), logSumExp: result + mq * d)
            result.update(from: s.out.pointer, count: hs.count * d)
        }
        for (t, hs) in heads.enumerated() {
            let base = (0..<parts).map { UnsafePointer(results + (t * parts + $0) * stride) }
            WindowAttention.mergeParts(base, logSumExp: base.map { $0 + mq * d }, m: hs.count, d: d, into: out,
                                       rowOffsets: hs.map { $0 * d })
        }
    }

    /// Selects and attends for the query heads `hs` (one head, or the heads of one KV group sharing a
    /// selection) over the rows of `seg`; `layer` is the store layer of model layer `modelLayer`.
    private func attendSegment(_ seg: Segment, heads hs: Range<Int>, layer: Int, modelLayer: Int, n0: Int, q: UnsafePointer<Float>,
                               out: UnsafeMutablePointer<Float>, s: WindowScratch) {
        let c = config, d = c.headDimension, e = c.queryWidth, w = settings.chunkSize
        let g = hs.lowerBound / c.groupSize, chunk = seg.chunk
        let groups = windows(seg, heads: hs, layer: layer, n0: n0, q: q, s: s)
        for (chunks, rows) in groups {
            // Queries (heads × rows, d): head k's rows at k·rows.count.
            let nr = rows.count, mq = nr * hs.count
            s.queries.ensure(count: mq * d)
            for (k, head) in hs.enumerated() {
                for (j, i) in rows.enumerated() { (s.queries.pointer + (k * nr + j) * d).update(from: q + i * e + head * d, count: d) }
            }
            let rowOffsets = rows.map { (n0 + $0) % w }
            let offsets = Array(hs.map { _ in rowOffsets }.joined())
            let deltas = ChunkSelector.offsets(chunks: chunks, c: chunk, w: w, positioning: seg.reading.positioning,
                                               trainedContext: c.contextLength)
            WindowAttention.attend(store: store, layer: layer, kvHead: g, m: mq, offsets: offsets, c: chunk,
                                   chunks: chunks, deltas: deltas, rope: rope, scratch: s, keepWeights: tracePosition != nil)
            for (k, head) in hs.enumerated() {
                for (j, i) in rows.enumerated() { (out + i * e + head * d).update(from: s.out.pointer + (k * nr + j) * d, count: d) }
            }
            if let tp = tracePosition, let j = rows.firstIndex(of: tp - n0) {
                // s.scores holds the (mq, n) attention weights of this group; slot r covers keys r·w ..< (r+1)·w.
                // The traced mass counts document keys only: not the first `traceSkippedRows` rows of chunk 0
                // (the template prefix, where the attention sink lies) and not the question's tokens. The
                // current chunk is traced too when it holds document rows before the traced query.
                let n = chunks.count * w + rowOffsets.max()! + 1
                let traced = chunk * w < questionStart ? chunks + [chunk] : chunks
                for (k, head) in hs.enumerated() {
                    let row = s.scores.pointer + (k * nr + j) * n
                    trace[modelLayer * c.headCount + head] = chunks
                    traceMass[modelLayer * c.headCount + head] = traced.enumerated().map { r, ch in
                        let lo = ch == 0 ? traceSkippedRows : 0
                        let hi = min(r < chunks.count ? w : rowOffsets[j] + 1, questionStart - ch * w)
                        return lo < hi ? (lo..<hi).reduce(Float(0)) { $0 + row[r * w + $1] } : 0
                    }
                }
            }
        }
    }

    /// Computes and stores the summaries of `chunks` (complete after this batch) for every head of store layer `layer`.
    private func summarize(layer: Int, chunks: [Int], n0: Int, q: UnsafePointer<Float>) {
        guard !chunks.isEmpty else { return }
        let c = config, d = c.headDimension, e = c.queryWidth, w = settings.chunkSize
        let pending = pendingQueries[layer].pointer
        /// Copies the w queries (w, d) of query head `head` over `chunk` to `dst`: this batch's rows, or the
        /// rows kept from the batch that opened the chunk.
        func copyQueries(head: Int, chunk: Int, to dst: UnsafeMutablePointer<Float>) {
            for t in 0..<w {
                let p = chunk * w + t
                let src = p >= n0 ? q + (p - n0) * e : UnsafePointer(pending + t * e)
                (dst + t * d).update(from: src + head * d, count: d)
            }
        }
        Parallel.forEach(chunks.count * c.headCount) { task, thread in
            let chunk = chunks[task / c.headCount], h = task % c.headCount
            let s = self.scratch[thread].summary
            s.ensure(w: w, d: d)
            // Rows before this batch: the open chunk's output sum, then its unfolded rows batch by batch; then
            // this batch's rows.
            let first = max(0, n0 - chunk * w), sum = s.sum.pointer
            let blk = self.store.block(layer: layer, kvHead: h / c.groupSize, chunk: chunk, rows: w, scratch: s.kv.pointer)
            if first == 0 { sum.update(repeating: 0, count: d) } else {
                sum.update(from: self.openOutputSums[layer].pointer + h * d, count: d)
                for rows in self.unfoldedRows[layer] {
                    for t in rows { (s.queries.pointer + (t - rows.lowerBound) * d).update(from: pending + t * e + h * d, count: d) }
                    ChunkSummary.addOutputs(rows: rows, d: d, keys: blk.keys, values: blk.values, rope: self.rope, scratch: s, sum: sum)
                }
            }
            for t in first..<w { (s.queries.pointer + (t - first) * d).update(from: q + (chunk * w + t - n0) * e + h * d, count: d) }
            var summary = [Float](repeating: 0, count: 2 * d)     // room for the summary (d), then for the key bounds (2·d)
            summary.withUnsafeMutableBufferPointer { out in
                ChunkSummary.addOutputs(rows: first..<w, d: d, keys: blk.keys, values: blk.values, rope: self.rope,
                                        scratch: s, sum: sum)
                ChunkSummary.finish(w: w, d: d, outputSum: sum, keys: blk.keys, scratch: s, out: out.baseAddress!)
                self.store.setSummary(layer: layer, head: h, chunk: chunk, out.baseAddress!)
                if h % c.groupSize == 0 {
                    // Quest's key bounds, once per KV head (the block is loaded already).
                    KeyBounds.compute(keys: blk.keys, rows: w, d: d, out: out.baseAddress!)   // reuse: 2·d floats
                    self.store.setKeyBounds(layer: layer, kvHead: h / c.groupSize, chunk: chunk, out.baseAddress!)
                }
            }
            let r = self.store.layout.representatives
            if h % c.groupSize == 0, r > 0 {
                // Representative keys, once per KV head, voted by the queries of all the group's heads.
                let rs = self.scratch[thread].representatives, gs = c.groupSize, m = gs * w
                rs.ensure(m: m, w: w, d: d)
                for k in 0..<gs { copyQueries(head: h + k, chunk: chunk, to: rs.queries.pointer + k * w * d) }
                var reps = [Float](repeating: 0, count: r * d)
                reps.withUnsafeMutableBufferPointer { out in
                    RepresentativeKeys.select(r: r, m: m, w: w, d: d, keys: blk.keys, scratch: rs, out: out.baseAddress!)
                    self.store.setRepresentatives(layer: layer, kvHead: h / gs, chunk: chunk, out.baseAddress!)
                }
            }
        }
    }

    /// The chunks whose last token lies in `n0 ..< end`: those a batch of these tokens completes.
    private func completedChunks(n0: Int, end: Int) -> Range<Int> {
        (n0 / settings.chunkSize)..<(end / settings.chunkSize)
    }

    /// Seals (`ChunkStore.sealKeys`) every KV head's block of the chunks tokens `n0 ..< end` completed.
    private func sealCompletedChunks(layer: Int, n0: Int, end: Int) {
        let groups = config.kvHeadCount, completed = completedChunks(n0: n0, end: end)
        Parallel.forEach(completed.count * groups) { task, _ in
            self.store.sealKeys(layer: layer, kvHead: task % groups, chunk: completed.lowerBound + task / groups)
        }
    }

    /// Adds the outputs of the open chunk's unfolded rows to its output sums, batch by batch, for every layer.
    private func foldOpenChunk() {
        let c = config, d = c.headDimension, e = c.queryWidth, w = settings.chunkSize
        let chunk = count / w
        for layer in storedLayers.indices where !unfoldedRows[layer].isEmpty {
            let pending = pendingQueries[layer].pointer, batches = unfoldedRows[layer]
            Parallel.forEach(c.kvHeadCount) { g, thread in
                let s = self.scratch[thread].summary
                s.ensure(w: w, d: d)
                for rows in batches {
                    let blk = self.store.block(layer: layer, kvHead: g, chunk: chunk, rows: rows.upperBound, scratch: s.kv.pointer)
                    for h in (g * c.groupSize)..<((g + 1) * c.groupSize) {
                        for t in rows { (s.queries.pointer + (t - rows.lowerBound) * d).update(from: pending + t * e + h * d, count: d) }
                        ChunkSummary.addOutputs(rows: rows, d: d, keys: blk.keys, values: blk.values, rope: self.rope,
                                                scratch: s, sum: self.openOutputSums[layer].pointer + h * d)
                    }
                }
            }
            unfoldedRows[layer] = []
        }
    }
}
