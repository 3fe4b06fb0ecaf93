import AccordNet
import AccordNode
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `accord serve`: runs the node until SIGINT or SIGTERM, then stops it cleanly.
func serve(_ directory: NodeDirectory) async throws {
    tuneMemoryForBulkTransfer()
    guard let lock = directory.takeServeLock() else {
        throw NodeError("`accord serve` is already running on \(directory.url.path)")
    }
    defer { close(lock) }
    let node = try Node(directory: directory)
    try await node.start()
    let (signals, continuation) = AsyncStream<Int32>.makeStream()
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)  // let the dispatch source, not the default action, see it
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { continuation.yield(signalNumber) }
        source.resume()
        sources.append(source)
    }
    for await signalNumber in signals {
        let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
        FileHandle.standardOutput.write(Data("received \(name); stopping\n".utf8))
        break
    }
    await node.stop()
    withExtendedLifetime(sources) {}
}
