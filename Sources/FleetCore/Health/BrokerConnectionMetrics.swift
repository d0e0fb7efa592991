import AMQP
import Metrics
import NIOConcurrencyHelpers

/// One broker connection's metrics, from its client's status changes:
/// `fleet_broker_reconnects_total{connection}` (every connect after the first) and
/// `fleet_broker_blocked{connection}` (1 while a broker alarm blocks it). `connection` names the
/// connection's role (`fleet.learning consumer`), never its address or credentials.
public final class BrokerConnectionMetrics: Sendable {
    private let reconnects: Counter
    private let blocked: Gauge
    private let connectedOnce = NIOLockedValueBox(false)

    public init(connection: String) {
        reconnects = Counter(label: "fleet_broker_reconnects_total", dimensions: [("connection", connection)])
        blocked = Gauge(label: "fleet_broker_blocked", dimensions: [("connection", connection)])
        blocked.record(0)
    }

    public func apply(_ change: AMQPClient.StatusChange) {
        switch change {
        case .connected:
            let reconnected = connectedOnce.withLockedValue { connectedOnce in
                defer { connectedOnce = true }
                return connectedOnce
            }
            if reconnected { reconnects.increment() }
        case .blocked: blocked.record(1)
        case .unblocked, .disconnected: blocked.record(0)
        case .queueMissing, .queueConsumed: break
        }
    }
}
