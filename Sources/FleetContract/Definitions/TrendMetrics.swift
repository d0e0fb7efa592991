/// The `metrics` of one job-market trend point, read from the payload field by field (never passed
/// through as a document): exactly the seed's keys, each type-checked. An unknown key rejects the
/// job, so a typo or an operator-looking key (`$gt`, `a.b`) is never stored or silently dropped.
public struct TrendMetrics: Sendable, Equatable {
    /// Average salaries per level; each optional and never negative.
    public struct Salaries: Sendable, Equatable {
        /// Entry-level salary.
        public var entryLevel: Double?
        /// Mid-level salary.
        public var midLevel: Double?
        /// Senior-level salary.
        public var seniorLevel: Double?

        /// Salaries of the given levels.
        public init(entryLevel: Double? = nil, midLevel: Double? = nil, seniorLevel: Double? = nil) {
            self.entryLevel = entryLevel
            self.midLevel = midLevel
            self.seniorLevel = seniorLevel
        }
    }

    /// Demand score, any finite number.
    public var demandScore: Double
    /// Growth rate, any finite number.
    public var growthRate: Double?
    /// Average salaries per level.
    public var avgSalary: Salaries?
    /// Job postings counted, 0 to ``maxJobPostingsCount``.
    public var jobPostingsCount: Int64
    /// Companies hiring: at most ``maxCompanies`` names of 1 to ``maxCompanyNameLength`` code points.
    public var companiesHiring: [String]?

    /// The most entries `companies_hiring` may have.
    public static let maxCompanies = 1000
    /// The most Unicode code points one `companies_hiring` entry may have.
    public static let maxCompanyNameLength = 200
    /// The largest `job_postings_count`: below 10^15, where an integral number written with an
    /// exponent or a fraction (`1e15`, `1000000000000000.0`) stops being read as an integer, so the
    /// same number is accepted or refused whichever way it is written (and the payload schema's
    /// `maximum` says so).
    public static let maxJobPostingsCount: Int64 = 999_999_999_999_999

    /// The JSON Schema of `metrics`: exactly these keys, each type-checked.
    public static var schema: JSONValue {
        let salary = { (level: String) in
            ContractSchema.number("\(level) salary; not negative.", minimum: 0, nullable: true)
        }
        return ContractSchema.object(
            "The point's figures, read key by key: an unknown key rejects the job.",
            required: ["demand_score", "job_postings_count"],
            properties: [
                "demand_score": ContractSchema.number("Demand score (any sign)."),
                "job_postings_count": ContractSchema.integer(
                    "Job postings counted.",
                    range: 0...maxJobPostingsCount
                ),
                "growth_rate": ContractSchema.number("Growth rate (any sign).", nullable: true),
                "avg_salary": [
                    "type": ["object", "null"],
                    "description": "Average salaries per level; each optional.",
                    "properties": [
                        "entry_level": salary("Entry-level"), "mid_level": salary("Mid-level"),
                        "senior_level": salary("Senior-level"),
                    ],
                    "additionalProperties": false,
                ],
                "companies_hiring": [
                    "type": ["array", "null"],
                    "description": .string(
                        "Companies hiring: at most \(maxCompanies) names of 1 to \(maxCompanyNameLength) code points."
                    ),
                    "maxItems": .integer(Int64(maxCompanies)),
                    "items": ContractSchema.string(
                        "A company name.",
                        minLength: 1,
                        maxLength: maxCompanyNameLength
                    ),
                ],
            ],
            additionalProperties: false
        )
    }

    /// Metrics of these values (checked when the payload is read back).
    public init(
        demandScore: Double,
        jobPostingsCount: Int64,
        growthRate: Double? = nil,
        avgSalary: Salaries? = nil,
        companiesHiring: [String]? = nil
    ) {
        self.demandScore = demandScore
        self.growthRate = growthRate
        self.avgSalary = avgSalary
        self.jobPostingsCount = jobPostingsCount
        self.companiesHiring = companiesHiring
    }

    /// The metrics as the payload carries them.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["demand_score": .number(demandScore)]
        if let growthRate { object["growth_rate"] = .number(growthRate) }
        if let avgSalary {
            var salaries: [String: JSONValue] = [:]
            if let value = avgSalary.entryLevel { salaries["entry_level"] = .number(value) }
            if let value = avgSalary.midLevel { salaries["mid_level"] = .number(value) }
            if let value = avgSalary.seniorLevel { salaries["senior_level"] = .number(value) }
            object["avg_salary"] = .object(salaries)
        }
        object["job_postings_count"] = .integer(jobPostingsCount)
        if let companiesHiring { object["companies_hiring"] = .array(companiesHiring.map(JSONValue.string)) }
        return .object(object)
    }

    /// Reads `payload.<field>`.
    public static func read(_ payload: FieldReader, _ field: String) throws(EnvelopeRejection) -> TrendMetrics {
        guard case .object(let object)? = payload.object[field] else {
            throw payload.invalid(field, payload.object[field] == nil ? "required" : "expected an object")
        }
        let reader = NestedReader(payload: payload, path: field, object: object)
        try reader.onlyKeys(["demand_score", "growth_rate", "avg_salary", "job_postings_count", "companies_hiring"])
        guard let demandScore = try reader.number("demand_score") else {
            throw reader.invalid("demand_score", "required")
        }
        guard let count = try reader.integer("job_postings_count") else {
            throw reader.invalid("job_postings_count", "required")
        }
        guard count >= 0 else { throw reader.invalid("job_postings_count", "must not be negative") }
        guard count <= maxJobPostingsCount else {
            throw reader.invalid("job_postings_count", "must be at most \(maxJobPostingsCount)")
        }
        var metrics = TrendMetrics(demandScore: demandScore, jobPostingsCount: count)
        metrics.growthRate = try reader.number("growth_rate")
        switch object["avg_salary"] {
        case nil, .null?: break
        case .object(let salaries)?:
            let salaryReader = NestedReader(payload: payload, path: "\(field).avg_salary", object: salaries)
            try salaryReader.onlyKeys(["entry_level", "mid_level", "senior_level"])
            var levels = Salaries()
            levels.entryLevel = try salaryReader.number("entry_level", nonNegative: true)
            levels.midLevel = try salaryReader.number("mid_level", nonNegative: true)
            levels.seniorLevel = try salaryReader.number("senior_level", nonNegative: true)
            metrics.avgSalary = levels
        case _?: throw reader.invalid("avg_salary", "expected an object")
        }
        switch object["companies_hiring"] {
        case nil, .null?: break
        case .array(let values)?:
            guard values.count <= maxCompanies else {
                throw reader.invalid("companies_hiring", "more than \(maxCompanies) entries")
            }
            var names: [String] = []
            for value in values {
                // Length in code points, as JSON Schema's `maxLength` counts.
                guard case .string(let name) = value, !name.isEmpty, name.unicodeScalars.count <= maxCompanyNameLength
                else {
                    throw reader.invalid(
                        "companies_hiring",
                        "expected non-empty strings of at most \(maxCompanyNameLength) Unicode code points"
                    )
                }
                names.append(name)
            }
            metrics.companiesHiring = names
        case _?: throw reader.invalid("companies_hiring", "expected an array of strings")
        }
        return metrics
    }
}

/// Typed reads inside a nested payload object, with errors naming the full path.
private struct NestedReader {
    let payload: FieldReader
    let path: String
    let object: [String: JSONValue]

    func invalid(_ key: String, _ problem: String) -> EnvelopeRejection {
        payload.invalid("\(path).\(key)", problem)
    }

    func onlyKeys(_ allowed: Set<String>) throws(EnvelopeRejection) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            // Named by the rule, not the key: a key is whatever the producer wrote, possibly personal data.
            throw payload.invalid(path, "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// A finite number; -0 is read as 0 so equal values always encode alike.
    func number(_ key: String, nonNegative: Bool = false) throws(EnvelopeRejection) -> Double? {
        let value: Double
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let integer)?: value = Double(integer)
        case .number(let number)?: value = number
        case _?: throw invalid(key, "expected a number")
        }
        guard value.isFinite else { throw invalid(key, "must be finite") }
        guard !nonNegative || value >= 0 else { throw invalid(key, "must not be negative") }
        return value + 0.0
    }

    func integer(_ key: String) throws(EnvelopeRejection) -> Int64? {
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let integer)?: return integer
        case .number(let number)? where number.rounded() == number && abs(number) < 1e15: return Int64(number)
        case _?: throw invalid(key, "expected an integer")
        }
    }
}
