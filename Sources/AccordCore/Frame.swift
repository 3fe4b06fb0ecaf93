/// One unit on the wire: `length (u32, big-endian) | kind (u8) | payload`, where `length`
/// counts the kind byte and the payload. See docs/protocol.md.
public struct Frame: Sendable, Equatable {
    /// The largest `length` a frame may declare (kind byte + payload): 4 MiB.
    public static let maximumLength = 4 << 20
    public static let headerSize = 5

    public var kind: UInt8
    public var payload: [UInt8]

    public init(kind: UInt8, payload: [UInt8]) { (self.kind, self.payload) = (kind, payload) }

    /// The bytes to send.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Frame.headerSize + payload.count)
        appendEncoded(to: &bytes)
        return bytes
    }

    public func appendEncoded(to bytes: inout [UInt8]) {
        precondition(payload.count < Frame.maximumLength, "frame payload over the 4 MiB limit")
        let length = UInt32(payload.count + 1)
        bytes.append(UInt8(length >> 24))
        bytes.append(UInt8(length >> 16 & 0xFF))
        bytes.append(UInt8(length >> 8 & 0xFF))
        bytes.append(UInt8(length & 0xFF))
        bytes.append(kind)
        bytes.append(contentsOf: payload)
    }
}

/// Why a byte stream is not a valid sequence of frames. Each closes the connection.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    case oversized(declared: Int)
    case empty
    case truncated(received: Int, expected: Int)

    public var description: String {
        switch self {
        case .oversized(let declared):
            "oversized frame: it declares \(declared) bytes, the limit is \(Frame.maximumLength)"
        case .empty: "malformed frame: length 0 (a frame holds at least its kind byte)"
        case .truncated(let received, let expected):
            "truncated frame: the stream ended \(received) bytes into a \(expected)-byte frame"
        }
    }
}

/// Cuts a byte stream into frames. Feed it bytes as they arrive; it never holds more than one
/// frame's worth beyond what was fed, and checks the declared length before buffering a payload.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes received but not yet returned as frames.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next whole frame, `nil` if more bytes are needed.
    public mutating func next() throws(FrameError) -> Frame? {
        guard bufferedCount >= 4 else { return nil }
        let length =
            Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
            | Int(buffer[start + 3])
        guard length > 0 else { throw .empty }
        guard length <= Frame.maximumLength else { throw .oversized(declared: length) }
        guard bufferedCount >= 4 + length else { return nil }
        let kind = buffer[start + 4]
        let payload = Array(buffer[(start + 5)..<(start + 4 + length)])
        start += 4 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return Frame(kind: kind, payload: payload)
    }

    /// Call when the stream has ended: throws if it ended inside a frame.
    public func finish() throws(FrameError) {
        guard bufferedCount > 0 else { return }
        var expected = 0
        if bufferedCount >= 4 {
            expected = 4 + (Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
                | Int(buffer[start + 3]))
        }
        throw .truncated(received: bufferedCount, expected: max(expected, 5))
    }

    /// Drops consumed bytes once they are at least half the buffer, so appends stay amortised O(1).
    private mutating func compactIfUseful() {
        guard start > 0, start * 2 >= buffer.count else { return }
        buffer.removeFirst(start)
        start = 0
    }
}
