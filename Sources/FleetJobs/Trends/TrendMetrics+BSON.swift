import FleetContract
import MongoDB

extension TrendMetrics {
    /// The BSON document stored as `metrics`, keys in the seed's order: numbers as doubles, the
    /// count as an int32 when it fits (as the MongoDB shell writes integers; nx-27017 reads any
    /// small int64 back as an int32), so equal points always encode to the same bytes.
    public var document: BSONDocument {
        var document: BSONDocument = ["demand_score": .double(demandScore)]
        if let growthRate { document["growth_rate"] = .double(growthRate) }
        if let avgSalary {
            var salaries = BSONDocument()
            if let value = avgSalary.entryLevel { salaries["entry_level"] = .double(value) }
            if let value = avgSalary.midLevel { salaries["mid_level"] = .double(value) }
            if let value = avgSalary.seniorLevel { salaries["senior_level"] = .double(value) }
            document["avg_salary"] = .document(salaries)
        }
        document["job_postings_count"] = TrendSeries.integer(jobPostingsCount)
        if let companiesHiring { document["companies_hiring"] = .array(companiesHiring.map(BSONValue.string)) }
        return document
    }
}
