#if canImport(Glibc)
import Glibc
#endif

/// A growable FIFO of bytes on raw memory: bytes go in at the tail (written there directly by
/// C calls) and leave from the head, with no per-byte work even in unoptimised builds.
///
/// Not `Sendable`: it belongs to one channel on one event loop thread.
struct ByteQueue: ~Copyable {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var head = 0
    private var tail = 0

    init(capacity: Int = 64 << 10) {
        self.capacity = capacity
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var count: Int { tail - head }
    var isEmpty: Bool { head == tail }

    /// Lets `fill` write up to `count` bytes at the tail; it returns how many it wrote.
    mutating func append(upTo count: Int, _ fill: (UnsafeMutableRawPointer) -> Int) {
        reserve(count)
        let written = fill(storage + tail)
        tail += max(0, written)
    }

    /// Hands the unread bytes to `drain`, which returns how many it consumed.
    mutating func consume(_ drain: (UnsafeRawBufferPointer) -> Int) -> Int {
        let used = drain(UnsafeRawBufferPointer(start: storage + head, count: count))
        head += max(0, used)
        if head == tail { (head, tail) = (0, 0) }
        return used
    }

    mutating func removeAll() { (head, tail) = (0, 0) }

    private mutating func reserve(_ extra: Int) {
        if tail + extra <= capacity { return }
        if head > 0 {  // slide the unread bytes to the front first
            storage.copyMemory(from: storage + head, byteCount: count)
            (head, tail) = (0, count)
            if tail + extra <= capacity { return }
        }
        var newCapacity = capacity * 2
        while newCapacity < tail + extra { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: storage, byteCount: tail)
        storage.deallocate()
        (storage, capacity) = (grown, newCapacity)
    }
}
