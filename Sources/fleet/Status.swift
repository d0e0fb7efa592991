import ArgumentParser
import FleetApp
import FleetCore
import FleetJobs
import FleetOps
import Foundation
import Synchronization

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The work queues from the broker's management API, and the workers from their /metrics.",
        discussion: """
            Per work queue of queues.yaml: messages ready and unacknowledged, consumers, publish and \
            deliver rates (messages/s, the broker's 5 s average), messages waiting in its retry queues, \
            and messages in its dead-letter queue. These come from RabbitMQ's management HTTP API, \
            FLEET_RABBITMQ_MGMT_URL (http://user:password@host:port, or FLEET_RABBITMQ_MGMT_URL_FILE), for \
            the vhost of FLEET_AMQP_URL; both are required unless FLEET_DEV_MODE=1 (then unset means the local \
            services' http://127.0.0.1:15682 and amqp://127.0.0.1:5682/%2f). The credentials are never printed.

            Per worker process given with --workers (or FLEET_WORKER_METRICS): jobs settled, failures \
            (retried + dead-lettered), dead-lettered, jobs in flight, and job duration p50/p99 \
            estimated from its fleet_job_duration_seconds histogram, read from the /metrics of \
            `fleet run --http-address`. A worker that cannot be read is shown as unreachable with the \
            reason; the others are still shown.

            Exit status: 0, also with unreachable workers; non-zero when the management API cannot \
            be read (unreachable, wrong credentials) or queues.yaml cannot be loaded.

            --json prints one JSON document (keys sorted):
              taken_at  RFC 3339 time of the snapshot
              vhost     the vhost read
              queues    one per work queue, in queues.yaml order: name, exists,
                        ready, unacked, consumers, publish_rate, deliver_rate,
                        retrying, dead_lettered
              workers   one per --workers entry, in that order: address,
                        reachable, error, jobs, failures, dead_lettered,
                        in_flight, p50_seconds, p99_seconds (the figures are
                        null, and error says why, when reachable is false)

            --watch refreshes every --interval seconds until Ctrl-C (SIGINT): on a terminal it \
            redraws in place; otherwise each frame follows a separator line. A refresh that fails \
            is shown in the frame and retried at the next interval.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(
        name: .long,
        help: "Workers' /metrics: HOST:PORT or URLs, comma-separated (default: FLEET_WORKER_METRICS)."
    )
    var workers: String?

    @Flag(name: .long, help: "Print one JSON document instead of the tables.")
    var json = false

    @Flag(name: .long, help: "Refresh until Ctrl-C.")
    var watch = false

    @Option(name: .long, help: "Seconds between refreshes with --watch.")
    var interval: Double = 2

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be 0.1 to 3600 seconds") }
    }

    func run() async throws {
        // The management API, and the AMQP URL for its vhost.
        let configuration = try common.configuration(requiring: [.rabbitManagement, .amqp])
        let topology = try configuration.loadTopology()
        let addresses = (workers ?? ProcessInfo.processInfo.environment["FLEET_WORKER_METRICS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // One HTTP client for the whole run, watch included: its connections are reused, not leaked.
        let http = OpsHTTPClient()
        let management: RabbitManagementClient
        do {
            management = try RabbitManagementClient(url: configuration.rabbitManagementURL, http: http)
        } catch {
            try? await http.shutdown()
            throw CommandError(description: "FLEET_RABBITMQ_MGMT_URL: \(error)")
        }
        let reader = StatusReader(
            topology: topology,
            management: management,
            vhost: configuration.amqp.vhost,
            addresses: addresses,
            json: json
        )
        do {
            if watch {
                try await reader.watch(every: interval)
            } else {
                print(try await reader.frame())
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

/// Takes and renders snapshots for `fleet status`.
private struct StatusReader: Sendable {
    let topology: Topology
    let management: RabbitManagementClient
    let vhost: String
    let addresses: [String]
    let json: Bool

    /// One snapshot as text or JSON; a failing management API is a ``CommandError`` naming its address.
    func frame() async throws -> String {
        let snapshot: StatusSnapshot
        do {
            snapshot = try await StatusSnapshot.take(
                topology: topology,
                management: management,
                vhost: vhost,
                workerAddresses: addresses
            )
        } catch {
            throw CommandError(description: "cannot read the management API: \(error)")
        }
        return json ? try snapshot.json() : StatusTable.render(snapshot, management: management.redactedURL)
    }

    /// Prints a frame every `interval` seconds until SIGINT.
    func watch(every interval: Double) async throws {
        let terminal = isatty(1) == 1
        let interrupted = SignalLatch()
        defer { interrupted.cancel() }
        while !interrupted.isSet {
            let text: String
            do {
                text = try await frame()
            } catch {
                text = "Error: \(error)"
            }
            if terminal {
                // Home the cursor and clear the screen, then draw.
                print("\u{1B}[H\u{1B}[2J" + text)
            } else {
                print("----- \(ISO8601DateFormatter().string(from: Date())) -----")
                print(text)
            }
            fflush(nil)
            await interrupted.wait(upTo: .milliseconds(Int64(interval * 1000)))
        }
    }
}

/// Set by the SIGINT handler; an atomic store is safe in a signal handler.
private let interruptReceived = Atomic<Bool>(false)

/// Turns SIGINT into a flag that the watch loop polls and sleeps on, instead of the default action
/// (exit at once, with the HTTP client's connections still open).
private struct SignalLatch: Sendable {
    init() {
        signal(SIGINT) { _ in interruptReceived.store(true, ordering: .relaxed) }
    }

    var isSet: Bool { interruptReceived.load(ordering: .relaxed) }

    /// Sleeps until `duration` has passed or the signal came, checking every 50 ms.
    func wait(upTo duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while !isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(50), deadline - .now))
        }
    }

    /// Back to the default action.
    func cancel() { signal(SIGINT, SIG_DFL) }
}

/// (queue, messages ready) for every queue of the topology, work queues first, by passive declares
/// over AMQP (no management API needed): `fleet demo` uses it.
func queueDepths(_ configuration: FleetApp.FleetConfiguration, topology: Topology) async throws -> [(String, UInt32)] {
    let names = topology.queues.flatMap { queue in
        [queue.name] + topology.retry.delays.map { queue.retryQueue(delay: $0) } + [queue.deadLetterQueue]
    }
    return try await withBroker(configuration) { connection in
        try names.map { ($0, try connection.declareQueue($0, passive: true)) }
    }
}
