import FleetContract
import Foundation

/// A fixed clock, so a crash reproduces on any day (the decoder checks `created_at` against it).
private let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_796_083_200) }  // 2026-12-01
private let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions, now: clock)
private let validator = JobValidator(now: clock)

/// One input: a message body, through what a worker does with it before a handler runs: the
/// envelope decoder, then the payload check of the job type's definition. Must throw or return,
/// never crash. Invariants: a body over the cap is never accepted, and an accepted envelope,
/// encoded as producers do, decodes to the same fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let envelope = try? decoder.decode(bytes) else { return 0 }
    guard bytes.count <= EnvelopeDecoder.maximumBytes else { fatalError("accepted a body over the cap") }
    _ = try? validator.validatePayload(of: envelope)
    let again: JobEnvelope
    do {
        again = try decoder.decode(envelope.encoded())
    } catch {
        fatalError("an accepted envelope, encoded again, is rejected: \(error)")
    }
    guard
        again.id == envelope.id, again.type == envelope.type, again.version == envelope.version,
        again.idempotencyKey == envelope.idempotencyKey, again.payload == envelope.payload
    else { fatalError("an accepted envelope, encoded again, decodes differently") }
    return 0
}
