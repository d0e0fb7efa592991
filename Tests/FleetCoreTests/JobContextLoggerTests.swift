import FleetContract
import Foundation
import Logging
import Testing

@testable import FleetCore

/// The per-job logger's metadata: the job's id, type and attempt, and its W3C trace id.
@Suite struct JobContextLoggerTests {
    @Test func traceIDComesFromAW3CTraceparentOnly() {
        #expect(
            JobContext.traceID(of: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                == "4bf92f3577b34da6a3ce929d0e0e4736"
        )
        #expect(JobContext.traceID(of: "00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(JobContext.traceID(of: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") == nil)
        #expect(JobContext.traceID(of: "jane@example.org") == nil)
        #expect(JobContext.traceID(of: "00-jane.doe@example.org-00f067aa0ba902b7-01") == nil)
    }

    @Test(arguments: [
        // A valid trace id with a hostile parent id or flags: each part is checked, not only the id.
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa\n0ba902b-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\u{1b}",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx-fleet-reason: forged",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later-version",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "",
    ])
    func aMalformedTraceparentIsNeitherLoggedNorPassedOn(_ traceparent: String) {
        #expect(JobContext.wellFormedTraceparent(traceparent) == nil)
        #expect(JobContext.traceID(of: traceparent) == nil)
        // No tracer is bootstrapped: no span is started, and the carried value is all there is.
        let span = JobTracing.start([:], queue: "q")
        #expect(span == nil)
        #expect(JobTracing.traceparent(of: span, carried: traceparent) == nil)
    }

    @Test func aWellFormedTraceparentIsPassedOnUnchanged() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let span = JobTracing.start([:], queue: "q")
        #expect(JobTracing.traceparent(of: span, carried: traceparent) == traceparent)
        #expect(JobTracing.traceparent(of: span, carried: nil) == nil)
    }

    @Test func loggerCarriesTheJobAndOnlyAWellFormedTraceparent() {
        let envelope = JobEnvelope(
            id: "0b6f3c1e-2f4a-4c51-9d7e-1a2b3c4d5e6f",
            type: "t",
            createdAt: Date(),
            payload: [:]
        )
        let traced = JobContext(
            envelope: envelope,
            attempt: 2,
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            logger: Logger(label: "test")
        ).logger
        #expect(traced[metadataKey: "job.id"] == "0b6f3c1e-2f4a-4c51-9d7e-1a2b3c4d5e6f")
        #expect(traced[metadataKey: "job.type"] == "t")
        #expect(traced[metadataKey: "job.attempt"] == "2")
        #expect(traced[metadataKey: "trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        let untraced = JobContext(
            envelope: envelope,
            attempt: 1,
            traceparent: "mail jane@example.org",
            logger: Logger(label: "test")
        )
        .logger
        #expect(untraced[metadataKey: "traceparent"] == nil && untraced[metadataKey: "trace_id"] == nil)
    }
}
