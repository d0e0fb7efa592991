import FleetCore
import Foundation
import Testing

@testable import ClickHouse
@testable import FleetJobs

@Suite("Flush policy: row count or age, whichever comes first")
struct FlushPolicyTests {
    let policy = FlushPolicy(maxRows: 100, maxAge: .seconds(1))

    @Test("nothing waiting: idle")
    func idle() {
        #expect(policy.decide(rows: 0, oldestAge: nil) == .idle)
        #expect(policy.decide(rows: 0, oldestAge: .seconds(5)) == .idle)
    }

    @Test("below both limits: wait for the oldest row to reach the age")
    func waits() {
        #expect(policy.decide(rows: 1, oldestAge: .zero) == .wait(.seconds(1)))
        #expect(policy.decide(rows: 99, oldestAge: .milliseconds(250)) == .wait(.milliseconds(750)))
    }

    @Test("the row count flushes at once, however young the rows")
    func rowCount() {
        #expect(policy.decide(rows: 100, oldestAge: .zero) == .flushNow)
        #expect(policy.decide(rows: 5000, oldestAge: .milliseconds(1)) == .flushNow)
    }

    @Test("the age flushes however few the rows")
    func age() {
        #expect(policy.decide(rows: 1, oldestAge: .seconds(1)) == .flushNow)
        #expect(policy.decide(rows: 1, oldestAge: .seconds(30)) == .flushNow)
    }

    @Test("limits are clamped: at least one row, no negative age")
    func clamped() {
        let eager = FlushPolicy(maxRows: 0, maxAge: .seconds(-1))
        #expect(eager.maxRows == 1)
        #expect(eager.decide(rows: 1, oldestAge: .zero) == .flushNow)
    }

    @Test("due rows are held until the pause between rows, at most maxHold after they fell due")
    func hold() {
        #expect(policy.hold(sinceLastRow: .zero, sinceDue: .zero) == nil, "no pause set: write at once")
        var pausing = policy
        pausing.pause = .milliseconds(10)
        pausing.maxHold = .milliseconds(100)
        #expect(pausing.hold(sinceLastRow: .zero, sinceDue: .zero) == .milliseconds(10))
        #expect(pausing.hold(sinceLastRow: .milliseconds(4), sinceDue: .milliseconds(30)) == .milliseconds(6))
        #expect(pausing.hold(sinceLastRow: .milliseconds(10), sinceDue: .zero) == nil, "the pause came")
        #expect(pausing.hold(sinceLastRow: .zero, sinceDue: .milliseconds(95)) == .milliseconds(5))
        #expect(pausing.hold(sinceLastRow: .zero, sinceDue: .milliseconds(100)) == nil, "held long enough")
        let pauseOnly = FlushPolicy(pause: .milliseconds(10))
        #expect(
            pauseOnly.hold(sinceLastRow: .zero, sinceDue: .milliseconds(4)) == .milliseconds(6),
            "at most one pause"
        )
        #expect(pauseOnly.hold(sinceLastRow: .zero, sinceDue: .milliseconds(10)) == nil)
    }

    @Test("environment: defaults, overrides, and malformed values name the variable")
    func environment() throws {
        #expect(try FlushPolicy.fromEnvironment(prefix: "ANALYTICS", [:]).get() == FlushPolicy())
        #expect(FlushPolicy() == FlushPolicy(maxRows: 5000, maxAge: .seconds(1)))
        let set = try FlushPolicy.fromEnvironment(
            prefix: "ANALYTICS",
            ["FLEET_ANALYTICS_FLUSH_ROWS": "200", "FLEET_ANALYTICS_FLUSH_MS": "50"]
        ).get()
        #expect(set == FlushPolicy(maxRows: 200, maxAge: .milliseconds(50)))
        let kept = try FlushPolicy.fromEnvironment(
            prefix: "ANALYTICS",
            ["FLEET_ANALYTICS_FLUSH_ROWS": "200"],
            defaults: FlushPolicy(pause: .milliseconds(10), maxHold: .milliseconds(20))
        ).get()
        #expect(kept == FlushPolicy(maxRows: 200, pause: .milliseconds(10), maxHold: .milliseconds(20)))
        for bad in ["0", "-3", "x", "2000000"] {
            guard
                case .failure(let error) = FlushPolicy.fromEnvironment(
                    prefix: "ANALYTICS",
                    ["FLEET_ANALYTICS_FLUSH_ROWS": bad]
                )
            else {
                Issue.record("\(bad) accepted")
                continue
            }
            #expect(error.variable == "FLEET_ANALYTICS_FLUSH_ROWS")
        }
    }
}

@Suite("Performance metrics: outcome to status code")
struct PerformanceMetricsStatusTests {
    func job(_ outcome: FinishedJob.Outcome, _ reason: String? = nil) -> FinishedJob {
        FinishedJob(type: "t", queue: "q", outcome: outcome, duration: .milliseconds(5), reason: reason)
    }

    @Test("every outcome has its code")
    func mapping() {
        #expect(PerformanceMetrics.statusCode(job(.applied)) == 200)
        #expect(PerformanceMetrics.statusCode(job(.alreadyApplied)) == 208)
        #expect(PerformanceMetrics.statusCode(job(.rejected, "invalid_payload")) == 400)
        #expect(PerformanceMetrics.statusCode(job(.deadLettered, "postgres_rejected")) == 422)
        #expect(PerformanceMetrics.statusCode(job(.retried, "redis_unavailable")) == 500)
        #expect(PerformanceMetrics.statusCode(job(.deadLettered, "max_attempts")) == 503)
        #expect(PerformanceMetrics.statusCode(job(.retried, "deadline_exceeded")) == 504)
        #expect(PerformanceMetrics.statusCode(job(.deadLettered, "deadline_exceeded")) == 504)
    }

    @Test("a batch's body has one row per finished job, its values in the migration's column order")
    func batchRows() throws {
        let reason = String(repeating: "é", count: 150)
        for count in [1, 2, 5000] {
            let batch = (0..<count).map { index in
                PerformanceMetrics.Finished(
                    job: index == 0 ? job(.deadLettered, reason) : job(.applied),
                    service: "svc",
                    at: 1_700_000_000
                )
            }
            var rows = RowBinaryWriter(table: PerformanceMetrics.table, columns: PerformanceMetrics.columns)
            PerformanceMetrics.rows(batch, into: &rows)
            #expect(rows.rowCount == count)
            // The first row after its UUID: "svc", "t", 5 ms, 422, the reason cut to 100 characters
            // (200 bytes: a two-byte length), the time.
            let first = Array(rows.body[16...])
            let expected: [UInt8] =
                [3] + Array("svc".utf8) + [1] + Array("t".utf8) + [5, 0, 0, 0] + [0xA6, 0x01] + [0xC8, 0x01]
                + Array(String(repeating: "é", count: 100).utf8) + [0x00, 0xF1, 0x53, 0x65]
            #expect(Array(first.prefix(expected.count)) == expected)
            let otherRows = (count - 1) * (16 + 4 + 2 + 4 + 2 + 1 + 4)
            #expect(rows.body.count == 16 + expected.count + otherRows)
            // The caller's reservation covers the whole body: the writing thread never grows it.
            #expect(rows.body.count <= PerformanceMetrics.bytes(of: batch))
        }
    }

    @Test("the rows' columns are the migration's, in its order")
    func columnsMatchTheMigration() {
        let declared = ClickHouseMigrations.performanceMetrics.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count == 2, words[1].hasSuffix(",") || words[1] == "DateTime" else { return nil }
            return String(words[0])
        }
        #expect(declared == PerformanceMetrics.columns)
    }
}

@Suite("Dedicated thread")
struct DedicatedThreadTests {
    @Test("runs its work on a thread other than the caller's and returns the result")
    func ownThread() async {
        let caller = pthread_self()
        let (first, firstSum) = await DedicatedThread.run { (pthread_self(), (1...100).reduce(0, +)) }
        let (second, secondSum) = await DedicatedThread.run { (pthread_self(), 7) }
        #expect(firstSum == 5050 && secondSum == 7)
        #expect(pthread_equal(first, caller) == 0 && pthread_equal(second, caller) == 0)
    }
}
