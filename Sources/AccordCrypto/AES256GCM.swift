import COpenSSL

/// AES-256-GCM through `EVP_CIPHER_CTX`: 12-byte random nonce, 16-byte tag.
public enum AES256GCM {
    public struct SealedBox: Sendable, Equatable {
        public var nonce: [UInt8]
        public var ciphertext: [UInt8]
        public var tag: [UInt8]

        public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
            (self.nonce, self.ciphertext, self.tag) = (nonce, ciphertext, tag)
        }

        /// nonce | ciphertext | tag, the layout stored on disk.
        public var combined: [UInt8] { nonce + ciphertext + tag }

        public init?(combined: [UInt8]) {
            guard combined.count >= 28 else { return nil }
            self.init(
                nonce: Array(combined.prefix(12)),
                ciphertext: Array(combined[12..<combined.count - 16]),
                tag: Array(combined.suffix(16))
            )
        }
    }

    /// The key is wrong, or the data or its associated data were altered.
    public struct AuthenticationFailure: Error, Sendable, CustomStringConvertible {
        public var description: String { "decryption failed: wrong key, or the data was altered" }
    }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], aad: [UInt8] = []) throws(CryptoError) -> SealedBox {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        ERR_clear_error()
        let nonce = try secureRandomBytes(12)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        try check(EVP_EncryptInit_ex(ctx, Algorithms.shared.aes256GCM, nil, key, nonce), "EVP_EncryptInit_ex")
        var outLength: Int32 = 0
        if !aad.isEmpty {  // a NULL output buffer means "this is AAD"
            try check(EVP_EncryptUpdate(ctx, nil, &outLength, aad, Int32(aad.count)), "EVP_EncryptUpdate(aad)")
        }
        // One spare byte so the buffer's address is never NULL (NULL would be read as AAD).
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 1)
        var total: Int32 = 0
        if !plaintext.isEmpty {
            try check(
                EVP_EncryptUpdate(ctx, &ciphertext, &outLength, plaintext, Int32(plaintext.count)),
                "EVP_EncryptUpdate"
            )
            total = outLength
        }
        let finalOK = ciphertext.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(ctx, buffer.baseAddress! + Int(total), &outLength)
        }
        try check(finalOK, "EVP_EncryptFinal_ex")
        total += outLength
        var tag = [UInt8](repeating: 0, count: 16)
        try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag), "EVP_CTRL_GCM_GET_TAG")
        return SealedBox(nonce: nonce, ciphertext: Array(ciphertext.prefix(Int(total))), tag: tag)
    }

    public static func open(_ box: SealedBox, key: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        guard box.nonce.count == 12, box.tag.count == 16 else { throw AuthenticationFailure() }
        ERR_clear_error()
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        try check(EVP_DecryptInit_ex(ctx, Algorithms.shared.aes256GCM, nil, key, box.nonce), "EVP_DecryptInit_ex")
        var outLength: Int32 = 0
        if !aad.isEmpty {
            try check(EVP_DecryptUpdate(ctx, nil, &outLength, aad, Int32(aad.count)), "EVP_DecryptUpdate(aad)")
        }
        var plaintext = [UInt8](repeating: 0, count: box.ciphertext.count + 1)
        var total: Int32 = 0
        if !box.ciphertext.isEmpty {
            try check(
                EVP_DecryptUpdate(ctx, &plaintext, &outLength, box.ciphertext, Int32(box.ciphertext.count)),
                "EVP_DecryptUpdate"
            )
            total = outLength
        }
        var tag = box.tag  // SET_TAG takes a non-const pointer
        try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag), "EVP_CTRL_GCM_SET_TAG")
        let ok = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(ctx, buffer.baseAddress! + Int(total), &outLength)
        }
        guard ok == 1 else {
            ERR_clear_error()  // a tag mismatch queues nothing useful
            throw AuthenticationFailure()
        }
        total += outLength
        return Array(plaintext.prefix(Int(total)))
    }
}
