import Bolt
import Foundation

/// One line of a graph dump (`fleet graph jsonl v1`): JSON objects, one per line, in this order:
/// indexes and unique constraints, nodes (with their id in the dumped graph, so relationships can
/// name their ends), relationships, and an end line with the totals.
enum GraphDumpRecord: Codable, Equatable {
    case index(label: String, property: String)
    case unique(label: String, property: String)
    case node(id: Int64, labels: [String], properties: [String: GraphValue])
    case relationship(id: Int64, type: String, start: Int64, end: Int64, properties: [String: GraphValue])
    case end(nodes: Int, relationships: Int)

    private enum Key: String, CodingKey { case t, label, property, id, labels, props, type, start, end, nodes, rels }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        switch try c.decode(String.self, forKey: .t) {
        case "index":
            self = .index(
                label: try c.decode(String.self, forKey: .label),
                property: try c.decode(String.self, forKey: .property)
            )
        case "unique":
            self = .unique(
                label: try c.decode(String.self, forKey: .label),
                property: try c.decode(String.self, forKey: .property)
            )
        case "node":
            self = .node(
                id: try c.decode(Int64.self, forKey: .id),
                labels: try c.decode([String].self, forKey: .labels),
                properties: try c.decode([String: GraphValue].self, forKey: .props)
            )
        case "rel":
            self = .relationship(
                id: try c.decode(Int64.self, forKey: .id),
                type: try c.decode(String.self, forKey: .type),
                start: try c.decode(Int64.self, forKey: .start),
                end: try c.decode(Int64.self, forKey: .end),
                properties: try c.decode([String: GraphValue].self, forKey: .props)
            )
        case "end":
            self = .end(
                nodes: try c.decode(Int.self, forKey: .nodes),
                relationships: try c.decode(Int.self, forKey: .rels)
            )
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .t, in: c, debugDescription: "unknown record \(other)")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .index(let label, let property), .unique(let label, let property):
            try c.encode(self.isIndex ? "index" : "unique", forKey: .t)
            try c.encode(label, forKey: .label)
            try c.encode(property, forKey: .property)
        case .node(let id, let labels, let properties):
            try c.encode("node", forKey: .t)
            try c.encode(id, forKey: .id)
            try c.encode(labels, forKey: .labels)
            try c.encode(properties, forKey: .props)
        case .relationship(let id, let type, let start, let end, let properties):
            try c.encode("rel", forKey: .t)
            try c.encode(id, forKey: .id)
            try c.encode(type, forKey: .type)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(properties, forKey: .props)
        case .end(let nodes, let relationships):
            try c.encode("end", forKey: .t)
            try c.encode(nodes, forKey: .nodes)
            try c.encode(relationships, forKey: .rels)
        }
    }

    private var isIndex: Bool { if case .index = self { true } else { false } }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func line() throws -> [UInt8] { [UInt8](try Self.encoder.encode(self)) + [0x0A] }
}

/// A property value as the dump keeps it: tagged, so an integer stays an integer and a float a float.
enum GraphValue: Codable, Equatable, Hashable {
    case integer(Int64)
    case float(Double)
    case string(String)
    case boolean(Bool)
    case list([GraphValue])

    private enum Key: String, CodingKey { case i, f, s, b, l }

    init(_ value: BoltValue, property: String) throws(BackupError) {
        switch value {
        case .integer(let v): self = .integer(v)
        case .float(let v):
            guard v.isFinite else {
                throw BackupError(.unsupported, "property \(property) holds \(v), which Cypher cannot write back")
            }
            self = .float(v)
        case .string(let v): self = .string(v)
        case .boolean(let v): self = .boolean(v)
        case .list(let values):
            self = .list(try values.map { v throws(BackupError) in try GraphValue(v, property: property) })
        default:
            // Temporal, spatial and byte values: FalkorDB stores none; extend here for Neo4j.
            throw BackupError(.unsupported, "property \(property) has a type the graph backup does not carry: \(value)")
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        if let v = try c.decodeIfPresent(Int64.self, forKey: .i) {
            self = .integer(v)
        } else if let v = try c.decodeIfPresent(Double.self, forKey: .f) {
            self = .float(v)
        } else if let v = try c.decodeIfPresent(String.self, forKey: .s) {
            self = .string(v)
        } else if let v = try c.decodeIfPresent(Bool.self, forKey: .b) {
            self = .boolean(v)
        } else if let v = try c.decodeIfPresent([GraphValue].self, forKey: .l) {
            self = .list(v)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "untagged value"))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .integer(let v): try c.encode(v, forKey: .i)
        case .float(let v): try c.encode(v, forKey: .f)
        case .string(let v): try c.encode(v, forKey: .s)
        case .boolean(let v): try c.encode(v, forKey: .b)
        case .list(let v): try c.encode(v, forKey: .l)
        }
    }

    /// The value as a Cypher literal. Strings are escaped (`\\`, `\'`, `\"`, `\n`, `\r`, `\t`) and
    /// written into the query text rather than passed as parameters, because FalkorDB splices string
    /// parameters into the query unescaped; the escapes are ones both FalkorDB and Neo4j read.
    var cypher: String {
        switch self {
        case .integer(let v): String(v)
        case .float(let v): v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : "\(v)"
        case .string(let v): Cypher.string(v)
        case .boolean(let v): v ? "true" : "false"
        case .list(let v): "[" + v.map(\.cypher).joined(separator: ", ") + "]"
        }
    }
}

/// Text for Cypher built from dumped names and values.
enum Cypher {
    static func string(_ text: String) -> String {
        var out = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }

    /// A label, type or property key in backticks (a backtick inside is doubled).
    static func name(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    static func map(_ properties: [String: GraphValue]) -> String {
        "{" + properties.keys.sorted().map { "\(name($0)): \(properties[$0]!.cypher)" }.joined(separator: ", ") + "}"
    }
}
