import COpenSSL

/// AES-256-GCM under one key, its key schedule computed once: the record store seals and opens
/// every record under its collection's key, and setting up a context per call cost more than
/// the encryption itself. Output is nonce (12) | ciphertext | tag (16).
///
/// Nonces follow NIST SP 800-38D's deterministic construction: a random 8-byte field fixed per
/// instance, then a 4-byte counter; a new random field when the counter runs out. Two instances
/// (two processes, or one after a restart) collide only if their 64-bit random fields do, so
/// the risk grows with the number of instances, not of messages (a random 12-byte nonce per
/// message is limited to 2^32 messages per key), and no call waits on the random generator.
///
/// Not `Sendable`: the contexts are reused from call to call; one thread at a time.
public final class SealingKey {
    private let encryptor: OpaquePointer  // EVP_CIPHER_CTX *
    private let decryptor: OpaquePointer
    private var fixedField: [UInt8]
    private var counter: UInt32 = 0

    public init(_ key: [UInt8]) throws(CryptoError) {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        guard let encryptor = EVP_CIPHER_CTX_new() else { throw .drain("EVP_CIPHER_CTX_new") }
        guard let decryptor = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(encryptor)
            throw .drain("EVP_CIPHER_CTX_new")
        }
        (self.encryptor, self.decryptor) = (encryptor, decryptor)
        fixedField = try secureRandomBytes(8)
        try check(EVP_EncryptInit_ex(encryptor, Algorithms.shared.aes256GCM, nil, key, nil), "EVP_EncryptInit_ex")
        try check(EVP_DecryptInit_ex(decryptor, Algorithms.shared.aes256GCM, nil, key, nil), "EVP_DecryptInit_ex")
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptor)
        EVP_CIPHER_CTX_free(decryptor)
    }

    public func seal(_ plaintext: [UInt8], aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        if counter == .max {
            fixedField = try secureRandomBytes(8)
            counter = 0
        }
        counter += 1
        var sealed = fixedField
        sealed.reserveCapacity(12 + plaintext.count + 16)
        withUnsafeBytes(of: counter.bigEndian) { sealed.append(contentsOf: $0) }
        sealed += [UInt8](repeating: 0, count: plaintext.count + 16)
        let ok = sealed.withUnsafeMutableBufferPointer { buffer -> Bool in
            let out = buffer.baseAddress!
            var length: Int32 = 0
            guard EVP_EncryptInit_ex(encryptor, nil, nil, nil, out) == 1,
                aad.isEmpty || EVP_EncryptUpdate(encryptor, nil, &length, aad, Int32(aad.count)) == 1,
                plaintext.isEmpty || EVP_EncryptUpdate(encryptor, out + 12, &length, plaintext, Int32(plaintext.count)) == 1,
                EVP_EncryptFinal_ex(encryptor, out + 12 + plaintext.count, &length) == 1
            else { return false }
            return EVP_CIPHER_CTX_ctrl(encryptor, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + plaintext.count) == 1
        }
        guard ok else { throw .drain("AES-256-GCM seal") }
        return sealed
    }

    /// The plaintext of `sealed`, or `nil` if it is not authentic under this key and `aad`.
    public func open(_ sealed: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 28 else { return nil }
        let count = sealed.count - 28
        var plaintext = [UInt8](repeating: 0, count: count + 1)  // never empty: a NULL output would mean AAD
        let ok = sealed.withUnsafeBufferPointer { input in
            plaintext.withUnsafeMutableBufferPointer { output -> Bool in
                let base = input.baseAddress!
                var length: Int32 = 0
                guard EVP_DecryptInit_ex(decryptor, nil, nil, nil, base) == 1,
                    aad.isEmpty || EVP_DecryptUpdate(decryptor, nil, &length, aad, Int32(aad.count)) == 1,
                    count == 0 || EVP_DecryptUpdate(decryptor, output.baseAddress!, &length, base + 12, Int32(count)) == 1,
                    EVP_CIPHER_CTX_ctrl(decryptor, EVP_CTRL_GCM_SET_TAG, 16, UnsafeMutableRawPointer(mutating: base + 12 + count)) == 1
                else { return false }
                return EVP_DecryptFinal_ex(decryptor, output.baseAddress! + count, &length) == 1
            }
        }
        guard ok else {
            ERR_clear_error()
            return nil
        }
        plaintext.removeLast()
        return plaintext
    }
}
