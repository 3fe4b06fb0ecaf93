import COpenSSL

/// HMAC-SHA-256 (OpenSSL's one-shot `HMAC`).
public enum HMACSHA256 {
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = message.withUnsafeBufferPointer { data in
            key.withUnsafeBufferPointer { secret in
                HMAC(Algorithms.shared.sha256, secret.baseAddress, Int32(secret.count), data.baseAddress, data.count, &code, &length)
            }
        }
        precondition(result != nil && length == 32, "HMAC-SHA-256 cannot fail on a working OpenSSL")
        return code
    }
}
