import Foundation
import Testing

@testable import FleetOps

/// The `fleet status --json` document and the credential scrubbing of worker addresses.
@Suite struct StatusSnapshotTests {
    @Test func jsonHasStableKeysAndNullsForAnUnreachableWorker() throws {
        let queue = QueueOverview(
            name: "fleet.learning",
            ready: 3,
            unacked: 1,
            consumers: 2,
            publishRate: 0.5,
            deliverRate: 0.25,
            retrying: 4,
            deadLettered: 5,
            exists: true
        )
        let up = WorkerStatus(
            address: "127.0.0.1:9090",
            summary: WorkerMetricsSummary(samples: [
                PrometheusSample(name: "fleet_jobs_total", labels: ["outcome": "applied", "type": "a"], value: 7)
            ]),
            error: nil
        )
        let down = WorkerStatus(address: "127.0.0.1:1", summary: nil, error: "cannot connect")
        let snapshot = StatusSnapshot(
            takenAt: Date(timeIntervalSince1970: 0),
            vhost: "/",
            queues: [queue],
            workers: [up, down]
        )
        let document = try #require(
            JSONSerialization.jsonObject(with: Data(try snapshot.json().utf8)) as? [String: Any]
        )
        #expect(Set(document.keys) == ["taken_at", "vhost", "queues", "workers"])
        #expect(document["taken_at"] as? String == "1970-01-01T00:00:00.000Z")
        let queues = try #require(document["queues"] as? [[String: Any]])
        #expect(
            Set(queues[0].keys) == [
                "name", "exists", "ready", "unacked", "consumers", "publish_rate", "deliver_rate", "retrying",
                "dead_lettered",
            ]
        )
        #expect(queues[0]["ready"] as? Int == 3 && queues[0]["dead_lettered"] as? Int == 5)
        #expect(queues[0]["retrying"] as? Int == 4 && queues[0]["publish_rate"] as? Double == 0.5)
        let workers = try #require(document["workers"] as? [[String: Any]])
        let keys: Set<String> = [
            "address", "reachable", "error", "jobs", "failures", "dead_lettered", "in_flight", "p50_seconds",
            "p99_seconds",
        ]
        #expect(Set(workers[0].keys) == keys && Set(workers[1].keys) == keys)
        #expect(workers[0]["reachable"] as? Bool == true && workers[0]["jobs"] as? Int == 7)
        #expect(workers[0]["error"] is NSNull)
        #expect(workers[1]["reachable"] as? Bool == false && workers[1]["jobs"] is NSNull)
        #expect(workers[1]["error"] as? String == "cannot connect")
    }

    @Test func credentialsAreRemovedFromAddressesAndErrors() {
        #expect(StatusSnapshot.withoutCredentials("http://u:secret@w1:9090/metrics") == "http://w1:9090/metrics")
        #expect(
            StatusSnapshot.withoutCredentials("http://u:p@a:1/metrics: cannot connect; see https://x:y@b/c")
                == "http://a:1/metrics: cannot connect; see https://b/c"
        )
        #expect(StatusSnapshot.withoutCredentials("127.0.0.1:9090") == "127.0.0.1:9090")
        #expect(StatusSnapshot.withoutCredentials("mail me@example.org") == "mail me@example.org")
    }
}
