import CSQLite

#if canImport(Glibc)
import Glibc
#endif

extension Database {
    /// Writes a consistent copy of the database to `path` with SQLite's online backup API: it
    /// works while other connections (a running node) read and write. Refuses to overwrite.
    public func backup(to path: String) throws(StoreError) {
        // sqlite3_open_v2 ignores SQLITE_OPEN_EXCLUSIVE, so check first.
        guard access(path, F_OK) != 0 else {
            throw StoreError(code: SQLITE_CANTOPEN, message: "cannot create \(path): it exists already; choose a new file name")
        }
        var target: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE
        guard sqlite3_open_v2(path, &target, flags, nil) == SQLITE_OK, let target else {
            let message = target.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(target)
            // SQLite says only "unable to open database file"; the folder says why.
            let folder = path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
            let why = access(folder, W_OK) == 0 ? message : "\(folder): \(String(cString: strerror(errno)))"
            throw StoreError(code: SQLITE_CANTOPEN, message: "cannot create \(path): \(why)")
        }
        defer { sqlite3_close_v2(target) }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            throw StoreError(code: sqlite3_errcode(target), message: "backup: \(String(cString: sqlite3_errmsg(target)))")
        }
        var rc: Int32
        repeat {
            rc = sqlite3_backup_step(backup, 256)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(10) }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            throw StoreError(code: rc, message: "backup to \(path) failed: \(String(cString: sqlite3_errstr(rc)))")
        }
    }
}
