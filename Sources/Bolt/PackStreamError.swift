/// Bytes that are not valid PackStream, or a value PackStream cannot carry.
public struct PackStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    /// Byte offset in the input where decoding stopped; nil for encoding errors.
    public let offset: Int?

    init(_ description: String, offset: Int? = nil) {
        self.description = offset.map { "\(description) at byte \($0)" } ?? description
        self.offset = offset
    }
}
