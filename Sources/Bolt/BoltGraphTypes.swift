/// A graph node. Bolt 5 adds `elementId`, the stable identifier; the integer `id` is legacy.
public struct BoltNode: Sendable, Hashable {
    /// The legacy integer id; a server may reuse it once the node is deleted.
    public var id: Int64
    /// The node's labels, such as `["Skill"]`.
    public var labels: [String]
    /// The node's properties.
    public var properties: [String: BoltValue]
    /// Neo4j 5: a string such as `4:…:12`; FalkorDB: `node_12`.
    public var elementId: String

    /// A node; without an `elementId` (a Bolt 4 server) the decimal `id` stands in for it.
    public init(id: Int64, labels: [String], properties: [String: BoltValue], elementId: String? = nil) {
        self.id = id
        self.labels = labels
        self.properties = properties
        self.elementId = elementId ?? String(id)
    }
}

/// A relationship with both ends, as returned for a relationship variable.
public struct BoltRelationship: Sendable, Hashable {
    /// The legacy integer id of the relationship.
    public var id: Int64
    /// The legacy integer id of the node it starts at.
    public var startNodeId: Int64
    /// The legacy integer id of the node it ends at.
    public var endNodeId: Int64
    /// The relationship type, such as `REQUIRES`.
    public var type: String
    /// The relationship's properties.
    public var properties: [String: BoltValue]
    /// The stable identifier of the relationship (Bolt 5), or the decimal ``id``.
    public var elementId: String
    /// The stable identifier of the start node (Bolt 5), or the decimal ``startNodeId``.
    public var startNodeElementId: String
    /// The stable identifier of the end node (Bolt 5), or the decimal ``endNodeId``.
    public var endNodeElementId: String

    /// A relationship; each element id left out (a Bolt 4 server) is the decimal form of the matching integer id.
    public init(
        id: Int64,
        startNodeId: Int64,
        endNodeId: Int64,
        type: String,
        properties: [String: BoltValue],
        elementId: String? = nil,
        startNodeElementId: String? = nil,
        endNodeElementId: String? = nil
    ) {
        self.id = id
        self.startNodeId = startNodeId
        self.endNodeId = endNodeId
        self.type = type
        self.properties = properties
        self.elementId = elementId ?? String(id)
        self.startNodeElementId = startNodeElementId ?? String(startNodeId)
        self.endNodeElementId = endNodeElementId ?? String(endNodeId)
    }
}

/// A relationship inside a path, whose ends follow from its place in the path.
public struct BoltUnboundRelationship: Sendable, Hashable {
    /// The legacy integer id of the relationship.
    public var id: Int64
    /// The relationship type.
    public var type: String
    /// The relationship's properties.
    public var properties: [String: BoltValue]
    /// The stable identifier of the relationship (Bolt 5), or the decimal ``id``.
    public var elementId: String

    /// A relationship of a path; without an `elementId` (a Bolt 4 server) the decimal `id` stands in for it.
    public init(id: Int64, type: String, properties: [String: BoltValue], elementId: String? = nil) {
        self.id = id
        self.type = type
        self.properties = properties
        self.elementId = elementId ?? String(id)
    }
}

/// A path in PackStream's compact form: distinct nodes and relationships, and the `indices` that walk them.
///
/// `indices` alternate relationship and node: a relationship index is 1-based, negative when the
/// relationship is walked backwards; a node index is 0-based into ``nodes``.
public struct BoltPath: Sendable, Hashable {
    /// Each node of the path once, the start node first.
    public var nodes: [BoltNode]
    /// Each relationship of the path once.
    public var relationships: [BoltUnboundRelationship]
    /// The walk: pairs of a relationship index (1-based, negative when walked backwards) and a node index (0-based).
    public var indices: [Int64]

    /// A path from its parts, as the server sends them; ``walk`` checks the indices.
    public init(nodes: [BoltNode], relationships: [BoltUnboundRelationship], indices: [Int64]) {
        self.nodes = nodes
        self.relationships = relationships
        self.indices = indices
    }

    /// The nodes in walking order, starting with the first node; nil when `indices` point outside the lists.
    public var walk: [BoltNode]? {
        guard let first = nodes.first, indices.count % 2 == 0 else { return nodes.isEmpty ? [] : nil }
        var result = [first]
        for pair in stride(from: 0, to: indices.count, by: 2) {
            let relationship = indices[pair]
            let node = indices[pair + 1]
            guard relationship != 0, relationship.magnitude <= relationships.count,
                node >= 0, node < nodes.count
            else { return nil }
            result.append(nodes[Int(node)])
        }
        return result
    }
}
