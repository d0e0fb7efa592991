import FleetBackup
import FleetCore

/// How a ``BackupError`` settles a backup job: damage, a wrong key, a mismatch, an unsupported
/// store or a backup already running will not change on a retry (permanent); a failing tool, file
/// or compression may (transient). Store errors are left to the consumer's classifier.
enum BackupJobFailure {
    static func jobError(_ error: BackupError) -> JobError {
        switch error.code {
        case .tool, .io, .compression:
            JobError.transient("backup_\(error.code)", error.description)
        case .locked:
            JobError.permanent("backup_in_progress", error.description)
        default:
            JobError.permanent("backup_\(error.code)", error.description)
        }
    }
}
