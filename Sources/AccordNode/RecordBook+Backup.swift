import AccordCore
import AccordCrypto
import AccordStore
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension NodeDirectory {
    /// Fingerprints of destroyed data keys, one hex line each (Certs/shredded-keys).
    var shreddedKeysURL: URL { certsURL.appendingPathComponent("shredded-keys") }
    /// Held (flock) by `accord serve` while it runs.
    public var serveLockURL: URL { url.appendingPathComponent(".serve.lock") }

    /// Where the data keys are kept (Certs/keys/, 0700): one wrapped key per file, so that
    /// destroying a key destroys it for every copy of the store.
    func keyFolder() throws -> String {
        let folder = certsURL.appendingPathComponent("keys").path
        if mkdir(folder, 0o700) != 0, errno != EEXIST { throw NodeError("cannot create \(folder): \(String(cString: strerror(errno)))") }
        return folder
    }

    func loadShreddedKeys() throws -> Set<[UInt8]> {
        guard let data = FileManager.default.contents(atPath: shreddedKeysURL.path) else { return [] }
        var keys: Set<[UInt8]> = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.count == 64 {
            var bytes: [UInt8] = []
            var index = line.startIndex
            while index < line.endIndex {
                let next = line.index(index, offsetBy: 2)
                guard let byte = UInt8(line[index..<next], radix: 16) else { break }
                bytes.append(byte)
                index = next
            }
            if bytes.count == 32 { keys.insert(bytes) }
        }
        return keys
    }

    func recordShreddedKey(_ fingerprint: [UInt8]) throws {
        let line = hex(fingerprint) + "\n"
        let fd = open(shreddedKeysURL.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError("cannot write \(shreddedKeysURL.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = Array(line.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.utf8.count, fsync(fd) == 0 else { throw NodeError("cannot write \(shreddedKeysURL.path)") }
    }

    /// Takes the serve lock; nil if another process holds it. The lock lasts while the
    /// returned descriptor is open.
    public func takeServeLock() -> Int32? {
        let fd = open(serveLockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}

extension RecordBook {
    /// Crypto-shredding of a whole collection: its data key's fingerprint is written down first
    /// (so the key stays destroyed even in a backup restored later), then the key and its rows
    /// are destroyed. Returns how many records were destroyed.
    @discardableResult
    public func destroyCollection(_ collection: String, directory: NodeDirectory) throws -> Int {
        guard let fingerprint = try recordStore.keyFingerprint(of: collection) else { return 0 }
        try directory.recordShreddedKey(fingerprint)
        let destroyed = try recordStore.destroyKey(of: collection)
        try recordStore.audit.append(time: NodeLog.timestamp(), actor: actorName, action: "data key destroyed", detail: "\(collection): \(destroyed) record(s) made unreadable")
        return destroyed
    }

    /// A consistent copy of the store at `file` (still encrypted), safe while the node runs.
    public func backup(to file: URL) throws {
        do {
            try recordStore.database.backup(to: file.path)
            try recordStore.audit.append(time: NodeLog.timestamp(), actor: actorName, action: "backup", detail: "written to \(file.lastPathComponent)")
        } catch {
            throw NodeError("\(error)")
        }
    }

    /// Replaces the node's store with the backup at `file`. Keys destroyed since the backup was
    /// taken are destroyed again at once. Refuses while `accord serve` runs on the node.
    public static func restore(_ directory: NodeDirectory, from file: URL) throws {
        guard FileManager.default.fileExists(atPath: file.path) else { throw NodeError("no backup at \(file.path)") }
        try NodeError.checkReadable(file)
        guard let lock = directory.takeServeLock() else {
            throw NodeError("`accord serve` is running on \(directory.url.path); stop it before restoring")
        }
        defer { close(lock) }
        let staging = directory.url.appendingPathComponent("accord.sqlite.restoring")
        let fileManager = FileManager.default
        for suffix in ["", "-wal", "-shm"] { try? fileManager.removeItem(atPath: staging.path + suffix) }
        do {
            try fileManager.copyItem(at: file, to: staging)
        } catch {
            throw NodeError("cannot copy \(file.path): \(error.localizedDescription)")
        }
        do {
            // Opening migrates an older backup and purges keys destroyed since it was taken;
            // every other key must open here.
            let store = try RecordStore(
                path: staging.path, masterKey: try directory.loadMasterKey(), shreddedKeys: try directory.loadShreddedKeys(), keyFolder: try directory.keyFolder(),
                restoring: true)
            for collection in try store.collections() { _ = try store.count(collection: collection) }
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? fileManager.removeItem(atPath: staging.path + suffix) }
            throw NodeError("\(file.path) is not a backup of this node's store (this node's store is unchanged): \(error)")
        }
        for suffix in ["-wal", "-shm"] { try? fileManager.removeItem(atPath: directory.storeURL.path + suffix) }
        guard rename(staging.path, directory.storeURL.path) == 0 else {
            throw NodeError("cannot put the restored store in place: \(String(cString: strerror(errno)))")
        }
        let book = try RecordBook(directory: directory)
        try book.recordStore.audit.append(time: NodeLog.timestamp(), actor: book.actorName, action: "restore", detail: "from \(file.lastPathComponent)")
    }
}
