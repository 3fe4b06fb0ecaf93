import Testing

@testable import AccordCore

@Suite("Frames and messages")
struct WireTests {
    static let messages: [Message] = [
        .hello(Hello(nodeID: NodeID(digest: Array(0..<32)), name: "firm", purpose: .link)),
        .hello(Hello(protocolVersion: 9, nodeID: NodeID(digest: Array(repeating: 1, count: 32)), name: "", purpose: .probe)),
        .ping(Ping(sequence: 1, sentAtNanoseconds: 42)),
        .pong(Ping(sequence: .max, sentAtNanoseconds: 0)),
        .goodbye(reason: "shutting down — 再见"),
    ]

    @Test func hexHasTwoLowercaseDigitsAByte() {
        #expect(hex([0x00, 0x0F, 0xA0, 0xFF, 0x5C]) == "000fa0ff5c")
        #expect(hex([UInt8](0...255)[250...]) == "fafbfcfdfeff")
        #expect(hex([UInt8]()) == "")
    }

    @Test(arguments: messages)
    func messagesRoundTripThroughFrames(message: Message) throws {
        var decoder = FrameDecoder()
        decoder.append(message.frame.encoded)
        let frame = try #require(try decoder.next())
        #expect(try Message(frame) == message)
        #expect(decoder.bufferedCount == 0)
    }

    /// A stream cut at every possible place yields the same frames.
    @Test func framesSurviveEverySplitOfTheStream() throws {
        let stream = Self.messages.flatMap { $0.frame.encoded }
        for cut in 0...stream.count {
            var decoder = FrameDecoder()
            var frames: [Frame] = []
            decoder.append(Array(stream[..<cut]))
            while let frame = try decoder.next() { frames.append(frame) }
            decoder.append(Array(stream[cut...]))
            while let frame = try decoder.next() { frames.append(frame) }
            #expect(frames == Self.messages.map(\.frame))
            try decoder.finish()
        }
    }

    @Test func oversizedFrameIsRefusedBeforeItsPayloadArrives() {
        var decoder = FrameDecoder()
        decoder.append([0x00, 0x40, 0x00, 0x01])  // declares 4 MiB + 1
        #expect(throws: FrameError.oversized(declared: Frame.maximumLength + 1)) { try decoder.next() }
    }

    @Test func emptyFrameIsRefused() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0])
        #expect(throws: FrameError.empty) { try decoder.next() }
    }

    @Test func streamEndingInsideAFrameIsTruncated() throws {
        var decoder = FrameDecoder()
        decoder.append(Array(Message.goodbye(reason: "bye").frame.encoded.dropLast()))
        #expect(try decoder.next() == nil)
        let error = #expect(throws: FrameError.self) { try decoder.finish() }
        #expect(error?.description.contains("truncated frame") == true)
    }

    @Test func unknownKindIsNamed() {
        let error = #expect(throws: MessageError.self) { try Message(Frame(kind: 0x7F, payload: [])) }
        #expect(error?.description == "unknown message kind 0x7F")
    }

    /// Text must be valid UTF-8, including sequences a repairing decoder would turn into text of
    /// the same length (a truncated 4-byte sequence, an overlong form, a surrogate).
    @Test(arguments: [[0xC3, 0x28], [0xF0, 0x90, 0x80, 0x41], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xFF], [0x41, 0xC3]] as [[UInt8]])
    func invalidUTF8TextIsRefused(text: [UInt8]) {
        var writer = WireWriter()
        writer.data(text)
        var reader = WireReader(writer.bytes, reading: "test")
        #expect(throws: MessageError.malformed("test", "a text field is not valid UTF-8")) { try reader.string() }
        var valid = WireWriter()
        valid.string("Zoë 李 🙂")
        var validReader = WireReader(valid.bytes, reading: "test")
        #expect((try? validReader.string()) == "Zoë 李 🙂")
    }

    /// The ASCII check reads eight bytes at a time, then the rest one by one: a byte with its
    /// top bit set is seen wherever it lies, and sends the text to full validation.
    @Test func aByteOutsideASCIIIsSeenWhereverItLies() {
        for count in 0...24 {
            let ascii = [UInt8](repeating: 0x61, count: count)
            #expect(ascii.withUnsafeBufferPointer { $0.isASCII && $0.isValidUTF8 })
            for place in 0..<count {
                var text = ascii
                text[place] = 0xFF
                #expect(!text.withUnsafeBufferPointer(\.isASCII), "0xFF at \(place) of \(count)")
                var writer = WireWriter()
                writer.data(text)
                var reader = WireReader(writer.bytes, reading: "test")
                #expect(throws: MessageError.malformed("test", "a text field is not valid UTF-8")) { try reader.string() }
            }
        }
    }

    /// One-byte varints are read at once; longer ones byte by byte, and one cut short is an error.
    @Test func varintsRoundTripAndACutOneIsRefused() throws {
        let values = [0, 1, 127, 128, 300, 16_383, 16_384, Int(Int32.max), 1 << 62]
        var writer = WireWriter()
        for value in values { writer.varint(value) }
        var reader = WireReader(writer.bytes, reading: "test")
        #expect(try values.map { _ in try reader.varint() } == values)
        try reader.finish()
        var cut = WireReader([0x80], reading: "test")
        #expect(throws: MessageError.malformed("test", "it ends early (needs 1 more bytes, 0 left)")) { try cut.varint() }
        var empty = WireReader([], reading: "test")
        #expect(throws: MessageError.self) { try empty.varint() }
    }

    @Test func textComparesWithBytesWhereTheyLie() {
        func equal(_ text: String, _ bytes: ArraySlice<UInt8>) -> Bool { bytes.withUnsafeBufferPointer { text.utf8Equals($0) } }
        #expect(equal("", [][...]))
        #expect(equal("name", Array("name".utf8)[...]))
        #expect(equal("Zoë 李", Array("Zoë 李".utf8)[...]))
        #expect(!equal("name", Array("namE".utf8)[...]))
        #expect(!equal("name", Array("nam".utf8)[...]))
        #expect(!equal("nam", Array("name".utf8)[...]))
        #expect(!equal("x name", Array("x name".utf8)[2...]))
        #expect(equal("name", Array("x name".utf8)[2...]))
        // As a reader compares a name read before with one it knows.
        var reader = WireReader(Array("\u{0}\u{0}\u{0}\u{4}name".utf8), reading: "test")
        let range = (try? reader.skipText()) ?? 0..<0
        #expect(reader.bytes(range, areUTF8Of: "name") && !reader.bytes(range, areUTF8Of: "nam") && !reader.bytes(range, areUTF8Of: "namE"))
    }

    @Test(arguments: [
        Frame(kind: 0x02, payload: [1, 2, 3]),  // short ping
        Frame(kind: 0x02, payload: Array(repeating: 0, count: 17)),  // trailing byte
        Frame(kind: 0x04, payload: [0xFF, 0xFF, 0xFF, 0xFF]),  // length beyond the frame
        Frame(kind: 0x04, payload: [0, 0, 0, 2, 0xC3, 0x28]),  // invalid UTF-8
        Frame(kind: 0x01, payload: [0, 1] + Array(repeating: 0, count: 32) + [0, 0, 0, 0, 9]),  // unknown purpose
    ])
    func malformedBodiesThrowNeverTrap(frame: Frame) {
        let error = #expect(throws: MessageError.self) { try Message(frame) }
        #expect(error?.description.hasPrefix("malformed") == true)
    }
}

@Suite("Reconnect backoff")
struct BackoffTests {
    @Test func growsExponentiallyWithinJitterAndIsCapped() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let expectedCeilings: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)]
        for ceiling in expectedCeilings {
            #expect(backoff.nextDelay(unit: 0) == ceiling / 2)
        }
        backoff.reset()
        #expect(backoff.nextDelay(unit: 0.999) < .milliseconds(100))
        #expect(backoff.nextDelay(unit: 0.5) == .milliseconds(150))
    }
}

@Suite("CSV rows")
struct CSVRowTests {
    func rows(_ text: String) throws -> [[String]] {
        var assembler = CSVRowAssembler()
        var rows: [[String]] = []
        // Lines end at the byte 0x0A, as the importer reads them ("\r\n" is one Character in Swift).
        for (index, line) in text.utf8.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            if let row = try assembler.feed(Substring(String(decoding: line, as: UTF8.self)), lineNumber: index + 1) { rows.append(row) }
        }
        return rows
    }

    @Test func quotingCommasQuotesAndLineBreaks() throws {
        #expect(try rows("id,name\r\nC-1,\"Li, Wei\"") == [["id", "name"], ["C-1", "Li, Wei"]])
        #expect(try rows("a,\"say \"\"hi\"\"\",") == [["a", "say \"hi\"", ""]])
        var assembler = CSVRowAssembler()
        #expect(try assembler.feed("C-1,\"two", lineNumber: 7) == nil)
        #expect(try assembler.feed("lines\",x", lineNumber: 8) == ["C-1", "two\nlines", "x"])
        #expect(assembler.startLine == 7)
    }

    /// A row of one line without quotes is given as ranges of its bytes, the cells `feed` makes
    /// texts of; a line with a quote, or inside a quoted field, is left to `feed`.
    @Test func aPlainLineIsCutIntoRangesOfItsBytes() throws {
        var assembler = CSVRowAssembler()
        var cells: [Range<Int>] = [0..<1]
        for line in ["C-1,李伟,,Shanghai\r", "", ",", "one"] {
            let bytes = Array(line.utf8)
            #expect(bytes.withUnsafeBufferPointer { assembler.plainCells($0, lineNumber: 4, into: &cells) })
            #expect(assembler.startLine == 4)
            #expect(cells.map { String(decoding: bytes[$0], as: UTF8.self) } == (try rows(line).first ?? []), "\(line)")
        }
        for line in ["C-1,\"Li, Wei\"", "5\" disk,x"] {
            #expect(!Array(line.utf8).withUnsafeBufferPointer { assembler.plainCells($0, lineNumber: 5, into: &cells) }, "\(line)")
        }
        #expect(try assembler.feed("C-2,\"two", lineNumber: 6) == nil)
        #expect(!Array("lines,x".utf8).withUnsafeBufferPointer { assembler.plainCells($0, lineNumber: 7, into: &cells) }, "inside a quoted field")
        #expect(try assembler.feed("lines\",x", lineNumber: 7) == ["C-2", "two\nlines", "x"] && assembler.startLine == 6)
    }

    @Test func unquotedQuotesEmptyFieldsAndUTF8() throws {
        #expect(try rows("5\" disk,\"\",,李伟,\"Zoë\"") == [["5\" disk", "", "", "李伟", "Zoë"]])
        #expect(try rows(",\r") == [["", ""]])
        #expect(try rows("\"a\nb\"\"\nc\",d\ne,f") == [["a\nb\"\nc", "d"], ["e", "f"]])
        var assembler = CSVRowAssembler()
        _ = try? assembler.feed("\"a\"b,c", lineNumber: 1)
        #expect(try assembler.feed("x,y", lineNumber: 2) == ["x", "y"], "an error leaves nothing behind")
    }

    @Test func textAfterAClosingQuoteIsAnErrorOnItsLine() {
        var assembler = CSVRowAssembler()
        let error = #expect(throws: CSVError.self) { try assembler.feed("\"a\"b,c", lineNumber: 4) }
        #expect(error?.description.hasPrefix("line 4: text after a closing quote") == true)
    }
}
