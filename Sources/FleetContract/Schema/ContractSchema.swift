/// Building blocks of the contract's JSON Schemas: each definition's ``JobDefinition/payloadSchema``
/// and the envelope schema of ``JobContract/envelopeSchema(of:)`` are made of these, so a rule is
/// spelled once.
///
/// The schemas are JSON Schema draft 2020-12 that use only keywords meaning the same in draft-07
/// (`type`, `properties`, `required`, `additionalProperties`, `enum`, `const`, `pattern`,
/// `minLength`/`maxLength`, `minimum`/`maximum`, `items`, `maxItems`, `allOf`, `if`/`then`): an
/// AsyncAPI 3.0 Schema Object is a draft-07 superset, so the same schema serves both. No `$ref`, no
/// `format` (an annotation only, by default): every rule is a keyword that validators enforce.
///
/// Patterns are ECMA-262 regular expressions, as JSON Schema specifies, anchored with `^` and `$`.
/// (Python's `re`, which `jsonschema` uses by default, lets `$` match before a final line feed;
/// `scripts/contract-tools.sh` validates with an ECMA-262 engine instead.)
public enum ContractSchema {
    /// The dialect the schemas are written in.
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// A UUID as ``UUIDText`` reads it: 8-4-4-4-12 hex digits in either case, any version.
    public static let uuidPattern =
        "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"

    /// A MongoDB ObjectId as ``ObjectIdText`` reads it: 24 hex digits in either case.
    public static let objectIdPattern = "^[0-9A-Fa-f]{24}$"

    /// Exactly the timestamps ``RFC3339/parse(_:)`` accepts: a full RFC 3339 date-time with a zone;
    /// `T`, `t` or a space between date and time; `Z` or `z` for UTC; any number of fraction
    /// digits; second 60 (a leap second) at any time; February 29 only in leap years of the
    /// proleptic Gregorian calendar (year 0000 included).
    public static let timestampPattern: String = {
        let day31 = "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        let day30 = "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        let february = "02-(?:0[1-9]|1[0-9]|2[0-8])"
        // Divisible by 4 and not by 100, or by 400.
        let leapYear = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
        let date = "(?:[0-9]{4}-(?:\(day31)|\(day30)|\(february))|\(leapYear)-02-29)"
        let time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?"
        let zone = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
        return "^\(date)[Tt ]\(time)\(zone)$"
    }()

    /// The code points of general category Cc (control), what
    /// `Unicode.Scalar.Properties.generalCategory == .control` tests.
    public static let controlCharacters: [ClosedRange<UInt32>] = [0x00...0x1F, 0x7F...0x9F]

    /// The code points with Unicode's White_Space property, what
    /// `Unicode.Scalar.Properties.isWhitespace` tests (`ContractTests` compares the two over all of
    /// Unicode).
    public static let whiteSpace: [ClosedRange<UInt32>] = [
        0x09...0x0D, 0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
        0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000,
    ]

    /// No control character (``controlCharacters``).
    public static let noControlCharactersPattern = "^[^\(characterClass(controlCharacters))]*$"

    /// At least one code point outside ``whiteSpace``: the text is not blank.
    public static let notBlankPattern = "[^\(characterClass(whiteSpace))]"

    /// No U+0000.
    public static let noNULPattern = "^[^\\u0000]*$"

    /// The ranges as the inside of a bracketed ECMA-262 character class, `\u0009-\u000d\u0020`.
    static func characterClass(_ ranges: [ClosedRange<UInt32>]) -> String {
        func escape(_ value: UInt32) -> String {
            let hex = String(value, radix: 16)
            return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return ranges.map {
            $0.count == 1 ? escape($0.lowerBound) : "\(escape($0.lowerBound))-\(escape($0.upperBound))"
        }
        .joined()
    }

    // MARK: - Schemas

    /// A JSON object. `additionalProperties` false rejects unknown members; true says explicitly
    /// that they are ignored.
    public static func object(
        _ description: String,
        required: [String],
        properties: [String: JSONValue],
        additionalProperties: Bool,
        rules: [JSONValue] = []
    ) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": "object",
            "description": .string(description),
            "properties": .object(properties),
            "required": .array(required.map(JSONValue.string)),
            "additionalProperties": .bool(additionalProperties),
        ]
        if !rules.isEmpty { schema["allOf"] = .array(rules) }
        return .object(schema)
    }

    /// A string; with `nullable`, JSON `null` too (the readers take null as absent).
    public static func string(
        _ description: String,
        pattern: String? = nil,
        minLength: Int? = nil,
        maxLength: Int? = nil,
        nullable: Bool = false,
        rules: [JSONValue] = []
    ) -> JSONValue {
        var schema: [String: JSONValue] = ["type": type("string", nullable), "description": .string(description)]
        if let pattern { schema["pattern"] = .string(pattern) }
        if let minLength { schema["minLength"] = .integer(Int64(minLength)) }
        if let maxLength { schema["maxLength"] = .integer(Int64(maxLength)) }
        if !rules.isEmpty { schema["allOf"] = .array(rules) }
        return .object(schema)
    }

    /// One of fixed strings.
    public static func oneOf(_ description: String, _ values: [String]) -> JSONValue {
        ["type": "string", "description": .string(description), "enum": .array(values.map(JSONValue.string))]
    }

    /// A UUID (``uuidPattern``).
    public static func uuid(_ description: String, nullable: Bool = false) -> JSONValue {
        string(description, pattern: uuidPattern, nullable: nullable)
    }

    /// A MongoDB ObjectId (``objectIdPattern``).
    public static func objectId(_ description: String) -> JSONValue {
        string(description, pattern: objectIdPattern)
    }

    /// An RFC 3339 timestamp (``timestampPattern``).
    public static func timestamp(_ description: String, nullable: Bool = false) -> JSONValue {
        string(description, pattern: timestampPattern, nullable: nullable)
    }

    /// An integer: a JSON number without a fractional part, so `100.0` counts, as ``FieldReader``
    /// reads it.
    public static func integer(
        _ description: String,
        range: ClosedRange<Int64>? = nil,
        minimum: Int64? = nil,
        nullable: Bool = false
    ) -> JSONValue {
        var schema: [String: JSONValue] = ["type": type("integer", nullable), "description": .string(description)]
        if let range {
            schema["minimum"] = .integer(range.lowerBound)
            schema["maximum"] = .integer(range.upperBound)
        } else if let minimum {
            schema["minimum"] = .integer(minimum)
        }
        return .object(schema)
    }

    /// Any JSON number (JSON has no infinities or NaN).
    public static func number(_ description: String, minimum: Double? = nil, nullable: Bool = false) -> JSONValue {
        var schema: [String: JSONValue] = ["type": type("number", nullable), "description": .string(description)]
        if let minimum { schema["minimum"] = .number(minimum) }
        return .object(schema)
    }

    /// A rule applying `then` to the object when its string member `property` equals `value`.
    public static func when(_ property: String, is value: String, then: JSONValue) -> JSONValue {
        [
            "if": ["properties": .object([property: ["const": .string(value)]]), "required": [.string(property)]],
            "then": then,
        ]
    }

    private static func type(_ name: String, _ nullable: Bool) -> JSONValue {
        nullable ? [.string(name), "null"] : .string(name)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// An integer written as a literal.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }

    /// `true` or `false` written as a literal.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }

    /// A string value written as a literal.
    public init(stringLiteral value: String) {
        self = .string(value)
    }

    /// An array written as a literal.
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }

    /// An object written as a literal; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
