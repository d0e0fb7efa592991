import FleetBackup
import FleetContract
import FleetCore

/// `backup.verify` `{store}`: restores the store's newest artifact into a scratch database of its
/// own, compares it with the manifest and drops it (``BackupRunner/verify(_:artifact:)``); the
/// outcome is logged. A damaged, cut-off or wrongly keyed artifact, or a mismatch, fails the job
/// permanently with a reason naming it (`backup_corrupted`, `backup_truncated`, `backup_wrong_key`,
/// `backup_mismatch`), which dead-letters it for an operator to see.
public struct BackupVerifyHandler: JobHandler {
    /// Makes the runner per job, so a rotated key file or a changed setting applies without a restart.
    let makeRunner: @Sendable () throws -> BackupRunner

    public init(runner: @escaping @Sendable () throws -> BackupRunner) { self.makeRunner = runner }

    public func handle(_ job: BackupVerify, context: JobContext) async throws -> JobOutcome {
        guard let store = BackupStore(rawValue: job.store) else {
            throw JobError.permanent("backup_unsupported", "unknown store \(job.store)")
        }
        do {
            let runner = try makeRunner()
            let check = try await runner.verify(store)
            context.logger.info(
                "backup.verify passed",
                metadata: [
                    "backup.store": "\(store)", "backup.artifact": "\(check.artifactPath)",
                    "backup.tables": "\(check.counts.count)", "backup.rows": "\(check.counts.values.reduce(0, +))",
                    "backup.seconds": "\(check.duration)",
                ]
            )
            return .applied
        } catch let error as BackupError {
            throw BackupJobFailure.jobError(error)
        }
    }
}
