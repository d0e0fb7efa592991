import AMQP
import FleetContract
import FleetCore
import Foundation
import Testing

/// The slow part of the hostile corpus: the 64 MiB body with the rest of the corpus, then 100,000
/// messages of 100,000 distinct `type` values. They push hundreds of megabytes and 100,000 messages
/// through the shared broker, so they run only in the serial pass (FLEET_OUTAGE_TESTS=1, `Serial` in
/// the suite's name), in a vhost of their own.
@Suite(
    "Hostile corpus Serial",
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
)
struct HostileCorpusSerialTests {
    /// The worker's VmRSS over the 100,000 types, against after the corpus: bounded label sets and
    /// no per-type state mean no growth with the number of types.
    static let distinctTypesGrowthLimit = 16 << 20

    @Test(
        "The whole corpus with the 64 MiB body, then 100,000 distinct types: exact reasons, bounded labels, flat memory"
    )
    func wholeCorpusAndDistinctTypes() async throws {
        let corpus = try HostileCorpus.load()
        let run = try await HostileCorpusRun.start("corpusserial")
        let single = corpus.entries.filter { $0.distinctTypes == nil }
        let started = ContinuousClock.now
        try await HostileCorpusEndToEndTests.pass(1, single, run: run)
        try await run.purgeDeadLetters()
        let afterCorpus = run.rss

        for entry in corpus.entries {
            guard let count = entry.distinctTypes, let reason = entry.expectedReason else { continue }
            let before = try await run.deadLetteredCounter(queue: entry.queue, type: "unknown", reason: reason)
            let publishing = ContinuousClock.now
            try await run.publishBulk(count: count) { entry.message(pass: 1, index: $0) }
            try await run.waitForDeadLetters([entry.queue: count], timeout: .seconds(900))
            let elapsed = ContinuousClock.now - publishing
            // Every one dead-lettered for its reason: the counter rose by exactly `count`, under `unknown`.
            let after = try await run.deadLetteredCounter(queue: entry.queue, type: "unknown", reason: reason)
            #expect(after - before == Double(count), "\(entry.name): \(after - before) counted as \(reason)")
            let known = Set(JobContract.definitions.map { $0.jobType } + ["unknown"])
            let labels = try await run.metricTypeLabels()
            #expect(labels.isSubset(of: known), "type labels \(labels.subtracting(known).sorted().prefix(10))")
            // A sample read back from the DLQ carries the reason in its own header.
            let sample = try await AMQPConnection.withDedicatedThread(run.environment.configuration.amqp) {
                try $0.get(queue: "\(entry.queue).dlq")
            }
            #expect(sample?.properties.headers[FleetHeaders.reason]?.string == reason)
            print("hostile corpus: \(entry.name): \(count) messages dead-lettered in \(elapsed)")
            try await run.purgeDeadLetters()
        }
        let afterTypes = run.rss
        print(
            "hostile corpus serial: \(ContinuousClock.now - started); worker VmRSS after the corpus "
                + "\(afterCorpus >> 10) KiB, after the distinct types \(afterTypes >> 10) KiB"
        )
        #expect(run.process.isRunning)
        #expect(afterTypes - afterCorpus < Self.distinctTypesGrowthLimit, "VmRSS grew with the number of types")
        await run.stop()
    }
}
