import FleetContract
import Foundation

/// Generated payloads and envelopes: valid ones from typed values, and mutations of them (missing
/// members, wrong types, boundaries, out-of-range values, extra members, bad UUIDs, ObjectIds and
/// timestamps, hostile strings). `SchemaAgreementTests` runs each through the Swift validator and the
/// JSON Schema validator.
enum Corpus {
    struct Case: Sendable {
        /// `payload:<type>` or `envelope`.
        let schema: String
        let instance: JSONValue
        /// What was done, for failure messages.
        let label: String
    }

    /// The clock the envelope decoder checks `created_at` against.
    static let now = RFC3339.parse("2026-11-29T00:00:00Z")!
    /// The contract's payload rules, as the workers apply them.
    static let validator = JobValidator(now: { now })

    static let userId = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    static let otherUserId = "16fd2706-8baf-433b-82eb-8c7fada847da"
    static let objectId = "65a1f0c2e4b0a1b2c3d4e5f6"

    // MARK: - Typed values

    /// Valid jobs of every type, built from typed values (also used for the round trips).
    static let typedValues: [any JobDefinition] = {
        var values: [any JobDefinition] = JobContract.definitions.compactMap { $0.example }
        let upper = userId.uppercased()
        values += [
            ProfileCompletionRecalculate(userId: userId), ProfileCompletionRecalculate(userId: upper),
            CareerProgressRecalculate(userId: userId), CareerProgressRecalculate(userId: userId, pathId: otherUserId),
            ContentPublish(contentId: objectId), ContentPublish(contentId: objectId.uppercased()),
            ContentPublish(contentId: objectId, publishAt: RFC3339.parse("2027-01-01T00:00:00.123Z")),
            ContentUnpublish(contentId: objectId),
            EventRegister(userId: userId, eventId: otherUserId), EventCancel(userId: upper, eventId: otherUserId),
            MentorshipStart(userId: userId, mentorUserId: otherUserId),
            MentorshipSessionLogged(userId: otherUserId, mentorUserId: userId),
        ]
        for kind in AssessmentScore.Kind.allCases {
            for score in [kind.scores.lowerBound, kind.scores.upperBound] {
                values.append(AssessmentScore(userId: userId, skillId: objectId, kind: kind, score: score))
            }
        }
        for action in EnrollmentUpdate.Action.allCases {
            for progress in [nil, 0, 100] as [Int?] where action != .progress || progress != nil {
                values.append(
                    EnrollmentUpdate(
                        userId: userId,
                        courseId: otherUserId,
                        action: action,
                        progressPercentage: progress
                    )
                )
            }
        }
        let timestamp = RFC3339.parse("2026-11-01T10:20:30.456Z")!
        let metrics: [TrendMetrics] = [
            TrendMetrics(demandScore: 0, jobPostingsCount: 0),
            TrendMetrics(demandScore: -3.5, jobPostingsCount: TrendMetrics.maxJobPostingsCount, growthRate: -0.25),
            TrendMetrics(demandScore: 1e-7, jobPostingsCount: 12, avgSalary: .init()),
            TrendMetrics(
                demandScore: 99.25,
                jobPostingsCount: 7,
                avgSalary: .init(entryLevel: 0, seniorLevel: 1e9),
                companiesHiring: Array(
                    repeating: String(repeating: "😀", count: TrendMetrics.maxCompanyNameLength),
                    count: 3
                )
            ),
            TrendMetrics(
                demandScore: 1,
                jobPostingsCount: 1,
                companiesHiring: Array(repeating: "a", count: TrendMetrics.maxCompanies)
            ),
        ]
        let regions = [
            "EU", "Île-de-France", String(repeating: "😀", count: JobMarketTrendIngest.maxRegionLength),
            "e" + String(repeating: "\u{301}", count: JobMarketTrendIngest.maxRegionLength - 1), " \u{301}", "\u{FEFF}",
        ]
        for (index, metric) in metrics.enumerated() {
            values.append(
                JobMarketTrendIngest(
                    skillId: objectId,
                    region: regions[index % regions.count],
                    timestamp: timestamp,
                    metrics: metric
                )
            )
        }
        for region in regions {
            values.append(
                JobMarketTrendIngest(skillId: objectId, region: region, timestamp: timestamp, metrics: metrics[0])
            )
        }
        return values
    }()

    // MARK: - Value pools

    static let uuids: [JSONValue] = [
        .string(userId), .string(userId.uppercased()), "7C9E6679-7425-40de-944B-e07fc1f90ae7",
        "00000000-0000-0000-0000-000000000000", "7c9e6679-7425-40de-944b-e07fc1f90ae",
        "7c9e6679-7425-40de-944b-e07fc1f90ae70",
        "7c9e66797425-40de-944b-e07fc1f90ae7-", "7c9e6679742540de944be07fc1f90ae7",
        "7c9e6679-7425-40de-944b-e07fc1f90aeg",
        " 7c9e6679-7425-40de-944b-e07fc1f90ae7", "7c9e6679-7425-40de-944b-e07fc1f90ae7 ",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7\n",
        "{7c9e6679-7425-40de-944b-e07fc1f90ae7}", "urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "７c9e6679-7425-40de-944b-e07fc1f90ae7", "7c9e6679‐7425-40de-944b-e07fc1f90ae7",
    ]

    static let objectIds: [JSONValue] = [
        .string(objectId), .string(objectId.uppercased()), "000000000000000000000000", "65a1f0c2e4b0a1b2c3d4e5f",
        "65a1f0c2e4b0a1b2c3d4e5f6a", "65a1f0c2e4b0a1b2c3d4e5fg", "65a1f0c2e4b0a1b2c3d4e5f6\n",
        .string("ObjectId(\"\(objectId)\")"),
        "６5a1f0c2e4b0a1b2c3d4e5f6",
    ]

    /// Timestamps the parser accepts, then ones it refuses.
    static let timestamps: [JSONValue] = [
        "2026-11-29T12:00:00Z", "2026-11-29t12:00:00z", "2026-11-29 12:00:00Z", "2026-11-29T12:00:00.5+01:00",
        "2026-11-29T12:00:00.123456789-23:59", "2026-11-28T12:00:00-00:00", "2024-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "0000-02-29T00:00:00Z", "1600-02-29T23:59:59Z", "2026-06-30T23:59:60Z", "2026-02-28T00:00:00Z",
        "2026-04-30T00:00:00Z",
        "2026-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-11-30T00:00:00Z",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-32T00:00:00Z", "2026-11-29T24:00:00Z",
        "2026-11-29T23:60:00Z", "2026-11-29T23:59:61Z", "2026-11-29T12:00:00", "2026-11-29T12:00:00.Z",
        "2026-11-29T12:00:00+24:00", "2026-11-29T12:00:00+01:60", "2026-11-29T12:00:00+0100", "2026-11-29",
        "2026-11-29T12:00Z", "12026-11-29T12:00:00Z", "2026-11-29T12:00:00Z\n", " 2026-11-29T12:00:00Z",
        "2026-11-29T12:00:00ZZ", "２026-11-29T12:00:00Z", "2026-11-29T12:00:00,5Z", "2026-11-29_12:00:00Z",
        "2026-1-29T12:00:00Z", "2026-11-29T1:00:00Z", "2026-11-29T12:00:00.5", "2026-11-29T12:00:00+01",
    ]

    static let regions: [JSONValue] = [
        "EU", "Île-de-France", "", " ", "\t", "\u{3000}", "\u{A0}", "\u{A0}x", "\u{FEFF}", " \u{301}", "\u{200B}",
        "\u{2028}",
        "\u{180E}", "a\u{0}b", "a\u{7}", "a\u{7F}", "\u{85}x", "x\u{9F}", "x\n", "\nx", "x\r\n",
        .string(String(repeating: "a", count: 100)), .string(String(repeating: "a", count: 101)),
        .string(String(repeating: "😀", count: 100)), .string(String(repeating: "😀", count: 101)),
        .string("e" + String(repeating: "\u{301}", count: 99)), .string("e" + String(repeating: "\u{301}", count: 100)),
        .string(String(repeating: " ", count: 100) + "x"), "$where", "{\"$gt\": \"\"}", "a.b",
        "MATCH (n) DETACH DELETE n",
        "\u{202E}gnp.exe", "🇫🇷",
    ]

    static let enums: [JSONValue] = [
        "enroll", "progress", "complete", "drop", "Enroll", "enroll ", "progress\n", "technical_assessment",
        "self_assessment",
        "TECHNICAL_ASSESSMENT", "self-assessment", "unknown", "",
    ]

    static let numbers: [JSONValue] = [
        0, 1, -1, 2, 9, 10, 11, 99, 100, 101, 1000, .number(100.0), .number(0.0), .number(-0.0), .number(100.5),
        .number(0.5),
        .number(1e-7), .number(Double.leastNonzeroMagnitude), .number(1e15), .number(999_999_999_999_999.0),
        999_999_999_999_999, 1_000_000_000_000_000,
        .integer(Int64.max), .integer(Int64.min), .number(9.3e18), .number(1e300), .number(-1e300), .number(-0.5),
        .number(10.0),
        .number(1.0),
    ]

    static let others: [JSONValue] = [.null, true, false, [], [:], ["x"], ["a": 1], "1", "true", "null"]

    static let hostile: [JSONValue] = [
        "{\"$gt\": \"\"}", "$where", "' OR 1=1 --", "}) MATCH (n) DETACH DELETE n //",
        .string(String(repeating: "x", count: 5000)),
        "\u{0}", "%00", "../../etc/passwd",
    ]

    static let companyLists: [JSONValue] = [
        [], ["Acme"], [""], [1], [.null], [["a": 1]], "Acme",
        .array([.string(String(repeating: "a", count: 200))]), .array([.string(String(repeating: "a", count: 201))]),
        .array([.string(String(repeating: "😀", count: 200))]),
        .array([.string("e" + String(repeating: "\u{301}", count: 199))]),
        .array([.string("e" + String(repeating: "\u{301}", count: 200))]),
        .array(Array(repeating: "a", count: 1000)), .array(Array(repeating: "a", count: 1001)),
    ]

    static let salaries: [JSONValue] = [
        [:], ["entry_level": 1], ["entry_level": -1], ["mid_level": .number(-0.0)], ["senior_level": "1"],
        ["entry_level": .null, "mid_level": .null, "senior_level": .null], ["bonus": 1],
        ["entry_level": .number(1e300)],
    ]

    /// Every value a member is set to.
    static let pool: [JSONValue] =
        uuids + objectIds + timestamps + regions + enums + numbers + others + hostile + companyLists + salaries

    // MARK: - Payloads

    /// Payloads of `definition`: its valid typed values, then mutations of its example.
    static func payloadCases(_ definition: any JobDefinition.Type) -> [Case] {
        let type = definition.jobType
        let schema = "payload:\(type)"
        var cases: [Case] = typedValues.filter { Swift.type(of: $0).jobType == type }.map {
            Case(schema: schema, instance: .object($0.payload), label: "typed value")
        }
        guard let base = definition.example?.payload else { return cases }
        func add(_ object: [String: JSONValue], _ label: String) {
            cases.append(Case(schema: schema, instance: .object(object), label: label))
        }
        let properties = definition.payloadSchema["properties"]?.objectValue ?? [:]
        for key in Set(base.keys).union(properties.keys).sorted() {
            var without = base
            without[key] = nil
            add(without, "without \(key)")
            for (index, value) in pool.enumerated() {
                var changed = base
                changed[key] = value
                add(changed, "\(key) = pool[\(index)]")
            }
        }
        for (name, value) in [
            ("extra", JSONValue("x")), ("$where", "1"), ("", .null), ("metrics2", [:]), ("USER_ID", "x"),
        ] {
            var changed = base
            changed[name] = value
            add(changed, "extra member \(name.debugDescription)")
        }
        // Nested objects (trend metrics, their salaries): each member removed, set, or added.
        for (key, value) in base {
            guard case .object(let nested) = value else { continue }
            var keys = Set(nested.keys)
            if let declared = definition.payloadSchema["properties"]?[key]?["properties"]?.objectValue {
                keys.formUnion(declared.keys)
            }
            for nestedKey in keys.sorted() {
                var changed = nested
                changed[nestedKey] = nil
                add(base.merging([key: .object(changed)]) { $1 }, "\(key) without \(nestedKey)")
                for (index, poolValue) in pool.enumerated() {
                    changed = nested
                    changed[nestedKey] = poolValue
                    add(base.merging([key: .object(changed)]) { $1 }, "\(key).\(nestedKey) = pool[\(index)]")
                }
            }
            for extra in ["extra", "$gt", "a.b"] {
                var changed = nested
                changed[extra] = 1
                add(base.merging([key: .object(changed)]) { $1 }, "\(key) with extra key \(extra)")
            }
            if case .object(let salaries)? = nested["avg_salary"] {
                for level in ["entry_level", "mid_level", "senior_level", "bonus"] {
                    for (index, poolValue) in (numbers + others).enumerated() {
                        var changedSalaries = salaries
                        changedSalaries[level] = poolValue
                        var changedNested = nested
                        changedNested["avg_salary"] = .object(changedSalaries)
                        add(
                            base.merging([key: .object(changedNested)]) { $1 },
                            "\(key).avg_salary.\(level) = #\(index)"
                        )
                    }
                }
            }
        }
        // Rules between members.
        switch type {
        case AssessmentScore.jobType:
            for kind in enums + [.null] {
                for score in numbers + [.null] {
                    add(base.merging(["type": kind, "score": score]) { $1 }, "type \(kind) score \(score)")
                }
            }
        case EnrollmentUpdate.jobType:
            for action in enums + [.null] {
                var without = base.merging(["action": action]) { $1 }
                without["progress_percentage"] = nil
                add(without, "action \(action) without progress")
                for progress in numbers + [.null, "50"] {
                    add(
                        base.merging(["action": action, "progress_percentage": progress]) { $1 },
                        "action \(action) progress \(progress)"
                    )
                }
            }
        case MentorshipStart.jobType, MentorshipSessionLogged.jobType:
            for (user, mentor) in [
                (userId, userId), (userId, userId.uppercased()), (userId.uppercased(), userId), (userId, otherUserId),
            ] {
                add(["user_id": .string(user), "mentor_user_id": .string(mentor)], "user \(user) mentor \(mentor)")
            }
        default:
            break
        }
        return cases
    }

    // MARK: - Envelopes

    /// Envelopes: each type's valid jobs, then mutations of each envelope member.
    static func envelopeCases() -> [Case] {
        var cases: [Case] = []
        let idempotencyKeys: [JSONValue] = [
            "k", "", .string(String(repeating: "a", count: 200)), .string(String(repeating: "a", count: 201)),
            .string(String(repeating: "😀", count: 200)), .string(String(repeating: "😀", count: 201)),
            .string("e" + String(repeating: "\u{301}", count: 199)),
            .string("e" + String(repeating: "\u{301}", count: 200)),
            "a\u{0}b", "\n", "order-42/profile",
        ]
        let types: [JSONValue] =
            JobContract.definitions.map { .string($0.jobType) } + ["bench.noop", "Enrollment.Update", ""]
        let versions: [JSONValue] = [1, .number(1.0), 0, 2, "1", .number(1.5), .null, true]
        for value in typedValues {
            let definition = Swift.type(of: value)
            let envelope = JobEnvelope(
                id: "3f2c1b7e-9a4d-4c8b-b6e5-0d1f2a3b4c5d",
                type: definition.jobType,
                createdAt: RFC3339.parse("2026-11-28T12:00:00.250Z")!,
                payload: value.payload
            )
            guard case .object(let base) = try? JSONParser.parse(envelope.encoded()) else { continue }
            cases.append(Case(schema: "envelope", instance: .object(base), label: "\(definition.jobType) typed value"))
            // Mutate only the first value of each type: the members are the envelope's own.
            guard value.payload == definition.example?.payload else { continue }
            func add(_ object: [String: JSONValue], _ label: String) {
                cases.append(
                    Case(schema: "envelope", instance: .object(object), label: "\(definition.jobType): \(label)")
                )
            }
            let pools: [String: [JSONValue]] = [
                "id": uuids, "type": types, "version": versions + numbers, "created_at": timestamps,
                "idempotency_key": idempotencyKeys, "not_before": timestamps, "payload": [[:], .object(value.payload)],
            ]
            for key in pools.keys.sorted() {
                var without = base
                without[key] = nil
                add(without, "without \(key)")
                for (index, member) in (pools[key]! + others + hostile).enumerated() {
                    add(base.merging([key: member]) { $1 }, "\(key) = #\(index)")
                }
            }
            add(base.merging(["extra": "x", "trace": ["a": 1]]) { $1 }, "extra members")
        }
        return cases
    }

    // MARK: - The Swift side

    /// Whether the workers accept `instance` as a payload of `definition`.
    static func swiftAccepts(payload instance: JSONValue, of definition: any JobDefinition.Type) -> Bool {
        guard case .object(let object) = instance else { return false }
        do {
            _ = try definition.init(payload: FieldReader(payload: object), version: 1)
            return true
        } catch {
            return false
        }
    }

    /// Whether a worker accepts `instance` as a message body.
    static func swiftAccepts(envelope instance: JSONValue) -> Bool {
        let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions, now: { now })
        do {
            let envelope = try decoder.decode(instance.serialized())
            try validator.validatePayload(of: envelope)
            return true
        } catch {
            return false
        }
    }
}
