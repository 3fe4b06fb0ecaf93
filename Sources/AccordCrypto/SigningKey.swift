public import AccordCore

import COpenSSL

/// An Ed25519 private key (an OpenSSL `EVP_PKEY`): the node's identity key. It signs the TLS
/// handshake, and later agreements, revocations and receipts.
///
/// `EVP_PKEY` is immutable once made and its reference count is atomic, so sharing it across
/// threads is safe; hence `@unchecked Sendable`.
public final class SigningKey: @unchecked Sendable {
    package let pkey: OpaquePointer  // EVP_PKEY *

    /// Takes ownership of one reference to `pkey`.
    package init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// A fresh random key.
    public convenience init() throws(CryptoError) {
        ERR_clear_error()
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { throw .drain("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_keygen_init(ctx), "EVP_PKEY_keygen_init")
        var key: OpaquePointer?
        try check(EVP_PKEY_keygen(ctx, &key), "EVP_PKEY_keygen")
        guard let key else { throw .drain("EVP_PKEY_keygen") }
        self.init(taking: key)
    }

    /// Reads a PEM private key (PKCS#8, as written by ``pemEncoded()`` or `openssl genpkey`).
    public convenience init(pem: String) throws(CryptoError) {
        ERR_clear_error()
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw .drain("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw CryptoError(operation: "reading the private key", reasons: ["not a PEM private key"])
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(key)
            throw CryptoError(operation: "reading the private key", reasons: ["it is not an Ed25519 key"])
        }
        self.init(taking: key)
    }

    /// PKCS#8 PEM, unencrypted: the file that holds it must be mode 0600.
    public func pemEncoded() throws(CryptoError) -> String {
        ERR_clear_error()
        guard let bio = BIO_new(BIO_s_mem()) else { throw .drain("BIO_new") }
        defer { BIO_free(bio) }
        try check(PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil), "PEM_write_bio_PrivateKey")
        return String(decoding: memoryBIOContents(bio), as: UTF8.self)
    }

    public var publicKey: PublicKey {
        var length = 32
        var raw = [UInt8](repeating: 0, count: 32)
        let ok = EVP_PKEY_get_raw_public_key(pkey, &raw, &length)
        precondition(ok == 1 && length == 32, "an Ed25519 key always has a 32-byte public key")
        return PublicKey(rawRepresentation: raw)
    }

    /// Signs `message` (Ed25519 is one-shot: `EVP_DigestSign` with no digest).
    public func signature(for message: [UInt8]) throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        guard let md = EVP_MD_CTX_new() else { throw .drain("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        try check(EVP_DigestSignInit(md, nil, nil, nil, pkey), "EVP_DigestSignInit")
        var length = 64
        var signature = [UInt8](repeating: 0, count: 64)
        try check(EVP_DigestSign(md, &signature, &length, message, message.count), "EVP_DigestSign")
        return Array(signature.prefix(length))
    }
}

/// An Ed25519 public key (raw 32 bytes).
public struct PublicKey: Sendable, Hashable {
    public let rawRepresentation: [UInt8]

    public init(rawRepresentation: [UInt8]) { self.rawRepresentation = rawRepresentation }

    /// The node ID of whoever holds the private half: SHA-256 of the key's SubjectPublicKeyInfo
    /// (DER), as for a certificate. Nil if these are not 32 bytes of an Ed25519 key.
    public var nodeID: NodeID? {
        guard rawRepresentation.count == 32, let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawRepresentation, 32) else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_free(pkey) }
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else { return nil }
        let spki = [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            var cursor = buffer.baseAddress
            initialized = Int(i2d_PUBKEY(pkey, &cursor))
        }
        return NodeID(digest: SHA256.hash(spki))
    }

    /// `true` iff `signature` is a valid signature of `message` by this key. A bad signature is
    /// an answer, not an error.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        ERR_clear_error()
        defer { ERR_clear_error() }  // a failed verification queues an entry; keep it out of later errors
        guard rawRepresentation.count == 32,
            let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawRepresentation, 32)
        else { return false }
        defer { EVP_PKEY_free(pkey) }
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestVerifyInit(md, nil, nil, nil, pkey) == 1 else { return false }
        return EVP_DigestVerify(md, signature, signature.count, message, message.count) == 1
    }
}
