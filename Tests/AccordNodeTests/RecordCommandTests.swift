import AccordTestSupport
import Foundation
import Testing

@Suite("accord record commands")
struct RecordCommandTests {
    @Test func putGetListExportDelete() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let put = try await CLI.run(
            "record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1001", "--subject", "CUST-77",
            "name=Li Wei", "phone=013800000000", "age:=42", "balance:=12.50", "vip:=true", "since:=2026-11-25", "note:=null"
        )
        #expect(put.status == 0, "\(put.stderr)")
        let update = try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1001", "city=Shanghai")
        #expect(update.status == 0, "\(update.stderr)")
        let json = try await CLI.run("record", "get", "--dir", dir, "--collection", "customers", "--id", "C-1001", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let fields = try #require(object["fields"] as? [String: Any])
        #expect(object["subject"] as? String == "CUST-77")
        #expect(fields["phone"] as? String == "013800000000")  // text keeps its leading zero
        #expect(fields["age"] as? Int == 42)
        #expect(fields["vip"] as? Bool == true)
        #expect(fields["city"] as? String == "Shanghai")
        #expect(fields["since"] as? String == "2026-11-25")
        #expect(fields["note"] is NSNull)

        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1002", "--subject", "CUST-78", "--json", #"{"name": "Wang", "visits": 3}"#)
        let bySubject = try await CLI.run("record", "list", "--dir", dir, "--collection", "customers", "--subject", "CUST-78")
        #expect(bySubject.stdout.hasPrefix("C-1002  CUST-78"))
        #expect(!bySubject.stdout.contains("C-1001"))
        let export = try await CLI.run("record", "export", "--dir", dir, "--collection", "customers")
        #expect(export.stdout.split(separator: "\n").count == 2)

        #expect(try await CLI.run("record", "delete", "--dir", dir, "--collection", "customers", "--id", "C-1001").status == 0)
        let gone = try await CLI.run("record", "get", "--dir", dir, "--collection", "customers", "--id", "C-1001")
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("no record C-1001 in 'customers'"))
        let store = try FileManager.default.attributesOfItem(atPath: dir + "/accord.sqlite")
        #expect((store[.posixPermissions] as? Int) == 0o600)
    }

    /// A lost master key is not replaced by a new one, under which nothing stored could be read.
    @Test func aMissingMasterKeyIsAnErrorNotANewKey() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1", "--subject", "S", "name=Li")
        let key = dir + "/Certs/master.key"
        let kept = sandbox.root.appendingPathComponent("master.key.kept").path
        try FileManager.default.moveItem(atPath: key, toPath: kept)
        for command in [["record", "list"], ["record", "put", "--id", "C-2", "--subject", "S", "name=Wang"]] {
            let outcome = try await CLI.run(command + ["--dir", dir, "--collection", "customers"])
            #expect(outcome.status == 1 && outcome.stderr.contains("master.key is missing"), "\(command): \(outcome.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: key), "no new key was made")
        try FileManager.default.moveItem(atPath: kept, toPath: key)
        #expect(try await CLI.run("record", "list", "--dir", dir, "--collection", "customers").stdout.contains("C-1  S  name=Li"))
    }

    @Test func badInputIsRefusedWithItsReasonAndChangesNothing() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        let cases: [([String], String)] = [
            (["--id", "C-1", "name=Li"], "is a new record without a data subject"),
            (["--id", "C-1", "--subject", "S", "age:=forty"], "age:=forty: not a number"),
            (["--id", "C-1", "--subject", "S", "since:=2026-02-30"], "since:=2026-02-30: there is no such date"),
            (["--id", "C-1", "--subject", "S", "n:=-99999999999999999999"], "n:=-99999999999999999999: too large for an integer (-9223372036854775808 to 9223372036854775807); write n:=-99999999999999999999.0"),
            (["--id", "C-1", "--subject", "S", "nonsense"], "'nonsense' is not a field"),
            (["--id", "C-1", "--subject", "S", "--json", "[1, 2]"], "--json: not a JSON object"),
            (["--id", "C-1", "--subject", "S", "--json", #"{"tags": ["a"]}"#], "--json: 'tags' is a list or object"),
            (["--id", "C-1", "--subject", "S", "--json", #"{"a": 1e400}"#], "--json: not valid JSON"),
            (["--id", "C-1", "--subject", "S", "--json", #"{"a": 99999999999999999999}"#], "--json: 'a' is 99999999999999999999: too large for an integer"),
            (["--id", "", "--subject", "S", "a=b"], "--id is required"),
        ]
        for (arguments, message) in cases {
            let outcome = try await CLI.run(["record", "put", "--dir", dir, "--collection", "customers"] + arguments)
            #expect(outcome.status != 0, "\(arguments)")
            #expect(outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
        }
        // Not even the collection was made.
        #expect(try await CLI.run("record", "list", "--dir", dir, "--collection", "customers").stdout == "No records: this node has no collection 'customers' (it has none yet).\n")
    }

    /// A collection the node never had (a typing mistake) is named as such; an empty one of
    /// its own, or one declared by a schema, is simply empty.
    @Test func aCollectionTheNodeNeverHadIsNamedAsSuch() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        #expect(try await CLI.run("record", "list", "--dir", dir, "--collection", "customers").stdout == "No records: this node has no collection 'customers' (it has none yet).\n")
        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1", "--subject", "S", "name=Li")
        let typo = try await CLI.run("record", "list", "--dir", dir, "--collection", "custmers")
        #expect(typo.status == 0 && typo.stdout == "No records: this node has no collection 'custmers' (it has customers).\n")
        let exported = try await CLI.run("record", "export", "--dir", dir, "--collection", "custmers")
        #expect(exported.status == 0 && exported.stdout.isEmpty && exported.stderr == "accord: no records: this node has no collection 'custmers' (it has customers)\n")
        #expect(try await CLI.run("record", "list", "--dir", dir, "--collection", "customers", "--subject", "T").stdout == "No records.\n")
        try FileManager.default.createDirectory(atPath: sandbox.path("firm/Schemas"), withIntermediateDirectories: true)
        try "name: text, personal\n".write(toFile: sandbox.path("firm/Schemas/invoices.schema"), atomically: true, encoding: .utf8)
        #expect(try await CLI.run("record", "list", "--dir", dir, "--collection", "invoices").stdout == "No records.\n")
    }

    /// A file argument that is a folder, is missing or fails as it is read, or a file to write
    /// in a folder that is missing: each command names the file and says what is wrong, and
    /// changes nothing.
    @Test func filesThatCannotBeReadOrWrittenSayWhy() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1", "--subject", "S", "name=Li")
        let (folder, missing) = (sandbox.root.path, sandbox.path("missing.csv"))
        let cases: [([String], String)] = [
            (["record", "import", "--collection", "customers", "--format", "csv", folder], "cannot read \(folder): it is a folder; give a file"),
            (["record", "import", "--collection", "customers", missing], "cannot read \(missing): no such file"),
            // Opens, but fails as it is read.
            (["record", "import", "--collection", "customers", "--format", "csv", "/proc/self/mem"], "cannot read /proc/self/mem: Input/output error"),
            (["agreement", "check", folder], "cannot read \(folder): it is a folder; give a file"),
            (["agreement", "check", missing], "cannot read \(missing): no such file"),
            (["agreement", "check", "/proc/self/mem"], "cannot read /proc/self/mem: Input/output error"),
            (["restore", folder], "cannot read \(folder): it is a folder; give a file"),
            (["backup", sandbox.path("nowhere/firm.backup")], "cannot create \(sandbox.path("nowhere/firm.backup")): \(sandbox.path("nowhere")): No such file or directory"),
        ]
        for (arguments, message) in cases {
            let outcome = try await CLI.run(arguments + ["--dir", dir])
            #expect(outcome.status == 1, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr == "accord: \(message)\n", "\(arguments)")
        }
        let listed = try await CLI.run("record", "list", "--dir", dir, "--collection", "customers", "--json")
        #expect(listed.stdout == #"{"collection":"customers","fields":{"name":"Li"},"id":"C-1","subject":"S"}"# + "\n")
    }
}

@Suite("accord audit commands")
struct AuditCommandTests {
    /// Every record change lands in the audit log; an edit made behind accord's back with the
    /// sqlite3 tool is caught and named.
    @Test func verifyCatchesARowEditedWithSqlite3() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1", "--subject", "S", "name=Li")
        try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-2", "--subject", "T", "name=Wang")
        try await CLI.run("record", "delete", "--dir", dir, "--collection", "customers", "--id", "C-1")
        let intact = try await CLI.run("audit", "verify", "--dir", dir)
        #expect(intact.status == 0)
        #expect(intact.stdout.contains("intact: 3 entries"))
        let csv = try await CLI.run("audit", "export", "--dir", dir, "--format", "csv")
        #expect(csv.stdout.split(separator: "\n").count == 4)
        #expect(csv.stdout.contains("record delete,customers/C-1"))
        #expect(!csv.stdout.contains("Li"))  // values never enter the audit log

        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [dir + "/accord.sqlite", "UPDATE audit SET detail = 'customers/C-9: created' WHERE seq = 2"]
        try sqlite.run()
        await sqlite.exit()
        #expect(sqlite.terminationStatus == 0)
        let broken = try await CLI.run("audit", "verify", "--dir", dir)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("entry 2 does not match its hash"))
    }
}

@Suite("Collections with a schema")
struct SchemaCommandTests {
    @Test func writesMustFitTheSchemaAndCSVCellsGetTheirKinds() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        try await CLI.run("init", "--dir", dir, "--name", "firm")
        try FileManager.default.createDirectory(atPath: dir + "/Schemas", withIntermediateDirectories: true)
        try "name: text, personal\nage: integer, personal\n".write(toFile: dir + "/Schemas/customers.schema", atomically: true, encoding: .utf8)
        #expect(try await CLI.run("schema", "show", "--dir", dir, "--collection", "customers").stdout.contains("age   integer   personal"))

        let typo = try await CLI.run("record", "put", "--dir", dir, "--collection", "customers", "--id", "C-1", "--subject", "S", "nmae=Li")
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("'nmae' is not a field of customers"))
        let file = sandbox.root.appendingPathComponent("in.csv")
        try "id,subject,name,age\nC-1,S1,Li,42\nC-2,S2,Wang,old\n".write(to: file, atomically: true, encoding: .utf8)
        let imported = try await CLI.run("record", "import", "--dir", dir, "--collection", "customers", file.path)
        #expect(imported.stdout.contains("Imported 1 record into customers; rejected 1"))
        #expect(imported.stdout.contains("line 3: C-2: 'age' is integer in the schema of customers; 'old' is not"))
        #expect(try await CLI.run("record", "get", "--dir", dir, "--collection", "customers", "--id", "C-1", "--json").stdout.contains(#""age":42"#))
    }
}
