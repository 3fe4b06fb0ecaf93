public import AccordCore

/// Agreement versions, the signed statements about them, and the outbox of messages waiting
/// for a peer; in the node's store, next to its records.
public struct AgreementStore {
    let database: Database

    /// One version of an agreement as this node holds it.
    public struct Version: Sendable, Equatable {
        public var id: String
        public var version: UInt32
        /// The canonical text (what the content hash covers).
        public var document: String
        public var contentHash: [UInt8]
        public var state: State
        /// Why it was rejected or terminated.
        public var reason: String
        /// When the state last changed (UTC).
        public var updated: String

        public init(id: String, version: UInt32, document: String, contentHash: [UInt8], state: State, reason: String = "", updated: String) {
            (self.id, self.version, self.document, self.contentHash) = (id, version, document, contentHash)
            (self.state, self.reason, self.updated) = (state, reason, updated)
        }
    }

    public enum State: String, Sendable, CaseIterable {
        /// Signed by this node, waiting for the other parties.
        case proposed
        /// Proposed by another party, waiting for this node's decision.
        case pending
        /// Signed by every party (in force between its effective and expiry dates).
        case signed
        case rejected
        /// Replaced by a later version signed by every party.
        case superseded
        case terminated
        /// Signed, and past its expiry date.
        case expired
    }

    public func versions(of id: String) throws(StoreError) -> [Version] {
        try database.query("SELECT id, version, document, content_hash, state, reason, updated FROM agreements WHERE id = ? ORDER BY version", .text(id), read: Self.version)
    }

    public func all() throws(StoreError) -> [Version] {
        try database.query("SELECT id, version, document, content_hash, state, reason, updated FROM agreements ORDER BY id, version", read: Self.version)
    }

    private static func version(_ row: Row) -> Version {
        Version(
            id: row.text(0) ?? "", version: UInt32(truncatingIfNeeded: row.integer(1)), document: row.text(2) ?? "", contentHash: row.blob(3),
            state: State(rawValue: row.text(4) ?? "") ?? .pending, reason: row.text(5) ?? "", updated: row.text(6) ?? ""
        )
    }

    /// Inserts a version, or replaces its state if it exists.
    public func save(_ version: Version) throws(StoreError) {
        try database.run(
            """
            INSERT INTO agreements(id, version, document, content_hash, state, reason, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id, version) DO UPDATE SET state = excluded.state, reason = excluded.reason, updated = excluded.updated
            """,
            .text(version.id), .integer(Int64(version.version)), .text(version.document), .blob(version.contentHash),
            .text(version.state.rawValue), .text(version.reason), .text(version.updated)
        )
    }

    /// Statements about one version, oldest first.
    public func statements(id: String, version: UInt32) throws(StoreError) -> [AgreementStatement] {
        let blobs = try database.query("SELECT statement FROM agreement_statements WHERE id = ? AND version = ? ORDER BY rowid", .text(id), .integer(Int64(version))) { $0.blob(0) }
        var statements: [AgreementStatement] = []
        for blob in blobs {
            do { statements.append(try AgreementStatement(decoding: blob)) } catch { throw StoreError(code: 0, message: "a stored statement about \(id) is damaged: \(error)") }
        }
        return statements
    }

    /// Keeps a statement; the same signer's same kind of statement on a version is kept once.
    public func add(_ statement: AgreementStatement) throws(StoreError) {
        try database.run(
            "INSERT INTO agreement_statements(id, version, signer, kind, statement) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            .text(statement.agreementID), .integer(Int64(statement.version)), .blob(statement.signer.bytes), .integer(Int64(statement.kind.rawValue)),
            .blob(statement.encoded)
        )
    }

    // MARK: Outbox

    /// Queues a message for `peer` until it acknowledges it; `key` identifies it in the reply.
    public func enqueue(_ frame: Frame, for peer: NodeID, key: [UInt8]) throws(StoreError) {
        try database.run("INSERT INTO outbox(peer, key, kind, payload) VALUES (?, ?, ?, ?)", .blob(peer.bytes), .blob(key), .integer(Int64(frame.kind)), .blob(frame.payload))
    }

    /// Messages waiting for `peer` queued after position `after`, oldest first (not those it
    /// refused), each with its position in the queue.
    public func outbox(for peer: NodeID, after: Int64 = 0) throws(StoreError) -> [(position: Int64, frame: Frame)] {
        try database.query("SELECT seq, kind, payload FROM outbox WHERE peer = ? AND seq > ? AND refusal IS NULL ORDER BY seq", .blob(peer.bytes), .integer(after)) {
            ($0.integer(0), Frame(kind: UInt8(truncatingIfNeeded: $0.integer(1)), payload: $0.blob(2)))
        }
    }

    /// Where the message with `key` stands with each peer it was queued for: absent once
    /// delivered; nil while waiting; the reason if the peer refused it.
    public func delivery(key: [UInt8]) throws(StoreError) -> [NodeID: String?] {
        let rows = try database.query("SELECT peer, refusal FROM outbox WHERE key = ?", .blob(key)) { (NodeID(digest: $0.blob(0)), $0.text(1)) }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    /// Records `peer`'s answer: forgets a delivered message, keeps a refused one with why.
    public func answered(key: [UInt8], by peer: NodeID, refusal: String?) throws(StoreError) {
        if let refusal {
            try database.run("UPDATE outbox SET refusal = ? WHERE peer = ? AND key = ?", .text(refusal), .blob(peer.bytes), .blob(key))
        } else {
            try database.run("DELETE FROM outbox WHERE peer = ? AND key = ?", .blob(peer.bytes), .blob(key))
        }
    }
}

extension RecordStore {
    public var agreements: AgreementStore { AgreementStore(database: database) }
}
