public import AccordCore
public import AccordCrypto
import AccordStore
import Foundation

/// Sync: records flow under active agreements. The owner sends each recipient its projection of
/// the collection (from the op log, after the recipient's cursor); a recipient keeps what it
/// receives in its own collection for the agreement and sends back only its own writes within
/// its write scope; each side checks what arrives against the agreement before merging.
extension AgreementBook {
    /// One direction of one agreement: from this node to `peer`.
    public struct Route: Sendable, Hashable {
        public var agreementID: String
        public var peer: NodeID
    }

    struct RouteInfo {
        var route: Route
        var agreement: Agreement
        var contentHash: [UInt8]
        /// This node owns the records (else it is a recipient).
        var owner: Bool
        /// The peer's and this node's names in the agreement.
        var peerParty: String
        var ownParty: String
        /// Where the records this route sends come from.
        var collection: String
    }

    /// Where a recipient keeps what it received under an agreement (its own data key; a name
    /// no user collection can have).
    public static func sharedCollection(_ agreementID: String) -> String { Agreement.receivedCollection(agreementID) }

    /// The versions in force today (signed, within their term), with their agreements.
    func active() throws -> [(AgreementStore.Version, Agreement)] {
        try agreements.all().compactMap { version in
            guard version.state == .signed, let agreement = try? agreement(of: version), agreement.effective <= today, today <= agreement.expires else { return nil }
            return (version, agreement)
        }
    }

    /// The routes from this node to `peer` under active agreements.
    func routes(to peer: NodeID) throws -> [RouteInfo] {
        try active().compactMap { version, agreement in
            guard let ownParty = agreement.parties.first(where: { agreement.nodeIDs[$0] == identity.id }),
                let peerParty = agreement.parties.first(where: { agreement.nodeIDs[$0] == peer })
            else { return nil }
            let owner = ownParty == agreement.owner
            guard owner || peerParty == agreement.owner else { return nil }  // recipients do not sync with each other
            return RouteInfo(
                route: Route(agreementID: agreement.id, peer: peer), agreement: agreement, contentHash: version.contentHash, owner: owner,
                peerParty: peerParty, ownParty: ownParty, collection: owner ? agreement.collection : Self.sharedCollection(agreement.id)
            )
        }
    }

    /// The peers this node has routes to.
    func routedPeers() throws -> Set<NodeID> {
        Set(try active().flatMap { _, agreement in agreement.nodeIDs.values }).subtracting([identity.id])
    }

    /// The acknowledged position of a route.
    func cursor(_ route: Route) throws -> Int64 {
        max(try store.sync.cursor(agreement: route.agreementID, peer: route.peer)?.sequence ?? 0, unwrittenAcks[route] ?? 0)
    }

    /// The next batch of a route after `sequence`, or nil if the op log has nothing newer: up to
    /// `limit` records and about 1 MiB (stored size; a projection grows a record at most twofold,
    /// and a record holds at most 1 MiB), so a batch always fits in a frame.
    func nextBatch(_ info: RouteInfo, after sequence: Int64, limit: Int) throws -> SyncBatch? {
        guard info.owner else {
            // A recipient sends back what it wrote itself.
            let changes = try store.changes(collection: info.collection, after: sequence, limit: limit, byteLimit: 1 << 20)
            guard let last = changes.last else { return nil }
            let entries = changes.compactMap { change in info.agreement.ownWrites(in: change.entry, by: info.ownParty, node: identity.id).map { (change.id, $0) } }
            return SyncBatch(agreementID: info.agreement.id, contentHash: info.contentHash, through: last.sequence, entries: entries)
        }
        // The owner projects each record as it lies in binary form (one written by an older
        // version is decoded first).
        let changes = try store.encodedChanges(collection: info.collection, after: sequence, limit: limit, byteLimit: 1 << 20)
        guard let last = changes.last else { return nil }
        let pseudonym = try pseudonymizer(info.agreement.id)
        var projector = Agreement.EncodedProjector(info.agreement, for: info.peerParty, pseudonym: pseudonym)
        let sent: [SyncBatch.Change] = try changes.compactMap { change in
            if RecordSet.Entry.isCurrentFormat(change.encoded) {
                return try projector.project(change.encoded).map { SyncBatch.Change(id: change.id, encoded: $0[...]) }
            }
            var reader = WireReader(change.encoded, reading: "stored record")
            return info.agreement.projection(of: try RecordSet.Entry(from: &reader), for: info.peerParty, pseudonym: pseudonym).map { SyncBatch.Change(id: change.id, entry: $0) }
        }
        return SyncBatch(agreementID: info.agreement.id, contentHash: info.contentHash, through: last.sequence, changes: sent)
    }

    /// Receives `first` and the batches `next` gives after it, until it gives nil, in one
    /// transaction (one commit for all).
    func receive(_ first: SyncBatch, from peer: NodeID, then next: () -> SyncBatch?) throws -> [(ack: SyncAck, refusals: [String])] {
        try store.database.transaction {
            var received: [(ack: SyncAck, refusals: [String])] = []
            var batch: SyncBatch? = first
            while let current = batch {
                received.append(try receive(current, from: peer))
                batch = next()
            }
            return received
        }
    }

    /// Checks and merges a batch from `peer` in one transaction (or as part of the one open);
    /// every refused change is counted and audited. Returns the acknowledgement to send and the
    /// refusals, for the log.
    func receive(_ batch: SyncBatch, from peer: NodeID) throws -> (ack: SyncAck, refusals: [String]) {
        guard let info = try routes(to: peer).first(where: { $0.agreement.id == batch.agreementID }), info.contentHash == batch.contentHash else {
            let reason = "\(batch.agreementID) is not active here with that content"
            try store.database.withinTransaction {
                try store.sync.countRefusals(agreement: batch.agreementID, peer: peer, count: batch.changes.count, reason: reason, at: NodeLog.timestamp())
                try audit("sync refused", "\(batch.changes.count) change(s) under \(batch.agreementID) from \(try name(of: peer)): \(reason)")
            }
            return (SyncAck(agreementID: batch.agreementID, through: batch.through, refused: UInt32(batch.changes.count), reason: reason), [reason])
        }
        var refusals: [String] = []
        try store.database.withinTransaction {
            // At a recipient whose own changes the owner has all acknowledged, what this batch
            // adds holds no write of this node the owner lacks: the cursor moves past it, so the
            // recipient does not read back everything it receives to find its own edits.
            let caughtUp = try !info.owner && cursor(info.route) >= store.lastSequence(of: info.collection)
            let latest = try merge(batch, under: info, refusals: &refusals)
            if latest > (try store.clock()) { try store.setClock(latest) }
            if caughtUp {
                try store.sync.advance(agreement: info.agreement.id, peer: peer, to: try store.lastSequence(of: info.collection), at: NodeLog.timestamp())
            }
            if let first = refusals.first {
                try store.sync.countRefusals(agreement: info.agreement.id, peer: peer, count: refusals.count, reason: first, at: NodeLog.timestamp())
            }
        }
        return (SyncAck(agreementID: batch.agreementID, through: batch.through, refused: UInt32(refusals.count), reason: refusals.first ?? ""), refusals)
    }

    /// Merges what `batch` holds that may be merged, in order; what may not is audited and
    /// added to `refusals`. Returns the latest clock reading among what was merged.
    private func merge(_ batch: SyncBatch, under info: RouteInfo, refusals: inout [String]) throws -> HLC {
        let erased = try erasedIDs(info.agreement.id)
        // At a recipient, records are stored as new without the read a merge needs (merging
        // into nothing keeps what came) until one turns out to exist: then the rest of the batch
        // merges. (The owner holds every record its recipients edit.)
        // (Each sealed record's change is kept by its place in the batch: a copy retains every
        // reference it holds.)
        var fresh: [SealedRecord] = []
        var freshChanges: [(index: Int, latest: HLC)] = []
        var latest = HLC.zero
        var incoming: [IncomingChange] = []
        incoming.reserveCapacity(batch.changes.count)
        // The fields the last change checked held, and what that check found: the changes of a
        // batch mostly hold the same (and then share their outlines' array of names).
        var checked: (names: [String], refusal: String?) = ([], nil)
        for (index, change) in batch.changes.enumerated() {
            let id = change.id
            // Checked as outlined when received; built (decoded) only to be merged.
            let outline = try change.outline()
            if erased.contains(id) {
                guard outline.isLive else { continue }  // the owner's tombstone: nothing to keep
                refusals.append("\(id): erased under \(info.agreement.id); it is never accepted again")
                try audit("sync refused", "\(info.agreement.id)/\(id) from \(info.peerParty): the record was erased")
                continue
            }
            if outline.names != checked.names { checked = (outline.names, refusal(of: outline.names, under: info)) }
            if let reason = outline.fieldsSize > RecordBook.maximumRecordSize ? "the record would hold over 1 MiB" : checked.refusal {
                refusals.append("\(id): \(reason)")
                try audit("sync refused", "\(info.agreement.id)/\(id) from \(info.peerParty): \(reason)")
                continue
            }
            if !info.owner {
                // The subject, asked for only where subjects are indexed (not in a received
                // collection), from the state decoded (checked already as it was outlined).
                fresh.append(try store.seal(collection: info.collection, id: id, subject: (try? change.entry())?.subject, encoded: change.encoded))
                freshChanges.append((index, outline.latestClock))
                continue
            }
            incoming.append(IncomingChange(id: id, entry: try change.entry(), encoded: change.encoded))
        }
        let stored = try store.insertNew(fresh[...])
        latest = freshChanges.prefix(stored).reduce(latest) { max($0, $1.latest) }
        incoming = try freshChanges.dropFirst(stored).map {
            let change = batch.changes[$0.index]
            return IncomingChange(id: change.id, entry: try change.entry(), encoded: change.encoded)
        } + incoming
        // A recipient's edit is checked against the record as the owner holds it, on the
        // merge's worker thread, which reads it anyway.
        let (agreement, party, node) = (info.agreement, info.peerParty, info.route.peer)
        let check: (@Sendable (RecordSet.Entry, RecordSet.Entry?) -> String?)? = !info.owner ? nil : { @Sendable entry, current in
            agreement.refusal(of: entry, from: party, node: node, current: current)
        }
        let outcomes = try store.mergeAll(incoming, into: info.collection, unless: check)
        for (change, outcome) in zip(incoming, outcomes) {
            if case .refused(let reason) = outcome {
                refusals.append("\(change.id): \(reason)")
                try audit("sync refused", "\(info.agreement.id)/\(change.id) from \(info.peerParty): \(reason)")
            } else {
                latest = max(latest, change.entry.latestClock)
            }
        }
        return latest
    }

    /// Why a change holding fields `names` from the other end of `info` must not be merged, as
    /// far as its names tell (the owner checks a recipient's edit against the record it holds:
    /// see `merge(_:under:refusals:)`), or nil.
    private func refusal(of names: [String], under info: RouteInfo) -> String? {
        info.owner ? nil : info.agreement.refusal(ofOwnerFields: names, at: info.ownParty)
    }

    /// The peer stored everything up to `ack.through`: its cursor moves (see `writeSyncState`).
    func acknowledge(_ ack: SyncAck, from peer: NodeID) throws {
        let route = Route(agreementID: ack.agreementID, peer: peer)
        unwrittenAcks[route] = max(unwrittenAcks[route] ?? 0, ack.through)
        try writeSyncState(waiting: false)
        if ack.refused > 0 {
            try audit("sync refused by peer", "\(ack.refused) change(s) under \(ack.agreementID) refused by \(try name(of: peer)): \(ack.reason)")
        }
    }

    /// A change of a link's state (for `accord status`), written as `writeSyncState` does.
    func noteLink(_ change: @escaping (SyncStore) throws -> Void) throws {
        unwrittenLinkNotes.append(change)
        try writeSyncState(waiting: false)
    }

    /// Writes the acknowledged positions and link changes kept in memory. Without `waiting`, it
    /// leaves them there while another process writes to the store: an import holds SQLite's one
    /// write lock for up to a second a batch, and a node that waited for it at every
    /// acknowledgement shipped little while the import ran (it waited 6.8 s of the 8.4 s a
    /// million records took to import). Returns whether any is still unwritten.
    @discardableResult
    func writeSyncState(waiting: Bool) throws -> Bool {
        guard holdsUnwrittenSyncState else { return false }
        let time = NodeLog.timestamp()
        func write() throws {
            try store.database.transaction {
                for note in unwrittenLinkNotes { try note(store.sync) }
                for (route, through) in unwrittenAcks {
                    try store.sync.advance(agreement: route.agreementID, peer: route.peer, to: through, at: time)
                }
            }
        }
        do {
            try waiting ? write() : store.database.withoutWaiting(write)
        } catch let error as StoreError where error.isBusy && !waiting {
            return true
        } catch {
            // What failed otherwise is tried again with the next change; the link changes,
            // which only `accord status` shows, are not kept, so that they cannot pile up.
            unwrittenLinkNotes = []
            throw error
        }
        (unwrittenAcks, unwrittenLinkNotes) = ([:], [])
        return false
    }

    /// The agreement's keyed hash of a value: HMAC-SHA-256 under a key derived from the master
    /// key and the agreement id, so the same customer has a different pseudonym in every agreement.
    func pseudonymizer(_ agreementID: String) throws -> (String) -> String {
        let key: MACKey
        if let known = pseudonymKeys[agreementID] {
            key = known
        } else {
            key = try MACKey(try MACKey(try directory.loadMasterKey()).code(for: Array("pseudonym key \(agreementID)".utf8)))
            pseudonymKeys[agreementID] = key
        }
        return Self.pseudonyms(under: key)
    }

    /// Pseudonyms under an agreement's pseudonym key: "P-" and 80 bits of the value's HMAC, in hex.
    public static func pseudonyms(under key: MACKey) -> (String) -> String {
        { value in
            var value = value
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { code in
                value.withUTF8 { key.write(UnsafeRawBufferPointer($0), into: code.baseAddress!) }
                return hex(code.prefix(10), after: "P-")
            }
        }
    }

    // MARK: Shared records, at a recipient

    /// The agreement in force under which this node receives records, and its party name.
    private func received(_ agreementID: String) throws -> (Agreement, String) {
        guard let (_, agreement) = try active().first(where: { $0.1.id == agreementID }) else {
            throw NodeError("no agreement '\(agreementID)' is in force here; `accord agreement list` shows the agreements")
        }
        guard let party = agreement.parties.first(where: { agreement.nodeIDs[$0] == identity.id }), party != agreement.owner else {
            throw NodeError("this node owns the records of \(agreementID): use --collection \(agreement.collection)")
        }
        return (agreement, party)
    }

    /// The records received under an agreement, as shared with this node.
    public func sharedRecords(_ agreementID: String, subject: String? = nil) throws -> [RecordSet.Record] {
        _ = try received(agreementID)
        let entries = try store.entries(collection: Self.sharedCollection(agreementID), subject: subject)
        return entries.compactMap { RecordSet(id: $0.id, entry: $0.entry).record($0.id) }
    }

    /// This node's change to a record shared with it: only fields in its write scope. The change
    /// goes back to the owner with the next sync.
    public func editShared(_ agreementID: String, id: String, fields: [String: Value]) throws -> RecordSet.Record {
        let (agreement, party) = try received(agreementID)
        let writable = agreement.grants[party]?.writes ?? []
        let refused = fields.keys.filter { !writable.contains($0) }.sorted()
        guard refused.isEmpty else {
            let scope = writable.isEmpty ? "nothing" : "only " + writable.sorted().joined(separator: ", ")
            throw NodeError("under \(agreementID) this node may change \(scope); not \(refused.joined(separator: ", "))")
        }
        let collection = Self.sharedCollection(agreementID)
        guard let entry = try store.entry(collection: collection, id: id) else { throw NodeError("no record \(id) is shared with this node under \(agreementID)") }
        var set = RecordSet(id: id, entry: entry)
        var clock = HybridLogicalClock(last: try store.clock())
        clock.observe(set.latestClock)
        let stamp = Stamp(clock: clock.tick(wall: RecordBook.wallMilliseconds()), node: identity.id)
        guard set.update(id: id, fields: fields, stamp: stamp) != nil, let record = set.record(id) else {
            throw NodeError("\(id) was deleted by its owner; it cannot be changed")
        }
        try store.database.transaction {
            try store.save(collection: collection, id: id, entry: set.entries[id]!)
            try store.setClock(stamp.clock)
            try audit("record edit (shared)", "\(agreementID)/\(id): changed \(fields.keys.sorted().joined(separator: ", "))")
        }
        WakeSocket.wake(directory)
        return record
    }

    // MARK: Status

    /// Per active agreement and peer: direction, how far behind the peer is, refusals.
    public struct SyncStatus: Sendable {
        public var agreementID: String
        public var peer: NodeID
        public var peerName: String
        public var sending: String
        /// Records changed here since the peer's cursor.
        public var behind: Int
        /// When the peer last acknowledged, if ever.
        public var lastAcknowledged: String?
        public var refused: Int
        public var lastRefusal: String
    }

    /// One line about a peer's link as the running node last recorded it.
    public func linkSummary(_ peer: PeerEntry) throws -> String {
        guard let link = try store.sync.link(peer.id) else { return "\(peer.name): never linked" }
        var line = "\(peer.name): \(link.connected ? "connected" : "not connected") since \(link.since)"
        if !link.lastError.isEmpty { line += "; last: \(link.lastError)" }
        return line
    }

    public func syncStatus() throws -> [SyncStatus] {
        var statuses: [SyncStatus] = []
        let names = try localNames()
        for peer in try routedPeers().sorted() {
            for info in try routes(to: peer) {
                let cursor = try store.sync.cursor(agreement: info.agreement.id, peer: peer)
                let behind = try store.count(collection: info.collection, after: cursor?.sequence ?? 0)
                let refusals = try store.sync.refusals(agreement: info.agreement.id, peer: peer)
                statuses.append(SyncStatus(
                    agreementID: info.agreement.id, peer: peer, peerName: names[peer] ?? info.peerParty,
                    sending: info.owner ? "records of '\(info.agreement.collection)'" : "own edits",
                    behind: behind, lastAcknowledged: cursor?.updated, refused: refusals.count, lastRefusal: refusals.lastReason
                ))
            }
        }
        return statuses
    }
}
