import Crypto

/// Counts and samples of a graph: nodes per label (`(no label)` for none), relationships per
/// `-[TYPE]->`, and per each the SHA-256 of the ``BackupInventory/sampleSize`` smallest canonical
/// forms (labels and properties; a relationship's with its ends' forms), which do not depend on ids.
struct GraphSamples {
    private var counts: [String: Int] = [:]
    private var smallest: [String: [String]] = [:]

    mutating func addNode(labels: [String], properties: [String: GraphValue]) -> String {
        let canonical = Cypher.map([
            "labels": .list(labels.map(GraphValue.string)), "p": .string(Cypher.map(properties)),
        ])
        for label in labels.isEmpty ? ["(no label)"] : labels { add(label, canonical) }
        return canonical
    }

    mutating func addRelationship(type: String, properties: [String: GraphValue], start: String, end: String) {
        add("-[\(type)]->", Cypher.map(["s": .string(start), "e": .string(end), "p": .string(Cypher.map(properties))]))
    }

    private mutating func add(_ key: String, _ canonical: String) {
        counts[key, default: 0] += 1
        var list = smallest[key, default: []]
        let index = list.firstIndex { $0 > canonical } ?? list.endIndex
        if index < BackupInventory.sampleSize {
            list.insert(canonical, at: index)
            if list.count > BackupInventory.sampleSize { list.removeLast() }
        }
        smallest[key] = list
    }

    var inventory: BackupInventory {
        var inventory = BackupInventory(counts: counts)
        for (key, list) in smallest {
            var hasher = SHA256()
            for item in list { hasher.update(data: Array(item.utf8) + [0x0A]) }
            inventory.samples[key] = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        return inventory
    }
}
