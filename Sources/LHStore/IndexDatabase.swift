// index.sqlite: schema creation, the application_id/user_version check, metadata, chunks and build state.
import Foundation
import LHCore
import LHEngine
import LHModel

/// The SQLite part of a bundle (FORMAT.md §2).
public final class IndexDatabase {
    /// The open database.
    public let db: SQLiteDatabase
    public var path: String { db.path }

    static let schema = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE chunks(chunk INTEGER PRIMARY KEY, token_start INTEGER NOT NULL, token_end INTEGER NOT NULL,
                        byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL, first_line INTEGER NOT NULL);
    CREATE TABLE build_state(id INTEGER PRIMARY KEY CHECK (id = 0), complete_tokens INTEGER NOT NULL,
                             kv_bytes INTEGER NOT NULL, complete INTEGER NOT NULL);
    """

    private init(db: SQLiteDatabase) { self.db = db }

    /// Creates a new database with the schema, `PRAGMA application_id` and `user_version`.
    public static func create(path: String) throws -> IndexDatabase {
        try? FileManager.default.removeItem(atPath: path)
        FaultInjection.point()
        let db = try SQLiteDatabase(path: path, create: true)
        try db.execute("PRAGMA journal_mode = DELETE; PRAGMA application_id = \(BundleFormat.applicationID); PRAGMA user_version = \(BundleFormat.formatVersion);")
        try db.transaction { try db.execute(schema) }
        return IndexDatabase(db: db)
    }

    /// Opens an existing database and checks that it is an index of a supported version.
    public static func open(path: String, writable: Bool = false) throws -> IndexDatabase {
        guard FileManager.default.fileExists(atPath: path) else { throw LHError.io(path: path, call: "open", errno: ENOENT) }
        if !writable { try rollBackHotJournal(path) }
        let db = try SQLiteDatabase(path: path, readOnly: !writable)
        let app: Int?
        do { app = try db.scalarInt("PRAGMA application_id") } catch {
            throw LHError.badFile(path: path, reason: "not an lhindex database (\(error))")
        }
        guard app == Int(BundleFormat.applicationID) else {
            throw LHError.badFile(path: path, reason: "not an lhindex database (application_id \(app ?? 0), expected \(BundleFormat.applicationID))")
        }
        let version = try db.scalarInt("PRAGMA user_version") ?? 0
        guard version == BundleFormat.formatVersion else {
            throw LHError.badFile(path: path, reason: "index format version \(version) is not supported (this lhindex reads version \(BundleFormat.formatVersion)); rebuild the index")
        }
        let expected = "lhx \(BundleFormat.formatVersion)"
        let format: String?
        do { format = try db.query("SELECT value FROM meta WHERE key = 'format'").first?.first?.text } catch {
            throw LHError.badFile(path: path, reason: "no metadata table (\(error))")
        }
        guard let format else { throw LHError.badFile(path: path, reason: "metadata key 'format' is missing (expected '\(expected)')") }
        guard format == expected else {
            throw LHError.badFile(path: path, reason: "index format '\(format)' is not supported (this lhindex reads '\(expected)'); rebuild the index")
        }
        return IndexDatabase(db: db)
    }

    /// A database left with a hot journal (a write interrupted mid-transaction: `index.sqlite-journal`)
    /// cannot be read through a read-only connection, which cannot roll it back. Opening it once for
    /// writing lets SQLite roll the interrupted write back, as any writer would.
    /// - Throws: `LHError.badFile` when the journal cannot be rolled back (no write permission, ...).
    static func rollBackHotJournal(_ path: String) throws {
        let journal = path + "-journal"
        guard RegularFile.kind(of: journal) != .missing(ENOENT) else { return }
        try RegularFile.checkIfExists(journal)
        do {
            let db = try SQLiteDatabase(path: path)
            _ = try db.scalarInt("PRAGMA application_id")      // the first read rolls a hot journal back
        } catch {
            let reason = (error as? LHError).map { e -> String in
                if case let .badFile(_, r) = e { return r } else { return e.description }
            } ?? "\(error)"
            throw LHError.badFile(path: path, reason: "an interrupted write left \((journal as NSString).lastPathComponent), and rolling it back failed (\(reason)); open the index once with write permission")
        }
    }

    // MARK: Key/value metadata

    /// Sets `meta` keys (in one transaction).
    public func setMeta(_ pairs: [(String, String)]) throws {
        try db.transaction {
            for (k, v) in pairs { try db.query("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [.text(k), .text(v)]) }
        }
    }

    /// Removes `meta` keys (in one transaction).
    public func removeMeta(_ keys: [String]) throws {
        try db.transaction {
            for k in keys { try db.query("DELETE FROM meta WHERE key = ?", [.text(k)]) }
        }
    }

    /// All `meta` keys and values.
    public func meta() throws -> [String: String] {
        var m: [String: String] = [:]
        for row in try db.query("SELECT key, value FROM meta") {
            if let k = row[0].text, let v = row[1].text { m[k] = v }
        }
        return m
    }

    static func json<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(v), as: UTF8.self)
    }

    /// Writes the metadata.
    public func write(_ m: IndexMetadata) throws {
        try setMeta([
            ("format", "lhx \(BundleFormat.formatVersion)"), ("writer", m.writer),
            ("model_name", m.model.name), ("model_sha256", m.model.sha256), ("model_fingerprint", m.model.fingerprint),
            ("model_bytes", String(m.model.bytes)), ("hyperparameters", Self.json(m.model.hyperparameters)),
            ("settings", Self.json(m.settings)), ("compression", Self.json(m.codec)),
            ("source_path", m.document.sourcePath), ("source_bytes", String(m.document.sourceBytes)),
            ("source_sha256", m.document.sha256), ("tokens", String(m.document.tokens)),
            ("prefix_tokens", String(m.document.prefixTokens)), ("template_prefix", m.document.templatePrefix),
        ])
    }

    /// Reads the metadata.
    /// - Throws: `LHError.badFile` naming the database and the missing or malformed key.
    public func metadata() throws -> IndexMetadata {
        let m = try meta()
        func text(_ k: String) throws -> String {
            guard let v = m[k] else { throw LHError.badFile(path: path, reason: "metadata key '\(k)' is missing") }
            return v
        }
        func int(_ k: String) throws -> Int {
            guard let v = Int(try text(k)), v >= 0 else { throw LHError.badFile(path: path, reason: "metadata key '\(k)' is not a count") }
            return v
        }
        func decode<T: Decodable>(_ k: String, _ t: T.Type) throws -> T {
            do { return try JSONDecoder().decode(t, from: Data(try text(k).utf8)) } catch let e as LHError { throw e } catch {
                throw LHError.badFile(path: path, reason: "metadata key '\(k)' is not valid: \(Self.describe(error))")
            }
        }
        let hyperparameters = try decode("hyperparameters", LlamaConfig.self)
        do {
            try hyperparameters.checkBounds(path: path) { "hyperparameters.\($0)" }
            try hyperparameters.validate(path: path)
        } catch let LHError.unsupportedModel(_, reason) {
            throw LHError.badFile(path: path, reason: "metadata key 'hyperparameters' is not valid: \(reason)")
        }
        let model = ModelIdentity(name: try text("model_name"), sha256: try text("model_sha256"),
                                  fingerprint: try text("model_fingerprint"), bytes: try int("model_bytes"),
                                  hyperparameters: hyperparameters)
        let doc = DocumentIdentity(sourcePath: try text("source_path"), sourceBytes: try int("source_bytes"),
                                   sha256: try text("source_sha256"), tokens: try int("tokens"),
                                   prefixTokens: try int("prefix_tokens"), templatePrefix: try text("template_prefix"))
        return IndexMetadata(model: model, settings: try decode("settings", LongHeadsSettings.self),
                             codec: try decode("compression", FrameCodecSettings.self), document: doc, writer: try text("writer"))
    }

    /// A decoding error in one line: which field and what is wrong with it.
    static func describe(_ error: Error) -> String {
        func at(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : "'\(p)' "
        }
        switch error as? DecodingError {
        case let .keyNotFound(key, c)?: return "\(at(c))'\(key.stringValue)' is missing"
        case let .valueNotFound(_, c)?: return "\(at(c))has no value"
        case let .typeMismatch(type, c)?: return "\(at(c))is not a \(type)"
        case let .dataCorrupted(c)?: return "\(at(c))\(c.debugDescription)"
        default: return "\(error)"
        }
    }

    // MARK: Chunks

    /// Replaces the chunk table.
    public func write(chunks: [ChunkSpan]) throws {
        try db.transaction {
            try db.execute("DELETE FROM chunks")
            for c in chunks {
                try db.query("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                             [.int(c.chunk), .int(c.tokenStart), .int(c.tokenEnd), .int(c.byteStart), .int(c.byteEnd), .int(c.firstLine)])
            }
        }
    }

    /// The chunk table in chunk order.
    public func chunks() throws -> [ChunkSpan] {
        try db.query("SELECT chunk, token_start, token_end, byte_start, byte_end, first_line FROM chunks ORDER BY chunk").map { r in
            let v = r.map { $0.int ?? -1 }
            return ChunkSpan(chunk: v[0], tokenStart: v[1], tokenEnd: v[2], byteStart: v[3], byteEnd: v[4], firstLine: v[5])
        }
    }

    // MARK: Build state

    /// Records build progress (replacing the previous row).
    public func setBuildState(_ s: BuildState) throws {
        try db.transaction {
            try db.query("INSERT OR REPLACE INTO build_state VALUES (0, ?, ?, ?)", [.int(s.completeTokens), .int(s.kvBytes), .int(s.complete ? 1 : 0)])
        }
    }

    /// The recorded build progress, or nil before the first commit.
    public func buildState() throws -> BuildState? {
        guard let r = try db.query("SELECT complete_tokens, kv_bytes, complete FROM build_state WHERE id = 0").first else { return nil }
        return BuildState(completeTokens: r[0].int ?? 0, kvBytes: r[1].int ?? 0, complete: r[2].int == 1)
    }
}
