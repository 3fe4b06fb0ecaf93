import Foundation
import Synchronization

/// Where a node writes what happens: one timestamped line per event.
public final class NodeLog: Sendable {
    private let sink: @Sendable (String) -> Void
    private let name: String

    /// - Parameter sink: receives each finished line (without a newline).
    public init(name: String, sink: @escaping @Sendable (String) -> Void) {
        self.name = name
        self.sink = sink
    }

    /// Lines go to standard output.
    public static func standardOutput(name: String) -> NodeLog {
        NodeLog(name: name) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }

    public func callAsFunction(_ message: String) {
        sink("\(Self.timestamp()) [\(name)] \(message)")
    }

    /// Now, UTC, ISO 8601 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = now.tv_nsec / 1_000_000
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(milliText)Z"
    }
}

/// A `NodeLog` sink that keeps lines in memory (tests, `accord ping`).
public final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])
    public init() {}
    public var sink: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
    public var all: [String] { lines.withLock { $0 } }
    public func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}
