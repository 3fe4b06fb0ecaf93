public import AccordCore
public import AccordCrypto
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A node's folder: `Certs/` (node.key 0600, node.crt), `Peers/`, `Agreements/`, `node.conf`.
public struct NodeDirectory: Sendable {
    public let url: URL

    public init(path: String) {
        self.url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    public var certsURL: URL { url.appendingPathComponent("Certs") }
    public var peersURL: URL { url.appendingPathComponent("Peers") }
    public var agreementsURL: URL { url.appendingPathComponent("Agreements") }
    public var keyURL: URL { certsURL.appendingPathComponent("node.key") }
    public var certificateURL: URL { certsURL.appendingPathComponent("node.crt") }
    public var settingsURL: URL { url.appendingPathComponent("node.conf") }

    /// Makes a new node: a fresh Ed25519 key (mode 0600), its self-signed certificate, the
    /// settings and empty Peers/ and Agreements/ folders.
    /// - Throws: ``NodeError`` if the folder already holds an identity (it is never overwritten).
    @discardableResult
    public func create(settings: NodeSettings) throws -> NodeIdentity {
        let fileManager = FileManager.default
        for existing in [keyURL, certificateURL, settingsURL] where fileManager.fileExists(atPath: existing.path) {
            throw NodeError(
                "\(url.path) already holds a node (\(existing.lastPathComponent) exists); "
                    + "refusing to overwrite its identity — choose another --dir"
            )
        }
        do {
            try fileManager.createDirectory(at: certsURL, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fileManager.createDirectory(at: peersURL, withIntermediateDirectories: true)
            try fileManager.createDirectory(at: agreementsURL, withIntermediateDirectories: true)
        } catch {
            throw NodeError("cannot create \(url.path): \(error.localizedDescription)")
        }
        let key = try SigningKey()
        let certificate = try Certificate.selfSigned(key: key, commonName: "accord node \(settings.name)")
        try writeExclusively(Array(try key.pemEncoded().utf8), to: keyURL, mode: 0o600)
        try writeExclusively(Array(try certificate.pemEncoded().utf8), to: certificateURL, mode: 0o644)
        try writeExclusively(Array(settings.text.utf8), to: settingsURL, mode: 0o644)
        _ = try loadMasterKey()  // made now, so no two later commands race to make it
        return NodeIdentity(key: key, certificate: certificate)
    }

    /// Reads node.conf.
    public func loadSettings() throws -> NodeSettings {
        try NodeSettings(parsing: try readText(settingsURL), fileName: settingsURL.path)
    }

    /// Reads the key and certificate and checks they belong together and the key is private.
    public func loadIdentity() throws -> NodeIdentity {
        var info = stat()
        if stat(keyURL.path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw NodeError(
                "\(keyURL.path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "run `chmod 600 \(keyURL.path)`"
            )
        }
        let key: SigningKey
        let certificate: Certificate
        do {
            key = try SigningKey(pem: try readText(keyURL))
            certificate = try Certificate(pem: try readText(certificateURL))
        } catch let error as CryptoError {
            throw NodeError("\(url.path): the node identity is damaged: \(error)")
        }
        guard certificate.matches(key) else {
            throw NodeError("\(certificateURL.path) does not belong to \(keyURL.path): the node identity is damaged")
        }
        return NodeIdentity(key: key, certificate: certificate)
    }

    func readText(_ file: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw NodeError("no node at \(url.path): create one with `accord init --dir \(url.path) --name NAME`")
            }
            throw NodeError("cannot read \(file.path): missing or not readable (is \(url.path) a node folder?)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw NodeError("\(file.path) is not UTF-8 text") }
        return text
    }

    /// Creates `file` with `mode`; fails if it exists (O_EXCL), so nothing is ever overwritten.
    func writeExclusively(_ bytes: [UInt8], to file: URL, mode: mode_t) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw NodeError("cannot create \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw NodeError("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The node's key and certificate. Its node ID is the certificate's.
public struct NodeIdentity: Sendable {
    public let key: SigningKey
    public let certificate: Certificate
    /// Computed once: deriving it encodes the public key through OpenSSL's encoder machinery,
    /// far too slow for the per-record paths that compare against it.
    public let id: NodeID

    public init(key: SigningKey, certificate: Certificate) { (self.key, self.certificate, self.id) = (key, certificate, certificate.nodeID) }
}
