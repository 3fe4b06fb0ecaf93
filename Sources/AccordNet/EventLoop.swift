import CAccordLinux
import Foundation  // Thread
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something registered with an ``EventLoop`` for readiness events on its file descriptor.
protocol EventSource: AnyObject {
    /// Called on the loop thread with the `EPOLL*` bits that fired.
    func handle(events: UInt32)
}

/// One OS thread that runs every socket registered with it: epoll for readiness, an eventfd to
/// be woken for new work, and a timer heap. Nothing here blocks per connection, so one loop
/// serves any number of peers while Swift's cooperative pool (2 threads on this machine) stays free.
///
/// `@unchecked Sendable`: the mutable state (`sources`, `timers`) is touched only on the loop
/// thread (checked with `assertInLoop()`); other threads reach it only through `enqueue`, whose
/// queue is guarded by a `Mutex`.
public final class EventLoop: @unchecked Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex<(work: [LoopWork], stopping: Bool)>(([], false))
    private let loopThread = Mutex<pthread_t?>(nil)
    private var sources: [Int32: any EventSource] = [:]
    private var timers = TimerHeap()
    private let finished = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let hasFinished = Atomic<Bool>(false)

    /// Starts the loop's thread.
    public init(name: String = "accord-loop") throws(NetError) {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw NetError.system("epoll_create1", errno) }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            close(epollFD)
            throw NetError.system("eventfd", errno)
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    /// Runs `work` on the loop thread, soon; safe from any thread. `work` may capture
    /// loop-confined state: it only ever runs on the loop thread.
    func enqueue(_ work: @escaping () -> Void) {
        let wasEmpty = pending.withLock { state -> Bool in
            state.work.append(LoopWork(body: work))
            return state.work.count == 1
        }
        if wasEmpty { wake() }
    }

    /// Stops the loop: every registered source gets `shutDown()` called... by its owner; the loop
    /// itself just ends its thread after running what is queued. Waits until the thread is done.
    public func shutdown() async {
        pending.withLock { $0.stopping = true }
        wake()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { waiters -> Bool in
                if hasFinished.load(ordering: .acquiring) { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    var inLoop: Bool { loopThread.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false } }

    func assertInLoop(_ file: StaticString = #fileID, _ line: UInt = #line) {
        assert(inLoop, "must run on the event loop thread", file: file, line: line)
    }

    // MARK: Registration (loop thread only)

    func register(_ fd: Int32, _ source: any EventSource, events: UInt32) {
        assertInLoop()
        sources[fd] = source
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    func modify(_ fd: Int32, events: UInt32) {
        assertInLoop()
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func deregister(_ fd: Int32) {
        assertInLoop()
        sources[fd] = nil
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    /// Runs `work` on the loop after `delay`, unless cancelled first.
    @discardableResult
    func schedule(after delay: Duration, _ work: @escaping () -> Void) -> TimerHeap.ID {
        assertInLoop()
        return timers.insert(deadline: ContinuousClock.now + delay, work)
    }

    func cancel(_ timer: TimerHeap.ID) { timers.cancel(timer) }

    // MARK: The loop

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    private func run() {
        loopThread.withLock { $0 = pthread_self() }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let timeout = timers.millisecondsUntilNext(now: .now)
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            if count < 0 && errno != EINTR { fatalError("epoll_wait: \(String(cString: strerror(errno)))") }
            for index in 0..<max(0, Int(count)) {
                let fd = events[index].data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                } else if let source = sources[fd] {
                    source.handle(events: events[index].events)
                }
            }
            timers.runDue(now: .now)
            let (work, stopping) = pending.withLock { state in
                defer { state.work.removeAll(keepingCapacity: true) }
                return (state.work, state.stopping)
            }
            for item in work { item.body() }
            if stopping { break }
        }
        sources.removeAll()
        timers = TimerHeap()
        let waiters = finished.withLock { waiters in
            hasFinished.store(true, ordering: .releasing)
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A closure queued for the loop thread.
///
/// `@unchecked Sendable`: it may capture loop-confined state, and it is only ever called on the
/// loop thread; the queue merely carries it across.
struct LoopWork: @unchecked Sendable {
    let body: () -> Void
}

/// Deadlines for an ``EventLoop``: a binary min-heap, cancelled entries skipped when they surface.
struct TimerHeap {
    typealias ID = UInt64
    private var heap: [(deadline: ContinuousClock.Instant, id: ID)] = []
    private var work: [ID: () -> Void] = [:]
    private var nextID: ID = 1

    mutating func insert(deadline: ContinuousClock.Instant, _ body: @escaping () -> Void) -> ID {
        let id = nextID
        nextID += 1
        work[id] = body
        heap.append((deadline, id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
        return id
    }

    mutating func cancel(_ id: ID) { work[id] = nil }

    /// epoll's timeout: -1 for none, else the milliseconds until the earliest live deadline (rounded up).
    mutating func millisecondsUntilNext(now: ContinuousClock.Instant) -> Int32 {
        while let first = heap.first, work[first.id] == nil { popFirst() }
        guard let first = heap.first else { return -1 }
        let remaining = now.duration(to: first.deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 60_000))
    }

    mutating func runDue(now: ContinuousClock.Instant) {
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let body = work.removeValue(forKey: first.id) { body() }
        }
    }

    private mutating func popFirst() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
