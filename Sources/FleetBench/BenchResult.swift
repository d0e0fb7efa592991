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
    /// The process's CPU time, user and system, from its start to this report (startup included),
    /// in milliseconds; nil from a runner that did not report it.
    public var cpuMilliseconds: Double?
    /// CLOCK_REALTIME (ns) of the moment the process was done with its last job: the C consumer
    /// after its job, the fleet when it queued the last ack. Drains only.
    public var lastEffectUnixNanos: Int64?
    /// CLOCK_REALTIME (ns) when the process last wrote an ack frame to its socket: the C consumer
    /// after each job's ack, the fleet's connection thread after each flush. Workloads A and B only;
    /// for the fleet it can be slightly before ``lastEffectUnixNanos``, which counts a job just after
    /// queueing its ack.
    public var lastAckWrittenUnixNanos: Int64?
    /// Set by `fleet bench` from ``BrokerProbe``: what the broker saw of a drain.
    public var broker: BrokerObserved?
    /// Set by `fleet bench` for the light-load workload.
    public var light: LightLoadSummary?

    /// A drain as the broker saw it: first delivery to every ack held by the queue.
    public struct BrokerObserved: Sendable, Codable, Equatable {
        /// Jobs over first delivery to queue empty with nothing unacked.
        public var wholeRate: Double
        /// Jobs per second while acked jobs went from 10% to 90%.
        public var steadyRate: Double
        /// From the process's last effect to the queue empty with nothing unacked; nil when the
        /// process did not report its last effect.
        public var tailMilliseconds: Double?
        /// From the process's last effect to the broker's channel process taking the last
        /// `basic.ack` frame (traced on the broker once at most a prefetch of messages remain):
        /// the part of the tail spent before the broker had the ack. Nil when not traced.
        public var lastAckFrameMilliseconds: Double?
        /// From the process's last effect to it writing its last ack frame to the socket: the
        /// process's own share of the tail, measured in the process. Nil when not reported.
        public var lastAckWrittenMilliseconds: Double?
    }

    /// Per job type (fleet runs of workloads C and hot): handler time, start to ack.
    public var types: [BenchTypeResult]?

    enum CodingKeys: String, CodingKey {
        case mode, jobs, seconds, broker, light, types
        case jobsPerSecond = "jobs_per_second"
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
        case maxRSSKiB = "max_rss_kib"
        case cpuMilliseconds = "cpu_ms"
        case lastEffectUnixNanos = "last_effect_unix_ns"
        case lastAckWrittenUnixNanos = "last_ack_written_unix_ns"
    }

    init(
        mode: String,
        jobs: Int,
        seconds: Double,
        p50: Duration,
        p99: Duration,
        maxRSSKiB: Int,
        cpuMilliseconds: Double? = nil
    ) {
        self.mode = mode
        self.jobs = jobs
        self.seconds = seconds
        self.jobsPerSecond = seconds > 0 ? Double(jobs) / seconds : 0
        self.p50Milliseconds = p50.seconds * 1000
        self.p99Milliseconds = p99.seconds * 1000
        self.maxRSSKiB = maxRSSKiB
        self.cpuMilliseconds = cpuMilliseconds
    }

    /// Process CPU per job in microseconds: on a machine the broker shares, what a runner spends of
    /// the cores is a steadier measure than its rate, which moves with everything else running.
    var cpuMicrosecondsPerJob: Double? {
        guard let cpuMilliseconds, jobs > 0 else { return nil }
        return cpuMilliseconds * 1000 / Double(jobs)
    }

    /// From the last effect to the last ack frame written, both the process's own clock readings.
    var lastAckWrittenMilliseconds: Double? {
        guard let lastEffectUnixNanos, let lastAckWrittenUnixNanos else { return nil }
        return Double(lastAckWrittenUnixNanos - lastEffectUnixNanos) / 1e6
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// CLOCK_REALTIME now, in nanoseconds: the clock the C baseline and the broker probe use.
    static func unixNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// The peak resident set of this process image (`VmHWM`). Not getrusage's `ru_maxrss`: Linux
    /// carries that over from the parent across fork and exec.
    static func ownPeakRSSKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        let fields = line?.split { $0 == " " || $0 == "\t" } ?? []
        return fields.count > 1 ? Int(fields[1]) ?? -1 : -1
    }

    /// This process's user and system CPU time so far, in milliseconds (`getrusage`).
    static func ownCPUMilliseconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func milliseconds(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime)
    }
}
