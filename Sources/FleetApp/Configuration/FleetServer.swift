import ClickHouse

/// A server the fleet reaches through a URL variable (`FLEET_AMQP_URL`, …), each also readable
/// from a file (`FLEET_AMQP_URL_FILE`, see ``EnvironmentSecrets``).
///
/// Outside development mode (`FLEET_DEV_MODE=1`) an unset URL has no default: the configuration
/// records it as unset and ``FleetConfiguration/require(_:)`` fails, naming the variable, in the
/// commands that use that server. Commands check only the servers they use, so `fleet enqueue`
/// needs nothing but the broker.
public enum FleetServer: String, Sendable, CaseIterable, Comparable {
    case amqp, postgres, redis, mongodb, bolt, clickhouse, rabbitManagement

    /// The broker and every store: what a command touching all of them requires.
    public static let brokerAndStores: [FleetServer] = [.amqp, .postgres, .redis, .mongodb, .bolt, .clickhouse]

    /// The environment variable holding the URL.
    public var variable: String {
        switch self {
        case .amqp: "FLEET_AMQP_URL"
        case .postgres: "FLEET_POSTGRES_URL"
        case .redis: "FLEET_REDIS_URL"
        case .mongodb: "FLEET_MONGODB_URL"
        case .bolt: "FLEET_BOLT_URL"
        case .clickhouse: "FLEET_CLICKHOUSE_URL"
        case .rabbitManagement: "FLEET_RABBITMQ_MGMT_URL"
        }
    }

    /// The URL used in development mode when the variable is unset: the local services of
    /// `scripts/services.sh`, on loopback.
    public var developmentDefault: String {
        switch self {
        case .amqp: "amqp://fleet:fleet@127.0.0.1:5682/%2f"
        case .postgres: "postgresql://fleet:fleet@127.0.0.1:55432/fleet"
        case .redis: "redis://127.0.0.1:56379/0"
        case .mongodb: "mongodb://127.0.0.1:57017/fleet"
        case .bolt: "bolt://127.0.0.1:17687"
        case .clickhouse: ClickHouseConfiguration.defaultURL
        case .rabbitManagement: "http://fleet:fleet@127.0.0.1:15682"
        }
    }

    /// ``developmentDefault`` without its user and password, for help texts.
    public var developmentDefaultAddress: String {
        let url = developmentDefault
        guard let schemeEnd = url.range(of: "://"), let at = url.range(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + url[at.upperBound...]
    }

    /// What an unset URL holds outside development mode, so the configuration stays a plain value:
    /// a host in the reserved `.invalid` domain (RFC 2606), which no resolver answers, and no
    /// credentials. ``FleetConfiguration/require(_:)`` reports the variable before anything
    /// connects; should a command forget to, it fails to reach `unset.invalid`, never a default server.
    var placeholder: String {
        switch self {
        case .amqp: "amqp://unset.invalid/%2f"
        case .postgres: "postgresql://unset@unset.invalid/fleet"
        case .redis: "redis://unset.invalid/0"
        case .mongodb: "mongodb://unset.invalid/fleet"
        case .bolt: "bolt://unset.invalid"
        case .clickhouse: "http://unset.invalid:8123"
        case .rabbitManagement: "http://unset.invalid:15672"
        }
    }

    /// The server a worker manifest's store name (`stores:` in `workers/*.yaml`) needs.
    public init?(store: String) {
        switch store {
        case "postgres": self = .postgres
        case "redis": self = .redis
        case "mongodb": self = .mongodb
        case "neo4j": self = .bolt
        case "clickhouse": self = .clickhouse
        default: return nil
        }
    }

    public static func < (lhs: FleetServer, rhs: FleetServer) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
