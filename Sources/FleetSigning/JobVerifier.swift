import AMQP
import Crypto

/// Checks a job's signature against the keys it knows by id (all keys of a rotation).
public struct JobVerifier: Sendable {
    /// What a delivery's signature headers say.
    public enum Verdict: Sendable, Equatable {
        /// Signed with a known key and the MAC matches: its covered headers can be trusted.
        case verified(keyId: String)
        /// No `x-fleet-signature` and no `x-fleet-key-id`.
        case unsigned
        /// A key id this verifier does not have.
        case unknownKey(String)
        /// Malformed signature headers, or a MAC that does not match the body and headers.
        case invalid(String)

        public var isVerified: Bool {
            if case .verified = self { return true }
            return false
        }

        /// For a log line or a dead letter's `x-fleet-error`; never the MAC itself.
        public var explanation: String {
            switch self {
            case .verified(let keyId): return "signed with key \(keyId)"
            case .unsigned: return "the message is not signed"
            case .unknownKey(let keyId):
                return "signed with unknown key id \(String(keyId.prefix(64)).debugDescription)"
            case .invalid(let why): return why
            }
        }
    }

    public let keys: SigningKeys

    public init(keys: SigningKeys) { self.keys = keys }

    public func verify(_ headers: AMQPTable, body: [UInt8]) -> Verdict {
        let keyIdValue = headers[SignatureInput.keyIdHeader]
        let signatureValue = headers[SignatureInput.signatureHeader]
        if keyIdValue == nil && signatureValue == nil { return .unsigned }
        guard let keyId = keyIdValue?.string, let signature = signatureValue?.string else {
            return .invalid("x-fleet-key-id and x-fleet-signature must both be strings")
        }
        guard let key = keys.keys[keyId] else { return .unknownKey(keyId) }
        guard signature.hasPrefix(SignatureInput.signaturePrefix) else {
            return .invalid("x-fleet-signature is not of the form v1=<hex>")
        }
        guard let input = SignatureInput.bytes(keyId: keyId, headers: headers, body: body) else {
            return .invalid("a signed x-fleet-* header has a type that cannot be signed")
        }
        let given = Array(signature.dropFirst(SignatureInput.signaturePrefix.count).utf8)
        let expected = Array(JobSigner(keyId: keyId, key: key).mac(input).utf8)
        // Constant time over the hex text: a timing difference tells nothing about the MAC.
        guard given.count == expected.count else { return .invalid("the MAC does not verify") }
        var difference: UInt8 = 0
        for (left, right) in zip(given, expected) { difference |= left ^ right }
        return difference == 0 ? .verified(keyId: keyId) : .invalid("the MAC does not verify")
    }
}
