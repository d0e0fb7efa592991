import NIOCore

/// What the connection writes into its channel: the handshake, or one request awaiting its reply.
enum BoltOutbound: Sendable {
    case handshake(EventLoopPromise<BoltVersion>)
    /// `reply` is nil for GOODBYE, which has none.
    case request(BoltRequest, reply: EventLoopPromise<BoltReply>?)
}

/// Asks the handler to fail every waiting request with a timeout and close the channel.
struct BoltTimeoutEvent: Sendable {}

/// Pairs requests with their replies on the event loop: replies come back in request order, so a
/// FIFO of waiting promises is the whole state. Records accumulate on the oldest waiter until its summary.
///
/// Any byte it cannot make sense of closes the channel: after a protocol error the stream position
/// is unknown, so no later reply could be trusted.
final class BoltChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = BoltOutbound
    typealias OutboundOut = ByteBuffer

    private struct Waiter {
        let request: String
        let isReset: Bool
        var records: [[BoltValue]] = []
        let promise: EventLoopPromise<BoltReply>
    }

    private let address: String
    /// Words for an error of the TLS handler below, or nil for any other error.
    private let explainTLSError: @Sendable (any Error) -> String?
    /// Told the reason once the channel fails: a TLS check can fail (and the pipeline be gone)
    /// before the connection writes its handshake, which would otherwise only see a closed channel.
    private let onFailure: @Sendable (BoltError) -> Void
    private var handshake: EventLoopPromise<BoltVersion>?
    private var handshakeDone = false
    private var waiters = CircularBuffer<Waiter>()
    private var buffer = ByteBuffer()
    private var frames = BoltFrameDecoder()
    /// Why the channel closed, given to every request still waiting or written later.
    private var closeReason: BoltError?

    init(
        address: String,
        explainTLSError: @escaping @Sendable (any Error) -> String? = { _ in nil },
        onFailure: @escaping @Sendable (BoltError) -> Void = { _ in }
    ) {
        self.address = address
        self.explainTLSError = explainTLSError
        self.onFailure = onFailure
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .handshake(let versionPromise):
            // A TLS failure can close the channel before the handshake is written: keep its reason.
            if let closeReason {
                versionPromise.fail(closeReason)
                promise?.fail(closeReason)
                return
            }
            handshake = versionPromise
            context.write(
                wrapOutboundOut(context.channel.allocator.buffer(bytes: BoltHandshake.request)),
                promise: promise
            )
        case .request(let request, let reply):
            if let closeReason {
                reply?.fail(closeReason)
                promise?.fail(closeReason)
                return
            }
            let bytes: [UInt8]
            do {
                bytes = try request.encoded()
            } catch {
                // Nothing was written: the connection is still in step.
                reply?.fail(
                    BoltError(code: .usage, message: "cannot encode \(request.name): \(error)", address: address)
                )
                promise?.fail(error)
                return
            }
            if let reply {
                waiters.append(Waiter(request: request.name, isReset: request == .reset, promise: reply))
            }
            var out = context.channel.allocator.buffer(capacity: bytes.count + 4)
            BoltChunking.write(bytes, into: &out)
            context.write(wrapOutboundOut(out), promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !handshakeDone {
            guard let bytes = buffer.readBytes(length: 4) else { return }
            handshakeDone = true
            guard let version = BoltHandshake.version(from: bytes) else {
                let proposed = "\(BoltHandshake.lowest) to \(BoltHandshake.highest)"
                fail(
                    context,
                    BoltError(
                        code: .protocolViolation,
                        message: "the server accepts none of Bolt \(proposed) (answered \(bytes.map { String($0) }))",
                        address: address
                    )
                )
                return
            }
            handshake?.succeed(version)
            handshake = nil
        }
        do {
            while let message = try frames.nextMessage(from: &buffer) {
                try deliver(BoltResponse(decoding: message))
            }
            buffer.discardReadBytes()
        } catch {
            fail(context, BoltError(code: .protocolViolation, message: "\(error)", address: address))
        }
    }

    private func deliver(_ response: BoltResponse) throws(PackStreamError) {
        guard var waiter = waiters.first else { throw PackStreamError("a reply arrived with no request waiting") }
        let summary: BoltReply.Summary
        switch response {
        case .record(let fields):
            waiters[waiters.startIndex].records.append(fields)
            return
        case .success(let metadata): summary = .success(metadata)
        case .failure(let code, let message): summary = .failure(code: code, message: message)
        case .ignored:
            // FalkorDB answers RESET after a FAILURE with IGNORED and then SUCCESS.
            if waiter.isReset { return }
            summary = .ignored
        }
        waiter = waiters.removeFirst()
        waiter.promise.succeed(BoltReply(records: waiter.records, summary: summary))
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is BoltTimeoutEvent {
            // Nothing queued yet: the connection still waits for the server's version reply.
            let request = waiters.first?.request ?? (handshakeDone ? "request" : "version handshake")
            fail(context, BoltError(code: .connection, message: "\(request) timed out", address: address))
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(BoltError(code: .connection, message: "the server closed the connection", address: address))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, BoltError(code: .connection, message: explainTLSError(error) ?? "\(error)", address: address))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: BoltError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: BoltError) {
        if closeReason == nil {
            closeReason = error
            onFailure(error)
        }
        let reason = closeReason ?? error
        handshake?.fail(reason)
        handshake = nil
        while let waiter = waiters.popFirst() { waiter.promise.fail(reason) }
    }
}
