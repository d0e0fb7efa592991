import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback TCP proxy in front of a shared server, to break connections without restarting it.
///
/// ``dropOnNextRequest()`` arms it: the next bytes any client sends are not forwarded, and both
/// sides of that connection are closed instead. So the client's request has been written and
/// waits for a reply when the connection breaks: a break "mid-request", deterministically.
final class DroppingProxy: Sendable {
    private let server: any Channel
    private let state: ProxyState
    let port: Int

    private init(server: any Channel, state: ProxyState) {
        self.server = server
        self.state = state
        self.port = server.localAddress?.port ?? 0
    }

    static func start(to host: String, port: Int) async throws -> DroppingProxy {
        let state = ProxyState()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from the client until the upstream connection exists and is wired.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: host, port: port)
                    .flatMap { outbound in
                        state.add(inbound)
                        state.add(outbound)
                        let toServer = Relay(partner: outbound, state: state, fromClient: true)
                        let toClient = Relay(partner: inbound, state: state, fromClient: false)
                        return inbound.pipeline.addHandler(toServer).flatMap {
                            outbound.pipeline.addHandler(toClient)
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return DroppingProxy(server: server, state: state)
    }

    /// The next request from any client closes its connection instead of reaching the server.
    func dropOnNextRequest() { state.armed.withLockedValue { $0 = true } }

    /// Closes every proxied connection now.
    func dropAll() async {
        for channel in state.removeAll() { try? await channel.close() }
    }

    func stop() async throws {
        await dropAll()
        try await server.close()
    }
}

/// The proxied channels and the drop switch, shared with the event loops.
final class ProxyState: Sendable {
    let armed = NIOLockedValueBox(false)
    private let channels = NIOLockedValueBox<[any Channel]>([])

    func add(_ channel: any Channel) { channels.withLockedValue { $0.append(channel) } }

    func removeAll() -> [any Channel] {
        channels.withLockedValue { list in
            defer { list = [] }
            return list
        }
    }

    /// True once for the first caller after ``DroppingProxy/dropOnNextRequest()``.
    func takeArmed() -> Bool {
        armed.withLockedValue { armed in
            defer { armed = false }
            return armed
        }
    }
}

/// Copies the bytes read on its channel to the partner channel, and closes the partner when its
/// own channel closes. Reads are pulled one at a time (autoRead is off on the client side).
final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let partner: any Channel
    private let state: ProxyState
    private let fromClient: Bool

    init(partner: any Channel, state: ProxyState, fromClient: Bool) {
        self.partner = partner
        self.state = state
        self.fromClient = fromClient
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if fromClient, state.takeArmed() {
            partner.close(promise: nil)
            context.close(promise: nil)
            return
        }
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    /// The client side reads its first bytes only now, when the upstream side is wired.
    func channelActive(context: ChannelHandlerContext) {
        if fromClient { context.read() }
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if fromClient { context.read() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }
}
