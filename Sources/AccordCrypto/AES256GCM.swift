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

    public func seal(_ plaintext: [UInt8], aad: [UInt8], _ moreAAD: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        try plaintext.withUnsafeBytes { plaintext in
            aad.withUnsafeBytes { aad in moreAAD.withUnsafeBytes { moreAAD in Result { () throws(CryptoError) in try seal(plaintext, aad: aad, moreAAD) } } }
        }.get()
    }

    /// Seals `header` followed by `plaintext` (one plaintext, not joined first) with the
    /// additional data `aad` followed by `moreAAD` (authenticated as one string, so a caller
    /// need not join them first either).
    public func seal(
        _ plaintext: UnsafeRawBufferPointer, after header: UnsafeRawBufferPointer = .init(start: nil, count: 0),
        aad: UnsafeRawBufferPointer, _ moreAAD: UnsafeRawBufferPointer = .init(start: nil, count: 0)
    ) throws(CryptoError) -> [UInt8] {
        if counter == .max {
            fixedField = try secureRandomBytes(8)
            counter = 0
        }
        counter += 1
        let count = header.count + plaintext.count
        var ok = false
        let sealed = [UInt8](unsafeUninitializedCapacity: 12 + count + 16) { buffer, initialized in
            let out = buffer.baseAddress!
            fixedField.withUnsafeBufferPointer { out.initialize(from: $0.baseAddress!, count: 8) }
            withUnsafeBytes(of: counter.bigEndian) { UnsafeMutableRawPointer(out + 8).copyMemory(from: $0.baseAddress!, byteCount: 4) }
            var length: Int32 = 0
            func encrypt(_ part: UnsafeRawBufferPointer, at offset: Int) -> Bool {
                guard let bytes = part.baseAddress, part.count > 0 else { return true }
                return EVP_EncryptUpdate(encryptor, out + 12 + offset, &length, bytes.assumingMemoryBound(to: UInt8.self), Int32(part.count)) == 1
            }
            ok = EVP_EncryptInit_ex(encryptor, nil, nil, nil, out) == 1
                && Self.update(encryptor, aad) && Self.update(encryptor, moreAAD)
                && encrypt(header, at: 0) && encrypt(plaintext, at: header.count)
                && EVP_EncryptFinal_ex(encryptor, out + 12 + count, &length) == 1
                && EVP_CIPHER_CTX_ctrl(encryptor, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + count) == 1
            initialized = ok ? 12 + count + 16 : 0
        }
        guard ok else { throw .drain("AES-256-GCM seal") }
        return sealed
    }

    /// The plaintext of `sealed`, or `nil` if it is not authentic under this key and `aad`.
    public func open(_ sealed: [UInt8], aad: [UInt8]) -> [UInt8]? {
        sealed.withUnsafeBytes { sealed in aad.withUnsafeBytes { aad in open(sealed, aad: aad) } }
    }

    /// ``open(_:aad:)`` of bytes where they lie, with the additional data in two parts (as
    /// ``seal(_:aad:_:)`` takes it).
    public func open(_ sealed: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, _ moreAAD: UnsafeRawBufferPointer = .init(start: nil, count: 0)) -> [UInt8]? {
        guard sealed.count >= 28, let base = sealed.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let count = sealed.count - 28
        var ok = false
        // One byte more than the plaintext: an output is never empty (a NULL one would mean AAD).
        let plaintext = [UInt8](unsafeUninitializedCapacity: count + 1) { buffer, initialized in
            let out = buffer.baseAddress!
            var length: Int32 = 0
            ok = EVP_DecryptInit_ex(decryptor, nil, nil, nil, base) == 1
                && Self.update(decryptor, aad) && Self.update(decryptor, moreAAD)
                && (count == 0 || EVP_DecryptUpdate(decryptor, out, &length, base + 12, Int32(count)) == 1)
                && EVP_CIPHER_CTX_ctrl(decryptor, EVP_CTRL_GCM_SET_TAG, 16, UnsafeMutableRawPointer(mutating: base + 12 + count)) == 1
                && EVP_DecryptFinal_ex(decryptor, out + count, &length) == 1
            initialized = ok ? count : 0
        }
        guard ok else {
            ERR_clear_error()
            return nil
        }
        return plaintext
    }

    /// Feeds additional data (none if empty) to an encrypting or decrypting context.
    private static func update(_ context: OpaquePointer, _ aad: UnsafeRawBufferPointer) -> Bool {
        guard let bytes = aad.baseAddress, aad.count > 0 else { return true }
        var length: Int32 = 0
        return EVP_CipherUpdate(context, nil, &length, bytes.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1
    }
}
