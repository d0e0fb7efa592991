import Yams

/// Walks a parsed YAML mapping with errors that name the file and key path, and rejects unknown
/// keys so that a typo (`prefech:`) fails loudly instead of being ignored.
struct YAMLReader {
    let file: String
    let path: String
    let mapping: [String: Any]

    init(file: String, text: String) throws {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw ConfigurationError(file: file, path: "", problem: "not valid YAML: \(error)")
        }
        guard let mapping = root as? [String: Any] else {
            throw ConfigurationError(file: file, path: "", problem: "expected a mapping at the top level")
        }
        self.init(file: file, path: "", mapping: mapping)
    }

    init(file: String, path: String, mapping: [String: Any]) {
        self.file = file
        self.path = path
        self.mapping = mapping
    }

    func fail(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, path: path.isEmpty ? key : "\(path).\(key)", problem: problem)
    }

    func allowOnly(_ keys: Set<String>) throws {
        if let unknown = mapping.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail(unknown, "unknown key (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ key: String, default value: String? = nil) throws -> String {
        guard let raw = mapping[key] else {
            if let value { return value }
            throw fail(key, "required")
        }
        guard let string = raw as? String, !string.isEmpty else { throw fail(key, "expected a non-empty string") }
        return string
    }

    func positiveInt(_ key: String, default value: Int? = nil) throws -> Int {
        guard let raw = mapping[key] else {
            if let value { return value }
            throw fail(key, "required")
        }
        guard let int = raw as? Int, int > 0 else { throw fail(key, "expected a positive integer") }
        return int
    }

    func optionalPositiveInt(_ key: String) throws -> Int? {
        mapping[key] == nil ? nil : try positiveInt(key)
    }

    func fraction(_ key: String, default value: Double) throws -> Double {
        guard let raw = mapping[key] else { return value }
        let number = (raw as? Double) ?? (raw as? Int).map(Double.init)
        guard let number, (0..<1).contains(number) else { throw fail(key, "expected a number from 0 up to 1") }
        return number
    }

    func duration(_ key: String, default value: Duration? = nil) throws -> Duration {
        guard let raw = mapping[key] else {
            if let value { return value }
            throw fail(key, "required")
        }
        guard let duration = DurationText.parse("\(raw)") else {
            throw fail(key, "expected a duration like 500ms, 30s, 2m or 1h")
        }
        return duration
    }

    func strings(_ key: String, default value: [String]? = nil) throws -> [String] {
        guard let raw = mapping[key] else {
            if let value { return value }
            throw fail(key, "required")
        }
        guard let list = raw as? [Any], let strings = list as? [String], !strings.isEmpty else {
            throw fail(key, "expected a non-empty list of strings")
        }
        return strings
    }

    func nested(_ key: String, required: Bool = true) throws -> YAMLReader? {
        guard let raw = mapping[key] else {
            if required { throw fail(key, "required") }
            return nil
        }
        guard let mapping = raw as? [String: Any] else { throw fail(key, "expected a mapping") }
        return YAMLReader(file: file, path: path.isEmpty ? key : "\(path).\(key)", mapping: mapping)
    }

    /// The entries of a mapping whose keys are names (queues, job types), in name order.
    func entries(_ key: String) throws -> [(String, YAMLReader)] {
        guard let reader = try nested(key) else { return [] }
        return try reader.mapping.keys.sorted().map { name in
            guard let entry = try reader.nested(name) else { throw reader.fail(name, "expected a mapping") }
            return (name, entry)
        }
    }
}
