import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Redis

/// `event.register` and `event.cancel` `{user_id, event_id}` (``EventRegisterHandler``,
/// ``EventCancelHandler``) → Neo4j
/// `(:User)-[:REGISTERED_FOR {registration_date, status}]->(:Event)`, at most one relationship per
/// user and event.
///
/// **Order.** Whether a user's registration is active, its `registration_date` and `cancelled_at`
/// depend only on which register and cancel jobs arrived and their ``JobStamp``s (`created_at`,
/// ties by `id`), as if they had run in stamp order: never on the order they ran in. The
/// relationship keeps the stamps of the jobs applied to it (`fleet_register_stamps`,
/// `fleet_cancel_stamps`); a cancel that finds no relationship leaves its stamp in a
/// `(:FleetRegistrationCancels {key: "<event_id> <user_id>"})` node, which the first register takes
/// over. From the stamps: active when the latest register is later than the latest cancel;
/// `registration_date` = the `created_at` of the register that opened the latest run of registers
/// (with no cancel between them), `cancelled_at` = that of the first cancel after the latest
/// register (absent while active). A stamp already recorded changes nothing, so a replay after the
/// dedup window has passed is harmless too.
///
/// **Seats** go first come, first served in processing order: a registration that becomes active is
/// `confirmed` while confirmed < `max_participants` (no limit when absent), else `waitlisted`, and
/// keeps that status while it stays active (a late-processed earlier register never bumps anyone).
/// `fleet_order` records the event's fence when it became active; a cancel that ends a registration
/// promotes the waitlisted registration with the lowest `fleet_order` (processing order, not the
/// workers' clocks) while fewer than `max_participants` are confirmed.
///
/// **Capacity** holds under any race twice over: jobs of one event take a Redis lock
/// (`lock:event:<event_id>`), and the graph write itself counts the confirmed registrations and
/// decides in the same query, refusing a stale lock holder by its fencing token
/// (`e.fleet_fence`; on Neo4j that SET also write-locks the event before the count). When Redis lost
/// the fence counter (restart, FLUSHALL, expiry), a refused fence is told apart from a lost lease
/// and repaired at once: see ``EventRegistrationWriter``. Unknown event: permanent `unknown_event`.
///
/// **Hot events.** The jobs of one event wait for its lock in line rather than polling it (see
/// ``RedisLock``): in memory within a worker process, each taking the lease over from the previous
/// holder with a new fence, and across processes woken by the release; so 1,000 registrations for
/// one event run one after another at the speed of the graph write.
public struct EventRegistrationHandler<Job: EventRegistrationJob & EventRegistrationQuery>: JobHandler {
    let writer: EventRegistrationWriter

    public init(
        graph: BoltClient,
        redis: RedisClient,
        lockLease: Duration = .seconds(30),
        lockTimeout: Duration = .seconds(10),
        fenceRetention: Duration? = NetworkingGraph.eventFenceRetention
    ) {
        writer = EventRegistrationWriter(
            query: Job.graphQuery,
            graph: graph,
            redis: redis,
            lockLease: lockLease,
            lockTimeout: lockTimeout,
            fenceRetention: fenceRetention
        )
    }

    public func handle(_ job: Job, context: JobContext) async throws -> JobOutcome {
        try await writer.apply(job, envelope: context.envelope)
    }
}

/// `event.register`: see ``EventRegistrationHandler``.
public typealias EventRegisterHandler = EventRegistrationHandler<EventRegister>
/// `event.cancel`: see ``EventRegistrationHandler``.
public typealias EventCancelHandler = EventRegistrationHandler<EventCancel>

/// The graph write of a registration job, run by ``EventRegistrationWriter`` under the event's lock.
public protocol EventRegistrationQuery {
    /// The Cypher text, with the writer's parameters.
    static var graphQuery: String { get }
}

extension EventRegister: EventRegistrationQuery {
    /// Registers under the event's lock (``EventRegistrationWriter/registerQuery``).
    public static var graphQuery: String { EventRegistrationWriter.registerQuery }
}

extension EventCancel: EventRegistrationQuery {
    /// Cancels under the event's lock (``EventRegistrationWriter/cancelQuery``).
    public static var graphQuery: String { EventRegistrationWriter.cancelQuery }
}
