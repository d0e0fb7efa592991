import Bolt
import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Testing

/// The contract's "Order" for the networking jobs, as properties checked against the real graph
/// server: every processing order of the same register/cancel (or start/session) jobs, duplicates
/// and retries included, ends in the same state, the one running them in stamp order gives.
extension NetworkingHandlerTests {
    enum Kind: Sendable { case register, cancel }

    struct Job: Sendable {
        let kind: Kind
        let envelope: JobEnvelope
        let attempt: Int
    }

    struct Registration: Equatable, Sendable, CustomStringConvertible {
        var status: String
        var registrationDate: String?
        var cancelledAt: String?
        var description: String { "\(status) registered \(registrationDate ?? "-") cancelled \(cancelledAt ?? "-")" }
    }

    /// The reference: the distinct jobs run one at a time in stamp order. A register opens an inactive
    /// registration (confirmed, or waitlisted when the event is full), a cancel closes an active one.
    static func expected(_ jobs: [Job], full: Bool) -> Registration? {
        var distinct: [String: Job] = [:]
        for job in jobs { distinct[job.envelope.id] = job }
        var state: Registration?
        var active = false
        for job in distinct.values.sorted(by: { JobStamp($0.envelope) < JobStamp($1.envelope) }) {
            let date = RFC3339.format(JobStamp(job.envelope).createdAt)
            switch job.kind {
            case .register where !active:
                active = true
                state = Registration(
                    status: full ? "waitlisted" : "confirmed",
                    registrationDate: date,
                    cancelledAt: nil
                )
            case .cancel where active:
                active = false
                state?.status = "cancelled"
                state?.cancelledAt = date
            default:
                break
            }
        }
        return state
    }

    static func permutations<T>(_ items: [T]) -> [[T]] { allOrders(items) }

    func registrationState(user: String, event: String) async throws -> Registration? {
        let result = try await graph.run(
            """
            MATCH (:User {user_id: $user})-[r:REGISTERED_FOR]->(:Event {event_id: $event})
            RETURN r.status AS status, r.registration_date AS date, r.cancelled_at AS cancelled, count(*) AS n
            """,
            parameters: ["user": .string(user), "event": .string(event)]
        )
        guard let row = result.rows.first else { return nil }
        #expect(row[3].int == 1, "one relationship per user and event")
        return Registration(status: row[0].string ?? "?", registrationDate: row[1].string, cancelledAt: row[2].string)
    }

    /// Runs every permutation of `jobs` (made for a placeholder user) for a fresh user each, on one
    /// event, a few permutations at a time; returns the job ids to clean up.
    func checkEveryOrder(
        _ name: String,
        jobs makeJobs: @escaping @Sendable (String) -> [Job],
        event: String,
        full: Bool
    ) async throws {
        let template = makeJobs(Self.id())
        let orders = Self.permutations(Array(template.indices))
        var states: [Registration?] = []
        var ids: [(type: String, id: String)] = []
        for batch in stride(from: 0, to: orders.count, by: 6) {
            let results = try await withThrowingTaskGroup(of: (Registration?, Registration?, [Job]).self) { group in
                for order in orders[batch..<min(batch + 6, orders.count)] {
                    group.addTask {
                        let user = Self.id()
                        let jobs = makeJobs(user)
                        for index in order {
                            let job = jobs[index]
                            let outcome: JobOutcome
                            switch job.kind {
                            case .register:
                                outcome = try await run(
                                    EventRegisterHandler(graph: graph, redis: redis),
                                    job.envelope,
                                    attempt: job.attempt
                                )
                            case .cancel:
                                outcome = try await run(
                                    EventCancelHandler(graph: graph, redis: redis),
                                    job.envelope,
                                    attempt: job.attempt
                                )
                            }
                            #expect(outcome == .applied || outcome == .alreadyApplied)
                        }
                        return (
                            try await registrationState(user: user, event: event), Self.expected(jobs, full: full),
                            jobs
                        )
                    }
                }
                return try await group.reduce(into: [(Registration?, Registration?, [Job])]()) { $0.append($1) }
            }
            for (state, expected, jobs) in results {
                #expect(state == expected, "\(name): \(jobs.map { "\($0.kind)@\(JobStamp($0.envelope))" })")
                states.append(state)
                ids += jobs.map { ($0.envelope.type, $0.envelope.id) }
            }
        }
        #expect(Set(states.map { $0?.description ?? "none" }).count == 1, "\(name): one final state in every order")
        for type in ["event.register", "event.cancel"] {
            try await deleteAppliedJobs(type, Array(Set(ids.filter { $0.type == type }.map(\.id))))
        }
    }

    static func registrationJob(
        _ kind: Kind,
        user: String,
        event: String,
        at createdAt: Date,
        id: String = id(),
        attempt: Int = 1
    ) -> Job {
        Job(
            kind: kind,
            envelope: JobEnvelope(
                id: id,
                type: kind == .register ? "event.register" : "event.cancel",
                createdAt: createdAt,
                payload: ["user_id": .string(user), "event_id": .string(event)]
            ),
            attempt: attempt
        )
    }

    @Test func registerAndCancelEndTheSameInEveryOrder() async throws {
        try await scoped {
            let event = try await createEvent(max: 1000)
            let full = try await createEvent(max: 1)
            let filler = Self.id()
            #expect(try await register(filler, full) == .applied)
            let base = Date().addingTimeInterval(-3600)
            @Sendable func at(_ seconds: Double) -> Date { base.addingTimeInterval(seconds) }

            // Ends active: register, cancel, register, cancel, register.
            try await checkEveryOrder(
                "alternating",
                jobs: { user in
                    [
                        Self.registrationJob(.register, user: user, event: event, at: at(1)),
                        Self.registrationJob(.cancel, user: user, event: event, at: at(2)),
                        Self.registrationJob(.register, user: user, event: event, at: at(3)),
                        Self.registrationJob(.cancel, user: user, event: event, at: at(4)),
                        Self.registrationJob(.register, user: user, event: event, at: at(5)),
                    ]
                },
                event: event,
                full: false
            )
            // Ends cancelled: a cancel before any register, a register, a cancel, a duplicate and a
            // retry (the same job again, as a redelivery and as a later attempt).
            try await checkEveryOrder(
                "cancelled with duplicates",
                jobs: { user in
                    let first = Self.registrationJob(.register, user: user, event: event, at: at(1))
                    let cancel = Self.registrationJob(.cancel, user: user, event: event, at: at(3))
                    return [
                        Self.registrationJob(.cancel, user: user, event: event, at: at(0)), first, cancel,
                        Job(kind: .register, envelope: first.envelope, attempt: 1),
                        Job(kind: .cancel, envelope: cancel.envelope, attempt: 2),
                    ]
                },
                event: event,
                full: false
            )
            // A full event: active means waitlisted. A cancel and a register in the same millisecond:
            // their ids decide.
            try await checkEveryOrder(
                "full event, tie",
                jobs: { user in
                    let tie = [Self.id(), Self.id()].sorted()
                    return [
                        Self.registrationJob(.register, user: user, event: full, at: at(1)),
                        Self.registrationJob(.cancel, user: user, event: full, at: at(2), id: tie[0]),
                        Self.registrationJob(.register, user: user, event: full, at: at(2), id: tie[1]),
                        Self.registrationJob(.cancel, user: user, event: full, at: at(1.5)),
                    ]
                },
                event: full,
                full: true
            )
            #expect(try await registrations(full)[filler] == "confirmed", "nobody bumped the first come")
            try await graph.run(
                "MATCH (t:FleetRegistrationCancels) WHERE t.event_id IN [$a, $b] DELETE t",
                parameters: ["a": .string(event), "b": .string(full)]
            )
            try await deleteEvent(event)
            try await deleteEvent(full)
        }
    }

    /// A cancel processed before its register: the register, when it comes, lands cancelled; a
    /// cancel of a registration made later changes nothing.
    @Test func aCancelBeforeItsRegisterIsKept() async throws {
        try await scoped {
            let event = try await createEvent(max: 5)
            let user = Self.id()
            let now = Date()
            let cancel = Self.registrationJob(.cancel, user: user, event: event, at: now)
            let register = Self.registrationJob(.register, user: user, event: event, at: now.addingTimeInterval(-1))
            #expect(try await run(EventCancelHandler(graph: graph, redis: redis), cancel.envelope) == .applied)
            #expect(try await registrations(event).isEmpty, "no registration yet: the cancel waits in a fleet node")
            #expect(try await run(EventRegisterHandler(graph: graph, redis: redis), register.envelope) == .applied)
            #expect(try await registrations(event) == [user: "cancelled"])
            let tombstones = try await graph.run(
                "MATCH (t:FleetRegistrationCancels {key: $key}) RETURN count(t) AS n",
                parameters: ["key": .string("\(event) \(user)")]
            )
            #expect(tombstones.first("n") == 0, "the register took the cancel over")
            // A register after the cancel opens it again.
            let again = Self.registrationJob(.register, user: user, event: event, at: now.addingTimeInterval(1))
            #expect(try await run(EventRegisterHandler(graph: graph, redis: redis), again.envelope) == .applied)
            #expect(try await registrations(event) == [user: "confirmed"])
            #expect(
                try await registrationState(user: user, event: event)?.registrationDate
                    == RFC3339.format(JobStamp(again.envelope).createdAt)
            )
            try await deleteEvent(event)
            try await deleteAppliedJobs("event.register", [register.envelope.id, again.envelope.id])
            try await deleteAppliedJobs("event.cancel", [cancel.envelope.id])
        }
    }

    /// Waitlist promotion goes by processing order, not by the registration dates (two workers'
    /// clocks may disagree; a late-processed earlier registration waits behind the others).
    @Test func promotionFollowsProcessingOrder() async throws {
        try await scoped {
            let event = try await createEvent(max: 1)
            let now = Date()
            let first = Self.id()
            let second = Self.id()
            let third = Self.id()
            let firstId = Self.id()
            #expect(try await register(first, event, id: firstId) == .applied)
            let late = Self.registrationJob(.register, user: second, event: event, at: now)
            let early = Self.registrationJob(.register, user: third, event: event, at: now.addingTimeInterval(-60))
            let ids = [firstId, late.envelope.id, early.envelope.id]
            #expect(try await run(EventRegisterHandler(graph: graph, redis: redis), late.envelope) == .applied)
            #expect(try await run(EventRegisterHandler(graph: graph, redis: redis), early.envelope) == .applied)
            let cancelId = Self.id()
            #expect(try await cancel(first, event, id: cancelId) == .applied)
            #expect(
                try await registrations(event) == [first: "cancelled", second: "confirmed", third: "waitlisted"],
                "the first waitlisted in processing order is promoted"
            )
            try await deleteEvent(event)
            try await deleteAppliedJobs("event.register", ids)
            try await deleteAppliedJobs("event.cancel", [cancelId])
        }
    }

    @Test func mentorshipEndsTheSameInEveryOrder() async throws {
        try await scoped {
            let base = Date().addingTimeInterval(-3600)
            func make(_ user: String, _ mentor: String) -> [(type: String, envelope: JobEnvelope)] {
                let payload: [String: JSONValue] = ["user_id": .string(user), "mentor_user_id": .string(mentor)]
                let session = envelope("mentorship.session_logged", payload, createdAt: base.addingTimeInterval(5))
                return [
                    ("mentorship.session_logged", session),
                    ("mentorship.start", envelope("mentorship.start", payload, createdAt: base.addingTimeInterval(2))),
                    (
                        "mentorship.session_logged",
                        envelope("mentorship.session_logged", payload, createdAt: base.addingTimeInterval(1))
                    ),
                    ("mentorship.start", envelope("mentorship.start", payload, createdAt: base.addingTimeInterval(3))),
                    ("mentorship.session_logged", session),
                ]
            }
            var states: Set<String> = []
            for order in Self.permutations(Array(0..<5)) {
                let user = Self.id()
                let mentor = Self.id()
                let jobs = make(user, mentor)
                for index in order {
                    let job = jobs[index]
                    let outcome =
                        job.type == "mentorship.start"
                        ? try await run(MentorshipStartHandler(graph: graph), job.envelope)
                        : try await run(MentorshipSessionLoggedHandler(graph: graph), job.envelope)
                    #expect(outcome == .applied || outcome == .alreadyApplied)
                }
                let pair: [String: BoltValue] = ["user": .string(user), "mentor": .string(mentor)]
                let result = try await graph.run(
                    """
                    MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor})
                    RETURN r.session_count AS sessions, r.status AS status, r.start_date AS started,
                        r.last_session_at AS last, count(*) AS n
                    """,
                    parameters: pair
                )
                let row = try #require(result.rows.first)
                let state = "\(row[0]) \(row[1]) \(row[2]) \(row[3]) \(row[4])"
                #expect(
                    row[0] == 2 && row[1] == "active"
                        && row[2].string == RFC3339.format(base.addingTimeInterval(2))
                        && row[3].string == RFC3339.format(base.addingTimeInterval(5)) && row[4] == 1,
                    "order \(order): \(state)"
                )
                states.insert(state)
                try await graph.run("MATCH (u:User {user_id: $user}) DETACH DELETE u", parameters: pair)
                try await graph.run("MATCH (m:Mentor {user_id: $mentor}) DETACH DELETE m", parameters: pair)
                try await deleteAppliedJobs(
                    "mentorship.start",
                    jobs.filter { $0.type == "mentorship.start" }.map(\.envelope.id)
                )
                try await deleteAppliedJobs(
                    "mentorship.session_logged",
                    jobs.filter { $0.type == "mentorship.session_logged" }.map(\.envelope.id)
                )
            }
            #expect(states.count == 1)
        }
    }

    /// Starts and sessions of a new mentorship racing: one relationship, every session counted once,
    /// the earliest start's date.
    @Test func racingStartsAndSessionsOfANewMentorship() async throws {
        try await scoped {
            let user = Self.id()
            let mentor = Self.id()
            let payload: [String: JSONValue] = ["user_id": .string(user), "mentor_user_id": .string(mentor)]
            let base = Date().addingTimeInterval(-600)
            let starts = (0..<3).map {
                envelope("mentorship.start", payload, createdAt: base.addingTimeInterval(Double(3 - $0)))
            }
            let sessions = (0..<20).map { _ in envelope("mentorship.session_logged", payload) }
            try await withThrowingTaskGroup(of: JobOutcome.self) { group in
                for start in starts { group.addTask { try await run(MentorshipStartHandler(graph: graph), start) } }
                for session in sessions + sessions.prefix(5) {
                    group.addTask { try await run(MentorshipSessionLoggedHandler(graph: graph), session) }
                }
                for try await outcome in group { #expect(outcome == .applied || outcome == .alreadyApplied) }
            }
            let pair: [String: BoltValue] = ["user": .string(user), "mentor": .string(mentor)]
            let result = try await graph.run(
                """
                MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor})
                RETURN r.session_count AS sessions, r.status AS status, r.start_date AS started, count(*) AS n
                """,
                parameters: pair
            )
            #expect(result.first("n") == 1 && result.first("sessions") == 20 && result.first("status") == "active")
            #expect(result.first("started")?.string == RFC3339.format(base.addingTimeInterval(1)))
            try await graph.run("MATCH (u:User {user_id: $user}) DETACH DELETE u", parameters: pair)
            try await graph.run("MATCH (m:Mentor {user_id: $mentor}) DETACH DELETE m", parameters: pair)
            try await deleteAppliedJobs("mentorship.start", starts.map(\.id))
            try await deleteAppliedJobs("mentorship.session_logged", sessions.map(\.id))
        }
    }
}
