import AccordCore
import Dispatch
import Synchronization

/// A bounded queue between two threads: one puts, one takes, in order. A full queue makes the
/// putter wait (so a fast producer holds at most `capacity` items), an empty one the taker.
package final class Handoff<Element: Sendable>: Sendable {
    private let state = Mutex<(items: FIFO<Element>, finished: Bool, cancelled: Bool)>((FIFO(), false, false))
    private let available = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: 0)

    package init(capacity: Int) {
        // Raised from 0 rather than made with the capacity: libdispatch traps when a semaphore
        // is freed below the value it was made with, as this one is while items are queued.
        for _ in 0..<capacity { free.signal() }
    }

    /// Waits for room, then queues `item`. False, queueing nothing (and not waiting), once the
    /// taker cancelled.
    package func put(_ item: Element) -> Bool {
        guard !state.withLock({ $0.cancelled }) else { return false }
        free.wait()
        let queued = state.withLock { state in
            guard !state.cancelled else { return false }
            state.items.append(item)
            return true
        }
        if queued { available.signal() }
        return queued
    }

    /// No more items will come: the taker gets nil once it has taken the rest.
    package func finish() {
        state.withLock { $0.finished = true }
        available.signal()
    }

    /// The next item, waiting for it (or, if not `waiting`, only if one is there); nil when the
    /// putter finished and all were taken.
    package func take(waiting: Bool = true) -> Element? {
        // Not `available.wait(timeout: .now())`: on Linux that sleeps for the timer's slack (some
        // 50 µs) when nothing is there. Whatever the state shows is signalled or about to be:
        // no other thread takes.
        if !waiting, state.withLock({ $0.items.count == 0 && !$0.finished }) { return nil }
        available.wait()
        let item = state.withLock { $0.items.popFirst() }
        if item != nil { free.signal() } else { available.signal() }  // the end stays visible
        return item
    }

    /// The taker stops: a waiting or later `put` returns false at once.
    package func cancel() {
        state.withLock { $0.cancelled = true }
        free.signal()
    }
}
