import Foundation

/// A BSON document: keys and values in the order they were added (MongoDB compares documents,
/// sort specifications and index keys by order).
///
/// Keys may repeat, as in BSON itself; the subscript reads the first match and replaces it in place.
public struct BSONDocument: Sendable, Equatable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// The key-value pairs, in document order; repeated keys included.
    public private(set) var elements: [(key: String, value: BSONValue)]

    /// An empty document.
    public init() { elements = [] }

    /// A document of these pairs, in this order; repeated keys are kept.
    public init(_ elements: [(key: String, value: BSONValue)]) { self.elements = elements }

    public init(dictionaryLiteral elements: (String, BSONValue)...) {
        self.elements = elements.map { (key: $0.0, value: $0.1) }
    }

    /// The keys in document order, a repeated key as often as it appears.
    public var keys: [String] { elements.map(\.key) }
    /// The number of elements, repeated keys counted each time.
    public var count: Int { elements.count }
    /// Whether the document has no elements.
    public var isEmpty: Bool { elements.isEmpty }

    /// The first value under `key`; setting nil removes every element with that key, setting a
    /// value replaces the first one in place or appends.
    public subscript(key: String) -> BSONValue? {
        get { elements.first { $0.key == key }?.value }
        set {
            guard let newValue else {
                elements.removeAll { $0.key == key }
                return
            }
            if let index = elements.firstIndex(where: { $0.key == key }) {
                elements[index].value = newValue
            } else {
                elements.append((key: key, value: newValue))
            }
        }
    }

    /// Appends an element, even if the key exists already.
    public mutating func append(_ key: String, _ value: BSONValue) {
        elements.append((key: key, value: value))
    }

    public static func == (lhs: BSONDocument, rhs: BSONDocument) -> Bool {
        lhs.elements.count == rhs.elements.count
            && zip(lhs.elements, rhs.elements).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Checks that no key, at any depth, could be read as an operator or a path: keys must not be
    /// empty, start with `$`, or contain `.` or NUL. For documents whose keys come from outside
    /// (user data): ``BSONEncoder`` applies the same rule to dictionary keys.
    /// - Throws: ``BSONError`` naming the first offending key.
    public func validateDataKeys() throws {
        for (key, value) in elements {
            try Self.validateDataKey(key)
            try value.validateDataKeys()
        }
    }

    static func validateDataKey(_ key: String) throws {
        if key.isEmpty || key.hasPrefix("$") || key.contains(".") || key.utf8.contains(0) {
            let shown = String(reflecting: String(key.prefix(64)))
            throw BSONError("field name \(shown) is not allowed in data (empty, starts with $, or contains . or NUL)")
        }
    }

    public var description: String { BSONValue.document(self).extendedJSON }
}

extension BSONValue {
    func validateDataKeys() throws {
        switch self {
        case .document(let document): try document.validateDataKeys()
        case .array(let values): for value in values { try value.validateDataKeys() }
        default: break
        }
    }

    /// A readable, relaxed extended-JSON-like rendering, for messages and debugging.
    public var extendedJSON: String {
        func quote(_ string: String) -> String {
            var out = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        switch self {
        case .double(let value): return "\(value)"
        case .string(let value): return quote(value)
        case .document(let document):
            return "{" + document.elements.map { "\(quote($0.key)): \($0.value.extendedJSON)" }.joined(separator: ", ")
                + "}"
        case .array(let values): return "[" + values.map(\.extendedJSON).joined(separator: ", ") + "]"
        case .binary(let subtype, let data):
            return "{\"$binary\": {\"base64\": \"\(Data(data).base64EncodedString())\", \"subType\": \"\(subtype)\"}}"
        case .objectId(let id): return "{\"$oid\": \"\(id.hex)\"}"
        case .bool(let value): return "\(value)"
        case .date(let milliseconds): return "{\"$date\": {\"$numberLong\": \"\(milliseconds)\"}}"
        case .null: return "null"
        case .regex(let pattern, let options):
            return "{\"$regularExpression\": {\"pattern\": \(quote(pattern)), \"options\": \(quote(options))}}"
        case .int32(let value): return "\(value)"
        case .int64(let value): return "{\"$numberLong\": \"\(value)\"}"
        case .decimal128(let bytes):
            return "{\"$numberDecimalBytes\": \"\(bytes.map { String($0) }.joined(separator: ","))\"}"
        case .timestamp(let seconds, let increment): return "{\"$timestamp\": {\"t\": \(seconds), \"i\": \(increment)}}"
        case .minKey: return "{\"$minKey\": 1}"
        case .maxKey: return "{\"$maxKey\": 1}"
        }
    }
}
