/// Reading values from text, by hand rather than with Regex: these run for every imported field.
extension Value {
    /// `-12.50` → `-12.5`, `7.0` → `7`; nil unless `text` is digits, one point, digits.
    public static func canonicalDecimal(_ text: String) -> String? {
        var sawDigitBefore = false
        var sawPoint = false
        var sawDigitAfter = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where index == 0: continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"): if sawPoint { sawDigitAfter = true } else { sawDigitBefore = true }
            case UInt8(ascii: ".") where !sawPoint && sawDigitBefore: sawPoint = true
            default: return nil
            }
        }
        guard sawDigitBefore, sawPoint, sawDigitAfter else { return nil }
        var digits = Substring(text)
        while digits.hasSuffix("0") { digits = digits.dropLast() }
        if digits.hasSuffix(".") { digits = digits.dropLast() }
        return String(digits)
    }

    /// True for a real calendar date written `YYYY-MM-DD`.
    public static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), (1...12).contains(month) else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = month == 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].contains(month) ? 30 : 31
        return (1...days).contains(day)
    }
}
