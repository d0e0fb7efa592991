/// Why a backup, verify or restore failed. `description` is safe to log: it never holds a key, a
/// password or a connection string.
public struct BackupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An opaque category; new ones may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        /// The artifact's bytes are damaged: checksum, framing, compression or authentication.
        public static let corrupted = Code("corrupted")
        /// The artifact ends early (bytes cut off its end).
        public static let truncated = Code("truncated")
        /// AES-GCM authentication failed: the key is not the one the artifact was sealed with, or the
        /// bytes were altered (the two cannot be told apart).
        public static let wrongKey = Code("wrong_key")
        /// The artifact is encrypted but no key is configured, or the key file is unusable.
        public static let key = Code("key")
        /// The manifest is missing, unreadable, or does not match its artifact.
        public static let manifest = Code("manifest")
        /// The artifact or manifest has a format version this build does not read.
        public static let unknownFormat = Code("unknown_format")
        /// Another backup of the same store holds the store's lock.
        public static let locked = Code("locked")
        /// Restoring into a target that already holds data, without `force`.
        public static let targetNotEmpty = Code("target_not_empty")
        /// The restored scratch copy differs from the manifest (counts or sample checksums).
        public static let mismatch = Code("mismatch")
        /// The runner has no source for the store, or the target is refused (the live database, a bad name).
        public static let unsupported = Code("unsupported")
        public static let notFound = Code("not_found")
        /// A dump or restore tool (pg_dump, pg_restore) failed.
        public static let tool = Code("tool")
        /// zlib failed while compressing.
        public static let compression = Code("compression")
        /// A file could not be read or written.
        public static let io = Code("io")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "backup \(code): \(message)" }
}
