import COpenSSL

/// The ciphertext queues a channel shares with OpenSSL: records arrive from the socket into
/// `incoming`, and OpenSSL's output waits in `outgoing` for the socket.
///
/// Confined to its channel's event loop thread; OpenSSL touches it only inside the SSL calls
/// the channel makes there.
final class CipherQueues {
    var incoming = ByteQueue(capacity: 256 << 10)
    var outgoing = ByteQueue(capacity: 256 << 10)
}

/// A BIO whose reads and writes go straight to a ``CipherQueues``: no memory-BIO copy in
/// between, and no zero-filling when it grows.
enum QueueBIO {
    /// A new BIO over `queues`; the caller keeps `queues` alive as long as the BIO (the SSL owns it).
    static func make(_ queues: CipherQueues) -> OpaquePointer? {
        guard let bio = BIO_new(method.pointer) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(queues).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    /// Made once; OpenSSL only reads a BIO_METHOD after it is set up.
    private struct Method: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private static let method: Method = {
        let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "accord cipher queue")!
        BIO_meth_set_write_ex(method, queueWrite)
        BIO_meth_set_read_ex(method, queueRead)
        BIO_meth_set_ctrl(method, queueControl)
        return Method(pointer: method)
    }()
}

private func queues(of bio: OpaquePointer?) -> CipherQueues {
    Unmanaged<CipherQueues>.fromOpaque(BIO_get_data(bio)).takeUnretainedValue()
}

private func queueWrite(_ bio: OpaquePointer?, _ data: UnsafePointer<CChar>?, _ length: Int, _ written: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let data else { return 0 }
    queues(of: bio).outgoing.append(upTo: length) { target in
        target.copyMemory(from: data, byteCount: length)
        return length
    }
    written?.pointee = length
    return 1
}

private func queueRead(_ bio: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ read: UnsafeMutablePointer<Int>?) -> Int32 {
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    let source = queues(of: bio)
    guard let buffer, !source.incoming.isEmpty else {
        BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY)  // "try again when more arrives"
        return 0
    }
    let count = source.incoming.consume { bytes in
        let count = min(bytes.count, size)
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress!, byteCount: count)
        return count
    }
    read?.pointee = count
    return 1
}

private func queueControl(_ bio: OpaquePointer?, _ command: Int32, _ number: Int, _ pointer: UnsafeMutableRawPointer?) -> Int {
    switch command {
    case BIO_CTRL_FLUSH: 1
    case BIO_CTRL_PENDING: queues(of: bio).incoming.count
    case BIO_CTRL_WPENDING: queues(of: bio).outgoing.count
    default: 0
    }
}
