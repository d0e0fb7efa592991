// swift-tools-version:6.0
import PackageDescription

// An API server's view of WorkerFleet: it imports FleetProducer and nothing else of the fleet, so
// it links librabbitmq and no store client (no libpq, libmongoc, libbson or hiredis).
// `scripts/producer-example.sh` builds it and checks exactly that; CI runs the script.
let package = Package(
    name: "ProducerExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The repository itself, by path: what an API server names by URL and version.
        .package(name: "WorkerFleet", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "producer-example",
            dependencies: [
                .product(name: "FleetProducer", package: "WorkerFleet"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/ProducerExample"
        )
    ]
)
