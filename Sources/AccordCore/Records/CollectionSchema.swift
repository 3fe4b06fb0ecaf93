/// What a collection's records hold: each field's name, kind and classification. Agreements
/// refer to it; when a collection has one, every write must fit it.
///
/// The file (`<node>/Schemas/<collection>.schema`) has one field per line:
///
///     # Customers of the firm
///     name:    text, personal
///     age:     integer, personal
///     health:  text, sensitive
public struct CollectionSchema: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case text, integer, decimal, boolean, date }
    public enum Classification: String, Sendable, CaseIterable { case `public`, `internal`, confidential, personal, sensitive }

    public struct Field: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var classification: Classification
        public var line: Int
    }

    public var collection: String
    public var fields: [Field]

    public init(collection: String, parsing text: String, fileName: String) throws(SettingsError) {
        self.collection = collection
        self.fields = []
        for (lineNumber, line) in SettingsFile.meaningfulLines(of: text) {
            guard let colon = line.firstIndex(of: ":") else {
                throw SettingsError(fileName, lineNumber, "expected 'field: kind, classification', as in 'age: integer, personal'")
            }
            let name = line[..<colon].trimmingWhitespace()
            let parts = line[line.index(after: colon)...].split(separator: ",").map { $0.trimmingWhitespace().lowercased() }
            guard !name.isEmpty else { throw SettingsError(fileName, lineNumber, "the field name before ':' is missing") }
            guard parts.count == 2 else {
                throw SettingsError(fileName, lineNumber, "'\(name)' needs a kind and a classification, as in '\(name): text, personal'")
            }
            guard let kind = Kind(rawValue: parts[0]) else {
                throw SettingsError(fileName, lineNumber, "unknown kind '\(parts[0])' for '\(name)'; use one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let classification = Classification(rawValue: parts[1]) else {
                throw SettingsError(
                    fileName, lineNumber,
                    "unknown classification '\(parts[1])' for '\(name)'; use one of: \(Classification.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            if let earlier = fields.first(where: { $0.name == name }) {
                throw SettingsError(fileName, lineNumber, "'\(name)' is declared twice (first on line \(earlier.line))")
            }
            fields.append(Field(name: name, kind: kind, classification: classification, line: lineNumber))
        }
        guard !fields.isEmpty else { throw SettingsError(fileName, nil, "declares no fields") }
    }

    public func field(_ name: String) -> Field? { fields.first { $0.name == name } }

    /// Checks one field of a write; text from a CSV cell is read as the declared kind.
    /// - Throws: a sentence naming the field, what the schema says, and what was given.
    public func conform(_ name: String, _ value: Value) throws(SchemaError) -> Value {
        guard let field = field(name) else {
            throw SchemaError("'\(name)' is not a field of \(collection) (its fields: \(fields.map(\.name).joined(separator: ", ")))")
        }
        switch (field.kind, value) {
        case (_, .null), (.text, .string), (.integer, .integer), (.decimal, .decimal), (.boolean, .boolean), (.date, .date):
            return value
        case (.decimal, .integer(let number)):
            return .decimal(String(number))
        case (_, .string(let text)):
            if let converted = Self.read(text, as: field.kind) { return converted }
        default:
            break
        }
        throw SchemaError("'\(name)' is \(field.kind.rawValue) in the schema of \(collection); '\(value)' is not")
    }

    static func read(_ text: String, as kind: Kind) -> Value? {
        switch kind {
        case .text: return .string(text)
        case .integer: return Int64(text).map(Value.integer)
        case .decimal: return Int64(text).map { .decimal(String($0)) } ?? Value.canonicalDecimal(text).map(Value.decimal)
        case .boolean: return text == "true" ? .boolean(true) : text == "false" ? .boolean(false) : nil
        case .date: return Value.isDate(text) ? .date(text) : nil
        }
    }
}

public struct SchemaError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
