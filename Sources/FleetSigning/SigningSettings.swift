import Foundation

/// A deployment's signing settings, from `FLEET_SIGNING_MODE` (`off` | `permissive` | `required`,
/// default `off`), `FLEET_SIGNING_KEYS_FILE` (every verification key) and `FLEET_SIGNING_KEY_ID` (the
/// key that signs). Keys are read from the file only, never from arguments.
///
/// - `off`: nothing is verified; fleet headers are trusted only through `x-death` (the broker's own
///   retry record). A configured key still signs what this process publishes.
/// - `permissive`: a verified signature makes the fleet headers trusted; an unsigned or badly signed
///   job runs, with a warning and a count, its fleet headers trusted only through `x-death`.
/// - `required`: an unsigned or badly signed job is dead-lettered as `bad_signature`.
public struct SigningSettings: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case off, permissive, required
    }

    public var mode: Mode
    /// Signs what this process publishes (jobs, follow-ups, retry and dead-letter copies, replays).
    public var signer: JobSigner?
    /// Checks deliveries; nil when no keys file is configured.
    public var verifier: JobVerifier?

    public init(mode: Mode = .off, signer: JobSigner? = nil, verifier: JobVerifier? = nil) {
        self.mode = mode
        self.signer = signer
        self.verifier = verifier
    }

    public static let off = SigningSettings()

    /// Reads the three variables; an error explains what is missing or malformed, without a secret.
    public static func fromEnvironment(_ environment: [String: String]) throws(SigningError) -> SigningSettings {
        let modeText = environment["FLEET_SIGNING_MODE"] ?? ""
        guard let mode = modeText.isEmpty ? .off : Mode(rawValue: modeText) else {
            throw SigningError(
                "FLEET_SIGNING_MODE must be off, permissive or required, got \(String(modeText.prefix(20)).debugDescription)"
            )
        }
        var settings = SigningSettings(mode: mode)
        let file = environment["FLEET_SIGNING_KEYS_FILE"] ?? ""
        let keyId = environment["FLEET_SIGNING_KEY_ID"] ?? ""
        if file.isEmpty {
            guard mode == .off else {
                throw SigningError("FLEET_SIGNING_MODE=\(mode.rawValue) needs FLEET_SIGNING_KEYS_FILE")
            }
            guard keyId.isEmpty else {
                throw SigningError("FLEET_SIGNING_KEY_ID is set but FLEET_SIGNING_KEYS_FILE is not")
            }
            return settings
        }
        let keys = try SigningKeys.load(file: file)
        settings.verifier = JobVerifier(keys: keys)
        if !keyId.isEmpty {
            settings.signer = try JobSigner(keyId: keyId, keys: keys)
        } else if mode == .required {
            // The worker re-signs its retry copies; unsigned, they would come back as bad_signature.
            throw SigningError("FLEET_SIGNING_MODE=required needs FLEET_SIGNING_KEY_ID (the key that signs)")
        }
        return settings
    }
}
