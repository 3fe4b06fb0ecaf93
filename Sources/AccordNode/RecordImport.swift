import AccordCore
import AccordStore
public import Foundation

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
    /// are written once for many rows, small enough that a crash loses little.
    public static let importBatchSize = 5000

    /// Imports a CSV file (header row with `id`, `subject` and field columns; empty cells are not
    /// written; values are text) or JSON lines (objects as `accord record export` writes them, or
    /// flat: `id`, `subject` and fields). Rows commit in batches of `batchSize`, each batch whole
    /// with its audit entry; a bad row is reported with its line number and skipped.
    /// - Parameter progress: called now and then with (rows read, bytes read, file size).
    public func importRecords(
        collection: String,
        from file: URL,
        format: ImportFormat,
        batchSize: Int = RecordBook.importBatchSize,
        progress: (Int, Int, Int) -> Void = { _, _, _ in }
    ) throws -> ImportSummary {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            throw NodeError("cannot read \(file.path): no such file, or not readable")
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        var summary = ImportSummary()
        var batch: [(line: Int, id: String, subject: String?, fields: [String: Value])] = []
        var rowsRead = 0
        var header: [String]?
        var assembler = CSVRowAssembler()

        func flush() throws {
            guard !batch.isEmpty else { return }
            try commit(batch, collection: collection, file: file.lastPathComponent, summary: &summary)
            batch.removeAll(keepingCapacity: true)
        }

        var lines = LineReader(handle)
        while let (lineNumber, line) = try lines.next() {
            rowsRead += 1
            if rowsRead % 1000 == 0 { progress(rowsRead, lines.bytesRead, size) }
            switch format {
            case .jsonl:
                let line = String(decoding: line, as: UTF8.self)
                if line.allSatisfy(\.isWhitespace) { continue }
                do { batch.append(try jsonRow(line, line: lineNumber, collection: collection)) } catch { summary.rejected.append((lineNumber, "\(error)")) }
            case .csv:
                let cells: [String]
                do {
                    guard let row = try line.withUnsafeBufferPointer({ bytes throws(CSVError) in try assembler.feed(bytes: bytes, lineNumber: lineNumber) }) else { continue }
                    cells = row
                } catch {
                    summary.rejected.append((error.line, error.detail))
                    continue
                }
                guard let columns = header else {
                    header = try checkHeader(cells)
                    continue
                }
                if cells.count == 1, cells[0].isEmpty { continue }  // blank line
                do { batch.append(try csvRow(cells, columns: columns, line: assembler.startLine)) } catch { summary.rejected.append((assembler.startLine, "\(error)")) }
            }
            if batch.count >= batchSize { try flush() }
        }
        if format == .csv, assembler.isInsideQuotes {
            summary.rejected.append((assembler.startLine, "the file ends inside a quoted field"))
        }
        if format == .csv, header == nil { throw NodeError("\(file.lastPathComponent) is empty: a CSV import needs a header row with id and subject") }
        try flush()
        progress(rowsRead, size, size)
        return summary
    }

    private func commit(
        _ batch: [(line: Int, id: String, subject: String?, fields: [String: Value])],
        collection: String,
        file: String,
        summary: inout ImportSummary
    ) throws {
        let store = recordStore
        var clock = try HybridLogicalClock(last: store.clock())
        var rejected: [(Int, String)] = []
        var saved = 0
        do {
            try store.database.transaction {
                for row in batch {
                    do {
                        // A row with a subject may well be a new record: stored as such without
                        // reading first, unless the store already holds it.
                        if row.subject != nil {
                            let new = try prepare(collection: collection, id: row.id, subject: row.subject, fields: row.fields, clock: &clock, assumingNew: true)
                            if try store.insertNew(collection: collection, id: row.id, entry: new.set.entries[row.id]!) {
                                saved += 1
                                continue
                            }
                        }
                        let prepared = try prepare(collection: collection, id: row.id, subject: row.subject, fields: row.fields, clock: &clock)
                        try store.save(collection: collection, id: row.id, entry: prepared.set.entries[row.id]!)
                        saved += 1
                    } catch let error as NodeError {
                        rejected.append((row.line, "\(error)"))
                    }
                }
                try store.setClock(clock.last)
                let lines = "lines \(batch.first!.line)–\(batch.last!.line)"
                try store.audit.append(time: NodeLog.timestamp(), actor: actorName, action: "record import", detail: "\(collection): \(saved) record(s) from \(file), \(lines)")
            }
        } catch {
            throw NodeError("import stopped at line \(batch.first!.line): \(error); the \(summary.imported) records before it are saved")
        }
        summary.imported += saved
        summary.rejected += rejected
        WakeSocket.wake(directory)
    }

    private func checkHeader(_ cells: [String]) throws -> [String] {
        let columns = cells.map { $0.trimmingWhitespace() }
        guard columns.contains("id") else { throw NodeError("line 1: the header needs an 'id' column (and 'subject' for new records)") }
        var seen: Set<String> = []
        for column in columns {
            guard !column.isEmpty else { throw NodeError("line 1: a column has no name") }
            guard seen.insert(column).inserted else { throw NodeError("line 1: column '\(column)' appears twice") }
        }
        return columns
    }

    private func csvRow(_ cells: [String], columns: [String], line: Int) throws -> (line: Int, id: String, subject: String?, fields: [String: Value]) {
        guard cells.count == columns.count else {
            throw NodeError("\(cells.count) values for \(columns.count) columns")
        }
        var id = ""
        var subject: String?
        var fields: [String: Value] = [:]
        for (column, cell) in zip(columns, cells) {
            switch column {
            case "id": id = cell
            case "subject": subject = cell.isEmpty ? nil : cell
            default: if !cell.isEmpty { fields[column] = .string(cell) }
            }
        }
        guard !id.isEmpty else { throw NodeError("the id is empty") }
        return (line, id, subject, fields)
    }

    private func jsonRow(_ line: String, line number: Int, collection: String) throws -> (line: Int, id: String, subject: String?, fields: [String: Value]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw NodeError("not a JSON object")
        }
        guard let id = object["id"] as? String, !id.isEmpty else { throw NodeError("\"id\" is missing or not text") }
        if let other = object["collection"] as? String, other != collection {
            throw NodeError("it belongs to collection '\(other)', not '\(collection)'")
        }
        var fields: [String: Value] = [:]
        let members = (object["fields"] as? [String: Any]) ?? object.filter { !["id", "subject", "collection"].contains($0.key) }
        for (name, member) in members { fields[name] = try FieldAssignment.jsonValue(member, field: name) }
        return (number, id, object["subject"] as? String, fields)
    }
}

/// Lines of a file read in 1 MiB chunks, split at the byte 0x0A (a trailing CR stays on the line).
struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var lineNumber = 0
    private(set) var bytesRead = 0

    init(_ handle: FileHandle) { self.handle = handle }

    /// The next line's number and bytes (without the line feed), nil at the end.
    mutating func next() throws -> (Int, ArraySlice<UInt8>)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                let line = buffer[start..<newline]
                start = newline + 1
                lineNumber += 1
                return (lineNumber, line)
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                lineNumber += 1
                return (lineNumber, line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { ended = true }
            bytesRead += chunk.count
            buffer.append(contentsOf: chunk)
        }
    }
}
