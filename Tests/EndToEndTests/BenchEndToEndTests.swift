import Foundation
import Testing

/// CI builds the benchmark but does not time it; this runs every workload once, small, so a broken
/// benchmark fails here. `fleet bench` itself checks each run: queues drained, counters exact,
/// every job applied once.
@Suite("Benchmark end to end")
struct BenchEndToEndTests {
    @Test("fleet bench runs every workload against the C baseline and writes its table")
    func benchRunsEveryWorkload() async throws {
        let environment = try await FleetTestEnvironment.make("bench", workers: [])
        let table = "\(NSTemporaryDirectory())/\(environment.name).md"
        defer { try? FileManager.default.removeItem(atPath: table) }
        let output = try environment.fleet([
            "bench", "--runs", "1", "--jobs", "300", "--concurrency", "4", "--prefetch", "40", "--markdown", table,
        ])
        let markdown = try String(contentsOfFile: table, encoding: .utf8)
        let rows = markdown.split(separator: "\n").dropFirst(2)
        #expect(rows.count == 8, "\(markdown)")
        for workload in ["A: no-op", "B: lock + upsert", "C: job mix", "Publish, confirmed"] {
            #expect(rows.contains { $0.hasPrefix("| \(workload) |") }, "\(workload) in \(markdown)")
        }
        // Every fleet row that has a C baseline shows a ratio.
        let ratios = rows.filter { $0.contains("| fleet") && !$0.contains("C: job mix") }
        #expect(ratios.count == 4 && ratios.allSatisfy { !$0.contains("| – |") }, "\(markdown)")
        #expect(output.contains(markdown))
        await environment.tearDown()
    }
}
