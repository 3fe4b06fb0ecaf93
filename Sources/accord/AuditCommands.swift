import AccordNode
import AccordStore
import Foundation

let auditCommands: [Command] = [
    Command(
        path: ["backup"],
        summary: "write a consistent copy of the node's store",
        usage: "accord backup --dir <node> FILE",
        details: "Safe while the node runs. The copy stays encrypted; restoring it needs this node's Certs/master.key.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let file = URL(fileURLWithPath: try arguments.positional(0, named: "the backup file"))
            try RecordBook(directory: try nodeDirectory(arguments)).backup(to: file)
            output("Backup written to \(file.path)")
        }
    ),
    Command(
        path: ["restore"],
        summary: "replace the node's store with a backup",
        usage: "accord restore --dir <node> FILE",
        details: """
            Stop `accord serve` first. Data keys destroyed after the backup was taken stay destroyed:
            their records are purged from the restored store at once.
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let file = URL(fileURLWithPath: try arguments.positional(0, named: "the backup file"))
            try RecordBook.restore(try nodeDirectory(arguments), from: file)
            output("Restored \(file.path)")
        }
    ),
    Command(
        path: ["audit", "verify"],
        summary: "check that the audit log is complete and unedited",
        usage: "accord audit verify --dir <node>",
        details: "Walks the hash chain; exit 0 if intact, 1 naming the first entry that was edited, removed or reordered.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            switch try RecordBook(directory: try nodeDirectory(arguments)).verifyAudit() {
            case .intact(let entries):
                output("audit log intact: \(entries) entries, each chained to the one before")
            case .broken(_, let reason):
                throw NodeError("audit log broken: \(reason)")
            }
        }
    ),
    Command(
        path: ["audit", "export"],
        summary: "write the audit log for an auditor",
        usage: "accord audit export --dir <node> [--since 2026-11-01] [--format jsonl|csv]",
        details: "Entries from --since (UTC date or time) on: sequence, time, actor, action, detail.",
        valued: ["dir", "since", "format"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let format = arguments["format"] ?? "jsonl"
            guard format == "jsonl" || format == "csv" else { throw UsageError(arguments.command, "--format is jsonl or csv") }
            if let since = arguments["since"], since.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]*Z?)?/) == nil {
                throw UsageError(arguments.command, "--since takes a date like 2026-11-01 (or 2026-11-01T12:00:00Z)")
            }
            let entries = try RecordBook(directory: try nodeDirectory(arguments)).auditEntries(since: arguments["since"])
            if format == "csv" { output("sequence,time,actor,action,detail") }
            for entry in entries {
                if format == "csv" {
                    output([String(entry.sequence), entry.time, entry.actor, entry.action, entry.detail].map(csvField).joined(separator: ","))
                } else {
                    let object: [String: Any] = ["sequence": entry.sequence, "time": entry.time, "actor": entry.actor, "action": entry.action, "detail": entry.detail]
                    output(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                }
            }
        }
    ),
]

/// RFC 4180: quote a field that holds a comma, quote or line break; double inner quotes.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
