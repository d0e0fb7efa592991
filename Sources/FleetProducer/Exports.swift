@_exported import FleetContract

// What an API server names besides JobProducer, with `import FleetProducer` alone: the contract
// (job definitions, envelope, rejections) and the two AMQP types of JobProducer's API, the broker
// address it is configured with and the error a publish throws. The AMQP module is no product of
// the package, so an importer could not name these otherwise.
@_exported import struct AMQP.AMQPConfiguration
@_exported import struct AMQP.AMQPError
