import FleetBackup
import FleetCore

/// How a ``BackupError`` settles a backup job: damage, a wrong key, a mismatch, an unsupported
/// store or a backup already running will not change on a retry (permanent); a failing tool, file
/// or compression may (transient, `backup_failed`). Store errors are left to the consumer's
/// classifier.
enum BackupJobFailure {
    static func jobError(_ error: BackupError) -> JobError {
        let message = error.description
        return switch error.code {
        case .tool, .io, .compression: JobError.transient("backup_failed", message)
        case .locked: JobError.permanent("backup_in_progress", message)
        case .corrupted: JobError.permanent("backup_corrupted", message)
        case .truncated: JobError.permanent("backup_truncated", message)
        case .wrongKey: JobError.permanent("backup_wrong_key", message)
        case .key: JobError.permanent("backup_key_missing", message)
        case .manifest, .unknownFormat: JobError.permanent("backup_manifest_invalid", message)
        case .mismatch: JobError.permanent("backup_mismatch", message)
        case .notFound: JobError.permanent("backup_not_found", message)
        default: JobError.permanent("backup_unsupported", message)
        }
    }
}
