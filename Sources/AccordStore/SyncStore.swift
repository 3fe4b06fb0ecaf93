public import AccordCore

/// Where sync stands with each peer, per agreement: the sequence number of this node's op log
/// the peer has durably acknowledged, and the count of the peer's changes this node refused.
public struct SyncStore {
    let database: Database

    public func cursor(agreement: String, peer: NodeID) throws(StoreError) -> (sequence: Int64, updated: String)? {
        try database.query("SELECT seq, updated FROM sync_cursors WHERE agreement = ? AND peer = ?", .text(agreement), .blob(peer.bytes)) {
            ($0.integer(0), $0.text(1) ?? "")
        }.first
    }

    /// Moves the cursor forward (never back: acknowledgements may arrive more than once).
    public func advance(agreement: String, peer: NodeID, to sequence: Int64, at time: String) throws(StoreError) {
        try database.run(
            """
            INSERT INTO sync_cursors(agreement, peer, seq, updated) VALUES (?, ?, ?, ?)
            ON CONFLICT(agreement, peer) DO UPDATE SET seq = max(seq, excluded.seq), updated = excluded.updated
            """,
            .text(agreement), .blob(peer.bytes), .integer(sequence), .text(time)
        )
    }

    /// Starts the peer again from the beginning of the op log (after its scope changed).
    public func reset(agreement: String, peer: NodeID) throws(StoreError) {
        try database.run("DELETE FROM sync_cursors WHERE agreement = ? AND peer = ?", .text(agreement), .blob(peer.bytes))
    }

    public func countRefusals(agreement: String, peer: NodeID, count: Int, reason: String, at time: String) throws(StoreError) {
        try database.run(
            """
            INSERT INTO sync_refusals(agreement, peer, count, last_reason, updated) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(agreement, peer) DO UPDATE SET count = count + excluded.count, last_reason = excluded.last_reason, updated = excluded.updated
            """,
            .text(agreement), .blob(peer.bytes), .integer(Int64(count)), .text(reason), .text(time)
        )
    }

    public func refusals(agreement: String, peer: NodeID) throws(StoreError) -> (count: Int, lastReason: String) {
        try database.query("SELECT count, last_reason FROM sync_refusals WHERE agreement = ? AND peer = ?", .text(agreement), .blob(peer.bytes)) {
            (Int($0.integer(0)), $0.text(1) ?? "")
        }.first ?? (0, "")
    }
}

extension SyncStore {
    /// The running node's view of a peer's link, written as it changes, for `accord status`.
    public struct Link: Sendable {
        public var connected: Bool
        public var since: String
        public var lastError: String
    }

    public func setLink(_ peer: NodeID, connected: Bool, at time: String, error: String?) throws(StoreError) {
        try database.run(
            """
            INSERT INTO peer_links(peer, connected, since, last_error) VALUES (?, ?, ?, ?)
            ON CONFLICT(peer) DO UPDATE SET
                since = CASE WHEN connected = excluded.connected THEN since ELSE excluded.since END,
                connected = excluded.connected,
                last_error = CASE WHEN excluded.connected = 1 THEN '' WHEN excluded.last_error = '' THEN last_error ELSE excluded.last_error END
            """,
            .blob(peer.bytes), .integer(connected ? 1 : 0), .text(time), .text(error ?? "")
        )
    }

    public func link(_ peer: NodeID) throws(StoreError) -> Link? {
        try database.query("SELECT connected, since, last_error FROM peer_links WHERE peer = ?", .blob(peer.bytes)) {
            Link(connected: $0.integer(0) != 0, since: $0.text(1) ?? "", lastError: $0.text(2) ?? "")
        }.first
    }

    /// Marks every link down: a node starting has none yet.
    public func resetLinks(at time: String) throws(StoreError) {
        try database.run("UPDATE peer_links SET connected = 0, since = ? WHERE connected = 1", .text(time))
    }
}

extension RecordStore {
    public var sync: SyncStore { SyncStore(database: database) }
}
