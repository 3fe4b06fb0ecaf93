import COpenSSL

/// HMAC-SHA-256 under one key, keyed once (`EVP_MAC`); each code re-initialises the context
/// with the key already set.
///
/// Not `Sendable`: one context, reused; one thread at a time.
public final class MACKey {
    private let context: OpaquePointer  // EVP_MAC_CTX *

    public init(_ key: [UInt8]) throws(CryptoError) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw .drain("EVP_MAC_fetch(HMAC)") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw .drain("EVP_MAC_CTX_new") }
        self.context = context
        let ok = "SHA256".withCString { digest in
            var params = [
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, UnsafeMutablePointer(mutating: digest), 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_init(context, key, key.count, &params)
        }
        try check(ok, "EVP_MAC_init")
    }

    deinit { EVP_MAC_CTX_free(context) }

    public func code(for message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ok = EVP_MAC_init(context, nil, 0, nil) == 1 && EVP_MAC_update(context, message, message.count) == 1
            && EVP_MAC_final(context, &code, &length, 32) == 1
        precondition(ok && length == 32, "HMAC-SHA-256 cannot fail on a working OpenSSL with a key set")
        return code
    }
}
