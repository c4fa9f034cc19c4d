// What index.sqlite records about a bundle: model, settings, document, chunk table and build state.
import Foundation
import LHCore
import LHEngine
import LHModel

/// The model an index was built with.
public struct ModelIdentity: Codable, Equatable, Sendable {
    /// `general.name` of the GGUF file (or its file name).
    public var name: String
    /// SHA-256 of the whole model file.
    public var sha256: String
    /// SHA-256 of the file size and its first and last MiB: cheap enough to check on every `ask`.
    public var fingerprint: String
    /// Size of the model file.
    public var bytes: Int
    /// The hyperparameters.
    public var hyperparameters: LlamaConfig

    public init(name: String, sha256: String, fingerprint: String, bytes: Int, hyperparameters: LlamaConfig) {
        self.name = name
        self.sha256 = sha256
        self.fingerprint = fingerprint
        self.bytes = bytes
        self.hyperparameters = hyperparameters
    }
}

/// The document an index holds.
public struct DocumentIdentity: Codable, Equatable, Sendable {
    /// Source path as given at build time.
    public var sourcePath: String
    /// Bytes of the source text.
    public var sourceBytes: Int
    /// SHA-256 of the source text.
    public var sha256: String
    /// Tokens stored: template prefix plus document.
    public var tokens: Int
    /// Tokens of the template prefix (positions 0 ..< prefixTokens).
    public var prefixTokens: Int
    /// The template text before the document (the chat template's user prefix).
    public var templatePrefix: String

    public init(sourcePath: String, sourceBytes: Int, sha256: String, tokens: Int, prefixTokens: Int, templatePrefix: String) {
        self.sourcePath = sourcePath
        self.sourceBytes = sourceBytes
        self.sha256 = sha256
        self.tokens = tokens
        self.prefixTokens = prefixTokens
        self.templatePrefix = templatePrefix
    }
}

/// One row of the chunk table: where a chunk's tokens come from in the source, for citations.
public struct ChunkSpan: Equatable, Sendable {
    public var chunk: Int
    /// Token positions [tokenStart, tokenEnd) (template prefix included in the numbering).
    public var tokenStart: Int
    public var tokenEnd: Int
    /// Bytes of the source text [byteStart, byteEnd) covered by the chunk's document tokens.
    public var byteStart: Int
    public var byteEnd: Int
    /// 1-based line of the source at byteStart.
    public var firstLine: Int

    /// [byteStart, byteEnd) clamped to a source of `count` bytes.
    public func byteRange(inSourceOf count: Int) -> Range<Int> { min(byteStart, count)..<min(byteEnd, count) }

    public init(chunk: Int, tokenStart: Int, tokenEnd: Int, byteStart: Int, byteEnd: Int, firstLine: Int) {
        self.chunk = chunk
        self.tokenStart = tokenStart
        self.tokenEnd = tokenEnd
        self.byteStart = byteStart
        self.byteEnd = byteEnd
        self.firstLine = firstLine
    }
}

/// Everything `index.sqlite` holds except the chunk table.
public struct IndexMetadata: Equatable, Sendable {
    public var model: ModelIdentity
    public var settings: LongHeadsSettings
    public var codec: FrameCodecSettings
    public var document: DocumentIdentity
    /// Program that wrote the index.
    public var writer: String

    public init(model: ModelIdentity, settings: LongHeadsSettings, codec: FrameCodecSettings, document: DocumentIdentity,
                writer: String) {
        self.model = model
        self.settings = settings
        self.codec = codec
        self.document = document
        self.writer = writer
    }

    /// The chunk layout the store files must have (the layers that attend everything: all of them unless
    /// some attend a sliding window).
    public var layout: ChunkLayout {
        let c = model.hyperparameters
        return ChunkLayout(layers: c.fullAttentionLayers.count, heads: c.headCount, kvHeads: c.kvHeadCount, headDimension: c.headDimension,
                           chunkSize: settings.chunkSize, precision: settings.precision,
                           representatives: settings.representatives)
    }

    /// Whether an index with this metadata answers for `other`'s build inputs unchanged
    /// (same document content, model and settings).
    public func isCurrent(for other: IndexMetadata) -> Bool {
        document.sha256 == other.document.sha256 && document.templatePrefix == other.document.templatePrefix
            && model.sha256 == other.model.sha256 && settings == other.settings && codec == other.codec
    }
}

/// Build progress stored in index.sqlite.
public struct BuildState: Equatable, Sendable {
    /// Tokens whose keys, values and summaries are committed (a chunk boundary, or all tokens).
    public var completeTokens: Int
    /// Committed size of kv.zst.
    public var kvBytes: Int
    /// Whether the bundle is complete.
    public var complete: Bool

    public init(completeTokens: Int, kvBytes: Int, complete: Bool) {
        self.completeTokens = completeTokens
        self.kvBytes = kvBytes
        self.complete = complete
    }
}
