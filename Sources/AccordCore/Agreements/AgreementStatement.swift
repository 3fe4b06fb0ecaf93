/// A party's signed word on one version of an agreement: it proposes, accepts, rejects or
/// terminates it. The signature (Ed25519, the node's identity key) covers every field but
/// itself, and the content hash binds it to the agreement's canonical form.
public struct AgreementStatement: SignedWireValue, Sendable, Equatable {
    public static let wireName = "agreement statement"
    public static let signingDomain = "accord agreement statement 1"

    public enum Kind: UInt8, Sendable, CaseIterable {
        case propose = 1, accept = 2, reject = 3, terminate = 4

        public var verb: String {
            switch self {
            case .propose: "proposed"
            case .accept: "accepted"
            case .reject: "rejected"
            case .terminate: "terminated"
            }
        }
    }

    public var kind: Kind
    public var agreementID: String
    /// 1 for the first version; each amendment is the next.
    public var version: UInt32
    /// SHA-256 of the version's canonical text.
    public var contentHash: [UInt8]
    public var signer: NodeID
    /// The signer's Ed25519 public key (raw); its node ID must be `signer`.
    public var signerKey: [UInt8]
    /// When, UTC (`2026-11-25T10:00:00.000Z`).
    public var at: String
    /// Why, for a rejection or a termination.
    public var reason: String
    public var signature: [UInt8] = []

    public init(kind: Kind, agreementID: String, version: UInt32, contentHash: [UInt8], signer: NodeID, signerKey: [UInt8], at: String, reason: String = "") {
        (self.kind, self.agreementID, self.version, self.contentHash) = (kind, agreementID, version, contentHash)
        (self.signer, self.signerKey, self.at, self.reason) = (signer, signerKey, at, reason)
    }

    public func encodeSignedFields(to writer: inout WireWriter) {
        writer.u8(kind.rawValue)
        writer.string(agreementID)
        writer.u32(version)
        writer.data(contentHash)
        signer.encode(to: &writer)
        writer.data(signerKey)
        writer.string(at)
        writer.string(reason)
    }

    public init(from reader: inout WireReader) throws(MessageError) {
        let kindByte = try reader.u8()
        guard let kind = Kind(rawValue: kindByte) else { throw .malformed("agreement statement", "unknown kind \(kindByte)") }
        self.kind = kind
        agreementID = try reader.string()
        version = try reader.u32()
        contentHash = try reader.data()
        signer = try NodeID(from: &reader)
        signerKey = try reader.data()
        at = try reader.string()
        reason = try reader.string()
        signature = try reader.data()
        guard contentHash.count == 32, signerKey.count == 32, signature.count == 64 else {
            throw .malformed("agreement statement", "a hash, key or signature has the wrong size")
        }
    }
}

/// The answer to a proposal or statement: stored (and so acknowledged), or refused with why.
public struct AgreementReply: Sendable, Equatable {
    /// The signature of the statement answered: it identifies it.
    public var signature: [UInt8]
    public var refusal: String?

    public init(signature: [UInt8], refusal: String?) { (self.signature, self.refusal) = (signature, refusal) }
}

extension AgreementStatement: CustomStringConvertible {
    /// "proposal of deliveries-2026 v2", for logs.
    public var description: String {
        let noun = switch kind {
        case .propose: "proposal"
        case .accept: "acceptance"
        case .reject: "rejection"
        case .terminate: "termination"
        }
        return "\(noun) of \(agreementID) v\(version)"
    }
}
