public import AccordCore
import COpenSSL

/// An X.509 certificate (one owned `X509` reference).
///
/// Never mutated after it is made, and OpenSSL's reference counting is atomic, so sharing it
/// across threads is safe; hence `@unchecked Sendable`.
public final class Certificate: @unchecked Sendable {
    package let x509: OpaquePointer  // X509 *

    /// Takes ownership of one reference to `x509`.
    package init(taking x509: OpaquePointer) { self.x509 = x509 }

    deinit { X509_free(x509) }

    /// Parses DER.
    public convenience init(derEncoded bytes: [UInt8]) throws(CryptoError) {
        ERR_clear_error()
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress  // d2i_X509 advances it
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw .drain("reading a DER certificate") }
        self.init(taking: parsed)
    }

    /// Parses PEM (`-----BEGIN CERTIFICATE-----`).
    public convenience init(pem: String) throws(CryptoError) {
        ERR_clear_error()
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw .drain("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        guard let parsed = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw CryptoError(operation: "reading the certificate", reasons: ["not a PEM certificate"])
        }
        self.init(taking: parsed)
    }

    /// A self-signed v3 certificate for `key` (Ed25519: `X509_sign` with no digest).
    public static func selfSigned(key: SigningKey, commonName: String, validityDays: Int = 3650) throws(CryptoError)
        -> Certificate
    {
        ERR_clear_error()
        guard let x509 = X509_new() else { throw .drain("X509_new") }
        let certificate = Certificate(taking: x509)  // frees x509 on any throw below
        try check(X509_set_version(x509, Int(X509_VERSION_3)), "X509_set_version")
        let serial = try secureRandomBytes(8).reduce(0) { $0 << 8 | Int($1) } & Int.max
        try check(ASN1_INTEGER_set(X509_get_serialNumber(x509), serial), "ASN1_INTEGER_set")
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil,
            X509_gmtime_adj(X509_getm_notAfter(x509), validityDays * 86_400) != nil
        else { throw .drain("X509_gmtime_adj") }
        try check(X509_set_pubkey(x509, key.pkey), "X509_set_pubkey")
        let name = X509_get_subject_name(x509)  // borrowed
        try check(
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0),
            "X509_NAME_add_entry_by_txt"
        )
        try check(X509_set_issuer_name(x509, name), "X509_set_issuer_name")
        guard X509_sign(x509, key.pkey, nil) > 0 else { throw .drain("X509_sign") }
        return certificate
    }

    public var derBytes: [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            var cursor = buffer.baseAddress  // i2d_X509 advances it
            initialized = Int(i2d_X509(x509, &cursor))
        }
    }

    public func pemEncoded() throws(CryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .drain("BIO_new") }
        defer { BIO_free(bio) }
        try check(PEM_write_bio_X509(bio, x509), "PEM_write_bio_X509")
        return String(decoding: memoryBIOContents(bio), as: UTF8.self)
    }

    /// The node ID this certificate proves: SHA-256 of its SubjectPublicKeyInfo (DER).
    public var nodeID: NodeID { Certificate.nodeID(of: x509) }

    package static func nodeID(of x509: OpaquePointer) -> NodeID {
        NodeID(digest: SHA256.hash(spki(of: x509)))
    }

    private static func spki(of x509: OpaquePointer) -> [UInt8] {
        guard let key = X509_get0_pubkey(x509) else { return [] }  // borrowed
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            var cursor = buffer.baseAddress
            initialized = Int(i2d_PUBKEY(key, &cursor))
        }
    }

    /// The Ed25519 public key inside, if it is one.
    public var publicKey: PublicKey? {
        guard let key = X509_get0_pubkey(x509), EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else { return nil }
        var length = 32
        var raw = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1 else { return nil }
        return PublicKey(rawRepresentation: raw)
    }

    /// True if `key` is the private half of this certificate's public key.
    public func matches(_ key: SigningKey) -> Bool { publicKey == key.publicKey }
}
