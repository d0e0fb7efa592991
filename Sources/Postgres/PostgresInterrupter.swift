import BlockingIO
import CLibPQ

/// Stops a statement in progress on one ``PostgresConnection`` from another thread: first a cancel
/// request (`PQcancel`, which libpq documents as safe from any thread), then, if the statement has
/// not returned within the pool's grace period, `shutdown(2)` of the connection's socket, so that
/// the blocked libpq call returns with a connection error at once whatever the server does.
///
/// Owns its `PGcancel` alone and frees it when the last reference goes; the cancel request may
/// still be under way on a cancel thread after the connection itself is closed, which `PGcancel`
/// allows: it holds its own copy of the address and keys.
// @unchecked Sendable: `PGcancel` is immutable after `PQgetCancel`, and `PQcancel` is thread-safe;
// the socket descriptor is only read.
final class PostgresInterrupter: BlockingCallInterrupter, @unchecked Sendable {
    private let cancel: OpaquePointer
    private let socket: SocketShutdownInterrupter

    /// Nil when libpq cannot make a cancel object (no backend key, e.g. a connection that failed).
    init?(_ connection: OpaquePointer) {
        guard let cancel = PQgetCancel(connection) else { return nil }
        self.cancel = cancel
        self.socket = SocketShutdownInterrupter(socket: PQsocket(connection))
    }

    deinit { PQfreeCancel(cancel) }

    func requestCancel() {
        // The error text is libpq's own (a closed or stopped server); the forced return covers it.
        var error = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &error, Int32(error.count))
    }

    func forceReturn() {
        socket.forceReturn()
    }
}
