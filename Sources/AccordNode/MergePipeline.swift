public import AccordCore
public import AccordStore
import Foundation

/// A replica's state of one record, to merge (``RecordStore/mergeAll(_:into:unless:)``).
public struct IncomingChange: Sendable {
    public let id: String
    public let entry: RecordSet.Entry
    /// The entry's binary form as received, if it was: stored as it is for a new record.
    public let encoded: ArraySlice<UInt8>?

    public init(id: String, entry: RecordSet.Entry, encoded: ArraySlice<UInt8>? = nil) { (self.id, self.entry, self.encoded) = (id, entry, encoded) }
}

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
    ///   store lacks the record), or nil to merge it.
    /// - Returns: what each change came to.
    public func mergeAll(
        _ changes: [IncomingChange], into collection: String,
        unless refusal: (@Sendable (RecordSet.Entry, RecordSet.Entry?) -> String?)? = nil
    ) throws -> [MergeOutcome] {
        let recipe = try sealingRecipe(for: collection)
        let join = { @Sendable (sealer: RecordSealer, change: IncomingChange, row: StoredRow) throws(StoreError) -> MergeOutcome in
            try sealer.join(change.entry, encoded: change.encoded, into: row, unless: refusal.map { refusal in { refusal(change.entry, $0) } })
        }
        guard changes.count > Self.mergeChunk else {
            let sealer = try RecordSealer(recipe)
            return try database.transaction {
                try changes.map { change in
                    let outcome = try join(sealer, change, try row(collection: collection, id: change.id))
                    if case .changed(let joined) = outcome { try write(joined) }
                    return outcome
                }
            }
        }

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
                guard outcomes.put((chunk, chunk.map { job in Result { () throws(StoreError) in try join(try sealer.get(), job.change, job.row) } })) else { return }
            }
        }
        defer {
            jobs.finish()
            outcomes.cancel()
            done.wait()
        }

        return try database.transaction {
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
