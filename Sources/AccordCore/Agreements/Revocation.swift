/// A party's signed order to destroy data shared under an agreement: all of it (the agreement
/// ended: terminated, expired, or the peer revoked after a suspected leak), one data subject's
/// records (erasure), or what an amendment took out of a recipient's scope (narrowing).
///
/// It is bound to one version of one agreement by id, version and content hash, so it cannot be
/// replayed against another. Every node that learns it keeps it for good and passes it on to the
/// agreement's other parties; each target destroys the data and answers with a ``DeletionReceipt``.
public struct Revocation: SignedWireValue, Sendable, Equatable {
    public static let wireName = "revocation"
    public static let signingDomain = "accord revocation 1"

    public enum Kind: UInt8, Sendable, CaseIterable {
        /// The agreement ended: every target destroys all it holds under it, and its data key.
        case terminate = 1
        /// The agreement reached its expiry date (same effect as `terminate`).
        case expire = 2
        /// A data subject's records (by id) are destroyed.
        case erase = 3
        /// An amendment narrowed the targets' scope: fields that left it, and records outside the new filter.
        case narrow = 4

        public var noun: String {
            switch self {
            case .terminate: "termination"
            case .expire: "expiry"
            case .erase: "erasure"
            case .narrow: "scope narrowing"
            }
        }

        /// Whether it ends the agreement (and destroys the agreement's data key).
        public var endsAgreement: Bool { self == .terminate || self == .expire }
    }

    /// 16 random bytes; duplicates of a revocation are recognized by it.
    public var id: [UInt8]
    public var kind: Kind
    public var agreementID: String
    public var version: UInt32
    public var contentHash: [UInt8]
    /// The parties that must destroy data and answer with a receipt.
    public var targets: [NodeID]
    /// Erasure: the subject's record ids. Narrowing: the records no longer inside the filter.
    public var recordIDs: [String]
    /// Narrowing: the fields no longer in the targets' scope.
    public var fields: [String]
    public var signer: NodeID
    public var signerKey: [UInt8]
    public var at: String
    public var reason: String
    public var signature: [UInt8] = []

    public init(
        id: [UInt8], kind: Kind, agreementID: String, version: UInt32, contentHash: [UInt8], targets: [NodeID],
        recordIDs: [String] = [], fields: [String] = [], signer: NodeID, signerKey: [UInt8], at: String, reason: String
    ) {
        (self.id, self.kind, self.agreementID, self.version, self.contentHash) = (id, kind, agreementID, version, contentHash)
        (self.targets, self.recordIDs, self.fields) = (targets.sorted(), recordIDs.sorted(), fields.sorted())
        (self.signer, self.signerKey, self.at, self.reason) = (signer, signerKey, at, reason)
    }

    /// Why `agreement` (the version the revocation names) does not let the signer give this
    /// order, or nil. The owner may order any recipient to destroy; a recipient may only end its
    /// own participation; nobody can order the owner to destroy its own records.
    public func problem(under agreement: Agreement) -> String? {
        guard agreement.id == agreementID else { return "it names agreement \(agreementID), not \(agreement.id)" }
        let parties = Set(agreement.nodeIDs.values)
        guard parties.contains(signer) else { return "the signer is not a party of \(agreementID)" }
        guard !targets.isEmpty else { return "it names nobody to destroy anything" }
        guard targets.allSatisfy(parties.contains) else { return "it names a node that is not a party of \(agreementID)" }
        let owner = agreement.nodeIDs[agreement.owner]
        guard !targets.contains(where: { $0 == owner }) else { return "the owner's own records are not the recipients' to destroy" }
        if signer != owner {
            guard kind == .terminate, targets == [signer] else {
                return "a recipient may end only its own participation; it cannot make others delete the owner's data"
            }
        }
        return nil
    }

    public func encodeSignedFields(to writer: inout WireWriter) {
        writer.data(id)
        writer.u8(kind.rawValue)
        writer.string(agreementID)
        writer.u32(version)
        writer.data(contentHash)
        writer.u32(UInt32(targets.count))
        for target in targets { target.encode(to: &writer) }
        writer.u32(UInt32(recordIDs.count))
        for recordID in recordIDs { writer.string(recordID) }
        writer.u32(UInt32(fields.count))
        for field in fields { writer.string(field) }
        signer.encode(to: &writer)
        writer.data(signerKey)
        writer.string(at)
        writer.string(reason)
    }

    public init(from reader: inout WireReader) throws(MessageError) {
        id = try reader.data()
        let kindByte = try reader.u8()
        guard let kind = Kind(rawValue: kindByte) else { throw .malformed("revocation", "unknown kind \(kindByte)") }
        self.kind = kind
        agreementID = try reader.string()
        version = try reader.u32()
        contentHash = try reader.data()
        targets = try reader.list(of: "targets", minimumSize: 32) { (reader: inout WireReader) throws(MessageError) in try NodeID(from: &reader) }
        recordIDs = try reader.list(of: "record ids", minimumSize: 4) { (reader: inout WireReader) throws(MessageError) in try reader.string() }
        fields = try reader.list(of: "fields", minimumSize: 4) { (reader: inout WireReader) throws(MessageError) in try reader.string() }
        signer = try NodeID(from: &reader)
        signerKey = try reader.data()
        at = try reader.string()
        reason = try reader.string()
        signature = try reader.data()
        guard id.count == 16, contentHash.count == 32, signerKey.count == 32, signature.count == 64 else {
            throw .malformed("revocation", "an id, hash, key or signature has the wrong size")
        }
    }

}

/// A target's signed statement that it destroyed what a revocation ordered: how many records,
/// a digest of their ids (so the revoker can compare with what it sent), whether the agreement's
/// data key went too, and when. Receipts of sub-processors the data was shared on with are
/// carried inside.
public struct DeletionReceipt: SignedWireValue, Sendable, Equatable {
    public static let wireName = "deletion receipt"
    public static let signingDomain = "accord deletion receipt 1"

    public var revocationID: [UInt8]
    public var agreementID: String
    public var node: NodeID
    public var nodeKey: [UInt8]
    public var destroyed: UInt64
    /// SHA-256 of ``digestInput(ids:)`` of the destroyed record ids.
    public var digest: [UInt8]
    public var keyDestroyed: Bool
    public var at: String
    public var onward: [DeletionReceipt]
    public var signature: [UInt8] = []

    public init(
        revocationID: [UInt8], agreementID: String, node: NodeID, nodeKey: [UInt8], destroyed: UInt64, digest: [UInt8],
        keyDestroyed: Bool, at: String, onward: [DeletionReceipt] = []
    ) {
        (self.revocationID, self.agreementID, self.node, self.nodeKey) = (revocationID, agreementID, node, nodeKey)
        (self.destroyed, self.digest, self.keyDestroyed, self.at, self.onward) = (destroyed, digest, keyDestroyed, at, onward)
    }

    /// What the digest is the SHA-256 of: the ids sorted, each followed by a newline.
    public static func digestInput(ids: some Sequence<String>) -> [UInt8] {
        Array(ids.sorted().map { $0 + "\n" }.joined().utf8)
    }

    public func encodeSignedFields(to writer: inout WireWriter) {
        writer.data(revocationID)
        writer.string(agreementID)
        node.encode(to: &writer)
        writer.data(nodeKey)
        writer.u64(destroyed)
        writer.data(digest)
        writer.u8(keyDestroyed ? 1 : 0)
        writer.string(at)
        writer.u32(UInt32(onward.count))
        for receipt in onward { receipt.encode(to: &writer) }
    }

    public init(from reader: inout WireReader) throws(MessageError) {
        try self.init(from: &reader, depth: 0)
    }

    private init(from reader: inout WireReader, depth: Int) throws(MessageError) {
        guard depth < 8 else { throw .malformed("deletion receipt", "receipts nested more than 8 deep") }
        revocationID = try reader.data()
        agreementID = try reader.string()
        node = try NodeID(from: &reader)
        nodeKey = try reader.data()
        destroyed = try reader.u64()
        digest = try reader.data()
        let flag = try reader.u8()
        guard flag <= 1 else { throw .malformed("deletion receipt", "key-destroyed flag \(flag)") }
        keyDestroyed = flag == 1
        at = try reader.string()
        onward = try reader.list(of: "onward receipts", minimumSize: 100) { (reader: inout WireReader) throws(MessageError) in
            try DeletionReceipt(from: &reader, depth: depth + 1)
        }
        signature = try reader.data()
        guard revocationID.count == 16, digest.count == 32, nodeKey.count == 32, signature.count == 64 else {
            throw .malformed("deletion receipt", "an id, digest, key or signature has the wrong size")
        }
    }

}

extension WireReader {
    /// A u32 count, then that many elements; the count is refused if the bytes left could not hold them.
    mutating func list<T>(of what: String, minimumSize: Int, _ element: (inout WireReader) throws(MessageError) -> T) throws(MessageError) -> [T] {
        let count = Int(try u32())
        guard count <= remaining / minimumSize else { throw .malformed(what, "count \(count) is impossible") }
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(&self)) }
        return items
    }
}
