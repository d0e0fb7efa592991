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
