import Foundation

/// One timed run, fleet or C baseline: both print this as one line of JSON.
public struct BenchResult: Sendable, Codable {
    public var mode: String
    public var jobs: Int
    public var seconds: Double
    public var jobsPerSecond: Double
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var maxRSSKiB: Int
    /// Per job type (fleet runs of workloads C and hot): handler time, start to ack.
    public var types: [BenchTypeResult]?

    enum CodingKeys: String, CodingKey {
        case mode, jobs, seconds, types
        case jobsPerSecond = "jobs_per_second"
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
        case maxRSSKiB = "max_rss_kib"
    }

    init(mode: String, jobs: Int, seconds: Double, p50: Duration, p99: Duration, maxRSSKiB: Int) {
        self.mode = mode
        self.jobs = jobs
        self.seconds = seconds
        self.jobsPerSecond = seconds > 0 ? Double(jobs) / seconds : 0
        self.p50Milliseconds = p50.seconds * 1000
        self.p99Milliseconds = p99.seconds * 1000
        self.maxRSSKiB = maxRSSKiB
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The peak resident set of this process image (`VmHWM`). Not getrusage's `ru_maxrss`: Linux
    /// carries that over from the parent across fork and exec.
    static func ownPeakRSSKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        let fields = line?.split { $0 == " " || $0 == "\t" } ?? []
        return fields.count > 1 ? Int(fields[1]) ?? -1 : -1
    }
}
