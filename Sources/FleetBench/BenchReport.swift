import Foundation

/// The results of every run, summarised as median and range per workload and side.
public struct BenchReport: Sendable {
    public let jobs: Int
    public let concurrency: Int
    public let prefetch: Int

    struct Row: Sendable {
        var workload: BenchWorkload
        var side: String
        var isBaseline: Bool
        var results: [Int: BenchResult] = [:]
    }

    private(set) var rows: [Row] = []

    init(jobs: Int, concurrency: Int, prefetch: Int) {
        self.jobs = jobs
        self.concurrency = concurrency
        self.prefetch = prefetch
    }

    mutating func add(_ result: BenchResult, workload: BenchWorkload, side: String, isBaseline: Bool, run: Int) {
        if let index = rows.firstIndex(where: { $0.workload == workload && $0.side == side }) {
            rows[index].results[run] = result
        } else {
            rows.append(Row(workload: workload, side: side, isBaseline: isBaseline, results: [run: result]))
        }
    }

    /// Fleet jobs/s over the baseline's in the same run, median over runs; nil without a baseline.
    func ratios(of row: Row) -> [Double]? {
        guard !row.isBaseline,
            let baseline = rows.first(where: { $0.workload == row.workload && $0.isBaseline })
        else { return nil }
        return row.results.compactMap { run, result in
            baseline.results[run].map { result.jobsPerSecond / $0.jobsPerSecond }
        }
    }

    /// A Markdown table: jobs/s median (min–max), ratio to the baseline, latencies and peak RSS.
    public var markdown: String {
        var lines = [
            "| Workload | Runner | jobs/s, median (min–max) | fleet/C, median (min–max) | p50 ms | p99 ms | peak RSS MiB |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows {
            let results = Array(row.results.values)
            let rate = Self.summary(results.map(\.jobsPerSecond), format: "%.0f")
            let ratio = ratios(of: row).map { Self.summary($0, format: "%.2f") } ?? "–"
            let p50 = String(format: "%.2f", Self.median(results.map(\.p50Milliseconds)))
            let p99 = String(format: "%.2f", Self.median(results.map(\.p99Milliseconds)))
            let rss = String(format: "%.1f", Double(results.map(\.maxRSSKiB).max() ?? 0) / 1024)
            lines.append(
                "| \(row.workload.title) | \(row.side) | \(rate) | \(ratio) | \(p50) | \(p99) | \(rss) |"
            )
        }
        return (lines + typeTableLines).joined(separator: "\n")
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func summary(_ values: [Double], format: String) -> String {
        guard let low = values.min(), let high = values.max() else { return "–" }
        return
            "\(String(format: format, median(values))) (\(String(format: format, low))–\(String(format: format, high)))"
    }
}

extension BenchWorkload {
    var title: String {
        switch self {
        case .noop: "A: no-op"
        case .write: "B: lock + upsert"
        case .mix: "C: job mix"
        case .publish: "Publish, confirmed"
        case .hot: "Hot: one event"
        }
    }
}
