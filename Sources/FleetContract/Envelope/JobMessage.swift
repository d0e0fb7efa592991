/// How a job travels as an AMQP message (`CONTRACT.md`, "Transport").
public enum JobMessage {
    /// The AMQP `content_type` of every job.
    public static let contentType = "application/json"
    /// Persistent: the broker writes the message to disk.
    public static let deliveryMode: UInt8 = 2
    /// The optional W3C trace context header, carried into logs, metrics and follow-up jobs.
    public static let traceparentHeader = "traceparent"
}
