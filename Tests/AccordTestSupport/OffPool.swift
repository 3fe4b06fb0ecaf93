public import Foundation

/// Runs blocking work (waiting for a child process or a semaphore, a long computation) on a
/// thread of its own and waits for it without holding a thread of Swift's cooperative pool.
/// That pool has only as many threads as cores (2 here), and on Linux GCD's global queues share
/// them: a test that blocks one stalls every other test, and the nodes they start, until it ends.
public func offPool<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
        Thread.detachNewThread { continuation.resume(returning: Result { () throws(E) in try work() }) }
    }
    return try result.get()
}

extension Process {
    /// Waits until the process exits, off the pool.
    public func exit() async {
        await offPool { self.waitUntilExit() }
    }
}
