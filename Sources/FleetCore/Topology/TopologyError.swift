/// A configuration file that cannot be used, with the file and the key path at fault.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let path: String
    public let problem: String

    public init(file: String, path: String, problem: String) {
        self.file = file
        self.path = path
        self.problem = problem
    }

    public var description: String { path.isEmpty ? "\(file): \(problem)" : "\(file): \(path): \(problem)" }
}
