import Bolt
import Foundation
import MongoDB
import NIOCore
import NIOPosix
import Redis
import Testing

/// The TLS side of the local services (`scripts/tls-proxies.sh`, started by `scripts/services.sh start`):
/// `scripts/services.sh env` prints the URLs these tests use. Without them (a services folder started
/// before TLS support) the suites are skipped.
enum TLSServers {
    static let environment = ProcessInfo.processInfo.environment
    /// `mongodb://localhost:57018/fleet?tls=true&tlsCAFile=…/ca.pem`: stunnel in front of nx-27017.
    static let mongoURL = environment["FLEET_TLS_MONGODB_URL"]
    /// `bolt+s://localhost:17688?tls_ca_file=…/ca.pem`: stunnel in front of FalkorDB's Bolt port.
    static let boltURL = environment["FLEET_TLS_BOLT_URL"]
    /// `redis://127.0.0.1:56382/0`: the stunnel client proxy to redis-server's own TLS port.
    static let redisURL = environment["FLEET_TLS_REDIS_URL"]
    /// The folder of `scripts/tls-ca.sh`: ca.pem, wrong-ca.pem, server.pem (for `localhost` only).
    static let folder = environment["FLEET_TLS_DIR"] ?? environment["FLEET_SERVICES_DIR"].map { "\($0)/tls" }

    static var available: Bool { mongoURL != nil && boltURL != nil && redisURL != nil && folder != nil }
    static let skipReason: Comment = "needs the FLEET_TLS_* variables of scripts/services.sh env"

    /// `url` trusting the wrong CA (one that signed nothing the servers use).
    static func withWrongCA(_ url: String) -> String {
        url.replacingOccurrences(of: "/ca.pem", with: "/wrong-ca.pem")
    }

    /// `url` without its query (the CA file).
    static func withoutQuery(_ url: String) throws -> String {
        String(url[..<(try #require(url.firstIndex(of: "?")))])
    }

    /// `url` naming the server by an address its certificate does not hold (it names `localhost` only).
    static func withWrongHostName(_ url: String) -> String {
        url.replacingOccurrences(of: "://localhost:", with: "://127.0.0.1:")
    }
}

@Suite("MongoDB over TLS", .enabled(if: TLSServers.available, TLSServers.skipReason))
struct MongoTLSTests {
    /// A scratch database of the TLS URL's server, dropped at the end.
    func withScratchDatabase(_ url: String, _ body: (MongoConnection) throws -> Void) throws {
        var configuration = try MongoConfiguration(url: url)
        configuration.database = "tls_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try MongoConnection.connect(configuration)
        defer {
            try? connection.dropDatabase()
            connection.close()
        }
        try body(connection)
    }

    @Test func insertsAndFindsWithTheCertificateVerified() throws {
        try withScratchDatabase(try #require(TLSServers.mongoURL)) { connection in
            let collection = connection.collection("tls_check")
            try collection.insertOne(["_id": "over-tls", "value": 42])
            let found = try #require(try collection.findOne(["_id": "over-tls"]))
            #expect(found["value"]?.intValue == 42)
        }
    }

    /// libmongoc's server-selection error reaches the caller: it says TLS and why, names the server,
    /// and never the URL's password.
    @Test func aWrongCAFailsWithACertificateError() throws {
        let url = TLSServers.withWrongCA(try #require(TLSServers.mongoURL))
            .replacingOccurrences(of: "mongodb://", with: "mongodb://fleet:tls-sentinel-pw@")
        let error = #expect(throws: MongoError.self) {
            try withScratchDatabase(url) { try $0.ping() }
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.kind == .connection)
        #expect(text.contains("TLS handshake failed") && text.contains("certificate verify failed"), "\(text)")
        #expect(text.contains("localhost:"), "\(text)")
        #expect(!text.contains("tls-sentinel-pw"))
    }

    @Test func aWrongHostNameFailsWithACertificateError() throws {
        let url = TLSServers.withWrongHostName(try #require(TLSServers.mongoURL))
        let error = #expect(throws: MongoError.self) {
            try withScratchDatabase(url) { try $0.ping() }
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.kind == .connection)
        #expect(text.contains("TLS handshake failed") && text.contains("127.0.0.1:"), "\(text)")
    }
}

@Suite("Bolt over TLS", .enabled(if: TLSServers.available, TLSServers.skipReason))
struct BoltTLSTests {
    func returnOne(_ url: String) async throws -> Int64? {
        var configuration = try BoltConfiguration(url: url)
        // The parallel pass can stall a test process for ~30 s (seen in CI): the default 30 s
        // reply timeout, which also bounds the TLS and version handshakes, then closes the channel
        // before HELLO.
        configuration.connectTimeoutSeconds = 60
        configuration.requestTimeoutSeconds = 60
        let connection = try await BoltConnection.connect(configuration)
        do {
            let result = try await connection.run("RETURN 1 AS one")
            await connection.close()
            return result.first("one")?.int
        } catch {
            await connection.close()
            throw error
        }
    }

    func connectionError(_ url: String) async throws -> BoltError? {
        let configuration = try BoltConfiguration(url: url)
        return await #expect(throws: BoltError.self) {
            let connection = try await BoltConnection.connect(configuration)
            await connection.close()
        }
    }

    @Test func queriesWithTheCertificateVerifiedAgainstTheCAFile() async throws {
        let url = try #require(TLSServers.boltURL)
        #expect(try BoltConfiguration(url: url).tls != .off)
        #expect(try await returnOne(url) == 1)
    }

    @Test func aWrongCAFailsWithACertificateVerificationError() async throws {
        let error = try await connectionError(TLSServers.withWrongCA(try #require(TLSServers.boltURL)))
        #expect(error?.code == .connection)
        #expect(error?.message.contains("TLS certificate verification failed") == true, "\(String(describing: error))")
        #expect(error?.message.contains("wrong-ca.pem") == true)
        #expect(error.map { "\($0)".contains("localhost:") } == true)
    }

    /// The certificate names `localhost` only: `127.0.0.1` is refused although the CA is right.
    @Test func aWrongHostNameFailsWithAHostNameVerificationError() async throws {
        let error = try await connectionError(TLSServers.withWrongHostName(try #require(TLSServers.boltURL)))
        #expect(error?.code == .connection)
        #expect(error?.message.contains("TLS host name verification failed") == true, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("127.0.0.1:") } == true)
    }

    /// Without tls_ca_file the system's trust store decides, and it does not hold the local CA.
    @Test func theSystemTrustStoreDoesNotTrustTheLocalCA() async throws {
        let withoutCA = try TLSServers.withoutQuery(try #require(TLSServers.boltURL))
        let error = try await connectionError(withoutCA)
        #expect(error?.message.contains("TLS certificate verification failed") == true, "\(String(describing: error))")
        #expect(error?.message.contains("system trust store") == true)
    }

    /// bolt+ssc checks nothing: no CA file, and even the wrong host name connects.
    @Test func boltSSCConnectsWithoutCheckingTheCertificate() async throws {
        let unverified = TLSServers.withWrongHostName(try TLSServers.withoutQuery(try #require(TLSServers.boltURL)))
            .replacingOccurrences(of: "bolt+s://", with: "bolt+ssc://")
        #expect(try BoltConfiguration(url: unverified).tls == .unverified)
        #expect(try await returnOne(unverified) == 1)
    }

    @Test func aMissingCAFileIsAConfigurationError() async throws {
        let error = try await connectionError(
            "bolt+s://localhost:1?tls_ca_file=/nonexistent/workerfleet-ca.pem"
        )
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("/nonexistent/workerfleet-ca.pem") == true, "\(String(describing: error))")
    }
}

@Suite("Redis through the TLS client proxy", .enabled(if: TLSServers.available, TLSServers.skipReason))
struct RedisTLSProxyTests {
    @Test func commandsReachRedisThroughTheProxy() throws {
        let connection = try RedisConnection.connect(try RedisConfiguration(url: try #require(TLSServers.redisURL)))
        defer { connection.close() }
        let key = "fleet:tls-proxy-test:\(UUID().uuidString)"
        defer { _ = try? connection.command(["DEL", key]) }
        try connection.command(["SET", key, "over-tls", "EX", "60"])
        #expect(try connection.command(["GET", key]).string == "over-tls")
    }

    /// A second stunnel client that trusts the wrong CA: the fleet sees its connection closed, and
    /// stunnel's log says why (what the README tells operators to look for). The refusal reaches the
    /// client at its first command or, when stunnel rejects the certificate before the client's
    /// connect returns (seen in CI on a loaded machine), at the connect itself.
    @Test func aProxyTrustingTheWrongCARefusesAndLogsWhy() async throws {
        let folder = try #require(TLSServers.folder)
        let redisTLSPort = try #require(ProcessInfo.processInfo.environment["FLEET_REDIS_TLS_PORT"])
        let proxy = try await TemporaryStunnel.start(
            service: """
                client = yes
                connect = 127.0.0.1:\(redisTLSPort)
                verifyChain = yes
                CAfile = \(folder)/wrong-ca.pem
                checkHost = localhost
                """
        )
        defer { proxy.stop() }
        let error = #expect(throws: RedisError.self) {
            let connection = try RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: proxy.port))
            defer { connection.close() }
            try connection.command(["PING"])
        }
        #expect(error?.code == .connection, "\(String(describing: error))")
        let log = try await proxy.log(waitingFor: "certificate verify failed")
        #expect(log.contains("Rejected by CERT"), "\(log)")
    }

    @Test func redissIsRefusedWithThePointerToTheProxy() {
        let error = #expect(throws: RedisError.self) {
            try RedisConfiguration(url: "rediss://:tls-sentinel-pw@cache.internal:6380/0")
        }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("TLS client proxy") == true)
        #expect(error.map { "\($0)".contains("tls-sentinel-pw") } == false)
    }
}

/// A stunnel of a test's own, on a free loopback port, stopped by ``stop()``.
struct TemporaryStunnel {
    let process: Process
    let port: Int
    let folder: URL

    /// Starts `stunnel4` with one service (`service`: its lines without `accept`) and waits until it listens.
    static func start(service: String) async throws -> TemporaryStunnel {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stunnel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try await freePort()
        let config = """
            foreground = yes
            pid =
            syslog = no
            output = \(folder.path)/stunnel.log
            [test]
            accept = 127.0.0.1:\(port)
            \(service)
            """
        try config.write(to: folder.appendingPathComponent("stunnel.conf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/stunnel4")
        process.arguments = [folder.appendingPathComponent("stunnel.conf").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let proxy = TemporaryStunnel(process: process, port: port, folder: folder)
        // Generous: a cold, loaded machine.
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await listening(port)) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                proxy.stop()
                throw StunnelError(message: "stunnel did not listen on \(port)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return proxy
    }

    /// Its log once it holds `text` (stunnel writes it a moment after the connection closed).
    func log(waitingFor text: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let log = (try? String(contentsOf: folder.appendingPathComponent("stunnel.log"), encoding: .utf8)) ?? ""
            if log.contains(text) || ContinuousClock.now >= deadline { return log }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL: a child of the test runner inherits its blocked signals, SIGTERM among them.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    struct StunnelError: Error { let message: String }

    /// A port the kernel just handed out and released again.
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    private static func listening(_ port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
