public import AccordCore
public import AccordStore
import Foundation

extension RecordStore {
    /// Records per hand-over between the two threads of ``mergeAll(_:into:unless:)``.
    static let mergeChunk = 250

    /// Merges replicas' states of records of `collection`, in order, on two threads: this one
    /// reads each record's row and writes the outcome (SQLite), a worker opens, joins and seals
    /// (``RecordSealer/join(_:encoded:into:unless:)``), so the two halves of a merge run at once.
    /// What it stores is what ``merge(collection:id:entry:)`` of each in turn stores; a change to
    /// a record whose earlier change is still with the worker waits for it to be written. All in
    /// one transaction (the caller's if it holds one).
    /// - Parameter refusal: why a change must not be merged into the stored state (nil if the
    ///   store lacks the record), or nil to merge it. Fewer changes than a chunk are merged on
    ///   this thread alone (``RecordStore/merge(_:into:unless:)``).
    /// - Returns: what each change came to.
    public func mergeAll(
        _ changes: [IncomingChange], into collection: String,
        unless refusal: (@Sendable (RecordSet.Entry, RecordSet.Entry?) -> String?)? = nil
    ) throws -> [MergeOutcome] {
        // The check of one change against the stored state.
        let check = { @Sendable (change: IncomingChange) in refusal.map { refusal in { refusal(change.entry, $0) } } }
        guard changes.count > Self.mergeChunk else {
            return try database.withinTransaction { try changes.map { try merge($0, into: collection, unless: check($0)) } }
        }
        let recipe = try sealingRecipe(for: collection)

        typealias Chunk = [(change: IncomingChange, row: StoredRow)]
        typealias Outcomes = [Result<MergeOutcome, StoreError>]
        // What one thread allocated goes back to it to be freed: memory freed by another thread
        // makes both wait on the allocator's lock (a merge took a fifth longer).
        let jobs = Handoff<Chunk>(capacity: 8)
        let outcomes = Handoff<(Chunk, Outcomes)>(capacity: 8)
        // At most the chunks submitted (4) plus one come back between two the worker takes.
        let spent = Handoff<Outcomes>(capacity: 8)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer {
                outcomes.finish()
                done.signal()
            }
            let sealer = Result { () throws(StoreError) in try RecordSealer(recipe) }
            while let chunk = jobs.take() {
                while spent.take(waiting: false) != nil {}
                let joined = chunk.map { job in
                    Result { () throws(StoreError) in try sealer.get().join(job.change.entry, encoded: job.change.encoded, into: job.row, unless: check(job.change)) }
                }
                guard outcomes.put((chunk, joined)) else { return }
            }
        }
        defer {
            jobs.finish()
            outcomes.cancel()
            done.wait()
        }

        return try database.withinTransaction {
            var merged: [MergeOutcome] = []
            merged.reserveCapacity(changes.count)
            var inFlight = Set<String>()
            var submitted = 0
            var next = 0
            while next < changes.count || submitted > 0 {
                // Four chunks with the worker; a record already with it is read again only once
                // its earlier change is written.
                while submitted < 4, next < changes.count, !inFlight.contains(changes[next].id) {
                    var chunk: Chunk = []
                    while chunk.count < Self.mergeChunk, next < changes.count, inFlight.insert(changes[next].id).inserted {
                        chunk.append((changes[next], try row(collection: collection, id: changes[next].id)))
                        next += 1
                    }
                    submitted += 1
                    _ = jobs.put(chunk)
                }
                guard let (chunk, results) = outcomes.take() else { throw NodeError("the merge's worker thread stopped") }
                submitted -= 1
                defer { _ = spent.put(results) }
                for (job, result) in zip(chunk, results) {
                    let outcome = try result.get()
                    if case .changed(let joined) = outcome { try write(joined) }
                    merged.append(outcome)
                    inFlight.remove(job.change.id)
                }
            }
            return merged
        }
    }
}
