import AccordCore
import AccordNode
import Foundation

let revocationCommands: [Command] = [
    Command(
        path: ["erase"],
        summary: "erase a data subject here and at every peer that received it",
        usage: "accord erase --dir <node> --subject CUST-77 --reason \"customer request\" [--wait SECONDS]",
        details: """
            Deletes the subject's records in this node's collections, and sends every recipient of them
            (under any agreement in force) a signed order to destroy its copies. Each answers with a
            signed deletion receipt; `accord erase status` shows who has confirmed. The command waits
            for the receipts up to --wait seconds (default 3), then says who has confirmed.
            """,
        valued: ["dir", "subject", "reason", "wait"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let wait = try arguments.receiptWait()
            let directory = try nodeDirectory(arguments)
            let book = try AgreementBook(directory: directory)
            let subject = try arguments.required("subject")
            let (records, revocations) = try book.erase(subject: subject, reason: try arguments.required("reason"))
            output("Erased \(subject): \(records) record(s) deleted here.")
            if revocations.isEmpty { return output("No agreement in force shares them: no peer holds a copy.") }
            try await awaitReceipts(of: revocations, book: book, directory: directory, wait: wait)
        }
    ),
    Command(
        path: ["erase", "status"],
        summary: "erasures sent, and each peer's receipt",
        usage: "accord erase status --dir <node>",
        details: "Every erasure this node knows, with each recipient's receipt: confirmed (when, how many records), pending, or overdue.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let states = try AgreementBook(directory: try nodeDirectory(arguments)).revocationStates(kind: .erase)
            if states.isEmpty { return output("No erasures.") }
            for state in states { for line in AgreementBook.lines(state) { output(line) } }
        }
    ),
    Command(
        path: ["peer", "revoke"],
        summary: "breach response: end every agreement with a peer and unpin it",
        usage: "accord peer revoke --dir <node> <peer> --reason \"suspected leak\" [--wait SECONDS]",
        details: """
            Terminates every agreement in force with the peer (each recipient is ordered to destroy the
            data and to send a receipt), then unpins the peer: it can no longer connect. Its file moves to
            Peers/Revoked/. `accord report affected --peer <peer>` lists the data subjects it received.
            Before unpinning, it waits up to --wait seconds (default 3) for the peer's receipts.
            """,
        valued: ["dir", "reason", "wait"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let wait = try arguments.receiptWait()
            let directory = try nodeDirectory(arguments)
            let name = try arguments.positional(0, named: "the peer's name")
            let book = try AgreementBook(directory: directory)
            let reason = try arguments.required("reason")
            let sent = try book.terminateAll(with: name, reason: reason)
            output("\(sent.count) agreement(s) with \(name) terminated\(sent.isEmpty ? "" : ": " + sent.map(\.id).joined(separator: ", ")).")
            // The revocations go out while the peer can still be reached; receipts that do not
            // come back in time are shown as pending (the other parties pass the revocation on).
            let ids = Set(sent.map(\.id))
            try await awaitReceipts(of: try book.revocationStates().map(\.revocation).filter { ids.contains($0.agreementID) && $0.kind.endsAgreement }, book: book, directory: directory, wait: wait)
            try book.unpin(name, reason: reason)
            output("Revoked \(name): unpinned; it can no longer connect.")
            output("List the data subjects it received with `accord report affected --dir \(directory.url.path) --peer \(name)`.")
        }
    ),
    Command(
        path: ["report", "affected"],
        summary: "the data subjects a peer received, to notify them",
        usage: "accord report affected --dir <node> --peer <peer> [--format text|csv|json]",
        details: """
            Every data subject with records covered by an agreement under which the peer acknowledged
            data, with the agreement and the number of records. It errs on the side of listing: a
            record added after the peer's last acknowledgement is listed too.
            """,
        valued: ["dir", "peer", "format"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let directory = try nodeDirectory(arguments)
            let name = try arguments.required("peer")
            let format = arguments["format"] ?? "text"
            guard ["text", "csv", "json"].contains(format) else { throw UsageError(arguments.command, "--format is text, csv or json") }
            let book = PeerBook(directory)
            guard let peer = try (book.all() + book.revoked()).first(where: { $0.name == name }) else {
                throw NodeError("no peer named '\(name)', pinned or revoked; `accord peer list` shows the peers")
            }
            let rows = try AgreementBook(directory: directory).affectedSubjects(peer: peer.id)
            switch format {
            case "csv":
                output("subject,agreement,records")
                for row in rows { output("\(csvField(row.subject)),\(csvField(row.agreement)),\(row.records)") }
            case "json":
                for row in rows { output(try json(["subject": row.subject, "agreement": row.agreement, "records": row.records])) }
            default:
                output("\(Set(rows.map(\.subject)).count) data subject(s) whose records \(name) received:")
                for row in rows { output("  \(row.subject)  (\(row.records) record(s) under \(row.agreement))") }
            }
        }
    ),
    Command(
        path: ["receipt", "list"],
        summary: "the deletion receipts this node holds",
        usage: "accord receipt list --dir <node>",
        details: "Its own receipts and those peers sent it: id, node, agreement, what was destroyed, when.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let book = try AgreementBook(directory: try nodeDirectory(arguments))
            let receipts = try book.receipts()
            if receipts.isEmpty { return output("No receipts.") }
            for receipt in receipts { output(try describe(receipt, book: book)) }
        }
    ),
    Command(
        path: ["receipt", "export"],
        summary: "write a deletion receipt for an auditor",
        usage: "accord receipt export --dir <node> ID [--out FILE]",
        details: """
            Writes the receipt as JSON: its fields in plain words and the signed bytes, which anyone can
            check offline with `accord receipt verify FILE` (no node needed).
            """,
        valued: ["dir", "out"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let book = try AgreementBook(directory: try nodeDirectory(arguments))
            let receipt = try book.receipt(try arguments.positional(0, named: "the receipt id"))
            let text = try ReceiptFile.text(of: receipt, names: try book.localNames())
            guard let out = arguments["out"] else { return output(text) }
            try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: out))
            output("Wrote receipt \(AgreementBook.receiptID(receipt)) to \(out)")
        }
    ),
    Command(
        path: ["receipt", "verify"],
        summary: "check a deletion receipt's signature, offline",
        usage: "accord receipt verify FILE | accord receipt verify --dir <node> ID",
        details: """
            Checks that the receipt was signed by the node it names (the key matches the node ID) and that
            its readable fields are what was signed; the same for every sub-processor receipt inside it.
            Exit 0 if it holds, 1 if not.
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let argument = try arguments.positional(0, named: "the receipt file or id")
            let receipt: DeletionReceipt
            if FileManager.default.fileExists(atPath: argument) {
                receipt = try ReceiptFile.read(URL(fileURLWithPath: argument))
            } else {
                receipt = try AgreementBook(directory: try nodeDirectory(arguments)).receipt(argument)
            }
            if let problem = AgreementBook.verify(receipt) { throw NodeError("the receipt does NOT verify: \(problem)") }
            output("Receipt \(AgreementBook.receiptID(receipt)) verifies: signed by node \(receipt.node).")
            output("  \(receipt.destroyed) record(s) destroyed under \(receipt.agreementID)\(receipt.keyDestroyed ? ", and the agreement's data key" : "") at \(receipt.at)")
            output("  for revocation \(hex(receipt.revocationID)); record ids SHA-256 \(hex(receipt.digest))")
            for onward in receipt.onward { output("  includes the receipt of \(onward.node.shortForm): \(onward.destroyed) record(s) at \(onward.at)") }
        }
    ),
]

extension Arguments {
    /// `--wait`: how long a command that sends revocations waits for the receipts (3 s unless given).
    func receiptWait() throws(UsageError) -> Duration { try seconds("wait", default: .seconds(3)) }
}

/// Wakes the node and waits for the targets' receipts (`--wait`), then says where each stands.
func awaitReceipts(of revocations: [Revocation], book: AgreementBook, directory: NodeDirectory, wait: Duration) async throws {
    AgreementBook.wakeNode(directory)
    let ids = Set(revocations.map(\.id))
    let deadline = ContinuousClock.now + wait
    var states = try book.revocationStates().filter { ids.contains($0.revocation.id) }
    while states.contains(where: { $0.targets.contains { $0.receipt == nil } }), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
        states = try book.revocationStates().filter { ids.contains($0.revocation.id) }
    }
    for state in states { for line in AgreementBook.lines(state) { output(line) } }
    if states.contains(where: { $0.targets.contains { $0.receipt == nil } }) {
        output("Receipts still pending arrive when each peer is reached; see `accord agreement status` or `accord erase status`.")
    }
}

private func describe(_ receipt: DeletionReceipt, book: AgreementBook) throws -> String {
    let name = try book.localNames()[receipt.node] ?? receipt.node.shortForm
    return "\(AgreementBook.receiptID(receipt))  \(name)  \(receipt.agreementID)  \(receipt.destroyed) record(s)\(receipt.keyDestroyed ? " + data key" : "")  \(receipt.at)"
}

/// A receipt as a file for an auditor: JSON with its fields in plain words, and the signed bytes
/// (base64) that decide.
enum ReceiptFile {
    static func text(of receipt: DeletionReceipt, names: [NodeID: String]) throws -> String {
        try json(object(receipt, names: names), pretty: true)
    }

    private static func object(_ receipt: DeletionReceipt, names: [NodeID: String]) -> [String: Any] {
        [
            "receipt": AgreementBook.receiptID(receipt), "agreement": receipt.agreementID, "revocation": hex(receipt.revocationID),
            "node": receipt.node.description, "node_name": names[receipt.node] ?? "", "records_destroyed": receipt.destroyed,
            "record_ids_sha256": hex(receipt.digest), "data_key_destroyed": receipt.keyDestroyed, "at": receipt.at,
            "onward": receipt.onward.map { object($0, names: names) }, "signed": Data(receipt.encoded).base64EncodedString(),
        ]
    }

    /// The receipt in `file`; its readable fields must be those signed.
    static func read(_ file: URL) throws -> DeletionReceipt {
        guard let data = FileManager.default.contents(atPath: file.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw NodeError("\(file.path) is not a receipt file (JSON written by `accord receipt export`)") }
        guard let signed = (object["signed"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw NodeError("\(file.path) has no \"signed\" field with the receipt's signed bytes (base64)")
        }
        let receipt: DeletionReceipt
        do { receipt = try DeletionReceipt(decoding: Array(signed)) } catch { throw NodeError("the signed bytes in \(file.path) are not a receipt: \(error)") }
        let expected = Self.object(receipt, names: [:])
        for field in ["receipt", "agreement", "revocation", "node", "records_destroyed", "record_ids_sha256", "data_key_destroyed", "at"] {
            guard let value = object[field], try json([field: value]) == json([field: expected[field]!]) else {
                throw NodeError("the receipt does NOT verify: its field \"\(field)\" says \(object[field] ?? "nothing"), the signed receipt \(expected[field]!)")
            }
        }
        return receipt
    }
}

func json(_ object: [String: Any], pretty: Bool = false) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}
