import AccordCore
import AccordCrypto
import AccordStore
import Foundation
import Testing

@testable import AccordNode

/// Two or three real nodes on 127.0.0.1 with agreements between them.
struct AgreementWorld {
    let sandbox: Sandbox
    let firm: NodeDirectory
    let partner: NodeDirectory
    let vendor: NodeDirectory

    static let schema = """
        name: text, personal
        address: text, personal
        phone: text, personal
        city: text, internal
        delivery_status: text, internal
        """

    /// The worked example, in force from a day already past (so it is active once signed).
    static func deliveries(phone: String = "masked", recipients: String = "partner") -> String {
        """
        Agreement: deliveries-2026
        Title: Customer deliveries in Shanghai
        Owner: firm
        Recipients: \(recipients)
        Collection: customers
        Only records where: city = Shanghai
        partner may read:
            name: clear
            address: clear
            phone: \(phone)
            delivery_status: clear
        partner may write:
            delivery_status
        Purpose: delivering orders to customers
        Legal basis: performance of the delivery contract with the customer
        Allowed jurisdictions: CN
        Effective: 2026-01-01
        Expires: 2099-12-31
        On termination: delete within 30 days, receipt required
        Onward sharing: not allowed

        """
    }

    /// Three nodes (nothing pinned yet); the firm has the collection's schema and the document.
    init() throws {
        sandbox = try Sandbox()
        firm = try sandbox.makeNode("firm")
        partner = try sandbox.makeNode("partner")
        vendor = try sandbox.makeNode("vendor")
        try FileManager.default.createDirectory(at: firm.schemasURL, withIntermediateDirectories: true)
        try Data(Self.schema.utf8).write(to: firm.schemasURL.appendingPathComponent("customers.schema"))
        try Data(Self.deliveries().utf8).write(to: firm.agreementsURL.appendingPathComponent("deliveries-2026.agreement"))
    }

    /// Pins `peer` in `node` under its own name, jurisdiction CN, at `port`.
    func pin(_ peer: NodeDirectory, in node: NodeDirectory, port: UInt16) throws {
        try AccordNodeTests.pin(peer, in: node, name: try peer.loadSettings().name, port: port, jurisdiction: "CN")
    }

    /// Starts a node at a fixed free port so peers can be pinned before it runs.
    static func start(_ directory: NodeDirectory, port: UInt16) async throws -> Node {
        var options = fastOptions()
        options.listenOverride = Endpoint(host: "127.0.0.1", port: port)
        let node = try Node(directory: directory, log: NodeLog(name: try directory.loadSettings().name) { _ in }, options: options)
        try await node.start()
        return node
    }
}

@Suite("Agreements between running nodes")
struct AgreementLifecycleTests {
    @Test func proposeAcceptAmendTerminate() async throws {
        let world = try AgreementWorld()
        let (firmPort, partnerPort) = (try freePort(), try freePort())
        try world.pin(world.partner, in: world.firm, port: partnerPort)
        try world.pin(world.firm, in: world.partner, port: firmPort)
        let firmNode = try await AgreementWorld.start(world.firm, port: firmPort)
        let partnerNode = try await AgreementWorld.start(world.partner, port: partnerPort)
        defer { Task { await firmNode.stop(); await partnerNode.stop() } }
        #expect(await eventually { await firmNode.linkedPeers == ["partner"] })

        let firm = try AgreementBook(directory: world.firm)
        let partner = try AgreementBook(directory: world.partner)
        let proposal = try firm.propose(id: "deliveries-2026", to: ["partner"])
        AgreementBook.wakeNode(world.firm)
        #expect(try await eventually { try firm.delivery(of: proposal).isEmpty }, "the proposal is delivered and acknowledged")
        #expect(try partner.list().map(\.state) == ["pending"])

        _ = try partner.accept(id: "deliveries-2026")
        AgreementBook.wakeNode(world.partner)
        #expect(try await eventually { try firm.list().first?.state == "active" })
        #expect(try partner.list().first?.state == "active")

        // An amendment is not in force until every party signed it.
        let amended = world.sandbox.root.appendingPathComponent("amended.agreement")
        try Data(AgreementWorld.deliveries(phone: "pseudonym").utf8).write(to: amended)
        _ = try firm.amend(id: "deliveries-2026", file: amended)
        AgreementBook.wakeNode(world.firm)
        #expect(try await eventually { try partner.list().first?.state == "active; amendment v2 pending" })
        #expect(try firm.list().first?.state == "active; amendment v2 proposed")
        #expect(try partner.changes(id: "deliveries-2026") == ["Changes from version 1 (in force) to version 2:", "-     phone: masked", "+     phone: pseudonym"])
        #expect(try firm.stored(id: "deliveries-2026")?.1.grants["partner"]?.reads["phone"] == .pseudonym)
        #expect(try firm.agreements.versions(of: "deliveries-2026").map(\.state) == [.signed, .proposed])

        _ = try partner.accept(id: "deliveries-2026")
        AgreementBook.wakeNode(world.partner)
        #expect(try await eventually { try firm.agreements.versions(of: "deliveries-2026").map(\.state) == [.superseded, .signed] })

        // A rejected amendment leaves the version in force as it was.
        try Data(AgreementWorld.deliveries(phone: "clear").utf8).write(to: amended)
        _ = try firm.amend(id: "deliveries-2026", file: amended)
        AgreementBook.wakeNode(world.firm)
        #expect(try await eventually { try partner.list().first?.state == "active; amendment v3 pending" })
        _ = try partner.reject(id: "deliveries-2026", reason: "phone must stay hidden")
        AgreementBook.wakeNode(world.partner)
        #expect(try await eventually { try firm.agreements.versions(of: "deliveries-2026").map(\.state) == [.superseded, .signed, .rejected] })
        #expect(try firm.agreements.versions(of: "deliveries-2026").last?.reason == "phone must stay hidden")
        #expect(try firm.list().first?.state == "active")
        #expect(try firm.active().map { $0.0.version } == [2])
        #expect(throws: NodeError.self) { try partner.accept(id: "deliveries-2026") }

        _ = try firm.terminate(id: "deliveries-2026", reason: "contract ended")
        AgreementBook.wakeNode(world.firm)
        #expect(try await eventually { try partner.list().first?.state == "terminated (contract ended)" })
        let audit = try partner.store.audit.entries(since: nil).map { "\($0.action): \($0.detail)" }
        #expect(audit.contains("agreement terminated: deliveries-2026 v2 by firm: contract ended"))
        #expect(try partner.store.audit.verify() == .intact(entries: audit.count))
    }

    /// Proposed while neither node serves: queued; the firm's node, once up, sends it when the
    /// partner's link comes up.
    @Test func proposalWaitsForTheLink() async throws {
        let world = try AgreementWorld()
        let (firmPort, partnerPort) = (try freePort(), try freePort())
        try world.pin(world.partner, in: world.firm, port: partnerPort)
        try world.pin(world.firm, in: world.partner, port: firmPort)
        let firm = try AgreementBook(directory: world.firm)
        let proposal = try firm.propose(id: "deliveries-2026")
        AgreementBook.wakeNode(world.firm)  // no node: nothing happens
        let firmNode = try await AgreementWorld.start(world.firm, port: firmPort)
        defer { Task { await firmNode.stop() } }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try firm.delivery(of: proposal).values.map { $0 == nil } == [true], "waiting, not refused")
        let partnerNode = try await AgreementWorld.start(world.partner, port: partnerPort)
        defer { Task { await partnerNode.stop() } }
        #expect(try await eventually { try firm.delivery(of: proposal).isEmpty })
        #expect(try AgreementBook(directory: world.partner).list().map(\.state) == ["pending"])
    }

    /// A node that has not pinned the proposer never hears of it: the TLS handshake fails.
    @Test func proposalFromAnUnpinnedNodeNeverArrives() async throws {
        let world = try AgreementWorld()
        let (firmPort, partnerPort) = (try freePort(), try freePort())
        try world.pin(world.partner, in: world.firm, port: partnerPort)
        let firmNode = try await AgreementWorld.start(world.firm, port: firmPort)
        let partnerNode = try await AgreementWorld.start(world.partner, port: partnerPort)
        defer { Task { await firmNode.stop(); await partnerNode.stop() } }
        let firm = try AgreementBook(directory: world.firm)
        let proposal = try firm.propose(id: "deliveries-2026")
        AgreementBook.wakeNode(world.firm)
        try await Task.sleep(for: .seconds(1))
        #expect(try firm.delivery(of: proposal).count == 1)
        #expect(try AgreementBook(directory: world.partner).list().isEmpty)
    }
}

@Suite("Agreement messages that must be refused")
struct AgreementRefusalTests {
    let world: AgreementWorld
    let firm: AgreementBook
    let partner: AgreementBook
    let firmID: NodeID
    let proposal: (statement: AgreementStatement, document: String)

    init() throws {
        world = try AgreementWorld()
        try world.pin(world.partner, in: world.firm, port: 1)
        try world.pin(world.firm, in: world.partner, port: 1)
        try world.pin(world.vendor, in: world.partner, port: 1)
        firm = try AgreementBook(directory: world.firm)
        partner = try AgreementBook(directory: world.partner)
        firmID = try world.firm.loadIdentity().id
        _ = try firm.propose(id: "deliveries-2026")
        let frame = try #require(try firm.outbox(for: try world.partner.loadIdentity().id).first?.frame)
        guard case .agreementProposal(let statement, let document) = try Message(frame) else { throw NodeError("not a proposal") }
        proposal = (statement, document)
    }

    /// A statement signed by `signer` about the proposal's version (or another hash).
    func statement(_ kind: AgreementStatement.Kind, by signer: NodeDirectory, contentHash: [UInt8]? = nil) throws -> AgreementStatement {
        let identity = try signer.loadIdentity()
        var statement = AgreementStatement(
            kind: kind, agreementID: "deliveries-2026", version: 1, contentHash: contentHash ?? proposal.statement.contentHash,
            signer: identity.id, signerKey: identity.key.publicKey.rawRepresentation, at: "2026-11-25T00:00:00.000Z"
        )
        statement.signature = try identity.key.signature(for: statement.signedBytes)
        return statement
    }

    @Test func theProposalAsSentIsStored() throws {
        #expect(try partner.receiveProposal(proposal.statement, document: proposal.document, from: firmID) == nil)
        #expect(try partner.receiveProposal(proposal.statement, document: proposal.document, from: firmID) == nil, "a resend is acknowledged again")
        #expect(try partner.list().map(\.state) == ["pending"])
    }

    @Test func aDocumentEditedAfterSigningIsRefused() throws {
        let edited = proposal.document.replacingOccurrences(of: "phone: masked", with: "phone: clear")
        #expect(try partner.receiveProposal(proposal.statement, document: edited, from: firmID)?.contains("changed after signing") == true)
        #expect(try partner.list().isEmpty)
    }

    @Test func aBadSignatureIsRefused() throws {
        var forged = proposal.statement
        forged.signature[5] ^= 1
        #expect(try partner.receiveProposal(forged, document: proposal.document, from: firmID) == "the signature does not verify")
    }

    @Test func aStatementRelayedByAnotherNodeIsRefused() throws {
        let vendorID = try world.vendor.loadIdentity().id
        #expect(try partner.receiveProposal(proposal.statement, document: proposal.document, from: vendorID)?.contains("not by the node that sent it") == true)
    }

    @Test func aSignatureByANonPartyIsRefused() throws {
        #expect(try partner.receiveProposal(proposal.statement, document: proposal.document, from: firmID) == nil)
        let vendorAccepts = try statement(.accept, by: world.vendor)
        let refusal = try partner.receiveStatement(vendorAccepts, from: try world.vendor.loadIdentity().id)
        #expect(refusal == "the signer is not a party of deliveries-2026")
        let vendorTerminates = try statement(.terminate, by: world.vendor)
        #expect(try partner.receiveStatement(vendorTerminates, from: try world.vendor.loadIdentity().id) == "the signer is not a party of deliveries-2026")
    }

    @Test func anAcceptanceOfAnotherVersionIsRefused() throws {
        // The partner accepts at home; the firm checks the acceptance against what it proposed.
        let otherHash = SHA256.hash(Array("something else".utf8))
        let acceptance = try statement(.accept, by: world.partner, contentHash: otherHash)
        let refusal = try firm.receiveStatement(acceptance, from: try world.partner.loadIdentity().id)
        #expect(refusal?.hasPrefix("accepted a version of deliveries-2026 that was not proposed here") == true)
        #expect(try firm.list().map(\.state) == ["proposed"])
        // The acceptance of the version proposed is taken.
        #expect(try firm.receiveStatement(try statement(.accept, by: world.partner), from: try world.partner.loadIdentity().id) == nil)
        #expect(try firm.list().map(\.state) == ["active"])
    }

    @Test func aTerminationOfAVersionNotInForceIsRefused() throws {
        #expect(try partner.receiveProposal(proposal.statement, document: proposal.document, from: firmID) == nil)
        let termination = try statement(.terminate, by: world.firm)
        #expect(try partner.receiveStatement(termination, from: firmID)?.contains("is not in force here") == true)
    }
}
