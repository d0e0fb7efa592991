/// A strict RFC 8259 JSON parser into ``JSONValue``, written because Foundation's `JSONDecoder` (through
/// Codable) cost about a third of the CPU per job.
///
/// What it accepts:
/// - exactly one value, with optional space, tab, line feed or carriage return around it (no byte order mark);
/// - no comments, trailing commas, `NaN`, `Infinity`, leading zeros, `+1`, `.5` or `1.`;
/// - strings of valid UTF-8 without raw control characters (U+0000 to U+001F), with the escapes
///   `\" \\ \/ \b \f \n \r \t \uXXXX`; escaped surrogates must come as high-low pairs;
/// - arrays and objects nested at most ``maximumDepth`` deep, so hostile input cannot exhaust the stack.
///
/// Numbers without a fraction or exponent that fit `Int64` become `.integer`; every other number becomes
/// `.number` (so `1.0` is `.number(1.0)`, and `9223372036854775808` is `.number`), and one that overflows
/// `Double` (`1e999`) is an error. When an object repeats a key, the last value wins.
public enum JSONParser {
    /// Arrays and objects nested deeper than this are refused.
    public static let maximumDepth = 64

    /// Parses `bytes` as one JSON value.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in try parse(buffer) }
    }

    /// Parses `text`'s UTF-8 as one JSON value.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in Result { () throws(JSONParseError) in try parse(buffer) } }.get()
    }

    /// Any byte collection; contiguous ones (`ArraySlice`, `Data`) are read in place.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer) }
        }
        return try (result ?? Result { () throws(JSONParseError) in try parse(Array(bytes)) }).get()
    }

    /// Parses the bytes in place as one JSON value.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw JSONParseError("trailing characters", at: reader.index) }
        return value
    }
}

/// Why the bytes are not one valid JSON value, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is, in bytes from the start of the input.
    public let offset: Int
    /// The problem and its offset, e.g. `unexpected character 'x' at byte 12`.
    public let message: String

    init(_ problem: String, at offset: Int) {
        self.offset = offset
        self.message = "\(problem) at byte \(offset)"
    }

    /// The message.
    public var description: String { message }
}

/// The parse state: a cursor over the input. Every method that reads a token expects `index` at its first byte
/// (whitespace already skipped) and leaves `index` just past it.
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Unescaped bytes of the string being read; kept between strings so escapes rarely allocate.
    var scratch: [UInt8] = []
    /// The members read so far of the objects being read, innermost last. Each object's go into a dictionary
    /// sized for them at its end, which hashes every key once where a growing dictionary rehashes.
    var pendingMembers: [(String, JSONValue)] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }

    /// `depth` counts the arrays and objects around the value.
    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw unexpected() }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: throw unexpected()
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard index < bytes.count, bytes[index] == expected else { throw unexpected() }
            index += 1
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        try checkDepth(depth)
        index += 1
        skipWhitespace()
        var elements: [JSONValue] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw unexpected()
            }
        }
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        try checkDepth(depth)
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object([:])
        }
        // Room for typical objects from the start, instead of growing a step at a time.
        if pendingMembers.capacity == 0 { pendingMembers.reserveCapacity(16) }
        let firstMember = pendingMembers.count
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected() }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected() }
            index += 1
            skipWhitespace()
            let value = try value(depth: depth)
            pendingMembers.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                // A repeated key replaces the earlier value: the last one wins.
                let members = Dictionary(pendingMembers[firstMember...]) { _, last in last }
                pendingMembers.removeSubrange(firstMember...)
                return .object(members)
            default: throw unexpected()
            }
        }
    }

    func checkDepth(_ depth: Int) throws(JSONParseError) {
        guard depth <= JSONParser.maximumDepth else {
            throw JSONParseError("nesting deeper than \(JSONParser.maximumDepth)", at: index)
        }
    }

    // MARK: Strings

    mutating func string() throws(JSONParseError) -> String {
        let open = index
        index += 1
        let start = index
        // Most strings have no escapes: validate them in place and copy them once.
        skipPlainBytes()
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            case UInt8(ascii: "\\"):
                return try escapedString(open: open, start: start)
            case 0..<0x20: throw controlCharacter()
            case 0x80...:
                try skipMultiByteScalar()
                skipPlainBytes()
            default: index += 1
            }
        }
        throw JSONParseError("unterminated string", at: open)
    }

    /// The rest of a string from its first backslash at `index`, built up in `scratch`.
    mutating func escapedString(open: Int, start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                // Raw runs were validated, and escapes append whole scalars, so this never repairs anything.
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try unescape()
                runStart = index
                skipPlainBytes()
            case 0..<0x20: throw controlCharacter()
            case 0x80...:
                try skipMultiByteScalar()
                skipPlainBytes()
            default: index += 1
            }
        }
        throw JSONParseError("unterminated string", at: open)
    }

    /// Moves `index` on a word at a time over string bytes that need no closer look (anything but a quote, a
    /// backslash, a control character or a non-ASCII byte).
    mutating func skipPlainBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)
            let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
            let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            // The high bit of a byte of `special` is set, with false positives only in bytes above one where
            // it truly is, if the byte is below 0x20, a quote or a backslash (the subtractions borrow through
            // zero) or at least 0x80.
            let special =
                (word &- ones &* 0x20) & ~word | (quotes &- ones) & ~quotes | (backslashes &- ones) & ~backslashes
                | word
            if special & (ones &* 0x80) != 0 { break }
            index += 8
        }
    }

    /// Appends the character of the escape at `index` to `scratch`.
    mutating func unescape() throws(JSONParseError) {
        let backslash = index
        guard index + 1 < bytes.count else { throw JSONParseError("unterminated string", at: backslash) }
        let letter = bytes[index + 1]
        index += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let scalar = try escapedScalar(backslash: backslash)
            UTF8.encode(scalar) { scratch.append($0) }
        default:
            throw JSONParseError("invalid escape \(describe(letter)) in string", at: backslash)
        }
    }

    /// The scalar of a `\uXXXX` escape whose four digits start at `index`, joining a UTF-16 surrogate pair
    /// written as two escapes.
    mutating func escapedScalar(backslash: Int) throws(JSONParseError) -> Unicode.Scalar {
        let unit = try hexQuad(backslash: backslash)
        switch unit {
        case 0xD800...0xDBFF:
            let lowBackslash = index
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw JSONParseError("unpaired surrogate in \\u escape", at: backslash) }
            index += 2
            let low = try hexQuad(backslash: lowBackslash)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw JSONParseError("unpaired surrogate in \\u escape", at: backslash)
            }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
        case 0xDC00...0xDFFF:
            throw JSONParseError("unpaired surrogate in \\u escape", at: backslash)
        default:
            return Unicode.Scalar(unit)!
        }
    }

    mutating func hexQuad(backslash: Int) throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONParseError("invalid \\u escape", at: backslash) }
        var unit: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError("invalid \\u escape", at: backslash)
            }
            unit = unit << 4 | UInt32(digit)
        }
        index += 4
        return unit
    }

    /// Steps over the multi-byte UTF-8 sequence at `index`, refusing what RFC 3629 forbids: stray continuation
    /// bytes, overlong forms, surrogates, values past U+10FFFF and truncated sequences.
    mutating func skipMultiByteScalar() throws(JSONParseError) {
        let length: Int
        // The second byte's range is narrower than 0x80...0xBF where that excludes the forbidden values.
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch bytes[index] {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            second = 0xA0...0xBF
        case 0xED:
            length = 3
            second = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0:
            length = 4
            second = 0x90...0xBF
        case 0xF4:
            length = 4
            second = 0x80...0x8F
        case 0xF1...0xF3: length = 4
        default: throw JSONParseError("invalid UTF-8", at: index)
        }
        guard index + length <= bytes.count, second.contains(bytes[index + 1]) else {
            throw JSONParseError("invalid UTF-8", at: index)
        }
        for continuation in bytes[index + 2..<index + length] where continuation & 0xC0 != 0x80 {
            throw JSONParseError("invalid UTF-8", at: index)
        }
        index += length
    }

    func controlCharacter() -> JSONParseError {
        JSONParseError("unescaped control character \(describe(bytes[index])) in string", at: index)
    }

    // MARK: Numbers

    /// A number per RFC 8259's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        // The decimal digits, while they fit: the integer itself, or the significand of the fast path below.
        var significand: UInt64 = 0
        var exact = true
        var fractionDigits = 0
        guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw JSONParseError("leading zero in number", at: start) }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                accumulate(bytes[index], into: &significand, exact: &exact)
                index += 1
            }
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected() }
            while index < bytes.count, isDigit(bytes[index]) {
                accumulate(bytes[index], into: &significand, exact: &exact)
                fractionDigits += 1
                index += 1
            }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            integral = false
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected() }
            while index < bytes.count, isDigit(bytes[index]) {
                // Stops growing past the fast path's reach, so it cannot overflow; below the bound it is exact.
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }

        if integral && exact {
            if !negative, significand <= UInt64(Int64.max) { return .integer(Int64(significand)) }
            if negative, significand <= UInt64(Int64.max) + 1 {
                return .integer(0 &- Int64(truncatingIfNeeded: significand))
            }
        }
        // Clinger's fast path: a significand and a power of ten that are both exact doubles give a correctly
        // rounded result from one multiplication or division.
        let scale = exponent - fractionDigits
        if exact, significand <= 1 << 53, exponent.magnitude < 100_000, (-22...22).contains(scale) {
            let magnitude =
                scale < 0
                ? Double(significand) / powersOfTen[-scale] : Double(significand) * powersOfTen[scale]
            return .number(negative ? -magnitude : magnitude)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw JSONParseError("number out of range", at: start) }
        return .number(value)
    }

    func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    func accumulate(_ digit: UInt8, into significand: inout UInt64, exact: inout Bool) {
        let (shifted, overflowA) = significand.multipliedReportingOverflow(by: 10)
        let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
        if overflowA || overflowB { exact = false } else if exact { significand = sum }
    }

    // MARK: Errors

    func unexpected() -> JSONParseError {
        guard index < bytes.count else { return JSONParseError("unexpected end of input", at: index) }
        let byte = bytes[index]
        let kind = (0x20..<0x7F).contains(byte) ? "character" : "byte"
        return JSONParseError("unexpected \(kind) \(describe(byte))", at: index)
    }

    /// A printable character quoted, any other byte in hex.
    func describe(_ byte: UInt8) -> String {
        guard (0x20..<0x7F).contains(byte) else {
            let hex = String(byte, radix: 16, uppercase: true)
            return "0x" + (hex.count < 2 ? "0" + hex : hex)
        }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }
}

/// 10^0 through 10^22, the powers of ten a double holds exactly.
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]
