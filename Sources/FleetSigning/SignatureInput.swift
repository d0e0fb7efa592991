import AMQP
import Crypto

/// The bytes a job's MAC is computed over (format `fleet-v1`), language-neutral so that any
/// publisher can sign. UTF-8 text, one line per item, each ending in `\n` (0x0A):
///
/// ```
/// fleet-v1
/// key-id:<byte length>:<key id>
/// x-fleet-attempt:<byte length>:<value>
/// x-fleet-first-failure-at:<byte length>:<value>
/// x-fleet-last-error:<byte length>:<value>
/// x-fleet-applied:<byte length>:<value>
/// x-fleet-failed-step:<byte length>:<value>
/// body-sha256:<64 lowercase hex digits of SHA-256 of the body>
/// ```
///
/// The byte length is the decimal count of the value's UTF-8 bytes; an absent header is the empty
/// value (`x-fleet-attempt:0:`). A header value is written as its string (`longstr`/`bytes`), its
/// decimal integer (any integer type), or `true`/`false` (boolean); a covered header of any other
/// AMQP type cannot be signed or verified. The MAC is HMAC-SHA256 under the key, sent as
/// `x-fleet-signature: v1=<64 lowercase hex digits>` beside `x-fleet-key-id`.
public enum SignatureInput {
    public static let version = "fleet-v1"
    /// The headers covered, in this order: those the fleet trusts (attempt count and failure history,
    /// and the applied mark that makes a replay redo only a step).
    public static let coveredHeaders = [
        "x-fleet-attempt", "x-fleet-first-failure-at", "x-fleet-last-error", "x-fleet-applied", "x-fleet-failed-step",
    ]
    public static let keyIdHeader = "x-fleet-key-id"
    public static let signatureHeader = "x-fleet-signature"
    /// The prefix of `x-fleet-signature`'s value; another prefix is a format this fleet does not know.
    public static let signaturePrefix = "v1="

    /// The canonical bytes; nil when a covered header has a type that has no canonical text.
    public static func bytes(keyId: String, headers: AMQPTable, body: [UInt8]) -> [UInt8]? {
        var text = version + "\n" + item("key-id", keyId)
        for name in coveredHeaders {
            guard let value = headers[name] else {
                text += item(name, "")
                continue
            }
            guard let canonical = canonicalText(value) else { return nil }
            text += item(name, canonical)
        }
        text += "body-sha256:" + hex(SHA256.hash(data: body)) + "\n"
        return Array(text.utf8)
    }

    static func item(_ name: String, _ value: String) -> String { "\(name):\(value.utf8.count):\(value)\n" }

    static func canonicalText(_ value: AMQPFieldValue) -> String? {
        switch value {
        case .string(let string): return string
        case .bytes(let bytes): return String(validating: bytes, as: UTF8.self)
        case .int(let int): return String(int)
        case .bool(let bool): return bool ? "true" : "false"
        default: return nil
        }
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }
}
