public import AccordCore

/// Revocations (kept for good: they are small, and forgetting one would let revoked data come
/// back) and deletion receipts, in the node's store.
public struct RevocationStore {
    let database: Database

    /// A revocation as this node holds it.
    public struct Entry: Sendable {
        public var revocation: Revocation
        /// When this node learned it (UTC).
        public var received: String
        /// When this node carried it out, if it was a target.
        public var applied: String?
    }

    /// Keeps a revocation; false if it was already known (by id).
    @discardableResult
    public func add(_ revocation: Revocation, at time: String) throws(StoreError) -> Bool {
        try database.run(
            "INSERT INTO revocations(id, agreement, kind, body, received) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            .blob(revocation.id), .text(revocation.agreementID), .integer(Int64(revocation.kind.rawValue)), .blob(revocation.encoded), .text(time)
        )
        return database.changedRows > 0
    }

    public func markApplied(_ id: [UInt8], at time: String) throws(StoreError) {
        try database.run("UPDATE revocations SET applied = ? WHERE id = ?", .text(time), .blob(id))
    }

    public func entry(_ id: [UInt8]) throws(StoreError) -> Entry? {
        try entries(database.query("SELECT body, received, applied FROM revocations WHERE id = ?", .blob(id), read: Self.row)).first
    }

    /// Every revocation, oldest first; or those of one agreement, or of one kind.
    public func entries(agreement: String? = nil, kind: Revocation.Kind? = nil) throws(StoreError) -> [Entry] {
        try entries(database.query(
            "SELECT body, received, applied FROM revocations WHERE (?1 IS NULL OR agreement = ?1) AND (?2 IS NULL OR kind = ?2) ORDER BY rowid",
            agreement.map { .text($0) } ?? .null, kind.map { .integer(Int64($0.rawValue)) } ?? .null, read: Self.row
        ))
    }

    private static func row(_ row: Row) -> ([UInt8], String, String?) { (row.blob(0), row.text(1) ?? "", row.text(2)) }

    private func entries(_ rows: [([UInt8], String, String?)]) throws(StoreError) -> [Entry] {
        var entries: [Entry] = []
        for (body, received, applied) in rows {
            do { entries.append(Entry(revocation: try Revocation(decoding: body), received: received, applied: applied)) } catch {
                throw StoreError(code: 0, message: "a stored revocation is damaged: \(error)")
            }
        }
        return entries
    }

    // MARK: Onward sharing

    /// Notes that `revocation` went to this node's sub-processors because of `upstream`.
    public func link(_ revocation: [UInt8], to upstream: [UInt8]) throws(StoreError) {
        try database.run("INSERT INTO onward_revocations(upstream, revocation) VALUES (?, ?) ON CONFLICT DO NOTHING", .blob(upstream), .blob(revocation))
    }

    /// The revocations sent on to sub-processors because of `upstream`.
    public func onward(of upstream: [UInt8]) throws(StoreError) -> [[UInt8]] {
        try database.query("SELECT revocation FROM onward_revocations WHERE upstream = ? ORDER BY rowid", .blob(upstream)) { $0.blob(0) }
    }

    /// The revocation received that made this node send `revocation` on, if one did.
    public func upstream(of revocation: [UInt8]) throws(StoreError) -> [UInt8]? {
        try database.query("SELECT upstream FROM onward_revocations WHERE revocation = ?", .blob(revocation)) { $0.blob(0) }.first
    }

    // MARK: Receipts

    /// Keeps a receipt (one per revocation and node; a later copy replaces it).
    public func add(_ receipt: DeletionReceipt, at time: String) throws(StoreError) {
        try database.run(
            "INSERT OR REPLACE INTO receipts(revocation, node, body, received) VALUES (?, ?, ?, ?)",
            .blob(receipt.revocationID), .blob(receipt.node.bytes), .blob(receipt.encoded), .text(time)
        )
    }

    /// Every receipt, oldest first; or those answering one revocation.
    public func receipts(for revocation: [UInt8]? = nil) throws(StoreError) -> [(receipt: DeletionReceipt, received: String)] {
        let rows = try database.query(
            "SELECT body, received FROM receipts WHERE ?1 IS NULL OR revocation = ?1 ORDER BY rowid", revocation.map { .blob($0) } ?? .null
        ) { ($0.blob(0), $0.text(1) ?? "") }
        var receipts: [(DeletionReceipt, String)] = []
        for (body, received) in rows {
            do { receipts.append((try DeletionReceipt(decoding: body), received)) } catch {
                throw StoreError(code: 0, message: "a stored receipt is damaged: \(error)")
            }
        }
        return receipts
    }
}

extension RecordStore {
    public var revocations: RevocationStore { RevocationStore(database: database) }
}
