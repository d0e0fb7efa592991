import FleetBackup
import FleetContract
import FleetCore

/// `backup.run` `{store}`: one artifact and manifest of the store (``BackupRunner/backup(_:)``),
/// then retention. A second backup of a store while one runs fails permanently
/// (`backup_in_progress`): the running one does the work. Not deduplicated: a redelivered job makes
/// one more backup, which retention bounds.
public struct BackupRunHandler: JobHandler {
    /// Makes the runner per job, so a rotated key file or a changed setting applies without a restart.
    let makeRunner: @Sendable () throws -> BackupRunner

    public init(runner: @escaping @Sendable () throws -> BackupRunner) { self.makeRunner = runner }

    public func handle(_ job: BackupRun, context: JobContext) async throws -> JobOutcome {
        guard let store = BackupStore(rawValue: job.store) else {
            throw JobError.permanent("backup_unsupported", "unknown store \(job.store)")
        }
        do {
            let runner = try makeRunner()
            let backup = try await runner.backup(store)
            context.logger.info(
                "backup.run done",
                metadata: [
                    "backup.store": "\(store)", "backup.artifact": "\(backup.artifactPath)",
                    "backup.size": "\(backup.manifest.size)", "backup.sha256": "\(backup.manifest.sha256)",
                ]
            )
            return .applied
        } catch let error as BackupError {
            throw BackupJobFailure.jobError(error)
        }
    }
}
