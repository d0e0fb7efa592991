import CRabbitMQ
import Foundation

/// Owns the C memory built for one call (strings, tables, properties) and frees it all at once.
///
/// Carves it out of 512-byte blocks instead of one `malloc` per value: a publish needs about ten
/// values (exchange, routing key, properties, header keys), and a `malloc`, a `free` and an array
/// copy of each were a fifth of a confirmed publish's instructions (callgrind). A value larger than
/// a block gets a block of its own. Pointers stay valid until the arena is freed: blocks never move.
final class CArena {
    private static let blockSize = 512
    /// The block being carved, and how much of it is used.
    private var block: UnsafeMutableRawPointer?
    private var used = 0
    /// Every block but the current one.
    private var retired: [UnsafeMutableRawPointer] = []

    deinit {
        free(block)
        for pointer in retired { free(pointer) }
    }

    /// `count` bytes aligned to `alignment` (a power of two), valid as long as the arena.
    func allocate(_ count: Int, alignment: Int = 1) -> UnsafeMutableRawPointer {
        assert(alignment <= 16 && alignment & (alignment - 1) == 0, "malloc aligns blocks to 16")
        let start = (used + alignment - 1) & ~(alignment - 1)
        if let block, start + count <= Self.blockSize {
            used = start + count
            return block + start
        }
        // malloc aligns to 16, more than any C value here needs.
        let pointer = malloc(max(count, Self.blockSize))!
        if count >= Self.blockSize {
            retired.append(pointer)  // a block of its own; the current one stays open
        } else {
            if let block { retired.append(block) }
            (block, used) = (pointer, count)
        }
        return pointer
    }

    func bytes(_ value: UnsafeRawBufferPointer) -> amqp_bytes_t {
        guard let source = value.baseAddress, !value.isEmpty else { return amqp_bytes_t(len: 0, bytes: nil) }
        let pointer = allocate(value.count)
        pointer.copyMemory(from: source, byteCount: value.count)
        return amqp_bytes_t(len: value.count, bytes: pointer)
    }

    func bytes(_ value: [UInt8]) -> amqp_bytes_t { value.withUnsafeBytes { bytes($0) } }

    func bytes(_ value: String) -> amqp_bytes_t {
        var value = value
        return value.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    /// `table` with its entries sorted by key bytes, so the same headers always encode the same way;
    /// `adding` is one more entry, replacing an entry of the same key (the publish sequence number
    /// goes in so, without copying the message to set it).
    func table(_ table: AMQPTable, adding extra: (key: String, value: AMQPFieldValue)? = nil) -> amqp_table_t {
        let capacity = table.count + (extra == nil ? 0 : 1)
        guard capacity > 0 else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(
            MemoryLayout<amqp_table_entry_t>.stride * capacity,
            alignment: MemoryLayout<amqp_table_entry_t>.alignment
        ).bindMemory(to: amqp_table_entry_t.self, capacity: capacity)
        var count = 0
        for (key, value) in table where key != extra?.key {
            entries[count] = amqp_table_entry_t(key: bytes(key), value: field(value))
            count += 1
        }
        if let extra {
            entries[count] = amqp_table_entry_t(key: bytes(extra.key), value: field(extra.value))
            count += 1
        }
        var sorted = UnsafeMutableBufferPointer(start: entries, count: count)
        sorted.sort { $0.key.precedes($1.key) }
        return amqp_table_t(num_entries: Int32(count), entries: entries)
    }

    func properties(
        _ properties: AMQPProperties,
        addingHeader extra: (key: String, value: AMQPFieldValue)? = nil
    )
        -> amqp_basic_properties_t
    {
        var c = amqp_basic_properties_t()
        var flags: UInt32 = 0
        if let value = properties.contentType {
            c.content_type = bytes(value)
            flags |= UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG)
        }
        if let value = properties.deliveryMode {
            c.delivery_mode = value
            flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        }
        if let value = properties.messageId {
            c.message_id = bytes(value)
            flags |= UInt32(AMQP_BASIC_MESSAGE_ID_FLAG)
        }
        if let value = properties.type {
            c.type = bytes(value)
            flags |= UInt32(AMQP_BASIC_TYPE_FLAG)
        }
        if !properties.headers.isEmpty || extra != nil {
            c.headers = table(properties.headers, adding: extra)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        if let value = properties.expiration {
            c.expiration = bytes(value)
            flags |= UInt32(AMQP_BASIC_EXPIRATION_FLAG)
        }
        if let value = properties.timestamp {
            c.timestamp = value
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        if let value = properties.appId {
            c.app_id = bytes(value)
            flags |= UInt32(AMQP_BASIC_APP_ID_FLAG)
        }
        c._flags = flags
        return c
    }

    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let string):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(string)
        case .int(let int):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = int
        case .bool(let bool):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = bool ? 1 : 0
        case .double(let double):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = double
        case .timestamp(let timestamp):
            field.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            field.value.u64 = timestamp
        case .table(let nested):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(nested)
        case .array(let values):
            field.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            let entries = allocate(
                MemoryLayout<amqp_field_value_t>.stride * max(values.count, 1),
                alignment: MemoryLayout<amqp_field_value_t>.alignment
            ).bindMemory(to: amqp_field_value_t.self, capacity: max(values.count, 1))
            for (index, element) in values.enumerated() { entries[index] = self.field(element) }
            field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
        case .bytes(let raw):
            field.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            field.value.bytes = bytes(raw)
        case .void:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }
}

// MARK: - Reading C values into Swift

extension amqp_bytes_t {
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    func equals(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == len && (len == 0 || memcmp(bytes, utf8.baseAddress!, len) == 0)
        }
    }

    /// Byte-wise order (a shorter key first where one is the other's prefix): for ASCII keys,
    /// and any key in Unicode NFC, the order of Swift's `String <`.
    func precedes(_ other: amqp_bytes_t) -> Bool {
        let common = min(len, other.len)
        let order = common == 0 ? 0 : memcmp(bytes, other.bytes, common)
        return order != 0 ? order < 0 : len < other.len
    }

    /// Decoded straight from librabbitmq's buffer: through ``array`` it cost a heap copy per string,
    /// and a delivery has several (properties, header keys and values).
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}

extension AMQPFieldValue {
    /// How deep tables and arrays read from the broker may nest; a deeper one is read as ``void``.
    /// librabbitmq decodes any depth that fits in a frame (about 18,700 levels in 128 KiB), and
    /// converting them recursed once per level: such a header table overflowed the 8 MiB stack of
    /// the fuzz build (Fuzz/regressions/FuzzAMQPHeaders). The fleet's own headers nest at most 3 deep
    /// (`x-death`: an array of tables holding an array).
    public static let maximumReadDepth = 64

    init(_ field: amqp_field_value_t, depth: Int = 1) {
        switch Int(field.kind) {
        case Int(AMQP_FIELD_KIND_UTF8.rawValue): self = .string(field.value.bytes.string)
        case Int(AMQP_FIELD_KIND_BYTES.rawValue): self = .bytes(field.value.bytes.array)
        case Int(AMQP_FIELD_KIND_BOOLEAN.rawValue): self = .bool(field.value.boolean != 0)
        case Int(AMQP_FIELD_KIND_I8.rawValue): self = .int(Int64(field.value.i8))
        case Int(AMQP_FIELD_KIND_U8.rawValue): self = .int(Int64(field.value.u8))
        case Int(AMQP_FIELD_KIND_I16.rawValue): self = .int(Int64(field.value.i16))
        case Int(AMQP_FIELD_KIND_U16.rawValue): self = .int(Int64(field.value.u16))
        case Int(AMQP_FIELD_KIND_I32.rawValue): self = .int(Int64(field.value.i32))
        case Int(AMQP_FIELD_KIND_U32.rawValue): self = .int(Int64(field.value.u32))
        case Int(AMQP_FIELD_KIND_I64.rawValue): self = .int(field.value.i64)
        case Int(AMQP_FIELD_KIND_U64.rawValue): self = .int(Int64(truncatingIfNeeded: field.value.u64))
        case Int(AMQP_FIELD_KIND_F32.rawValue): self = .double(Double(field.value.f32))
        case Int(AMQP_FIELD_KIND_F64.rawValue): self = .double(field.value.f64)
        case Int(AMQP_FIELD_KIND_TIMESTAMP.rawValue): self = .timestamp(field.value.u64)
        case Int(AMQP_FIELD_KIND_TABLE.rawValue) where depth < Self.maximumReadDepth:
            self = .table(AMQPTable(field.value.table, depth: depth + 1))
        case Int(AMQP_FIELD_KIND_ARRAY.rawValue) where depth < Self.maximumReadDepth:
            let array = field.value.array
            self = .array((0..<Int(array.num_entries)).map { AMQPFieldValue(array.entries[$0], depth: depth + 1) })
        default: self = .void
        }
    }
}

extension AMQPTable {
    /// A table read from librabbitmq; `depth` is its nesting level (1: the headers themselves).
    /// An entry keyed `dropped` is left out before it becomes a Swift value: every delivery the
    /// fleet published carries ``AMQPConnection/publishSequenceHeader``, and inserting it into a
    /// dictionary to remove it again cost an allocation and two hashes a job.
    init(_ table: amqp_table_t, depth: Int = 1, dropping dropped: String? = nil) {
        let entries = UnsafeBufferPointer(start: table.entries, count: Int(table.num_entries))
        var droppedCount = 0
        if let dropped { droppedCount = entries.count { $0.key.equals(dropped) } }
        self.init(minimumCapacity: entries.count - droppedCount)
        for entry in entries where droppedCount == 0 || !entry.key.equals(dropped!) {
            self[entry.key.string] = AMQPFieldValue(entry.value, depth: depth)
        }
    }
}

extension AMQPProperties {
    init(_ c: amqp_basic_properties_t, droppingHeader dropped: String? = nil) {
        func has(_ flag: Int32) -> Bool { c._flags & UInt32(flag) != 0 }
        self.init(
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? c.content_type.string : nil,
            deliveryMode: has(AMQP_BASIC_DELIVERY_MODE_FLAG) ? c.delivery_mode : nil,
            messageId: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? c.message_id.string : nil,
            type: has(AMQP_BASIC_TYPE_FLAG) ? c.type.string : nil,
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? AMQPTable(c.headers, dropping: dropped) : [:],
            expiration: has(AMQP_BASIC_EXPIRATION_FLAG) ? c.expiration.string : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? c.timestamp : nil,
            appId: has(AMQP_BASIC_APP_ID_FLAG) ? c.app_id.string : nil
        )
    }
}
