import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Redis

/// `event.cancel` `{user_id, event_id}`: the rules, for both jobs, are those of ``EventRegisterHandler``.
public struct EventCancelHandler: JobHandler {
    let writer: EventRegistrationWriter

    public init(
        graph: BoltClient,
        redis: RedisClient,
        lockLease: Duration = .seconds(30),
        lockTimeout: Duration = .seconds(10),
        fenceRetention: Duration? = NetworkingGraph.eventFenceRetention
    ) {
        writer = EventRegistrationWriter(
            query: EventRegistrationWriter.cancelQuery,
            graph: graph,
            redis: redis,
            lockLease: lockLease,
            lockTimeout: lockTimeout,
            fenceRetention: fenceRetention
        )
    }

    public func handle(_ job: EventCancel, context: JobContext) async throws -> JobOutcome {
        try await writer.apply(
            job,
            envelope: context.envelope
        )
    }
}
