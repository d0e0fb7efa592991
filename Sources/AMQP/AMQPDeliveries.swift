import NIOConcurrencyHelpers
import NIOCore

/// The deliveries of one subscribed queue, in the order the broker sent them: the connection thread
/// adds them, consumer tasks take them (a queue consumer runs one per concurrency slot; waiting
/// tasks are served first come, first served).
///
/// It keeps what the consumer relied on from the unbounded `AsyncStream<AMQPDelivery>` it replaced:
/// buffered deliveries are still handed out after ``finish()``; a consumer whose task is cancelled
/// gets nil (whether it waits or calls `next()` after the cancellation), and so do every later call
/// and every other waiting consumer, while the buffered deliveries and any added later are dropped
/// (they stay unacked, and the broker redelivers them once the connection closes). It is a concrete
/// type because the standard library's `AsyncStream` is generic code that the compiler cannot
/// specialise across the module boundary, and looked its element's metadata and witness
/// tables up on every yield and every `next()`, about 10% of a no-op job's CPU in `perf`. Its
/// buffer needs no bound: the queue's prefetch bounds what the broker sends.
public final class AMQPDeliveries: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    public typealias Failure = Never

    private struct State {
        var buffered = CircularBuffer<AMQPDelivery>(initialCapacity: 16)
        var waiters = CircularBuffer<UnsafeContinuation<AMQPDelivery?, Never>>()
        /// No more deliveries will be added; what is buffered is still handed out.
        var finished = false
        /// A consumer was cancelled: nothing more is handed out.
        var cancelled = false
        /// Told each time a consumer finds the buffer empty and waits (``onWait(_:)``), and again
        /// when a delivery goes to one waiting consumer while others still wait.
        var onWait: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Sets what is told each time a consumer finds the buffer empty and starts waiting: the
    /// client sends the acks it holds then (``AckWakePolicy/starved()``).
    func onWait(_ handler: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.onWait = handler }
    }

    /// Adds a delivery, or drops it once finished (the broker redelivers what is never acked).
    ///
    /// The client withdraws its request to send the held acks when a delivery arrives
    /// (``AckWakePolicy/delivered()``): when it goes to one waiting consumer while others still wait,
    /// they are told of again, so their idle slots do not wait out the ack delay.
    func yield(_ delivery: AMQPDelivery) {
        typealias Waiter = UnsafeContinuation<AMQPDelivery?, Never>
        let (waiter, othersWait) = state.withLockedValue { state -> (Waiter?, (@Sendable () -> Void)?) in
            guard !state.finished, !state.cancelled else { return (nil, nil) }
            if let waiter = state.waiters.popFirst() {
                return (waiter, state.waiters.isEmpty ? nil : state.onWait)
            }
            state.buffered.append(delivery)
            return (nil, nil)
        }
        waiter?.resume(returning: delivery)
        othersWait?()
    }

    /// No more deliveries: consumers get what is buffered, then nil.
    func finish() {
        let waiters = state.withLockedValue { state in
            state.finished = true
            return Self.takeWaiters(&state)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// The next delivery, waiting for one; nil once finished and empty, or cancelled.
    func next() async -> AMQPDelivery? {
        if Task.isCancelled {
            cancel()
            return nil
        }
        // The common case under load, without a continuation.
        switch state.withLockedValue({ Self.take(&$0) }) {
        case .delivery(let delivery): return delivery
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<AMQPDelivery?, Never>) in
                let (taken, onWait) = state.withLockedValue { state -> (Taken, (@Sendable () -> Void)?) in
                    let taken = Self.take(&state)
                    if case .wait = taken {
                        state.waiters.append(continuation)
                        return (taken, state.onWait)
                    }
                    return (taken, nil)
                }
                switch taken {
                case .delivery(let delivery): continuation.resume(returning: delivery)
                case .end: continuation.resume(returning: nil)
                case .wait: onWait?()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// A consumer was cancelled: it and every other gets nil now and from every later call.
    private func cancel() {
        let waiters = state.withLockedValue { state in
            state.cancelled = true
            state.buffered.removeAll()
            return Self.takeWaiters(&state)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// Under the lock: the waiting consumers, which the caller resumes after unlocking.
    private static func takeWaiters(_ state: inout State) -> [UnsafeContinuation<AMQPDelivery?, Never>] {
        defer { state.waiters.removeAll() }
        return Array(state.waiters)
    }

    private enum Taken {
        case delivery(AMQPDelivery)
        case end
        case wait
    }

    private static func take(_ state: inout State) -> Taken {
        if state.cancelled { return .end }
        if let delivery = state.buffered.popFirst() { return .delivery(delivery) }
        return state.finished ? .end : .wait
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let deliveries: AMQPDeliveries

        public mutating func next() async -> AMQPDelivery? {
            await deliveries.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(deliveries: self)
    }
}
