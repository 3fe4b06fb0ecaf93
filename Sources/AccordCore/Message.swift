/// The protocol version this build speaks; `hello` carries it.
public let accordProtocolVersion: UInt16 = 2

/// What a node says on a link. Each message is one frame; its kind byte says which.
public enum Message: Sendable, Equatable {
    /// The first message each side sends after the TLS handshake.
    case hello(Hello)
    case ping(Ping)
    case pong(Ping)
    /// Sent before closing on purpose, with the reason (shown in the peer's log).
    case goodbye(reason: String)
    /// A proposed agreement version: the proposer's signed statement and the canonical text.
    case agreementProposal(AgreementStatement, document: String)
    /// An acceptance, rejection or termination.
    case agreementStatement(AgreementStatement)
    /// Whether a proposal or statement was stored (acknowledged) or refused, and why.
    case agreementReply(AgreementReply)
    /// Records under an agreement, from the sender's op log up to a sequence number.
    case syncBatch(SyncBatch)
    /// The receiver stored a batch durably (and refused some of its changes, if any).
    case syncAck(SyncAck)
    /// An order to destroy shared data; answered with an `agreementReply` (stored or refused).
    case revocation(Revocation)
    /// Proof that a revocation was carried out; answered with an `agreementReply`.
    case deletionReceipt(DeletionReceipt)
    /// Every revocation the sender holds for agreements shared with the receiver has been sent:
    /// sync may start on this link.
    case revocationsSent(count: UInt32)

    public enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 0x01
        case ping = 0x02
        case pong = 0x03
        case goodbye = 0x04
        case agreementProposal = 0x10
        case agreementStatement = 0x11
        case agreementReply = 0x12
        case syncBatch = 0x20
        case syncAck = 0x21
        case revocation = 0x30
        case deletionReceipt = 0x31
        case revocationsSent = 0x32
    }

    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .pong: .pong
        case .goodbye: .goodbye
        case .agreementProposal: .agreementProposal
        case .agreementStatement: .agreementStatement
        case .agreementReply: .agreementReply
        case .syncBatch: .syncBatch
        case .syncAck: .syncAck
        case .revocation: .revocation
        case .deletionReceipt: .deletionReceipt
        case .revocationsSent: .revocationsSent
        }
    }

    /// About how many bytes the frame takes: a sync batch, about a mebibyte, gets its room at
    /// once rather than by doubling.
    private var sizeHint: Int {
        guard case .syncBatch(let batch) = self else { return 64 }
        // By index, each change read where it lies (iterating copies each, retaining its bytes).
        return batch.changes.indices.reduce(128) { $0 + 4 + batch.changes[$1].id.utf8.count + batch.changes[$1].encoded.count }
    }

    public var frame: Frame {
        var writer = WireWriter(capacity: sizeHint)
        switch self {
        case .hello(let hello):
            writer.u16(hello.protocolVersion)
            writer.raw(hello.nodeID.bytes)
            writer.string(hello.name)
            writer.u8(hello.purpose.rawValue)
        case .ping(let ping), .pong(let ping):
            writer.u64(ping.sequence)
            writer.u64(ping.sentAtNanoseconds)
        case .goodbye(let reason):
            writer.string(reason)
        case .agreementProposal(let statement, let document):
            statement.encode(to: &writer)
            writer.string(document)
        case .agreementStatement(let statement):
            statement.encode(to: &writer)
        case .agreementReply(let reply):
            writer.data(reply.signature)
            writer.u8(reply.refusal == nil ? 0 : 1)
            writer.string(reply.refusal ?? "")
        case .syncBatch(let batch):
            writer.string(batch.agreementID)
            writer.data(batch.contentHash)
            writer.u64(UInt64(bitPattern: batch.through))
            writer.u32(UInt32(batch.changes.count))
            for index in batch.changes.indices {
                writer.string(batch.changes[index].id)
                writer.raw(batch.changes[index].encoded)
            }
        case .syncAck(let ack):
            writer.string(ack.agreementID)
            writer.u64(UInt64(bitPattern: ack.through))
            writer.u32(ack.refused)
            writer.string(ack.reason)
        case .revocation(let revocation):
            revocation.encode(to: &writer)
        case .deletionReceipt(let receipt):
            receipt.encode(to: &writer)
        case .revocationsSent(let count):
            writer.u32(count)
        }
        return Frame(kind: kind.rawValue, payload: writer.bytes)
    }

    public init(_ frame: Frame) throws(MessageError) {
        guard let kind = Kind(rawValue: frame.kind) else { throw .unknownKind(frame.kind) }
        var reader = WireReader(frame.payload, reading: "\(kind)")
        switch kind {
        case .hello:
            let version = try reader.u16()
            let id = NodeID(digest: try reader.raw(32))
            let name = try reader.string()
            let purposeByte = try reader.u8()
            guard let purpose = Hello.Purpose(rawValue: purposeByte) else {
                throw .malformed("hello", "unknown purpose \(purposeByte)")
            }
            self = .hello(Hello(protocolVersion: version, nodeID: id, name: name, purpose: purpose))
        case .ping, .pong:
            let ping = Ping(sequence: try reader.u64(), sentAtNanoseconds: try reader.u64())
            self = kind == .ping ? .ping(ping) : .pong(ping)
        case .goodbye:
            self = .goodbye(reason: try reader.string())
        case .agreementProposal:
            let statement = try AgreementStatement(from: &reader)
            self = .agreementProposal(statement, document: try reader.string())
        case .agreementStatement:
            self = .agreementStatement(try AgreementStatement(from: &reader))
        case .agreementReply:
            let signature = try reader.data()
            let refused = try reader.u8()
            let reason = try reader.string()
            guard refused <= 1, refused == 1 || reason.isEmpty else { throw .malformed("agreement reply", "inconsistent refusal") }
            self = .agreementReply(AgreementReply(signature: signature, refusal: refused == 1 ? reason : nil))
        case .syncBatch:
            let agreementID = try reader.string()
            let contentHash = try reader.data()
            let through = Int64(bitPattern: try reader.u64())
            let count = try reader.u32()
            guard Int(count) <= reader.remaining / 5 else { throw .malformed("sync batch", "entry count \(count) is impossible") }
            var changes: [SyncBatch.Change] = []
            changes.reserveCapacity(Int(count))
            var names: [String] = []
            for _ in 0..<count {
                let id = try reader.string()
                let start = reader.position
                let outline = try RecordSet.Entry.outline(reading: &reader, namesLike: names)
                names = outline.names
                changes.append(SyncBatch.Change(id: id, encoded: reader.bytes(since: start), outline: outline))
            }
            self = .syncBatch(SyncBatch(agreementID: agreementID, contentHash: contentHash, through: through, changes: changes))
        case .syncAck:
            let agreementID = try reader.string()
            let through = Int64(bitPattern: try reader.u64())
            self = .syncAck(SyncAck(agreementID: agreementID, through: through, refused: try reader.u32(), reason: try reader.string()))
        case .revocation:
            self = .revocation(try Revocation(from: &reader))
        case .deletionReceipt:
            self = .deletionReceipt(try DeletionReceipt(from: &reader))
        case .revocationsSent:
            self = .revocationsSent(count: try reader.u32())
        }
        try reader.finish()
    }
}

public struct Hello: Sendable, Equatable {
    /// Why the connection was opened: a long-lived link between nodes, or a one-off probe (`accord ping`).
    public enum Purpose: UInt8, Sendable { case link = 0, probe = 1 }

    public var protocolVersion: UInt16
    public var nodeID: NodeID
    public var name: String
    public var purpose: Purpose

    public init(protocolVersion: UInt16 = accordProtocolVersion, nodeID: NodeID, name: String, purpose: Purpose) {
        (self.protocolVersion, self.nodeID, self.name, self.purpose) = (protocolVersion, nodeID, name, purpose)
    }
}

public struct Ping: Sendable, Equatable {
    public var sequence: UInt64
    /// The sender's monotonic clock; the pong echoes it so the sender can compute the round trip.
    public var sentAtNanoseconds: UInt64

    public init(sequence: UInt64, sentAtNanoseconds: UInt64) {
        (self.sequence, self.sentAtNanoseconds) = (sequence, sentAtNanoseconds)
    }
}

/// Records under an agreement, as the sender projected them for the receiver.
public struct SyncBatch: Sendable, Equatable {
    public var agreementID: String
    /// The agreement version's content hash: both ends must hold it active.
    public var contentHash: [UInt8]
    /// The sender's op-log sequence number this batch brings the receiver up to.
    public var through: Int64
    public var changes: [Change]

    /// One record's state, in the binary form of `RecordSet.Entry`: sent as it lies, so an owner
    /// projects its records without building them (`Agreement.projection(ofEncoded:for:pseudonym:)`)
    /// and a recipient seals what it received as it came. A batch received was checked whole
    /// and each state outlined (`RecordSet.Entry.Outline`); a state is decoded only to be merged:
    /// a group of batches waiting to be stored holds their bytes, not tens of thousands of
    /// records built.
    public struct Change: Sendable {
        public let id: String
        public let encoded: ArraySlice<UInt8>
        /// Read as the batch was received; none in a change made to be sent.
        private let received: RecordSet.Entry.Outline?

        public init(id: String, encoded: ArraySlice<UInt8>) { (self.id, self.encoded, self.received) = (id, encoded, nil) }

        init(id: String, encoded: ArraySlice<UInt8>, outline: RecordSet.Entry.Outline) { (self.id, self.encoded, self.received) = (id, encoded, outline) }

        public init(id: String, entry: RecordSet.Entry) {
            var writer = WireWriter()
            entry.encode(to: &writer)
            self.init(id: id, encoded: writer.bytes[...])
        }

        /// What a recipient checks of the state before storing it as it came.
        public func outline() throws(MessageError) -> RecordSet.Entry.Outline {
            if let received { return received }
            return RecordSet.Entry.Outline(try entry())
        }

        /// The state, decoded.
        public func entry() throws(MessageError) -> RecordSet.Entry {
            var reader = WireReader(Array(encoded), reading: "record entry")
            let entry = try RecordSet.Entry(from: &reader)
            try reader.finish()
            return entry
        }
    }

    public init(agreementID: String, contentHash: [UInt8], through: Int64, changes: [Change]) {
        (self.agreementID, self.contentHash, self.through, self.changes) = (agreementID, contentHash, through, changes)
    }

    public init(agreementID: String, contentHash: [UInt8], through: Int64, entries: [(String, RecordSet.Entry)]) {
        self.init(agreementID: agreementID, contentHash: contentHash, through: through, changes: entries.map { Change(id: $0.0, entry: $0.1) })
    }

    /// The changes decoded.
    public func entries() throws(MessageError) -> [(String, RecordSet.Entry)] {
        var entries: [(String, RecordSet.Entry)] = []
        for change in changes { entries.append((change.id, try change.entry())) }
        return entries
    }

    public static func == (a: SyncBatch, b: SyncBatch) -> Bool {
        a.agreementID == b.agreementID && a.contentHash == b.contentHash && a.through == b.through
            && a.changes.map(\.id) == b.changes.map(\.id) && a.changes.map { Array($0.encoded) } == b.changes.map { Array($0.encoded) }
    }
}

/// A batch durably stored: the sender may move its cursor to `through`.
public struct SyncAck: Sendable, Equatable {
    public var agreementID: String
    public var through: Int64
    /// Changes in the batch the receiver refused (each logged and audited there).
    public var refused: UInt32
    /// The first refusal's reason, or the whole batch's.
    public var reason: String

    public init(agreementID: String, through: Int64, refused: UInt32 = 0, reason: String = "") {
        (self.agreementID, self.through, self.refused, self.reason) = (agreementID, through, refused, reason)
    }
}
