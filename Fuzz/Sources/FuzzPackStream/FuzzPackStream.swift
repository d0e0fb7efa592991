import Bolt

/// One input: a PackStream value as a Bolt server would send it. Must throw or return, never crash.
/// Invariant: a value it accepts encodes, and that encoding decodes and encodes to the same bytes
/// (bytes, not values, are compared: a NaN float is not equal to itself).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPackStream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? PackStream.decode(bytes) else { return 0 }
    do {
        let encoded = try PackStream.encode(value)
        let reencoded = try PackStream.encode(try PackStream.decode(encoded))
        guard reencoded == encoded else { fatalError("a decoded value does not encode stably") }
    } catch {
        fatalError("a decoded value does not round-trip: \(error)")
    }
    return 0
}
