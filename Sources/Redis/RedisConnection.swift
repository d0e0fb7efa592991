import BlockingIO
import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// @unchecked Sendable: the hiredis context is not thread-safe and this class has no lock. It is
// safe because a connection is used by one thread at a time: BlockingConnectionPool hands it to a
// single pool thread per lease, and its locked lease bookkeeping orders one user's calls before
// the next user's. Code that opens a connection directly must keep to the same rule.

/// One blocking connection to Redis: a hiredis `redisContext`, owned by exactly this object.
///
/// Calls block the calling thread until the server answers or ``RedisConfiguration/timeoutSeconds``
/// pass, so use it on a thread that may block: ``RedisClient`` runs it on its pool's threads.
/// ``close()`` frees the context: the pool closes its connections, whoever opens one directly
/// must close it.
public final class RedisConnection: BlockingConnection, @unchecked Sendable {
    private var context: UnsafeMutablePointer<redisContext>?
    /// Set when a failure leaves the protocol stream in an unknown state even though hiredis's
    /// `err` is clear (an unexpected reply type, an empty reply).
    private var isBroken = false
    private let timeoutSeconds: Double
    /// The server's redacted `host:port/db`, used in every error.
    public let address: String

    /// Cuts a call in progress short when its caller is cancelled (a job's deadline): Redis has no
    /// cancel request, so after the pool's grace period the socket is shut down, sooner than the
    /// command timeout would end the call.
    private let interrupter: SocketShutdownInterrupter

    private init(context: UnsafeMutablePointer<redisContext>, address: String, timeoutSeconds: Double) {
        self.context = context
        self.address = address
        self.timeoutSeconds = timeoutSeconds
        self.interrupter = SocketShutdownInterrupter(socket: context.pointee.fd)
    }

    /// Cuts this connection's command in progress short from another thread (a socket shutdown).
    public func makeInterrupter() -> (any BlockingCallInterrupter)? { interrupter }

    deinit {
        assert(context == nil, "RedisConnection to \(address) was not closed")
        if let context { redisFree(context) }
    }

    /// Connects, sets the command timeout, then sends `AUTH` and `SELECT` when configured. Blocks.
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/connection`` when the server cannot be
    ///   reached, or ``RedisError/Code/server`` when it refuses `AUTH` or `SELECT`.
    public static func connect(_ configuration: RedisConfiguration) throws -> RedisConnection {
        _ = sigpipeIgnored
        let address = configuration.redactedAddress
        guard configuration.timeoutSeconds > 0, configuration.timeoutSeconds.isFinite else {
            throw RedisError(code: .configuration, message: "timeoutSeconds must be positive", address: address)
        }
        guard let port = Int32(exactly: configuration.port), (1...65535).contains(port) else {
            throw RedisError(code: .configuration, message: "port must be from 1 to 65535", address: address)
        }
        let timeout = timeval(seconds: configuration.timeoutSeconds)
        guard let context = redisConnectWithTimeout(configuration.host, port, timeout) else {
            throw RedisError(
                code: .connection,
                message: "could not connect to \(address): out of memory",
                address: address
            )
        }
        if context.pointee.err != 0 {
            let reason = String(cString: chiredis_errstr(context))
            redisFree(context)
            throw RedisError(code: .connection, message: "could not connect to \(address): \(reason)", address: address)
        }
        let connection = RedisConnection(
            context: context,
            address: address,
            timeoutSeconds: configuration.timeoutSeconds
        )
        do {
            // redisConnectWithTimeout bounds only the connect; this bounds every later read and write.
            guard redisSetTimeout(context, timeout) == REDIS_OK else {
                throw connection.connectionError("setting the timeout", errno: errno)
            }
            // Lets the kernel notice a silently vanished server on idle pooled connections.
            _ = redisEnableKeepAlive(context)
            if let password = configuration.password {
                do {
                    try connection.command(["AUTH", password])
                } catch let error as RedisError where error.code == .server {
                    throw RedisError(code: .server, message: "AUTH failed: \(error.message)", address: address)
                }
            }
            if configuration.database != 0 {
                try connection.command(["SELECT", String(configuration.database)])
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// False after an I/O or protocol error, or after ``close()``: the pool then replaces the connection.
    public var isUsable: Bool {
        guard let context else { return false }
        return !isBroken && context.pointee.err == 0
    }

    /// Frees the hiredis context. Further commands throw ``RedisError/Code/connection``.
    public func close() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    /// Sends one command and waits for its reply. Arguments are sent byte-exactly, so any string,
    /// including an empty one or one with NUL or CR LF, is one argument.
    ///
    /// - Throws: ``RedisError``: ``RedisError/Code/server`` for an error reply (the connection stays
    ///   usable), ``RedisError/Code/connection`` for I/O failures and timeouts (it does not).
    @discardableResult
    public func command(_ arguments: [String]) throws -> RedisValue {
        try validate(arguments)
        let context = try liveContext()
        try append(arguments, to: context, action: Self.name(of: arguments))
        var raw: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &raw)
        let savedErrno = errno
        guard status == REDIS_OK, let raw else { throw connectionError(Self.name(of: arguments), errno: savedErrno) }
        defer { freeReplyObject(raw) }
        let value = try self.value(of: raw.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value {
            throw RedisError(code: .server, message: message, address: address)
        }
        return value
    }

    /// Sends all commands in one write, then reads all replies: one round trip.
    ///
    /// Error replies do not throw; they come back in place as ``RedisValue/error(_:)``, so the
    /// result always has one value per command, in order.
    public func pipeline(_ commands: [[String]]) throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        for arguments in commands { try validate(arguments) }
        let context = try liveContext()
        for arguments in commands { try append(arguments, to: context, action: "pipeline") }
        var values: [RedisValue] = []
        values.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            let status = redisGetReply(context, &raw)
            let savedErrno = errno
            guard status == REDIS_OK, let raw else { throw connectionError("pipeline", errno: savedErrno) }
            defer { freeReplyObject(raw) }
            values.append(try value(of: raw.assumingMemoryBound(to: redisReply.self)))
        }
        return values
    }

    /// Runs a Lua script by its SHA1 (`EVALSHA`), sending the source (`EVAL`) only when the server
    /// answers `NOSCRIPT`: after a restart or `SCRIPT FLUSH` the script is loaded again transparently.
    public func eval(_ script: RedisScript, keys: [String], arguments: [String]) throws -> RedisValue {
        // Built once, in place: the concatenations made four arrays a call.
        var command = ["EVALSHA", script.sha1, String(keys.count)]
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        do {
            return try self.command(command)
        } catch let error as RedisError where error.serverErrorPrefix == "NOSCRIPT" {
            command[0] = "EVAL"
            command[1] = script.source
            return try self.command(command)
        }
    }

    // MARK: - C plumbing

    private func validate(_ arguments: [String]) throws {
        guard !arguments.isEmpty, arguments.count <= Int(Int32.max) else {
            throw RedisError(code: .configuration, message: "a command needs at least one argument", address: address)
        }
    }

    private func liveContext() throws -> UnsafeMutablePointer<redisContext> {
        guard let context, isUsable else {
            throw RedisError(code: .connection, message: "connection is closed or broken", address: address)
        }
        return context
    }

    /// The error for a failed hiredis call, from the context's `err`/`errstr`. Marks the connection
    /// broken: hiredis does not recover a context once it has failed.
    private func connectionError(_ action: String, errno savedErrno: Int32) -> RedisError {
        isBroken = true
        var reason = "unknown error"
        if let context, context.pointee.err != 0 {
            reason = String(cString: chiredis_errstr(context))
            // A blocking socket with SO_RCVTIMEO reports a timeout as EAGAIN, which reads poorly.
            if context.pointee.err == REDIS_ERR_IO, savedErrno == EAGAIN || savedErrno == EWOULDBLOCK {
                reason = "timed out after \(timeoutSeconds) s"
            }
        }
        return RedisError(code: .connection, message: "\(action) failed: \(reason)", address: address)
    }

    /// The command's name, the only argument safe to put in a message (others may be passwords).
    private static func name(of arguments: [String]) -> String {
        arguments.first.map { String($0.prefix(32)).uppercased() } ?? "command"
    }

    private func value(of reply: UnsafePointer<redisReply>) throws -> RedisValue {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .string(Self.text(of: reply))
        case REDIS_REPLY_STATUS:
            return .status(Self.text(of: reply))
        case REDIS_REPLY_ERROR:
            return .error(Self.text(of: reply))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                guard let element = reply.element[index] else { break }
                elements.append(try value(of: element))
            }
            return .array(elements)
        default:
            isBroken = true
            throw RedisError(
                code: .unexpectedReply,
                message: "unknown hiredis reply type \(reply.type)",
                address: address
            )
        }
    }

    private static func text(of reply: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self)
    }

    /// Queues one command in hiredis's output buffer (sent by the next `redisGetReply`).
    private func append(
        _ arguments: [String],
        to context: UnsafeMutablePointer<redisContext>,
        action: @autoclosure () -> String
    ) throws {
        let request = Self.resp(arguments)
        let status = request.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress!, $0.count) }
        }
        let savedErrno = errno
        if status != REDIS_OK {
            // Part of a pipeline may already be buffered: the stream can no longer be trusted
            // (`connectionError` marks the connection broken).
            throw connectionError(action(), errno: savedErrno)
        }
    }

    /// `arguments` as one RESP command (`*<count>` then `$<length>` and the bytes of each), the
    /// bytes hiredis's argv formatting sends. Built here in one buffer: hiredis grew a string per
    /// argument through its printf-like formatter, about a twentieth of a lock-and-upsert job's
    /// instructions (callgrind). Byte-exact: any string, with NUL or CR LF too, is one argument.
    static func resp(_ arguments: [String]) -> [UInt8] {
        var size = 3 + decimalDigits(arguments.count)
        for argument in arguments {
            let length = argument.utf8.count
            size += 5 + decimalDigits(length) + length
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var at = 0
            func put(_ byte: UInt8) {
                buffer[at] = byte
                at += 1
            }
            func line(_ prefix: UInt8, _ value: Int) {
                put(prefix)
                var divisor = 1
                while divisor <= value / 10 { divisor *= 10 }
                repeat {
                    put(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                    divisor /= 10
                } while divisor > 0
                put(13)
                put(10)
            }
            line(UInt8(ascii: "*"), arguments.count)
            for argument in arguments {
                var argument = argument
                line(UInt8(ascii: "$"), argument.utf8.count)
                argument.withUTF8 { bytes in
                    guard let base = bytes.baseAddress else { return }
                    (buffer.baseAddress! + at).initialize(from: base, count: bytes.count)
                    at += bytes.count
                }
                put(13)
                put(10)
            }
            precondition(at == size, "RESP size mismatch")
            initialized = at
        }
    }

    private static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}

/// hiredis writes with `write(2)`, which raises SIGPIPE when the server has closed the socket, and
/// SIGPIPE's default action kills the process. Ignore it once, process-wide (as SwiftNIO does for its
/// own sockets), but only while it has the default action: an application's own handler stays.
private let sigpipeIgnored: Void = {
    let previous = signal(SIGPIPE, SIG_IGN)
    if previous != nil { _ = signal(SIGPIPE, previous) }
}()

extension timeval {
    fileprivate init(seconds: Double) {
        let whole = seconds.rounded(.down)
        self.init(tv_sec: .init(whole), tv_usec: .init(((seconds - whole) * 1_000_000).rounded(.down)))
    }
}
