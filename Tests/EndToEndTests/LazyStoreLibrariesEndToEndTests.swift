import FleetApp
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Testing

/// `fleet` opens libmongoc and libpq on the first call into them (CLazyLibraries), not at start: a
/// worker process maps only the store libraries its jobs use, and with them their dependencies
/// (OpenSSL's configuration and SASL's plugins for libmongoc; Kerberos, LDAP and GnuTLS for libpq).
@Suite("Store libraries loaded on first use end to end")
struct LazyStoreLibrariesEndToEndTests {
    @Test("A PostgreSQL worker maps libpq but not libmongoc, a MongoDB worker the reverse; both apply their jobs")
    func workersMapOnlyTheLibrariesOfTheirStores() async throws {
        let environment = try await FleetTestEnvironment.make("lazylibs", workers: ["learning", "trends"])
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        let learning = try environment.startWorker("learning")
        let trends = try environment.startWorker("trends")
        let (producer, stores) = environment.producer()
        try await producer.enqueue(
            type: "enrollment.update",
            payload: [
                "user_id": .string(SampleWorkload.userId(0)), "course_id": .string(SampleWorkload.courseId(0)),
                "action": .string("enroll"),
            ]
        )
        try await producer.enqueue(
            type: "jobmarket.trend.ingest",
            payload: ContentTrendsEndToEndTests.trendPoint(skill: ObjectId(), region: "Europe", day: 0)
        )
        let mongodb = environment.mongodb
        try await environment.waitUntil("an enrollment and a trend point applied") {
            let trendDocuments = try await mongodb.withConnection {
                try $0.collection("job_market_trends").countDocuments()
            }
            return try await environment.count("SELECT total_enrollments AS n FROM courses") == 1 && trendDocuments == 1
        }

        let learningLibraries = try Self.mappedFiles(learning)
        #expect(learningLibraries.contains { $0.hasPrefix("libpq.so") }, "\(learningLibraries)")
        #expect(!learningLibraries.contains { $0.hasPrefix("libmongoc") }, "\(learningLibraries)")
        let trendsLibraries = try Self.mappedFiles(trends)
        #expect(trendsLibraries.contains { $0.hasPrefix("libmongoc") }, "\(trendsLibraries)")
        #expect(!trendsLibraries.contains { $0.hasPrefix("libpq.so") }, "\(trendsLibraries)")
        // What libpq alone brings in (through libldap) stays out of a worker that never calls it.
        #expect(!trendsLibraries.contains { $0.hasPrefix("libgnutls") }, "\(trendsLibraries)")

        for worker in [learning, trends] { await worker.stop() }
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    /// The file names (no folder) of every file the process has mapped, from /proc/<pid>/maps.
    static func mappedFiles(_ worker: WorkerProcess) throws -> Set<String> {
        // Read to the end: procfs files report a size of 0, and a sized read stops after the first page.
        let file = try FileHandle(
            forReadingFrom: URL(fileURLWithPath: "/proc/\(worker.process.processIdentifier)/maps")
        )
        defer { try? file.close() }
        let maps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        return Set(
            maps.split(separator: "\n").compactMap { line in
                line.split(separator: " ", omittingEmptySubsequences: true).last.flatMap { field in
                    field.hasPrefix("/") ? field.split(separator: "/").last.map(String.init) : nil
                }
            }
        )
    }
}
