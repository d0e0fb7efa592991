import AMQP
import Crypto
import Foundation
import Testing

@testable import FleetSigning

@Suite("Job signing")
struct JobSigningTests {
    /// The README's and the AsyncAPI document's worked example: another language's signer checks
    /// itself against these bytes and this MAC (computed independently with Python's hmac module).
    static let secretBase64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    static let body = Array(#"{"id":"a3f1","type":"enrollment.update"}"#.utf8)
    static let headers: AMQPTable = [
        "x-fleet-attempt": .int(2),
        "x-fleet-first-failure-at": .string("2026-11-30T07:00:00Z"),
        "x-fleet-last-error": .string("postgres_unavailable: down"),
        "traceparent": .string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ]
    static let keys = try! SigningKeys.parse("# rotation\n2026-11 \(secretBase64)\n", file: "keys")

    @Test func canonicalBytesAndMACMatchTheGoldenVector() throws {
        let input = try #require(SignatureInput.bytes(keyId: "2026-11", headers: Self.headers, body: Self.body))
        #expect(
            String(decoding: input, as: UTF8.self)
                == "fleet-v1\nkey-id:7:2026-11\nx-fleet-attempt:1:2\n"
                + "x-fleet-first-failure-at:20:2026-11-30T07:00:00Z\n"
                + "x-fleet-last-error:26:postgres_unavailable: down\nx-fleet-applied:0:\nx-fleet-failed-step:0:\n"
                + "body-sha256:bfdde68f35afe0b0cf39230a4e93a7a693a255dd07cfabadc30f783fed4fa137\n"
        )
        let signed = try JobSigner(keyId: "2026-11", keys: Self.keys).signed(Self.headers, body: Self.body)
        #expect(signed["x-fleet-key-id"] == .string("2026-11"))
        #expect(
            signed["x-fleet-signature"]
                == .string("v1=c9b2b9a5731c219bc69ae4f8ff46adc69f09c3e37699c66bbb234664a96aa693")
        )
        #expect(JobVerifier(keys: Self.keys).verify(signed, body: Self.body) == .verified(keyId: "2026-11"))
    }

    @Test func anIntegerWrittenAsAStringSignsTheSame() throws {
        // Clients differ in how they type a number; the canonical text does not.
        var asString = Self.headers
        asString["x-fleet-attempt"] = .string("2")
        #expect(
            SignatureInput.bytes(keyId: "k", headers: asString, body: [])
                == SignatureInput.bytes(keyId: "k", headers: Self.headers, body: [])
        )
    }

    @Test func aTamperedBodyOrCoveredHeaderFails() throws {
        let signer = try JobSigner(keyId: "2026-11", keys: Self.keys)
        let verifier = JobVerifier(keys: Self.keys)
        let signed = signer.signed(Self.headers, body: Self.body)
        #expect(!verifier.verify(signed, body: Self.body + [0x20]).isVerified)
        var forged = signed
        forged["x-fleet-attempt"] = .int(6)
        #expect(verifier.verify(forged, body: Self.body) == .invalid("the MAC does not verify"))
        var added = signed
        added["x-fleet-applied"] = .bool(true)
        #expect(!verifier.verify(added, body: Self.body).isVerified)
        var truncated = signed
        truncated["x-fleet-signature"] = .string("v1=c9b2")
        #expect(!verifier.verify(truncated, body: Self.body).isVerified)
        // Headers outside the covered set (traceparent, x-death) may change.
        var traced = signed
        traced["traceparent"] = nil
        traced["x-death"] = .array([])
        #expect(verifier.verify(traced, body: Self.body).isVerified)
    }

    @Test func unsignedAndUnknownKeysAreTold() throws {
        let verifier = JobVerifier(keys: Self.keys)
        #expect(verifier.verify(Self.headers, body: Self.body) == .unsigned)
        let other = try SigningKeys.parse("other \(Self.secretBase64)", file: "k")
        let signed = try JobSigner(keyId: "other", keys: other).signed(Self.headers, body: Self.body)
        #expect(verifier.verify(signed, body: Self.body) == .unknownKey("other"))
        var half: AMQPTable = [:]
        half["x-fleet-signature"] = .string("v1=00")
        #expect(!verifier.verify(half, body: Self.body).isVerified)
    }

    @Test func rotationOldKeyVerifiesNewKeySigns() throws {
        let newSecret = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let old = try SigningKeys.parse("2026-11 \(Self.secretBase64)", file: "old")
        let rotated = try SigningKeys.parse("2026-11 \(Self.secretBase64)\n2026-12 \(newSecret)\n", file: "rotated")
        let verifier = JobVerifier(keys: rotated)
        let byOld = try JobSigner(keyId: "2026-11", keys: old).signed(Self.headers, body: Self.body)
        let byNew = try JobSigner(keyId: "2026-12", keys: rotated).signed(Self.headers, body: Self.body)
        #expect(verifier.verify(byOld, body: Self.body) == .verified(keyId: "2026-11"))
        #expect(verifier.verify(byNew, body: Self.body) == .verified(keyId: "2026-12"))
        // A worker not yet given the new key does not accept it.
        #expect(JobVerifier(keys: old).verify(byNew, body: Self.body) == .unknownKey("2026-12"))
    }

    @Test func aBadKeysFileIsAnErrorWithoutTheSecret() {
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
        for (text, expected) in [
            ("k1", "line 1: expected"),
            ("k1 !!notbase64!!", "not base64"),
            ("k1 c2hvcnQ=", "shorter than 16 bytes"),
            ("k1 \(secret)\nk1 \(secret)", "line 2: key k1 is listed twice"),
            ("# only a comment\n", "has no key"),
            ("k1 \(secret) extra", "line 1: expected"),
        ] {
            do {
                _ = try SigningKeys.parse(text, file: "keys.txt")
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(error)")
                #expect(!error.description.contains(secret))
            }
        }
        #expect(throws: SigningError.self) { try SigningKeys.load(file: "/nonexistent/keys") }
    }

    @Test func theModesNeedTheirKeys() throws {
        let file = "\(NSTemporaryDirectory())/signing-\(UUID().uuidString).keys"
        try "a \(Self.secretBase64)\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try SigningSettings.fromEnvironment([:]).mode == .off)
        #expect(try SigningSettings.fromEnvironment([:]).signer == nil)
        let required = try SigningSettings.fromEnvironment([
            "FLEET_SIGNING_MODE": "required", "FLEET_SIGNING_KEYS_FILE": file, "FLEET_SIGNING_KEY_ID": "a",
        ])
        #expect(required.mode == .required && required.signer?.keyId == "a" && required.verifier != nil)
        for environment in [
            ["FLEET_SIGNING_MODE": "strict"],
            ["FLEET_SIGNING_MODE": "permissive"],
            ["FLEET_SIGNING_MODE": "required", "FLEET_SIGNING_KEYS_FILE": file],
            ["FLEET_SIGNING_KEYS_FILE": file, "FLEET_SIGNING_KEY_ID": "b"],
            ["FLEET_SIGNING_KEY_ID": "a"],
        ] {
            #expect(throws: SigningError.self, "\(environment)") { try SigningSettings.fromEnvironment(environment) }
        }
    }
}
