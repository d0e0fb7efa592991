import ArgumentParser

@main
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "WorkerFleet: run job workers on RabbitMQ and manage their queues.",
        discussion: """
            Servers come from the environment: FLEET_AMQP_URL (default \(FleetDefaults.amqp)), \
            FLEET_POSTGRES_URL (default \(FleetDefaults.postgres)), FLEET_REDIS_URL (default \(FleetDefaults.redis)). \
            `scripts/services.sh start` starts all three locally on those ports (and the MongoDB and Bolt test servers). FLEET_LOG_LEVEL sets the \
            log level (trace, debug, info, warning, error; default info for `run`, warning for the others).
            """,
        subcommands: [
            Run.self, Enqueue.self, Migrate.self, TopologyCommand.self, DeadLetter.self, Status.self,
            Demo.self, Bench.self, BenchWorkerCommand.self,
        ]
    )
}
