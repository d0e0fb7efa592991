import FleetOps
import Foundation
import ServiceLifecycle
import Synchronization

/// The depth and publish-rate samples of every work queue, taken by ``QueueSampler``: the management
/// API keeps rates only for its last interval, so the sparklines need a history of their own.
public final class QueueHistory: Sendable {
    public struct Series: Sendable, Equatable {
        public var depth: SampleRing
        public var publishRate: SampleRing
    }

    private let series = Mutex<[String: Series]>([:])
    public let capacity: Int

    public init(capacity: Int = 60) { self.capacity = capacity }

    /// Depth is ready + unacknowledged + retrying: everything the queue still has to work off.
    public func record(_ overviews: [QueueOverview]) {
        series.withLock { table in
            for queue in overviews {
                var entry =
                    table[queue.name]
                    ?? Series(depth: SampleRing(capacity: capacity), publishRate: SampleRing(capacity: capacity))
                entry.depth.append(Double(queue.ready + queue.unacked + queue.retrying))
                entry.publishRate.append(queue.publishRate)
                table[queue.name] = entry
            }
        }
    }

    public func series(of queue: String) -> Series? { series.withLock { $0[queue] } }
}

/// Samples the queue overview every `interval` into a ``QueueHistory`` until shutdown; a failed sample
/// is skipped (the queues page shows the error itself).
struct QueueSampler: Service {
    let history: QueueHistory
    let interval: Duration
    let overview: @Sendable () async throws -> [QueueOverview]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let overviews = try? await overview() { history.record(overviews) }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
