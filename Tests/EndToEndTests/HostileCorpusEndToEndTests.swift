import AMQP
import FleetContract
import FleetCore
import Foundation
import Testing

/// Issue 15, hostile input: the corpus in `Tests/Corpus/hostile/corpus.jsonl` plus a wrong-type
/// payload per field and JSON type, sent twice through one real worker process. Every message ends
/// in its queue's DLQ with its exact reason (or, for injection strings that are valid data, stored
/// verbatim), nothing else reaches a store, the worker keeps running, its memory stays flat, and
/// `fleet dlq show` prints hostile strings escaped. The 64 MiB body and the 100,000 types are in the
/// serial suite (HostileCorpusSerialEndToEndTests).
@Suite("Hostile corpus end to end", .serialized)
struct HostileCorpusEndToEndTests {
    /// How much the worker's VmRSS may grow over the second pass of the corpus, measured against the
    /// first: the same messages again must not leave anything behind. Seen: see the README.
    static let secondPassGrowthLimit = 8 << 20

    @Test("Every corpus message ends in its DLQ with its exact reason; stores untouched; memory flat over two passes")
    func corpusEndsInDeadLetterQueuesWithExactReasons() async throws {
        let corpus = try HostileCorpus.load()
        #expect(corpus.entries.count >= 60, "issue 15 asks for at least 60 messages")
        let run = try await HostileCorpusRun.start("corpus")
        let entries =
            corpus.entries.filter { !$0.slow }
            + HostileCorpus.wrongTypeEntries(topology: run.environment.topology, queues: run.queues)
        let before = (rows: try await run.rowCounts(), documents: try await run.documentCounts())
        let graphBefore = try await run.graphCount()
        let started = ContinuousClock.now

        try await Self.pass(1, entries, run: run)
        try await Self.expectEscapedOutput(entries, run: run)
        let afterFirst = run.rss
        try await run.purgeDeadLetters()
        try await Self.pass(2, entries, run: run)
        let afterSecond = run.rss
        let elapsed = ContinuousClock.now - started

        // Nothing reached a store but the verbatim-stored injection strings.
        let stored = entries.compactMap { entry -> String? in
            if case .stored(_, _, let value) = entry.expectation { return value }
            return nil
        }
        #expect(try await run.rowCounts() == before.rows, "PostgreSQL rows changed")
        var documents = before.documents
        documents["job_market_trends", default: 0] += Set(stored).count
        #expect(try await run.documentCounts() == documents, "MongoDB documents beyond the stored strings")
        #expect(try await run.storedValues("job_market_trends", field: "region") == Set(stored))
        #expect(try await run.graphCount() == graphBefore, "graph nodes of the corpus ids")
        // Metric labels stay bounded: only job types of the contract, or `unknown`.
        let known = Set(JobContract.definitions.map { $0.jobType } + ["unknown"])
        let labels = try await run.metricTypeLabels()
        #expect(labels.isSubset(of: known), "type labels \(labels.subtracting(known).sorted())")

        #expect(run.process.isRunning)
        let dead = entries.filter { $0.expectedReason != nil }.count
        print(
            "hostile corpus: \(entries.count) messages (\(dead) dead-lettered) x 2 passes in \(elapsed); "
                + "worker VmRSS after pass 1 \(afterFirst >> 10) KiB, after pass 2 \(afterSecond >> 10) KiB"
        )
        #expect(afterFirst > 0 && afterSecond - afterFirst < Self.secondPassGrowthLimit, "VmRSS grew over pass 2")
        await run.stop()
    }

    /// Publishes `entries` as pass `pass`, waits until every one that must be dead-lettered is in
    /// its DLQ (and the stored ones are stored), and checks each dead letter's reason exactly.
    static func pass(_ pass: Int, _ entries: [HostileCorpus.Entry], run: HostileCorpusRun) async throws {
        let messages = entries.map { $0.message(pass: pass) }
        var expected: [String: (name: String, reason: String)] = [:]
        var perQueue: [String: Int] = [:]
        for (entry, message) in zip(entries, messages) {
            guard let reason = entry.expectedReason, let id = message.properties.messageId else { continue }
            expected[id] = (entry.name, reason)
            perQueue[entry.queue, default: 0] += 1
        }
        try await run.publish(messages)
        try await run.waitForDeadLetters(perQueue)
        let reasons = try await run.deadLetterReasons()
        var wrong: [String] = []
        for (id, want) in expected.sorted(by: { $0.key < $1.key }) where reasons[id] != want.reason {
            wrong.append("\(want.name): expected \(want.reason), got \(reasons[id] ?? "nothing")")
        }
        #expect(wrong.isEmpty, "pass \(pass): \(wrong.count) wrong reasons:\n\(wrong.joined(separator: "\n"))")
        let unexpected = Set(reasons.keys).subtracting(expected.keys)
        #expect(unexpected.isEmpty, "pass \(pass): unexpected dead letters \(unexpected.sorted())")
        let storedEntries = entries.filter { $0.expectedReason == nil }
        try await run.environment.waitUntil("the valid injection strings stored") {
            let regions = try await run.storedValues("job_market_trends", field: "region")
            return storedEntries.allSatisfy {
                if case .stored(_, _, let value) = $0.expectation { return regions.contains(value) }
                return true
            }
        }
        #expect(run.process.isRunning, "the worker exited during pass \(pass)")
    }

    /// `fleet dlq show` on each entry marked `dlq_show`: no raw control, format or bidi character in
    /// its output, and the hostile characters shown as `\u{…}` escapes.
    static func expectEscapedOutput(_ entries: [HostileCorpus.Entry], run: HostileCorpusRun) async throws {
        let shown = entries.filter(\.dlqShow)
        #expect(shown.count >= 5)
        for entry in shown {
            let output = try await run.environment.fleet(["dlq", "show", "--queue", entry.queue, entry.messageId])
            let raw = HostileCorpusRun.rawHostileScalars(output)
            #expect(
                raw.isEmpty,
                "\(entry.name): raw \(raw.map { "U+" + String($0.value, radix: 16, uppercase: true) })"
            )
            // Shown as escapes: `\u{1B}`-style, `\r`/`\n`, or the body's own JSON `\u001b` (inert text).
            let escaped = ["\\u{", "\\r", "\\n", "\\u00"].contains { output.contains($0) }
            #expect(escaped, "\(entry.name): no escape shown in \(output.prefix(500))")
            #expect(output.contains("listed 1 job(s)"), "\(entry.name): \(output.suffix(200))")
        }
        // `list` escapes the same fields.
        let list = try await run.environment.fleet(["dlq", "list", "--queue", "fleet.learning", "--limit", "1000"])
        #expect(HostileCorpusRun.rawHostileScalars(list).isEmpty, "fleet dlq list printed a raw control character")
    }
}
