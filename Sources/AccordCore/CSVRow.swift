/// RFC 4180 rows, fed one physical line at a time (a quoted field may span lines).
public struct CSVRowAssembler: Sendable {
    private var pending: [String] = []
    private var field = ""
    private var inQuotes = false
    private var afterQuote = false
    /// The line the row being assembled started on.
    public private(set) var startLine = 0

    public init() {}

    /// Feeds one line (without its line break). Returns the finished row, or nil if a quoted
    /// field continues on the next line.
    /// - Throws: a reason if the line breaks the quoting rules.
    public mutating func feed(_ line: Substring, lineNumber: Int) throws(CSVError) -> [String]? {
        if !inQuotes { startLine = lineNumber } else { field.append("\n") }
        var line = line
        if line.hasSuffix("\r") { line = line.dropLast() }
        for character in line {
            if inQuotes {
                if character == "\"" {
                    inQuotes = false
                    afterQuote = true
                } else {
                    field.append(character)
                }
            } else if afterQuote {
                if character == "\"" {  // "" inside quotes: a literal quote
                    field.append("\"")
                    inQuotes = true
                    afterQuote = false
                } else if character == "," {
                    pending.append(field)
                    field = ""
                    afterQuote = false
                } else {
                    reset()
                    throw CSVError(line: lineNumber, detail: "text after a closing quote; write a quote inside a quoted field as \"\"")
                }
            } else if character == "," {
                pending.append(field)
                field = ""
            } else if character == "\"" && field.isEmpty {
                inQuotes = true
            } else {
                field.append(character)
            }
        }
        if inQuotes { return nil }
        pending.append(field)
        defer { reset() }
        return pending
    }

    /// Whether the input ended inside a quoted field.
    public var isInsideQuotes: Bool { inQuotes }

    private mutating func reset() {
        pending = []
        field = ""
        inQuotes = false
        afterQuote = false
    }
}

public struct CSVError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let detail: String
    public var description: String { "line \(line): \(detail)" }
}
