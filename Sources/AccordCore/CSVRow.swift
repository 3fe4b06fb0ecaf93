/// RFC 4180 rows, fed one physical line at a time (a quoted field may span lines).
public struct CSVRowAssembler: Sendable {
    private var pending: [String] = []
    private var field: [UInt8] = []
    private var inQuotes = false
    private var afterQuote = false
    /// How many fields the last row had: room made for as many in the next.
    private var columns = 0
    /// The line the row being assembled started on.
    public private(set) var startLine = 0

    public init() {}

    /// Feeds one line (without its line break). Returns the finished row, or nil if a quoted
    /// field continues on the next line.
    /// - Throws: a reason if the line breaks the quoting rules.
    public mutating func feed(_ line: Substring, lineNumber: Int) throws(CSVError) -> [String]? {
        var line = line
        return try line.withUTF8 { bytes in Result { () throws(CSVError) in try feed(bytes: bytes, lineNumber: lineNumber) } }.get()
    }

    /// The same, for a line's UTF-8 bytes.
    public mutating func feed(bytes line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(CSVError) -> [String]? {
        var cells: [Range<Int>] = []
        if plainCells(line, lineNumber: lineNumber, into: &cells) {
            defer { reset() }
            pending = cells.map { String(decoding: UnsafeBufferPointer(rebasing: line[$0]), as: UTF8.self) }
            return pending
        }
        if !inQuotes { startLine = lineNumber } else { field.append(newline) }
        var end = line.count
        if end > 0, line[end - 1] == carriageReturn { end -= 1 }
        pending.reserveCapacity(columns)
        // Quotes and commas are ASCII, so the UTF-8 bytes can be scanned directly. An unquoted
        // field is decoded straight from the line (it starts at `run`); a quoted one is
        // gathered in `field`, its doubled quotes undone.
        var run = 0
        for index in 0..<end {
            let byte = line[index]
            if inQuotes {
                if byte == quote {
                    inQuotes = false
                    afterQuote = true
                } else {
                    field.append(byte)
                }
            } else if afterQuote {
                if byte == quote {  // "" inside quotes: a literal quote
                    field.append(quote)
                    inQuotes = true
                    afterQuote = false
                } else if byte == comma {
                    endField()
                    afterQuote = false
                    run = index + 1
                } else {
                    reset()
                    throw CSVError(line: lineNumber, detail: "text after a closing quote; write a quote inside a quoted field as \"\"")
                }
            } else if byte == comma {
                endField(line, run..<index)
                run = index + 1
            } else if byte == quote, index == run {
                inQuotes = true
            }
        }
        if inQuotes { return nil }
        if afterQuote { endField() } else { endField(line, run..<end) }
        defer { reset() }
        return pending
    }

    /// The cells of `line` as ranges of its bytes, if it is a row of its own without quotes
    /// (most are): then `feed` would make texts of those bytes. False if it holds a quote or
    /// continues a quoted field; `feed` reads it then. A trailing CR is not part of the last cell.
    public mutating func plainCells(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, into cells: inout [Range<Int>]) -> Bool {
        guard !inQuotes, !line.contains(quote) else { return false }
        startLine = lineNumber
        cells.removeAll(keepingCapacity: true)
        splitAtCommas(UnsafeBufferPointer(rebasing: line[..<(line.last == carriageReturn ? line.count - 1 : line.count)]), into: &cells)
        return true
    }

    /// A line without quotes: its fields are the runs between commas.
    private func splitAtCommas(_ line: UnsafeBufferPointer<UInt8>, into cells: inout [Range<Int>]) {
        var run = 0
        for index in 0..<line.count where line[index] == comma {
            cells.append(run..<index)
            run = index + 1
        }
        cells.append(run..<line.count)
    }

    /// Ends a quoted field (gathered in `field`).
    private mutating func endField() {
        pending.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
    }

    /// Ends an unquoted field: those bytes of the line.
    private mutating func endField(_ line: UnsafeBufferPointer<UInt8>, _ bytes: Range<Int>) {
        pending.append(String(decoding: UnsafeBufferPointer(rebasing: line[bytes]), as: UTF8.self))
    }

    /// Whether the input ended inside a quoted field.
    public var isInsideQuotes: Bool { inQuotes }

    private mutating func reset() {
        columns = pending.count
        pending = []
        field.removeAll(keepingCapacity: true)
        inQuotes = false
        afterQuote = false
    }
}

private let (quote, comma, carriageReturn, newline) = (UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "\r"), UInt8(ascii: "\n"))

public struct CSVError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let detail: String
    public var description: String { "line \(line): \(detail)" }
}
