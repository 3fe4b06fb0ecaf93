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
                // Each change read where it lies (a copy retains its entry's storage and bytes).
                let joined = chunk.map { job in
                    Result { () throws(StoreError) in
                        try sealer.get().join(changes[job.change].entry, encoded: changes[job.change].encoded, into: job.row, unless: check(changes[job.change]))
                    }
                }
                guard outcomes.put((chunk, joined)) else { return }
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
                guard keyed.put(sealer.macs(ofIDs: changes[start..<min(changes.count, start + Self.mergeChunk)].lazy.map(\.id))) else { return }
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
            var submitted = 0
            var next = 0
            while next < changes.count || submitted > 0 {
                // Four chunks with the worker.
                while submitted < 4, ready(next) {
                    var chunk: Chunk = []
                    while chunk.count < Self.mergeChunk, ready(next) {
                        chunk.append((next, try row(collection: collection, id: changes[next].id, mac: mac(of: next))))
                        next += 1
                    }
                    submitted += 1
                    _ = jobs.put(chunk)
                }
                // The chunk comes back only to be freed here, where its rows were read.
                guard let (_, results) = outcomes.take() else { throw NodeError("the merge's worker thread stopped") }
                submitted -= 1
                defer { _ = spent.put(results) }
                for result in results {
                    switch result {
                    case .success(let outcome): merged.append(try write(outcome))
                    case .failure(let error): throw error
                    }
                }
            }
            return merged
        }
    }
}
