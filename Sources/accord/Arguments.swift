import AccordCore

/// A command's parsed arguments: `--name value`, `--name=value`, `--flag`, and positionals.
struct Arguments: Sendable {
    /// The command these arguments are for ("peer add"), named in every usage error.
    let command: String
    private(set) var values: [String: String] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []

    /// - Parameters:
    ///   - valued: options that take a value (without the leading `--`).
    ///   - flags: options that take none.
    init(_ words: [String], valued: Set<String>, flags allowedFlags: Set<String>, command: String) throws(UsageError) {
        self.command = command
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                positionals.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if allowedFlags.contains(name) {
                guard inlineValue == nil else { throw UsageError(command, "--\(name) takes no value") }
                flags.insert(name)
            } else if valued.contains(name) {
                guard values[name] == nil else { throw UsageError(command, "--\(name) is given twice") }
                if let inlineValue {
                    values[name] = inlineValue
                } else {
                    guard index < words.count, !words[index].hasPrefix("--") else {
                        throw UsageError(command, "--\(name) needs a value")
                    }
                    values[name] = words[index]
                    index += 1
                }
            } else {
                let known = valued.union(allowedFlags)
                let hint = closestMatch(to: name, among: known.sorted()).map { " (did you mean --\($0)?)" } ?? ""
                throw UsageError(command, "unknown option --\(name)\(hint)")
            }
        }
    }

    subscript(name: String) -> String? { values[name] }

    func required(_ name: String) throws(UsageError) -> String {
        guard let value = values[name], !value.isEmpty else { throw UsageError(command, "--\(name) is required") }
        return value
    }

    /// A duration option in seconds (fractions allowed, at most an hour), or `default`.
    func seconds(_ name: String, default value: Duration) throws(UsageError) -> Duration {
        guard let text = values[name] else { return value }
        guard let seconds = Double(text), seconds >= 0, seconds <= 3600 else {
            throw UsageError(command, "--\(name) takes a number of seconds from 0 to 3600, e.g. --\(name) 10")
        }
        return .milliseconds(Int(seconds * 1000))
    }

    func positional(_ index: Int, named what: String) throws(UsageError) -> String {
        guard index < positionals.count else { throw UsageError(command, "\(what) is missing") }
        return positionals[index]
    }

    func noMorePositionals(than count: Int) throws(UsageError) {
        guard positionals.count <= count else {
            throw UsageError(command, "unexpected argument '\(positionals[count])'")
        }
    }
}

/// The command line was wrong. Printed with the command's usage line; exit code 2.
struct UsageError: Error {
    let command: String
    let detail: String
    init(_ command: String, _ detail: String) { (self.command, self.detail) = (command, detail) }
}
