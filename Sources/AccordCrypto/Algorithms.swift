import COpenSSL

/// Algorithms fetched from OpenSSL's default provider once. Passing `EVP_aes_256_gcm()` or
/// `EVP_sha256()` makes OpenSSL 3 look the algorithm up again on every call (a provider search
/// under a lock); the record store seals and hashes several times per record.
///
/// `@unchecked Sendable`: fetched algorithm objects are immutable, and OpenSSL documents them
/// as safe to share between threads.
struct Algorithms: @unchecked Sendable {
    let aes256GCM: OpaquePointer  // EVP_CIPHER *
    let sha256: OpaquePointer  // EVP_MD *

    static let shared: Algorithms = {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil), let digest = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("OpenSSL's default provider offers no AES-256-GCM or SHA-256: \(CryptoError.drainReasons())")
        }
        return Algorithms(aes256GCM: cipher, sha256: digest)
    }()
}
