public import AccordCore
import Foundation

/// Field values as typed on the command line: `name=Li Wei` is text; `age:=42`, `vip:=true`,
/// `balance:=12.50`, `note:=null`, `since:=2026-11-25` are typed (HTTPie's convention).
public enum FieldAssignment {
    public static func parse(_ word: String) throws -> (name: String, value: Value) {
        if let typed = word.range(of: ":=") {
            let name = String(word[..<typed.lowerBound])
            let text = String(word[typed.upperBound...])
            guard !name.isEmpty else { throw NodeError("'\(word)': the field name before ':=' is missing") }
            return (name, try typedValue(text, field: name))
        }
        guard let equals = word.firstIndex(of: "=") else {
            throw NodeError("'\(word)' is not a field: write name=value (text) or name:=value (number, true/false, null, date)")
        }
        let name = String(word[..<equals])
        guard !name.isEmpty else { throw NodeError("'\(word)': the field name before '=' is missing") }
        return (name, .string(String(word[word.index(after: equals)...])))
    }

    static func typedValue(_ text: String, field: String) throws -> Value {
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "null": return .null
        default: break
        }
        if let integer = Int64(text) { return .integer(integer) }
        if let decimal = Value.canonicalDecimal(text) { return .decimal(decimal) }
        if Value.isDate(text) { return .date(text) }
        if isWholeNumber(text) {
            throw NodeError("\(field):=\(text): \(tooLarge); write \(field):=\(text).0 to keep it exactly as a decimal, or \(field)=\(text) for text")
        }
        if looksLikeDate(text) {
            throw NodeError("\(field):=\(text): there is no such date (YYYY-MM-DD: month 01–12, a day the month has); for text write \(field)=\(text)")
        }
        throw NodeError("\(field):=\(text): not a number, true/false, null or a date (YYYY-MM-DD); for text write \(field)=\(text)")
    }

    /// Digits, perhaps after a minus: what is not an integer only for being too large.
    private static func isWholeNumber(_ text: String) -> Bool { !text.contains(".") && Value.canonicalDecimal(text + ".0") != nil }

    private static let tooLarge = "too large for an integer (\(Int64.min) to \(Int64.max))"

    /// Digits in the shape of a date, `NNNN-NN-NN`, whether or not it is one.
    private static func looksLikeDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 10 && bytes.indices.allSatisfy { [4, 7].contains($0) ? bytes[$0] == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) }
    }

    /// A JSON object's members as fields (`--json`): strings, integers, decimals, booleans, null.
    public static func parseJSON(_ text: String) throws -> [String: Value] {
        let object: [String: Any]
        do {
            object = try jsonObject(text)
        } catch {
            throw NodeError("--json: \(error); write one object, e.g. '{\"name\": \"Li Wei\", \"age\": 42}'")
        }
        var fields: [String: Value] = [:]
        for (name, member) in object {
            do {
                fields[name] = try jsonValue(member, field: name)
            } catch {
                throw NodeError("--json: \(error)")
            }
        }
        return fields
    }

    /// The object `text` holds (of `--json`, or a line of JSON lines).
    static func jsonObject(_ text: String) throws -> [String: Any] {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            throw NodeError("not valid JSON (a number too large for JSON counts as invalid)")
        }
        guard let object = parsed as? [String: Any] else { throw NodeError("not a JSON object") }
        return object
    }

    /// A JSON member's value as a field's (of `--json`, or of a line of JSON lines).
    static func jsonValue(_ member: Any, field: String) throws -> Value {
        switch member {
        case is NSNull: return .null
        case let text as String: return Value.isDate(text) ? .date(text) : .string(text)
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return .boolean(number.boolValue) }  // JSON true/false
            let text = number.stringValue
            if let integer = Int64(text) { return .integer(integer) }
            if let decimal = Value.canonicalDecimal(text) { return .decimal(decimal) }
            if isWholeNumber(text) { throw NodeError("'\(field)' is \(text): \(tooLarge); write \(text).0 to keep it exactly as a decimal, or \"\(text)\" for text") }
            throw NodeError("'\(field)' is \(text); write numbers in plain decimal notation (12.50, not 1.25e1)")
        default:
            throw NodeError("'\(field)' is a list or object; a field holds one value")
        }
    }

    /// A value as JSON (for `--json` output and export).
    public static func jsonObject(_ value: Value) -> Any {
        switch value {
        case .string(let text), .date(let text): text
        case .integer(let number): NSNumber(value: number)
        case .decimal(let text): NSDecimalNumber(string: text)
        case .boolean(let flag): flag
        case .null: NSNull()
        }
    }
}
