import FleetContract
import Foundation

/// One entry of `schedules.yaml`: a job enqueued at each fire time of a cron expression in a time
/// zone.
public struct Schedule: Sendable {
    /// What to do about ticks that passed while no scheduler replica could enqueue them.
    public enum MissedPolicy: String, Sendable {
        /// Only ticks from now on.
        case skip
        /// The most recent missed tick once, then ticks from now on.
        case runOnce = "run_once"
    }

    /// The entry's key: letters, digits, `.`, `_`, `-`; part of each tick's idempotency key.
    public let name: String
    public let cron: CronExpression
    public let timeZone: TimeZone
    /// The zone as `schedules.yaml` names it (Foundation may call UTC `GMT`).
    public let timeZoneName: String
    public let jobType: String
    /// Validated through the job type's definition when the file is read.
    public let payload: [String: JSONValue]
    public let missed: MissedPolicy

    public init(
        name: String,
        cron: CronExpression,
        timeZone: TimeZone,
        jobType: String,
        payload: [String: JSONValue],
        missed: MissedPolicy,
        timeZoneName: String? = nil
    ) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.timeZoneName = timeZoneName ?? timeZone.identifier
        self.jobType = jobType
        self.payload = payload
        self.missed = missed
    }

    /// The first tick strictly after `date`.
    public func nextFire(after date: Date) -> Date? { cron.nextFire(after: date, in: timeZone) }

    /// The ticks to enqueue now, in order, given the last one enqueued (`cursor`): every tick after
    /// it up to `now` that is at most `catchUp` old, preceded, for `run_once`, by the most recent
    /// older one (a missed tick). `skippedMissed` tells that `skip` dropped at least one.
    public func dueTicks(after cursor: Date, now: Date, catchUp: Duration) -> (ticks: [Date], skippedMissed: Bool) {
        let oldest = now.addingTimeInterval(-catchUp.timeInterval)
        var ticks: [Date] = []
        var skipped = false
        if cursor < oldest, let missed = cron.lastFire(atOrBefore: oldest, after: cursor, in: timeZone) {
            if self.missed == .runOnce { ticks.append(missed) } else { skipped = true }
        }
        var from = max(cursor, oldest)
        while let next = nextFire(after: from), next <= now {
            ticks.append(next)
            from = next
        }
        return (ticks, skipped)
    }

    /// The job's idempotency key for a tick: `schedule:<name>:<tick in RFC 3339 UTC>`, so two
    /// enqueues of one tick (whatever replica) are one job to the workers.
    public func idempotencyKey(tick: Date) -> String { "schedule:\(name):\(RFC3339.format(tick))" }

    /// The job of a tick, ready for the outbox or a producer.
    public func envelope(tick: Date, id: String = UUIDText.random(), now: Date = Date()) -> JobEnvelope {
        JobEnvelope(
            id: id,
            type: jobType,
            version: 1,
            createdAt: now,
            idempotencyKey: idempotencyKey(tick: tick),
            payload: payload
        )
    }

    /// What a schedule name may be (it goes into idempotency keys and log lines).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 100 else { return false }
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
        }
        return allowed(first) && name.unicodeScalars.allSatisfy { allowed($0) || ".-_".unicodeScalars.contains($0) }
    }

    /// Reads `schedules.yaml` (beside queues.yaml). Every problem names the file and the key path.
    ///
    /// - Parameters:
    ///   - definitions: job types a schedule may enqueue; each payload is validated by its definition.
    ///   - topology: when given, each job type must also be routed by it (have a queue).
    public static func load(
        path: String,
        definitions: [any JobDefinition.Type] = JobContract.definitions,
        topology: Topology? = nil
    ) throws -> [Schedule] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(file: path, path: "", problem: "cannot read the file")
        }
        return try parse(yaml: text, file: path, definitions: definitions, topology: topology)
    }

    public static func parse(
        yaml: String,
        file: String = "schedules.yaml",
        definitions: [any JobDefinition.Type] = JobContract.definitions,
        topology: Topology? = nil
    ) throws -> [Schedule] {
        let root = try YAMLReader(file: file, text: yaml)
        try root.allowOnly(["schedules"])
        // `schedules:` with every entry commented out reads as null: no schedules.
        if root.mapping["schedules"] is NSNull { return [] }
        let byType = Dictionary(uniqueKeysWithValues: definitions.map { ($0.jobType, $0) })
        var schedules: [Schedule] = []
        for (name, entry) in try root.entries("schedules") {
            guard isValidName(name) else {
                throw root.fail(
                    "schedules.\(name)",
                    "a schedule name takes 1 to 100 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
                )
            }
            try entry.allowOnly(["cron", "time_zone", "job_type", "payload", "missed"])
            let cron: CronExpression
            do {
                cron = try CronExpression(try entry.string("cron"))
            } catch let error as CronError {
                throw entry.fail("cron", error.description)
            }
            let zoneName = try entry.string("time_zone", default: "UTC")
            guard let zone = TimeZone(identifier: zoneName) else {
                throw entry.fail(
                    "time_zone",
                    "\(zoneName.debugDescription) is not an IANA time zone (e.g. Europe/Berlin)"
                )
            }
            let jobType = try entry.string("job_type")
            guard let definition = byType[jobType] else {
                throw entry.fail(
                    "job_type",
                    "\(jobType.debugDescription) is not a job type of the contract (expected one of: "
                        + "\(byType.keys.sorted().joined(separator: ", ")))"
                )
            }
            if let topology, topology.queue(forJobType: jobType) == nil {
                throw entry.fail("job_type", "\(jobType) has no queue in queues.yaml")
            }
            let payloadReader = try entry.nested("payload", required: false)
            let payload = try payloadReader?.mapping.mapValues { try json($0, reader: payloadReader!) } ?? [:]
            do {
                _ = try definition.init(payload: FieldReader(payload: payload), version: 1)
            } catch {
                throw entry.fail("payload", "not a valid \(jobType) payload: \(error)")
            }
            let missedText = try entry.string("missed", default: MissedPolicy.skip.rawValue)
            guard let missed = MissedPolicy(rawValue: missedText) else {
                throw entry.fail("missed", "expected skip or run_once, found \(missedText.debugDescription)")
            }
            schedules.append(
                Schedule(
                    name: name,
                    cron: cron,
                    timeZone: zone,
                    jobType: jobType,
                    payload: payload,
                    missed: missed,
                    timeZoneName: zoneName
                )
            )
        }
        return schedules
    }

    /// A YAML value as the JSON the envelope carries. YAML's own types without a JSON twin (a
    /// timestamp written unquoted) become their text.
    private static func json(_ value: Any, reader: YAMLReader) throws -> JSONValue {
        switch value {
        case is NSNull: return .null
        case let bool as Bool: return .bool(bool)
        case let int as Int: return .integer(Int64(int))
        case let double as Double: return .number(double)
        case let string as String: return .string(string)
        case let date as Date: return .string(RFC3339.format(date))
        case let list as [Any]: return .array(try list.map { try json($0, reader: reader) })
        case let mapping as [String: Any]: return .object(try mapping.mapValues { try json($0, reader: reader) })
        default: throw reader.fail("", "a value of type \(type(of: value)) cannot be sent as JSON")
        }
    }
}
