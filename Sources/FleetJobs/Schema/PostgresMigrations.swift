import FleetContract
import Postgres

/// The PostgreSQL schema as numbered steps: the seed's tables and indexes, then the fleet's own.
/// Each step runs once, in a transaction, under an advisory lock (two `fleet migrate` at once are
/// safe) and is recorded in the seed's `schema_versions`.
public enum PostgresMigrations {
    public struct Step: Sendable {
        public let version: String
        public let description: String
        let sql: String
    }

    /// `schema_versions.service_name` of these steps.
    public static let serviceName = "workerfleet.postgres"
    static let advisoryLock = 7_346_221

    public static let steps: [Step] = [
        Step(version: "0001", description: "career platform seed schema", sql: seedSchema),
        Step(
            version: "0002",
            description: "fleet ledger, fences and one enrollment per user and course",
            sql: fleetTables
        ),
        Step(
            version: "0003",
            description: "version sequence ordering profile-completion cache writes",
            sql: "CREATE SEQUENCE fleet_profile_cache_version;"
        ),
        Step(
            version: "0004",
            description: "one career progress row per user and path",
            sql: "CREATE UNIQUE INDEX uq_user_career_progress_user_path ON user_career_progress(user_id, path_id);"
        ),
        Step(
            version: "0005",
            description: "ledger keys within the envelope's idempotency_key limits",
            sql: ledgerKeyLimits
        ),
        Step(
            version: "0006",
            description: "enrollment histories (job order independence); ledger pruning index",
            sql: enrollmentHistories
        ),
        Step(version: "0007", description: "transactional outbox (fleet_outbox)", sql: outbox),
        Step(version: "0008", description: "scheduler lease and enqueued schedule ticks", sql: scheduler),
    ]

    /// The scheduler's fence and record (`SchedulerLease`, `ScheduleTicks` in FleetApp): one lease
    /// row whose `token` grows at each change of holder, and one row per enqueued tick, whose
    /// primary key makes a tick enqueue at most once.
    static let scheduler = """
        CREATE TABLE scheduler_lease (
            id INT PRIMARY KEY CHECK (id = 1),
            holder TEXT NOT NULL,
            token BIGINT NOT NULL,
            acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
            expires_at TIMESTAMP WITH TIME ZONE NOT NULL
        );
        CREATE TABLE schedule_ticks (
            schedule TEXT NOT NULL,
            tick TIMESTAMP WITH TIME ZONE NOT NULL,
            job_id UUID NOT NULL,
            token BIGINT NOT NULL,
            holder TEXT NOT NULL,
            enqueued_at TIMESTAMP WITH TIME ZONE NOT NULL,
            PRIMARY KEY (schedule, tick)
        );
        """

    /// `FleetOutbox`'s `Outbox.schema` as of this step (a migration never changes once released;
    /// `OutboxSchemaTests` checks that the two still build the same table). Idempotent, so an API
    /// that shares this database and already created the table does not fail the step.
    static let outbox = """
        CREATE TABLE IF NOT EXISTS fleet_outbox (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ordering_key TEXT NOT NULL,
            envelope_id UUID NOT NULL,
            job_type TEXT NOT NULL,
            envelope TEXT NOT NULL,
            traceparent TEXT,
            created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_at TIMESTAMP WITH TIME ZONE,
            failed_at TIMESTAMP WITH TIME ZONE,
            failure TEXT,
            CONSTRAINT ck_fleet_outbox_ordering_key CHECK (octet_length(ordering_key) BETWEEN 1 AND 800),
            CONSTRAINT ck_fleet_outbox_one_outcome CHECK (sent_at IS NULL OR failed_at IS NULL)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS uq_fleet_outbox_envelope_id ON fleet_outbox (envelope_id);
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_pending ON fleet_outbox (seq)
            WHERE sent_at IS NULL AND failed_at IS NULL;
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_pending_key ON fleet_outbox (ordering_key, seq)
            WHERE sent_at IS NULL AND failed_at IS NULL;
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_sent ON fleet_outbox (sent_at) WHERE sent_at IS NOT NULL;
        """

    /// One row per user and course that a job reached (a drop of a course never enrolled in
    /// included: the tombstone a later-processed earlier enroll needs). Stamps are `JobStamp.text`.
    static let enrollmentHistories = """
        CREATE TABLE fleet_enrollment_histories (
            user_id UUID NOT NULL,
            course_id UUID NOT NULL,
            first_create TEXT,
            enrolls_after_drop TEXT NOT NULL DEFAULT '',
            last_progress TEXT,
            last_complete TEXT,
            first_complete TEXT,
            last_drop TEXT,
            max_progress INTEGER NOT NULL DEFAULT 0,
            updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, course_id)
        );
        CREATE INDEX ix_fleet_applied_jobs_type_applied_at ON fleet_applied_jobs (job_type, applied_at);
        """

    /// Applies the missing steps; returns the versions it applied (empty when up to date).
    public static func migrate(_ client: PostgresClient) async throws -> [String] {
        try await client.withConnection { connection in
            // Under the same lock as the steps: concurrent CREATE TABLE IF NOT EXISTS can still collide.
            try connection.transaction { connection in
                try connection.query("SELECT pg_advisory_xact_lock($1)", [advisoryLock])
                try connection.execute(
                    script: """
                        CREATE TABLE IF NOT EXISTS schema_versions (
                            version_id SERIAL PRIMARY KEY,
                            service_name VARCHAR(100),
                            version VARCHAR(50),
                            applied_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
                            description TEXT
                        );
                        """
                )
            }
            var applied: [String] = []
            for step in steps {
                let didApply = try connection.transaction { connection -> Bool in
                    try connection.query("SELECT pg_advisory_xact_lock($1)", [advisoryLock])
                    let existing = try connection.query(
                        "SELECT 1 FROM schema_versions WHERE service_name = $1 AND version = $2",
                        [serviceName, step.version]
                    )
                    guard existing.isEmpty else { return false }
                    try connection.execute(script: step.sql)
                    try connection.query(
                        "INSERT INTO schema_versions (service_name, version, description) VALUES ($1, $2, $3)",
                        [serviceName, step.version, step.description]
                    )
                    return true
                }
                if didApply { applied.append(step.version) }
            }
            return applied
        }
    }

    /// The envelope's `idempotency_key` limits on the ledger's `dedup_key`: 1 to 200 code points
    /// and at most 800 UTF-8 bytes (``EnvelopeDecoder/maximumIdempotencyKeyCodePoints``,
    /// ``EnvelopeDecoder/maximumIdempotencyKeyBytes``; literals here, since an applied step never
    /// changes), so the ledger refuses exactly what the decoder refuses. The column becomes `TEXT`
    /// so that this named CHECK, not `VARCHAR(200)`, states the limit (a binary-compatible change:
    /// no rewrite of the table or its primary key). `char_length` counts code points only in a
    /// UTF8 database, so the step refuses any other. Existing keys are job ids (36 ASCII
    /// characters) or keys the decoder accepted (1 to 200 characters of `VARCHAR(200)`, so at most
    /// 800 bytes): all pass.
    static let ledgerKeyLimits = """
        DO $$
        BEGIN
            IF current_setting('server_encoding') <> 'UTF8' THEN
                RAISE EXCEPTION 'fleet_applied_jobs.dedup_key limits count code points: the database must be UTF8, not %',
                    current_setting('server_encoding');
            END IF;
        END
        $$;
        ALTER TABLE fleet_applied_jobs
            ALTER COLUMN dedup_key TYPE TEXT,
            ADD CONSTRAINT ck_fleet_applied_jobs_dedup_key_limits
                CHECK (char_length(dedup_key) BETWEEN 1 AND 200 AND octet_length(dedup_key) <= 800);
        """

    static let seedSchema = """
        CREATE TABLE users (
            user_id UUID PRIMARY KEY,
            email VARCHAR(255) UNIQUE NOT NULL,
            password_hash VARCHAR(255) NOT NULL,
            first_name VARCHAR(100),
            last_name VARCHAR(100),
            created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            last_login TIMESTAMP WITH TIME ZONE,
            is_active BOOLEAN DEFAULT true,
            account_type VARCHAR(50),
            profile_completion_percentage INT DEFAULT 0
        );
        CREATE TABLE user_profiles (
            profile_id UUID PRIMARY KEY,
            user_id UUID REFERENCES users(user_id),
            headline VARCHAR(200),
            summary TEXT,
            current_position VARCHAR(100),
            years_of_experience INT,
            location VARCHAR(100),
            timezone VARCHAR(50),
            linkedin_url VARCHAR(255),
            github_url VARCHAR(255),
            portfolio_url VARCHAR(255),
            preferred_work_type VARCHAR(50),
            created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
        );
        CREATE TABLE user_preferences (
            preference_id UUID PRIMARY KEY,
            user_id UUID REFERENCES users(user_id),
            email_notifications BOOLEAN DEFAULT true,
            push_notifications BOOLEAN DEFAULT true,
            newsletter_subscription BOOLEAN DEFAULT true,
            language_preference VARCHAR(10) DEFAULT 'en',
            theme_preference VARCHAR(20) DEFAULT 'light'
        );
        CREATE TABLE career_paths (
            path_id UUID PRIMARY KEY,
            title VARCHAR(200) NOT NULL,
            description TEXT,
            industry VARCHAR(100),
            required_years_experience INT,
            difficulty_level VARCHAR(50),
            average_completion_time INT,
            created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
        );
        CREATE TABLE career_milestones (
            milestone_id UUID PRIMARY KEY,
            path_id UUID REFERENCES career_paths(path_id),
            title VARCHAR(200),
            description TEXT,
            order_sequence INT,
            estimated_duration INT,
            required_skills JSON,
            optional_skills JSON
        );
        CREATE TABLE user_career_progress (
            progress_id UUID PRIMARY KEY,
            user_id UUID REFERENCES users(user_id),
            path_id UUID REFERENCES career_paths(path_id),
            current_milestone_id UUID REFERENCES career_milestones(milestone_id),
            start_date TIMESTAMP WITH TIME ZONE,
            estimated_completion_date TIMESTAMP WITH TIME ZONE,
            completion_percentage INT DEFAULT 0,
            status VARCHAR(50),
            notes TEXT
        );
        CREATE TABLE courses (
            course_id UUID PRIMARY KEY,
            title VARCHAR(255) NOT NULL,
            description TEXT,
            provider VARCHAR(100),
            difficulty_level VARCHAR(50),
            duration_hours INT,
            price DECIMAL(10,2),
            rating DECIMAL(3,2),
            total_enrollments INT DEFAULT 0,
            created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
        );
        CREATE TABLE user_courses (
            enrollment_id UUID PRIMARY KEY,
            user_id UUID REFERENCES users(user_id),
            course_id UUID REFERENCES courses(course_id),
            enrollment_date TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
            completion_date TIMESTAMP WITH TIME ZONE,
            progress_percentage INT DEFAULT 0,
            status VARCHAR(50),
            certificate_url VARCHAR(255)
        );
        CREATE INDEX idx_users_email ON users(email);
        CREATE INDEX idx_users_created_at ON users(created_at);
        CREATE INDEX idx_user_profiles_user_id ON user_profiles(user_id);
        CREATE INDEX idx_courses_title ON courses(title);
        CREATE INDEX idx_courses_provider ON courses(provider);
        CREATE INDEX idx_user_courses_user_id ON user_courses(user_id);
        """

    static let fleetTables = """
        CREATE TABLE fleet_applied_jobs (
            job_type VARCHAR(100) NOT NULL,
            dedup_key VARCHAR(200) NOT NULL,
            job_id UUID NOT NULL,
            applied_at TIMESTAMP WITH TIME ZONE NOT NULL,
            PRIMARY KEY (job_type, dedup_key)
        );
        CREATE INDEX idx_fleet_applied_jobs_applied_at ON fleet_applied_jobs(applied_at);
        CREATE TABLE fleet_fences (
            resource VARCHAR(300) PRIMARY KEY,
            fence BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX uq_user_courses_user_course ON user_courses(user_id, course_id);
        """
}
