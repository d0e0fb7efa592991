import Foundation
import NIOConcurrencyHelpers

/// A MongoDB ObjectId: 12 bytes, shown as 24 lowercase hex digits.
///
/// New ids follow the MongoDB layout: 4 bytes of seconds since 1970 (big-endian), 5 random bytes
/// per process, and a 3-byte counter that starts at a random value.
public struct ObjectId: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The 12 bytes, in wire order.
    public let bytes: [UInt8]

    /// A fresh id for now.
    public init() {
        var bytes = [UInt8](repeating: 0, count: 12)
        let seconds = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
        for index in 0..<4 { bytes[index] = UInt8(truncatingIfNeeded: seconds >> (24 - 8 * UInt32(index))) }
        for index in 0..<5 { bytes[4 + index] = objectIdProcessUnique[index] }
        let counter = objectIdCounter.withLockedValue { counter -> UInt32 in
            counter = (counter &+ 1) & 0xFF_FFFF
            return counter
        }
        for index in 0..<3 { bytes[9 + index] = UInt8(truncatingIfNeeded: counter >> (16 - 8 * UInt32(index))) }
        self.bytes = bytes
    }

    /// The id made of exactly these 12 bytes; nil for any other count.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        self.bytes = bytes
    }

    /// Parses 24 hex digits (either case).
    /// - Throws: ``BSONError`` for any other length or a non-hex character.
    public init(hex: String) throws {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 24 else {
            throw BSONError("invalid ObjectId \(String(reflecting: String(hex.prefix(40)))): expected 24 hex digits")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(12)
        var index = 0
        while index < 24 {
            guard let high = hexDigit(utf8[index]), let low = hexDigit(utf8[index + 1]) else {
                throw BSONError("invalid ObjectId \(String(reflecting: hex)): not a hex digit")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    /// 24 lowercase hex digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(24)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// When the id was made, to the second.
    public var timestamp: Date {
        let seconds = bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    public var description: String { hex }

    public static func < (lhs: ObjectId, rhs: ObjectId) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// Outside BSON (JSON, say) an id is its hex string; ``BSONEncoder`` stores it as a BSON ObjectId.
    public init(from decoder: Decoder) throws {
        try self.init(hex: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

private func hexDigit(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

private let objectIdProcessUnique: [UInt8] = (0..<5).map { _ in UInt8.random(in: 0...255) }
private let objectIdCounter = NIOLockedValueBox(UInt32.random(in: 0...0xFF_FFFF))
