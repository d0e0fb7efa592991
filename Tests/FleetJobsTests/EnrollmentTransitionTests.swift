import FleetContract
import FleetCore
import FleetJobs
import Testing

@Suite("Enrollment rules")
struct EnrollmentTransitionTests {
    typealias State = EnrollmentState

    @Test func enrollCreatesOrReactivates() {
        #expect(EnrollmentTransition.apply(.enroll, progress: nil, to: nil) == State(status: "enrolled", progress: 0))
        let active = State(status: "in_progress", progress: 40)
        #expect(EnrollmentTransition.apply(.enroll, progress: nil, to: active) == active)
        #expect(
            EnrollmentTransition.apply(.enroll, progress: nil, to: State(status: "dropped", progress: 40))
                == State(status: "enrolled", progress: 40)
        )
    }

    @Test func progressNeverDecreases() {
        let state = State(status: "in_progress", progress: 60)
        #expect(EnrollmentTransition.apply(.progress, progress: 30, to: state) == state)
        #expect(
            EnrollmentTransition.apply(.progress, progress: 80, to: state) == State(status: "in_progress", progress: 80)
        )
        #expect(
            EnrollmentTransition.apply(.progress, progress: 50, to: State(status: "completed", progress: 100))
                == State(status: "completed", progress: 100)
        )
    }

    @Test func completeAndDrop() {
        #expect(
            EnrollmentTransition.apply(.complete, progress: nil, to: State(status: "in_progress", progress: 20))
                == State(status: "completed", progress: 100)
        )
        #expect(EnrollmentTransition.apply(.drop, progress: nil, to: nil) == nil)
        #expect(
            EnrollmentTransition.apply(.drop, progress: nil, to: State(status: "in_progress", progress: 20))
                == State(status: "dropped", progress: 20)
        )
    }

    @Test func theCounterFollowsActiveRows() {
        let dropped = State(status: "dropped", progress: 0)
        let enrolled = State(status: "enrolled", progress: 0)
        #expect(EnrollmentTransition.counterDelta(before: nil, after: enrolled) == 1)
        #expect(EnrollmentTransition.counterDelta(before: enrolled, after: enrolled) == 0)
        #expect(EnrollmentTransition.counterDelta(before: enrolled, after: dropped) == -1)
        #expect(EnrollmentTransition.counterDelta(before: dropped, after: dropped) == 0)
        #expect(EnrollmentTransition.counterDelta(before: dropped, after: enrolled) == 1)
    }

    @Test func payloadRulesAreEnforcedBeforeAnyStore() throws {
        let parse = { (payload: [String: JSONValue]) throws(EnvelopeRejection) in
            try EnrollmentUpdate(payload: FieldReader(payload: payload), version: 1)
        }
        let user = JSONValue.string("3f1c2a9e-8b7d-4c6e-9f01-23456789abcd")
        let good = try parse([
            "user_id": user, "course_id": user, "action": .string("progress"),
            "progress_percentage": .integer(55),
        ])
        #expect(good.progressPercentage == 55)
        #expect(throws: EnvelopeRejection.self) {
            try parse(["user_id": user, "course_id": user, "action": .string("progress")])
        }
        #expect(throws: EnvelopeRejection.self) {
            try parse([
                "user_id": user, "course_id": user, "action": .string("enroll"), "progress_percentage": .integer(101),
            ])
        }
        #expect(throws: EnvelopeRejection.self) {
            try parse(["user_id": user, "course_id": user, "action": .string("pause")])
        }
        #expect(throws: EnvelopeRejection.self) {
            try parse(["user_id": .string("$where"), "course_id": user, "action": .string("enroll")])
        }
    }
}
