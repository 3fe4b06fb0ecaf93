import AccordCrypto

/// The append-only, hash-chained audit log: each entry holds the hash of the one before, so
/// editing, deleting or reordering history is detectable.
///
/// Entries name what happened and to which ids; they never hold field values.
public struct AuditLog {
    let database: Database

    public struct Entry: Sendable, Equatable {
        public var sequence: Int64
        /// UTC, ISO 8601 with milliseconds.
        public var time: String
        public var actor: String
        public var action: String
        public var detail: String
    }

    public enum Verdict: Sendable, Equatable {
        case intact(entries: Int)
        case broken(sequence: Int64, reason: String)
    }

    static let genesis = [UInt8](repeating: 0, count: 32)

    /// Appends an entry (inside the caller's transaction, if any).
    public func append(time: String, actor: String, action: String, detail: String) throws(StoreError) {
        let last = try database.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") { ($0.integer(0), $0.blob(1)) }.first
        let entry = Entry(sequence: (last?.0 ?? 0) + 1, time: time, actor: actor, action: action, detail: detail)
        let previous = last?.1 ?? AuditLog.genesis
        try database.run(
            "INSERT INTO audit(seq, at, actor, action, detail, previous, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            .integer(entry.sequence), .text(time), .text(actor), .text(action), .text(detail),
            .blob(previous), .blob(AuditLog.hash(entry, previous: previous))
        )
    }

    /// Walks the whole chain; names the first entry that was edited, removed or reordered.
    public func verify() throws(StoreError) -> Verdict {
        let rows = try database.query("SELECT seq, at, actor, action, detail, previous, hash FROM audit ORDER BY seq") { row in
            (Entry(sequence: row.integer(0), time: row.text(1) ?? "", actor: row.text(2) ?? "", action: row.text(3) ?? "", detail: row.text(4) ?? ""),
             row.blob(5), row.blob(6))
        }
        var expectedPrevious = AuditLog.genesis
        for (index, (entry, previous, hash)) in rows.enumerated() {
            if entry.sequence != Int64(index + 1) {
                return .broken(sequence: Int64(index + 1), reason: "entry \(index + 1) is missing (deleted?); the next present is \(entry.sequence)")
            }
            if previous != expectedPrevious {
                return .broken(sequence: entry.sequence, reason: "entry \(entry.sequence) does not follow the entry before it (removed, reordered or rewritten)")
            }
            if hash != AuditLog.hash(entry, previous: previous) {
                return .broken(sequence: entry.sequence, reason: "entry \(entry.sequence) does not match its hash: it was edited after it was written")
            }
            expectedPrevious = hash
        }
        return .intact(entries: rows.count)
    }

    /// Entries from `since` (an ISO 8601 date or time prefix, compared as text) onwards.
    public func entries(since: String? = nil) throws(StoreError) -> [Entry] {
        try database.query("SELECT seq, at, actor, action, detail FROM audit WHERE at >= ? ORDER BY seq", .text(since ?? "")) { row in
            Entry(sequence: row.integer(0), time: row.text(1) ?? "", actor: row.text(2) ?? "", action: row.text(3) ?? "", detail: row.text(4) ?? "")
        }
    }

    static func hash(_ entry: Entry, previous: [UInt8]) -> [UInt8] {
        var bytes = previous
        for part in [String(entry.sequence), entry.time, entry.actor, entry.action, entry.detail] {
            let utf8 = Array(part.utf8)
            bytes += withUnsafeBytes(of: UInt32(utf8.count).bigEndian, Array.init) + utf8
        }
        return SHA256.hash(bytes)
    }
}

extension RecordStore {
    public var audit: AuditLog { AuditLog(database: database) }
}
