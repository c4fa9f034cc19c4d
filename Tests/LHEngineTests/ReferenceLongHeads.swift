// A direct, slow transcription of DESIGN §2 (token granularity) in Double, to check the engine against.
import Foundation
import LHModel
import LHTestSupport

/// LongHeads written as literally as possible: per layer over the whole sequence, per token, per head.
struct ReferenceLongHeads {
    let ref: ReferenceLlama
    let w: Int
    let slots: Int           // K = A / w

    func dot(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func softmax(_ x: [Double]) -> [Double] {
        let mx = x.max()!
        let e = x.map { exp($0 - mx) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    /// R(p) applied to one d-vector.
    func rotate(_ x: [Double], _ p: Int) -> [Double] { ref.rope(x, position: p) }

    /// Logits for every position, and the selection of `tracePosition` per layer and head.
    func run(_ tokens: [Int32], tracePosition: Int) -> (logits: [[Double]], selections: [[[Int]]]) {
        let c = ref.config, d = c.headDimension, H = c.headCount, n = tokens.count
        let scale = 1 / Double(d).squareRoot()
        var xs = tokens.map { ref.embedding[Int($0)] }
        var selections: [[[Int]]] = []
        for (l, W) in ref.layers.enumerated() {
            // q, k, v (pre-RoPE) per position; query head h uses KV head h / groupSize.
            var qs: [[[Double]]] = [], kt: [[[Double]]] = [], vs: [[[Double]]] = []
            for x in xs {
                let h = ref.rmsNorm(x, ref.norms[l]["attn"]!)
                let q = ReferenceLlama.matvec(W["q"]!, h), k = ReferenceLlama.matvec(W["k"]!, h), v = ReferenceLlama.matvec(W["v"]!, h)
                qs.append((0..<H).map { Array(q[($0 * d)..<(($0 + 1) * d)]) })
                kt.append((0..<c.kvHeadCount).map { Array(k[($0 * d)..<(($0 + 1) * d)]) })
                vs.append((0..<c.kvHeadCount).map { Array(v[($0 * d)..<(($0 + 1) * d)]) })
            }
            // Stored keys: k̃_t = R(t mod w)·k_t.
            for t in 0..<n { kt[t] = kt[t].map { rotate($0, t % w) } }
            // Summaries per (head, complete chunk).
            var summary: [[[Double]]] = Array(repeating: [], count: H)
            for head in 0..<H {
                let g = head / c.groupSize
                for i in 0..<(n / w) {
                    var qbar = [Double](repeating: 0, count: d)
                    for t in (i * w)..<((i + 1) * w) {
                        let qr = rotate(qs[t][head], t % w)
                        let a = softmax(((i * w)...t).map { dot(qr, kt[$0][g]) * scale })
                        for (j, u) in ((i * w)...t).enumerated() { for x in 0..<d { qbar[x] += a[j] * vs[u][g][x] / Double(w) } }
                    }
                    let a = softmax(((i * w)..<((i + 1) * w)).map { dot(qbar, kt[$0][g]) * scale })
                    var s = [Double](repeating: 0, count: d)
                    for (j, u) in ((i * w)..<((i + 1) * w)).enumerated() { for x in 0..<d { s[x] += a[j] * kt[u][g][x] } }
                    summary[head].append(s)
                }
            }
            // Attention per token and head.
            var layerSel: [[Int]] = Array(repeating: [], count: H)
            var next: [[Double]] = []
            for p in 0..<n {
                let cc = p / w
                var att = [Double](repeating: 0, count: c.embeddingLength)
                for head in 0..<H {
                    let g = head / c.groupSize, q = qs[p][head]
                    var sel: [Int]
                    if cc < slots { sel = Array(0..<cc) } else {
                        let cand = Array(1..<(cc - 1))
                        let top = cand.sorted { dot(q, summary[head][$0]) > dot(q, summary[head][$1]) }.prefix(slots - 3)
                        sel = ([0] + top + [cc - 1]).sorted()
                    }
                    if p == tracePosition { layerSel[head] = sel }
                    let P = sel.count * w + p % w
                    var logits: [Double] = [], vals: [[Double]] = []
                    for (r, j) in sel.enumerated() {
                        let qr = rotate(q, P - r * w)
                        for t in (j * w)..<((j + 1) * w) { logits.append(dot(qr, kt[t][g]) * scale); vals.append(vs[t][g]) }
                    }
                    let qr = rotate(q, P - sel.count * w)
                    for t in (cc * w)...p { logits.append(dot(qr, kt[t][g]) * scale); vals.append(vs[t][g]) }
                    let a = softmax(logits)
                    for (j, v) in vals.enumerated() { for x in 0..<d { att[head * d + x] += a[j] * v[x] } }
                }
                var x1 = zip(xs[p], ReferenceLlama.matvec(W["o"]!, att)).map { $0 + $1 }
                let h2 = ref.rmsNorm(x1, ref.norms[l]["ffn"]!)
                let gate = ReferenceLlama.matvec(W["gate"]!, h2), up = ReferenceLlama.matvec(W["up"]!, h2)
                let act = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                x1 = zip(x1, ReferenceLlama.matvec(W["down"]!, act)).map { $0 + $1 }
                next.append(x1)
            }
            selections.append(layerSel)
            xs = next
        }
        return (xs.map { ReferenceLlama.matvec(ref.embedding, ref.rmsNorm($0, ref.outputNorm)) }, selections)
    }
}
