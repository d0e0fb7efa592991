import FleetCore
import MongoDB

/// The ObjectIds of payloads (`content_id`, and `skill_id` of assessments and trends), which the
/// contract checks as 24 hex digits, as MongoDB values.
enum ObjectIdField {
    static func objectId(_ hex: String, field: String) throws -> ObjectId {
        do {
            return try ObjectId(hex: hex)
        } catch {
            // Unreachable for a payload the contract accepted; permanent all the same.
            throw JobError.permanent("invalid_payload", "payload.\(field): not an ObjectId (24 hex digits)")
        }
    }
}
