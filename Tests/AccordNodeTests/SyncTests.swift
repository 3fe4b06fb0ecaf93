import AccordCore
import AccordCrypto
import AccordNet
import AccordTestSupport
import Foundation
import Synchronization
import Testing

@testable import AccordNode
@testable import AccordStore

/// firm, partner and vendor with the worked examples' schema and agreements (docs/examples/),
/// each agreement signed by both of its parties without the network, so tests start from
/// agreements in force.
struct SyncWorld {
    let world: AgreementWorld
    let ports: [String: UInt16]
    var firm: NodeDirectory { world.firm }
    var partner: NodeDirectory { world.partner }
    var vendor: NodeDirectory { world.vendor }

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    /// - Parameter onwardSharing: whom deliveries-2026 lets the partner share on with.
    init(onwardSharing: String? = nil) throws {
        world = try AgreementWorld()
        ports = ["firm": try freePort(), "partner": try freePort(), "vendor": try freePort()]
        let directories = ["firm": world.firm, "partner": world.partner, "vendor": world.vendor]
        for (name, directory) in directories {
            for (other, peer) in directories where other != name { try world.pin(peer, in: directory, port: ports[other]!) }
        }
        let schema = try Data(contentsOf: Self.examples.appendingPathComponent("customers.schema"))
        try schema.write(to: world.firm.schemasURL.appendingPathComponent("customers.schema"))
        for (id, recipient) in [("deliveries-2026", world.partner), ("invoicing-2026", world.vendor)] {
            // In force whatever day the tests run.
            let document = try String(contentsOf: Self.examples.appendingPathComponent("\(id).agreement"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("Effective:") ? "Effective: 2020-01-01" : $0.hasPrefix("Expires:") ? "Expires: 2099-12-31" : String($0) }
                .map { $0.hasPrefix("Onward sharing:") && onwardSharing != nil ? "Onward sharing: allowed to \(onwardSharing!)" : $0 }
                .joined(separator: "\n")
            try Data(document.utf8).write(to: world.firm.agreementsURL.appendingPathComponent("\(id).agreement"))
            try Self.sign(id, owner: world.firm, recipient: recipient)
        }
    }

    /// Propose at the owner, receive and accept at the recipient, receive the acceptance back:
    /// the messages a link would carry, handed over directly.
    static func sign(_ id: String, owner: NodeDirectory, recipient: NodeDirectory) throws {
        let ownerBook = try AgreementBook(directory: owner)
        let recipientBook = try AgreementBook(directory: recipient)
        let (ownerID, recipientID) = (try owner.loadIdentity().id, try recipient.loadIdentity().id)
        _ = try ownerBook.propose(id: id)
        for (_, frame) in try ownerBook.outbox(for: recipientID) {
            guard case .agreementProposal(let statement, let document) = try Message(frame), statement.agreementID == id else { continue }
            #expect(try recipientBook.receiveProposal(statement, document: document, from: ownerID) == nil)
            try ownerBook.receiveReply(AgreementReply(signature: statement.signature, refusal: nil), from: recipientID)
        }
        _ = try recipientBook.accept(id: id)
        for (_, frame) in try recipientBook.outbox(for: ownerID) {
            guard case .agreementStatement(let statement) = try Message(frame), statement.agreementID == id else { continue }
            #expect(try ownerBook.receiveStatement(statement, from: recipientID) == nil)
            try recipientBook.receiveReply(AgreementReply(signature: statement.signature, refusal: nil), from: ownerID)
        }
        #expect(try ownerBook.list().first { $0.id == id }?.state == "active")
    }

    func start(_ name: String, log: LogRecorder = LogRecorder(), window: Int = 8, batchLimit: Int = 1000) async throws -> Node {
        let directory = ["firm": firm, "partner": partner, "vendor": vendor][name]!
        var options = fastOptions()
        (options.syncWindow, options.syncBatchLimit) = (window, batchLimit)
        options.listenOverride = Endpoint(host: "127.0.0.1", port: ports[name]!)
        // Fake peers answer pings from a task that may wait for a thread while every suite runs
        // at once: a link is closed only after 15 s of silence.
        options.keepaliveInterval = .seconds(5)
        let node = try Node(directory: directory, log: NodeLog(name: name, sink: log.sink), options: options)
        try await node.start()
        return node
    }

    func put(_ id: String, subject: String, _ fields: [String: Value]) throws {
        try RecordBook(directory: firm).put(collection: "customers", id: id, subject: subject, fields: fields)
    }

    static let customer: [String: Value] = [
        "name": .string("Li Wei"), "address": .string("1 Bund Road"), "phone": .string("13800001234"), "city": .string("Shanghai"),
        "customer_id": .string("CUST-77"), "invoice_total": .decimal("12.50"),
    ]
}

@Suite("Sync between running nodes")
struct SyncTests {
    @Test func eachPartyGetsWhatItsAgreementAllowsAndEditsComeBack() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        try world.put("C-2", subject: "CUST-78", ["name": .string("Wang"), "city": .string("Beijing"), "customer_id": .string("CUST-78")])
        let log = LogRecorder()
        let nodes = [try await world.start("firm", log: log), try await world.start("partner", log: log), try await world.start("vendor", log: log)]
        defer { Task { for node in nodes { await node.stop() } } }
        let partner = try AgreementBook(directory: world.partner)
        let vendor = try AgreementBook(directory: world.vendor)

        #expect(try await eventually { try partner.sharedRecords("deliveries-2026").count == 1 && vendor.sharedRecords("invoicing-2026").count == 2 }, "\(log.all.joined(separator: "\n"))")
        let atPartner = try #require(try partner.sharedRecords("deliveries-2026").first)
        #expect(atPartner.id == "C-1", "C-2 is in Beijing: outside the filter")
        #expect(atPartner.fields == ["name": .string("Li Wei"), "address": .string("1 Bund Road"), "phone": .string("*******1234")])
        let atVendor = try #require(try vendor.sharedRecords("invoicing-2026").first { $0.id == "C-1" })
        #expect(Set(atVendor.fields.keys) == ["name", "customer_id", "invoice_total"], "the vendor never sees the address")
        #expect(atVendor.fields["customer_id"] != .string("CUST-77"))
        #expect(atVendor.subject != atPartner.subject, "pseudonyms differ between agreements")
        #expect(atVendor.subject.hasPrefix("P-") && atPartner.subject.hasPrefix("P-"))

        // The partner's and the vendor's edits reach the firm; the firm's next change reaches both.
        _ = try partner.editShared("deliveries-2026", id: "C-1", fields: ["delivery_status": .string("delivered")])
        _ = try vendor.editShared("invoicing-2026", id: "C-1", fields: ["invoice_status": .string("paid")])
        let firm = try RecordBook(directory: world.firm)
        #expect(try await eventually {
            let fields = try firm.record(collection: "customers", id: "C-1")?.fields
            return fields?["delivery_status"] == .string("delivered") && fields?["invoice_status"] == .string("paid")
        })
        try world.put("C-1", subject: "CUST-77", ["phone": .string("13999995678")])
        #expect(try await eventually { try partner.sharedRecords("deliveries-2026").first?.fields["phone"] == .string("*******5678") })
        #expect(try vendor.sharedRecords("invoicing-2026").first { $0.id == "C-1" }?.fields["delivery_status"] == nil)
        #expect(try await eventually { try AgreementBook(directory: world.firm).syncStatus().allSatisfy { $0.behind == 0 } })
    }

    /// The partner edits while offline and the firm changes the same field meanwhile: once the
    /// partner is back, both hold the same, later, value.
    /// Twelve records of 900 KB (11 MB, once more than a 4 MiB frame in one batch) arrive, in
    /// batches that fit; a record over 1 MiB is refused when it is put.
    @Test func largeRecordsTravelInBatchesThatFitAFrame() async throws {
        let world = try SyncWorld()
        let address = String(repeating: "a", count: 900_000)
        for index in 0..<12 { try world.put("C-\(index)", subject: "CUST-\(index)", ["name": .string("N\(index)"), "address": .string(address), "city": .string("Shanghai")]) }
        #expect(throws: NodeError.self) { try world.put("C-big", subject: "CUST-big", ["address": .string(address + address)]) }
        let log = LogRecorder()
        let nodes = [try await world.start("firm", log: log), try await world.start("partner", log: log)]
        defer { Task { for node in nodes { await node.stop() } } }
        let partner = try AgreementBook(directory: world.partner)
        #expect(try await eventually(timeout: .seconds(60)) { try partner.sharedRecords("deliveries-2026").count == 12 }, "\(log.all.joined(separator: "\n"))")
        #expect(try partner.sharedRecords("deliveries-2026").allSatisfy { $0.fields["address"] == .string(address) })
    }

    @Test func offlineEditsArriveAndConcurrentEditsConverge() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        let firmNode = try await world.start("firm")
        var partnerNode = try await world.start("partner")
        let partner = try AgreementBook(directory: world.partner)
        #expect(try await eventually { try partner.sharedRecords("deliveries-2026").count == 1 })
        await partnerNode.stop()

        _ = try partner.editShared("deliveries-2026", id: "C-1", fields: ["delivery_status": .string("out for delivery")])
        try await Task.sleep(for: .milliseconds(5))
        try world.put("C-1", subject: "CUST-77", ["delivery_status": .string("cancelled"), "name": .string("Li Wei Jr")])
        partnerNode = try await world.start("partner")
        let running = [firmNode, partnerNode]
        defer { Task { for node in running { await node.stop() } } }
        let firm = try RecordBook(directory: world.firm)
        #expect(try await eventually {
            let here = try firm.record(collection: "customers", id: "C-1")?.fields
            let there = try partner.sharedRecords("deliveries-2026").first?.fields
            return there?["name"] == .string("Li Wei Jr") && here?["delivery_status"] == there?["delivery_status"]
        })
        // Made while apart, the firm's change carries the later clock, so it wins on both sides.
        #expect(try firm.record(collection: "customers", id: "C-1")?.fields["delivery_status"] == .string("cancelled"))
    }
}

/// A fake partner on a raw connection: sees exactly what the firm sends. A reader task collects
/// the batches as they come (answering pings); the test takes them one by one.
final class FakePeer: Sendable {
    let loop: EventLoop
    let connection: Connection
    private let batches = Mutex<[SyncBatch]>([])
    /// The kind of every message received, in order.
    let kinds = Mutex<[Message.Kind]>([])

    private init(loop: EventLoop, connection: Connection) {
        (self.loop, self.connection) = (loop, connection)
    }

    /// - Parameter announce: say at once that it holds no revocation (the firm syncs nothing before).
    static func connect(to world: SyncWorld, as peer: NodeDirectory, announce: Bool = true) async throws -> FakePeer {
        let (loop, connection) = try await dial(world.firm, at: world.ports["firm"]!, as: peer)
        try await connection.send(Message.hello(Hello(nodeID: try peer.loadIdentity().id, name: "partner", purpose: .link)).frame)
        guard case .hello = try Message(try await connection.receive()) else { throw NodeError("no hello") }
        if announce { try await connection.send(Message.revocationsSent(count: 0).frame) }
        let fake = FakePeer(loop: loop, connection: connection)
        Task {
            while let message = try? Message(try await connection.receive()) {
                fake.kinds.withLock { $0.append(message.kind) }
                switch message {
                case .syncBatch(let batch): fake.batches.withLock { $0.append(batch) }
                case .ping(let ping): try? await connection.send(Message.pong(ping).frame)
                default: continue
                }
            }
        }
        return fake
    }

    /// The next sync batch, or nil if none comes in time.
    func nextBatch(within timeout: Duration = .seconds(30)) async throws -> SyncBatch? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let batch = batches.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return batch }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func close() async {
        connection.close(reason: "test done")
        await loop.shutdown()
    }
}

@Suite("Sync: what crosses the wire")
struct SyncWireTests {
    /// Fields outside the partner's scope never leave the firm: the test reads the batches the
    /// firm sends, not what the partner stores.
    @Test func onlyProjectedFieldsAreSent() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        try world.put("C-2", subject: "CUST-78", ["name": .string("Wang"), "city": .string("Beijing")])
        let firmNode = try await world.start("firm")
        defer { Task { await firmNode.stop() } }
        let peer = try await FakePeer.connect(to: world, as: world.partner)
        let batch = try #require(try await peer.nextBatch())
        #expect(try batch.entries().map(\.0) == ["C-1"])
        let fields = try #require(try batch.entries().first?.1.fields)
        #expect(Set(fields.keys) == ["", "name", "address", "phone"])
        #expect(fields["phone"]?.value == .string("*******1234"))
        let bytes = Message.syncBatch(batch).frame.payload
        for secret in ["13800001234", "CUST-77", "12.50", "Shanghai", "Wang"] {
            #expect(!bytes.contains(subsequence: Array(secret.utf8)), "\(secret) crossed the wire")
        }
        await peer.close()
    }

    /// Changes outside the partner's write scope, outside the filter, or under an agreement not
    /// active here are refused, counted and logged; valid changes on the same link still merge.
    @Test func refusedChangesAreCountedAndTheLinkKeepsServing() async throws {
        let world = try SyncWorld()
        try world.put("C-1", subject: "CUST-77", SyncWorld.customer)
        try world.put("C-2", subject: "CUST-78", ["name": .string("Wang"), "city": .string("Beijing")])
        let log = LogRecorder()
        let firmNode = try await world.start("firm", log: log)
        defer { Task { await firmNode.stop() } }
        let peer = try await FakePeer.connect(to: world, as: world.partner)
        let first = try #require(try await peer.nextBatch())
        let partnerID = try world.partner.loadIdentity().id
        let stamp = Stamp(clock: HLC(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000) + 1000, counter: 0), node: partnerID)
        let deletes = try first.changes[0].entry().deletes
        func change(_ field: String, _ value: String) -> RecordSet.Entry {
            var entry = RecordSet.Entry(deletes: deletes)
            entry.fields[field] = RecordSet.Write(value: .string(value), stamp: stamp)
            return entry
        }
        let batch = SyncBatch(agreementID: "deliveries-2026", contentHash: first.contentHash, through: 1, entries: [
            ("C-1", change("phone", "000")), ("C-2", change("delivery_status", "x")),
            ("C-1", change("delivery_status", String(repeating: "x", count: 1_100_000))), ("C-1", change("delivery_status", "delivered")),
        ])
        try await peer.connection.send(Message.syncBatch(batch).frame)
        var wrong = batch
        wrong.contentHash = SHA256.hash([1])
        try await peer.connection.send(Message.syncBatch(wrong).frame)
        #expect(await eventually { log.contains("refused a change under deliveries-2026 from partner: C-1: 'phone' is outside partner's write scope") })
        #expect(log.contains("C-2: no such record is shared under deliveries-2026") || log.contains("C-2: the record is outside deliveries-2026's filter"))
        #expect(log.contains("C-1: the record would hold over 1 MiB"))
        let firm = try RecordBook(directory: world.firm)
        #expect(try await eventually { try firm.record(collection: "customers", id: "C-1")?.fields["delivery_status"] == .string("delivered") })
        #expect(try firm.record(collection: "customers", id: "C-1")?.fields["phone"] == .string("13800001234"))
        #expect(try await eventually { try AgreementBook(directory: world.firm).syncStatus().first { $0.peerName == "partner" }?.refused == 7 })
        let audit = try firm.auditEntries(since: nil).filter { $0.action == "sync refused" }
        #expect(audit.count == 4, "three changes, then the whole wrong-hash batch: \(audit.map(\.detail))")
        await peer.close()
    }

    /// A group commit: the batches given after the first are received in the same transaction,
    /// each acknowledged in turn.
    @Test func batchesOfAGroupAreStoredInOneTransaction() throws {
        let world = try SyncWorld()
        for index in 0..<30 { try world.put("C-\(index)", subject: "S-\(index)", ["name": .string("n\(index)"), "city": .string("Shanghai")]) }
        let firm = try AgreementBook(directory: world.firm)
        let (firmID, partnerID) = (try world.firm.loadIdentity().id, try world.partner.loadIdentity().id)
        let route = try #require(try firm.routes(to: partnerID).first { $0.agreement.id == "deliveries-2026" })
        var batches: [SyncBatch] = []
        while let batch = try firm.nextBatch(route, after: batches.last?.through ?? 0, limit: 10) { batches.append(batch) }
        #expect(batches.map(\.changes.count) == [10, 10, 10])

        let partner = try AgreementBook(directory: world.partner)
        let begun = partner.store.database.transactionsBegun
        var rest = batches.dropFirst()
        let received = try partner.receive(batches[0], from: firmID) { rest.popFirst() }
        #expect(partner.store.database.transactionsBegun == begun + 1)
        #expect(received.map(\.ack.through) == batches.map(\.through))
        #expect(received.allSatisfy { $0.ack.refused == 0 && $0.refusals.isEmpty })
        #expect(try partner.sharedRecords("deliveries-2026").count == 30)
    }

    /// After the partner's link drops (and after the firm restarts), sync resumes from what the
    /// partner acknowledged: only the changes made since are sent.
    @Test func resumesFromTheAcknowledgedCursor() async throws {
        let world = try SyncWorld()
        for index in 0..<30 { try world.put("C-\(index)", subject: "S-\(index)", ["name": .string("n\(index)"), "city": .string("Shanghai")]) }
        var firmNode = try await world.start("firm")
        var peer = try await FakePeer.connect(to: world, as: world.partner)
        var received = 0
        while received < 30, let batch = try await peer.nextBatch() {
            received += batch.changes.count
            try await peer.connection.send(Message.syncAck(SyncAck(agreementID: batch.agreementID, through: batch.through)).frame)
        }
        #expect(received == 30)
        let book = try AgreementBook(directory: world.firm)
        #expect(try await eventually { try book.syncStatus().first { $0.peerName == "partner" }?.behind == 0 })
        await peer.close()

        for index in 30..<40 { try world.put("C-\(index)", subject: "S-\(index)", ["name": .string("n\(index)"), "city": .string("Shanghai")]) }
        await firmNode.stop()
        firmNode = try await world.start("firm")
        let restarted = firmNode
        defer { Task { await restarted.stop() } }
        peer = try await FakePeer.connect(to: world, as: world.partner)
        var resent: [String] = []
        // The first batches may take a while on a loaded machine; once the ten new changes are
        // in, a quiet second shows that nothing already acknowledged follows them.
        while let batch = try await peer.nextBatch(within: .seconds(resent.count < 10 ? 30 : 1)) {
            resent += try batch.entries().map(\.0)
            try await peer.connection.send(Message.syncAck(SyncAck(agreementID: batch.agreementID, through: batch.through)).frame)
        }
        #expect(resent.sorted() == (30..<40).map { "C-\($0)" }.sorted(), "only what was not acknowledged")
        await peer.close()
    }

    /// While another process holds the store's write lock (an import between its commits), the
    /// firm keeps sending as acknowledgements come, instead of waiting at each for the lock; it
    /// writes their cursor once the lock is free.
    @Test func acknowledgementsDoNotWaitForAnotherWriter() async throws {
        let world = try SyncWorld()
        for index in 0..<30 { try world.put("C-\(index)", subject: "S-\(index)", ["name": .string("n\(index)"), "city": .string("Shanghai")]) }
        let log = LogRecorder()
        let firmNode = try await world.start("firm", log: log, window: 1, batchLimit: 10)
        defer { Task { await firmNode.stop() } }
        let peer = try await FakePeer.connect(to: world, as: world.partner)
        var batch = try #require(try await peer.nextBatch())
        let importer = try world.firm.openStore()
        try importer.database.execute("BEGIN IMMEDIATE")
        let began = ContinuousClock.now
        var received = batch.changes.count
        try await peer.connection.send(Message.syncAck(SyncAck(agreementID: batch.agreementID, through: batch.through)).frame)
        while received < 30, let next = try await peer.nextBatch() {
            batch = next
            received += batch.changes.count
            try await peer.connection.send(Message.syncAck(SyncAck(agreementID: batch.agreementID, through: batch.through)).frame)
        }
        #expect(received == 30, "one batch at a time, each sent on the last one's acknowledgement")
        #expect(ContinuousClock.now - began < .seconds(5), "no acknowledgement waited for the lock (SQLite's busy timeout)")
        let partnerID = try world.partner.loadIdentity().id
        #expect(try importer.sync.cursor(agreement: "deliveries-2026", peer: partnerID) == nil, "not written while the lock is held")

        try importer.database.execute("COMMIT")
        let last = try importer.lastSequence(of: "customers")
        #expect(try await eventually { try importer.sync.cursor(agreement: "deliveries-2026", peer: partnerID)?.sequence == last }, "\(log.all.joined(separator: "\n"))")
        #expect(!log.all.contains { $0.contains("cannot record") }, "\(log.all.joined(separator: "\n"))")
        await peer.close()
    }

    /// A write that fails for another reason than a busy lock: the acknowledgement is kept, to
    /// be written with the next change; the link change (only `accord status` shows it) is not,
    /// so that such changes cannot pile up in memory.
    @Test func syncStateThatCannotBeWrittenKeepsTheAcknowledgementOnly() throws {
        let world = try SyncWorld()
        let book = try AgreementBook(directory: world.firm)
        let partnerID = try world.partner.loadIdentity().id
        try book.store.database.execute("PRAGMA query_only = 1")
        #expect(throws: StoreError.self) { try book.acknowledge(SyncAck(agreementID: "deliveries-2026", through: 7), from: partnerID) }
        #expect(throws: StoreError.self) { try book.noteLink { try $0.setLink(partnerID, connected: true, at: "2026-11-26T00:00:00.000Z", error: nil) } }
        #expect(book.unwrittenLinkNotes.isEmpty)
        #expect(try book.cursor(AgreementBook.Route(agreementID: "deliveries-2026", peer: partnerID)) == 7, "still the acknowledged position")

        try book.store.database.execute("PRAGMA query_only = 0")
        #expect(try book.writeSyncState(waiting: false) == false)
        #expect(try book.store.sync.cursor(agreement: "deliveries-2026", peer: partnerID)?.sequence == 7)
    }

    /// A partner that stops acknowledging gets at most the window of batches: the firm's memory
    /// for it stays bounded however far behind it falls.
    @Test func aSlowPeerGetsABoundedWindow() async throws {
        let world = try SyncWorld()
        let rows = (0..<6000).map { "C-\($0),S-\($0),name \($0),Shanghai\n" }.joined()
        let file = world.world.sandbox.root.appendingPathComponent("bulk.csv")
        try Data(("id,subject,name,city\n" + rows).utf8).write(to: file)
        let firmDirectory = world.firm
        _ = try await offPool { try RecordBook(directory: firmDirectory).importRecords(collection: "customers", from: file, format: .csv) }
        let firmNode = try await world.start("firm", window: 4)
        defer { Task { await firmNode.stop() } }
        let peer = try await FakePeer.connect(to: world, as: world.partner)
        var batches: [SyncBatch] = []
        while batches.count < 4, let batch = try await peer.nextBatch(within: .seconds(30)) { batches.append(batch) }
        #expect(batches.count == 4)
        #expect(try await peer.nextBatch(within: .seconds(1)) == nil, "the window: 4 batches of 1,000 unacknowledged, not all 6")
        try await peer.connection.send(Message.syncAck(SyncAck(agreementID: "deliveries-2026", through: batches[0].through)).frame)
        let next = try #require(try await peer.nextBatch())
        #expect(next.through > batches[3].through, "one acknowledgement frees one slot")
        #expect(try await peer.nextBatch(within: .milliseconds(500)) == nil)
        await peer.close()
    }
}

@Suite("Pseudonyms")
struct PseudonymTests {
    /// A pseudonym is "P-" and the first 80 bits of the value's HMAC-SHA-256 in hex: the same
    /// customer keeps the same pseudonym under an agreement from version to version (here RFC
    /// 4231's test case 2, whose code begins 5bdcc146bf60754e6a04).
    @Test func aPseudonymIsTheFirst80BitsOfTheHMACInHex() throws {
        let pseudonym = AgreementBook.pseudonyms(under: try MACKey(Array("Jefe".utf8)))
        #expect(pseudonym("what do ya want for nothing?") == "P-5bdcc146bf60754e6a04")
        #expect(pseudonym("what do ya want for nothing?") == "P-5bdcc146bf60754e6a04", "the key's context is reused")
        #expect(pseudonym("") != pseudonym(" "))
    }
}
