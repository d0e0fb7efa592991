import Postgres

/// The store side of lock fencing: PostgreSQL remembers the highest fencing token each resource has
/// seen (`fleet_fences`) and refuses writes carrying an older one.
///
/// A Redis lock lease can expire while its holder is paused (GC, swap, a slow disk); the next
/// holder gets a higher fence. Checking the fence inside the write's transaction stops the stale
/// holder from writing after the new one, which the lock alone cannot.
public enum PostgresFence {
    /// Records `fence` for `resource` in the caller's transaction and returns true, or returns
    /// false when a newer fence was already seen (the caller must not write).
    public static func admit(_ connection: PostgresConnection, resource: String, fence: Int64) throws -> Bool {
        let rows = try connection.query(
            """
            INSERT INTO fleet_fences (resource, fence) VALUES ($1, $2)
            ON CONFLICT (resource) DO UPDATE SET fence = EXCLUDED.fence
            WHERE fleet_fences.fence <= EXCLUDED.fence
            """,
            [resource, fence]
        )
        return rows.affectedRows == 1
    }
}
