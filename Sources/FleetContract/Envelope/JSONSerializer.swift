extension JSONValue {
    /// Compact JSON, byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes, except
    /// that a whole-number `.number` keeps its `.0` (`100.0`, where `JSONEncoder` writes `100`) so that it
    /// parses back as a `.number`.
    ///
    /// - Object keys are sorted by their UTF-8 bytes, as `JSONEncoder` sorts them. That is the order of Swift's
    ///   `String <` for keys in Unicode normalization form C, which includes all ASCII keys.
    /// - Strings escape only `"`, `\` and control characters (as `\b \f \n \r \t` or `\u00xx`); `/` and
    ///   non-ASCII characters are written as they are.
    /// - Doubles use Swift's shortest round-trip form (`0.1`, `1e-07`, `5e+20`); NaN and infinities, which JSON
    ///   cannot express, become `null`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(self, into: &output)
        return output
    }

    /// Appends what ``serialized()`` returns to `output`.
    package func serialize(into output: inout [UInt8]) {
        write(self, into: &output)
    }

    /// ``serialized()`` as a string.
    public var jsonText: String { String(decoding: serialized(), as: UTF8.self) }

    /// JSON for files that people read and diff: what ``serialized()`` writes (same key order,
    /// numbers and strings), with each member and element on a line of its own, indented by `indent`
    /// spaces per level, `": "` after keys, and a final line feed. Empty arrays and objects stay `[]`
    /// and `{}`. The same value always gives the same bytes.
    public func prettySerialized(indent: Int = 2) -> [UInt8] {
        var output: [UInt8] = []
        writePretty(self, indent: indent, level: 0, into: &output)
        output.append(UInt8(ascii: "\n"))
        return output
    }
}

private func writePretty(_ value: JSONValue, indent: Int, level: Int, into output: inout [UInt8]) {
    func newline(_ level: Int) {
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }
    switch value {
    case .array(let elements) where !elements.isEmpty:
        output.append(UInt8(ascii: "["))
        for (position, element) in elements.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            newline(level + 1)
            writePretty(element, indent: indent, level: level + 1, into: &output)
        }
        newline(level)
        output.append(UInt8(ascii: "]"))
    case .object(let members) where !members.isEmpty:
        output.append(UInt8(ascii: "{"))
        var first = true
        forEachInKeyOrder(members) { key, value in
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            newline(level + 1)
            JSONText.write(key, into: &output)
            output.append(contentsOf: ": ".utf8)
            writePretty(value, indent: indent, level: level + 1, into: &output)
        }
        newline(level)
        output.append(UInt8(ascii: "}"))
    default:
        write(value, into: &output)
    }
}

private func write(_ value: JSONValue, into output: inout [UInt8]) {
    switch value {
    case .null: output.append(contentsOf: "null".utf8)
    case .bool(let flag): output.append(contentsOf: flag ? "true".utf8 : "false".utf8)
    case .integer(let integer): JSONText.write(integer, into: &output)
    case .number(let number):
        // `description` always has a `.` or an exponent, so the text parses back as a `.number`.
        output.append(contentsOf: number.isFinite ? number.description.utf8 : "null".utf8)
    case .string(let string): JSONText.write(string, into: &output)
    case .array(let elements):
        output.append(UInt8(ascii: "["))
        for (position, element) in elements.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            write(element, into: &output)
        }
        output.append(UInt8(ascii: "]"))
    case .object(let members):
        output.append(UInt8(ascii: "{"))
        var first = true
        forEachInKeyOrder(members) { key, value in
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            JSONText.write(key, into: &output)
            output.append(UInt8(ascii: ":"))
            write(value, into: &output)
        }
        output.append(UInt8(ascii: "}"))
    }
}

/// Calls `body` with the members sorted by their keys' bytes, sorting their indices in a temporary
/// buffer (on the stack for small objects) rather than an array of copied members: a payload is
/// written on every publish.
private func forEachInKeyOrder(_ members: [String: JSONValue], _ body: (String, JSONValue) -> Void) {
    guard members.count > 1 else {
        for (key, value) in members { body(key, value) }
        return
    }
    withUnsafeTemporaryAllocation(of: Dictionary<String, JSONValue>.Index.self, capacity: members.count) { buffer in
        var indices = buffer
        var index = members.startIndex
        for position in 0..<members.count {
            indices.initializeElement(at: position, to: index)
            members.formIndex(after: &index)
        }
        indices.sort { members.keys[$0].utf8.lexicographicallyPrecedes(members.keys[$1].utf8) }
        for index in indices { body(members[index].key, members[index].value) }
        _ = indices.deinitialize()
    }
}

/// JSON text appended to a byte array: the serializer's own integers and strings, for writers that
/// build their documents by hand.
enum JSONText {
    /// `integer` in decimal digits.
    static func write(_ integer: Int64, into output: inout [UInt8]) {
        if integer < 0 { output.append(UInt8(ascii: "-")) }
        // The magnitude, since Int64.min has no positive counterpart; digits come out last first.
        var magnitude = integer.magnitude
        let start = output.count
        repeat {
            output.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        output[start...].reverse()
    }

    /// `string` quoted, with quotes, backslashes and control characters escaped.
    static func write(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Copies runs of bytes that need no escape in one go.
            var runStart = 0
            var index = firstEscape(in: bytes, from: 0)
            while index < bytes.count {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                output.append(UInt8(ascii: "\\"))
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                default:
                    output.append(contentsOf: "u00".utf8)
                    output.append(UInt8(ascii: "0") + (byte >> 4))
                    output.append(lowercaseHexDigit(byte & 0x0F))
                }
                runStart = index + 1
                index = firstEscape(in: bytes, from: runStart)
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// The index of the first byte from `start` on that JSON must escape (a control character, `"`
    /// or `\`), or `bytes.count`. Tests eight bytes at a time where it can: each published envelope
    /// is scanned whole, and a byte at a time it cost about 14 instructions a byte.
    static func firstEscape(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        var index = start
        while index < bytes.count {
            if index + 8 <= bytes.count,
                !mayNeedEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            {
                index += 8
                continue
            }
            // A word that may hold one, or the last few bytes: looked at one by one.
            for position in index..<min(index + 8, bytes.count) {
                let byte = bytes[position]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return position }
            }
            index += 8
        }
        return bytes.count
    }

    /// Whether some byte of `word` is below 0x20, `"` or `\`: never false when one is (it may be
    /// true when none is; the caller then looks byte by byte). The classic "has a zero byte" and
    /// "has a byte less than n" bit tricks, on `word` and on `word` with `"` and `\` xored out.
    static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasByteBelow(_ value: UInt64, _ limit: UInt64) -> Bool { (value &- ones &* limit) & ~value & highs != 0 }
        return hasByteBelow(word, 0x20) || hasByteBelow(word ^ (ones &* 0x22), 1)
            || hasByteBelow(word ^ (ones &* 0x5C), 1)
    }
}

/// Lowercase, as `JSONEncoder` writes `\u001f`.
private func lowercaseHexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
}
