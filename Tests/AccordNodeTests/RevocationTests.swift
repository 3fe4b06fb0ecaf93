import AccordCore
import AccordCrypto
import AccordNet
import AccordStore
import Foundation
import Synchronization
import Testing

@testable import AccordNode

/// Hands every queued message between the nodes' books, as links would, until none is left;
/// revocations are carried out as a running node would. Returns the refusals seen.
@discardableResult
func shuttle(_ directories: [NodeDirectory]) throws -> [String] {
    let books = try directories.map { try AgreementBook(directory: $0) }
    let ids = try directories.map { try $0.loadIdentity().id }
    var refusals: [String] = []
    var moved = true
    while moved {
        moved = false
        for (from, sender) in books.enumerated() {
            for (to, receiver) in books.enumerated() where to != from {
                for (_, frame) in try sender.outbox(for: ids[to]) {
                    moved = true
                    let (signature, refusal): ([UInt8], String?) = switch try Message(frame) {
                    case .agreementProposal(let statement, let document): (statement.signature, try receiver.receiveProposal(statement, document: document, from: ids[from]))
                    case .agreementStatement(let statement): (statement.signature, try receiver.receiveStatement(statement, from: ids[from]))
                    case .revocation(let revocation): (revocation.signature, try receiver.receiveRevocation(revocation, from: ids[from]))
                    case .deletionReceipt(let receipt): (receipt.signature, try receiver.receiveReceipt(receipt, from: ids[from]))
                    default: ([], "unexpected message")
                    }
                    if let refusal { refusals.append(refusal) }
                    if try !receiver.carryOutPending().isEmpty { try receiver.purgeDestroyed() }
                    try sender.receiveReply(AgreementReply(signature: signature, refusal: refusal), from: ids[to])
                }
            }
        }
    }
    return refusals
}

/// Whether `text` occurs anywhere in the node's database file or its WAL.
func storeBytesContain(_ directory: NodeDirectory, _ text: String) throws -> Bool {
    let needle = Data(text.utf8)
    for suffix in ["", "-wal"] {
        if let bytes = FileManager.default.contents(atPath: directory.storeURL.path + suffix), bytes.range(of: needle) != nil { return true }
    }
    return false
}

extension SyncWorld {
    /// A third agreement with both partner and vendor as recipients, signed by all three.
    func signThreeParty() throws {
        let document = AgreementWorld.deliveries(recipients: "partner, vendor")
            .replacingOccurrences(of: "Agreement: deliveries-2026", with: "Agreement: joint-2026")
            .replacingOccurrences(of: "partner may write:", with: "vendor may read:\n    name: clear\npartner may write:")
        try Data(document.utf8).write(to: firm.agreementsURL.appendingPathComponent("joint-2026.agreement"))
        _ = try AgreementBook(directory: firm).propose(id: "joint-2026")
        try shuttle([firm, partner, vendor])
        for recipient in [partner, vendor] { _ = try AgreementBook(directory: recipient).accept(id: "joint-2026") }
        try shuttle([firm, partner, vendor])
        #expect(try AgreementBook(directory: firm).list().first { $0.id == "joint-2026" }?.state == "active")
    }

    /// The partner shares on what it receives under deliveries-2026 with the vendor, its
    /// sub-processor (name and phone, as the partner sees them).
    func signOnward() throws {
        let document = """
            Agreement: deliveries-courier
            Title: Deliveries handed on to a courier
            Owner: partner
            Recipients: vendor
            Collection: received under deliveries-2026
            vendor may read:
                name: clear
                phone: clear
            Purpose: last-mile delivery
            Allowed jurisdictions: CN
            Effective: 2020-01-01
            Expires: 2099-12-31
            On termination: delete within 7 days, receipt required

            """
        try Data(document.utf8).write(to: partner.agreementsURL.appendingPathComponent("deliveries-courier.agreement"))
        try SyncWorld.sign("deliveries-courier", owner: partner, recipient: vendor)
    }

    /// The firm amends deliveries-2026 to take `line` (a field under 'partner may read:') out,
    /// and the partner signs the amendment; both nodes are running.
    func narrowDeliveries(removing line: String) async throws {
        let document = firm.agreementsURL.appendingPathComponent("deliveries-2026.agreement")
        let narrower = try String(contentsOf: document, encoding: .utf8).replacingOccurrences(of: line + "\n", with: "")
        let file = world.sandbox.root.appendingPathComponent("narrower.agreement")
        try Data(narrower.utf8).write(to: file)
        _ = try AgreementBook(directory: firm).amend(id: "deliveries-2026", file: file)
        AgreementBook.wakeNode(firm)
        let partnerBook = try AgreementBook(directory: partner)
        #expect(try await eventually { try partnerBook.list().first { $0.id == "deliveries-2026" }?.raw == .pending })
        _ = try partnerBook.accept(id: "deliveries-2026")
        AgreementBook.wakeNode(partner)
    }

    /// The firm's revocations of `kind` under `agreementID`, and the partner's receipt for the first.
    func partnerReceipt(_ agreementID: String, _ kind: Revocation.Kind) throws -> DeletionReceipt? {
        let partnerID = try partner.loadIdentity().id
        return try AgreementBook(directory: firm).revocationStates(agreement: agreementID, kind: kind).first?.targets.first { $0.node == partnerID }?.receipt
    }

    /// The firm terminates the agreement and wakes its running node.
    func terminateAtFirm(_ agreementID: String, reason: String) throws {
        _ = try AgreementBook(directory: firm).terminate(id: agreementID, reason: reason)
        AgreementBook.wakeNode(firm)
    }

    /// Whether every target of the firm's first revocation of `agreementID` has sent its receipt.
    func allReceiptsIn(_ agreementID: String) throws -> Bool {
        try AgreementBook(directory: firm).revocationStates(agreement: agreementID).first?.targets.allSatisfy { $0.receipt != nil } == true
    }

    /// Two customers at the firm (CUST-77, CUST-78), all three nodes running, and both records
    /// synced to the partner and the vendor. Stop the nodes returned.
    func startWithTwoCustomersSynced() async throws -> [Node] {
        try put("C-1", subject: "CUST-77", SyncWorld.customer)
        try put("C-2", subject: "CUST-78", SyncWorld.customer)
        let nodes = [try await start("firm"), try await start("partner"), try await start("vendor")]
        #expect(try await eventually { try held("deliveries-2026", at: partner).count == 2 && held("invoicing-2026", at: vendor).count == 2 })
        return nodes
    }

    /// Records of `agreementID` held at `directory` (a recipient), read from its store directly.
    func held(_ agreementID: String, at directory: NodeDirectory) throws -> [String] {
        try AgreementBook(directory: directory).store.entries(collection: AgreementBook.sharedCollection(agreementID)).filter(\.entry.isLive).map(\.id)
    }
}

@Suite("Revocation: what is accepted")
struct RevocationRulesTests {
    /// A revocation with a bad signature, signed by a non-party, replayed against another
    /// agreement, or by a recipient ordering another recipient to delete: refused, nothing destroyed.
    @Test func forgedOrOverreachingRevocationsAreRefused() throws {
        let world = try SyncWorld()
        try world.signThreeParty()
        let firm = try AgreementBook(directory: world.firm)
        let partnerID = try world.partner.loadIdentity().id
        let vendor = try AgreementBook(directory: world.vendor)
        let (version, _) = try #require(try firm.stored(id: "joint-2026"))

        func revocation(_ id: String = "joint-2026", signedBy directory: NodeDirectory, targets: [NodeID], edit: (inout Revocation) -> Void = { _ in }) throws -> Revocation {
            let identity = try directory.loadIdentity()
            var revocation = Revocation(
                id: try secureRandomBytes(16), kind: .terminate, agreementID: id, version: version.version, contentHash: version.contentHash,
                targets: targets, signer: identity.id, signerKey: identity.key.publicKey.rawRepresentation, at: "2026-11-25T10:00:00.000Z", reason: "test"
            )
            revocation.signature = try identity.key.signature(for: revocation.signedBytes)
            edit(&revocation)
            return revocation
        }
        let vendorID = try world.vendor.loadIdentity().id
        let tampered = try revocation(signedBy: world.firm, targets: [vendorID]) { $0.reason = "changed after signing" }
        #expect(try vendor.receiveRevocation(tampered, from: partnerID) == "the signature does not verify")

        let elsewhere = try Sandbox()
        let stranger = try elsewhere.makeNode("stranger")
        let fromStranger = try revocation(signedBy: stranger, targets: [vendorID])
        #expect(try vendor.receiveRevocation(fromStranger, from: partnerID) == "the signer is not a party of joint-2026")

        // The firm's genuine revocation of deliveries-2026, moved onto joint-2026.
        let (otherVersion, _) = try #require(try firm.stored(id: "deliveries-2026"))
        var replayed = try revocation("deliveries-2026", signedBy: world.firm, targets: [vendorID]) {
            $0.version = otherVersion.version
            $0.contentHash = otherVersion.contentHash
        }
        replayed.signature = try world.firm.loadIdentity().key.signature(for: replayed.signedBytes)
        (replayed.agreementID, replayed.contentHash) = ("joint-2026", version.contentHash)
        #expect(try vendor.receiveRevocation(replayed, from: partnerID) == "the signature does not verify")

        let overreach = try revocation(signedBy: world.partner, targets: [vendorID])
        #expect(try vendor.receiveRevocation(overreach, from: partnerID) == "a recipient may end only its own participation; it cannot make others delete the owner's data")
        #expect(try vendor.revocationStates(agreement: "joint-2026").isEmpty, "nothing refused is kept")
        #expect(try vendor.list().first { $0.id == "joint-2026" }?.state == "active")
    }

    /// A recipient ends its own participation: it destroys its copy at once and its receipt goes
    /// to the owner; the owner then orders the other recipient to destroy as well.
    @Test func aRecipientEndsItsOwnParticipation() throws {
        let world = try SyncWorld()
        try world.signThreeParty()
        _ = try AgreementBook(directory: world.partner).terminate(id: "joint-2026", reason: "we stop delivering")
        #expect(try shuttle([world.firm, world.partner, world.vendor]).isEmpty)
        let states = try AgreementBook(directory: world.firm).revocationStates(agreement: "joint-2026")
        #expect(states.count == 2, "the partner's own, then the firm's for the vendor")
        for state in states { #expect(state.targets.allSatisfy { $0.receipt != nil }, "\(AgreementBook.lines(state))") }
        #expect(Set(states.flatMap(\.targets).map(\.name)) == ["partner", "vendor"])
    }
}

@Suite("Revocation between running nodes")
struct RevocationTests {
    /// terminate → every recipient destroys the data and its key, the firm holds a receipt from
    /// each; nothing readable stays in the partner's file or WAL, and a backup taken before
    /// cannot be read.
    @Test func terminationDestroysTheDataWithReceipts() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let log = LogRecorder()
        let nodes = [try await world.start("firm", log: log), try await world.start("partner", log: log)]
        defer { Task { for node in nodes { await node.stop() } } }
        #expect(try await eventually { try world.held("deliveries-2026", at: world.partner) == ["C-1"] })
        let backup = world.world.sandbox.root.appendingPathComponent("partner-before.sqlite")
        try RecordBook(directory: world.partner).backup(to: backup)

        let firm = try AgreementBook(directory: world.firm)
        try world.terminateAtFirm("deliveries-2026", reason: "contract ended")
        #expect(try await eventually { try world.allReceiptsIn("deliveries-2026") }, "\(log.all.joined(separator: "\n"))")
        let receipt = try #require(try firm.revocationStates(agreement: "deliveries-2026").first?.targets.first?.receipt)
        #expect(receipt.destroyed == 1 && receipt.keyDestroyed)
        #expect(receipt.digest == SHA256.hash(DeletionReceipt.digestInput(ids: ["C-1"])), "the digest names exactly what the firm sent")
        #expect(AgreementBook.verify(receipt) == nil)
        #expect(try AgreementBook(directory: world.partner).list().first { $0.id == "deliveries-2026" }?.state.hasPrefix("terminated") == true)
        let tables = { try RecordBook(directory: world.partner).recordStore.database.query("SELECT name FROM sqlite_schema WHERE name GLOB 'records_*'") { $0.text(0) } }
        #expect(try await eventually { try tables().isEmpty }, "the rows go right after the receipt")
        for text in ["Li Wei", "1 Bund Road", "C-1"] { #expect(try !storeBytesContain(world.partner, text), "\(text) in the partner's store") }

        // The backup still has the rows, but their key is gone from every copy.
        let copy = try RecordStore(path: backup.path, masterKey: try world.partner.loadMasterKey())
        #expect(throws: StoreError.self) { try copy.entries(collection: AgreementBook.sharedCollection("deliveries-2026")) }
        let audit = try RecordBook(directory: world.firm).auditEntries(since: nil).map(\.action)
        #expect(audit.contains("revocation sent") && audit.contains("deletion receipt received"))
        #expect(try RecordBook(directory: world.partner).auditEntries(since: nil).map(\.action).contains("data destroyed"))
    }

    /// The vendor is offline when the firm terminates; the firm goes offline; the vendor comes
    /// back and meets only the partner: it still destroys the data, and its receipt reaches the
    /// firm once the firm is back.
    @Test func storeAndForwardThroughAnotherParty() async throws {
        let world = try SyncWorld()
        try world.signThreeParty()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        var firmNode = try await world.start("firm")
        let partnerNode = try await world.start("partner")
        var vendorNode = try await world.start("vendor")
        #expect(try await eventually { try world.held("joint-2026", at: world.vendor) == ["C-1"] && world.held("joint-2026", at: world.partner) == ["C-1"] })
        await vendorNode.stop()

        let firm = try AgreementBook(directory: world.firm)
        try world.terminateAtFirm("joint-2026", reason: "suspected misuse")
        let partnerID = try world.partner.loadIdentity().id
        #expect(try await eventually { try firm.revocationStates(agreement: "joint-2026").first?.targets.first { $0.node == partnerID }?.receipt != nil })
        await firmNode.stop()

        vendorNode = try await world.start("vendor")
        // (A read while the vendor's node destroys the collection may find its key gone before
        // its rows: holding nothing, not reading without an error, is what is waited for.)
        #expect(await eventually { (try? world.held("joint-2026", at: world.vendor))?.isEmpty == true }, "the vendor learned it from the partner")
        firmNode = try await world.start("firm")
        let running = [firmNode, partnerNode, vendorNode]
        defer { Task { for node in running { await node.stop() } } }
        #expect(try await eventually { try world.allReceiptsIn("joint-2026") })
        let passedOn = try RecordBook(directory: world.partner).auditEntries(since: nil).filter { $0.action == "revocation received" }
        #expect(passedOn.contains { $0.detail.hasPrefix("termination ") && $0.detail.hasSuffix("; passed on to vendor") }, "\(passedOn.map(\.detail))")
    }

    /// The partner was offline through the termination and then restored from a backup taken
    /// before it: what it holds stays destroyed, it learns the revocation before anything else
    /// on the link, and nothing of the agreement flows again.
    @Test func aRestoredStaleReplicaResurrectsNothing() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let firmNode = try await world.start("firm")
        var partnerNode = try await world.start("partner")
        #expect(try await eventually { try world.held("deliveries-2026", at: world.partner) == ["C-1"] })
        let backup = world.world.sandbox.root.appendingPathComponent("partner-old.sqlite")
        try RecordBook(directory: world.partner).backup(to: backup)
        try world.terminateAtFirm("deliveries-2026", reason: "contract ended")
        #expect(try await eventually { try world.allReceiptsIn("deliveries-2026") })
        await partnerNode.stop()

        try RecordBook.restore(world.partner, from: backup)
        #expect(try world.held("deliveries-2026", at: world.partner).isEmpty, "its key file is gone: the restored rows went with it")
        let log = LogRecorder()
        partnerNode = try await world.start("partner", log: log)
        let running = [firmNode, partnerNode]
        defer { Task { for node in running { await node.stop() } } }
        #expect(try await eventually { try AgreementBook(directory: world.partner).list().first { $0.id == "deliveries-2026" }?.state.hasPrefix("terminated") == true })
        try world.put("C-2", subject: "CUST-78", SyncWorld.customer)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try world.held("deliveries-2026", at: world.partner).isEmpty)
        #expect(try RecordBook(directory: world.firm).records(collection: "customers").map(\.id) == ["C-1", "C-2"])
    }

    /// Onward sharing: the partner shares what it received on with the vendor as its
    /// sub-processor. An erasure, then the termination upstream reach the vendor through the
    /// partner, and the partner's receipts reach the firm carrying the vendor's.
    @Test func revocationsCascadeToASubProcessor() async throws {
        let world = try SyncWorld(onwardSharing: "vendor")
        try world.signOnward()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        try world.put("C-3", subject: "CUST-79", SyncWorld.customer)
        let log = LogRecorder()
        let nodes = [try await world.start("firm", log: log), try await world.start("partner", log: log), try await world.start("vendor", log: log)]
        defer { Task { for node in nodes { await node.stop() } } }
        #expect(try await eventually { try world.held("deliveries-courier", at: world.vendor).sorted() == ["C-1", "C-3"] }, "\(log.all.joined(separator: "\n"))")
        let handedOn = try #require(try AgreementBook(directory: world.vendor).sharedRecords("deliveries-courier").first { $0.id == "C-1" })
        #expect(handedOn.fields == ["name": .string("Li Wei"), "phone": .string("*******1234")], "the partner's view, projected again")
        let vendorID = try world.vendor.loadIdentity().id

        _ = try AgreementBook(directory: world.firm).erase(subject: "CUST-77", reason: "customer request")
        #expect(try await eventually { try world.held("deliveries-courier", at: world.vendor) == ["C-3"] })
        #expect(try await eventually { try world.partnerReceipt("deliveries-2026", .erase)?.onward.count == 1 }, "\(log.all.joined(separator: "\n"))")
        let erasure = try #require(try world.partnerReceipt("deliveries-2026", .erase))
        #expect(erasure.destroyed == 1 && erasure.onward.first?.node == vendorID && erasure.onward.first?.destroyed == 1)
        #expect(AgreementBook.verify(erasure) == nil)

        try world.terminateAtFirm("deliveries-2026", reason: "contract ended")
        #expect(try await eventually { try world.partnerReceipt("deliveries-2026", .terminate)?.onward.count == 1 }, "\(log.all.joined(separator: "\n"))")
        let termination = try #require(try world.partnerReceipt("deliveries-2026", .terminate))
        #expect(termination.onward.first.map { $0.node == vendorID && $0.keyDestroyed && $0.destroyed == 1 } == true)
        #expect(try world.held("deliveries-courier", at: world.vendor).isEmpty)
        let atVendor = try AgreementBook(directory: world.vendor).list()
        #expect(atVendor.first { $0.id == "deliveries-courier" }?.state.hasPrefix("terminated (termination ") == true, "\(atVendor.map { ($0.id, $0.state) })")
        #expect(try world.held("invoicing-2026", at: world.vendor) == ["C-3"], "the vendor's own agreement with the firm goes on")
        let status = try AgreementBook(directory: world.firm).revocationStates(agreement: "deliveries-2026", kind: .terminate).flatMap(AgreementBook.lines)
        #expect(status.contains { $0.contains("its sub-processor \(vendorID.shortForm): confirmed at") }, "\(status)")
    }

    /// `erase`: the subject's records go at the owner and at both recipients, with a receipt
    /// from each; other subjects stay; a stale copy of the erased record is refused.
    @Test func erasureReachesEveryRecipient() async throws {
        let world = try SyncWorld()
        let nodes = try await world.startWithTwoCustomersSynced()
        defer { Task { for node in nodes { await node.stop() } } }

        let firm = try AgreementBook(directory: world.firm)
        let (records, revocations) = try firm.erase(subject: "CUST-77", reason: "customer request")
        #expect(records == 1 && revocations.count == 2)
        #expect(try await eventually { try firm.revocationStates(kind: .erase).allSatisfy { $0.targets.allSatisfy { $0.receipt?.destroyed == 1 } } })
        #expect(try world.held("deliveries-2026", at: world.partner) == ["C-2"])
        #expect(try world.held("invoicing-2026", at: world.vendor) == ["C-2"])
        #expect(try RecordBook(directory: world.firm).records(collection: "customers").map(\.id) == ["C-2"])

        // A copy of C-1 made before the erasure, sent again, is refused.
        let stale = try #require(try firm.store.entry(collection: "customers", id: "C-2"))
        let partner = try AgreementBook(directory: world.partner)
        let (version, _) = try #require(try partner.stored(id: "deliveries-2026"))
        let (ack, _) = try partner.receive(SyncBatch(agreementID: "deliveries-2026", contentHash: version.contentHash, through: 1, entries: [("C-1", stale)]), from: try world.firm.loadIdentity().id)
        #expect(ack.refused == 1 && ack.reason.contains("erased"))
    }

    /// An amendment that takes the address out of the partner's scope: once every party signed
    /// it, the partner purges the address (with a receipt) and keeps the rest.
    @Test func anAmendmentThatNarrowsMakesTheRecipientPurge() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let nodes = [try await world.start("firm"), try await world.start("partner")]
        defer { Task { for node in nodes { await node.stop() } } }
        let partner = try AgreementBook(directory: world.partner)
        #expect(try await eventually { try partner.sharedRecords("deliveries-2026").first?.fields["address"] != nil })

        try await world.narrowDeliveries(removing: "    address: clear")
        let firm = try AgreementBook(directory: world.firm)
        #expect(try await eventually { try firm.revocationStates(kind: .narrow).first?.targets.first?.receipt?.destroyed == 1 })
        #expect(try await eventually {
            let fields = try partner.sharedRecords("deliveries-2026").first?.fields
            return fields?["address"] == nil && fields?["name"] == .string("Li Wei")
        })
        #expect(try !storeBytesContain(world.partner, "1 Bund Road"))
    }

    /// Expiry: the owner's node marks the agreement expired and sends the same revocation by
    /// itself (kind expire); the partner destroys the data and its key, with a receipt.
    @Test func expirySendsTheRevocationByItself() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let nodes = [try await world.start("firm"), try await world.start("partner")]
        defer { Task { for node in nodes { await node.stop() } } }
        #expect(try await eventually { try world.held("deliveries-2026", at: world.partner) == ["C-1"] })

        let firm = try AgreementBook(directory: world.firm)
        #expect(try firm.expireDue(on: Day("2100-01-01")!) == ["deliveries-2026", "invoicing-2026"])  // both end 2099-12-31
        AgreementBook.wakeNode(world.firm)
        #expect(try await eventually { try world.partnerReceipt("deliveries-2026", .expire)?.keyDestroyed == true })
        #expect(try world.held("deliveries-2026", at: world.partner).isEmpty)
        #expect(try AgreementBook(directory: world.partner).list().first { $0.id == "deliveries-2026" }?.raw == .expired)
        #expect(try RecordBook(directory: world.firm).auditEntries(since: nil).contains { $0.action == "revocation sent" && $0.detail.hasPrefix("expiry ") })
    }

    /// An amendment that takes the phone from the partner: the partner purges it, has its
    /// sub-processor purge it too, and its receipt carries the sub-processor's.
    @Test func aNarrowingCascadesToASubProcessor() async throws {
        let world = try SyncWorld(onwardSharing: "vendor")
        try world.signOnward()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let nodes = [try await world.start("firm"), try await world.start("partner"), try await world.start("vendor")]
        defer { Task { for node in nodes { await node.stop() } } }
        let vendor = try AgreementBook(directory: world.vendor)
        #expect(try await eventually { try vendor.sharedRecords("deliveries-courier").first?.fields["phone"] != nil })

        try await world.narrowDeliveries(removing: "    phone: masked")
        #expect(try await eventually { try world.partnerReceipt("deliveries-2026", .narrow)?.onward.first?.destroyed == 1 })
        let fields = try #require(try vendor.sharedRecords("deliveries-courier").first?.fields)
        #expect(fields == ["name": .string("Li Wei")], "the phone is gone at the sub-processor; the name stays")
    }

    /// On every link revocations go first: the firm sends its revocations and the word that they
    /// were all sent before any data, syncs nothing until the peer has sent its own, and nothing
    /// at all under a revoked agreement.
    @Test func revocationsTravelBeforeData() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        _ = try AgreementBook(directory: world.firm).terminate(id: "invoicing-2026", reason: "contract ended")
        let firmNode = try await world.start("firm")
        defer { Task { await firmNode.stop() } }

        let vendor = try await FakePeer.connect(to: world, as: world.vendor)
        #expect(await eventually { vendor.kinds.withLock { $0.contains(.revocationsSent) } })
        #expect(try await vendor.nextBatch(within: .seconds(1)) == nil, "nothing under a revoked agreement")
        let kinds = vendor.kinds.withLock { $0 }.filter { $0 != .ping && $0 != .agreementProposal && $0 != .agreementStatement }
        #expect(kinds.prefix(2) == [.revocation, .revocationsSent], "\(kinds)")
        await vendor.close()

        let partner = try await FakePeer.connect(to: world, as: world.partner, announce: false)
        #expect(try await partner.nextBatch(within: .seconds(1)) == nil, "no data before the partner's revocations")
        try await partner.connection.send(Message.revocationsSent(count: 0).frame)
        #expect(try await partner.nextBatch()?.agreementID == "deliveries-2026")
        await partner.close()
    }

    /// A message the peer has not answered yet goes once per link, however often the outbox is
    /// flushed meanwhile (each received receipt used to send all unanswered ones again); a new
    /// link sends it again.
    @Test func anUnansweredMessageGoesOncePerLink() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let firmNode = try await world.start("firm")
        defer { Task { await firmNode.stop() } }
        let vendor = try await FakePeer.connect(to: world, as: world.vendor)
        #expect(await eventually { vendor.kinds.withLock { $0.contains(.revocationsSent) } })
        _ = try AgreementBook(directory: world.firm).terminate(id: "invoicing-2026", reason: "contract ended")
        for _ in 0..<3 {
            AgreementBook.wakeNode(world.firm)
            try await Task.sleep(for: .milliseconds(100))
        }
        func revocations(_ peer: FakePeer) -> Int { peer.kinds.withLock { $0.filter { $0 == .revocation }.count } }
        #expect(await eventually { revocations(vendor) > 0 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(revocations(vendor) == 1, "the vendor never answered, and three flushes followed")
        await vendor.close()

        let again = try await FakePeer.connect(to: world, as: world.vendor)
        #expect(await eventually { revocations(again) > 0 })
        await again.close()
    }
}

@Suite("Revocation from the command line")
struct RevocationCLITests {
    /// erase → receipts; receipt list, export and an offline verify that catches a tampered file;
    /// peer revoke → the peer's agreements end and it is unpinned; report affected names the
    /// subjects it received.
    @Test func eraseReceiptsRevokeAndReport() async throws {
        let world = try SyncWorld()
        let nodes = try await world.startWithTwoCustomersSynced()
        defer { Task { for node in nodes { await node.stop() } } }
        let firm = world.firm.url.path

        let badWait = try await CLI.run("erase", "--dir", firm, "--subject", "CUST-77", "--reason", "customer request", "--wait", "soon")
        #expect(badWait.status == 2 && badWait.stderr.contains("--wait takes a number of seconds"), "\(badWait.stderr)")
        #expect(try world.held("deliveries-2026", at: world.partner).count == 2, "a usage error erases nothing")
        // --wait: on a machine busy with every suite at once, the 3 s default can be too short.
        let erase = try await CLI.run("erase", "--dir", firm, "--subject", "CUST-77", "--reason", "customer request", "--wait", "60")
        #expect(erase.status == 0, "\(erase.stderr)")
        #expect(erase.stdout.contains("Erased CUST-77: 1 record(s) deleted here."))
        #expect(erase.stdout.contains("partner: confirmed at") && erase.stdout.contains("vendor: confirmed at"), "\(erase.stdout)")
        let status = try await CLI.run("erase", "status", "--dir", firm)
        #expect(status.stdout.contains("erasure") && status.stdout.contains("1 record(s) destroyed"))

        let list = try await CLI.run("receipt", "list", "--dir", firm)
        let id = try #require(list.stdout.split(separator: "\n").first { $0.contains("partner") }?.split(separator: " ").first.map(String.init))
        let file = world.world.sandbox.root.appendingPathComponent("receipt.json")
        #expect(try await CLI.run("receipt", "export", "--dir", firm, id, "--out", file.path).status == 0)
        let verified = try await CLI.run("receipt", "verify", file.path)
        let partnerID = try world.partner.loadIdentity().id
        #expect(verified.status == 0 && verified.stdout.contains("verifies: signed by node \(partnerID)"), "\(verified.stderr)")
        let exported = try String(contentsOf: file, encoding: .utf8)
        try Data(exported.replacingOccurrences(of: "\"records_destroyed\" : 1", with: "\"records_destroyed\" : 0").utf8).write(to: file)
        let tampered = try await CLI.run("receipt", "verify", file.path)
        #expect(tampered.status == 1 && tampered.stderr.contains("does NOT verify: its field \"records_destroyed\""), "\(tampered.stderr)")

        let revoke = try await CLI.run("peer", "revoke", "--dir", firm, "vendor", "--reason", "suspected leak", "--wait", "60")
        #expect(revoke.status == 0 && revoke.stdout.contains("1 agreement(s) with vendor terminated: invoicing-2026"), "\(revoke.stdout)\(revoke.stderr)")
        #expect(revoke.stdout.contains("vendor: confirmed at") && revoke.stdout.contains("Revoked vendor: unpinned"), "the vendor got it before it was cut off")
        #expect(try await !CLI.run("peer", "list", "--dir", firm).stdout.contains("vendor"))
        #expect(try AgreementBook(directory: world.firm).list().first { $0.id == "invoicing-2026" }?.state.hasPrefix("terminated") == true)
        let report = try await CLI.run("report", "affected", "--dir", firm, "--peer", "vendor", "--format", "csv")
        #expect(report.stdout == "subject,agreement,records\nCUST-78,invoicing-2026,1\n", "CUST-77 was erased before: \(report.stdout)\(report.stderr)")
        let agreement = try await CLI.run("agreement", "status", "--dir", firm, "invoicing-2026")
        #expect(agreement.stdout.contains("termination") && agreement.stdout.contains("vendor (revoked): confirmed at"), "\(agreement.stdout)")
    }
}
