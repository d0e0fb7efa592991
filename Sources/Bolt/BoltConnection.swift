import Logging
import NIOCore
import NIOPosix

/// One Bolt 5.1+ connection on a swift-nio channel.
///
/// RUN and PULL are sent together, as the official drivers do: FalkorDB streams the records right
/// after RUN's SUCCESS and never answers PULL itself, so waiting for RUN's reply before sending
/// PULL would find records nobody asked for. Other requests go one at a time.
/// After a FAILURE the server is in its FAILED state; the connection sends RESET at once, before
/// throwing the ``BoltError``, so it is usable again by the next call. (FalkorDB answers the PULL
/// that followed a failed RUN only when RESET arrives, so RESET is sent before awaiting it.)
///
/// Callers sharing a connection are served in turn; a transaction holds the connection until it ends.
///
/// **Parameters only.** Every method takes Cypher text and a parameter map: values from jobs go in
/// `parameters`, never into the text, so no value can change what a query does.
public actor BoltConnection {
    private enum TransactionState: Equatable {
        case none
        case open(UInt64)
        /// A query failed inside the transaction; the RESET that followed rolled it back on the server.
        case failed(UInt64)
    }

    /// The server this connection was opened to.
    public nonisolated let configuration: BoltConfiguration
    /// The version agreed in the handshake (5.1 to 5.4).
    public nonisolated let version: BoltVersion
    /// HELLO's metadata: `server` (agent such as `Neo4j/5.13.0`), `connection_id`...
    public nonisolated let serverInfo: [String: BoltValue]

    private let channel: any Channel
    private let logger: Logger
    private var broken = false
    private var closed = false
    private var transaction = TransactionState.none
    private var nextTransactionId: UInt64 = 0
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private init(
        configuration: BoltConfiguration,
        version: BoltVersion,
        serverInfo: [String: BoltValue],
        channel: any Channel,
        logger: Logger
    ) {
        self.configuration = configuration
        self.version = version
        self.serverInfo = serverInfo
        self.channel = channel
        self.logger = logger
    }

    /// Opens a TCP connection (TLS first when ``BoltConfiguration/tls`` says so), negotiates the Bolt
    /// version, then HELLO and LOGON.
    ///
    /// - Throws: ``BoltError``: ``BoltError/Code/connection`` (transient) when the server cannot be
    ///   reached or its TLS certificate or host name fails the check (the message says which),
    ///   ``BoltError/Code/authentication`` when LOGON fails, ``BoltError/Code/protocolViolation``
    ///   when no version is shared, ``BoltError/Code/configuration`` when the CA file cannot be loaded.
    public static func connect(
        _ configuration: BoltConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "fleet.bolt", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> BoltConnection {
        let address = configuration.redactedAddress
        let tls = configuration.tls
        let host = configuration.host
        let tlsContext = try await tls.makeContext(address: address)
        // Failed by the handler with the channel's first error, which can come before the handshake is written.
        let promise = eventLoopGroup.any().makePromise(of: BoltVersion.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeoutSeconds * 1e9)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // TLS below the Bolt bytes: the handshake's bytes wait until TLS is up.
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(BoltTLS.handler(tlsContext, host: host))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            BoltChannelHandler(
                                address: address,
                                explainTLSError: { tls.explain($0, host: host) },
                                onFailure: { promise.fail($0) }
                            )
                        )
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            promise.fail(error)
            throw BoltError(code: .connection, message: "cannot connect: \(error)", address: address)
        }
        do {
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { error in
                // A pipeline torn down before the write never hands the promise to the handler.
                promise.fail(BoltError(code: .connection, message: "handshake not sent: \(error)", address: address))
            }
            channel.writeAndFlush(BoltOutbound.handshake(promise), promise: written)
            // The version reply is a reply like any other: a server busy with another client's
            // query answers it late (FalkorDB runs one command at a time), so it gets the request
            // timeout; connectTimeoutSeconds bounds only the TCP connect.
            let version = try await withTimeout(configuration.requestTimeoutSeconds, channel) {
                try await promise.futureResult.get()
            }
            var hello: [String: BoltValue] = ["user_agent": .string(configuration.userAgent)]
            if version >= BoltVersion(major: 5, minor: 3) {
                // Required from 5.3 on; refused as unknown by older servers, so only sent then.
                hello["bolt_agent"] = [
                    "product": .string(configuration.userAgent), "language": "Swift", "platform": "swift-nio",
                ]
            }
            let helloReply = try await exchange(.hello(extra: hello), channel, configuration)
            guard case .success(let serverInfo) = helloReply.summary else {
                throw error(for: helloReply.summary, request: "HELLO", address: address, code: .protocolViolation)
            }
            let logonReply = try await exchange(.logon(auth: configuration.authToken), channel, configuration)
            guard case .success = logonReply.summary else {
                throw error(for: logonReply.summary, request: "LOGON", address: address, code: .authentication)
            }
            logger.debug(
                "bolt connection opened",
                metadata: [
                    "bolt.address": "\(address)", "bolt.version": "\(version)",
                    "bolt.server": "\(serverInfo["server"]?.string ?? "?")",
                ]
            )
            return BoltConnection(
                configuration: configuration,
                version: version,
                serverInfo: serverInfo,
                channel: channel,
                logger: logger
            )
        } catch var error as BoltError where error.code == .connection && !error.message.hasSuffix("timed out") {
            channel.close(promise: nil)
            error.droppedDuringHandshake = true
            throw error
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// False once the connection is broken, closed, or inside a transaction; the pool then replaces or keeps it.
    public var isUsable: Bool { !broken && !closed && channel.isActive && transaction == .none }

    // MARK: - Queries

    /// Runs one auto-commit query and returns all its records.
    ///
    /// - Parameters:
    ///   - query: Cypher text, fixed in the code. Never build it from payload values.
    ///   - parameters: the values, referenced as `$name` in the query.
    /// - Throws: ``BoltError``; a server FAILURE has code ``BoltError/Code/server`` and its
    ///   ``BoltError/serverCode``, and leaves the connection reset and usable.
    @discardableResult
    public func run(_ query: String, parameters: [String: BoltValue] = [:]) async throws -> BoltResult {
        await lock()
        defer { unlock() }
        try checkOpen()
        var extra: [String: BoltValue] = [:]
        if let database = configuration.database {
            if configuration.falkorDBGraphSelection {
                extra[database] = .string("db")
            } else {
                extra["db"] = .string(database)
            }
        }
        return try await runLocked(query, parameters: parameters, extra: extra)
    }

    /// Runs `body` in an explicit transaction: BEGIN, then COMMIT when it returns, ROLLBACK when it throws.
    ///
    /// `body` runs in the caller's isolation; it must use only the given transaction, not this
    /// connection, which it holds until the end. When a query in it fails, the server has already
    /// rolled back, and the error is rethrown without a ROLLBACK.
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (BoltTransaction) async throws -> T
    ) async throws -> T {
        let id = try await begin()
        let result: T
        do {
            result = try await body(BoltTransaction(connection: self, id: id))
        } catch {
            await rollback(id)
            throw error
        }
        try await commit(id)
        return result
    }

    /// Closes the channel. Later calls throw a ``BoltError/Code/usage`` error.
    ///
    /// No GOODBYE is sent: it is optional (closing the socket ends the session on every server),
    /// and FalkorDB 4.16 mishandles it: after a GOODBYE, the next connection the server accepts,
    /// Bolt or Redis, hangs unanswered. That wedged the shared test server.
    public func close() async {
        guard !closed else { return }
        closed = true
        try? await channel.close()
    }

    // MARK: - Transactions

    private func begin() async throws -> UInt64 {
        await lock()
        do {
            try checkOpen()
            var extra: [String: BoltValue] = [:]
            if let database = configuration.database { extra["db"] = .string(database) }
            try await expectSuccess(.begin(extra: extra))
            nextTransactionId += 1
            transaction = .open(nextTransactionId)
            return nextTransactionId
        } catch {
            unlock()
            throw error
        }
    }

    func runInTransaction(_ id: UInt64, _ query: String, parameters: [String: BoltValue]) async throws -> BoltResult {
        guard transaction == .open(id) else {
            throw BoltError(
                code: .usage,
                message: "the transaction has failed or ended; start a new one",
                address: configuration.redactedAddress
            )
        }
        do {
            return try await runLocked(query, parameters: parameters, extra: [:])
        } catch {
            if transaction == .open(id) { transaction = .failed(id) }
            throw error
        }
    }

    private func commit(_ id: UInt64) async throws {
        defer {
            transaction = .none
            unlock()
        }
        guard transaction == .open(id) else {
            throw BoltError(
                code: .usage,
                message: "a query in the transaction failed, so it was rolled back, not committed",
                address: configuration.redactedAddress
            )
        }
        try await expectSuccess(.commit)
    }

    private func rollback(_ id: UInt64) async {
        defer {
            transaction = .none
            unlock()
        }
        guard transaction == .open(id), !broken else { return }
        do {
            try await expectSuccess(.rollback)
        } catch {
            logger.debug("bolt rollback failed", metadata: ["bolt.error": "\(error)"])
        }
    }

    // MARK: - Requests

    private func runLocked(
        _ query: String,
        parameters: [String: BoltValue],
        extra: [String: BoltValue]
    ) async throws -> BoltResult {
        let replies = submit([.run(query: query, parameters: parameters, extra: extra), .pull(n: -1)])
        let run = replies[0]
        let pullReply = replies[1]
        let runReply = try await wait(for: run)
        guard case .success(let runSummary) = runReply.summary else {
            let error = try await failed(runReply.summary, "RUN", pending: pullReply)
            throw error
        }
        let pull = try await wait(for: pullReply)
        guard case .success(let pullSummary) = pull.summary else { throw try await failed(pull.summary, "PULL") }
        let keys = runSummary["fields"]?.list?.compactMap(\.string) ?? []
        return BoltResult(
            keys: keys,
            rows: pull.records,
            summary: runSummary.merging(pullSummary, uniquingKeysWith: { _, pull in pull })
        )
    }

    @discardableResult
    private func expectSuccess(_ request: BoltRequest) async throws -> [String: BoltValue] {
        let reply = try await send(request)
        guard case .success(let metadata) = reply.summary else { throw try await failed(reply.summary, request.name) }
        return metadata
    }

    /// Resets the server's FAILED state, then returns the error to throw.
    /// `pending` is a reply already requested after the failed one (the PULL after a RUN): the
    /// server ignores it, and FalkorDB says so only once RESET arrives.
    private func failed(
        _ summary: BoltReply.Summary,
        _ request: String,
        pending: EventLoopFuture<BoltReply>? = nil
    ) async throws -> BoltError {
        let error = Self.error(
            for: summary,
            request: request,
            address: configuration.redactedAddress,
            code: .protocolViolation
        )
        if case .open(let id) = transaction { transaction = .failed(id) }
        do {
            let resetReply = submit(.reset)
            if let pending { _ = try await wait(for: pending) }
            let reset = try await wait(for: resetReply)
            guard case .success = reset.summary else {
                broken = true
                return error
            }
        } catch {
            broken = true
        }
        return error
    }

    private func send(_ request: BoltRequest) async throws -> BoltReply {
        try await wait(for: submit(request))
    }

    /// Writes a request; replies come back in the order requests were submitted.
    private func submit(_ request: BoltRequest) -> EventLoopFuture<BoltReply> {
        submit([request])[0]
    }

    /// Writes `requests` in one event-loop task, so the handler queues all their waiters before it
    /// reads any reply. FalkorDB streams a query's records right after RUN's SUCCESS, without
    /// waiting for PULL: with RUN and PULL written separately, records could arrive before PULL's
    /// waiter existed ("a reply arrived with no request waiting"), seen under load.
    ///
    /// A connection reset between ``checkOpen()`` and the write can tear the pipeline down first:
    /// the request then never reaches the handler, so the write's own failure fails the reply
    /// (as a transient ``BoltError/Code/connection``), or it would never complete.
    private func submit(_ requests: [BoltRequest]) -> [EventLoopFuture<BoltReply>] {
        let promises = requests.map { _ in channel.eventLoop.makePromise(of: BoltReply.self) }
        let target = channel
        let address = configuration.redactedAddress
        target.eventLoop.execute {
            for (request, promise) in zip(requests, promises) {
                target.write(
                    BoltOutbound.request(request, reply: promise),
                    promise: Self.failingReply(promise, of: request.name, on: target, address: address)
                )
            }
            target.flush()
        }
        return promises.map(\.futureResult)
    }

    /// A write promise that fails `reply` when the write fails. When the handler saw the request it
    /// has already completed `reply` (with its own error) and this does nothing: a promise keeps
    /// its first result.
    private static func failingReply(
        _ reply: EventLoopPromise<BoltReply>,
        of request: String,
        on channel: any Channel,
        address: String
    ) -> EventLoopPromise<Void> {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(
                BoltError(code: .connection, message: "\(request) could not be sent: \(error)", address: address)
            )
        }
        return written
    }

    private func wait(for reply: EventLoopFuture<BoltReply>) async throws -> BoltReply {
        do {
            return try await Self.withTimeout(configuration.requestTimeoutSeconds, channel) { try await reply.get() }
        } catch let error as BoltError where error.code == .usage {
            throw error
        } catch {
            broken = true
            throw error
        }
    }

    private static func exchange(
        _ request: BoltRequest,
        _ channel: any Channel,
        _ configuration: BoltConfiguration
    ) async throws -> BoltReply {
        let promise = channel.eventLoop.makePromise(of: BoltReply.self)
        channel.writeAndFlush(
            BoltOutbound.request(request, reply: promise),
            promise: failingReply(promise, of: request.name, on: channel, address: configuration.redactedAddress)
        )
        return try await withTimeout(configuration.requestTimeoutSeconds, channel) {
            try await promise.futureResult.get()
        }
    }

    /// On timeout the handler fails the waiting request and closes the channel, so the promise
    /// is completed exactly once, by the handler.
    private static func withTimeout<T: Sendable>(
        _ seconds: Double,
        _ channel: any Channel,
        _ body: () async throws -> T
    ) async throws -> T {
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            channel.triggerUserOutboundEvent(BoltTimeoutEvent(), promise: nil)
        }
        defer { timeout.cancel() }
        return try await body()
    }

    private static func error(
        for summary: BoltReply.Summary,
        request: String,
        address: String,
        code: BoltError.Code
    ) -> BoltError {
        switch summary {
        case .failure(let serverCode, let message):
            let kind: BoltError.Code = code == .authentication ? .authentication : .server
            return BoltError(code: kind, message: message, address: address, serverCode: serverCode)
        case .ignored:
            return BoltError(code: .protocolViolation, message: "the server ignored \(request)", address: address)
        case .success:
            return BoltError(code: code, message: "unexpected SUCCESS to \(request)", address: address)
        }
    }

    private func checkOpen() throws {
        guard !closed else {
            throw BoltError(code: .usage, message: "the connection is closed", address: configuration.redactedAddress)
        }
        guard !broken, channel.isActive else {
            throw BoltError(
                code: .connection,
                message: "the connection is broken",
                address: configuration.redactedAddress
            )
        }
    }

    // MARK: - Turns

    private func lock() async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
    }

    /// Hands the turn straight to the next waiter, so `busy` stays set.
    private func unlock() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
