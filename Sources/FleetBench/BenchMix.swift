import FleetContract
import FleetCore
import FleetJobs
import Foundation

/// Workload C: the contract's eleven job types, in the proportions a career platform sees, over
/// entities seeded for the run (``BenchMixSeed``) and checked after it (``BenchMixCheck``).
///
/// Every id the mix uses carries the suite's random ``namespace`` (and, for the graph, the run), so
/// the mix never meets another run's or another client's entities in the stores it shares with
/// them (the graph, Redis, possibly MongoDB), and a check cannot be passed by leftovers.
struct BenchMix: Sendable {
    /// Jobs per 100 published. Learners' course activity (enroll, progress, complete, drop) is the
    /// bulk of a learning platform's writes; registrations come in waves around events, about one in
    /// five of them later cancelled; the job-market feed ingests one point per skill and region per
    /// period, a steady batch; mentees log many sessions per mentorship started; assessments are
    /// rarer than course activity and each one publishes two follow-ups (profile and career
    /// recalculation), so the fleet runs 120 jobs per 100 published; profile edits trigger direct
    /// recalculations; editors publish content rarely and archive it more rarely still.
    static let shares: [(type: String, percent: Int)] = [
        ("enrollment.update", 30),
        ("event.register", 14),
        ("jobmarket.trend.ingest", 12),
        ("mentorship.session_logged", 11),
        ("assessment.score", 10),
        ("profile.completion.recalculate", 8),
        ("career.progress.recalculate", 4),
        ("content.publish", 4),
        ("event.cancel", 3),
        ("mentorship.start", 3),
        ("content.unpublish", 1),
    ]

    /// The follow-ups each `assessment.score` publishes to the bench's own vhost, where the mix's
    /// worker drains them from `fleet.profile` and `fleet.career` like any other job.
    static let followUpsPerAssessment = 2

    /// Users, courses, career paths, skills and content items seeded once per suite.
    static let users = 2_000
    static let courses = 50
    static let paths = 2
    static let milestonesPerPath = 3
    static let skills = 10
    static let contents = 100
    /// Users that take assessments and have career paths: fewer than all, so each has a history.
    static let assessedUsers = 500
    /// `(skill, region)` series of job-market trends.
    static let trendRegions = ["North America", "Europe"]
    static var trendSeries: Int { skills * trendRegions.count }
    /// Mentors shared by the mentorships.
    static let mentors = 20

    /// The type of job `index`: the 100 slots of each round are visited in a scattered order
    /// (`slot * 37 mod 100`), so the types interleave in the queues instead of arriving in blocks.
    static func type(ofIndex index: Int) -> String {
        let slot = (index % 100) * 37 % 100
        var cumulative = 0
        for share in shares {
            cumulative += share.percent
            if slot < cumulative { return share.type }
        }
        preconditionFailure("the shares add up to 100")
    }

    /// The jobs a worker finishes for `count` published ones: the follow-ups of the assessments too.
    static func settlements(count: Int) -> Int {
        (0..<count).reduce(count) { total, index in
            total + (type(ofIndex: index) == AssessmentScoreHandler.jobType ? followUpsPerAssessment : 0)
        }
    }

    /// 8 lowercase hex digits chosen at random by the suite.
    let namespace: String

    init(namespace: String) { self.namespace = namespace }

    static func randomNamespace() -> String { String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }

    // MARK: - Ids of the suite's entities (PostgreSQL, MongoDB, Redis)

    func userId(_ index: Int) -> String { String(format: "\(namespace)-0000-4000-8000-%012d", index) }
    func courseId(_ index: Int) -> String { String(format: "\(namespace)-0000-4000-9000-%012d", index) }
    func pathId(_ index: Int) -> String { String(format: "\(namespace)-0000-4000-b000-%012d", index) }
    func milestoneId(path: Int, _ index: Int) -> String {
        String(format: "\(namespace)-0000-4000-b001-%012d", path * 100 + index)
    }
    func skillId(_ index: Int) -> String { String(format: "\(namespace)0000000000%06x", index) }
    func contentId(_ index: Int) -> String { String(format: "\(namespace)0000000001%06x", index) }

    // MARK: - Ids of one run (the graph, the jobs)

    /// What every graph id and job id of `run` starts with.
    func runPrefix(_ run: Int) -> String { String(format: "\(namespace)-%04x-", run % 0x10000) }
    func jobId(run: Int, _ index: Int) -> String { runPrefix(run) + String(format: "4000-a000-%012d", index) }
    func eventId(run: Int, _ index: Int) -> String { runPrefix(run) + String(format: "4000-b000-%012d", index) }
    func graphUserId(run: Int, _ index: Int) -> String {
        runPrefix(run) + String(format: "4000-8000-%012d", index)
    }
    func mentorId(run: Int, _ index: Int) -> String { runPrefix(run) + String(format: "4000-9000-%012d", index) }

    /// Seats of each mix event: two thirds of the registrations it gets, so waitlists form.
    static func eventShape(registrations: Int) -> (events: Int, capacity: Int) {
        let events = max(1, min(20, registrations / 7))
        return (events, max(1, registrations / events * 2 / 3))
    }

    /// The skills milestone `index` of `path` requires, with their `min_score` (0-10 scale).
    static func requirements(path: Int, milestone: Int) -> [(skill: Int, minScore: Int)] {
        (0...milestone).map { ((($0 + path) % 3), 4 + 2 * milestone) }
    }
}

/// The jobs of one run of workload C, and what each of them targets, for the check afterwards.
/// Job `index` is created `index` ms after ``base``, so stamp order (`created_at`, then id) is index order.
struct BenchMixPlan: Sendable {
    struct Enrollment: Sendable {
        var user: Int, course: Int, action: EnrollmentUpdateHandler.Action, progress: Int?, index: Int
    }
    struct Assessment: Sendable { var user: Int, skill: Int, technical: Bool, score: Int, index: Int }
    struct ContentJob: Sendable { var content: Int, publish: Bool, index: Int }
    struct TrendPoint: Sendable { var series: Int, day: Int, postings: Int, index: Int }
    struct Registration: Sendable { var event: Int, user: Int, register: Bool, index: Int }
    struct MentorshipJob: Sendable { var mentee: Int, mentor: Int, start: Bool, index: Int }

    let mix: BenchMix
    let run: Int
    let base: Date
    private(set) var envelopes: [JobEnvelope] = []
    private(set) var enrollments: [Enrollment] = []
    private(set) var profiles: [Int] = []
    private(set) var assessments: [Assessment] = []
    private(set) var careers: [(user: Int, path: Int)] = []
    private(set) var contents: [ContentJob] = []
    private(set) var trends: [TrendPoint] = []
    private(set) var registrations: [Registration] = []
    private(set) var mentorships: [MentorshipJob] = []
    let events: Int
    let capacity: Int

    static let trendEpoch = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01

    /// `base`: a recent time (the dedup records must be inside the window), whole milliseconds.
    init(mix: BenchMix, run: Int, count: Int, base: Date) {
        self.mix = mix
        self.run = run
        self.base = Date(timeIntervalSince1970: (base.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        var perType: [String: Int] = [:]
        for index in 0..<count { perType[BenchMix.type(ofIndex: index), default: 0] += 1 }
        let registers = perType[EventRegisterHandler.jobType, default: 0]
        (events, capacity) = BenchMix.eventShape(registrations: registers)
        let starts = perType[MentorshipStartHandler.jobType, default: 0]
        var seen: [String: Int] = [:]
        for index in 0..<count {
            let type = BenchMix.type(ofIndex: index)
            let n = seen[type, default: 0]
            seen[type] = n + 1
            let payload = plan(type, n: n, index: index, registers: registers, starts: starts)
            envelopes.append(
                JobEnvelope(
                    id: mix.jobId(run: run, index),
                    type: type,
                    createdAt: createdAt(index),
                    payload: payload
                )
            )
        }
    }

    func createdAt(_ index: Int) -> Date { base.addingTimeInterval(Double(index) / 1000) }

    private mutating func plan(
        _ type: String,
        n: Int,
        index: Int,
        registers: Int,
        starts: Int
    ) -> [String: JSONValue] {
        switch type {
        case EnrollmentUpdateHandler.jobType:
            // Five jobs per enrollment, scattered over the run: order independence at work.
            let pair = n / 5
            let scripts: [[(EnrollmentUpdateHandler.Action, Int?)]] = [
                [(.enroll, nil), (.progress, 40), (.progress, 80), (.complete, nil), (.progress, 90)],
                [(.enroll, nil), (.progress, 25), (.drop, nil), (.enroll, nil), (.progress, 50)],
                [(.enroll, nil), (.progress, 60), (.drop, nil), (.progress, 70), (.enroll, nil)],
                [(.enroll, nil), (.progress, 10), (.progress, 20), (.progress, 30), (.drop, nil)],
            ]
            let (action, progress) = scripts[pair % scripts.count][n % 5]
            let job = Enrollment(
                user: pair % BenchMix.users,
                course: pair % BenchMix.courses,
                action: action,
                progress: progress,
                index: index
            )
            enrollments.append(job)
            var payload: [String: JSONValue] = [
                "user_id": .string(mix.userId(job.user)), "course_id": .string(mix.courseId(job.course)),
                "action": .string(action.rawValue),
            ]
            if let progress { payload["progress_percentage"] = .integer(Int64(progress)) }
            return payload
        case ProfileCompletionRecalculateHandler.jobType:
            let user = n * 7 % BenchMix.users
            profiles.append(user)
            return ["user_id": .string(mix.userId(user))]
        case AssessmentScoreHandler.jobType:
            let technical = n % 4 != 3
            let job = Assessment(
                user: n % BenchMix.assessedUsers,
                skill: n / BenchMix.assessedUsers % 3,
                technical: technical,
                score: technical ? 35 + n * 17 % 66 : 1 + n % 10,
                index: index
            )
            assessments.append(job)
            return [
                "user_id": .string(mix.userId(job.user)), "skill_id": .string(mix.skillId(job.skill)),
                "type": .string(technical ? "technical_assessment" : "self_assessment"),
                "score": .integer(Int64(job.score)),
            ]
        case CareerProgressRecalculateHandler.jobType:
            let user = n * 3 % BenchMix.assessedUsers
            let path = n % BenchMix.paths
            careers.append((user, path))
            return ["user_id": .string(mix.userId(user)), "path_id": .string(mix.pathId(path))]
        case ContentPublishHandler.jobType, ContentUnpublishHandler.jobType:
            let publish = type == ContentPublishHandler.jobType
            let content = publish ? n % BenchMix.contents : n * 3 % BenchMix.contents
            contents.append(ContentJob(content: content, publish: publish, index: index))
            return ["content_id": .string(mix.contentId(content))]
        case JobMarketTrendIngestHandler.jobType:
            let point = TrendPoint(
                series: n % BenchMix.trendSeries,
                day: n / BenchMix.trendSeries,
                postings: 1000 + n,
                index: index
            )
            trends.append(point)
            let skill = point.series % BenchMix.skills
            let region = BenchMix.trendRegions[point.series / BenchMix.skills]
            let date = Self.trendEpoch.addingTimeInterval(Double(point.day) * 86_400)
            return [
                "skill_id": .string(mix.skillId(skill)), "region": .string(region),
                "timestamp": .string(RFC3339.format(date)),
                "metrics": .object([
                    "demand_score": .number(Double(n * 7 % 100) / 10),
                    "job_postings_count": .integer(Int64(point.postings)),
                ]),
            ]
        case EventRegisterHandler.jobType:
            // Registration n: event n mod E, its (n / E)-th user, so each (user, event) once.
            let job = Registration(event: n % events, user: n / events, register: true, index: index)
            registrations.append(job)
            return [
                "user_id": .string(mix.graphUserId(run: run, job.user)),
                "event_id": .string(mix.eventId(run: run, job.event)),
            ]
        case EventCancelHandler.jobType:
            // Cancel n withdraws registration 4n (published earlier, so stamped earlier): distinct
            // registrations while cancels stay under a quarter of them. Without any, a cancel that
            // finds nothing (kept as an early cancel).
            let target = registers > 0 ? n * 4 % registers : n
            let job = Registration(
                event: registers > 0 ? target % events : 0,
                user: registers > 0 ? target / events : 1_000_000 + n,
                register: false,
                index: index
            )
            registrations.append(job)
            return [
                "user_id": .string(mix.graphUserId(run: run, job.user)),
                "event_id": .string(mix.eventId(run: run, job.event)),
            ]
        case MentorshipStartHandler.jobType, MentorshipSessionLoggedHandler.jobType:
            let start = type == MentorshipStartHandler.jobType
            // Sessions go to the started mentorships (some run before their start: pending first).
            let pair = start ? n : (starts > 0 ? n % starts : n)
            let job = MentorshipJob(
                mentee: 2_000_000 + pair,
                mentor: pair % BenchMix.mentors,
                start: start,
                index: index
            )
            mentorships.append(job)
            return [
                "user_id": .string(mix.graphUserId(run: run, job.mentee)),
                "mentor_user_id": .string(mix.mentorId(run: run, job.mentor)),
            ]
        default:
            preconditionFailure("no plan for \(type)")
        }
    }
}
