import FleetCore
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// The scheduler role: any number of replicas run it against one PostgreSQL database; the one
/// holding the lease enqueues each schedule's ticks into the transactional outbox (see
/// ``ScheduleLedger`` for the fence), and an outbox relay publishes them.
///
/// **The loop.** Every `leaseTTL / 3` a replica takes or renews the lease. The leader, on each
/// pass, enqueues for each schedule the ticks due since the last one enqueued (by any replica,
/// read from `schedule_ticks` when it becomes leader), in order, then sleeps until the next tick
/// or lease renewal, whichever is first. Leadership changes are logged once each
/// (`scheduler.leadership.acquired` / `.lost`).
///
/// **Missed ticks.** A due tick more than ``Options/catchUp`` old (4 lease TTLs by default) counts
/// as missed (no replica could enqueue it in time): `skip` drops missed ticks, `run_once`
/// enqueues the most recent one once. Ticks within the catch-up window are all enqueued, so a
/// leader change (at most about 1⅓ lease TTLs) loses none. A schedule with no tick enqueued yet
/// starts from the moment the leader (of that moment) first looked at it: ticks before that are
/// never enqueued, whatever the policy.
public final class Scheduler: Service, Sendable {
    public struct Options: Sendable {
        /// How long a lease lasts without renewal; the leader renews every third of it.
        public var leaseTTL: Duration
        /// This replica's name in the lease and in `schedule_ticks.holder`: unique per replica.
        public var replica: String
        /// Due ticks older than this are missed (see ``Scheduler``); nil: 4 × `leaseTTL`.
        public var catchUp: Duration?

        /// `<host name>:<pid>`.
        public static var defaultReplica: String {
            var host = [CChar](repeating: 0, count: 256)
            let bytes = gethostname(&host, host.count - 1) == 0 ? host.prefix { $0 != 0 } : []
            return "\(String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(getpid())"
        }

        public init(
            leaseTTL: Duration = .seconds(15),
            replica: String = Options.defaultReplica,
            catchUp: Duration? = nil
        ) {
            self.leaseTTL = leaseTTL
            self.replica = replica
            self.catchUp = catchUp
        }

        var catchUpWindow: Duration { catchUp ?? leaseTTL * 4 }
    }

    /// What the scheduler did since it started.
    public struct Totals: Sendable, Equatable, CustomStringConvertible {
        public var enqueued = 0
        public var alreadyEnqueued = 0
        public var missedSkipped = 0
        public var leaderships = 0

        public var description: String {
            "enqueued=\(enqueued) already_enqueued=\(alreadyEnqueued) missed_skipped=\(missedSkipped) "
                + "leaderships=\(leaderships)"
        }
    }

    private struct State {
        var stopping = false
        var totals = Totals()
    }

    public let schedules: [Schedule]
    private let ledger: ScheduleLedger
    private let postgres: PostgresClient
    private let options: Options
    private let logger: Logger
    private let state = Mutex(State())

    public init(schedules: [Schedule], postgres: PostgresConfiguration, options: Options = Options(), logger: Logger) {
        self.schedules = schedules
        self.ledger = ScheduleLedger(holder: options.replica, leaseTTL: options.leaseTTL)
        self.postgres = PostgresClient(configuration: postgres, maxConnections: 1)
        self.options = options
        self.logger = logger
    }

    public var totals: Totals { state.withLock { $0.totals } }

    /// Runs until a graceful shutdown (SIGTERM under a ServiceGroup), ``stop()`` or cancellation;
    /// then gives the lease up.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await loop()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    public func stop() { state.withLock { $0.stopping = true } }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    private func loop() async throws {
        logger.info(
            "scheduler.started",
            metadata: [
                "scheduler.replica": "\(options.replica)", "scheduler.schedules": "\(schedules.count)",
                "scheduler.lease_ttl": "\(options.leaseTTL)",
            ]
        )
        let renewEvery = options.leaseTTL / 3
        var token: Int64?
        var cursors: [String: Date] = [:]
        var nextLease = ContinuousClock.now
        while !isStopping {
            if ContinuousClock.now >= nextLease {
                nextLease = ContinuousClock.now + renewEvery
                let renewed: Int64?
                do {
                    renewed = try await postgres.withConnection { [ledger] in try ledger.acquire(on: $0) }
                } catch {
                    logger.warning("scheduler.lease_failed", metadata: ["error": "\(error)"])
                    renewed = nil
                }
                if renewed != token {
                    if let token { lost(token) }
                    if let renewed {
                        logger.notice(
                            "scheduler.leadership.acquired",
                            metadata: ["scheduler.replica": "\(options.replica)", "scheduler.token": "\(renewed)"]
                        )
                        state.withLock { $0.totals.leaderships += 1 }
                        cursors = [:]
                    }
                    token = renewed
                }
            }
            if let held = token {
                if try await !enqueueDue(token: held, cursors: &cursors) {
                    lost(held)
                    token = nil
                }
            }
            await pause(until: min(nextLease, nextFireInstant(after: token == nil ? [:] : cursors)))
        }
        if let token {
            _ = try? await postgres.withConnection { [ledger] in try ledger.release(on: $0, token: token) }
            logger.notice("scheduler.leadership.released", metadata: ["scheduler.token": "\(token)"])
        }
        await postgres.shutdown()
        logger.info("scheduler.stopped", metadata: ["scheduler.totals": "\(totals)"])
    }

    private func lost(_ token: Int64) {
        logger.notice(
            "scheduler.leadership.lost",
            metadata: ["scheduler.replica": "\(options.replica)", "scheduler.token": "\(token)"]
        )
    }

    /// Enqueues every schedule's due ticks; false when the fence refused (leadership lost).
    private func enqueueDue(token: Int64, cursors: inout [String: Date]) async throws -> Bool {
        let now = Date()
        let catchUp = now.addingTimeInterval(-options.catchUpWindow.timeInterval)
        for schedule in schedules {
            do {
                if cursors[schedule.name] == nil {
                    let last = try await postgres.withConnection { [ledger] in
                        try ledger.lastTick(of: schedule.name, on: $0)
                    }
                    cursors[schedule.name] = last ?? now
                }
                guard let cursor = cursors[schedule.name] else { continue }
                let (due, skipped) = schedule.dueTicks(after: cursor, now: now, catchUp: options.catchUpWindow)
                if skipped {
                    state.withLock { $0.totals.missedSkipped += 1 }
                    logger.notice(
                        "scheduler.missed_skipped",
                        metadata: ["scheduler.schedule": "\(schedule.name)", "scheduler.since": "\(cursor)"]
                    )
                }
                for tick in due {
                    let result = try await postgres.withConnection { [ledger] in
                        try ledger.enqueue(schedule, tick: tick, token: token, on: $0)
                    }
                    switch result {
                    case .notLeader:
                        return false
                    case .enqueued(let jobId):
                        state.withLock { $0.totals.enqueued += 1 }
                        logger.info(
                            "scheduler.enqueued",
                            metadata: [
                                "scheduler.schedule": "\(schedule.name)", "scheduler.tick": "\(tick)",
                                "job.id": "\(jobId)", "job.type": "\(schedule.jobType)",
                            ]
                        )
                    case .alreadyEnqueued:
                        state.withLock { $0.totals.alreadyEnqueued += 1 }
                    }
                    cursors[schedule.name] = tick
                }
                if due.isEmpty, cursor < catchUp { cursors[schedule.name] = catchUp }
            } catch {
                // The cursor stays: the next pass tries these ticks again.
                logger.warning(
                    "scheduler.enqueue_failed",
                    metadata: ["scheduler.schedule": "\(schedule.name)", "error": "\(error)"]
                )
            }
        }
        return true
    }

    /// When the next tick of any schedule is due, on the monotonic clock: the first after each
    /// schedule's last enqueued tick (`cursors`, the leader's), else after now. Counting from the
    /// cursor, a tick that falls due while this is computed is not slept past.
    private func nextFireInstant(after cursors: [String: Date]) -> ContinuousClock.Instant {
        let now = Date()
        let next = schedules.compactMap { $0.nextFire(after: cursors[$0.name] ?? now) }.min()
        // Rounded up, so a wake-up never comes a fraction of a millisecond before the tick.
        let wait = next.map { max(0, $0.timeIntervalSince(now)) } ?? 3600
        return ContinuousClock.now + .milliseconds(Int64((wait * 1000).rounded(.up)) + 1)
    }

    /// Sleeps until `deadline`, waking every 250 ms to notice a stop.
    private func pause(until deadline: ContinuousClock.Instant) async {
        while !isStopping, ContinuousClock.now < deadline {
            let slice = min(deadline - ContinuousClock.now, .milliseconds(250))
            try? await Task.sleep(for: slice)
        }
    }
}
