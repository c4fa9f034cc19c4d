// The attention an answer paid to the document's chunks, per token and (layer, head), and which chunks stood out.
import Foundation

/// What the last question token and every answer token attended to: per (layer, head), the document
/// chunks of its window and the attention mass each got; and the same for the last token of a question
/// that asks nothing (`neutralQuestion`), the baseline. `excess` ranks chunks by the mass they got beyond
/// the baseline's: what a chunk gets for its place in the window (the local chunk, the most recent ones)
/// or for its own look (a table of contents) it gets for any question, so it does not win by default.
public struct CitationEvidence {
    /// The baseline's question.
    static let neutralQuestion = "What is it?"
    /// A chunk stands out when its excess, averaged over traced tokens and heads, reaches this. Measured on
    /// 4k-token needle documents: 0.012–0.0147 for the best chunk of a question the document does not answer
    /// ("What is the capital of France?"), 0.016–0.06 for the planted fact's chunk where it ranked first (farther chunks get less).
    public static let standOut = 0.015

    /// One traced token: per (layer, head) with a window, the document chunks and their masses.
    struct Observation {
        var chunks: [[Int]]
        var mass: [[Float]]
    }

    /// Chunks of the document(s) before the question.
    let documentChunks: Int
    /// Sink chunks: in every window whatever the question.
    let sinkChunks: Int
    private(set) var observations: [Observation] = []
    /// The neutral question's last token, when recorded.
    var baseline: Observation?

    init(documentChunks: Int, sinkChunks: Int) {
        self.documentChunks = documentChunks
        self.sinkChunks = sinkChunks
    }

    /// Records one token's traced selections and masses (per layer, then head; nil where not traced).
    mutating func record(selections: [[[Int]?]], masses: [[[Float]?]]) {
        observations.append(Self.observation(selections: selections, masses: masses))
    }

    /// One token's traced selections and masses, (layer, head) pairs without a trace left out.
    static func observation(selections: [[[Int]?]], masses: [[[Float]?]]) -> Observation {
        var o = Observation(chunks: [], mass: [])
        for (layerSel, layerMass) in zip(selections, masses) {
            for (sel, mass) in zip(layerSel, layerMass) {
                guard let sel, let mass else { continue }
                o.chunks.append(sel)
                o.mass.append(mass)
            }
        }
        return o
    }

    /// Per document chunk, the attention mass beyond the baseline, summed over traced tokens and (layer,
    /// head): each head's mass on a chunk less the baseline head's on it (or, when the baseline's head did
    /// not select it, the baseline head's mean over its selected chunks), counted when positive. Sink
    /// chunks are left out: they take weight whatever the question.
    func excess() -> [Double] {
        guard let base = baseline else { return summedMass() }
        var w = [Double](repeating: 0, count: documentChunks)
        let reference = zip(base.chunks, base.mass).map { sel, mass -> (mass: [Int: Float], mean: Float) in
            let own = zip(sel, mass).filter { $0.0 >= sinkChunks && $0.0 < documentChunks }
            return (Dictionary(own, uniquingKeysWith: +), own.isEmpty ? 0 : own.map(\.1).reduce(0, +) / Float(own.count))
        }
        for o in observations {
            for (h, (sel, mass)) in zip(o.chunks, o.mass).enumerated() where h < reference.count {
                let r = reference[h]
                for (j, m) in zip(sel, mass) where j >= sinkChunks && j < documentChunks {
                    w[j] += Double(max(0, m - (r.mass[j] ?? r.mean)))
                }
            }
        }
        return w
    }

    /// The chunks whose excess per traced (token, layer, head) reaches `threshold`, most first, at most `count`: their excess, and its share of all chunks' excess.
    func standingOut(count: Int, threshold: Double = Self.standOut) -> [(chunk: Int, share: Double)] {
        let w = excess(), total = w.reduce(0, +)
        let heads = Double(max(1, observations.count * (observations.first?.chunks.count ?? 1)))
        guard total > 0 else { return [] }
        return w.indices.filter { w[$0] > 0 && w[$0] / heads >= threshold }
            .sorted { w[$0] > w[$1] || (w[$0] == w[$1] && $0 < $1) }
            .prefix(count).map { ($0, w[$0] / total) }
    }

    /// Writes the observations as JSON (a diagnostic for choosing the ranking).
    func dump(to path: String) {
        let obj: [String: Any] = ["document_chunks": documentChunks, "sink_chunks": sinkChunks,
                                  "tokens": observations.map { o in
                                      ["chunks": o.chunks, "mass": o.mass.map { $0.map(Double.init) }] }]
        if let d = try? JSONSerialization.data(withJSONObject: obj) {
            FileManager.default.createFile(atPath: path, contents: d)
        }
    }

    /// Today's ranking: the mass summed over tokens and heads, sinks and the question's chunks left out.
    func summedMass() -> [Double] {
        var w = [Double](repeating: 0, count: documentChunks)
        for o in observations {
            for (sel, mass) in zip(o.chunks, o.mass) {
                for (j, m) in zip(sel, mass) where j >= sinkChunks && j < documentChunks { w[j] += Double(m) }
            }
        }
        return w
    }
}
