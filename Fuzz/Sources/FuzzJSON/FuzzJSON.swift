import FleetContract

/// One input: bytes for the contract's strict JSON parser. Must throw or return, never crash.
/// Invariant: a value it accepts, serialised by the contract's serialiser, parses back to the same
/// value (what producers write, workers read unchanged).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let serialized = value.serialized()
    let again: JSONValue
    do {
        again = try JSONParser.parse(serialized)
    } catch {
        fatalError("serialised JSON does not parse again: \(error)")
    }
    guard again == value else { fatalError("serialised JSON parses to a different value") }
    return 0
}
