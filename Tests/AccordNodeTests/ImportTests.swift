import Foundation
import AccordNode
import AccordStore
import AccordTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("accord record import")
struct ImportTests {
    @Test func badRowsAreNamedByLineAndTheRestIsImported() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let file = sandbox.root.appendingPathComponent("customers.csv")
        try Data("id,subject,name,city\r\nC-1,CUST-1,\"Li, Wei\",Shanghai\r\nC-2,,Wang,Beijing\r\nC-3,CUST-3,\"bad\"x,Y\r\nC-4,CUST-4,Zhao\r\n,CUST-5,Q,R\r\nC-6,CUST-6,\"two\r\nlines\",Z\r\n".utf8).write(to: file)
        let outcome = try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", file.path)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Imported 2 records into customers; rejected 4"))
        for expected in ["line 3: C-2 is a new record without a data subject", "line 4: text after a closing quote", "line 5: 3 values for 4 columns", "line 6: the id is empty"] {
            #expect(outcome.stdout.contains(expected), "\(expected)")
        }
        let c6 = try await CLI.run("record", "get", "--dir", dir, "--collection", "customers", "--id", "C-6", "--json")
        #expect(c6.stdout.contains(#""name":"two\nlines""#))
    }

    /// Most lines are made into records straight from their bytes; a line with quotes or bytes
    /// that are not UTF-8, or a file with a column the schema says is not text, goes the general
    /// way. Either way the outcome is the same: the rows with every cell quoted import with the
    /// same report and export, and so do they under a schema whose `age` (a column left empty)
    /// is an integer. Some rows are chosen, 400 more made at random (a seed): ids that repeat
    /// (a record stored then merged) or hold control characters, missing subjects, a cell too
    /// many, bytes that are not UTF-8, lines ending in CR LF or LF.
    @Test func aLineGivesTheSameRecordWhicheverWayItIsRead() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        var rows = [["C-1", "CUST-1", "Li Wei", "上海", "", ""], ["C-2", "CUST-2", "", "", "only a note", ""], ["C-3", "CUST-3", "Zoë", "Köln", "ok", ""]].map { $0.map { Array($0.utf8) } }
        rows.append([Array("C-4".utf8), Array("S".utf8), [0xFF], [], [], []])  // read with the byte replaced, either way
        rows.append([[], Array("S".utf8), Array("no id".utf8), [], [], []])
        var generator = SeededGenerator(seed: 18)
        let pieces: [[UInt8]] = [Array("a".utf8), Array("Z9".utf8), [0x20], Array("é".utf8), Array("中".utf8), [0xFF], [0xE4], [0x01], [0x09]]
        func cell() -> [UInt8] { (0..<Int.random(in: 0...4, using: &generator)).flatMap { _ in pieces.randomElement(using: &generator)! } }
        for _ in 0..<400 {
            let id = Int.random(in: 0..<20, using: &generator) == 0 ? cell() : Array("R-\(Int.random(in: 0..<150, using: &generator))".utf8)
            let subject = Int.random(in: 0..<10, using: &generator) == 0 ? [] : Array("S-\(Int.random(in: 0..<50, using: &generator))".utf8)
            rows.append([id, subject, cell(), cell(), cell(), []] + (Int.random(in: 0..<30, using: &generator) == 0 ? [cell()] : []))
        }
        let ends = rows.map { _ in Bool.random(using: &generator) ? [0x0D, 0x0A] : [UInt8(0x0A)] }
        func csv(quoted: Bool) -> Data {
            let lines = zip(rows, ends).map { row, end in Array(row.map { quoted ? [0x22] + $0 + [0x22] : $0 }.joined(separator: [0x2C])) + end }
            return Data("id,subject,name,city,note,age\r\n".utf8) + Data(lines.joined())
        }
        func unnamed(_ text: String, _ collection: String) -> String {
            text.replacingOccurrences(of: #""collection":"\#(collection)""#, with: "").replacingOccurrences(of: " into \(collection);", with: "")
        }
        try FileManager.default.createDirectory(atPath: dir + "/Schemas", withIntermediateDirectories: true)
        try "name: text, personal\ncity: text, internal\nnote: text, internal\nage: integer, personal\n".write(toFile: dir + "/Schemas/typed.schema", atomically: true, encoding: .utf8)
        var outcomes: [(report: String, export: String)] = []
        for (collection, quoted) in [("plain", false), ("quoted", true), ("typed", false)] {
            let file = sandbox.root.appendingPathComponent("\(collection).csv")
            try csv(quoted: quoted).write(to: file)
            let report = try await CLI.run("record", "import", "--dir", dir, "--collection", collection, file.path).stdout
            outcomes.append((unnamed(report, collection), unnamed(try await CLI.run("record", "export", "--dir", dir, "--collection", collection).stdout, collection)))
        }
        let (report, export) = outcomes[0]
        #expect(report.contains("is a new record without a data subject") && report.contains("7 values for 6 columns") && report.contains("line 6: the id is empty"), "\(report)")
        #expect(export.contains(#""city":"上海","name":"Li Wei""#) && export.contains("\"name\":\"\u{FFFD}\"") && !export.contains(#""note":"""#), "\(export)")
        #expect(export.split(separator: "\n").count > 100)
        for other in outcomes.dropFirst() {
            #expect(other.report == report)
            #expect(other.export == export)
        }
    }

    @Test func badJSONLinesAreNamedByLineAndTheRestIsImported() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let file = sandbox.root.appendingPathComponent("customers.jsonl")
        let lines = [
            #"{"id": "C-1", "subject": "CUST-1", "name": "Li"}"#,
            #"{"id": 2, "subject": "CUST-2"}"#,
            "not json",
            #"{"id": "C-4", "subject": "CUST-4", "tags": ["a", "b"]}"#,
            "[1, 2]",
            #"{"id": "C-6", "subject": "CUST-6", "balance": 1e400}"#,
            #"{"id": "C-7", "subject": "CUST-7", "balance": 2.5}"#,
        ]
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let outcome = try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", file.path)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Imported 2 records into customers; rejected 5"), "\(outcome.stdout)")
        let expected = [
            #"line 2: "id" is missing or not text"#, "line 3: not valid JSON", "line 4: 'tags' is a list or object; a field holds one value",
            "line 5: not a JSON object", "line 6: not valid JSON",
        ]
        for line in expected { #expect(outcome.stdout.contains(line), "\(line): \(outcome.stdout)") }
        #expect(!outcome.stdout.contains("--json"), "the import names no option it was not given")
    }

    /// A spreadsheet's "CSV UTF-8" opens with a byte-order mark; so may JSON lines from other
    /// tools. Neither is part of the first column's name or the first line.
    @Test func aByteOrderMarkOpeningTheFileIsNotPartOfItsFirstLine() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let bom = Data([0xEF, 0xBB, 0xBF])
        let csv = sandbox.root.appendingPathComponent("excel.csv")
        try (bom + Data("id,subject,name\r\nC-1,CUST-1,\"Li, Wei\"\r\n".utf8)).write(to: csv)
        let jsonl = sandbox.root.appendingPathComponent("tool.jsonl")
        try (bom + Data(#"{"id": "C-2", "subject": "CUST-2", "name": "Wang"}"#.utf8)).write(to: jsonl)
        for file in [csv, jsonl] {
            let outcome = try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", file.path)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.contains("Imported 1 record into customers; rejected 0"), "\(outcome.stdout)")
        }
        let listed = try await CLI.run("record", "list", "--dir", dir, "--collection", "customers")
        #expect(listed.stdout.contains("C-1") && listed.stdout.contains("C-2"), "\(listed.stdout)")
        // A format the import does not know is named as such, whatever the file is called.
        let xml = try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", csv.path, "--format", "xml")
        #expect(xml.status != 0 && xml.stderr.contains("--format is csv or jsonl, not 'xml'"), "\(xml.stderr)")
        // Only at the very start: the same bytes opening a later line are that line's.
        let later = sandbox.root.appendingPathComponent("later.csv")
        try (Data("id,subject,name\n".utf8) + bom + Data("C-3,CUST-3,Zhao\n".utf8)).write(to: later)
        try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", later.path)
        #expect(try await CLI.run("record", "get", "--dir", dir, "--collection", "customers", "--id", "\u{FEFF}C-3").status == 0)
    }

    /// export → import on another node gives the same records, types included.
    @Test func jsonLinesRoundTrip() async throws {
        let sandbox = try Sandbox()
        let (firm, vendor) = (sandbox.path("firm"), sandbox.path("vendor"))
        try await CLI.run("init", "--dir", firm, "--name", "firm")
        try await CLI.run("init", "--dir", vendor, "--name", "vendor")
        try await CLI.run("record", "put", "--dir", firm, "--collection", "customers", "--id", "C-1", "--subject", "S1", "name=Li", "age:=42", "vip:=false", "since:=2026-01-31", "balance:=-3.25", "note:=null")
        try await CLI.run("record", "put", "--dir", firm, "--collection", "customers", "--id", "C-2", "--subject", "S2", "name=Wang \"W\" 王")
        let export = try await CLI.run("record", "export", "--dir", firm, "--collection", "customers")
        let file = sandbox.root.appendingPathComponent("customers.jsonl")
        try Data(export.stdout.utf8).write(to: file)
        let outcome = try await CLI.run("record", "import", "--dir", vendor, "--collection", "customers", file.path)
        #expect(outcome.stdout.contains("Imported 2 records into customers; rejected 0"))
        #expect(try await CLI.run("record", "export", "--dir", vendor, "--collection", "customers").stdout == export.stdout)
        #expect(try await CLI.run("audit", "verify", "--dir", vendor).stdout.contains("intact: 1 entries"))
    }

    /// SIGKILL in the middle of a large import: every committed batch is whole, no record is
    /// half-written, and the store and its audit log open cleanly.
    @Test func killedMidImportLosesOnlyTheUncommittedBatch() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let file = sandbox.root.appendingPathComponent("big.csv")
        // Big enough that the import is still running when the first batch shows, even when
        // other tests load the machine (a whole import takes many seconds).
        let rows = 600_000
        var text = "id,subject,name,city,phone\n"
        for index in 0..<rows { text += "C-\(index),CUST-\(index),Name \(index),City \(index % 97),1380000\(index)\n" }
        try Data(text.utf8).write(to: file)

        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["record", "import", "--dir", dir, "--collection", "customers", file.path]
        let importLog = sandbox.root.appendingPathComponent("import.log")
        _ = FileManager.default.createFile(atPath: importLog.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: importLog)
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        // Kill once a batch has committed (its audit entry is in the store), long before the end.
        let store = dir + "/accord.sqlite"
        let started = await eventually(timeout: .seconds(60)) {
            await offPool {
                guard FileManager.default.fileExists(atPath: store), let database = try? Database(path: store, migrations: RecordStore.migrations) else { return false }
                return ((try? database.query("SELECT count(*) FROM audit") { $0.integer(0) })?.first ?? 0) >= 1
            }
        }
        #expect(started)
        kill(process.processIdentifier, SIGKILL)
        await process.exit()
        #expect(process.terminationReason == .uncaughtSignal, "the import ended by itself: \((try? String(contentsOf: importLog, encoding: .utf8)) ?? "")")

        let export = try await CLI.run("record", "export", "--dir", dir, "--collection", "customers")
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count > 0 && lines.count < rows, "killed after \(lines.count) records")
        // Each committed batch's audit entry says how many records it saved ("customers: 45000
        // record(s) from big.csv, lines 2–45001"): what is stored is those batches, whole.
        let batches = try Database(path: store, migrations: RecordStore.migrations).query("SELECT detail FROM audit") { $0.text(0) ?? "" }
        let saved = batches.map { Int($0.split(separator: " ")[1]) ?? -1 }
        #expect(saved.reduce(0, +) == lines.count, "a batch is whole or absent: \(lines.count) records, batches \(batches)")
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["fields"] as? [String: Any])?.count == 3, "a record lost fields: \(line)")
        }
        let audit = try await CLI.run("audit", "verify", "--dir", dir)
        #expect(audit.status == 0)
        #expect(audit.stdout.contains("intact: \(batches.count) entries"))
    }
}
