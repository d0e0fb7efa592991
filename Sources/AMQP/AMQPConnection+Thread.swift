import Foundation

extension AMQPConnection {
    /// Opens a connection on a new dedicated thread, runs `body` there, and closes it: for one-shot
    /// work such as declaring the topology or walking a dead-letter queue, without blocking Swift's
    /// cooperative pool.
    @discardableResult
    public static func withDedicatedThread<T: Sendable>(
        _ configuration: AMQPConfiguration,
        _ body: @escaping @Sendable (AMQPConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            NamedThread.start(name: "amqp-admin") {
                do {
                    let connection = try AMQPConnection.open(configuration)
                    defer { connection.close() }
                    continuation.resume(returning: try body(connection))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
