import AccordNode
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// A peer closing mid-write would otherwise kill the process.
signal(SIGPIPE, SIG_IGN)

func printHelp() {
    print("accord — share customer records between organizations under signed agreements\n")
    print("Usage: accord <command> [options]   (accord <command> --help for details)\n")
    print("Commands:")
    let width = allCommands.map(\.name.count).max() ?? 0
    for command in allCommands {
        print("  " + command.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + command.summary)
    }
    print("\nEvery command takes --dir <node folder>, or the ACCORD_DIR environment variable.")
}

func fail(_ message: String, code: Int32) -> Never {
    remark(message)
    exit(code)
}

let words = Array(CommandLine.arguments.dropFirst())
if words.isEmpty || words == ["--help"] || words == ["-h"] || words == ["help"] {
    printHelp()
    exit(words.isEmpty ? 2 : 0)
}

// The longest command path that the words start with.
guard let command = allCommands.filter({ words.starts(with: $0.path) }).max(by: { $0.path.count < $1.path.count }) else {
    let group = allCommands.filter { $0.path.first == words[0] }
    if !group.isEmpty {
        let choices = group.map { $0.path.dropFirst().joined(separator: " ") }.joined(separator: ", ")
        fail("'\(words[0])' needs one of: \(choices) (accord \(words[0]) <command> --help)", code: 2)
    }
    fail("unknown command '\(words[0])'; run `accord --help` for the list", code: 2)
}

let rest = Array(words.dropFirst(command.path.count))
if rest.contains("--help") || rest.contains("-h") {
    print("Usage: \(command.usage)\n\n\(command.summary.prefix(1).uppercased() + command.summary.dropFirst()).")
    print(command.details)
    exit(0)
}

do {
    let arguments = try Arguments(rest, valued: command.valued, flags: command.flags, command: command.name)
    try await command.run(arguments)
} catch let error as UsageError {
    fail("\(error.command): \(error.detail)\nusage: \(command.usage)", code: 2)
} catch {
    fail("\(error)", code: 1)
}
