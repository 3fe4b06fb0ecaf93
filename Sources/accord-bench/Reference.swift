import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// OpenSSL's own figures on this machine, measured by its command-line tool.
enum Reference {
    /// `openssl s_time -new` against `openssl s_server`, both with Ed25519 certificates and
    /// client authentication required, TLS 1.3: full handshakes per second.
    static func sTime(server: Party, client: Party, seconds: Int) throws -> Double {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("accord-bench-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try server.write(to: folder, as: "server")
        try client.write(to: folder, as: "client")
        let port = try freePort()
        let sServer = try Child(
            ["openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", "server.crt", "-key", "server.key",
             "-Verify", "1", "-CAfile", "client.crt", "-tls1_3", "-quiet", "-num_tickets", "0"],
            in: folder,
            output: "/dev/null"
        )
        defer { sServer.stop() }
        try waitUntilListening(port: port)
        let output = try capture(
            ["openssl", "s_time", "-connect", "127.0.0.1:\(port)", "-new", "-time", "\(seconds)", "-tls1_3",
             "-cert", "client.crt", "-key", "client.key", "-CAfile", "server.crt"],
            in: folder
        )
        // "1234 connections in 5 real seconds, …"
        guard let match = output.firstMatch(of: /(\d+) connections in (\d+) real seconds/),
            let count = Double(match.1), let real = Double(match.2), real > 0
        else { throw BenchmarkError("could not read s_time's output:\n\(output)") }
        return count / real
    }

    /// `openssl speed -evp aes-256-gcm`, 16 KiB blocks: MB/s on one core.
    static func aesGCM(seconds: Int) throws -> Double {
        let output = try capture(
            ["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "16384", "-seconds", "\(seconds)"],
            in: FileManager.default.temporaryDirectory
        )
        guard let match = output.firstMatch(of: /AES-256-GCM\s+([\d.]+)k/), let thousands = Double(match.1) else {
            throw BenchmarkError("could not read openssl speed's output:\n\(output)")
        }
        return thousands * 1000 / 1_000_000
    }

    private static func capture(_ command: [String], in folder: URL) throws -> String {
        let output = folder.appendingPathComponent("output-\(UUID()).txt")
        defer { try? FileManager.default.removeItem(at: output) }
        try Child(command, in: folder, output: output.path).wait()
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }
}

/// A child process started with `posix_spawn`, a clean signal mask and default signal actions.
/// (Foundation's `Process` passes on the spawning thread's blocked signals, so `openssl speed`
/// never sees its SIGALRM and `openssl s_server` ignores SIGTERM.)
struct Child {
    let pid: pid_t
    /// Where its standard output and error go.
    let output: String

    /// The user and system time the process has used so far (from /proc), 0 if unknown.
    func cpuTime() -> CPUTime {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return CPUTime() }
        // After the command name: state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return CPUTime() }
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUTime(user: user / tick, system: system / tick)
    }

    init(_ command: [String], in folder: URL, output: String) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)  // a crash's last words land in the output too
        // `sh` changes into the folder, then becomes the command.
        let shell = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder.path] + command
        let argv = shell.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        guard rc == 0 else { throw BenchmarkError("cannot start \(command[0]): \(String(cString: strerror(rc)))") }
        (self.pid, self.output) = (pid, output)
    }

    /// Waits for the process to end. Returns its exit status (-1 if a signal ended it).
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    /// Throws if the process has ended (a node that crashed), with the end of its output.
    func checkRunning(_ name: String) throws {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return }
        let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        let last = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").suffix(30).joined(separator: "\n")
        throw BenchmarkError("\(name) \(how); the end of its output:\n\(last)")
    }

    func stop() {
        kill(pid, SIGTERM)
        wait()
    }
}

/// The `accord` executable built beside this one.
func accordExecutable() -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("accord").path
}

/// A port the kernel just handed out (bind to 0, read it, close).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = INADDR_LOOPBACK.bigEndian
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0 }
    }
    guard bound else { throw BenchmarkError("cannot find a free port: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls until something accepts TCP connections on 127.0.0.1:port (at most 10 s).
func waitUntilListening(port: Int) throws {
    for _ in 0..<200 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_LOOPBACK.bigEndian
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if connected { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw BenchmarkError("openssl s_server did not start listening on port \(port)")
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Processor time a process used, in seconds: in its own code and libraries (user), and in the
/// kernel on its behalf (system: above all, copying what SQLite writes into the page cache, which
/// varies with the machine's disk more than the code does).
/// Processor time this process (`RUSAGE_SELF`), or the processes it started and waited for
/// (`RUSAGE_CHILDREN`), used.
func cpuTime(of who: __rusage_who) -> CPUTime {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return CPUTime(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
}

struct CPUTime {
    var user = 0.0, system = 0.0

    static func - (a: CPUTime, b: CPUTime) -> CPUTime { CPUTime(user: a.user - b.user, system: a.system - b.system) }

    /// Per record of `count`, in µs: "7.4 µs (5.9 user)".
    func perRecord(_ count: Int) -> String {
        String(format: "%.1f µs (%.1f user)", (user + system) / Double(count) * 1e6, user / Double(count) * 1e6)
    }
}
