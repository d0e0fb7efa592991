import AMQP

/// One input: the property list of a `basic` content header frame (flags, then the properties,
/// headers among them), read through librabbitmq's decoder and the client's conversion to Swift.
/// Must throw or return, never crash. Invariant: the headers read are the ones the client sees, so
/// their text accessors must not trap either.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMQPHeaders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let properties = try? AMQPProperties(contentHeaderPropertyBytes: bytes) else { return 0 }
    for value in properties.headers.values { touch(value) }
    return 0
}

/// Reads every accessor a consumer uses on a header value, recursively.
private func touch(_ value: AMQPFieldValue) {
    _ = value.string
    _ = value.int
    switch value {
    case .table(let table): for nested in table.values { touch(nested) }
    case .array(let values): for nested in values { touch(nested) }
    default: break
    }
}
