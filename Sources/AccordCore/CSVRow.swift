/// RFC 4180 rows, fed one physical line at a time (a quoted field may span lines).
public struct CSVRowAssembler: Sendable {
    private var pending: [String] = []
    private var field: [UInt8] = []
    private var inQuotes = false
    private var afterQuote = false
    /// The line the row being assembled started on.
    public private(set) var startLine = 0

    public init() {}

    /// Feeds one line (without its line break). Returns the finished row, or nil if a quoted
    /// field continues on the next line.
    /// - Throws: a reason if the line breaks the quoting rules.
    public mutating func feed(_ line: Substring, lineNumber: Int) throws(CSVError) -> [String]? {
        if !inQuotes { startLine = lineNumber } else { field.append(newline) }
        var bytes = line.utf8[...]
        if bytes.last == carriageReturn { bytes = bytes.dropLast() }
        // Quotes and commas are ASCII, so the UTF-8 bytes can be scanned directly; a field is
        // decoded once, when it ends.
        for byte in bytes {
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
                } else {
                    reset()
                    throw CSVError(line: lineNumber, detail: "text after a closing quote; write a quote inside a quoted field as \"\"")
                }
            } else if byte == comma {
                endField()
            } else if byte == quote && field.isEmpty {
                inQuotes = true
            } else {
                field.append(byte)
            }
        }
        if inQuotes { return nil }
        endField()
        defer { reset() }
        return pending
    }

    private mutating func endField() {
        pending.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
    }

    /// Whether the input ended inside a quoted field.
    public var isInsideQuotes: Bool { inQuotes }

    private mutating func reset() {
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
