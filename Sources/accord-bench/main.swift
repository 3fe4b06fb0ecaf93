import AccordNet
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// Benchmarks that print their figures next to a reference measured in the same run.
//   swift run -c release accord-bench transport [--seconds 5]
signal(SIGPIPE, SIG_IGN)
tuneMemoryForBulkTransfer()

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let seconds = option("--seconds").flatMap(Int.init) ?? 5
/// Runs a benchmark; an error ends the process with its message.
func run(_ benchmark: () async throws -> Void) async {
    do {
        try await benchmark()
    } catch {
        FileHandle.standardError.write(Data("accord-bench: \(error)\n".utf8))
        exit(1)
    }
}

switch arguments.first {
case "transport":
    await run { try await TransportBenchmark(seconds: seconds, only: option("--only")).run() }
case "records":
    await run { try RecordsBenchmark(count: option("--count").flatMap(Int.init) ?? 1_000_000).run() }
case "keymap":
    await run { try KeyMapBenchmark(count: option("--count").flatMap(Int.init) ?? 1_000_000).run() }
case "sync":
    await run { try await SyncBenchmark(count: option("--count").flatMap(Int.init) ?? 1_000_000, updates: option("--updates").flatMap(Int.init) ?? 10_000).run() }
case "codec":
    await run { try CodecBenchmark(rounds: option("--count").flatMap(Int.init) ?? 200_000).run() }
case "revocation":
    await run { try await RevocationBenchmark(peers: option("--peers").flatMap(Int.init) ?? 10, count: option("--count").flatMap(Int.init) ?? 100_000).run() }
default:
    say("usage: accord-bench transport [--seconds N] [--only handshakes|bulk] | records [--count N] | keymap [--count N] | sync [--count N] [--updates N] | revocation [--peers N] [--count N] | codec [--count N]")
    exit(2)
}

/// A fresh folder for one benchmark's nodes and files; the benchmark removes it when done.
func scratchFolder(_ benchmark: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("accord-bench-\(benchmark)-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Prints a line at once, even through a pipe.
func say(_ line: String) { try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8)) }
