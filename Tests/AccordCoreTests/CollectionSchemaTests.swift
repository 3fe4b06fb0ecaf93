import Testing

@testable import AccordCore

@Suite("Collection schemas")
struct CollectionSchemaTests {
    let text = """
        # Customers of the firm
        name:    text, personal
        age:     integer, personal
        balance: decimal, confidential
        since:   date, internal
        vip:     boolean, internal
        health:  text, sensitive
        """

    @Test func fieldsKindsAndClassificationsAreRead() throws {
        let schema = try CollectionSchema(collection: "customers", parsing: text, fileName: "customers.schema")
        #expect(schema.fields.map(\.name) == ["name", "age", "balance", "since", "vip", "health"])
        #expect(schema.field("health")?.classification == .sensitive)
        #expect(schema.field("age")?.kind == .integer)
    }

    @Test func writesAreCheckedAndTextIsReadAsTheDeclaredKind() throws {
        let schema = try CollectionSchema(collection: "customers", parsing: text, fileName: "customers.schema")
        #expect(try schema.conform("age", .string("42")) == .integer(42))
        #expect(try schema.conform("balance", .string("12.50")) == .decimal("12.5"))
        #expect(try schema.conform("balance", .integer(3)) == .decimal("3"))
        #expect(try schema.conform("since", .string("2024-02-29")) == .date("2024-02-29"))
        #expect(try schema.conform("vip", .string("true")) == .boolean(true))
        #expect(try schema.conform("name", .null) == .null)
        for (field, value) in [("age", Value.string("forty")), ("since", .string("2023-02-29")), ("vip", .integer(1)), ("name", .integer(1))] {
            let error = #expect(throws: SchemaError.self) { try schema.conform(field, value) }
            #expect(error?.description.contains("'\(field)' is") == true)
        }
        let unknown = #expect(throws: SchemaError.self) { try schema.conform("nmae", .string("x")) }
        #expect(unknown?.description.contains("not a field of customers (its fields: name, age") == true)
    }

    @Test(arguments: [
        ("name text, personal", 1, "expected 'field: kind, classification'"),
        ("name: text", 1, "needs a kind and a classification"),
        ("name: txt, personal", 1, "unknown kind 'txt'"),
        ("name: text, secret", 1, "unknown classification 'secret'"),
        ("name: text, personal\n\nname: text, public", 3, "declared twice (first on line 1)"),
    ])
    func mistakesNameTheLine(text: String, line: Int, message: String) {
        let error = #expect(throws: SettingsError.self) { try CollectionSchema(collection: "c", parsing: text, fileName: "c.schema") }
        #expect(error?.line == line)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}

@Suite("Values read from text")
struct ValueTextTests {
    @Test(arguments: [("12.50", "12.5"), ("-0.10", "-0.1"), ("7.0", "7"), ("0.05", "0.05")])
    func decimalsAreCanonical(text: String, canonical: String) {
        #expect(Value.canonicalDecimal(text) == canonical)
    }

    @Test(arguments: ["12", ".5", "5.", "1.2.3", "--1.0", "1e5", "", "1,5", "-"])
    func notDecimals(text: String) {
        #expect(Value.canonicalDecimal(text) == nil)
    }

    @Test func onlyRealCalendarDates() {
        for date in ["2026-11-25", "2024-02-29", "2000-02-29", "1999-12-31"] { #expect(Value.isDate(date), "\(date)") }
        for text in ["2023-02-29", "1900-02-29", "2026-13-01", "2026-04-31", "2026-1-01", "20261125", "2026-11-25T10:00", "abcd-ef-gh"] {
            #expect(!Value.isDate(text), "\(text)")
        }
    }
}
