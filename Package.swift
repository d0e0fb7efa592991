// swift-tools-version:6.2
import PackageDescription

// Warnings are errors in CI: `.ci/run` builds with `-Xswiftc -warnings-as-errors`.
let package = Package(
    name: "WorkerFleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fleet", targets: ["fleet"]),
        // What an API server imports to publish jobs: the contract and an AMQP producer, no store client.
        .library(name: "FleetProducer", targets: ["FleetProducer"]),
        // What an API server imports to write jobs into its own PostgreSQL transaction (an outbox).
        .library(name: "FleetOutbox", targets: ["FleetOutbox"]),
        // The consumer runtime, for a worker of one's own; store-agnostic.
        .library(name: "FleetCore", targets: ["FleetCore"]),
        .executable(name: "fleet-bench-baseline", targets: ["FleetBenchBaseline"]),
        // The decoders the libFuzzer targets drive (issue 15); Fuzz/ is a separate package that links only these.
        .library(name: "FleetFuzzedDecoders", targets: ["FleetContract", "Bolt", "MongoDB", "AMQP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // AES-GCM and SHA-256 for backup artifacts.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // Observability (issue 14): the HTTP listener, the Prometheus backend, and job/store spans.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // `fleet dashboard`'s templates (issue 14).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // The OTLP/HTTP span exporter, on only with FLEET_OTEL_EXPORTER=otlp (no gRPC: trait OTLPHTTP only).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // Bolt over TLS (bolt+s://, bolt+ssc://; issue 15); already in the graph through async-http-client.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // C libraries: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CRabbitMQ", pkgConfig: "librabbitmq", providers: [.apt(["librabbitmq-dev"])]),
        // libpq's and libmongoc's headers only: the process opens both libraries on first use (CLazyLibraries).
        // Debian's include layout (<postgresql/libpq-fe.h>, <libmongoc-1.0/mongoc/mongoc.h>), as the
        // Dockerfile's build image has it; pkg-config would also link the libraries.
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libbson-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // Stubs for the libmongoc and libpq functions the clients call, opening each library on the first
        // call: a worker that uses neither store never maps them (or their TLS, Kerberos and LDAP libraries).
        .target(name: "CLazyLibraries", dependencies: ["CMongoc", "CLibPQ"]),

        // Runs blocking C calls on NIOThreadPool threads and pools their connections.
        .target(
            name: "BlockingIO",
            dependencies: [
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // Parses the clients' service URLs: pure Swift, no dependencies.
        .target(name: "ServiceURL"),
        // The kernel's random bytes, drawn 4 KiB at a time (job ids, row ids, lock tokens).
        .target(name: "KernelRandom"),
        // Clients: the only importers of the C modules.
        .target(
            name: "AMQP",
            dependencies: [
                "CRabbitMQ", "ServiceURL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "CLazyLibraries", "BlockingIO", "ServiceURL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis", "BlockingIO", "ServiceURL", "KernelRandom",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "MongoDB",
            dependencies: [
                "CMongoc", "CLazyLibraries", "BlockingIO", "ServiceURL",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Neo4j over Bolt 5 on swift-nio: PackStream, messages, connection, pool.
        .target(
            name: "Bolt",
            dependencies: [
                "ServiceURL", "BlockingIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // ClickHouse over its HTTP interface, on blocking keep-alive sockets: DDL, JSONEachRow inserts, queries.
        .target(
            name: "ClickHouse",
            dependencies: [
                "BlockingIO", "FleetContract", "ServiceURL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The job contract as code: envelope, JSON, field rules, one definition per job type.
        // Foundation only: no store, no AMQP.
        .target(name: "FleetContract", dependencies: ["KernelRandom"]),
        // Signed jobs (issue 15): HMAC-SHA256 over the body and the fleet headers, keys by id, the signing modes.
        .target(name: "FleetSigning", dependencies: ["AMQP", .product(name: "Crypto", package: "swift-crypto")]),
        // Publishing typed jobs with confirms; the library API servers import.
        .target(
            name: "FleetProducer",
            dependencies: [
                "AMQP", "FleetContract", "FleetSigning",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The transactional outbox: the writer (libpq, or SQL for any driver) and the relay.
        .target(
            name: "FleetOutbox",
            dependencies: [
                "AMQP", "FleetContract", "FleetProducer", "FleetSigning", "Postgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The consumer runtime: topology, retry policy, handler protocol, processor, DLQ tools.
        // Knows no store: store rules are injected (FleetStoreKit).
        .target(
            name: "FleetCore",
            dependencies: [
                "AMQP", "BlockingIO", "FleetContract", "FleetSigning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The store side of the guarantees, one folder per store: error classification, job
        // ledgers and guarded updates, and their pruning.
        .target(
            name: "FleetStoreKit",
            dependencies: ["FleetContract", "FleetCore", "Postgres", "Redis", "MongoDB", "Bolt", "ClickHouse"]
        ),
        // Backups: the artifact format (gzip, AES-GCM chunks, atomic files, manifests), retention, the
        // per-store lock, and one exporter/restorer per store.
        .target(
            name: "FleetBackup",
            dependencies: [
                "CZlib", "BlockingIO", "Postgres", "Redis", "MongoDB", "Bolt", "ClickHouse",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Operations: reads the broker's management API and the workers' /metrics for `fleet status` and
        // the dashboard. No store client.
        .target(
            name: "FleetOps",
            dependencies: [
                "FleetCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // Every fleet process's HTTP listener: /metrics (swift-prometheus), /healthz, /readyz.
        .target(
            name: "FleetObservability",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `fleet dashboard`: server-rendered pages over FleetOps and the DLQ tools, admin token + CSRF for actions.
        .target(
            name: "FleetDashboard",
            dependencies: [
                "FleetOps", "FleetCore", "FleetContract", "AMQP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The job handlers and their store code, one folder per domain; and migrations.
        .target(
            name: "FleetJobs",
            dependencies: [
                "FleetContract", "FleetCore", "FleetStoreKit", "Postgres", "Redis", "MongoDB", "Bolt", "ClickHouse",
                "BlockingIO", "FleetBackup",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The composition root: configuration, store clients, the job catalog, worker assembly,
        // maintenance and the demo.
        .target(
            name: "FleetApp",
            dependencies: [
                "AMQP", "FleetContract", "FleetCore", "FleetStoreKit", "FleetJobs", "FleetProducer", "FleetSigning",
                "FleetOutbox", "Postgres", "Redis", "MongoDB", "Bolt", "ClickHouse", "FleetBackup",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `fleet bench`: the workloads, the fleet side of each run, and the report.
        .target(
            name: "FleetBench",
            dependencies: [
                "FleetContract", "FleetCore", "FleetStoreKit", "FleetJobs", "FleetApp", "FleetProducer",
                "AMQP", "Postgres", "Redis", "MongoDB", "Bolt", "ClickHouse",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "fleet",
            dependencies: [
                "FleetContract", "FleetCore", "FleetStoreKit", "FleetJobs", "FleetApp", "FleetProducer", "FleetBench",
                "FleetOutbox", "ClickHouse", "FleetBackup", "FleetOps", "FleetObservability", "FleetDashboard", "FleetSigning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Release: lld with packed relative relocations (DT_RELR) and no symbol exported from the
            // executable. The loader then reads a small relocation table instead of one 24-byte entry per
            // pointer, and with --static-swift-stdlib (the Dockerfile's build) the libraries never search
            // the runtime's symbols: a no-op worker's peak RSS fell by 2 MiB (dynamic) and 13 MiB (static).
            // The executable stays position-independent. The functions a worker runs come first, in the
            // order of bench/order/fleet.order (`scripts/order-file.sh`), and the functions without a
            // symbol together (bench/order/fleet.lds): the kernel maps 64 KiB around each page of code a
            // process touches, so scattered functions cost far more than their size.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/bench/order/fleet.order",
                        "-Xlinker", "--no-warn-symbol-ordering",
                        "-Xlinker", "--script=\(Context.packageDirectory)/bench/order/fleet.lds",
                    ],
                    .when(configuration: .release)
                )
            ]
        ),
        // The single-threaded C program `fleet bench` compares the fleet against.
        .executableTarget(
            name: "FleetBenchBaseline",
            dependencies: ["CRabbitMQ", "CLibPQ", "CHiredis"],
            path: "Sources/FleetBenchBaseline",
            // CLibPQ links nothing (the fleet opens libpq lazily); the C baseline links it as any C program would.
            linkerSettings: [.linkedLibrary("pq")]
        ),
        .testTarget(name: "FleetContractTests", dependencies: ["FleetContract"]),
        .testTarget(name: "FleetProducerTests", dependencies: ["FleetProducer", "AMQP"]),
        // Signing's canonical bytes (golden vector), rotation, tampering, the keys file and the modes.
        .testTarget(name: "FleetSigningTests", dependencies: ["FleetSigning", "AMQP"]),
        // The contract checked: payload schemas against the validators, the AsyncAPI document, queues.yaml and
        // the README against the definitions. Runs scripts/contract-tools.sh (Python, from PyPI).
        .testTarget(
            name: "ContractTests",
            dependencies: ["FleetContract", "FleetCore", "FleetApp", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "FleetCoreTests",
            dependencies: [
                "FleetCore", "FleetContract", "FleetStoreKit", "FleetProducer", "FleetSigning",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "FleetJobsTests", dependencies: ["FleetJobs", "FleetContract", "FleetStoreKit", "FleetApp"]),
        .testTarget(name: "MongoDBTests", dependencies: ["MongoDB"]),
        .testTarget(name: "FleetBackupTests", dependencies: ["FleetBackup"]),
        .testTarget(name: "BoltTests", dependencies: ["Bolt"]),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ServiceURLTests", dependencies: ["ServiceURL"]),
        // fleet status's readers: the metrics text parser and percentiles (unit), the management API (real broker).
        .testTarget(name: "FleetOpsTests", dependencies: ["FleetOps", "FleetCore"]),
        // The listener's endpoints over real HTTP, its readiness rules and address parsing.
        .testTarget(
            name: "FleetObservabilityTests",
            dependencies: [
                "FleetObservability",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The dashboard's pure parts: sparklines, filter parsing, CSRF and session checks, escaping.
        .testTarget(name: "FleetDashboardTests", dependencies: ["FleetDashboard", "FleetCore"]),
        // The ClickHouse client: literal escaping (unit) and round trips against the real server.
        .testTarget(name: "ClickHouseTests", dependencies: ["ClickHouse", "BlockingIO"]),
        .testTarget(
            name: "FleetBenchTests",
            dependencies: ["FleetBench", "FleetContract", "FleetCore", "FleetJobs", "FleetApp", "Postgres", "Redis"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "AMQP", "Postgres", "Redis", "MongoDB", "Bolt", "FleetContract", "FleetCore", "FleetStoreKit",
                "FleetJobs", "FleetApp", "FleetProducer", "BlockingIO", "FleetOutbox", "ClickHouse", "FleetBackup",
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "AMQP", "Postgres", "Redis", "MongoDB", "Bolt", "FleetContract", "FleetCore", "FleetStoreKit",
                "FleetJobs", "FleetApp", "FleetProducer", "FleetOutbox", "ClickHouse", "FleetSigning",
                "BlockingIO",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
    ]
)
