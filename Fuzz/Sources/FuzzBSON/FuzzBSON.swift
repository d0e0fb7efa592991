import MongoDB

/// One input: a BSON document as a MongoDB server would send it, through the client's BSON reader.
/// Must throw or return, never crash. Invariant: a document it accepts writes, and those bytes read
/// and write to the same bytes (bytes, not values, are compared: a NaN double is not equal to itself).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let document = try? BSONDocument(bsonBytes: bytes) else { return 0 }
    do {
        let written = try document.bsonBytes()
        let rewritten = try BSONDocument(bsonBytes: written).bsonBytes()
        guard rewritten == written else { fatalError("a read document does not write stably") }
    } catch {
        fatalError("a read document does not round-trip: \(error)")
    }
    return 0
}
