import Foundation
import Testing

/// bench/order/trace.c, which scripts/order-file.sh runs each bench worker under to list the
/// functions of `fleet` that workers run (the release link places them together).
@Suite("Function-order tracer")
struct OrderTraceTests {
    /// A temporary folder holding the tracer, built from the repository's source.
    struct Workspace {
        let directory: String

        init() async throws {
            directory = "\(NSTemporaryDirectory())/order-trace-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let source = "\(FleetTestEnvironment.repositoryRoot)/bench/order/trace.c"
            try await runShell("gcc -O2 -o '\(directory)/trace' '\(source)'")
        }

        /// The symbols file the tracer reads, listed as scripts/order-file.sh lists them.
        func symbols(of program: String) async throws -> String {
            let path = "\(directory)/symbols"
            let script = "\(FleetTestEnvironment.repositoryRoot)/bench/order/symbols.sh"
            try await runShell("bash '\(script)' '\(program)' > '\(path)'")
            return path
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test("lists the functions that ran, on every thread, in the order they first ran, and keeps the exit status")
    func tracesAProgram() async throws {
        let workspace = try await Workspace()
        defer { workspace.remove() }
        let program = "\(workspace.directory)/program"
        try """
        #include <pthread.h>
        #include <stdio.h>
        __attribute__((noinline)) int first(int x) { return x + 1; }
        __attribute__((noinline)) int second(int x) { return x * 2; }
        __attribute__((noinline)) int never(int x) { return x - 1; }
        __attribute__((noinline)) void *in_thread(void *unused) { return (void *)(long)first(1); }
        int main(int argc, char **argv) {
            pthread_t thread;
            pthread_create(&thread, 0, in_thread, 0);
            pthread_join(thread, 0);
            int value = second(first(argc));
            if (argc > 5) value = never(value);
            printf("%d\\n", value);
            return 3;
        }
        """.write(toFile: "\(program).c", atomically: true, encoding: .utf8)
        try await runShell("gcc -O1 -pthread -o '\(program)' '\(program).c'")
        let symbols = try await workspace.symbols(of: program)
        let output = "\(workspace.directory)/ran.%p"
        let child = try ChildProcess(
            "\(workspace.directory)/trace",
            [symbols, output, program],
            standardOutput: "\(workspace.directory)/stdout"
        )
        await child.exited()
        #expect(child.terminationStatus == 3, "the program's exit status: \(child.outcome)")
        let printed = try String(contentsOfFile: "\(workspace.directory)/stdout", encoding: .utf8)
        #expect(printed == "4\n", "the program ran as without the tracer")
        let traces = try FileManager.default.contentsOfDirectory(atPath: workspace.directory)
            .filter { $0.hasPrefix("ran.") }
        try #require(traces.count == 1, "one trace, named with the pid: \(traces)")
        let ran = try String(contentsOfFile: "\(workspace.directory)/\(traces[0])", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let order = ["main", "in_thread", "first", "second"].map { ran.firstIndex(of: $0) }
        #expect(order.allSatisfy { $0 != nil } && order == order.sorted { $0! < $1! }, "\(ran)")
        #expect(!ran.contains("never"), "\(ran)")
        #expect(Set(ran).count == ran.count, "each function once: \(ran)")
    }

    @Test("fleet bench runs its workers under FLEET_BENCH_WORKER_WRAPPER, as scripts/order-file.sh does")
    func tracesABenchWorker() async throws {
        let workspace = try await Workspace()
        defer { workspace.remove() }
        let environment = try await FleetTestEnvironment.make("ordertrace", workers: [])
        let symbols = try await workspace.symbols(of: FleetTestEnvironment.fleetBinary)
        let output = try await environment.fleet(
            ["bench", "--runs", "1", "--jobs", "100", "--workloads", "noop", "--concurrency", "4", "--prefetch", "40"],
            environment: [
                "FLEET_BENCH_WORKER_WRAPPER": "\(workspace.directory)/trace \(symbols) \(workspace.directory)/ran.%p"
            ]
        )
        #expect(output.contains("A: no-op, fleet"), "\(output)")
        let traces = try FileManager.default.contentsOfDirectory(atPath: workspace.directory)
            .filter { $0.hasPrefix("ran.") }
        // Only the fleet's side runs under the wrapper, not the C consumer.
        try #require(traces.count == 1, "\(traces)")
        let ran = try String(contentsOfFile: "\(workspace.directory)/\(traces[0])", encoding: .utf8)
            .split(separator: "\n")
        // The worker's consumer ran, and the benchmark's no-op handler.
        #expect(ran.contains { $0.hasPrefix("$s9FleetCore13QueueConsumer") }, "\(ran.prefix(20))")
        #expect(ran.contains { $0.hasPrefix("$s10FleetBench7NoOpJob") }, "\(ran.prefix(20))")
        await environment.tearDown()
    }
}
