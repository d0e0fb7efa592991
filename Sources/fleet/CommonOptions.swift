import AMQP
import ArgumentParser
import FleetApp
import FleetCore
import FleetJobs
import Foundation
import Logging

struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Folder holding queues.yaml and workers/.")
    var configDir: String = "."

    /// The configuration, after checking that the servers this command uses have their URL set
    /// (outside development mode an unset one is an error naming it; see `FleetServer`). The
    /// default, the broker and every store, suits the commands that touch them all.
    func configuration(requiring servers: [FleetServer] = FleetServer.brokerAndStores) throws -> FleetConfiguration {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: configDir)
        try configuration.require(servers)
        return configuration
    }

    /// `queues.yaml`, which needs no server.
    func topology() throws -> Topology { try configuration(requiring: []).loadTopology() }
}

/// Logs go to stderr; the level comes from FLEET_LOG_LEVEL, else `defaultLevel` (one-shot commands
/// stay quiet unless something goes wrong). The format comes from FLEET_LOG_FORMAT (`json`: one JSON
/// object per line; `text`); unset, JSON lines when stderr is not a terminal and text on one.
func bootstrapLogging(defaultLevel: Logger.Level = .warning) -> Logger {
    let environment = ProcessInfo.processInfo.environment
    let level = environment["FLEET_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
    let resolved = LogFormat.resolve(environment: environment, standardErrorIsTerminal: isatty(2) == 1)
    let format = (try? resolved.get()) ?? (isatty(2) == 1 ? .text : .json)
    LoggingSystem.bootstrap { label in
        switch format {
        case .json:
            return JSONLogHandler.standardError(label: label, level: level)
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
    let logger = Logger(label: "fleet")
    if case .failure(let error) = resolved {
        logger.warning("fleet.log format unknown, using the default", metadata: ["error": "\(error)"])
    }
    return logger
}

/// Runs a one-shot broker operation on its own thread, turning "cannot connect" into a clear error.
func withBroker<T: Sendable>(
    _ configuration: FleetConfiguration,
    _ body: @escaping @Sendable (AMQPConnection) throws -> T
) async throws -> T {
    try await AMQPConnection.withDedicatedThread(configuration.amqp, body)
}

/// A failure the CLI reports as `Error: …` without the usage text (which is for bad flags).
struct CommandError: Error, CustomStringConvertible {
    let description: String
}
