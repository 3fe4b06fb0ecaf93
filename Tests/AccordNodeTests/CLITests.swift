import AccordNode
import AccordTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `accord` executable as a user would.
struct CLI {
    static let executable: URL = {
        // The test runner sits in the build products folder, next to the executable.
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = runner.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("accord")
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isFolder), !isFolder.boolValue {
                return candidate
            }
            folder.deleteLastPathComponent()
        }
        fatalError("the accord executable was not built next to \(runner.path)")
    }()

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the command on a thread of its own and waits for it without holding one of Swift's
    /// cooperative threads (the nodes of the other suites run there).
    @discardableResult
    static func run(_ arguments: String...) async throws -> Outcome { try await run(arguments) }

    /// Runs the program, off the pool, and waits until it exits.
    /// - Parameter program: what to run instead of `accord` (such as `nice`, to run it gently).
    @discardableResult
    static func run(_ arguments: [String], program: URL = CLI.executable) async throws -> Outcome {
        try await offPool {
            let process = Process()
            process.executableURL = program
            process.arguments = program == executable ? arguments : Array(arguments.dropFirst())
            // Standard error goes to a file: read from a second pipe after standard output
            // ended, it could fill (64 KiB) and leave the command waiting to write forever.
            let out = Pipe()
            let errors = FileManager.default.temporaryDirectory.appendingPathComponent("accord-cli-\(UUID()).err")
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: errors) }
            process.standardOutput = out
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Outcome(
                status: process.terminationStatus,
                stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: try Data(contentsOf: errors), as: UTF8.self)
            )
        }
    }

    /// Starts `accord serve` in the background; its output goes to `log`. `gently` runs it at
    /// nice 10, every thread of it (a `setpriority` after the start reaches only the threads
    /// made after it).
    static func serve(_ dir: String, log: URL, gently: Bool = false) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = gently ? URL(fileURLWithPath: "/usr/bin/nice") : executable
        process.arguments = (gently ? ["-n", "10", executable.path] : []) + ["serve", "--dir", dir]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}


@Suite("The accord command line")
struct CLITests {
    @Test func initMakesAPrivateKeyAndRefusesToOverwrite() async throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path("firm")
        let created = try await CLI.run("init", "--dir", dir, "--name", "firm", "--role", "firm", "--jurisdiction", "CN")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("node ID"))
        let key = try FileManager.default.attributesOfItem(atPath: dir + "/Certs/node.key")
        #expect((key[.posixPermissions] as? Int) == 0o600)
        let id = try await CLI.run("id", "--dir", dir)
        #expect(id.status == 0)
        #expect(created.stdout.contains(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let again = try await CLI.run("init", "--dir", dir, "--name", "other")
        #expect(again.status == 1)
        #expect(again.stderr.contains("refusing to overwrite its identity"))
        #expect(try await CLI.run("id", "--dir", dir).stdout == id.stdout)  // identity untouched
    }

    @Test func peerCommandsCheckWhatTheyAreGiven() async throws {
        let sandbox = try Sandbox()
        let (firm, partner) = (sandbox.path("firm"), sandbox.path("partner"))
        try await CLI.run("init", "--dir", firm, "--name", "firm")
        try await CLI.run("init", "--dir", partner, "--name", "partner")
        let partnerID = try await CLI.run("id", "--dir", partner).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var typo = Array(partnerID)
        typo[3] = typo[3] == "A" ? "B" : "A"

        let cases: [([String], Int32, String)] = [
            (["--name", "partner", "--id", String(typo), "--address", "127.0.0.1:7402"], 1, "check character does not match in groups 1–2"),
            (["--name", "partner", "--id", "ABC", "--address", "127.0.0.1:7402"], 1, "has 3 characters"),
            (["--name", "partner", "--id", partnerID, "--address", "127.0.0.1"], 1, "the port is missing"),
            (["--name", "Partner Co", "--id", partnerID, "--address", "127.0.0.1:7402"], 1, "not a valid name"),
            (["--name", "partner", "--id", partnerID], 2, "--address is required"),
            (["--name", "partner", "--id", partnerID, "--adress", "x"], 2, "unknown option --adress (did you mean --address?)"),
        ]
        for (arguments, status, message) in cases {
            let outcome = try await CLI.run(["peer", "add", "--dir", firm] + arguments)
            #expect(outcome.status == status, "\(arguments)")
            #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count <= 2, "one line of reason (plus usage for usage errors)")
        }
        #expect(try await CLI.run("peer", "list", "--dir", firm).stdout.contains("No peers pinned yet"))

        let added = try await CLI.run("peer", "add", "--dir", firm, "--name", "partner", "--id", partnerID.lowercased(), "--address", "127.0.0.1:7402", "--role", "partner")
        #expect(added.status == 0, "\(added.stderr)")
        let duplicate = try await CLI.run("peer", "add", "--dir", firm, "--name", "partner", "--id", partnerID, "--address", "127.0.0.1:7402")
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already pinned"))
        let own = try await CLI.run("id", "--dir", firm).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let selfPin = try await CLI.run("peer", "add", "--dir", firm, "--name", "me", "--id", own, "--address", "127.0.0.1:7401")
        #expect(selfPin.stderr.contains("this node's own ID"))

        let list = try await CLI.run("peer", "list", "--dir", firm)
        #expect(list.stdout.contains("partner") && list.stdout.contains(partnerID))
        #expect(try await CLI.run("peer", "remove", "--dir", firm, "partner").status == 0)
        let missing = try await CLI.run("peer", "remove", "--dir", firm, "partner")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no pinned peer named 'partner'"))
    }

    @Test func helpAndBadCommandsExitAsDocumented() async throws {
        let help = try await CLI.run("--help")
        #expect(help.status == 0)
        for command in ["init", "id", "peer add", "serve", "ping"] { #expect(help.stdout.contains(command)) }
        // Every command's full name stands apart from its summary, the longest included.
        for command in ["agreement accept ", "agreement terminate ", "report affected ", "receipt export "] {
            #expect(help.stdout.contains("  " + command + " "), "\(command) runs into its summary")
        }
        let initHelp = try await CLI.run("init", "--help")
        #expect(initHelp.status == 0)
        #expect(initHelp.stdout.contains("Usage: accord init"))
        let unknown = try await CLI.run("frobnicate")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown command 'frobnicate'"))
        let group = try await CLI.run("peer")
        #expect(group.status == 2)
        #expect(group.stderr.contains("add, list, remove"))
        let noNode = try await CLI.run("id", "--dir", "/nonexistent/accord-node")
        #expect(noNode.status == 1)
        #expect(noNode.stderr.contains("no node at /nonexistent/accord-node"))
    }

    /// Two `accord serve` processes link up; `accord ping` works; SIGTERM stops them cleanly.
    @Test func serveAndPingAcrossProcesses() async throws {
        let sandbox = try Sandbox()
        let (firm, partner) = (sandbox.path("firm"), sandbox.path("partner"))
        let (firmPort, partnerPort) = try (freePort(), freePort())
        try await CLI.run("init", "--dir", firm, "--name", "firm", "--listen", "127.0.0.1:\(firmPort)")
        try await CLI.run("init", "--dir", partner, "--name", "partner", "--listen", "127.0.0.1:\(partnerPort)")
        let firmID = try await CLI.run("id", "--dir", firm).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let partnerID = try await CLI.run("id", "--dir", partner).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await CLI.run("peer", "add", "--dir", firm, "--name", "partner", "--id", partnerID, "--address", "127.0.0.1:\(partnerPort)")
        try await CLI.run("peer", "add", "--dir", partner, "--name", "firm", "--id", firmID, "--address", "127.0.0.1:\(firmPort)")

        let down = try await CLI.run("ping", "--dir", firm, "partner")
        #expect(down.status == 1)
        #expect(down.stderr.contains("Connection refused (is `accord serve` running there?)"))

        let firmLog = sandbox.root.appendingPathComponent("firm.log")
        let partnerLog = sandbox.root.appendingPathComponent("partner.log")
        let firmProcess = try CLI.serve(firm, log: firmLog)
        let partnerProcess = try CLI.serve(partner, log: partnerLog)
        defer { for process in [firmProcess, partnerProcess] where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let linked = await eventually {
            (try? String(contentsOf: firmLog, encoding: .utf8))?.contains("linked with partner") == true
        }
        #expect(linked)
        let ping = try await CLI.run("ping", "--dir", firm, "partner", "--count", "2")
        #expect(ping.status == 0, "\(ping.stderr)")
        #expect(ping.stdout.contains("TLSv1.3, mutual authentication, protocol 2, node name 'partner'"))
        #expect(ping.stdout.contains("2 pings: rtt min/avg/max"))
        // A third node set to listen where the firm does cannot start, and says why.
        let other = sandbox.path("other")
        try await CLI.run("init", "--dir", other, "--name", "other", "--listen", "127.0.0.1:\(firmPort)")
        let clash = try await CLI.run("serve", "--dir", other)
        #expect(clash.status == 1)
        #expect(clash.stderr.hasSuffix("cannot listen on 127.0.0.1:\(firmPort): the port is in use (another program, or another node, holds it) — the address is 'listen' in node.conf\n"), "\(clash.stderr)")

        for process in [firmProcess, partnerProcess] { kill(process.processIdentifier, SIGTERM) }
        for process in [firmProcess, partnerProcess] { await process.exit() }
        #expect(firmProcess.terminationStatus == 0)
        #expect(partnerProcess.terminationStatus == 0)
        let text = try String(contentsOf: firmLog, encoding: .utf8)
        #expect(text.contains("received SIGTERM; stopping"))
        #expect(text.contains("stopped"))
        #expect(!text.contains("Fatal error"))
    }
}

private let handedOutPorts = Mutex<Set<UInt16>>([])

/// A port that was free a moment ago, below Linux's ephemeral range (32768–60999): a port the
/// kernel hands out for binding to 0 is also what it picks as the source port of outgoing
/// connections, so a node restarted on it later could find it taken by another test's dial.
/// A port is handed out once per test run, so two tests never pick the same one.
func freePort() throws -> UInt16 {
    for _ in 0..<100 {
        let port = UInt16.random(in: 20_000..<32_000)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_LOOPBACK.bigEndian
        address.sin_port = port.bigEndian
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if bound == 0 { return port }
    }
    throw NodeError("no free port between 20000 and 32000")
}
