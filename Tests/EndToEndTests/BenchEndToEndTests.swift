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
            "--hot-jobs", "100", "--hot-capacity", "20",
        ])
        let markdown = try String(contentsOfFile: table, encoding: .utf8)
        let tables = markdown.components(separatedBy: "\n\n")
        let rows = tables[0].split(separator: "\n").dropFirst(2)
        #expect(rows.count == 9, "\(markdown)")
        for workload in ["A: no-op", "B: lock + upsert", "C: job mix", "Publish, confirmed", "Hot: one event"] {
            #expect(rows.contains { $0.hasPrefix("| \(workload) |") }, "\(workload) in \(markdown)")
        }
        // Every fleet row that has a C baseline shows a ratio.
        let ratios = rows.filter {
            $0.contains("| fleet") && !$0.contains("C: job mix") && !$0.contains("Hot: one event")
        }
        #expect(ratios.count == 4 && ratios.allSatisfy { !$0.contains("| – |") }, "\(markdown)")
        // The per-type table: the mix's eleven job types, and the hot event's registrations.
        let types = tables.count > 1 ? tables[1].split(separator: "\n").dropFirst(2) : []
        #expect(types.filter { $0.hasPrefix("| C: job mix |") }.count == 11, "\(markdown)")
        #expect(types.contains { $0.hasPrefix("| Hot: one event | `event.register` | 100 |") }, "\(markdown)")
        #expect(output.contains(markdown))
        await environment.tearDown()
    }
}
