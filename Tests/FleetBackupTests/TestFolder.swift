import Foundation

/// A temporary folder of one test, removed by ``remove()``.
struct TestFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "fleet-backup-unit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
