import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP forwarder to the broker that a test can cut and restore, to take the broker away
/// from the one producer connected through it and bring it back, without touching the shared broker.
/// Cut: every forwarded connection drops and new ones are refused (nothing listens on the port).
/// Restored: it listens on the same port again.
///
/// Blocking sockets, one thread per direction of each connection. A socket is closed only by the last
/// thread of its connection, which also forgets it under the lock, so ``cut()`` never shuts down a
/// descriptor number that the process has already reused.
final class BrokerLink: @unchecked Sendable {
    let port: Int
    private let target: sockaddr_in
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var acceptLoopEnded: DispatchSemaphore?
    private var forwarded: Set<Int32> = []

    init(toHost host: String, port targetPort: Int) throws {
        target = try Self.address(host == "localhost" ? "127.0.0.1" : host, port: targetPort)
        let (listener, port) = try Self.listen(port: 0)
        self.port = port
        start(listener)
    }

    /// Drops the forwarded connections and stops listening; returns once the port is closed.
    func cut() {
        let (listener, ended) = lock.withLock { () -> (Int32, DispatchSemaphore?) in
            for socket in forwarded { shutdown(socket, Int32(SHUT_RDWR)) }
            defer {
                self.listener = -1
                acceptLoopEnded = nil
            }
            return (self.listener, acceptLoopEnded)
        }
        guard listener >= 0 else { return }
        shutdown(listener, Int32(SHUT_RDWR))  // wakes the accept loop, which closes it
        ended?.wait()
    }

    /// Listens on the same port again.
    func restore() throws {
        guard lock.withLock({ listener < 0 }) else { return }
        start(try Self.listen(port: port).socket)
    }

    private func start(_ listener: Int32) {
        let ended = DispatchSemaphore(value: 0)
        lock.withLock {
            self.listener = listener
            acceptLoopEnded = ended
        }
        let thread = Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    break
                }
                forward(client)
            }
            close(listener)
            ended.signal()
        }
        thread.name = "broker link accept"
        thread.start()
    }

    private func forward(_ client: Int32) {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = target
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard server >= 0, connected == 0 else {
            if server >= 0 { close(server) }
            close(client)
            return
        }
        lock.withLock { forwarded.formUnion([client, server]) }
        let pair = Pair()
        for (from, to) in [(client, server), (server, client)] {
            let thread = Thread { [self] in
                pump(from: from, to: to)
                // Either direction ending ends the connection: wake the other thread too.
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(server, Int32(SHUT_RDWR))
                if pair.finish() {
                    lock.withLock {
                        forwarded.subtract([client, server])
                        close(client)
                        close(server)
                    }
                }
            }
            thread.name = "broker link pump"
            thread.start()
        }
    }

    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes {
                    send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL))
                }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                sent += written
            }
        }
    }

    /// The two threads of one forwarded connection; the second to finish closes its sockets.
    private final class Pair: @unchecked Sendable {
        private let lock = NSLock()
        private var running = 2

        func finish() -> Bool {
            lock.withLock {
                running -= 1
                return running == 0
            }
        }
    }

    private static func address(_ host: String, port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw TestFailure("BrokerLink needs an IPv4 address, not \(host)")
        }
        return address
    }

    /// A listening socket on 127.0.0.1:`port` (0: any free port) and its port.
    private static func listen(port: Int) throws -> (socket: Int32, port: Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = try address("127.0.0.1", port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(listener, 16) == 0 else {
            let error = errno
            close(listener)
            throw TestFailure("cannot listen on 127.0.0.1:\(port): errno \(error)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        guard found == 0 else { throw TestFailure("getsockname: errno \(errno)") }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }
}
