import FleetCore

extension Topology {
    /// The production topology plus one quorum work queue per synthetic workload, so the bench
    /// drains the same kind of queue with the same retry and dead-letter layout as production, and
    /// acks with `queue_defaults.ack_delay`.
    func withBenchQueues(prefetch: Int, concurrency: Int) -> Topology {
        var topology = self
        for job in [NoOpJob.jobType, CounterWriteJob.jobType] where topology.queue(named: job) == nil {
            topology.queues.append(
                Queue(
                    name: job,
                    jobTypes: [job],
                    queueType: "quorum",
                    prefetch: prefetch,
                    concurrency: concurrency,
                    deliveryLimit: 5,
                    ackDelay: defaultAckDelay
                )
            )
            topology.jobTypes[job] = JobType(name: job, deadline: .seconds(30))
        }
        return topology
    }
}
