import Testing

import AccordCore

@Suite("FIFO")
struct FIFOTests {
    final class Token {
        let number: Int
        init(_ number: Int) { self.number = number }
    }

    /// A reader that stays one element behind for 10,000 elements: order kept, and every
    /// element it took is released (the inbox of a slow sync receiver is such a queue).
    @Test func takenElementsAreReleasedWhileTheQueueNeverEmpties() {
        var queue = FIFO<Token>()
        var taken: [Int] = []
        var released: [() -> Bool] = []
        queue.append(Token(0))
        for number in 1..<10_000 {
            queue.append(Token(number))
            guard let token = queue.popFirst() else { Issue.record("empty at \(number)"); return }
            taken.append(token.number)
            weak let gone = token
            released.append { gone == nil }
        }
        #expect(taken == Array(0..<9_999))
        #expect(queue.count == 1)
        #expect(released.allSatisfy { $0() }, "\(released.filter { !$0() }.count) taken elements are still held")
        #expect(queue.popFirst()?.number == 9_999)
        #expect(queue.popFirst() == nil)
    }
}
