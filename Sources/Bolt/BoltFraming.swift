import NIOCore

/// A Bolt protocol version.
public struct BoltVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: UInt8
    public let minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// The opening exchange: magic, four proposals, and the server's choice.
enum BoltHandshake {
    /// 5.4 down to 5.1 in one range proposal (byte 1: range, byte 2: minor, byte 3: major). 5.0 is
    /// not proposed: it lacks LOGON, and FalkorDB refuses it. The other three slots are empty.
    static let request: [UInt8] = [0x60, 0x60, 0xB0, 0x17, 0x00, 0x03, 0x04, 0x05] + [UInt8](repeating: 0, count: 12)

    static let lowest = BoltVersion(major: 5, minor: 1)
    static let highest = BoltVersion(major: 5, minor: 4)

    /// The server's 4-byte answer: `00 00 minor major`, or all zeros when it accepts none.
    static func version(from bytes: [UInt8]) -> BoltVersion? {
        guard bytes.count == 4, bytes[0] == 0, bytes[1] == 0 else { return nil }
        let version = BoltVersion(major: bytes[3], minor: bytes[2])
        return (lowest...highest).contains(version) ? version : nil
    }
}

/// Bolt chunking: each message is split into chunks of at most 65,535 bytes, each preceded by its
/// 2-byte length, and ended by an empty chunk.
enum BoltChunking {
    static func write(_ message: [UInt8], into buffer: inout ByteBuffer) {
        var start = 0
        while start < message.count {
            let end = min(start + 0xFFFF, message.count)
            buffer.writeInteger(UInt16(end - start))
            buffer.writeBytes(message[start..<end])
            start = end
        }
        buffer.writeInteger(UInt16(0))
    }
}

/// Reassembles messages from chunks as bytes arrive, in any split. Empty chunks between
/// messages (keep-alive NOOPs) are skipped; a message may not grow beyond ``maximumMessageSize``,
/// so a hostile server cannot make the client buffer without bound.
struct BoltFrameDecoder {
    static let maximumMessageSize = 64 << 20

    private var message: [UInt8] = []

    /// The next complete message, consuming its chunks from `buffer`; nil when more bytes are needed.
    mutating func nextMessage(from buffer: inout ByteBuffer) throws(PackStreamError) -> [UInt8]? {
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) {
            if length == 0 {
                buffer.moveReaderIndex(forwardBy: 2)
                if message.isEmpty { continue }
                defer { message = [] }
                return message
            }
            guard buffer.readableBytes >= 2 + Int(length) else { return nil }
            guard message.count + Int(length) <= Self.maximumMessageSize else {
                throw PackStreamError("a message exceeds \(Self.maximumMessageSize) bytes")
            }
            buffer.moveReaderIndex(forwardBy: 2)
            message.append(contentsOf: buffer.readBytes(length: Int(length))!)
        }
        return nil
    }
}
