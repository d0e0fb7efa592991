import Foundation
import Testing

/// CI builds the benchmark but does not time it; this runs every workload once, small (light load
/// 2 s at 50 jobs/s), so a broken benchmark fails here. `fleet bench` itself checks each run: queues drained, counters exact,
/// every job applied once.
@Suite("Benchmark end to end")
struct BenchEndToEndTests {
    @Test("fleet bench runs every workload against the C baseline and writes its table")
    func benchRunsEveryWorkload() async throws {
        let environment = try await FleetTestEnvironment.make("bench", workers: [])
        let table = "\(NSTemporaryDirectory())/\(environment.name).md"
        defer { try? FileManager.default.removeItem(atPath: table) }
        let output = try await environment.fleet([
            "bench", "--runs", "1", "--jobs", "300", "--concurrency", "4", "--prefetch", "40", "--markdown", table,
            "--light-rate", "50", "--light-seconds", "2", "--hot-jobs", "100", "--hot-capacity", "20",
        ])
        let markdown = try String(contentsOfFile: table, encoding: .utf8)
        // The main table, the per-type table, light load, the targets.
        let sections = markdown.components(separatedBy: "\n\n")
        #expect(sections.count == 4, "\(markdown)")
        let rows = sections[0].split(separator: "\n").dropFirst(2)
        #expect(rows.count == 9, "\(markdown)")
        for workload in ["A: no-op", "B: lock + upsert", "C: job mix", "Publish, confirmed", "Hot: one event"] {
            #expect(rows.contains { $0.hasPrefix("| \(workload) |") }, "\(workload) in \(markdown)")
        }
        // Every fleet row that has a C baseline shows a ratio.
        let ratios = rows.filter {
            $0.contains("| fleet") && !$0.contains("C: job mix") && !$0.contains("Hot: one event")
        }
        .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(ratios.count == 4 && ratios.allSatisfy { $0[5] != "–" }, "\(markdown)")
        // The broker timed every drain of one queue: A and B, C and fleet, with a tail.
        let drains = rows.filter { $0.hasPrefix("| A: no-op |") || $0.hasPrefix("| B: lock + upsert |") }
        let columns = drains.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(columns.count == 5, "\(markdown)")
        // Broker-observed whole drain, steady rate and tail (columns 4, 5 and 9 of each row).
        #expect(columns.allSatisfy { $0[3] != "–" && $0[4] != "–" && $0[8] != "–" }, "\(markdown)")
        // Every row, C or fleet, has the process's CPU per job (column 10).
        let everyRow = rows.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(everyRow.allSatisfy { $0.count == 11 && Double($0[9].prefix { $0 != " " }) ?? 0 > 0 }, "\(markdown)")
        // The per-type table: the mix's eleven job types, and the hot event's registrations.
        let types = sections[1].split(separator: "\n").dropFirst(2)
        #expect(types.filter { $0.hasPrefix("| C: job mix |") }.count == 11, "\(markdown)")
        #expect(types.contains { $0.hasPrefix("| Hot: one event | `event.register` | 100 |") }, "\(markdown)")
        // Light load: 100 jobs for each consumer, every one paired with its ack at the broker.
        let light = sections[2].split(separator: "\n").dropFirst(2)
        #expect(light.count == 2 && light.allSatisfy { $0.contains("| 100 |") }, "\(markdown)")
        // Every target of the issue is printed with a verdict.
        let targets = sections[3].split(separator: "\n").dropFirst(2)
        #expect(targets.count == 8, "\(markdown)")
        #expect(targets.filter { $0.hasSuffix("| PASS |") || $0.hasSuffix("| FAIL |") }.count == 8, "\(markdown)")
        #expect(output.contains(markdown))
        // Each drain of one queue, C or fleet, says when the process wrote its last ack (A and B:
        // the C consumer and writer, the fleet at concurrency 1 and 4).
        let written = output.split(separator: "\n").filter { $0.contains("its last ack written at") }
        #expect(written.count == 5, "\(output)")
        await environment.tearDown()
    }
}
