import ArgumentParser
import FleetApp
import FleetCore
import FleetJobs

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Messages waiting in each work, retry and dead-letter queue."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let depths = try await queueDepths(configuration, topology: try configuration.loadTopology())
        for (name, count) in depths { print("\(name)\t\(count)") }
    }
}

/// (queue, messages ready) for every queue of the topology, work queues first.
func queueDepths(_ configuration: FleetApp.FleetConfiguration, topology: Topology) async throws -> [(String, UInt32)] {
    let names = topology.queues.flatMap { queue in
        [queue.name] + topology.retry.delays.map { queue.retryQueue(delay: $0) } + [queue.deadLetterQueue]
    }
    return try await withBroker(configuration) { connection in
        try names.map { ($0, try connection.declareQueue($0, passive: true)) }
    }
}
