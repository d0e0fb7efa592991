import Foundation
import Testing

/// The Kubernetes kit in deploy/ and the Dockerfile, checked offline by `scripts/deploy-check.sh`:
/// every overlay rendered, every object validated (Kubernetes schemas in strict mode, the kit's own
/// CRD schemas), the Dockerfile linted, the alert rules' metrics known, the kit consistent with
/// queues.yaml and workers/. The tools come from PyPI into `.tools/deploy-venv` on first use.
@Suite struct DeployKitTests {
    @Test func kitRendersAndValidates() async throws {
        let (status, output) = try await ContractTools.runScript("deploy-check.sh", ["check"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("deploy-check: passed: "), "\(output)")
    }

    /// One way to break the kit, and the problem the check must name.
    struct Breakage: Sendable, CustomTestStringConvertible {
        let name: String
        /// A file of the repository, relative to its root.
        let file: String
        /// Text that must occur in the file (so a breakage cannot go stale unnoticed); empty: the file
        /// is created with `replacement`.
        let original: String
        let replacement: String
        let expectedProblem: String

        var testDescription: String { name }
    }

    static let breakages: [Breakage] = [
        Breakage(
            name: "a misspelt field",
            file: "deploy/base/patches/fleet-pod.yaml",
            original: "readinessProbe:",
            replacement: "readinessProb:",
            expectedProblem: "'readinessProb' was unexpected"
        ),
        Breakage(
            name: "a misspelt field of a CRD",
            file: "deploy/base/workers/trends.yaml",
            original: "  cooldownPeriod: 300\n",
            replacement: "  cooldownPeriod: 300\n  cooldownPeriods: 5\n",
            expectedProblem: "ScaledObject fleet-trends: spec: Additional properties are not allowed ('cooldownPeriods'"
        ),
        Breakage(
            name: "a ScaledObject on another worker's queue",
            file: "deploy/base/workers/learning.yaml",
            original: "queueName: fleet.learning",
            replacement: "queueName: fleet.profile",
            expectedProblem: "worker learning: ScaledObject scales on ['fleet.profile']"
        ),
        Breakage(
            name: "a PodDisruptionBudget that selects no pod",
            file: "deploy/base/workers/skills.yaml",
            original: "      workerfleet.io/worker: skills\n---\napiVersion: keda.sh",
            replacement: "      workerfleet.io/worker: skill\n---\napiVersion: keda.sh",
            expectedProblem: "worker skills: no PodDisruptionBudget selects its pods"
        ),
        Breakage(
            name: "a grace period shorter than the drain",
            file: "deploy/base/patches/fleet-pod.yaml",
            original: "terminationGracePeriodSeconds: 45",
            replacement: "terminationGracePeriodSeconds: 30",
            expectedProblem: "terminationGracePeriodSeconds 30 does not exceed drain 30 + preStop 5"
        ),
        Breakage(
            name: "a readiness probe off the fixed endpoint",
            file: "deploy/base/patches/fleet-pod.yaml",
            original: "path: /readyz",
            replacement: "path: /ready",
            expectedProblem: "readinessProbe is not GET /readyz on port http"
        ),
        Breakage(
            name: "a writable root filesystem",
            file: "deploy/base/patches/fleet-pod.yaml",
            original: "readOnlyRootFilesystem: true",
            replacement: "readOnlyRootFilesystem: false",
            expectedProblem: "readOnlyRootFilesystem is not true"
        ),
        Breakage(
            name: "a literal password",
            file: "deploy/base/outbox-relay.yaml",
            original: "            - name: FLEET_HTTP_ADDRESS # as for the scheduler",
            replacement: """
                            - {name: FLEET_OUTBOX_POSTGRES_URL, value: "postgresql://app:hunter2@db/app"}
                            - name: FLEET_HTTP_ADDRESS # as for the scheduler
                """,
            expectedProblem: "FLEET_OUTBOX_POSTGRES_URL holds a URL with a password"
        ),
        Breakage(
            name: "an alert on a metric nobody exports",
            file: "deploy/base/alerts.yaml",
            original: "(fleet_broker_blocked)",
            replacement: "(fleet_broker_blockd)",
            expectedProblem: "alert FleetBrokerBlocked reads unknown metrics ['fleet_broker_blockd']"
        ),
        Breakage(
            name: "a migration Job named after another release",
            file: "deploy/overlays/prod/migrate/kustomization.yaml",
            original: "value: fleet-migrate-0-14-0",
            replacement: "value: fleet-migrate-0-13-0",
            expectedProblem: "Job fleet-migrate-0-13-0 is not named after its image tag"
        ),
        Breakage(
            name: "a manifest naming a store its pods may not reach",
            file: "workers/learning.yaml",
            original: "stores: [postgres]",
            replacement: "stores: [postgres, redis]",
            expectedProblem: "worker learning: pod store labels ['postgres'] are not the manifest's stores"
        ),
        Breakage(
            name: "a worker manifest without a Deployment",
            file: "workers/reports.yaml",
            original: "",
            replacement: "name: reports\nqueues: [fleet.reports]\nstores: [postgres]\n",
            expectedProblem: "worker reports: no Deployment fleet-reports"
        ),
        Breakage(
            name: "a Dockerfile hadolint refuses",
            file: "Dockerfile",
            original: "apt-get install -y --no-install-recommends \\\n        librabbitmq4",
            replacement: "apt-get install -y \\\n        librabbitmq4",
            expectedProblem: "DL3015"
        ),
    ]

    /// The check is not a rubber stamp: each breakage, in a copy of the kit, fails it with its problem.
    @Test(arguments: breakages) func brokenKitFails(_ breakage: Breakage) async throws {
        let root = try Self.copyOfKit()
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent(breakage.file)
        if breakage.original.isEmpty {
            try breakage.replacement.write(to: file, atomically: true, encoding: .utf8)
        } else {
            let text = try String(contentsOf: file, encoding: .utf8)
            let range = try #require(text.range(of: breakage.original), "\(breakage.file) no longer holds the text")
            try text.replacingCharacters(in: range, with: breakage.replacement)
                .write(to: file, atomically: true, encoding: .utf8)
        }
        // kubectl's cross-check of the renderer belongs to kitRendersAndValidates; skipped here.
        let (status, output) = try await ContractTools.runScript(
            "deploy-check.sh",
            ["check", "--root", root.path],
            environment: ["DEPLOY_CHECK_KUBECTL": "0"]
        )
        #expect(status == 1, "\(output)")
        #expect(output.contains(breakage.expectedProblem), "\(output)")
        #expect(output.contains("deploy-check: FAILED: "), "\(output)")
    }

    /// What the check reads, copied into a folder of its own.
    static func copyOfKit() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-kit-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for item in ["deploy", "workers", "queues.yaml", "schedules.yaml", "Dockerfile"] {
            try FileManager.default.copyItem(
                atPath: "\(ContractTools.repositoryRoot)/\(item)",
                toPath: root.appendingPathComponent(item).path
            )
        }
        return root
    }
}
