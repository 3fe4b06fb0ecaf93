public import AccordCore
import AccordCrypto
import AccordStore
import Foundation

/// Revocation: when an agreement ends, a subject is erased or a scope narrows, the revoker signs
/// a ``Revocation``; every node that learns it keeps it for good and passes it on to the
/// agreement's other parties; each target destroys the data and answers with a signed
/// ``DeletionReceipt``, which the revoker keeps per party.
extension AgreementBook {
    // MARK: Issuing

    /// Signs a revocation of `version`, keeps it, audits it and queues it for every other party.
    @discardableResult
    func issueRevocation(
        _ kind: Revocation.Kind, of version: AgreementStore.Version, agreement: Agreement, targets: [NodeID],
        recordIDs: [String] = [], fields: [String] = [], reason: String
    ) throws -> Revocation {
        var revocation = Revocation(
            id: try secureRandomBytes(16), kind: kind, agreementID: agreement.id, version: version.version, contentHash: version.contentHash,
            targets: targets, recordIDs: recordIDs, fields: fields, signer: identity.id, signerKey: identity.key.publicKey.rawRepresentation,
            at: NodeLog.timestamp(), reason: reason
        )
        revocation.signature = try identity.key.signature(for: revocation.signedBytes)
        try store.database.transaction {
            try store.revocations.add(revocation, at: revocation.at)
            try audit("revocation sent", try describe(revocation))
            try forward(revocation, under: agreement, except: [])
        }
        return revocation
    }

    /// Queues the revocation for every party of the agreement but this node, the signer and
    /// `except`. Returns those parties.
    @discardableResult
    private func forward(_ revocation: Revocation, under agreement: Agreement, except: Set<NodeID>) throws -> [NodeID] {
        let frame = Message.revocation(revocation).frame
        let parties = Set(agreement.nodeIDs.values).subtracting(except).subtracting([identity.id, revocation.signer]).sorted()
        for party in parties { try agreements.enqueue(frame, for: party, key: revocation.signature) }
        return parties
    }

    /// The revocation that goes with the end of an agreement (termination or expiry): the owner
    /// orders every recipient to destroy what it holds; a recipient destroys only its own copy.
    /// Nothing if this node already sent one for the version; the owner leaves out `excluding`
    /// and recipients that ended their own participation (they destroy their copy themselves).
    func revokeOnEnd(_ kind: Revocation.Kind, of version: AgreementStore.Version, agreement: Agreement, reason: String, excluding: Set<NodeID> = []) throws {
        let ends = try store.revocations.entries(agreement: agreement.id).map(\.revocation).filter { $0.kind.endsAgreement && $0.version >= version.version }
        guard !ends.contains(where: { $0.signer == identity.id }) else { return }
        let owner = agreement.nodeIDs[agreement.owner] == identity.id
        let withdrawn = Set(ends.map(\.signer)).union(excluding)
        let targets = owner ? agreement.recipients.compactMap { agreement.nodeIDs[$0] }.filter { !withdrawn.contains($0) } : [identity.id]
        guard !targets.isEmpty else { return }
        try issueRevocation(kind, of: version, agreement: agreement, targets: targets, reason: reason)
    }

    /// At the owner, when an amendment comes into force: each recipient whose scope it narrows
    /// (a field it may no longer see, or now sees transformed otherwise; records outside the new
    /// filter) is ordered to purge them, and gets the records again as the new version projects them.
    func revokeNarrowing(from old: Agreement, to new: Agreement, version: AgreementStore.Version) throws {
        guard new.nodeIDs[new.owner] == identity.id else { return }
        let leftFilter = old.filter == new.filter ? [] : try store.entries(collection: old.collection).filter { old.covers($0.entry) && !new.covers($0.entry) }.map(\.id)
        for recipient in new.recipients {
            guard let node = new.nodeIDs[recipient], let before = old.grants[recipient] else { continue }
            let after = new.grants[recipient] ?? Agreement.Grant()
            let scope = Set(after.reads.keys).union(after.writes)
            let fields = Set(before.reads.keys).union(before.writes).filter { !scope.contains($0) || before.reads[$0] != after.reads[$0] }
            guard !fields.isEmpty || !leftFilter.isEmpty else { continue }
            try issueRevocation(.narrow, of: version, agreement: new, targets: [node], recordIDs: leftFilter, fields: fields.sorted(), reason: "version \(version.version) narrows \(recipient)'s scope")
            unwrittenAcks[Route(agreementID: new.id, peer: node)] = nil
            try store.sync.reset(agreement: new.id, peer: node)
        }
    }

    /// Erasure of a data subject at the owner: deletes the subject's records in every collection
    /// of this node, and orders every recipient that may hold them, under any agreement, to
    /// destroy them. Returns the records deleted here and the revocations sent.
    public func erase(subject: String, reason: String) throws -> (records: Int, revocations: [Revocation]) {
        guard !subject.isEmpty else { throw NodeError("give the data subject to erase, e.g. --subject CUST-77") }
        guard !reason.isEmpty else { throw NodeError("give the reason for the erasure (--reason), e.g. \"customer request\"; it goes in the audit log and to every peer") }
        var erased: [String: [String]] = [:]
        try store.database.transaction {
            for collection in try store.collections() where !collection.hasPrefix(Self.sharedCollection("")) {
                let ids = try store.entries(collection: collection, subject: subject).filter(\.entry.isLive).map(\.id)
                try deleteAtOwner(collection: collection, ids: ids)
                if !ids.isEmpty { erased[collection] = ids }
            }
            let count = erased.values.map(\.count).reduce(0, +)
            try audit("subject erased", "\(subject): \(count) record(s) deleted here: \(reason)")
        }
        var revocations: [Revocation] = []
        for version in try agreements.all() where version.state == .signed {
            let agreement = try agreement(of: version)
            guard agreement.nodeIDs[agreement.owner] == identity.id, let ids = erased[agreement.collection] else { continue }
            let targets = agreement.recipients.compactMap { agreement.nodeIDs[$0] }
            revocations.append(try issueRevocation(.erase, of: version, agreement: agreement, targets: targets, recordIDs: ids, reason: reason))
        }
        WakeSocket.wake(directory)
        return (erased.values.map(\.count).reduce(0, +), revocations)
    }

    /// Deletes the owner's records (tombstones: they keep no field, and win over stale copies).
    private func deleteAtOwner(collection: String, ids: [String]) throws {
        guard !ids.isEmpty else { return }
        var clock = HybridLogicalClock(last: try store.clock())
        for id in ids {
            guard let entry = try store.entry(collection: collection, id: id), entry.isLive else { continue }
            var set = RecordSet(id: id, entry: entry)
            clock.observe(set.latestClock)
            let stamp = Stamp(clock: clock.tick(wall: RecordBook.wallMilliseconds()), node: identity.id)
            _ = set.delete(id: id, stamp: stamp)
            try store.save(collection: collection, id: id, entry: set.entries[id]!)
            try store.setClock(stamp.clock)
        }
    }

    /// Breach response, first step: terminates every agreement in force with the peer (the
    /// revocations go to every party, the peer too while it can still be reached).
    public func terminateAll(with name: String, reason: String) throws -> [Sent] {
        guard !reason.isEmpty else { throw NodeError("give the reason (--reason), e.g. \"suspected leak\"; it goes to every party") }
        let peer = try PeerBook(directory).peer(named: name)
        var sent: [Sent] = []
        for version in try agreements.all() where version.state == .signed {
            guard try agreement(of: version).nodeIDs.values.contains(peer.id) else { continue }
            sent.append(try terminate(id: version.id, reason: "\(name) revoked: \(reason)"))
        }
        return sent
    }

    /// Breach response, last step: unpins the peer (its file moves to Peers/Revoked/, so reports
    /// still name it); a running node cuts its link and refuses it from then on.
    public func unpin(_ name: String, reason: String) throws {
        let peer = try PeerBook(directory).peer(named: name)
        let revoked = directory.peersURL.appendingPathComponent("Revoked")
        try FileManager.default.createDirectory(at: revoked, withIntermediateDirectories: true)
        let file = directory.peersURL.appendingPathComponent("\(name).peer")
        let destination = revoked.appendingPathComponent("\(name).peer")
        try? FileManager.default.removeItem(at: destination)
        do { try FileManager.default.moveItem(at: file, to: destination) } catch {
            throw NodeError("cannot unpin \(name): moving \(file.path) failed: \(error.localizedDescription)")
        }
        try audit("peer revoked", "\(name) (\(peer.id.shortForm)) unpinned: \(reason)")
        WakeSocket.wake(directory)
    }

    // MARK: Receiving

    /// Checks a revocation from `peer` (who may be passing on another party's), keeps it and
    /// queues it for the agreement's other parties. Returns why it is refused, or nil.
    func receiveRevocation(_ revocation: Revocation, from peer: NodeID) throws -> String? {
        if let problem = revocation.signatureProblem(signer: revocation.signer, key: revocation.signerKey) { return problem }
        if try store.revocations.entry(revocation.id) != nil { return nil }  // known already
        guard let version = try agreements.versions(of: revocation.agreementID).first(where: { $0.version == revocation.version && $0.contentHash == revocation.contentHash }) else {
            return "it revokes \(revocation.agreementID) v\(revocation.version), which this node does not hold with that content"
        }
        let agreement = try agreement(of: version)
        if let problem = revocation.problem(under: agreement) { return problem }
        try store.database.transaction {
            try store.revocations.add(revocation, at: NodeLog.timestamp())
            let onward = try forward(revocation, under: agreement, except: [peer]).map(name(of:))
            try audit("revocation received", "\(try describe(revocation)), from \(try name(of: peer))" + (onward.isEmpty ? "" : "; passed on to \(onward.joined(separator: ", "))"))
            if revocation.kind.endsAgreement { try end(agreement.id, through: revocation.version, by: revocation) }
            if revocation.signer == identity.id, revocation.kind == .erase {
                // This node's own erasure, learned back from a peer: it was restored from a
                // backup older than the erasure. The records go again.
                try deleteAtOwner(collection: agreement.collection, ids: revocation.recordIDs)
            }
        }
        // A recipient ended its participation: the owner orders the other recipients to destroy too.
        if revocation.kind.endsAgreement, agreement.nodeIDs[agreement.owner] == identity.id, revocation.signer != identity.id {
            try revokeOnEnd(revocation.kind, of: version, agreement: agreement, reason: "\(try name(of: revocation.signer)) ended it: \(revocation.reason)")
        }
        return nil
    }

    /// Marks the versions up to `number` ended (terminated, or expired for an expiry).
    private func end(_ id: String, through number: UInt32, by revocation: Revocation) throws {
        for version in try agreements.versions(of: id) where version.version <= number {
            guard [.signed, .proposed, .pending].contains(version.state) else { continue }
            var ended = version
            ended.state = revocation.kind == .expire && version.state == .signed ? .expired : .terminated
            (ended.reason, ended.updated) = (revocation.reason, NodeLog.timestamp())
            try agreements.save(ended)
        }
    }

    /// Carries out every revocation that names this node and is not done yet: destroys the
    /// data, signs a receipt and queues it for the revoker. Returns the receipts made.
    /// Call ``purgeDestroyed()`` once the receipts are on their way.
    @discardableResult
    func carryOutPending() throws -> [DeletionReceipt] {
        var receipts: [DeletionReceipt] = []
        for entry in try store.revocations.entries() where entry.applied == nil && entry.revocation.targets.contains(identity.id) {
            if let receipt = try carryOut(entry.revocation) { receipts.append(receipt) }
        }
        return receipts
    }

    /// Destroys what `revocation` orders, in one transaction with the receipt. Nil if another
    /// process (the CLI, or the running node) did it first.
    private func carryOut(_ revocation: Revocation) throws -> DeletionReceipt? {
        let collection = Self.sharedCollection(revocation.agreementID)
        // Written down first, so the key stays destroyed even in a backup restored later.
        let fingerprint = revocation.kind.endsAgreement ? try store.keyFingerprint(of: collection) : nil
        if let fingerprint { try directory.recordShreddedKey(fingerprint) }
        let receipt: DeletionReceipt? = try store.database.transaction {
            guard try store.revocations.entry(revocation.id)?.applied == nil else { return nil }
            var destroyed: [String] = []
            switch revocation.kind {
            case .terminate, .expire:
                destroyed = try store.ids(collection: collection)
                try store.forgetKey(of: collection)  // unreadable now; rows go in purgeDestroyed()
            case .erase:
                destroyed = try revocation.recordIDs.filter { try store.purge(collection: collection, id: $0) }
            case .narrow:
                let gone = Set(revocation.recordIDs)
                for (id, entry) in try store.entries(collection: collection) {
                    if gone.contains(id) {
                        try store.purge(collection: collection, id: id)
                        destroyed.append(id)
                        continue
                    }
                    var narrowed = entry
                    for field in revocation.fields { narrowed.fields[field] = nil }
                    guard narrowed != entry else { continue }
                    try store.save(collection: collection, id: id, entry: narrowed)
                    destroyed.append(id)
                }
            }
            try revokeOnward(revocation)
            var receipt = DeletionReceipt(
                revocationID: revocation.id, agreementID: revocation.agreementID, node: identity.id, nodeKey: identity.key.publicKey.rawRepresentation,
                destroyed: UInt64(destroyed.count), digest: SHA256.hash(DeletionReceipt.digestInput(ids: destroyed)), keyDestroyed: fingerprint != nil,
                at: NodeLog.timestamp()
            )
            try store.revocations.markApplied(revocation.id, at: receipt.at)
            try send(&receipt, answering: revocation)
            let what = "\(destroyed.count) record(s)" + (receipt.keyDestroyed ? " and the agreement's data key" : "")
            try audit("data destroyed", "\(what) under \(revocation.agreementID) for \(revocation.kind.noun) \(Self.shortID(revocation.id)); receipt \(Self.receiptID(receipt))")
            return receipt
        }
        return receipt
    }

    /// Signs this node's receipt for `revocation` with the receipts its sub-processors returned
    /// so far, keeps it (replacing an earlier one) and queues it for the revoker and the owner
    /// (for a recipient that ended its own participation, the owner is not the revoker).
    private func send(_ receipt: inout DeletionReceipt, answering revocation: Revocation) throws {
        receipt.onward = try store.revocations.onward(of: revocation.id).flatMap { try store.revocations.receipts(for: $0).map(\.receipt) }
        receipt.signature = try identity.key.signature(for: receipt.signedBytes)
        try store.revocations.add(receipt, at: NodeLog.timestamp())
        let owner = try stored(id: revocation.agreementID).flatMap { $0.1.nodeIDs[$0.1.owner] }
        for node in Set([revocation.signer] + (owner.map { [$0] } ?? [])).subtracting([identity.id]) {
            try agreements.enqueue(Message.deletionReceipt(receipt).frame, for: node, key: receipt.signature)
        }
    }

    /// Onward sharing: a revocation of an agreement this node received records under goes on to
    /// the sub-processors it shared them with, under each onward agreement in force (ended
    /// with it, or purging the same records and fields); their receipts will go inside this
    /// node's own.
    private func revokeOnward(_ revocation: Revocation) throws {
        for version in try agreements.all() where version.state == .signed {
            let onward = try agreement(of: version)
            guard onward.source == revocation.agreementID, onward.nodeIDs[onward.owner] == identity.id else { continue }
            let recipients = onward.recipients.compactMap { onward.nodeIDs[$0] }
            let reason = "\(revocation.kind.noun) \(Self.shortID(revocation.id)) of \(revocation.agreementID): \(revocation.reason)"
            let sent: Revocation
            switch revocation.kind {
            case .terminate, .expire:
                _ = try sign(.terminate, agreement: onward, version: version.version, state: .terminated, reason: reason)
                sent = try issueRevocation(.terminate, of: version, agreement: onward, targets: recipients, reason: reason)
            case .erase:
                sent = try issueRevocation(.erase, of: version, agreement: onward, targets: recipients, recordIDs: revocation.recordIDs, reason: reason)
            case .narrow:
                let shared = Set(onward.grants.values.flatMap { Array($0.reads.keys) + $0.writes })
                let fields = revocation.fields.filter(shared.contains)
                guard !fields.isEmpty || !revocation.recordIDs.isEmpty else { continue }
                sent = try issueRevocation(.narrow, of: version, agreement: onward, targets: recipients, recordIDs: revocation.recordIDs, fields: fields, reason: reason)
            }
            try store.revocations.link(sent.id, to: revocation.id)
        }
    }

    /// After the receipts went out: deletes the rows whose key a revocation destroyed, and
    /// scrubs the WAL of pages freed by revocations.
    func purgeDestroyed() throws { try store.purgeForgotten() }

    /// Checks and keeps a deletion receipt. Returns why it is refused, or nil.
    func receiveReceipt(_ receipt: DeletionReceipt, from peer: NodeID) throws -> String? {
        if let problem = Self.verify(receipt) { return problem }
        guard let entry = try store.revocations.entry(receipt.revocationID) else { return "it answers a revocation this node does not know" }
        guard receipt.agreementID == entry.revocation.agreementID else { return "it names agreement \(receipt.agreementID), the revocation \(entry.revocation.agreementID)" }
        guard entry.revocation.targets.contains(receipt.node) else { return "its signer was not asked to destroy anything by that revocation" }
        let held = try store.revocations.receipts(for: receipt.revocationID).first { $0.receipt.node == receipt.node }?.receipt
        if let held, held.onward.count >= receipt.onward.count { return nil }  // a resend, or an older copy
        try store.database.transaction {
            try store.revocations.add(receipt, at: NodeLog.timestamp())
            let onward = receipt.onward.isEmpty ? "" : ", with \(receipt.onward.count) sub-processor receipt(s)"
            try audit(
                "deletion receipt received",
                "\(try name(of: receipt.node)) destroyed \(receipt.destroyed) record(s) under \(receipt.agreementID) for \(Self.shortID(receipt.revocationID)) at \(receipt.at)\(onward); receipt \(Self.receiptID(receipt))"
            )
            // A sub-processor's receipt: this node's own receipt for the revocation that made it
            // send that one on goes again, carrying it.
            if let upstream = try store.revocations.upstream(of: receipt.revocationID), let cause = try store.revocations.entry(upstream),
                var own = try store.revocations.receipts(for: upstream).first(where: { $0.receipt.node == identity.id })?.receipt
            {
                try send(&own, answering: cause.revocation)
                try audit("deletion receipt sent", "receipt \(Self.receiptID(own)) for \(Self.shortID(upstream)) of \(own.agreementID), now with \(own.onward.count) sub-processor receipt(s)")
            }
        }
        return nil
    }

    /// Why a receipt's signatures (its own and those it carries) do not hold, or nil.
    public static func verify(_ receipt: DeletionReceipt) -> String? {
        if let problem = receipt.signatureProblem(signer: receipt.node, key: receipt.nodeKey) { return "\(receipt.node.shortForm): \(problem)" }
        for onward in receipt.onward { if let problem = verify(onward) { return "an onward receipt: \(problem)" } }
        return nil
    }

    /// Every revocation concerning an agreement `peer` is a party of: what a link sends first.
    func revocationFrames(for peer: NodeID) throws -> [Frame] {
        var parties: [String: Set<NodeID>] = [:]
        for version in try agreements.all() {
            guard let agreement = try? agreement(of: version) else { continue }
            parties[version.id, default: []].formUnion(agreement.nodeIDs.values)
        }
        return try store.revocations.entries().compactMap { entry in
            parties[entry.revocation.agreementID]?.contains(peer) == true ? Message.revocation(entry.revocation).frame : nil
        }
    }

    /// Record ids erased under an agreement: never accepted again under it.
    func erasedIDs(_ agreementID: String) throws -> Set<String> {
        Set(try store.revocations.entries(agreement: agreementID, kind: .erase).flatMap(\.revocation.recordIDs))
    }

    // MARK: Reading

    /// Where each target of a revocation stands: its receipt, or pending until / overdue since the deadline.
    public struct TargetState: Sendable {
        public var node: NodeID
        public var name: String
        public var receipt: DeletionReceipt?
        public var deadline: Day?
        public var overdue: Bool
    }

    public struct RevocationState: Sendable {
        public var revocation: Revocation
        public var signerName: String
        public var targets: [TargetState]
    }

    /// The revocations of one agreement (or, for `kind`, all of that kind), each with its targets' receipts.
    public func revocationStates(agreement agreementID: String? = nil, kind: Revocation.Kind? = nil) throws -> [RevocationState] {
        let receipts = Dictionary(grouping: try store.revocations.receipts().map(\.receipt), by: \.revocationID)
        let names = try localNames()
        var deadlines: [String: Int?] = [:]  // days to delete, per agreement: each parsed once
        return try store.revocations.entries(agreement: agreementID, kind: kind).map { entry in
            let revocation = entry.revocation
            if deadlines[revocation.agreementID] == nil { deadlines[revocation.agreementID] = try stored(id: revocation.agreementID)?.1.termination.deleteWithinDays }
            let days = deadlines[revocation.agreementID] ?? nil
            let deadline = days.flatMap { days in Day(String(revocation.at.prefix(10))).map { Day(ordinal: $0.ordinal + days) } }
            let targets = revocation.targets.map { node in
                let receipt = receipts[revocation.id]?.first { $0.node == node }
                return TargetState(
                    node: node, name: names[node] ?? node.shortForm, receipt: receipt, deadline: deadline,
                    overdue: receipt == nil && deadline.map { $0 < today } == true
                )
            }
            return RevocationState(revocation: revocation, signerName: names[revocation.signer] ?? revocation.signer.shortForm, targets: targets)
        }
    }

    /// Lines for `accord agreement status` and `accord erase status`.
    public static func lines(_ state: RevocationState) -> [String] {
        let revocation = state.revocation
        var lines = ["\(revocation.kind.noun) \(shortID(revocation.id)) of \(revocation.agreementID) v\(revocation.version) by \(state.signerName) at \(revocation.at): \(revocation.reason)"]
        func confirmed(_ receipt: DeletionReceipt, by name: String, indent: String) {
            let key = receipt.keyDestroyed ? ", data key destroyed" : ""
            lines.append("\(indent)\(name): confirmed at \(receipt.at): \(receipt.destroyed) record(s) destroyed\(key) (receipt \(receiptID(receipt)))")
            for onward in receipt.onward { confirmed(onward, by: "its sub-processor \(onward.node.shortForm)", indent: indent + "  ") }
        }
        for target in state.targets {
            if let receipt = target.receipt {
                confirmed(receipt, by: target.name, indent: "  ")
            } else if target.overdue, let deadline = target.deadline {
                lines.append("  \(target.name): OVERDUE: no receipt, the deadline was \(deadline)")
            } else {
                lines.append("  \(target.name): receipt pending" + (target.deadline.map { " (deadline \($0))" } ?? ""))
            }
        }
        return lines
    }

    /// A receipt by its id (or a prefix of it), from those this node holds.
    public func receipt(_ id: String) throws -> DeletionReceipt {
        let matches = try store.revocations.receipts().map(\.receipt).filter { Self.receiptID($0).hasPrefix(id.lowercased()) }
        guard !id.isEmpty, let receipt = matches.first else { throw NodeError("no receipt '\(id)' here; `accord receipt list` shows the receipts this node holds") }
        guard matches.count == 1 else { throw NodeError("'\(id)' matches \(matches.count) receipts; give more of the id") }
        return receipt
    }

    public func receipts() throws -> [DeletionReceipt] { try store.revocations.receipts().map(\.receipt) }

    /// The data subjects of this node's records that `peer` received (or may have) under any
    /// agreement: records covered by an agreement with it under which it acknowledged data.
    public func affectedSubjects(peer: NodeID) throws -> [(subject: String, agreement: String, records: Int)] {
        var result: [(String, String, Int)] = []
        var seen: Set<String> = []
        for version in try agreements.all().reversed() where [.signed, .terminated, .expired, .superseded].contains(version.state) {
            guard !seen.contains(version.id), let agreement = try? agreement(of: version), agreement.nodeIDs[agreement.owner] == identity.id,
                agreement.recipients.contains(where: { agreement.nodeIDs[$0] == peer }),
                try cursor(Route(agreementID: agreement.id, peer: peer)) > 0
            else { continue }
            seen.insert(version.id)
            let subjects = Dictionary(grouping: try store.entries(collection: agreement.collection).filter { agreement.covers($0.entry) }.compactMap(\.entry.subject), by: { $0 })
            for (subject, records) in subjects.sorted(by: { $0.key < $1.key }) { result.append((subject, agreement.id, records.count)) }
        }
        return result
    }

    // MARK: Naming

    /// The first 8 bytes of a revocation id, in hex.
    public static func shortID(_ id: [UInt8]) -> String { hex(id.prefix(8)) }

    /// A receipt's id: the first 8 bytes of its signature, in hex.
    public static func receiptID(_ receipt: DeletionReceipt) -> String { hex(receipt.signature.prefix(8)) }

    func describe(_ revocation: Revocation) throws -> String {
        let names = try localNames()
        let targets = revocation.targets.map { names[$0] ?? $0.shortForm }.joined(separator: ", ")
        var text = "\(revocation.kind.noun) \(Self.shortID(revocation.id)) of \(revocation.agreementID) v\(revocation.version) by \(names[revocation.signer] ?? revocation.signer.shortForm) for \(targets)"
        if !revocation.recordIDs.isEmpty { text += ", \(revocation.recordIDs.count) record(s)" }
        if !revocation.fields.isEmpty { text += ", fields \(revocation.fields.joined(separator: ", "))" }
        return text + ": \(revocation.reason)"
    }
}
