import Crypto
import Foundation

/// A set of HMAC keys by key id, read from a keys file: one key per line, `<key-id> <base64 secret>`,
/// blank lines and `#` comments ignored. A key id is printable ASCII without spaces (it is not a
/// secret); a secret is at least 16 bytes. Errors name the file and line, never a secret.
public struct SigningKeys: Sendable {
    public let keys: [String: SigningSecret]

    public init(keys: [String: SigningSecret]) { self.keys = keys }

    public var keyIds: [String] { keys.keys.sorted() }

    /// The shortest secret accepted, in bytes.
    public static let minimumSecretBytes = 16

    public static func load(file path: String) throws(SigningError) -> SigningKeys {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SigningError("cannot read the signing keys file \(path): \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SigningError("the signing keys file \(path) is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(SigningError) -> SigningKeys {
        var keys: [String: SigningSecret] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let place = "\(file) line \(index + 1)"
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw SigningError("\(place): expected `<key-id> <base64 secret>`")
            }
            let keyId = String(fields[0])
            guard isValidKeyId(keyId) else {
                throw SigningError("\(place): a key id is 1-64 printable ASCII characters without spaces")
            }
            guard let secret = Data(base64Encoded: String(fields[1])) else {
                throw SigningError("\(place): the secret of key \(keyId) is not base64")
            }
            guard secret.count >= minimumSecretBytes else {
                throw SigningError("\(place): the secret of key \(keyId) is shorter than \(minimumSecretBytes) bytes")
            }
            guard keys[keyId] == nil else { throw SigningError("\(place): key \(keyId) is listed twice") }
            keys[keyId] = SigningSecret(Array(secret))
        }
        guard !keys.isEmpty else { throw SigningError("the signing keys file \(file) has no key") }
        return SigningKeys(keys: keys)
    }

    public static func isValidKeyId(_ keyId: String) -> Bool {
        !keyId.isEmpty && keyId.utf8.count <= 64 && keyId.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}

/// A key's secret bytes (SymmetricKey is not Sendable); printed, it shows nothing.
public struct SigningSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
}

/// A signing configuration problem; its message never contains a secret.
public struct SigningError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
