import FleetCore
import MongoDB

/// Reads payload fields that hold MongoDB ObjectIds (`content_id`, and `skill_id` of assessments
/// and trends).
enum ObjectIdField {
    /// The ObjectId given as 24 hex digits (either case); anything else rejects the job.
    static func read(_ payload: FieldReader, _ field: String) throws(EnvelopeRejection) -> ObjectId {
        let text = try payload.string(field)
        do {
            return try ObjectId(hex: text)
        } catch {
            throw payload.invalid(field, "not an ObjectId (24 hex digits)")
        }
    }
}
