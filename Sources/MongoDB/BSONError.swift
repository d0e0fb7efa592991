/// A value that cannot be written as BSON, or bytes that are not valid BSON.
public struct BSONError: Error, CustomStringConvertible, Equatable {
    public let description: String

    /// An error that says what is wrong in `description`.
    public init(_ description: String) {
        self.description = description
    }
}
