import CRabbitMQ

extension AMQPProperties {
    /// Reads the property list of a `basic` content header frame (the property flags, then the
    /// properties they announce, headers included) the way a delivery is read: librabbitmq's own
    /// decoder (`amqp_decode_properties`), then the same conversion into Swift values. For tests and
    /// the fuzz target `FuzzAMQPHeaders`; a consumer never calls it.
    /// Tables and arrays nested deeper than ``AMQPFieldValue/maximumReadDepth`` are read as `void`,
    /// as in a delivery.
    /// - Throws: ``AMQPError`` with code `.server` when librabbitmq refuses the bytes (truncated, a
    ///   length past the end, an unknown field kind).
    public init(contentHeaderPropertyBytes bytes: [UInt8]) throws(AMQPError) {
        var pool = amqp_pool_t()
        init_amqp_pool(&pool, 4096)
        defer { empty_amqp_pool(&pool) }
        var decoded: UnsafeMutableRawPointer?
        var input = bytes
        let status = input.withUnsafeMutableBytes { raw in
            // librabbitmq never writes through `encoded`; it is non-const only in its signature.
            amqp_decode_properties(
                UInt16(AMQP_BASIC_CLASS),
                &pool,
                amqp_bytes_t(len: raw.count, bytes: raw.baseAddress),
                &decoded
            )
        }
        guard status == 0, let decoded else {
            let reason = String(cString: amqp_error_string2(status))
            throw AMQPError(code: .server, message: "malformed content header properties: \(reason)", address: "")
        }
        self.init(decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee)
    }
}
