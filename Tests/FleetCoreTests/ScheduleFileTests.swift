import FleetContract
import Foundation
import Testing

@testable import FleetCore

/// `schedules.yaml`: the repository's file, and errors naming the key at fault.
@Suite("schedules.yaml")
struct ScheduleFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func topology() throws -> Topology { try Topology.load(path: "\(root)/queues.yaml") }

    static func entry(_ body: String) -> String {
        "schedules:\n  nightly:\n" + body.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n") + "\n"
    }

    @Test("The repository's schedules.yaml loads: a daily maintenance.run that runs once after missed ticks")
    func repositoryFile() throws {
        let schedules = try Schedule.load(path: "\(Self.root)/schedules.yaml", topology: Self.topology())
        let maintenance = try #require(schedules.first { $0.name == "maintenance" })
        #expect(maintenance.jobType == "maintenance.run")
        #expect(maintenance.missed == .runOnce)
        #expect(maintenance.timeZoneName == "UTC")
        #expect(maintenance.timeZone.secondsFromGMT() == 0)
        #expect(maintenance.payload.isEmpty)
        #expect(
            maintenance.idempotencyKey(tick: RFC3339.parse("2026-11-30T04:30:00Z")!)
                == "schedule:maintenance:2026-11-30T04:30:00.000Z"
        )
    }

    @Test("A full entry: zone, payload through the contract, defaults for time_zone and missed")
    func fullEntry() throws {
        let schedules = try Schedule.parse(
            yaml: Self.entry(
                """
                cron: "0 9 * * MON"
                time_zone: Europe/Berlin
                job_type: profile.completion.recalculate
                payload: {user_id: 7C9E6679-7425-40DE-944B-E07FC1F90AE7}
                """
            ),
            topology: Self.topology()
        )
        #expect(schedules.count == 1)
        #expect(schedules[0].timeZone.identifier == "Europe/Berlin")
        #expect(schedules[0].missed == .skip)
        #expect(schedules[0].payload["user_id"] == .string("7C9E6679-7425-40DE-944B-E07FC1F90AE7"))
        #expect(try Schedule.parse(yaml: "schedules:\n").isEmpty)
    }

    @Test(
        "Errors name the file and the key",
        arguments: [
            (
                "cron: \"* * * *\"\njob_type: maintenance.run",
                "schedules.yaml: schedules.nightly.cron: expected 5 fields"
            ),
            (
                "cron: \"0 25 * * *\"\njob_type: maintenance.run",
                "schedules.yaml: schedules.nightly.cron: hour field: \"25\" is not a number from 0 to 23"
            ),
            (
                "cron: \"0 0 * * *\"\njob_type: maintenance.run\ntime_zone: Mars/Olympus",
                "schedules.yaml: schedules.nightly.time_zone: \"Mars/Olympus\" is not an IANA time zone"
            ),
            (
                "cron: \"0 0 * * *\"\njob_type: no.such.job",
                "schedules.yaml: schedules.nightly.job_type: \"no.such.job\" is not a job type"
            ),
            (
                "cron: \"0 0 * * *\"\njob_type: profile.completion.recalculate\npayload: {user_id: 42}",
                "schedules.yaml: schedules.nightly.payload: not a valid profile.completion.recalculate payload"
            ),
            (
                "cron: \"0 0 * * *\"\njob_type: maintenance.run\nmissed: twice",
                "schedules.yaml: schedules.nightly.missed: expected skip or run_once"
            ),
            (
                "cron: \"0 0 * * *\"\njob_type: maintenance.run\ncorn: 1",
                "schedules.yaml: schedules.nightly.corn: unknown key"
            ),
            ("job_type: maintenance.run", "schedules.yaml: schedules.nightly.cron: required"),
        ]
    )
    func errors(body: String, message: String) throws {
        #expect {
            try Schedule.parse(yaml: Self.entry(body), topology: Self.topology())
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test("Top-level and name errors")
    func topLevel() {
        #expect {
            try Schedule.parse(yaml: "schedule:\n  a: {}\n")
        } throws: { "\($0)".hasPrefix("schedules.yaml: schedule: unknown key") }
        #expect {
            try Schedule.parse(
                yaml: "schedules:\n  \"bad name\":\n    cron: \"* * * * *\"\n    job_type: maintenance.run\n"
            )
        } throws: { "\($0)".contains("schedules.bad name: a schedule name takes") }
    }
}

/// Which ticks the leader enqueues on a pass: every tick within the catch-up window since the last
/// one enqueued, and for missed ones (older than the window) `skip` or `run_once`.
@Suite("Due ticks and the missed policy")
struct DueTicksTests {
    static func schedule(_ missed: Schedule.MissedPolicy, cron: String = "*/5 * * * * *") throws -> Schedule {
        Schedule(
            name: "t",
            cron: try CronExpression(cron),
            timeZone: .gmt,
            jobType: "maintenance.run",
            payload: [:],
            missed: missed
        )
    }

    static func at(_ text: String) -> Date { RFC3339.parse(text)! }

    @Test("Within the catch-up window every tick since the last one is due, in order")
    func withinWindow() throws {
        let due = try Self.schedule(.skip).dueTicks(
            after: Self.at("2026-11-30T12:00:00Z"),
            now: Self.at("2026-11-30T12:00:12.5Z"),
            catchUp: .seconds(16)
        )
        #expect(due.ticks == [Self.at("2026-11-30T12:00:05Z"), Self.at("2026-11-30T12:00:10Z")])
        #expect(!due.skippedMissed)
    }

    @Test("skip drops ticks older than the window; run_once enqueues the most recent of them once")
    func missedTicks() throws {
        // The daily 03:00 tick was last enqueued three days ago; it is now 10:00.
        let daily = "0 3 * * *"
        let cursor = Self.at("2026-11-27T03:00:00Z")
        let now = Self.at("2026-11-30T10:00:00Z")
        let skipped = try Self.schedule(.skip, cron: daily).dueTicks(after: cursor, now: now, catchUp: .seconds(60))
        #expect(skipped.ticks.isEmpty)
        #expect(skipped.skippedMissed)
        let once = try Self.schedule(.runOnce, cron: daily).dueTicks(after: cursor, now: now, catchUp: .seconds(60))
        #expect(once.ticks == [Self.at("2026-11-30T03:00:00Z")])
        // A 5-second schedule down for an hour: the last missed tick, then the recent ones.
        let frequent = try Self.schedule(.runOnce).dueTicks(
            after: Self.at("2026-11-30T11:00:00Z"),
            now: Self.at("2026-11-30T12:00:07Z"),
            catchUp: .seconds(10)
        )
        #expect(
            frequent.ticks == [
                Self.at("2026-11-30T11:59:55Z"), Self.at("2026-11-30T12:00:00Z"), Self.at("2026-11-30T12:00:05Z"),
            ]
        )
    }
}
