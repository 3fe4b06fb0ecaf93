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
        message.withUnsafeBytes { message in code(message) }
    }

    /// The code of `first` followed by `second`: one message, not joined first.
    public func code(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = .init(start: nil, count: 0)) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            write(first, second, into: buffer.baseAddress!)
            count = 32
        }
    }

    /// Writes the code of `first` followed by `second` to the 32 bytes at `code`.
    public func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = .init(start: nil, count: 0), into code: UnsafeMutablePointer<UInt8>) {
        func update(_ part: UnsafeRawBufferPointer) -> Bool {
            guard let bytes = part.baseAddress, part.count > 0 else { return true }
            return EVP_MAC_update(context, bytes.assumingMemoryBound(to: UInt8.self), part.count) == 1
        }
        var length = 0
        let ok = EVP_MAC_init(context, nil, 0, nil) == 1 && update(first) && update(second) && EVP_MAC_final(context, code, &length, 32) == 1
        precondition(ok && length == 32, "HMAC-SHA-256 cannot fail on a working OpenSSL with a key set")
    }
}
