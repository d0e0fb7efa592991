import Foundation

/// Where artifacts live: `<root>/<store>/<store>-<UTC timestamp>.<ext>` and, beside each,
/// `<artifact>.manifest.json`. Timestamps sort as text, so names sort by age.
public struct BackupLayout: Sendable {
    /// `FLEET_BACKUP_DIR`.
    public let root: String

    public init(root: String) { self.root = root }

    public static let manifestSuffix = ".manifest.json"

    public func folder(_ store: BackupStore) -> String { "\(root)/\(store.rawValue)" }

    /// A new artifact's path, named after `date` (UTC, milliseconds).
    public func artifactPath(_ store: BackupStore, at date: Date, extension ext: String) -> String {
        "\(folder(store))/\(store.rawValue)-\(Self.stamp(date)).\(ext)"
    }

    public static func manifestPath(ofArtifact path: String) -> String { path + manifestSuffix }

    /// `20261130T010203.456Z`
    static func stamp(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian)
        var utc = c
        utc.timeZone = TimeZone(identifier: "UTC")!
        let p = utc.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        let millis = (p.nanosecond ?? 0) / 1_000_000
        return String(
            format: "%04d%02d%02dT%02d%02d%02d.%03dZ",
            p.year ?? 0,
            p.month ?? 0,
            p.day ?? 0,
            p.hour ?? 0,
            p.minute ?? 0,
            p.second ?? 0,
            millis
        )
    }

    /// Creates the store's folder (and the root) if missing.
    public func prepare(_ store: BackupStore) throws(BackupError) {
        do {
            try FileManager.default.createDirectory(atPath: folder(store), withIntermediateDirectories: true)
        } catch {
            throw BackupError(.io, "cannot create \(folder(store)): \(error)")
        }
    }

    /// One finished backup: an artifact with its manifest.
    public struct Entry: Sendable {
        public let artifactPath: String
        public let manifestPath: String
        /// The parsed manifest, or why it could not be read.
        public let manifest: Result<BackupManifest, BackupError>
    }

    /// The store's finished backups, oldest first. Temporary files and artifacts without a
    /// manifest (a backup that died before finishing) are not listed.
    public func entries(_ store: BackupStore) -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(store))) ?? []
        return names.filter { $0.hasSuffix(Self.manifestSuffix) && !$0.hasPrefix(".") }.sorted().map { name in
            let manifestPath = "\(folder(store))/\(name)"
            let artifactPath = String(manifestPath.dropLast(Self.manifestSuffix.count))
            let manifest: Result<BackupManifest, BackupError>
            if let data = FileManager.default.contents(atPath: manifestPath) {
                manifest = Result { () throws(BackupError) in try BackupManifest.parse([UInt8](data)) }
            } else {
                manifest = .failure(BackupError(.manifest, "cannot read \(manifestPath)"))
            }
            return Entry(artifactPath: artifactPath, manifestPath: manifestPath, manifest: manifest)
        }
    }

    /// The newest finished backup of `store`.
    public func newest(_ store: BackupStore) -> Entry? { entries(store).last }

    /// Keeps the newest `keep` backups of `store` and removes the older ones (artifact and manifest),
    /// and artifacts left without a manifest by a backup that died, older than the newest kept.
    /// Returns the removed artifact paths. Blocking (file system).
    @discardableResult
    public func applyRetention(_ store: BackupStore, keep: Int) -> [String] {
        let entries = entries(store)
        let doomed = entries.dropLast(max(keep, 1))
        var removed: [String] = []
        for entry in doomed {
            try? FileManager.default.removeItem(atPath: entry.manifestPath)
            try? FileManager.default.removeItem(atPath: entry.artifactPath)
            removed.append(entry.artifactPath)
        }
        let kept = Set(entries.suffix(max(keep, 1)).map { ($0.artifactPath as NSString).lastPathComponent })
        if let oldestKept = entries.suffix(max(keep, 1)).first {
            let oldestName = (oldestKept.artifactPath as NSString).lastPathComponent
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(store))) ?? []
            for name in names
            where !name.hasPrefix(".") && !name.hasSuffix(Self.manifestSuffix) && !kept.contains(name)
                && name < oldestName
            {
                try? FileManager.default.removeItem(atPath: "\(folder(store))/\(name)")
                removed.append("\(folder(store))/\(name)")
            }
        }
        return removed
    }
}
