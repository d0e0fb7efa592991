import AMQP
import Crypto

/// Signs jobs with one key: sets `x-fleet-key-id` and `x-fleet-signature` over the body and the
/// covered fleet headers (``SignatureInput``). Sign after the last header change.
public struct JobSigner: Sendable {
    public let keyId: String
    private let key: SigningSecret

    public init(keyId: String, key: SigningSecret) {
        self.keyId = keyId
        self.key = key
    }

    /// The signer for `keyId` of `keys`; an error when the file has no such key.
    public init(keyId: String, keys: SigningKeys) throws(SigningError) {
        guard let key = keys.keys[keyId] else {
            throw SigningError("the signing key id \(keyId) is not in the signing keys file")
        }
        self.init(keyId: keyId, key: key)
    }

    /// `headers` with this key's id and signature; a covered header without a canonical text
    /// (``SignatureInput``) is dropped first, so the result always verifies.
    public func signed(_ headers: AMQPTable, body: [UInt8]) -> AMQPTable {
        var headers = headers
        for name in SignatureInput.coveredHeaders {
            if let value = headers[name], SignatureInput.canonicalText(value) == nil { headers[name] = nil }
        }
        headers[SignatureInput.keyIdHeader] = .string(keyId)
        let input = SignatureInput.bytes(keyId: keyId, headers: headers, body: body) ?? []
        headers[SignatureInput.signatureHeader] = .string(SignatureInput.signaturePrefix + mac(input))
        return headers
    }

    func mac(_ input: [UInt8]) -> String {
        SignatureInput.hex(HMAC<SHA256>.authenticationCode(for: input, using: key.symmetricKey))
    }

    /// Removes a signature that no longer matches (for a publisher that changes headers but has no key).
    public static func unsigned(_ headers: AMQPTable) -> AMQPTable {
        var headers = headers
        headers[SignatureInput.keyIdHeader] = nil
        headers[SignatureInput.signatureHeader] = nil
        return headers
    }
}
