// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for the decoders that read bytes from outside (issue 15): one executable per
// decoder, each calling the real code of the main package (by path, product FleetFuzzedDecoders).
// A separate package so the main build never sees `-sanitize=fuzzer`; scripts/fuzz.sh builds it with
// `-sanitize=fuzzer,address` and runs the targets. Each target's main.swift hands over to libFuzzer
// through FuzzDriver.
let dependencies: [Target.Dependency] = [
    .product(name: "FleetFuzzedDecoders", package: "WorkerFleet"), "FuzzDriver",
]

let package = Package(
    name: "WorkerFleetFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "WorkerFleet", path: "..")
    ],
    targets: [.target(name: "FuzzDriver")]
        + ["FuzzEnvelope", "FuzzJSON", "FuzzPackStream", "FuzzBSON", "FuzzAMQPHeaders"].map {
            .executableTarget(name: $0, dependencies: dependencies)
        }
)
