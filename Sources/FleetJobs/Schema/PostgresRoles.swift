import FleetContract
import Postgres

/// One PostgreSQL role per domain that touches PostgreSQL, with only the grants its jobs need.
/// `fleet migrate` applies them after the schema steps; the migration role stays the owner of every
/// table (and, as owner, outside the ledger's row-level security).
///
/// Each pass revokes what a role holds in this database and grants its list again, in one
/// transaction: a grant removed from the list disappears, and re-running changes nothing.
/// `fleet_applied_jobs` is shared by the domains, so row-level security limits each role to the rows
/// of its own job types there.
public enum PostgresRoles {
    public struct Role: Sendable, Equatable {
        public let name: String
        /// Who connects with it, one line.
        public let purpose: String
        /// Role attributes besides LOGIN/NOLOGIN.
        let attributes: String
        /// GRANT statements without the trailing `TO role`.
        let grants: [String]
        /// The `fleet_applied_jobs` rows the role may see and write: a SQL condition, nil for none.
        let ledgerRows: String?
    }

    static func ledgerRows(of types: [String]) -> String {
        "job_type IN (\(types.map { "'\($0)'" }.joined(separator: ", ")))"
    }

    public static let roles: [Role] = [
        Role(
            name: "fleet_learning",
            purpose: "the learning worker (enrollment.update)",
            attributes: "",
            grants: [
                "GRANT SELECT, INSERT ON fleet_applied_jobs",
                "GRANT SELECT (user_id) ON users",
                // FOR NO KEY UPDATE on the course row needs an UPDATE grant on one of its columns.
                "GRANT SELECT (course_id, total_enrollments), UPDATE (total_enrollments, updated_at) ON courses",
                "GRANT SELECT, INSERT, UPDATE ON user_courses, fleet_enrollment_histories",
            ],
            ledgerRows: ledgerRows(of: [EnrollmentUpdate.jobType])
        ),
        Role(
            name: "fleet_profile",
            purpose: "the profile worker (profile.completion.recalculate)",
            attributes: "",
            grants: [
                "GRANT SELECT, INSERT ON fleet_applied_jobs",
                """
                GRANT SELECT (user_id, first_name, last_name, profile_completion_percentage), \
                UPDATE (profile_completion_percentage, updated_at) ON users
                """,
                "GRANT SELECT ON user_profiles",
                "GRANT USAGE ON SEQUENCE fleet_profile_cache_version",
            ],
            ledgerRows: ledgerRows(of: [ProfileCompletionRecalculate.jobType])
        ),
        Role(
            name: "fleet_career",
            purpose: "the career worker (career.progress.recalculate)",
            attributes: "",
            grants: [
                "GRANT SELECT (user_id) ON users",
                "GRANT SELECT ON career_paths, career_milestones",
                "GRANT SELECT, INSERT, UPDATE ON user_career_progress",
            ],
            ledgerRows: nil
        ),
        Role(
            name: "fleet_scheduler",
            purpose: "fleet schedule run and fleet outbox relay (the lease, ticks, outbox rows)",
            attributes: "",
            grants: [
                "GRANT SELECT, INSERT, UPDATE ON scheduler_lease",
                "GRANT SELECT, INSERT ON schedule_ticks",
                // Ticks go into the outbox in their own transaction; the relay marks and prunes rows.
                "GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_outbox",
            ],
            ledgerRows: nil
        ),
        Role(
            name: "fleet_ops",
            purpose: "the ops worker (maintenance.run prunes; backup.run dumps; backup.verify restores a copy)",
            // backup.verify restores into a scratch database it creates and drops.
            attributes: "CREATEDB",
            grants: [
                "GRANT SELECT ON ALL TABLES IN SCHEMA public",
                "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public",
                "GRANT DELETE ON fleet_applied_jobs, fleet_outbox",
            ],
            ledgerRows: "true"
        ),
    ]

    /// What one pass did to a role, for `fleet migrate`'s output.
    public struct Applied: Sendable, Equatable, CustomStringConvertible {
        public let role: String
        public let created: Bool
        /// LOGIN with a password from the passwords folder; false: the role cannot log in yet.
        public let login: Bool

        public var description: String {
            "\(role) (\(created ? "created" : "kept"), \(login ? "login" : "no login: no password file"))"
        }
    }

    /// Creates the missing roles (NOLOGIN, or LOGIN when `passwords` has theirs), sets the passwords
    /// given, and replaces each role's grants in this database with its list.
    ///
    /// Roles belong to the whole server while grants belong to one database, and two databases may
    /// migrate at once: a role another migration just created is taken as is.
    public static func apply(_ client: PostgresClient, passwords: [String: String]) async throws -> [Applied] {
        try await client.withConnection { connection in
            try roles.map { role in
                try connection.transaction { connection -> Applied in
                    try connection.query("SELECT pg_advisory_xact_lock($1)", [PostgresMigrations.advisoryLock])
                    let created = try create(role, connection: connection, login: passwords[role.name] != nil)
                    if let password = passwords[role.name] {
                        let verifier = try connection.passwordVerifier(password, role: role.name)
                        try connection.execute(script: "ALTER ROLE \(role.name) LOGIN PASSWORD \(literal(verifier))")
                    }
                    try grant(role, connection: connection)
                    let login = try connection.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [role.name])
                    return Applied(
                        role: role.name,
                        created: created,
                        login: login.first?["rolcanlogin"] == "t"
                    )
                }
            }
        }
    }

    private static func create(_ role: Role, connection: PostgresConnection, login: Bool) throws -> Bool {
        guard try connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name]).isEmpty else {
            return false
        }
        // A concurrent migration of another database may create it between the check and here.
        try connection.execute(
            script: """
                DO $$ BEGIN
                    CREATE ROLE \(role.name) \(login ? "LOGIN" : "NOLOGIN") \(role.attributes);
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END $$;
                """
        )
        return true
    }

    private static func grant(_ role: Role, connection: PostgresConnection) throws {
        var script = [
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \(role.name)",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM \(role.name)",
        ]
        script += role.grants.map { "\($0) TO \(role.name)" }
        // Row-level security on the shared ledger: the owner (the migration role) is not subject to
        // it; every other role sees no ledger row unless a policy names it. Both statements lock the
        // table, so they run only when missing, not on every migrate.
        let ledger = try connection.query(
            """
            SELECT c.relrowsecurity AS secured,
                   EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = $1) AS has_policy
            FROM pg_class c WHERE c.oid = 'fleet_applied_jobs'::regclass
            """,
            ["\(role.name)_rows"]
        ).first
        if ledger?["secured"] != "t" { script.append("ALTER TABLE fleet_applied_jobs ENABLE ROW LEVEL SECURITY") }
        if let rows = role.ledgerRows, ledger?["has_policy"] != "t" {
            script.append(
                "CREATE POLICY \(role.name)_rows ON fleet_applied_jobs TO \(role.name) USING (\(rows)) WITH CHECK (\(rows))"
            )
        }
        try connection.execute(script: script.map { $0 + ";" }.joined(separator: "\n"))
    }

    /// `text` as a SQL string literal (standard_conforming_strings, on by default since 9.1).
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
