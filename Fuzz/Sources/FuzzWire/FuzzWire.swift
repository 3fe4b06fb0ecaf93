import AccordCore

/// libFuzzer entry point: any bytes, as a peer could send them after the TLS handshake, go
/// through the frame decoder in uneven chunks and every whole frame through the message codec.
/// Nothing may trap; a decoded message must re-encode to the same frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    var decoder = FrameDecoder()
    // The first byte picks the chunk size, so splits across reads are explored too.
    let chunk = max(1, Int(bytes.first ?? 1))
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        decoder.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
        do {
            while let frame = try decoder.next() {
                if let message = try? Message(frame), message.frame != frame {
                    fatalError("message \(message) does not re-encode to its frame")
                }
            }
        } catch {
            return 0  // a framing error closes the connection: the expected outcome
        }
    }
    _ = try? decoder.finish()
    return 0
}
