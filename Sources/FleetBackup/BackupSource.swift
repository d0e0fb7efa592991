/// What the backup of one store needs from it: a dump into an artifact, a restore from one, and the
/// counts and sample checksums that let ``BackupVerifier`` compare a restored copy with the manifest.
/// One implementation per store (``PostgresBackupSource``, ``MongoBackupSource``,
/// ``GraphBackupSource``, ``ClickHouseBackupSource``).
///
/// A "target" is a database (PostgreSQL, MongoDB, ClickHouse) or graph (FalkorDB) name on the same server as
/// the live one; the live one is never a restore target.
public protocol BackupSource: Sendable {
    var store: BackupStore { get }
    /// The artifact file's extension (after the timestamp), such as `pgdump.fbk`.
    var artifactExtension: String { get }
    /// What the dump inside the artifact is (`BackupManifest/content`).
    var contentFormat: String { get }

    /// Dumps the live store into `writer` and returns counts and samples of exactly what was dumped.
    func export(into writer: ArtifactWriter) async throws -> BackupInventory

    /// Restores the dump `reader` yields into `target`, which ``isEmpty(_:)`` (unless forced).
    /// - Parameter replace: clear what the dump brings back first (restore `--force`).
    func restore(from reader: ArtifactReader, into target: String, replace: Bool) async throws

    /// Counts and samples of `target`, computed as ``export(into:)`` computes them.
    func inventory(of target: String) async throws -> BackupInventory

    /// Whether `target` holds no tables, collections or nodes (or does not exist).
    func isEmpty(_ target: String) async throws -> Bool

    /// Makes a new, empty scratch target of its own and returns its name:
    /// `fleet_verify_<tag><random>` (`fleet-verify-` for graphs: Neo4j names allow no `_`).
    /// - Parameter tag: letters and digits (tests set one, to find their own scratch databases).
    func createScratch(tag: String) async throws -> String

    /// Drops a target made by ``createScratch(tag:)`` or a restore; a missing one is not an error.
    func drop(_ target: String) async throws
}

/// Counts and sample checksums of a store or a dump, and the schema version.
public struct BackupInventory: Sendable, Equatable {
    public var counts: [String: Int]
    public var samples: [String: String]
    public var schemaVersion: String?

    public init(counts: [String: Int] = [:], samples: [String: String] = [:], schemaVersion: String? = nil) {
        self.counts = counts
        self.samples = samples
        self.schemaVersion = schemaVersion
    }

    /// How many rows per table (documents, nodes) the sample checksums cover: the first ones in each
    /// store's stable order.
    public static let sampleSize = 100
}

/// A random suffix for scratch names: lowercase letters and digits, valid in every store's names.
func scratchSuffix() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<12).map { _ in alphabet.randomElement()! })
}
