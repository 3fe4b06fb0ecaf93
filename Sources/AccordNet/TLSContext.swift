public import AccordCrypto
import COpenSSL
import COpenSSLShims

public import AccordCore

/// What a TLS endpoint is and whom it accepts.
///
/// TLS 1.3 only, both sides present certificates, and a peer is accepted only if the node ID of
/// its certificate (SHA-256 of its public key) passes `trusts` — the pinned peers. Immutable
/// after `init` (OpenSSL's `SSL_CTX` is thread-safe once configured): `@unchecked Sendable`.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case server, client }

    let ctx: OpaquePointer  // SSL_CTX *
    public let role: Role
    private let pins: PinCheck

    /// - Parameters:
    ///   - trusts: answers whether a node ID is pinned; called during every handshake on the
    ///     event loop thread, so it must be quick (an in-memory lookup).
    public init(
        role: Role,
        key: SigningKey,
        certificate: Certificate,
        trusts: @escaping @Sendable (NodeID) -> Bool
    ) throws(CryptoError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw CryptoError.drain("SSL_CTX_new")
        }
        self.ctx = ctx
        self.role = role
        self.pins = PinCheck(trusts)
        // Fully initialised from here: a throw below still runs deinit and frees ctx.
        try check(copenssl_SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), "SSL_CTX_set_min_proto_version")
        try check(SSL_CTX_use_certificate(ctx, certificate.x509), "SSL_CTX_use_certificate")
        try check(SSL_CTX_use_PrivateKey(ctx, key.pkey), "SSL_CTX_use_PrivateKey")
        try check(SSL_CTX_check_private_key(ctx), "SSL_CTX_check_private_key")
        // Non-blocking sockets: a write may be retried with a moved buffer, and complete partially.
        _ = copenssl_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        _ = SSL_CTX_set_num_tickets(ctx, 0)  // links are long-lived; resumption buys nothing
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        SSL_CTX_set_cert_verify_callback(ctx, pinningVerifyCallback, Unmanaged.passUnretained(pins).toOpaque())
    }

    deinit { SSL_CTX_free(ctx) }
}

/// The pin test behind the C verify callback; ``TLSContext`` keeps it alive.
final class PinCheck: Sendable {
    let trusts: @Sendable (NodeID) -> Bool
    init(_ trusts: @escaping @Sendable (NodeID) -> Bool) { self.trusts = trusts }
}

/// What one handshake learned about the peer, reachable from the C verify callback via the
/// SSL's app data. Confined to the event loop thread, like the channel that owns it.
final class HandshakeNote {
    var peerID: NodeID?
    var rejectedID: NodeID?
}

/// Replaces OpenSSL's chain building: the peer's leaf certificate must carry a pinned public key.
/// That the peer holds the matching private key is proven by TLS 1.3's CertificateVerify.
private func pinningVerifyCallback(_ store: OpaquePointer?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let store, let arg, let leaf = X509_STORE_CTX_get0_cert(store) else { return 0 }
    let pins = Unmanaged<PinCheck>.fromOpaque(arg).takeUnretainedValue()
    let id = Certificate.nodeID(of: leaf)
    let note = copenssl_X509_STORE_CTX_get_ssl(store)
        .flatMap { copenssl_SSL_get_app_data($0) }
        .map { Unmanaged<HandshakeNote>.fromOpaque($0).takeUnretainedValue() }
    guard pins.trusts(id) else {
        note?.rejectedID = id
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED)
        return 0
    }
    note?.peerID = id
    X509_STORE_CTX_set_error(store, X509_V_OK)
    return 1
}
