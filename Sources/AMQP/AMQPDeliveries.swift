import NIOConcurrencyHelpers
import NIOCore

/// The deliveries of one subscribed queue, in the order the broker sent them: the connection thread
/// adds them, one consumer task takes them.
///
/// It keeps what the consumer relied on from the unbounded `AsyncStream<AMQPDelivery>` it replaces:
/// buffered deliveries are still handed out after ``finish()``; a consumer whose task is cancelled
/// gets nil (whether it waits or calls `next()` after the cancellation), and so does every later
/// call, while the buffered deliveries and any added later are dropped (they stay unacked, and the
/// broker redelivers them once the connection closes). It is a concrete type because the standard
/// library's `AsyncStream` is generic code that the compiler
/// cannot specialise across the module boundary, and looked its element's metadata and witness
/// tables up on every yield and every `next()`, about 10% of a no-op job's CPU in `perf`. Its
/// buffer needs no bound: the queue's prefetch bounds what the broker sends.
public final class AMQPDeliveries: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    public typealias Failure = Never

    private struct State {
        var buffered = CircularBuffer<AMQPDelivery>(initialCapacity: 16)
        var waiter: UnsafeContinuation<AMQPDelivery?, Never>?
        /// No more deliveries will be added; what is buffered is still handed out.
        var finished = false
        /// The consumer was cancelled: nothing more is handed out.
        var cancelled = false
        /// Told each time the consumer finds the buffer empty and waits (``onWait(_:)``).
        var onWait: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Sets what is told each time the consumer finds the buffer empty and starts waiting: the
    /// client sends the acks it holds then (``AckWakePolicy/starved()``).
    func onWait(_ handler: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.onWait = handler }
    }

    /// Adds a delivery, or drops it once finished (the broker redelivers what is never acked).
    func yield(_ delivery: AMQPDelivery) {
        let waiter = state.withLockedValue { state -> UnsafeContinuation<AMQPDelivery?, Never>? in
            guard !state.finished, !state.cancelled else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.buffered.append(delivery)
            return nil
        }
        waiter?.resume(returning: delivery)
    }

    /// No more deliveries: the consumer gets what is buffered, then nil.
    func finish() {
        let waiter = state.withLockedValue { state -> UnsafeContinuation<AMQPDelivery?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
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
                        precondition(state.waiter == nil, "AMQPDeliveries has one consumer at a time")
                        state.waiter = continuation
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

    /// The consumer was cancelled: it gets nil now and from every later call.
    private func cancel() {
        let waiter = state.withLockedValue { state -> UnsafeContinuation<AMQPDelivery?, Never>? in
            state.cancelled = true
            state.buffered.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
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
