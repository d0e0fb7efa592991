import FleetApp
import FleetCore
import Foundation
import Testing

@Suite("Server URLs: _FILE forms, development mode, required servers, no password in errors")
struct ServerURLConfigurationTests {
    static let sentinel = "S3ntinel-\(UInt32.random(in: 0...UInt32.max))"

    func configuration(_ environment: [String: String]) throws -> FleetConfiguration {
        try FleetConfiguration.fromEnvironment(configDirectory: ".", environment: environment)
    }

    @Test("outside development mode an unset URL has no default: require names it and its _FILE form")
    func unsetIsAnErrorOnlyWhereRequired() throws {
        let bare = try configuration([:])
        #expect(!bare.developmentMode)
        #expect(bare.unsetServers == Set(FleetServer.allCases))
        // Nothing connects to a default server: the placeholder host does not resolve.
        #expect(bare.amqp.redactedAddress.contains("unset.invalid"))
        #expect(!bare.rabbitManagementURL.contains("@"), "no credentials: \(bare.rabbitManagementURL)")
        try bare.require([])
        let error = #expect(throws: ConfigurationError.self) { try bare.require(.amqp) }
        #expect(error?.path == "FLEET_AMQP_URL")
        #expect(error?.problem.contains("FLEET_AMQP_URL (or FLEET_AMQP_URL_FILE)") == true)
        #expect(error?.problem.contains("FLEET_DEV_MODE=1") == true)

        // `fleet enqueue` needs only the broker.
        let brokerOnly = try configuration(["FLEET_AMQP_URL": "amqp://u:p@broker.internal:5672/%2f"])
        try brokerOnly.require(.amqp)
        let stores = #expect(throws: ConfigurationError.self) { try brokerOnly.require(.amqp, .postgres, .bolt) }
        #expect(stores?.path == "FLEET_POSTGRES_URL, FLEET_BOLT_URL")
    }

    @Test("FLEET_DEV_MODE=1 keeps the local services' defaults; other values are refused")
    func developmentMode() throws {
        let development = try configuration(["FLEET_DEV_MODE": "1"])
        #expect(development.developmentMode && development.unsetServers.isEmpty)
        #expect(development.amqp.redactedAddress == "127.0.0.1:5682/" && development.amqp.vhost == "/")
        #expect(development.postgres.database == "fleet" && development.postgres.port == 55432)
        #expect(development.rabbitManagementURL == FleetConfiguration.defaultRabbitManagementURL)
        try development.require(FleetServer.allCases)
        #expect(try !configuration(["FLEET_DEV_MODE": "0"]).developmentMode)
        #expect(throws: ConfigurationError.self) { try configuration(["FLEET_DEV_MODE": "yes"]) }
        // The help text's addresses carry no password.
        for server in FleetServer.allCases { #expect(!server.developmentDefaultAddress.contains("@")) }
    }

    @Test("every server URL, FLEET_GRAPH_REDIS_URL and the management URL read from a _FILE")
    func fileForms() throws {
        let urls: [(String, String)] = [
            ("FLEET_AMQP_URL", "amqp://filed:\(Self.sentinel)@broker.internal:5672/jobs"),
            ("FLEET_POSTGRES_URL", "postgresql://filed:\(Self.sentinel)@pg.internal:5432/fleetdb"),
            ("FLEET_REDIS_URL", "redis://:\(Self.sentinel)@cache.internal:6379/2"),
            ("FLEET_MONGODB_URL", "mongodb://filed:\(Self.sentinel)@mongo.internal:27017/docs"),
            ("FLEET_BOLT_URL", "bolt://filed:\(Self.sentinel)@graph.internal:7687"),
            ("FLEET_CLICKHOUSE_URL", "http://filed:\(Self.sentinel)@ch.internal:8123/analytics"),
            ("FLEET_RABBITMQ_MGMT_URL", "http://filed:\(Self.sentinel)@broker.internal:15672"),
            ("FLEET_GRAPH_REDIS_URL", "redis://graph-redis.internal:6380/0"),
        ]
        var environment: [String: String] = [:]
        var files: [String] = []
        defer { for file in files { try? FileManager.default.removeItem(atPath: file) } }
        for (variable, url) in urls {
            let file = try EnvironmentSecretsTests.file(url + "\n")
            files.append(file)
            environment[variable + "_FILE"] = file
        }
        let filed = try configuration(environment)
        #expect(filed.unsetServers.isEmpty)
        #expect(filed.amqp.user == "filed" && filed.amqp.password == Self.sentinel && filed.amqp.vhost == "jobs")
        #expect(filed.postgres.password == Self.sentinel && filed.postgres.database == "fleetdb")
        #expect(filed.redis.password == Self.sentinel && filed.redis.database == 2)
        #expect(filed.mongodb.database == "docs")
        #expect(filed.bolt.password == Self.sentinel)
        #expect(filed.clickhouse.password == Self.sentinel && filed.clickhouse.database == "analytics")
        #expect(filed.rabbitManagementURL == urls[6].1)
        #expect(filed.graphRedis?.host == "graph-redis.internal")
        // ClickHouse set through its file turns performance metrics on, as the variable does.
        #expect(filed.performanceMetrics)

        var both = environment
        both["FLEET_BOLT_URL"] = "bolt://graph.internal:7687"
        let error = #expect(throws: ConfigurationError.self) { try configuration(both) }
        #expect(error?.problem.contains("FLEET_BOLT_URL and FLEET_BOLT_URL_FILE") == true)
    }

    /// URLs each server's parser must refuse; every one carries the sentinel as its password.
    static var malformed: [(variable: String, url: String)] {
        let secret = sentinel
        return [
            ("FLEET_AMQP_URL", "amqp://u:\(secret)@broker:99999/%2f"),
            ("FLEET_AMQP_URL", "amqp://u:\(secret)@/%2f"),
            ("FLEET_AMQP_URL", "amqp://u:\(secret)%zz@broker/%2f"),
            ("FLEET_AMQP_URL", "ftp://u:\(secret)@broker/"),
            ("FLEET_AMQP_URL", "u:\(secret)@broker:5672"),
            ("FLEET_POSTGRES_URL", "postgresql://u:\(secret)@pg:0/fleet"),
            ("FLEET_POSTGRES_URL", "postgresql://u:\(secret)@pg:5432"),
            ("FLEET_POSTGRES_URL", "postgresql://u:\(secret)@pg:5432/fleet?nosuchparameter=\(secret)"),
            ("FLEET_POSTGRES_URL", "postgres://u:\(secret)@pg :5432/fleet"),
            ("FLEET_REDIS_URL", "redis://:\(secret)@cache:6379/notanumber"),
            ("FLEET_REDIS_URL", "redis://:\(secret)@cache:port/0"),
            ("FLEET_MONGODB_URL", "mongodb://u:\(secret)@mongo:notaport/fleet"),
            ("FLEET_MONGODB_URL", "mongodb://u:\(secret)@:27017/fleet"),
            ("FLEET_MONGODB_URL", "mongo://u:\(secret)@mongo:27017/fleet"),
            ("FLEET_BOLT_URL", "bolt://u:\(secret)@graph:70000"),
            ("FLEET_BOLT_URL", "neo4j+x://u:\(secret)@graph:7687"),
            ("FLEET_CLICKHOUSE_URL", "http://u:\(secret)@ch:8123/a/b/c"),
            ("FLEET_CLICKHOUSE_URL", "http://u:\(secret)@ch:-1/fleet"),
            ("FLEET_GRAPH_REDIS_URL", "redis://:\(secret)@graph-redis:6380/x"),
        ]
    }

    @Test("a malformed URL holding a password fails naming the variable, never echoing the password")
    func malformedURLErrorsDoNotEchoThePassword() throws {
        for (variable, url) in Self.malformed {
            for useFile in [false, true] {
                var environment = ["FLEET_DEV_MODE": "1"]
                var file: String?
                if useFile {
                    file = try EnvironmentSecretsTests.file(url)
                    environment[variable + "_FILE"] = file
                } else {
                    environment[variable] = url
                }
                defer { if let file { try? FileManager.default.removeItem(atPath: file) } }
                let error = #expect(throws: ConfigurationError.self, "\(variable) accepted a malformed URL") {
                    try configuration(environment)
                }
                let text = error.map { "\($0)" } ?? ""
                #expect(text.contains(variable), "\(text)")
                #expect(!text.contains(Self.sentinel), "\(variable): the error echoes the password: \(text)")
                #expect(!text.contains("S3ntinel"), "\(variable): part of the password echoed: \(text)")
            }
        }
    }
}
