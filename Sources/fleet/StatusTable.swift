import FleetOps
import Foundation

/// The text form of `fleet status`: a queue table and a worker table, columns aligned.
enum StatusTable {
    static func render(_ snapshot: StatusSnapshot, management: String) -> String {
        let formatter = ISO8601DateFormatter()
        var lines = [
            "fleet status  vhost \(snapshot.vhost)  at \(formatter.string(from: snapshot.takenAt))  "
                + "(management \(management))",
            "",
        ]
        var queues = [["QUEUE", "READY", "UNACKED", "CONSUMERS", "PUBLISH/S", "DELIVER/S", "RETRYING", "DLQ"]]
        for queue in snapshot.queues {
            guard queue.exists else {
                queues.append([queue.name, "-", "-", "-", "-", "-", "-", "-", "not declared"])
                continue
            }
            queues.append([
                queue.name, "\(queue.ready)", "\(queue.unacked)", "\(queue.consumers)", rate(queue.publishRate),
                rate(queue.deliverRate), "\(queue.retrying)", "\(queue.deadLettered)",
            ])
        }
        lines += aligned(queues)
        lines.append("")
        if snapshot.workers.isEmpty {
            lines.append("No workers given (--workers HOST:PORT,... or FLEET_WORKER_METRICS).")
        } else {
            var workers = [["WORKER", "STATUS", "JOBS", "FAILURES", "DEAD-LETTERED", "IN-FLIGHT", "P50", "P99"]]
            for worker in snapshot.workers {
                guard let summary = worker.summary else {
                    workers.append([worker.address, "unreachable: \(worker.error ?? "unknown")"])
                    continue
                }
                workers.append([
                    worker.address, "up", "\(summary.jobs)", "\(summary.failures)", "\(summary.deadLettered)",
                    "\(summary.inFlight)", duration(summary.p50), duration(summary.p99),
                ])
            }
            lines += aligned(workers)
        }
        return lines.joined(separator: "\n")
    }

    /// Rows as lines: the first column left-aligned, the others right-aligned, two spaces apart. A
    /// row's cells beyond the header's columns (a note, an error) follow unaligned; a worker's error
    /// takes the place of its figures.
    static func aligned(_ rows: [[String]]) -> [String] {
        let columns = rows.first?.count ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            // A short row (a worker's error) has only its first column aligned.
            for index in 0..<(row.count >= columns ? columns : min(1, row.count)) {
                widths[index] = max(widths[index], row[index].count)
            }
        }
        return rows.map { row in
            var cells: [String] = []
            for (index, cell) in row.enumerated() {
                let width = index < columns && row.count >= columns ? widths[index] : 0
                let padding = String(repeating: " ", count: max(0, width - cell.count))
                cells.append(index == 0 ? cell + padding : padding + cell)
            }
            if row.count < columns, let first = cells.first {
                cells[0] = first + String(repeating: " ", count: max(0, widths[0] - first.count))
            }
            var line = cells.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    static func rate(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Seconds as `850µs`, `12.3ms` or `1.25s`; `-` before the first job.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        if seconds < 0.001 { return String(format: "%.0fµs", seconds * 1_000_000) }
        if seconds < 1 { return String(format: "%.1fms", seconds * 1000) }
        return String(format: "%.2fs", seconds)
    }
}
