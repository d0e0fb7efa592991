import Metrics
import Tracing

/// A store client's metrics, recorded once per call at the client's pool (not per handler):
/// `fleet_store_call_duration_seconds{store}` (from asking the pool for a connection to the body's
/// end), `fleet_store_errors_total{store,class}` (class `transient` or `permanent`, by the client's
/// own error type) and `fleet_store_pool_connections{store}` / `fleet_store_pool_waiters{store}`, the
/// sums over the process's pools of the store (``PoolSizes``).
/// Every metric object is made once, here; a call costs a clock read and a histogram update.
/// A class: as a struct of ten references it was copied, each reference retained and released,
/// at every call of a pool's body. One object per pool: its identity names the pool in
/// ``PoolSizes``.
///
/// Each call is also a span (`fleet.store <store>`, kind client), child of the current one (a job's):
/// a no-op unless the process bootstrapped a tracer. Its attributes name the store, never a query.
public final class StoreCallMetrics: Sendable {
    public let store: String
    /// `fleet.store <store>`, built once: it was a string built per call, traced or not.
    private let spanName: String
    /// The client's error rule: true transient, false permanent, nil not the store's error (a
    /// handler's own error thrown inside its body, a cancellation), which is not counted.
    private let isTransient: @Sendable (any Error) -> Bool?
    private let duration: Timer
    private let transientErrors: Counter
    private let permanentErrors: Counter
    /// nil for a client whose pool is not its own to count (ClickHouse's HTTP client).
    let connections: Gauge?
    let waiters: Gauge?
    private let poolSizes: PoolSizes

    /// - Parameter pooled: the client counts its pool's connections and waiters (``recordPool(open:waiting:)``).
    /// - Parameter factory: where the metrics go; the process's bootstrapped system unless a test says.
    /// - Parameter poolSizes: where the pool's size is summed with the other pools of `store`.
    public init(
        store: String,
        pooled: Bool = true,
        factory: any MetricsFactory = MetricsSystem.factory,
        poolSizes: PoolSizes = .shared,
        isTransient: @escaping @Sendable (any Error) -> Bool?
    ) {
        self.store = store
        self.poolSizes = poolSizes
        self.spanName = "fleet.store \(store)"
        self.isTransient = isTransient
        let labels = [("store", store)]
        duration = Timer(label: "fleet_store_call_duration_seconds", dimensions: labels, factory: factory)
        transientErrors = Counter(
            label: "fleet_store_errors_total",
            dimensions: labels + [("class", "transient")],
            factory: factory
        )
        permanentErrors = Counter(
            label: "fleet_store_errors_total",
            dimensions: labels + [("class", "permanent")],
            factory: factory
        )
        connections = pooled ? Gauge(label: "fleet_store_pool_connections", dimensions: labels, factory: factory) : nil
        waiters = pooled ? Gauge(label: "fleet_store_pool_waiters", dimensions: labels, factory: factory) : nil
    }

    /// A call in progress: its start and its span.
    public struct Call {
        let start: ContinuousClock.Instant
        /// nil when no tracer is on (``TracingSwitch``).
        let span: (any Span)?
    }

    /// Starts a call; end it with ``end(_:error:)``, with the error the call threw, if any.
    public func begin() -> Call {
        guard TracingSwitch.isOn else { return Call(start: .now, span: nil) }
        let span = startSpan(spanName, ofKind: .client)
        if span.isRecording { span.attributes["db.system"] = store }
        return Call(start: .now, span: span)
    }

    /// Ends `call`, failed with `error` if given.
    public func end(_ call: Call, error: (any Error)?) {
        duration.recordNanoseconds((ContinuousClock.now - call.start).wholeNanoseconds)
        if let error {
            let transient = count(error)
            if let span = call.span, span.isRecording, let transient {
                span.attributes["fleet.store.error_class"] = transient ? "transient" : "permanent"
                span.setStatus(SpanStatus(code: .error))
            }
        }
        call.span?.end()
    }

    /// Counts `error` when it is the store's; returns whether it is transient (nil: not the store's).
    @discardableResult
    public func count(_ error: any Error) -> Bool? {
        let transient = isTransient(error)
        switch transient {
        case true?: transientErrors.increment()
        case false?: permanentErrors.increment()
        case nil: break
        }
        return transient
    }

    /// The pool's size now: open connections, and callers waiting for one. The gauges get the sums
    /// over the store's pools.
    public func recordPool(open: Int, waiting: Int) {
        guard let connections, let waiters else { return }
        poolSizes.report(
            pool: ObjectIdentifier(self),
            store: store,
            open: open,
            waiting: waiting,
            connections: connections,
            waiters: waiters
        )
    }
}
