public import AccordCore
public import AccordStore
import Foundation

extension RecordStore {
    /// Records per hand-over between the two threads of ``mergeAll(_:into:unless:)``.
    static let mergeChunk = 250

    /// Merges replicas' states of records of `collection`, in order, on two threads: this one
    /// reads each record's row and writes the outcome (SQLite), a worker opens, joins and seals
    /// (``RecordSealer/join(_:encoded:into:unless:)``), so the two halves of a merge run at once;
    /// rather than wait for the worker, this thread joins chunks too. What it stores is what
    /// ``merge(collection:id:entry:)`` of each in turn stores; a change to a record whose earlier
    /// change is still being joined waits for it to be written. All in one transaction (the
    /// caller's if it holds one).
    /// - Parameter refusal: why a change must not be merged into the stored state (nil if the
    ///   store lacks the record), or nil to merge it. Fewer changes than a chunk are merged on
    ///   this thread alone (``RecordStore/merge(_:into:unless:)``).
    /// - Returns: what each change came to.
    public func mergeAll(
        _ changes: [IncomingChange], into collection: String,
        unless refusal: (@Sendable (RecordSet.Entry, RecordSet.Entry?) -> String?)? = nil
    ) throws -> [MergeOutcome.Written] {
        // The check of one change against the stored state.
        let check = { @Sendable (change: IncomingChange) in refusal.map { refusal in { refusal(change.entry, $0) } } }
        guard changes.count > Self.mergeChunk else {
            return try database.withinTransaction { try changes.map { try merge($0, into: collection, unless: check($0)) } }
        }
        let recipe = try sealingRecipe(for: collection)

        // Each change by its place in `changes`, with its record's row.
        typealias Chunk = [(change: Int, row: StoredRow)]
        typealias Outcomes = [Result<MergeOutcome, StoreError>]
        // A chunk's joins, on either thread, each change read where it lies (a copy retains its
        // entry's storage and bytes).
        let join = { @Sendable (chunk: Chunk, sealer: Result<RecordSealer, StoreError>) -> Outcomes in
            chunk.map { job in
                Result { () throws(StoreError) in
                    try sealer.get().join(changes[job.change].entry, encoded: changes[job.change].encoded, into: job.row, unless: check(changes[job.change]))
                }
            }
        }
        // What one thread allocated goes back to it to be freed: memory freed by another thread
        // makes both wait on the allocator's lock (a merge took a fifth longer).
        let jobs = Handoff<Chunk>(capacity: 8)
        let outcomes = Handoff<(Chunk, Outcomes)>(capacity: 8)
        // At most the chunks with the worker (2) plus one come back between two it takes.
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
                guard outcomes.put((chunk, join(chunk, sealer))) else { return }
            }
        }
        // The HMACs of the changes' ids, a chunk at a time, made ahead of the reads that need
        // them on a thread of their own (they took a sixteenth of this thread's time).
        let keyed = Handoff<[UInt8]>(capacity: 8)
        let keyerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer {
                keyed.finish()
                keyerDone.signal()
            }
            guard let sealer = try? RecordSealer(recipe) else { return }
            for start in stride(from: 0, to: changes.count, by: Self.mergeChunk) {
                guard keyed.put(sealer.macs(ofIDs: changes[start..<min(changes.count, start + Self.mergeChunk)].map(\.id))) else { return }
            }
        }
        defer {
            jobs.finish()
            outcomes.cancel()
            keyed.cancel()
            done.wait()
            keyerDone.wait()
        }
        // The HMACs of changes[macsFrom...], as far as made.
        var (macs, macsFrom) = ([UInt8](), 0)
        func mac(of change: Int) -> ArraySlice<UInt8>? {
            while change >= macsFrom + macs.count / 32 {
                guard let next = keyed.take() else { return nil }  // the sealer could not be made: the read makes it
                (macsFrom, macs) = (macsFrom + macs.count / 32, next)
            }
            let offset = 32 * (change - macsFrom)
            return macs[offset..<offset + 32]
        }

        return try database.withinTransaction {
            var merged: [MergeOutcome.Written] = []
            merged.reserveCapacity(changes.count)
            // A change to a record changed before in `changes` has its row read only once that
            // change is written (outcomes are written in order: once `merged` counts past it).
            var earlier = [Int](repeating: -1, count: changes.count)
            var last: [String: Int] = [:]
            last.reserveCapacity(changes.count)
            for (index, change) in changes.enumerated() { earlier[index] = last.updateValue(index, forKey: change.id) ?? -1 }
            func ready(_ index: Int) -> Bool { index < changes.count && earlier[index] < merged.count }
            var next = 0
            func readChunk() throws -> Chunk {
                var chunk: Chunk = []
                while chunk.count < Self.mergeChunk, ready(next) {
                    chunk.append((next, try row(collection: collection, id: changes[next].id, mac: mac(of: next))))
                    next += 1
                }
                return chunk
            }
            func writeAll(_ results: Outcomes) throws {
                for result in results { merged.append(try write(result.get())) }
            }
            // The chunks read and not yet written, in order: each one's outcomes if it was joined
            // here, nil while it is with the worker.
            var pending: [Outcomes?] = []
            var withWorker = 0
            let sealer = Result { () throws(StoreError) in try RecordSealer(recipe) }
            while next < changes.count || !pending.isEmpty {
                // Two chunks with the worker.
                while withWorker < 2, ready(next) {
                    _ = jobs.put(try readChunk())
                    pending.append(nil)
                    withWorker += 1
                }
                if let joined = pending.first ?? nil {
                    pending.removeFirst()
                    try writeAll(joined)
                    continue
                }
                // The oldest chunk is with the worker. Rather than wait for it, this thread joins
                // the next one itself: the two threads then share the joins as they have time.
                // (At most six chunks read and not written.)
                var returned = outcomes.take(waiting: false)
                if returned == nil, pending.count < 6, ready(next) {
                    let chunk = try readChunk()
                    pending.append(join(chunk, sealer))
                    continue
                }
                if returned == nil { returned = outcomes.take() }
                // The chunk comes back only to be freed here, where its rows were read.
                guard let (_, results) = returned else { throw NodeError("the merge's worker thread stopped") }
                pending.removeFirst()
                withWorker -= 1
                defer { _ = spent.put(results) }
                try writeAll(results)
            }
            return merged
        }
    }
}
