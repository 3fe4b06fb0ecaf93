import COpenSSL

/// SHA-256 through `EVP_Digest`.
public enum SHA256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, Algorithms.shared.sha256, nil)
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) cannot fail on a working OpenSSL")
        return digest
    }
}
