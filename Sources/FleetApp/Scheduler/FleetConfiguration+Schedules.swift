import FleetCore

extension FleetConfiguration {
    /// `schedules.yaml`, beside queues.yaml.
    public var schedulesPath: String { "\(configDirectory)/schedules.yaml" }

    /// Reads `schedules.yaml`, checking each payload by its job type's definition and that
    /// `topology` routes each job type.
    public func loadSchedules(topology: Topology) throws -> [Schedule] {
        try Schedule.load(path: schedulesPath, topology: topology)
    }
}
