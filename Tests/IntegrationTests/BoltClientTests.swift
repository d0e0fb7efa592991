import Bolt
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Integration tests against a Bolt server (FLEET_BOLT_URL, default bolt://127.0.0.1:17687): FalkorDB
/// 4.16 locally; the Cypher is valid for Neo4j 5 too. Every test uses its own labels (a random
/// suffix made here) and deletes its nodes.
///
/// Serialized, and limited to what FalkorDB survives: it crashes on a temporal value in a result and
/// when the parameters of one query pass about 4 KB of text (a 4,096-byte string, or two of 2,500). It also splices string parameters into the query text unescaped, so
/// no parameter here holds a quote or a backslash (the fleet sends only UUIDs and its own strings).
@Suite("Bolt client", .serialized)
struct BoltClientTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_BOLT_URL"] ?? "bolt://127.0.0.1:17687"

    func configuration() throws -> BoltConfiguration { try BoltConfiguration(url: Self.url) }

    /// Runs `body` on a fresh connection and closes it, also when `body` throws.
    func withConnection<T>(_ body: (BoltConnection) async throws -> T) async throws -> T {
        let connection = try await BoltConnection.connect(try configuration())
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// A label unique to one test.
    func label(_ name: String) -> String { "\(name)_\(UInt32.random(in: 0...UInt32.max))" }

    // MARK: - Configuration (no server)

    @Test func parsesURLs() throws {
        let full = try BoltConfiguration(url: "bolt://neo4j:s3cr%40t@graph.internal:7688")
        #expect(full.host == "graph.internal" && full.port == 7688)
        #expect(full.username == "neo4j" && full.password == "s3cr@t")
        let minimal = try BoltConfiguration(url: "BOLT://localhost/")
        #expect(minimal.port == 7687 && minimal.username == nil)
        let ipv6 = try BoltConfiguration(url: "bolt://[::1]:7000")
        #expect(ipv6.redactedAddress == "[::1]:7000")
        let configuration = try BoltConfiguration(url: "bolt://neo4j:hunter2@graph.internal:7688")
        for text in ["\(configuration)", String(reflecting: configuration), configuration.redactedAddress] {
            #expect(!text.contains("hunter2"), "password leaked in \(text)")
        }
    }

    @Test(arguments: [
        "neo4j://u:hunter2@host:7687", "bolt://", "bolt://u:hunter2@", "bolt://u:hunter2@host:x",
        "bolt://u:hunter2@host:70000", "bolt://:hunter2@host", "bolt://u:hunter2%zz@host", "bolt://host/db?x=hunter2",
    ])
    func rejectsBadURLs(url: String) {
        let error = #expect(throws: BoltError.self) { try BoltConfiguration(url: url) }
        #expect(error?.code == .configuration)
        #expect(error.map { "\($0)".contains("hunter2") } == false)
    }

    @Test func classifiesTransientErrors() {
        func server(_ code: String) -> BoltError {
            BoltError(code: .server, message: "m", address: "h:1", serverCode: code)
        }
        #expect(server("Neo.TransientError.Transaction.DeadlockDetected").isTransient)
        #expect(server("Neo.TransientError.Transaction.Terminated").isTransient)
        #expect(!server("Neo.ClientError.Statement.SyntaxError").isTransient)
        #expect(!server("SyntaxError").isTransient)
        #expect(BoltError(code: .connection, message: "m", address: "h:1").isTransient)
    }

    // MARK: - Connection

    @Test func negotiatesBolt5() async throws {
        let connection = try await BoltConnection.connect(try configuration())
        #expect(connection.version.major == 5 && (1...4).contains(connection.version.minor))
        #expect(connection.serverInfo["server"]?.string != nil)
        #expect(await connection.isUsable)
        await connection.close()
        #expect(await !connection.isUsable)
        let error = await #expect(throws: BoltError.self) { try await connection.run("RETURN 1") }
        #expect(error?.code == .usage)
    }

    @Test func connectionRefusedNamesTheAddress() async throws {
        // Port 1 on loopback: nothing listens there.
        let error = await #expect(throws: BoltError.self) {
            try await BoltConnection.connect(try BoltConfiguration(url: "bolt://127.0.0.1:1"))
        }
        #expect(error?.code == .connection)
        #expect(error?.isTransient == true)
        #expect(error.map { "\($0)".contains("127.0.0.1:1") } == true)
    }

    @Test func theVersionReplyWaitsTheRequestTimeoutNotTheConnectTimeout() async throws {
        // A listener that accepts and never answers: a server too busy to reply to the handshake.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        var configuration = try BoltConfiguration(url: "bolt://127.0.0.1:\(silent.localAddress?.port ?? 0)")
        configuration.connectTimeoutSeconds = 1
        configuration.requestTimeoutSeconds = 3
        let started = ContinuousClock.now
        let error = await #expect(throws: BoltError.self) {
            let connection = try await BoltConnection.connect(configuration)
            await connection.close()
        }
        let waited = ContinuousClock.now - started
        try await silent.close()
        #expect(error?.code == .connection)
        #expect(error.map { "\($0)".contains("version handshake timed out") } == true, "\(String(describing: error))")
        // Not before the 3 s request timeout (the 1 s connect timeout covers the TCP connect only).
        #expect(waited >= .seconds(3), "\(waited)")
    }

    // MARK: - Values

    @Test func returnsScalarsListsAndMaps() async throws {
        let result = try await withConnection { (connection: BoltConnection) async throws in
            try await connection.run(
                """
                RETURN 1 AS tiny, -17 AS int8, 40000 AS int32, 9223372036854775807 AS max, 2.5 AS float, \
                'é日本🧑‍💻' AS text, [1, 'a', [true]] AS list, {k: null, b: false, n: {x: 1}} AS map, \
                null AS nothing, true AS yes
                """
            )
        }
        #expect(result.keys == ["tiny", "int8", "int32", "max", "float", "text", "list", "map", "nothing", "yes"])
        #expect(result.rows.count == 1)
        let row = result.records[0]
        #expect(row["tiny"] == 1 && row["int8"] == -17 && row["int32"] == 40_000)
        #expect(row["max"] == .integer(.max))
        #expect(row["float"] == 2.5)
        #expect(row["text"] == "é日本🧑‍💻")
        #expect(row["list"] == [1, "a", [true]])
        #expect(row["map"] == ["k": nil, "b": false, "n": ["x": 1]])
        #expect(row["nothing"] == .null && row["yes"] == true)
    }

    @Test func parametersRoundTrip() async throws {
        let values: [String: BoltValue] = [
            "i": .integer(.min), "f": -0.125, "s": "unicode é 🧑‍💻 ; ${x} {a} // $where tab\t",
            "l": [1, "two", 3.0, nil], "m": ["nested": ["deep": [true, false]]], "n": nil, "b": true, "empty": "",
            // FalkorDB 4.16 crashes once the parameters, spliced into the query text, pass about 4 KB.
            "long": .string(String(repeating: "0123456789", count: 100)),
        ]
        let result = try await withConnection { (connection: BoltConnection) async throws in
            try await connection.run(
                "RETURN $i AS i, $f AS f, $s AS s, $l AS l, $m AS m, $n AS n, $b AS b, $empty AS empty, $long AS long",
                parameters: values
            )
        }
        #expect(result.records.first == values)
    }

    @Test func manyRowsStream() async throws {
        let result = try await withConnection { (connection: BoltConnection) async throws in
            try await connection.run("UNWIND range(1, $n) AS i RETURN i, i * 2 AS twice", parameters: ["n": 2_000])
        }
        #expect(result.rows.count == 2_000)
        #expect(result.rows.last == [2_000, 4_000])
    }

    // MARK: - Graph values

    @Test func nodesRelationshipsAndPaths() async throws {
        let label = label("Person")
        let type = "KNOWS_" + label
        try await withConnection { (connection: BoltConnection) async throws in
            let created = try await connection.run(
                "CREATE (a:\(label) {name: $a})-[r:\(type) {since: $since}]->(b:\(label) {name: $b}) RETURN a, r, b",
                parameters: ["a": "Ada", "b": "Brian", "since": 2024]
            )
            #expect(created.stats["nodes-created"] == 2)
            let a = try #require(created.first("a")?.node)
            let r = try #require(created.first("r")?.relationship)
            let b = try #require(created.records[0]["b"]?.node)
            #expect(a.labels == [label] && a.properties == ["name": "Ada"])
            #expect(b.properties == ["name": "Brian"])
            #expect(!a.elementId.isEmpty && a.elementId != b.elementId)
            #expect(r.type == type && r.properties == ["since": 2024])
            #expect(r.startNodeId == a.id && r.endNodeId == b.id)
            #expect(r.startNodeElementId == a.elementId && r.endNodeElementId == b.elementId)

            let paths = try await connection.run(
                "MATCH p = (:\(label) {name: $name})-[:\(type)]->(:\(label)) RETURN p",
                parameters: ["name": "Ada"]
            )
            let path = try #require(paths.first("p")?.path)
            #expect(path.walk?.map { $0.properties["name"] } == ["Ada", "Brian"])
            #expect(path.relationships.map(\.type) == [type])
            #expect(path.relationships.first?.elementId == r.elementId)
            #expect(path.indices == [1, 1])

            // A path walked against the relationship's direction has a negative relationship index.
            let backwards = try await connection.run(
                "MATCH p = (:\(label) {name: $name})<-[:\(type)]-(:\(label)) RETURN p",
                parameters: ["name": "Brian"]
            )
            let reverse = try #require(backwards.first("p")?.path)
            #expect(reverse.walk?.map { $0.properties["name"] } == ["Brian", "Ada"])
            #expect(reverse.indices == [-1, 1])

            let collected = try await connection.run(
                "MATCH (n:\(label)) RETURN collect(n.name) AS names, {count: count(n)} AS summary"
            )
            #expect(Set(collected.first("names")?.list ?? []) == ["Ada", "Brian"])
            #expect(collected.first("summary") == ["count": 2])

            let deleted = try await connection.run("MATCH (n:\(label)) DETACH DELETE n")
            #expect(deleted.rows.isEmpty)
            #expect(deleted.stats["nodes-deleted"] == 2)
            #expect(try await connection.run("MATCH (n:\(label)) RETURN count(n) AS n").first("n") == 0)
        }
    }

    // MARK: - Failures

    @Test func aFailureIsResetAndTheConnectionStaysUsable() async throws {
        try await withConnection { (connection: BoltConnection) async throws in
            for _ in 0..<3 {
                let error = await #expect(throws: BoltError.self) { try await connection.run("RETURN nope(") }
                #expect(error?.code == .server)
                // Neo4j: Neo.ClientError.Statement.SyntaxError; FalkorDB: SyntaxError.
                #expect(error?.serverCode?.hasSuffix("SyntaxError") == true)
                #expect(error?.isTransient == false)
                #expect(await connection.isUsable)
                #expect(try await connection.run("RETURN 42 AS answer").first("answer") == 42)
            }
            // An unknown function is refused too, with the parameters sent alongside.
            await #expect(throws: BoltError.self) {
                try await connection.run("RETURN noSuchFunction($x) AS y", parameters: ["x": 1])
            }
            #expect(try await connection.run("RETURN $x AS x", parameters: ["x": 7]).first("x") == 7)
        }
    }

    // MARK: - Transactions

    @Test func transactionCommits() async throws {
        let label = label("TxCommit")
        try await withConnection { (connection: BoltConnection) async throws in
            let count = try await connection.transaction { tx in
                try await tx.run("CREATE (:\(label) {v: $v})", parameters: ["v": 1])
                try await tx.run("CREATE (:\(label) {v: $v})", parameters: ["v": 2])
                return try await tx.run("MATCH (n:\(label)) RETURN count(n) AS n").first("n")
            }
            #expect(count == 2)
            #expect(await connection.isUsable)
            // sum() of integers is an integer on Neo4j, a float on FalkorDB.
            #expect(try await connection.run("MATCH (n:\(label)) RETURN sum(n.v) AS s").first("s")?.double == 3)
            try await connection.run("MATCH (n:\(label)) DELETE n")
        }
    }

    struct Abort: Error {}

    @Test func transactionRollsBackOnThrow() async throws {
        let label = label("TxRollback")
        try await withConnection { (connection: BoltConnection) async throws in
            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    try await tx.run("CREATE (:\(label))")
                    throw Abort()
                }
            }
            #expect(await connection.isUsable)
            let left = try await connection.run("MATCH (n:\(label)) RETURN count(n) AS n").first("n")
            withKnownIssue("FalkorDB accepts BEGIN/ROLLBACK but applies every query at once", isIntermittent: true) {
                #expect(left == 0)
            }
            try await connection.run("MATCH (n:\(label)) DELETE n")
        }
    }

    @Test func aFailedQueryEndsTheTransaction() async throws {
        try await withConnection { (connection: BoltConnection) async throws in
            let error = await #expect(throws: BoltError.self) {
                try await connection.transaction { tx in
                    _ = try? await tx.run("RETURN nope(")
                    try await tx.run("RETURN 1")  // the transaction is over: refused
                }
            }
            #expect(error?.code == .usage)
            #expect(await connection.isUsable)
            #expect(try await connection.run("RETURN 1 AS one").first("one") == 1)
        }
    }

    // MARK: - Schema

    /// `CREATE INDEX FOR (n:L) ON (n.p)` is valid on both servers; FalkorDB refuses `IF NOT EXISTS`
    /// and a second creation ("already indexed"). Neo4j drops an index by name, FalkorDB by label and property.
    @Test func createsAnIndex() async throws {
        let label = label("User")
        try await withConnection { (connection: BoltConnection) async throws in
            let created = try await connection.run("CREATE INDEX FOR (u:\(label)) ON (u.user_id)")
            #expect(created.rows.isEmpty)
            try await connection.run("CREATE (:\(label) {user_id: $id})", parameters: ["id": "u-1"])
            let found = try await connection.run(
                "MATCH (u:\(label)) WHERE u.user_id = $id RETURN u.user_id AS id",
                parameters: ["id": "u-1"]
            )
            #expect(found.first("id") == "u-1")
            try await connection.run("MATCH (n:\(label)) DELETE n")
            _ = try? await connection.run("DROP INDEX ON :\(label)(user_id)")
        }
    }

    // MARK: - Pool

    @Test func poolReusesAFewConnections() async throws {
        let client = BoltClient(configuration: try configuration(), maxConnections: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let result = try await client.run("RETURN $i AS i", parameters: ["i": .integer(Int64(index))])
                    #expect(result.first("i") == .integer(Int64(index)))
                }
            }
            try await group.waitForAll()
        }
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<6 {
                group.addTask { try await client.withConnection { $0.serverInfo["connection_id"]?.string } }
            }
            return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        #expect(ids.count <= 2)
        let committed = try await client.transaction { tx in try await tx.run("RETURN 1 AS one").first("one") }
        #expect(committed == 1)
        // A failure on a pooled connection leaves it reset and back in the pool.
        await #expect(throws: BoltError.self) { try await client.run("RETURN nope(") }
        #expect(try await client.run("RETURN 2 AS two").first("two") == 2)
        await client.shutdown()
        let error = await #expect(throws: BoltError.self) { try await client.run("RETURN 1") }
        #expect(error?.code == .shutDown)
        #expect(error?.isTransient == true, "another worker can run the job")
    }

    /// A ``DroppingProxy`` in front of the server, and a configuration that connects through it.
    func proxied() async throws -> (DroppingProxy, BoltConfiguration) {
        var configuration = try configuration()
        let proxy = try await DroppingProxy.start(to: configuration.host, port: configuration.port)
        configuration.host = "127.0.0.1"
        configuration.port = proxy.port
        return (proxy, configuration)
    }

    /// FalkorDB under load sometimes drops a connection it has just accepted; no request was sent
    /// on it, so the pool connects again instead of failing the caller's query.
    @Test func aConnectionDroppedDuringItsHandshakeIsOpenedAgainByThePool() async throws {
        let (proxy, configuration) = try await proxied()

        proxy.dropOnNextRequest()
        let direct = await #expect(throws: BoltError.self) { try await BoltConnection.connect(configuration) }
        #expect(direct?.code == .connection && direct?.isTransient == true)

        let client = BoltClient(configuration: configuration, maxConnections: 1)
        proxy.dropOnNextRequest()
        #expect(try await client.run("RETURN 1 AS one").first("one") == 1)
        await client.shutdown()
        try await proxy.stop()
    }

    @Test func aConnectionBrokenMidRequestFailsTransientlyAndIsReplaced() async throws {
        let (proxy, configuration) = try await proxied()
        let client = BoltClient(configuration: configuration, maxConnections: 2)
        // Each step names itself when it throws: a reset here has had more than one cause.
        func step<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
            do { return try await body() } catch {
                Issue.record("\(name): \(error)")
                throw error
            }
        }
        // The pool's first connection is not under test; FalkorDB dropping it during the handshake
        // (seen in CI under load) is retried by the pool.
        #expect(try await step("first request") { try await client.run("RETURN 1 AS one").first("one") } == 1)

        // The request is written, then the connection breaks before any reply.
        proxy.dropOnNextRequest()
        let error = await #expect(throws: BoltError.self) { try await client.run("RETURN 2 AS two") }
        #expect(error?.code == .connection && error?.isTransient == true)
        #expect(error.map { "\($0)".contains("127.0.0.1:\(proxy.port)") } == true)
        #expect(
            try await step("request after the break") { try await client.run("RETURN 3 AS three") }.first("three") == 3
        )

        // Idle connections closed under the pool are replaced without the caller noticing, once
        // the client has read the close: on a loaded machine that may take longer than any sleep,
        // so the test waits for the idle connection (the only one: every call here was sequential)
        // to say it is no longer usable.
        let idle = try await client.withConnection { $0 }
        await proxy.dropAll()
        let deadline = ContinuousClock.now + .seconds(60)
        while await idle.isUsable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await !idle.isUsable, "the client never saw the proxy close its connection")
        #expect(try await step("request after dropAll") { try await client.run("RETURN 4 AS four") }.first("four") == 4)
        await client.shutdown()
        try await proxy.stop()
    }
}
