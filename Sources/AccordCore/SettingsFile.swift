/// The plain `key = value` format of `node.conf` and `Peers/*.peer`: one setting a line,
/// `#` starts a comment, blank lines are ignored, keys are unique.
public struct SettingsFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// The lines of a hand-written file that say something (not blank, not `#` comments),
    /// trimmed, with their line numbers.
    static func meaningfulLines(of text: String) -> [(number: Int, text: String)] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, raw in
            let line = raw.trimmingWhitespace()
            return line.isEmpty || line.hasPrefix("#") ? nil : (index + 1, line)
        }
    }

    /// Reads `text`, naming `fileName` and the line in every error.
    public init(parsing text: String, fileName: String) throws(SettingsError) {
        for (lineNumber, line) in SettingsFile.meaningfulLines(of: text) {
            guard let equals = line.firstIndex(of: "=") else {
                throw SettingsError(fileName, lineNumber, "expected 'key = value', found '\(line)'")
            }
            let key = line[..<equals].trimmingWhitespace().lowercased()
            let value = line[line.index(after: equals)...].trimmingWhitespace()
            guard !key.isEmpty else { throw SettingsError(fileName, lineNumber, "the key before '=' is missing") }
            if let earlier = entries.first(where: { $0.key == key }) {
                throw SettingsError(fileName, lineNumber, "'\(key)' is set twice (first on line \(earlier.line))")
            }
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
    }

    public subscript(key: String) -> String? { entries.first { $0.key == key }?.value }

    public mutating func set(_ key: String, _ value: String?) {
        entries.removeAll { $0.key == key }
        if let value { entries.append(Entry(key: key, value: value, line: 0)) }
    }

    public var text: String { entries.map { "\($0.key) = \($0.value)\n" }.joined() }
}

public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let detail: String
    public init(_ file: String, _ line: Int?, _ detail: String) { (self.file, self.line, self.detail) = (file, line, detail) }
    public var description: String { line.map { "\(file):\($0): \(detail)" } ?? "\(file): \(detail)" }
}

extension SettingsFile {
    func required(_ key: String, in fileName: String) throws(SettingsError) -> Entry {
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isEmpty else {
            throw SettingsError(fileName, nil, "'\(key) = …' is missing")
        }
        return entry
    }

    func rejectUnknownKeys(allowed: Set<String>, in fileName: String) throws(SettingsError) {
        if let unknown = entries.first(where: { !allowed.contains($0.key) }) {
            let known = allowed.sorted().joined(separator: ", ")
            throw SettingsError(fileName, unknown.line, "unknown setting '\(unknown.key)' (known: \(known))")
        }
    }
}

/// Node and peer names: what operators type on the command line and see in logs.
public enum NodeName {
    /// Checks a name: 1–63 characters, lower-case letters, digits, '-' and '_', starting with a letter or digit.
    public static func validate(_ name: String) throws(SettingsError) {
        let scalars = Array(name.unicodeScalars)
        let valid =
            !scalars.isEmpty && scalars.count <= 63
            && scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
            && scalars[0] != "-" && scalars[0] != "_"
        guard valid else {
            throw SettingsError(
                "name",
                nil,
                "'\(name)' is not a valid name: use 1–63 lower-case letters, digits, '-' or '_', as in acme-logistics"
            )
        }
    }
}
