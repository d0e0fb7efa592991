import Foundation

extension BenchReport {
    /// A second Markdown table, per job type of the runs that report types (workloads C and hot):
    /// jobs of that type per run and their handler time, medians over the runs. Empty without any.
    var typeTableLines: [String] {
        var lines: [String] = []
        for row in rows {
            let runs = row.results.values.compactMap(\.types)
            guard !runs.isEmpty else { continue }
            let types = Set(runs.flatMap { $0.map(\.type) }).sorted()
            for type in types {
                let results = runs.compactMap { $0.first { $0.type == type } }
                let jobs = Self.median(results.map { Double($0.jobs) })
                let p50 = Self.median(results.map(\.p50Milliseconds))
                let p99 = Self.median(results.map(\.p99Milliseconds))
                let times = String(format: "%.0f | %.2f | %.2f", jobs, p50, p99)
                lines.append("| \(Self.title(row.workload)) | `\(type)` | \(times) |")
            }
        }
        guard !lines.isEmpty else { return [] }
        return [
            "",
            "| Workload | Job type | jobs per run | handler p50 ms | handler p99 ms |",
            "|---|---|---|---|---|",
        ] + lines
    }
}

extension BenchResult {
    /// One progress line per job type, for the runs that report types.
    var typeLines: [String] {
        (types ?? []).map { type in
            "    \(type.type): \(type.jobs) jobs, "
                + String(format: "handler p50 %.3f ms, p99 %.3f ms", type.p50Milliseconds, type.p99Milliseconds)
        }
    }
}
