import AccordCore
import AccordNode
import AccordStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let agreementCommands: [Command] = [
    Command(
        path: ["agreement", "new"],
        summary: "write a commented agreement template to Agreements/",
        usage: "accord agreement new --dir <node> [--with <peer>] [--id <id>] [--collection customers]",
        details: """
            Writes Agreements/<id>.agreement: every clause present and explained, ready to fill in
            with any text editor. docs/agreements.md describes the format, with worked examples.
              --with        the recipient (default: the first peer)
              --id          the agreement's id (default: <collection>-<peer>-<year>)
              --collection  the collection shared (default customers); its schema's fields are listed
            """,
        valued: ["dir", "with", "id", "collection"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let book = try AgreementBook(directory: try nodeDirectory(arguments))
            let file = try book.newDocument(id: arguments["id"], recipient: arguments["with"], collection: arguments["collection"] ?? "customers")
            output("Wrote \(file.path)")
            output("Fill it in, then: accord agreement check \(file.path)")
        }
    ),
    Command(
        path: ["agreement", "check"],
        summary: "list every problem in an agreement document",
        usage: "accord agreement check --dir <node> FILE",
        details: """
            Prints each problem as FILE:line:col: what is wrong — what to write instead, and exits 1
            if there is any. Parties are checked against this node and its Peers/, fields against
            the collection's schema (Schemas/<collection>.schema).
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let file = URL(fileURLWithPath: try arguments.positional(0, named: "the agreement document (FILE)"))
            let checked = try AgreementBook(directory: try nodeDirectory(arguments)).check(file: file)
            guard let agreement = checked.agreement else {
                for problem in checked.problems { FileHandle.standardError.write(Data((problem + "\n").utf8)) }
                let count = checked.problems.count
                fail("\(count) problem\(count == 1 ? "" : "s") in \(file.path)", code: 1)
            }
            output("\(file.path): no problems. Agreement \(agreement.id) between \(AgreementSummary.sentence(agreement.parties)).")
            output("Read it back with `accord agreement show \(file.path)`; propose it with `accord agreement propose \(agreement.id)`.")
        }
    ),
    Command(
        path: ["agreement", "show"],
        summary: "an agreement in plain words (or as a page to print and sign)",
        usage: "accord agreement show --dir <node> FILE|ID [--html OUT.html]",
        details: """
            Who receives which fields of whose records, shown how, for what, from when until when,
            and what happens at the end. For an amendment waiting for signatures, also what changes,
            clause by clause. --html writes the same as a standalone page with a sign-off table.
            """,
        valued: ["dir", "html"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let target = try arguments.positional(0, named: "the agreement (FILE or ID)")
            let book = try AgreementBook(directory: try nodeDirectory(arguments))
            let agreement: Agreement
            var changes: [String]?
            let stored = try book.stored(id: target)
            if stored == nil, let file = FileManager.default.fileExists(atPath: target) ? URL(fileURLWithPath: target) : try? book.documentFile(for: target) {
                let checked = try book.check(file: file)
                guard let checkedAgreement = checked.agreement else {
                    throw NodeError("\(file.path) has problems (`accord agreement check` lists them):\n" + checked.problems.joined(separator: "\n"))
                }
                agreement = checkedAgreement.resolvingNodeIDs(in: try book.context())
            } else if let (_, stored) = stored {
                agreement = stored
                changes = try book.changes(id: target)
            } else {
                throw NodeError("no file '\(target)' and no agreement with that id here; `accord agreement list` shows the agreements")
            }
            let summary = try book.summary(of: agreement)
            let contentHash = hex(AgreementBook.contentHash(of: agreement.canonicalText))
            if let html = arguments["html"] {
                try Data(summary.html(parties: agreement.parties, contentHash: contentHash).utf8).write(to: URL(fileURLWithPath: html))
                output("Wrote \(html)")
                return
            }
            if let changes { output(changes.joined(separator: "\n") + "\n") }
            print(summary.text, terminator: "")
            output("\nContent hash: \(contentHash)")
        }
    ),
    Command(
        path: ["agreement", "propose"],
        summary: "sign an agreement and send it to the other parties",
        usage: "accord agreement propose --dir <node> ID [--to <peer>[,<peer>…]]",
        details: """
            Checks the document for ID in Agreements/, binds each party to its node ID, signs the
            canonical form with this node's key, and sends it over the mutual-TLS link. A party that
            is not reachable now gets it when its link comes up (`accord serve` must run here).
            """,
        valued: ["dir", "to"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let id = try arguments.positional(0, named: "the agreement id")
            let to = arguments["to"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let directory = try nodeDirectory(arguments)
            try await report(try AgreementBook(directory: directory).propose(id: id, to: to), directory: directory)
        }
    ),
    Command(
        path: ["agreement", "list"],
        summary: "the agreements this node holds, with their state",
        usage: "accord agreement list --dir <node> [--pending]",
        details: "--pending lists only proposals waiting for this node's answer (accept or reject).",
        valued: ["dir"],
        flags: ["pending"],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            var listed = try AgreementBook(directory: try nodeDirectory(arguments)).list()
            if arguments.flags.contains("pending") { listed = listed.filter { $0.raw == .pending } }
            if listed.isEmpty { return output(arguments.flags.contains("pending") ? "Nothing waits for your answer." : "No agreements yet.") }
            for item in listed {
                output("\(item.id)  v\(item.version)  \(item.state)  \(item.parties.joined(separator: ", "))  \(item.title)")
            }
        }
    ),
    Command(
        path: ["agreement", "accept"],
        summary: "sign a proposed agreement (or amendment) back",
        usage: "accord agreement accept --dir <node> ID",
        details: "Signs the version waiting for this node's answer and sends the acceptance to every other party.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let directory = try nodeDirectory(arguments)
            try await report(try AgreementBook(directory: directory).accept(id: try arguments.positional(0, named: "the agreement id")), directory: directory)
        }
    ),
    Command(
        path: ["agreement", "reject"],
        summary: "refuse a proposed agreement, saying why",
        usage: "accord agreement reject --dir <node> ID --reason \"…\"",
        details: "Signs a rejection of the version waiting for this node's answer and sends it to every other party.",
        valued: ["dir", "reason"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let directory = try nodeDirectory(arguments)
            let sent = try AgreementBook(directory: directory).reject(id: try arguments.positional(0, named: "the agreement id"), reason: try arguments.required("reason"))
            try await report(sent, directory: directory)
        }
    ),
    Command(
        path: ["agreement", "status"],
        summary: "an agreement's state, parties, signatures and dates",
        usage: "accord agreement status --dir <node> ID",
        details: "Every version, newest first: its state, who signed what and when, its term and review date.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            for line in try AgreementBook(directory: try nodeDirectory(arguments)).status(id: try arguments.positional(0, named: "the agreement id")) { output(line) }
        }
    ),
    Command(
        path: ["agreement", "due"],
        summary: "reviews due and expiries coming",
        usage: "accord agreement due --dir <node> [--days 30]",
        details: "Agreements in force whose review date or expiry falls within the next --days days (or has passed).",
        valued: ["dir", "days"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            guard let days = Int(arguments["days"] ?? "30"), days >= 0 else { throw UsageError(arguments.command, "--days takes a number of days, such as 30") }
            let due = try AgreementBook(directory: try nodeDirectory(arguments)).due(within: days)
            if due.isEmpty { return output("Nothing due within \(days) days.") }
            for line in due { output(line) }
        }
    ),
    Command(
        path: ["agreement", "amend"],
        summary: "propose a new version of an agreement in force",
        usage: "accord agreement amend --dir <node> ID FILE",
        details: """
            Signs FILE as the next version of ID and sends it like a proposal. The version in force
            stays in force until every party has signed the new one.
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 2)
            let directory = try nodeDirectory(arguments)
            let id = try arguments.positional(0, named: "the agreement id")
            let file = URL(fileURLWithPath: try arguments.positional(1, named: "the amended document (FILE)"))
            try await report(try AgreementBook(directory: directory).amend(id: id, file: file), directory: directory)
        }
    ),
    Command(
        path: ["agreement", "terminate"],
        summary: "end an agreement in force, for every party",
        usage: "accord agreement terminate --dir <node> ID --reason \"…\" [--wait SECONDS]",
        details: """
            Signs the termination and sends it to every other party, with a signed revocation: each
            recipient destroys the agreement's data and its data key, and answers with a signed deletion
            receipt (see `accord agreement status ID` and `accord receipt`). Run by a recipient, it
            destroys this node's own copy at once. The command waits for the receipts up to --wait
            seconds (default 3).
            """,
        valued: ["dir", "reason", "wait"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let wait = try arguments.receiptWait()
            let directory = try nodeDirectory(arguments)
            let book = try AgreementBook(directory: directory)
            let id = try arguments.positional(0, named: "the agreement id")
            let sent = try book.terminate(id: id, reason: try arguments.required("reason"))
            try await report(sent, directory: directory)
            let revocations = try book.revocationStates(agreement: id).map(\.revocation).filter { $0.kind.endsAgreement }
            try await awaitReceipts(of: revocations, book: book, directory: directory, wait: wait)
        }
    ),
]

/// Wakes the running node and says, per party, whether the statement got there (within a few
/// seconds), was refused and why, or waits for the link.
private func report(_ sent: AgreementBook.Sent, directory: NodeDirectory) async throws {
    output("Signed: \(sent.id) version \(sent.version) \(sent.kind.verb) by this node.")
    let book = try AgreementBook(directory: directory)
    AgreementBook.wakeNode(directory)
    let deadline = ContinuousClock.now + .seconds(3)
    var delivery = try book.delivery(of: sent)
    while delivery.values.contains(where: { $0 == nil }), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
        delivery = try book.delivery(of: sent)
    }
    var waiting = false
    for (name, id) in sent.recipients {
        switch delivery[id] {
        case .none: output("  \(name): delivered")
        case .some(.none):
            output("  \(name): not reachable now; queued, it goes out when the link to \(name) is up")
            waiting = true
        case .some(.some(let refusal)): output("  \(name): REFUSED: \(refusal)")
        }
    }
    if waiting, !FileManager.default.fileExists(atPath: directory.controlSocketURL.path) {
        output("  (this node is not serving: run `accord serve --dir \(directory.url.path)` to send it)")
    }
}
