import COpenSSL

/// An OpenSSL call failed. Carries the drained thread-local error queue.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What was being done ("reading the node key", "EVP_DigestSign").
    public var operation: String
    /// OpenSSL's own reasons, oldest first.
    public var reasons: [String]

    public init(operation: String, reasons: [String]) { (self.operation, self.reasons) = (operation, reasons) }

    public var description: String {
        reasons.isEmpty ? "\(operation) failed" : "\(operation) failed: " + reasons.joined(separator: "; ")
    }

    /// Drains the calling thread's OpenSSL error queue. Call right after the failing call, on its thread.
    package static func drain(_ operation: String) -> CryptoError {
        CryptoError(operation: operation, reasons: drainReasons())
    }

    package static func drainReasons() -> [String] {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons
    }
}

/// Throws ``CryptoError`` unless `result == 1` (OpenSSL's success convention).
@inline(__always)
package func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(CryptoError) {
    guard result == 1 else { throw CryptoError.drain(operation()) }
}

/// Cryptographically secure random bytes (`RAND_bytes`).
public func secureRandomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard count > 0 else { return bytes }
    try check(RAND_bytes(&bytes, Int32(count)), "RAND_bytes")
    return bytes
}

/// Reads the bytes a memory BIO holds (they die with the BIO, so they are copied).
package func memoryBIOContents(_ bio: OpaquePointer) -> [UInt8] {
    var data: UnsafeMutablePointer<CChar>?
    let length = copenssl_BIO_get_mem_data(bio, &data)
    guard let data, length > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: data, count: length))
}

internal import COpenSSLShims
