import Foundation

/// A node operation failed in a way the operator can fix. `description` is the one line the CLI prints.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Throws, saying why, unless `file` is a file (not a folder) this process may read.
    static func checkReadable(_ file: URL) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder) else { throw NodeError("cannot read \(file.path): no such file") }
        guard !isFolder.boolValue else { throw NodeError("cannot read \(file.path): it is a folder; give a file") }
        guard FileManager.default.isReadableFile(atPath: file.path) else { throw NodeError("cannot read \(file.path): this user may not read it (see its permissions)") }
    }

    /// An error of reading `file` (Foundation's, whose own text says little on Linux), in words.
    static func reading(_ file: URL, _ error: any Error) -> NodeError {
        // (The underlying error may be a Swift error, not an NSError: bridged, it has its domain.)
        let errors = [error as NSError, ((error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }].compactMap { $0 }
        let posix = errors.first { $0.domain == NSPOSIXErrorDomain }
        return NodeError("cannot read \(file.path): \(posix.map { String(cString: strerror(Int32($0.code))) } ?? "\(error)")")
    }
}
