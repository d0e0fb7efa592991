import CRabbitMQ
import Foundation

/// One librabbitmq connection, owned by exactly this object; `close()` frees it.
///
/// Synchronous and blocking: use it from one thread at a time (``AMQPClient`` gives it a dedicated
/// thread; the CLI's admin commands run it on a thread of their own). That single-thread rule is
/// what makes the `@unchecked Sendable` sound: the object moves between threads, it is never shared.
public final class AMQPConnection: @unchecked Sendable {
    private var state: amqp_connection_state_t?
    /// The broker this connection was opened to.
    public let configuration: AMQPConfiguration
    private var openChannels: Set<UInt16> = []
    /// Messages published on this connection: the sequence number of the last one, for confirms.
    var publishedCount: UInt64 = 0
    /// The largest message body read into memory. A longer one is read off the socket and dropped
    /// as it arrives, and comes out as a delivery with an empty body and ``AMQPDelivery/oversizeBodySize``.
    public var maxBodySize = Int.max

    /// Channel used for consuming and acks.
    public static let consumeChannel: UInt16 = 1
    /// Transport detail (``AMQPClient`` matches broker returns with it), removed from what is read.
    public static let publishSequenceHeader = "x-fleet-publish-seq"

    /// Channel in confirm mode used for publishing.
    public static let publishChannel: UInt16 = 2

    /// Channel for passive queue declares (``queueExists(_:)``): the broker closes a channel on a
    /// missing queue, and this one carries nothing else.
    public static let probeChannel: UInt16 = 3

    /// The broker node this connection was opened to (one of ``configuration``'s addresses).
    public let address: AMQPConfiguration.Address

    private init(configuration: AMQPConfiguration, address: AMQPConfiguration.Address, state: amqp_connection_state_t) {
        self.configuration = configuration
        self.address = address
        self.state = state
    }

    deinit {
        if let state {
            amqp_destroy_connection(state)
        }
    }

    /// Opens the TCP connection to the first node of `configuration` that answers, trying them in
    /// order, and logs in. Throws the last node's error when none does. Blocks for up to the connect
    /// timeout plus the RPC timeout per node.
    public static func open(_ configuration: AMQPConfiguration) throws -> AMQPConnection {
        var lastError: Error?
        for address in configuration.addresses {
            do {
                return try open(configuration, address: address)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// Opens the TCP (or, for `amqps://`, TLS) connection to one node and logs in, advertising the capabilities the client
    /// handles (`connection.blocked`, `consumer_cancel_notify`, `publisher_confirms`, `basic.nack`,
    /// `authentication_failure_close`). Every later RPC waits at most `configuration.rpcTimeout`.
    public static func open(
        _ configuration: AMQPConfiguration,
        address: AMQPConfiguration.Address
    ) throws
        -> AMQPConnection
    {
        guard let state = amqp_new_connection() else {
            throw AMQPError(code: .connection, message: "out of memory", address: configuration.redacted(address))
        }
        let connection = AMQPConnection(configuration: configuration, address: address, state: state)
        let socket = try newSocket(state, configuration, address: connection.addressText)
        var rpcTimeout = timeval(configuration.rpcTimeout)
        amqp_set_rpc_timeout(state, &rpcTimeout)
        amqp_set_handshake_timeout(state, &rpcTimeout)
        var timeout = timeval(tv_sec: configuration.connectTimeoutSeconds, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, address.host, Int32(address.port), &timeout)
        if status != AMQP_STATUS_OK.rawValue {
            throw connection.error(.connection, openFailure(status, tls: configuration.tls, host: address.host))
        }
        let reply = fleet_amqp_login_with_capabilities(
            state,
            configuration.vhost,
            0,
            Int32(configuration.frameMax),
            Int32(configuration.heartbeatSeconds),
            configuration.user,
            configuration.password
        )
        try connection.check(reply, "login")
        return connection
    }

    /// Closes the connection politely when possible and frees the C handle. Safe to call twice.
    ///
    /// `waitForBroker` false skips the `connection.close` handshake and just drops the socket: for
    /// a connection the broker has blocked (it reads nothing, so it would never answer) or a client
    /// out of time. Polite or not, the broker requeues the deliveries left unacked.
    public func close(waitForBroker: Bool = true) {
        guard let state else { return }
        // Bounded by the RPC timeout set at open.
        if waitForBroker { _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS) }
        amqp_destroy_connection(state)
        self.state = nil
    }

    /// This connection's node as `host:port/vhost`, without credentials: for logs.
    public var addressText: String { configuration.redacted(address) }

    package var socketDescriptor: Int32 { state.map { amqp_get_sockfd($0) } ?? -1 }

    /// Runs `body` with the socket corked (`TCP_CORK`), so the frames it writes leave in full
    /// segments when it returns instead of one segment per message: librabbitmq writes each
    /// publish as three `send` calls and pushes after the body, so a batch of publishes written
    /// uncorked costs the kernel and the broker a segment, a wake-up and a read per message.
    package func corked<T>(_ body: () throws -> T) rethrows -> T {
        let socket = socketDescriptor
        var on: Int32 = 1
        var off: Int32 = 0
        let size = socklen_t(MemoryLayout<Int32>.size)
        guard socket >= 0, setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &on, size) == 0 else {
            return try body()
        }
        defer { _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &off, size) }
        return try body()
    }

    /// Frames already read from the socket (or queued during an RPC) that a poll would not announce.
    var hasBufferedInput: Bool {
        guard let state else { return false }
        return amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0
    }

    // MARK: - Channels and topology

    /// Opens `channel` unless this connection already did; the other methods open the channel they use.
    public func openChannel(_ channel: UInt16) throws {
        guard !openChannels.contains(channel) else { return }
        let state = try live()
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "channel.open", channel: channel)
        openChannels.insert(channel)
    }

    /// Declares an exchange of `type` (`direct`, `topic`, `fanout`, `headers`), not auto-deleted,
    /// not internal, without arguments. Throws a `.server` ``AMQPError`` (406) when it exists with
    /// other settings.
    public func declareExchange(_ name: String, type: String, durable: Bool = true) throws {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        amqp_exchange_declare(
            state,
            Self.consumeChannel,
            arena.bytes(name),
            arena.bytes(type),
            0,
            durable ? 1 : 0,
            0,
            0,
            amqp_table_t(num_entries: 0, entries: nil)
        )
        try check(amqp_get_rpc_reply(state), "exchange.declare \(name)")
    }

    /// Declares a queue, or with `passive` only checks that it exists. Returns its message count.
    @discardableResult
    public func declareQueue(
        _ name: String,
        durable: Bool = true,
        arguments: AMQPTable = [:],
        passive: Bool = false
    ) throws -> UInt32 {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        let ok = amqp_queue_declare(
            state,
            Self.consumeChannel,
            arena.bytes(name),
            passive ? 1 : 0,
            durable ? 1 : 0,
            0,
            0,
            arena.table(arguments)
        )
        try check(amqp_get_rpc_reply(state), "queue.declare \(name)")
        return ok?.pointee.message_count ?? 0
    }

    /// Binds `queue` to `exchange` with `routingKey`, without arguments.
    public func bindQueue(_ queue: String, exchange: String, routingKey: String) throws {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        amqp_queue_bind(
            state,
            Self.consumeChannel,
            arena.bytes(queue),
            arena.bytes(exchange),
            arena.bytes(routingKey),
            amqp_table_t(num_entries: 0, entries: nil)
        )
        try check(amqp_get_rpc_reply(state), "queue.bind \(queue) to \(exchange) by \(routingKey)")
    }

    /// Removes every ready message of a queue (not the unacked ones); returns how many it removed.
    @discardableResult
    public func purgeQueue(_ name: String) throws -> UInt32 {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        let ok = amqp_queue_purge(state, Self.consumeChannel, arena.bytes(name))
        try check(amqp_get_rpc_reply(state), "queue.purge \(name)")
        return ok?.pointee.message_count ?? 0
    }

    /// Deletes a queue with its messages, even when it has consumers or messages.
    public func deleteQueue(_ name: String) throws {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        amqp_queue_delete(state, Self.consumeChannel, arena.bytes(name), 0, 0)
        try check(amqp_get_rpc_reply(state), "queue.delete \(name)")
    }

    /// Whether `name` exists, by a passive declare on ``probeChannel``: a missing queue closes only
    /// that channel, never the consume or publish one.
    public func queueExists(_ name: String) throws -> Bool {
        let state = try live()
        try openChannel(Self.probeChannel)
        let arena = CArena()
        amqp_queue_declare(
            state,
            Self.probeChannel,
            arena.bytes(name),
            1,
            0,
            0,
            0,
            amqp_table_t(num_entries: 0, entries: nil)
        )
        do {
            try check(amqp_get_rpc_reply(state), "queue.declare (passive) \(name)", channel: Self.probeChannel)
            return true
        } catch let error as AMQPError where error.replyCode == 404 {
            return false
        }
    }

    // MARK: - Consuming

    /// Sets the prefetch of the consumers started next on the consume channel.
    public func setPrefetch(_ count: UInt16) throws {
        let state = try live()
        try openChannel(Self.consumeChannel)
        amqp_basic_qos(state, Self.consumeChannel, 0, count, 0)
        try check(amqp_get_rpc_reply(state), "basic.qos")
    }

    /// Starts a consumer with manual acks; returns its consumer tag.
    public func consume(queue: String) throws -> String {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        let ok = amqp_basic_consume(
            state,
            Self.consumeChannel,
            arena.bytes(queue),
            amqp_bytes_t(len: 0, bytes: nil),
            0,
            0,
            0,
            amqp_table_t(num_entries: 0, entries: nil)
        )
        try check(amqp_get_rpc_reply(state), "basic.consume \(queue)")
        return ok?.pointee.consumer_tag.string ?? ""
    }

    /// Cancels the consumer with this tag; the broker keeps its unacked deliveries until they are
    /// acked or the connection closes.
    public func cancel(consumerTag: String) throws {
        let state = try live()
        let arena = CArena()
        amqp_basic_cancel(state, Self.consumeChannel, arena.bytes(consumerTag))
        try check(amqp_get_rpc_reply(state), "basic.cancel")
    }

    /// Acknowledges the delivery with this tag on the consume channel, and with `multiple` every
    /// earlier one too.
    public func ack(_ deliveryTag: UInt64, multiple: Bool = false) throws {
        let status = amqp_basic_ack(try live(), Self.consumeChannel, deliveryTag, multiple ? 1 : 0)
        try checkStatus(status, "basic.ack")
    }

    /// Rejects (`basic.nack`) the delivery with this tag: back to its queue with `requeue`, otherwise
    /// to the queue's dead-letter exchange, or dropped when it has none.
    public func reject(_ deliveryTag: UInt64, requeue: Bool) throws {
        let status = amqp_basic_nack(try live(), Self.consumeChannel, deliveryTag, 0, requeue ? 1 : 0)
        try checkStatus(status, "basic.nack")
    }

    /// `basic.get` with manual ack: the next message of `queue`, or nil when it is empty.
    public func get(queue: String) throws -> AMQPDelivery? {
        let state = try live()
        try openChannel(Self.consumeChannel)
        let arena = CArena()
        let reply = amqp_basic_get(state, Self.consumeChannel, arena.bytes(queue), 0)
        try check(reply, "basic.get \(queue)")
        guard reply.reply.id == FLEET_AMQP_BASIC_GET_OK else { return nil }
        let ok = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        let (deliveryTag, redelivered) = (ok.delivery_tag, ok.redelivered != 0)
        let (exchange, routingKey) = (ok.exchange.string, ok.routing_key.string)
        let (properties, body, oversizeBodySize) = try readContent(
            channel: Self.consumeChannel,
            droppingHeader: Self.publishSequenceHeader
        )
        return AMQPDelivery(
            body: body,
            properties: properties,
            deliveryTag: deliveryTag,
            redelivered: redelivered,
            exchange: exchange,
            routingKey: routingKey,
            queue: queue,
            generation: 0,
            oversizeBodySize: oversizeBodySize
        )
    }

    // MARK: - Publishing

    /// Puts the publish channel in confirm mode: each later publish is acked by the broker.
    public func enableConfirms() throws {
        let state = try live()
        try openChannel(Self.publishChannel)
        amqp_confirm_select(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), "confirm.select", channel: Self.publishChannel)
    }

    /// Writes one message on the publish channel. With confirms on, its sequence number is the count
    /// of publishes so far on this connection; `sequence`, when given, goes with it in the
    /// ``publishSequenceHeader`` header (replacing one the message has), for matching a return.
    public func publish(_ message: AMQPOutgoingMessage, sequence: UInt64? = nil) throws {
        let state = try live()
        try openChannel(Self.publishChannel)
        let arena = CArena()
        var properties = arena.properties(
            message.properties,
            addingHeader: sequence.map { (Self.publishSequenceHeader, .int(Int64(truncatingIfNeeded: $0))) }
        )
        // The body goes from the array itself: librabbitmq writes it to the socket before returning.
        // The arena lives until then too: its memory is the call's other arguments.
        let status = withExtendedLifetime(arena) {
            message.body.withUnsafeBytes { body in
                amqp_basic_publish(
                    state,
                    Self.publishChannel,
                    arena.bytes(message.exchange),
                    arena.bytes(message.routingKey),
                    message.mandatory ? 1 : 0,
                    0,
                    &properties,
                    amqp_bytes_t(
                        len: body.count,
                        bytes: body.isEmpty ? nil : UnsafeMutableRawPointer(mutating: body.baseAddress)
                    )
                )
            }
        }
        try checkStatus(status, "basic.publish to \(message.exchange.isEmpty ? "(default)" : message.exchange)")
    }

    // MARK: - Reading frames

    enum Event {
        case delivery(
            consumerTag: String,
            deliveryTag: UInt64,
            redelivered: Bool,
            exchange: String,
            routingKey: String,
            properties: AMQPProperties,
            body: [UInt8],
            oversizeBodySize: UInt64?
        )
        /// Publisher confirm: `ack` false is a broker nack.
        case confirm(deliveryTag: UInt64, multiple: Bool, ack: Bool)
        case returned(properties: AMQPProperties, replyCode: Int, replyText: String)
        case consumerCancelled(consumerTag: String)
        /// The broker stopped reading this connection (`connection.blocked`: a memory or disk alarm).
        case blocked(reason: String)
        /// The broker reads this connection again.
        case unblocked
    }

    /// The next frame already available, or nil after `timeout` (zero: do not wait).
    /// Also sends heartbeats when they are due, so call it at least every heartbeat/2.
    func nextEvent(timeout: timeval = timeval(tv_sec: 0, tv_usec: 0)) throws -> Event? {
        let state = try live()
        defer { amqp_maybe_release_buffers(state) }
        var frame = amqp_frame_t()
        var wait = timeout
        let status = amqp_simple_wait_frame_noblock(state, &frame, &wait)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        try checkStatus(status, "reading a frame")
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return nil }
        let method = frame.payload.method
        switch method.id {
        case FLEET_AMQP_BASIC_DELIVER:
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let (consumerTag, exchange, routingKey) =
                (deliver.consumer_tag.string, deliver.exchange.string, deliver.routing_key.string)
            let (properties, body, oversizeBodySize) = try readContent(
                channel: frame.channel,
                droppingHeader: Self.publishSequenceHeader
            )
            return .delivery(
                consumerTag: consumerTag,
                deliveryTag: deliver.delivery_tag,
                redelivered: deliver.redelivered != 0,
                exchange: exchange,
                routingKey: routingKey,
                properties: properties,
                body: body,
                oversizeBodySize: oversizeBodySize
            )
        case FLEET_AMQP_BASIC_ACK:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .confirm(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0, ack: true)
        case FLEET_AMQP_BASIC_NACK:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .confirm(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0, ack: false)
        case FLEET_AMQP_BASIC_RETURN:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let (code, text) = (Int(returned.reply_code), returned.reply_text.string)
            let (properties, _, _) = try readContent(channel: frame.channel)
            return .returned(properties: properties, replyCode: code, replyText: text)
        case FLEET_AMQP_BASIC_CANCEL:
            let cancel = method.decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .consumerCancelled(consumerTag: cancel.consumer_tag.string)
        case FLEET_AMQP_CONNECTION_BLOCKED:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .blocked(reason: blocked.reason.string)
        case FLEET_AMQP_CONNECTION_UNBLOCKED:
            return .unblocked
        case FLEET_AMQP_CHANNEL_CLOSE:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw error(
                .server,
                "channel \(frame.channel) closed by broker: \(close.reply_text.string)",
                replyCode: Int(close.reply_code)
            )
        case FLEET_AMQP_CONNECTION_CLOSE:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            throw error(
                .server,
                "connection closed by broker: \(close.reply_text.string)",
                replyCode: Int(close.reply_code)
            )
        default:
            return nil
        }
    }

    /// Reads the header and body frames that follow a deliver, get-ok or return, frame by frame so
    /// that the header's `body_size` decides before any body byte is kept: a body over
    /// ``maxBodySize`` is read off the socket and dropped fragment by fragment (memory stays flat,
    /// whatever the broker accepted), and only its size comes back. Each frame's buffer is released
    /// as soon as it is copied, so a kept body costs its own size once.
    ///
    /// The broker writes all frames of one content together (RabbitMQ's writer sends a method and
    /// its content as one unit), so a frame of another channel in between is a protocol error here.
    ///
    /// With `droppingHeader`, the properties come without that header (a delivery's callers drop
    /// the sequence number its publisher matches returns by; a return keeps it).
    private func readContent(
        channel: UInt16,
        droppingHeader dropped: String? = nil
    ) throws -> (AMQPProperties, [UInt8], oversizeBodySize: UInt64?) {
        let state = try live()
        var frame = try contentFrame(channel: channel, type: UInt8(AMQP_FRAME_HEADER))
        let bodySize = frame.payload.properties.body_size
        let properties = AMQPProperties(
            frame.payload.properties.decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee,
            droppingHeader: dropped
        )
        amqp_maybe_release_buffers_on_channel(state, channel)
        let keep = bodySize <= UInt64(max(maxBodySize, 0))
        var body: [UInt8] = []
        if keep { body.reserveCapacity(Int(bodySize)) }
        var received: UInt64 = 0
        while received < bodySize {
            frame = try contentFrame(channel: channel, type: UInt8(AMQP_FRAME_BODY))
            let fragment = frame.payload.body_fragment
            received += UInt64(fragment.len)
            if keep, fragment.len > 0, let bytes = fragment.bytes {
                body.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: fragment.len))
            }
            amqp_maybe_release_buffers_on_channel(state, channel)
        }
        guard received == bodySize else {
            throw error(.connection, "reading message content: \(received) body bytes, the header said \(bodySize)")
        }
        return (properties, body, keep ? nil : bodySize)
    }

    /// The next frame, which must be a content frame of `type` on `channel`.
    private func contentFrame(channel: UInt16, type: UInt8) throws -> amqp_frame_t {
        var frame = amqp_frame_t()
        try checkStatus(amqp_simple_wait_frame(try live(), &frame), "reading message content")
        guard frame.channel == channel, frame.frame_type == type else {
            throw error(
                .connection,
                "reading message content: expected a frame of type \(type) on channel \(channel), "
                    + "got type \(frame.frame_type) on channel \(frame.channel)"
            )
        }
        return frame
    }

    // MARK: - Errors

    private func live() throws -> amqp_connection_state_t {
        guard let state else { throw error(.closed, "connection is closed") }
        return state
    }

    private func error(_ code: AMQPError.Code, _ message: String, replyCode: Int? = nil) -> AMQPError {
        AMQPError(code: code, message: message, address: configuration.redacted(address), replyCode: replyCode)
    }

    /// `operation` is only built for an error: most calls succeed, and interpolating it on each
    /// publish showed in its instruction count.
    private func checkStatus(_ status: Int32, _ operation: @autoclosure () -> String) throws {
        guard status != AMQP_STATUS_OK.rawValue else { return }
        throw error(.connection, "\(operation()): \(String(cString: amqp_error_string2(status)))")
    }

    /// Turns an RPC reply into a Swift error: library failures are connection errors, broker closes
    /// are server errors carrying the reply code (404 not found, 406 precondition failed, ...).
    private func check(_ reply: amqp_rpc_reply_t, _ operation: String, channel: UInt16 = consumeChannel) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw error(.connection, "\(operation): \(String(cString: amqp_error_string2(reply.library_error)))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == FLEET_AMQP_CHANNEL_CLOSE {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                let text = close.reply_text.string
                // The channel is gone; tell the broker we saw it so the connection stays usable.
                var closeOk = amqp_channel_close_ok_t(dummy: 0)
                if let state {
                    amqp_send_method(state, channel, FLEET_AMQP_CHANNEL_CLOSE_OK, &closeOk)
                }
                openChannels.remove(channel)
                throw error(.server, "\(operation): \(text)", replyCode: Int(close.reply_code))
            }
            if reply.reply.id == FLEET_AMQP_CONNECTION_CLOSE {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                throw error(.server, "\(operation): \(close.reply_text.string)", replyCode: Int(close.reply_code))
            }
            throw error(.server, "\(operation): unexpected broker reply \(reply.reply.id)")
        default:
            throw error(.connection, "\(operation): no reply")
        }
    }
}

extension AMQPConnection {
    /// Publishes on the publish channel (after ``enableConfirms()``) and blocks until the broker
    /// confirms it. For one-shot tools; workers use ``AMQPClient``, which pipelines confirms.
    public func publishConfirmed(_ message: AMQPOutgoingMessage, timeout: Duration = .seconds(10)) throws {
        try publish(message)
        publishedCount += 1
        let sequence = publishedCount
        var returned: String?
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch try nextEvent(timeout: timeval(tv_sec: 1, tv_usec: 0)) {
            case .confirm(let tag, let multiple, let ack)? where tag == sequence || (multiple && tag >= sequence):
                if let returned {
                    throw AMQPError(code: .unroutable, message: returned, address: configuration.redacted(address))
                }
                guard ack else {
                    throw AMQPError(
                        code: .nacked,
                        message: "broker refused the message",
                        address: configuration.redacted(address)
                    )
                }
                return
            case .returned(_, let code, let text)?:
                returned = "no queue is bound for it (\(code) \(text))"
            default:
                continue
            }
        }
        throw AMQPError(
            code: .connection,
            message: "no publisher confirm within \(timeout)",
            address: configuration.redacted(address)
        )
    }
}

extension timeval {
    /// A duration as a `timeval`, for librabbitmq's timeouts.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
