import AccordCore
import AccordStore
public import Foundation
import Synchronization

/// What an import did.
public struct ImportSummary: Sendable {
    public var imported = 0
    /// Rows left out, each with the line it starts on and why.
    public var rejected: [(line: Int, reason: String)] = []
}

public enum ImportFormat: String, Sendable {
    case csv, jsonl

    /// From the file name: `.csv`, or `.jsonl`/`.ndjson`/`.json`.
    public init?(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".csv") { self = .csv }
        else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { self = .jsonl }
        else { return nil }
    }
}

extension RecordBook {
    /// Rows per import transaction: large enough that the random index pages a batch dirties
    /// are written once for many rows (from C at a million rows, 100,000 insert 34% faster than
    /// 20,000; larger gain nothing), small enough that a crash loses little.
    public static let importBatchSize = 100_000
    /// And at most about this long: while a batch commits, every other writer to the store (the
    /// node storing what peers send, `accord record put`) waits for it, and gives up after 5 s.
    public static let importBatchTime = Duration.seconds(1)

    /// Imports a CSV file (header row with `id`, `subject` and field columns; empty cells are not
    /// written; values are text) or JSON lines (objects as `accord record export` writes them, or
    /// flat: `id`, `subject` and fields). Rows commit in batches of `batchSize` rows or of about
    /// `batchTime`, each batch whole with its audit entry; a bad row is reported with its line
    /// number and skipped.
    ///
    /// Two threads share the work: one reads the file, makes each new record's state and seals
    /// it (`ImportReader`); this one stores them. A collection the import made is removed again
    /// if nothing was imported into it.
    /// - Parameter progress: called now and then with (rows read, bytes read, file size).
    public func importRecords(
        collection: String,
        from file: URL,
        format: ImportFormat,
        batchSize: Int = RecordBook.importBatchSize,
        batchTime: Duration = RecordBook.importBatchTime,
        progress: (Int, Int, Int) -> Void = { _, _, _ in }
    ) throws -> ImportSummary {
        try RecordBook.validate(collection: collection, id: "-")
        try recordStore.database.checkpointInBackground()  // the thread that stores does not copy the WAL
        let clock = SharedClock(try recordStore.clock())
        let isNew = try recordStore.keyFingerprint(of: collection) == nil
        let reader = ImportReader(
            file: file, format: format, collection: collection, schema: try schema(of: collection), node: nodeID, clock: clock,
            sealing: try recordStore.sealingRecipe(for: collection))
        var summary = ImportSummary()
        defer {
            // Made for this import (to seal under its key) and left empty: it goes again.
            if isNew, summary.imported == 0, (try? recordStore.count(collection: collection)) == 0 { _ = try? recordStore.destroyKey(of: collection) }
        }
        // 16 chunks of 1,000 rows: the reader keeps working while a batch commits (4 made it
        // wait: a million rows took 14.9 s rather than 13.0 s), for about 25 MB more memory.
        let chunks = Handoff<ImportReader.Chunk>(capacity: 16)
        let spent = Handoff<[ImportReader.Row]>(capacity: 24)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            reader.read(into: chunks, freeing: spent)
            done.signal()
        }
        defer {
            chunks.cancel()
            done.wait()
        }

        var rows = ImportRows(chunks, spent: spent)
        while try rows.more() {
            try commitBatch(of: &rows, size: batchSize, time: batchTime, collection: collection, file: file.lastPathComponent, clock: clock, summary: &summary)
            progress(rows.rowsRead, rows.bytesRead, rows.size)
        }
        summary.rejected += rows.rejected
        summary.rejected.sort { $0.line < $1.line }
        return summary
    }

    /// Stores the next `size` rows, or those stored within about `time`, in one transaction with
    /// the clock and an audit entry.
    private func commitBatch(of rows: inout ImportRows, size: Int, time: Duration, collection: String, file: String, clock: SharedClock, summary: inout ImportSummary) throws {
        let store = recordStore
        let deadline = ContinuousClock.now + time
        var (saved, first, last) = (0, 0, 0)
        var rejected: [(line: Int, reason: String)] = []
        do {
            try store.database.transaction {
                // Rows read as new records, stored together (up to one the store holds).
                var fresh: [ImportReader.Row] = []
                func merge(_ row: ImportReader.Row) throws {
                    let fields = try row.new.map(store.fields(of:)) ?? Dictionary(uniqueKeysWithValues: row.fields.lazy.map { ($0.name, $0.value) })
                    do {
                        let prepared = try clock.update { try prepare(collection: collection, id: row.id, subject: row.subject, fields: fields, clock: &$0) }
                        try store.save(collection: collection, id: row.id, entry: prepared.set.entries[row.id]!)
                        saved += 1
                    } catch let error as NodeError {
                        rejected.append((row.line, "\(error)"))
                    }
                }
                func storeFresh() throws {
                    let records = fresh.map { $0.new! }
                    var next = 0
                    while next < records.count {
                        let stored = try store.insertNew(records[next...])
                        saved += stored
                        next += stored
                        if next < records.count { try merge(fresh[next]) }  // the store holds it
                        next += 1
                    }
                    fresh.removeAll(keepingCapacity: true)
                }
                for _ in 0..<size {
                    guard let row = try rows.next() else { break }
                    if first == 0 { first = row.line }
                    last = row.line
                    // A row with a subject was made a new record, sealed, by the reader: stored
                    // as such, without reading first, unless the store holds it.
                    if row.new != nil {
                        fresh.append(row)
                        guard fresh.count == 1000 else { continue }
                        try storeFresh()
                        if ContinuousClock.now >= deadline { break }
                    } else {
                        try storeFresh()
                        try merge(row)
                    }
                }
                try storeFresh()
                guard first > 0 else { return }
                try store.setClock(clock.last)
                try store.audit.append(time: NodeLog.timestamp(), actor: actorName, action: "record import", detail: "\(collection): \(saved) record(s) from \(file), lines \(first)–\(last)")
            }
        } catch let error as NodeError where first == 0 {
            throw error  // the file could not be read at all
        } catch {
            throw NodeError("import stopped at line \(first): \(error); the \(summary.imported) records before it are saved")
        }
        summary.imported += saved
        summary.rejected += rejected
        if saved > 0 { WakeSocket.wake(directory) }
    }
}

/// The node's clock, shared by an import's two threads: every stamp either takes is unique.
final class SharedClock: Sendable {
    private let clock: Mutex<HybridLogicalClock>

    init(_ last: HLC) { clock = Mutex(HybridLogicalClock(last: last)) }

    var last: HLC { clock.withLock { $0.last } }

    func tick() -> HLC { clock.withLock { $0.tick(wall: RecordBook.wallMilliseconds()) } }

    func update<T>(_ body: (inout HybridLogicalClock) throws -> T) throws -> T {
        try clock.withLock { (clock: inout HybridLogicalClock) throws -> T in try body(&clock) }
    }
}

/// The rows an `ImportReader` hands over, one at a time, with its counts so far.
struct ImportRows {
    private let chunks: Handoff<ImportReader.Chunk>
    private let spent: Handoff<[ImportReader.Row]>
    private var current: [ImportReader.Row] = []
    private var index = 0
    private var failure: NodeError?
    private(set) var rejected: [(line: Int, reason: String)] = []
    private(set) var rowsRead = 0, bytesRead = 0, size = 0

    init(_ chunks: Handoff<ImportReader.Chunk>, spent: Handoff<[ImportReader.Row]>) { (self.chunks, self.spent) = (chunks, spent) }

    /// Whether rows remain (waiting for the reader if need be).
    mutating func more() throws -> Bool {
        while index == current.count {
            if let failure { throw failure }
            guard let chunk = chunks.take() else { return false }
            _ = spent.put(current)
            rejected += chunk.rejected
            (current, index, rowsRead, bytesRead, size, failure) = (chunk.rows, 0, chunk.rowsRead, chunk.bytesRead, chunk.size, chunk.failure)
        }
        return true
    }

    mutating func next() throws -> ImportReader.Row? {
        guard try more() else { return nil }
        index += 1
        return current[index - 1]
    }
}

/// The reading half of an import: lines into rows, and each row with a subject into the sealed
/// state of a new record (stamped from the shared clock), handed over in chunks of 1,000.
struct ImportReader: Sendable {
    struct Row: Sendable {
        let line: Int
        let id: String
        let subject: String?
        /// In the file's order; names distinct. None where `new` holds them: the reader frees
        /// them at once, while they are in its cache, rather than after the writer is done.
        let fields: [(name: String, value: Value)]
        /// The record as a new one, sealed; nil without a subject (only an existing record can
        /// take it) or if the fields break the schema (the writer says why).
        let new: SealedRecord?
    }

    struct Chunk: Sendable {
        var rows: [Row] = []
        var rejected: [(line: Int, reason: String)] = []
        var rowsRead = 0, bytesRead = 0, size = 0
        /// Why the import cannot go on (the rows before it are good).
        var failure: NodeError?
    }

    let file: URL
    let format: ImportFormat
    let collection: String
    let schema: CollectionSchema?
    let node: NodeID
    let clock: SharedClock
    let sealing: RecordSealer.Recipe

    /// Reads the file into `chunks`. The rows come back through `spent` to be freed here: memory
    /// freed by a thread other than the one that allocated it makes both wait on the allocator's
    /// lock (a third of the import's time went to that).
    func read(into chunks: Handoff<Chunk>, freeing spent: Handoff<[Row]>) {
        defer { spent.cancel() }
        var chunk = Chunk()
        do {
            let sealer = try RecordSealer(sealing)
            try read(sealer) { row in
                if let row { chunk.rows.append(row) }
                guard chunk.rows.count + chunk.rejected.count >= 1000 else { return true }
                defer {
                    chunk = Chunk(size: chunk.size)
                    while spent.take(waiting: false) != nil {}
                }
                return chunks.put(chunk)
            } rejected: { line, reason in
                chunk.rejected.append((line, reason))
            } progress: { rows, bytes, size in
                (chunk.rowsRead, chunk.bytesRead, chunk.size) = (rows, bytes, size)
            }
        } catch {
            chunk.failure = error as? NodeError ?? NodeError("\(error)")
        }
        _ = chunks.put(chunk)
        chunks.finish()
    }

    /// Reads the file, giving each row to `emit` (nil after a rejection: a chance to hand over)
    /// until it returns false.
    private func read(
        _ sealer: RecordSealer,
        emit: (Row?) -> Bool,
        rejected: (Int, String) -> Void,
        progress: (Int, Int, Int) -> Void
    ) throws {
        try NodeError.checkReadable(file)
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: file) } catch { throw NodeError.reading(file, error) }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        var rowsRead = 0
        var header: Columns?
        var assembler = CSVRowAssembler()
        var ranges: [Range<Int>] = []  // a plain line's cells (`plainRow`)
        var lines = LineReader(handle, file: file)
        while let (lineNumber, line) = try lines.next() {
            rowsRead += 1
            progress(rowsRead, lines.bytesRead, size)
            let row: Row
            do {
                switch format {
                case .jsonl:
                    let line = String(decoding: line, as: UTF8.self)
                    if line.allSatisfy(\.isWhitespace) { continue }
                    row = try jsonRow(line, line: lineNumber, sealer)
                case .csv:
                    // Most lines: made into a record straight from their bytes.
                    if let columns = header, columns.textOnly,
                        let plain = try line.withUnsafeBufferPointer({ try plainRow($0, line: lineNumber, columns: columns, assembler: &assembler, cells: &ranges, sealer) })
                    {
                        row = plain
                        break
                    }
                    let cells: [String]
                    do {
                        guard let assembled = try line.withUnsafeBufferPointer({ bytes throws(CSVError) in try assembler.feed(bytes: bytes, lineNumber: lineNumber) }) else { continue }
                        cells = assembled
                    } catch {
                        rejected(error.line, error.detail)
                        guard emit(nil) else { return }
                        continue
                    }
                    guard let columns = header else {
                        header = try checkHeader(cells)
                        continue
                    }
                    if cells.count == 1, cells[0].isEmpty { continue }  // blank line
                    row = try csvRow(cells, columns: columns, line: assembler.startLine, sealer)
                }
            } catch let error as NodeError where header != nil || format == .jsonl {
                rejected(format == .csv ? assembler.startLine : lineNumber, "\(error)")
                guard emit(nil) else { return }
                continue
            }
            guard emit(row) else { return }
        }
        if format == .csv, assembler.isInsideQuotes {
            rejected(assembler.startLine, "the file ends inside a quoted field")
        }
        if format == .csv, header == nil { throw NodeError("\(file.lastPathComponent) is empty: a CSV import needs a header row with id and subject") }
        progress(rowsRead, size, size)
    }

    /// The row, with its state as a new record if it has a subject and its fields are good.
    private func row(line: Int, id: String, subject: String?, fields: [(name: String, value: Value)], _ sealer: RecordSealer) throws -> Row {
        try RecordBook.validate(id: id)  // the collection's name was checked once, before reading
        var new: SealedRecord?
        if let subject, let fields = try? RecordBook.conformed(fields, id: id, schema: schema) {
            try RecordBook.checkSize(RecordSet.newEntrySize(collection: collection, subject: subject, fields: fields), id: id)
            new = try sealer.sealNew(id: id, subject: subject, fields: fields, stamp: Stamp(clock: clock.tick(), node: node))
        }
        return Row(line: line, id: id, subject: subject, fields: new == nil ? fields : [], new: new)
    }

    /// A CSV header's columns: which holds the id, which the subject, which the fields.
    private struct Columns {
        let names: [String]
        let id: Int
        let subject: Int?
        let fields: [(column: Int, name: String)]
        /// Whether every field is text as it is (the schema says so, or there is none).
        var textOnly = false

        /// Nil without an `id` column.
        init?(_ names: [String]) {
            guard let id = names.firstIndex(of: "id") else { return nil }
            (self.names, self.id) = (names, id)
            subject = names.firstIndex(of: "subject")
            fields = names.enumerated().filter { $0.element != "id" && $0.element != "subject" }.map { ($0.offset, $0.element) }
        }
    }

    private func checkHeader(_ cells: [String]) throws -> Columns {
        let names = cells.map { $0.trimmingWhitespace() }
        guard var columns = Columns(names) else { throw NodeError("line 1: the header needs an 'id' column (and 'subject' for new records)") }
        var seen: Set<String> = []
        for (column, name) in names.enumerated() {
            guard !name.isEmpty else { throw NodeError("line 1: column \(column + 1) has no name") }
            guard seen.insert(name).inserted else { throw NodeError("line 1: column '\(name)' appears twice") }
        }
        columns.textOnly = schema.map { schema in columns.fields.allSatisfy { schema.field($0.name)?.kind == .text } } ?? true
        return columns
    }

    /// The row of a line that needs none of the general way's work (`csvRow`), made a new record
    /// straight from the line's bytes: no text is made of a cell but the id and the subject. Nil
    /// where the general way must read it: a line with quotes, a blank one, one with too few or
    /// too many cells or without an id or a subject, or bytes that are not UTF-8 (it replaces
    /// them). Only for columns all text as they are (`Columns.textOnly`).
    private func plainRow(
        _ line: UnsafeBufferPointer<UInt8>, line number: Int, columns: Columns, assembler: inout CSVRowAssembler, cells: inout [Range<Int>], _ sealer: RecordSealer
    ) throws -> Row? {
        guard assembler.plainCells(line, lineNumber: number, into: &cells), cells.count == columns.names.count,
            let subjectColumn = columns.subject, !cells[subjectColumn].isEmpty, !cells[columns.id].isEmpty,
            line.isValidUTF8
        else { return nil }
        func text(_ cell: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: line[cell]), as: UTF8.self) }
        let (id, subject) = (text(cells[columns.id]), text(cells[subjectColumn]))
        try RecordBook.validate(id: id)
        var texts: [(name: String, utf8: UnsafeBufferPointer<UInt8>)] = []
        texts.reserveCapacity(columns.fields.count)
        for (column, name) in columns.fields where !cells[column].isEmpty { texts.append((name, UnsafeBufferPointer(rebasing: line[cells[column]]))) }
        try RecordBook.checkSize(RecordSet.newEntrySize(collection: collection, subject: subject, texts: texts), id: id)
        let new = try sealer.sealNew(id: id, subject: subject, texts: texts, stamp: Stamp(clock: clock.tick(), node: node))
        return Row(line: number, id: id, subject: subject, fields: [], new: new)
    }

    private func csvRow(_ cells: [String], columns: Columns, line: Int, _ sealer: RecordSealer) throws -> Row {
        guard cells.count == columns.names.count else {
            throw NodeError("\(cells.count) values for \(columns.names.count) columns")
        }
        let id = cells[columns.id]
        let subject = columns.subject.map { cells[$0] }.flatMap { $0.isEmpty ? nil : $0 }
        var fields: [(name: String, value: Value)] = []
        fields.reserveCapacity(columns.fields.count)
        for (column, name) in columns.fields where !cells[column].isEmpty { fields.append((name, .string(cells[column]))) }
        guard !id.isEmpty else { throw NodeError("the id is empty") }
        return try row(line: line, id: id, subject: subject, fields: fields, sealer)
    }

    private func jsonRow(_ line: String, line number: Int, _ sealer: RecordSealer) throws -> Row {
        let object = try FieldAssignment.jsonObject(line)
        guard let id = object["id"] as? String, !id.isEmpty else { throw NodeError("\"id\" is missing or not text") }
        if let other = object["collection"] as? String, other != collection {
            throw NodeError("it belongs to collection '\(other)', not '\(collection)'")
        }
        let members = (object["fields"] as? [String: Any]) ?? object.filter { !["id", "subject", "collection"].contains($0.key) }
        let fields = try members.map { (name: $0.key, value: try FieldAssignment.jsonValue($0.value, field: $0.key)) }
        return try row(line: number, id: id, subject: object["subject"] as? String, fields: fields, sealer)
    }
}

/// Lines of a file read in 1 MiB chunks, split at the byte 0x0A (a trailing CR stays on the line).
/// A byte-order mark opening the file (spreadsheets save "CSV UTF-8" with one) is not part of
/// its first line.
struct LineReader {
    private let handle: FileHandle
    private let file: URL
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var lineNumber = 0
    private(set) var bytesRead = 0

    init(_ handle: FileHandle, file: URL) { (self.handle, self.file) = (handle, file) }

    /// The next line's number and bytes (without the line feed), nil at the end.
    mutating func next() throws -> (Int, ArraySlice<UInt8>)? {
        while true {
            if let newline = lineFeed() {
                let line = buffer[start..<newline]
                start = newline + 1
                return numbered(line)
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return numbered(line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch { throw NodeError.reading(file, error) }
            if chunk.isEmpty { ended = true }
            bytesRead += chunk.count
            buffer.append(contentsOf: chunk)
        }
    }

    /// Where the next line feed from `start` is (`memchr`: a byte at a time took a twentieth
    /// of an import's reading thread).
    private func lineFeed() -> Int? {
        buffer.withUnsafeBytes { bytes in
            guard start < bytes.count, let found = memchr(bytes.baseAddress! + start, 10, bytes.count - start) else { return nil }
            return UnsafeRawPointer(found) - bytes.baseAddress!
        }
    }

    private mutating func numbered(_ line: ArraySlice<UInt8>) -> (Int, ArraySlice<UInt8>) {
        lineNumber += 1
        return (lineNumber, lineNumber == 1 && line.starts(with: [0xEF, 0xBB, 0xBF]) ? line.dropFirst(3) : line)
    }
}
