import AccordCore
import AccordNode
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let allCommands = nodeCommands + recordCommands + agreementCommands + revocationCommands + auditCommands

let recordCommands: [Command] = [
    Command(
        path: ["record", "put"],
        summary: "create or change a record",
        usage: "accord record put --dir <node> (--collection <c> | --agreement <id>) --id <id> [--subject <customer>] [--json '{…}'] [name=value …] [name:=42 …]",
        details: """
            Writes the given fields; fields not given keep their values. A new record needs --subject,
            the data subject (customer) it is about. name=value is text; name:=value is a number,
            true/false, null or a date (YYYY-MM-DD). --json takes the fields as a JSON object.
            --agreement changes a record another party shares with this node: only the fields the
            agreement lets this node write; the change goes back to the owner.
            """,
        valued: ["dir", "collection", "agreement", "id", "subject", "json"],
        flags: [],
        run: { arguments in
            let directory = try nodeDirectory(arguments)
            var fields: [String: Value] = [:]
            if let json = arguments["json"] { fields = try FieldAssignment.parseJSON(json) }
            for word in arguments.positionals {
                let (name, value) = try FieldAssignment.parse(word)
                fields[name] = value
            }
            if let agreement = arguments["agreement"] {
                guard arguments["collection"] == nil, arguments["subject"] == nil else {
                    throw UsageError(arguments.command, "--agreement takes no --collection or --subject: the owner decides those")
                }
                let record = try AgreementBook(directory: directory).editShared(agreement, id: try arguments.required("id"), fields: fields)
                return output("Saved \(record.id) under \(agreement) (\(fields.count) field(s) changed); it goes back to the owner")
            }
            let record = try RecordBook(directory: directory).put(
                collection: try arguments.required("collection"),
                id: try arguments.required("id"),
                subject: arguments["subject"],
                fields: fields
            )
            output("Saved \(record.id) in \(record.collection) (\(record.fields.count) field\(record.fields.count == 1 ? "" : "s"))")
        }
    ),
    Command(
        path: ["record", "get"],
        summary: "show one record",
        usage: "accord record get --dir <node> --collection <c> --id <id> [--json]",
        details: "Prints the record's fields, or with --json one JSON object.",
        valued: ["dir", "collection", "id"],
        flags: ["json"],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let collection = try arguments.required("collection")
            let id = try arguments.required("id")
            guard let record = try RecordBook(directory: try nodeDirectory(arguments)).record(collection: collection, id: id) else {
                throw NodeError("no record \(id) in '\(collection)'")
            }
            if arguments.flags.contains("json") { return output(try json(record)) }
            output("\(record.id) (\(record.collection), subject \(record.subject))")
            let width = record.fields.keys.map(\.count).max() ?? 0
            for (name, value) in record.fields.sorted(by: { $0.key < $1.key }) {
                output("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)")
            }
        }
    ),
    Command(
        path: ["record", "delete"],
        summary: "delete a record everywhere it is replicated",
        usage: "accord record delete --dir <node> --collection <c> --id <id>",
        details: "Leaves a tombstone that wins over every edit made without having seen the delete.",
        valued: ["dir", "collection", "id"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let id = try arguments.required("id")
            try RecordBook(directory: try nodeDirectory(arguments)).delete(collection: try arguments.required("collection"), id: id)
            output("Deleted \(id)")
        }
    ),
    Command(
        path: ["record", "list"],
        summary: "list the records of a collection",
        usage: "accord record list --dir <node> (--collection <c> | --agreement <id>) [--subject <customer>] [--json]",
        details: """
            One line per record (id, subject, fields); --json prints JSON lines, as export does.
            --agreement lists the records another party shares with this node under that agreement,
            as they were shared (masked fields masked, the subject as its pseudonym).
            """,
        valued: ["dir", "collection", "agreement", "subject"],
        flags: ["json"],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let directory = try nodeDirectory(arguments)
            let records: [RecordSet.Record]
            var note: String?  // why none are listed, if not for want of records
            if let agreement = arguments["agreement"] {
                records = try AgreementBook(directory: directory).sharedRecords(agreement, subject: arguments["subject"])
            } else {
                let (book, collection) = (try RecordBook(directory: directory), try arguments.required("collection"))
                records = try book.records(collection: collection, subject: arguments["subject"])
                note = records.isEmpty ? try book.unknownCollectionNote(collection) : nil
            }
            for record in records {
                if arguments.flags.contains("json") {
                    output(try json(record))
                } else {
                    let fields = record.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    output("\(record.id)  \(record.subject)  \(fields)")
                }
            }
            guard records.isEmpty else { return }
            if arguments.flags.contains("json") {
                if let note { remark("no records: \(note)") }
            } else {
                output(note.map { "No records: \($0)." } ?? "No records.")
            }
        }
    ),
    Command(
        path: ["record", "import"],
        summary: "import records from CSV or JSON lines",
        usage: "accord record import --dir <node> --collection <c> FILE [--format csv|jsonl]",
        details: """
            CSV: a header row naming 'id', 'subject' and the field columns; values are text, empty
            cells are not written. JSON lines: one object per line, as `accord record export` writes
            them (or flat: id, subject, fields). Bad rows are listed with their line number and
            skipped; the rest commit in batches of 100,000 rows or about a second, each batch whole.
            """,
        valued: ["dir", "collection", "format"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let path = try arguments.positional(0, named: "the file to import")
            let format: ImportFormat
            if let given = arguments["format"] {
                guard let known = ImportFormat(rawValue: given) else { throw UsageError(arguments.command, "--format is csv or jsonl, not '\(given)'") }
                format = known
            } else {
                guard let named = ImportFormat(fileName: path) else {
                    throw UsageError(arguments.command, "say --format csv or --format jsonl (the file name does not end in .csv or .jsonl)")
                }
                format = named
            }
            let showProgress = isatty(STDERR_FILENO) == 1
            var lastShown = ContinuousClock.now
            let summary = try RecordBook(directory: try nodeDirectory(arguments)).importRecords(
                collection: try arguments.required("collection"),
                from: URL(fileURLWithPath: path),
                format: format
            ) { rows, bytes, size in
                guard showProgress, ContinuousClock.now - lastShown > .milliseconds(200) else { return }
                lastShown = .now
                let percent = size > 0 ? " (\(bytes * 100 / size)%)" : ""
                FileHandle.standardError.write(Data("\rimporting: \(rows) rows read\(percent)   ".utf8))
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            output("Imported \(summary.imported) record\(summary.imported == 1 ? "" : "s") into \(try arguments.required("collection")); rejected \(summary.rejected.count)")
            for (line, reason) in summary.rejected.sorted(by: { $0.line < $1.line }) { output("  line \(line): \(reason)") }
        }
    ),
    Command(
        path: ["schema", "show"],
        summary: "show a collection's schema",
        usage: "accord schema show --dir <node> --collection <c>",
        details: """
            Schemas/<collection>.schema declares each field on a line: 'name: kind, classification',
            kinds text, integer, decimal, boolean, date; classifications public, internal,
            confidential, personal, sensitive. When it exists, writes must fit it.
            """,
        valued: ["dir", "collection"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let collection = try arguments.required("collection")
            guard let schema = try RecordBook(directory: try nodeDirectory(arguments)).schema(of: collection) else {
                return output("'\(collection)' has no schema: any field names and kinds are accepted")
            }
            let width = schema.fields.map(\.name.count).max() ?? 0
            for field in schema.fields {
                output("\(field.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(field.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(field.classification.rawValue)")
            }
        }
    ),
    Command(
        path: ["record", "export"],
        summary: "write a collection as JSON lines",
        usage: "accord record export --dir <node> --collection <c>",
        details: "One JSON object per line: id, collection, subject, fields.",
        valued: ["dir", "collection"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let (book, collection) = (try RecordBook(directory: try nodeDirectory(arguments)), try arguments.required("collection"))
            let records = try book.records(collection: collection)
            for record in records { output(try json(record)) }
            if records.isEmpty, let note = try book.unknownCollectionNote(collection) { remark("no records: \(note)") }
        }
    ),
]

/// One record as a compact JSON object with sorted keys.
func json(_ record: RecordSet.Record) throws -> String {
    let object: [String: Any] = [
        "id": record.id,
        "collection": record.collection,
        "subject": record.subject,
        "fields": record.fields.mapValues(FieldAssignment.jsonObject),
    ]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
