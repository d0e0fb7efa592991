#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/<target>/: small valid and invalid inputs taken from the
existing tests (JSONParserTests, EnvelopeDecoderTests, PackStreamTests, BSONTests) and the AsyncAPI
document's examples. Run once; the output is committed. `python3 Fuzz/make-seeds.py`"""
import hashlib, json, os, struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def write(target, items):
    folder = os.path.join(ROOT, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for data in items:
        if isinstance(data, str):
            data = data.encode()
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


# JSON: JSONParserTests' valid documents and its error cases.
json_seeds = [
    "null", "true", "false", "42", "-2.5", '"text"', "[]", "{}", ' \t\r\n[1, "a", null, [true], {}] \n',
    '{"id":"x","n":1,"f":0.5,"ok":false,"none":null,"list":[1,[2,[3]]],"nested":{"a":{"b":"c"}}}',
    '{ "a" : 1 , "b" : [ ] }', "", "[1,]", '{"a":1,}', "[1 2]", "tru", "NaN", "-Infinity", "01", "1e309",
    "-0", "1.5e-7", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "0.1e+20",
    '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/"', '"\\ud800"', '"\\udc00\\ud800"', '{"a":1,"a":2}',
    "[" * 64 + "]" * 64, "[" * 65 + "]" * 65, b'"\xff"', b'"\xc3\xa9"', b'"\x01"', "\ufeff{}",
]
write("FuzzJSON", json_seeds)

# Envelope: one valid body per job type (the AsyncAPI examples) and EnvelopeDecoderTests' rejections.
api = json.load(open(os.path.join(ROOT, "..", "docs", "asyncapi.json")))
bodies = []
for message in api["components"]["messages"].values():
    for example in message.get("examples", []):
        bodies.append(json.dumps(example["payload"], separators=(",", ":")))
uuid = "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd"
valid = {"id": uuid, "type": "enrollment.update", "created_at": "2026-11-25T10:00:00Z", "payload": {"a": 1}}
variants = [
    valid,
    dict(valid, id="not-a-uuid"),
    dict(valid, type="no.such.job"),
    dict(valid, version=2),
    dict(valid, idempotency_key=""),
    dict(valid, idempotency_key="k" * 201),
    dict(valid, not_before="2030-01-01T00:00:00Z"),
    dict(valid, created_at="2026-11-25T10:00:00.123456+02:00"),
    dict(valid, payload=[]),
    {k: v for k, v in valid.items() if k != "payload"},
]
bodies += [json.dumps(v, separators=(",", ":")) for v in variants]
bodies += ["[]", "not json", b'{"id":"\xff"}']
write("FuzzEnvelope", bodies)

# PackStream: PackStreamTests' encodings and Bolt responses.
packstream = [
    [0xC0], [0xC3], [0xC2], [0x01], [0xF0], [0xC8, 0xEF], [0xC9, 0x00, 0x80],
    [0xC1, 0x3F, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A], [0x80], [0x81, 0x41],
    [0xD0, 0x12] + list("Größenmaßstäbe".encode()), [0x93, 0x01, 0x02, 0x03],
    [0xA1, 0x83, 0x6F, 0x6E, 0x65, 0x84, 0x65, 0x69, 0x6E, 0x73], [0xCC, 0x03, 0x01, 0x02, 0x03],
    [0xB1, 0x44, 0x01], [0xB1, 0x70, 0xA0], [0xB0, 0x7E], [0xB1, 0x71, 0x91, 0xC8, 0x01],
    [0xB3, 0x4E, 0x01, 0x91, 0x84] + list(b"Node") + [0xA1, 0x81, 0x78, 0x01],
    [0xCB] + [0x7F] + [0xFF] * 7, [0xD4, 0x00], [0xD8, 0x00], [0xDA, 0xFF, 0xFF, 0xFF, 0xFF], [0xC4],
    [0x91] * 70 + [0xC0],
]
write("FuzzPackStream", [bytes(p) for p in packstream])


# BSON: BSONTests' every-type document, pieces of it, and its malformed cases.
def cstring(s):
    return s.encode() + b"\0"


def element(kind, key, body):
    return bytes([kind]) + cstring(key) + body


def document(elements):
    body = b"".join(elements) + b"\0"
    return struct.pack("<i", len(body) + 4) + body


def string(s):
    raw = s.encode()
    return struct.pack("<i", len(raw) + 1) + raw + b"\0"


every = document([
    element(0x01, "double", struct.pack("<d", -1.5)),
    element(0x02, "string", string("héllo ✓")),
    element(0x03, "document", document([element(0x10, "z", struct.pack("<i", 1))])),
    element(0x04, "array", document([element(0x10, "0", struct.pack("<i", 1)), element(0x02, "1", string("two"))])),
    element(0x05, "binary", struct.pack("<i", 4) + b"\0" + bytes([0, 1, 2, 255])),
    element(0x05, "oldBinary", struct.pack("<i", 7) + b"\x02" + struct.pack("<i", 3) + bytes([9, 8, 7])),
    element(0x07, "objectId", bytes.fromhex("5f1d7f3a9b1e8a3c4d2b1a09")),
    element(0x08, "true", b"\x01"),
    element(0x09, "date", struct.pack("<q", 1_732_492_800_123)),
    element(0x0A, "null", b""),
    element(0x0B, "regex", cstring("^a.*b$") + cstring("im")),
    element(0x10, "int32", struct.pack("<i", -2_147_483_648)),
    element(0x11, "timestamp", struct.pack("<II", 7, 1_700_000_000)),
    element(0x12, "int64", struct.pack("<q", 9_223_372_036_854_775_807)),
    element(0x13, "decimal128", bytes([1] + [0] * 13 + [0x40, 0x30])),
    element(0xFF, "minKey", b""),
    element(0x7F, "maxKey", b""),
])
hello = document([element(0x02, "hello", string("world"))])
deep = document([element(0x03, "x", document([]))])
for _ in range(110):
    deep = document([element(0x03, "x", deep)])
write("FuzzBSON", [every, hello, hello[:-1], hello + b"\0", b"", document([element(0x06, "undefined", b"")]),
                   struct.pack("<i", 1000) + hello[4:], document([element(0x02, "s", struct.pack("<i", 4) + b"a\xffb\0")]),
                   deep])


# AMQP: basic content-header property lists (flags, then fields) with headers tables of each kind.
def shortstr(s):
    raw = s.encode()
    return bytes([len(raw)]) + raw


def longstr(raw):
    return struct.pack(">I", len(raw)) + raw


def table(entries):
    body = b"".join(shortstr(k) + v for k, v in entries)
    return struct.pack(">I", len(body)) + body


headers = table([
    ("x-fleet-attempt", b"l" + struct.pack(">q", 2)),
    ("x-fleet-reason", b"S" + longstr(b"invalid_json")),
    ("traceparent", b"S" + longstr(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")),
    ("flag", b"t\x01"), ("i8", b"b\xff"), ("u8", b"B\xff"), ("i16", b"s\x80\x00"), ("u16", b"u\xff\xff"),
    ("i32", b"I\x80\x00\x00\x00"), ("u32", b"i\xff\xff\xff\xff"), ("f32", b"f" + struct.pack(">f", 1.5)),
    ("f64", b"d" + struct.pack(">d", -2.5)), ("dec", b"D\x02" + struct.pack(">I", 12345)),
    ("ts", b"T" + struct.pack(">Q", 1_700_000_000)), ("void", b"V"), ("raw", b"x" + longstr(b"\x00\xff")),
    ("x-death", b"A" + longstr(b"F" + table([
        ("count", b"l" + struct.pack(">q", 1)), ("queue", b"S" + longstr(b"fleet.learning.retry.1")),
        ("reason", b"S" + longstr(b"expired")), ("routing-keys", b"A" + longstr(b"S" + longstr(b"enrollment.update"))),
    ]))),
])
# Flags: content-type 0x8000, headers 0x2000, delivery-mode 0x1000, timestamp 0x0040, type 0x0020,
# message-id 0x0100, app-id 0x0008.
full = struct.pack(">H", 0x8000 | 0x2000 | 0x1000 | 0x0100 | 0x0040 | 0x0020 | 0x0008)
full += shortstr("application/json") + headers + b"\x02" + shortstr("3f1c2a9e") + struct.pack(">Q", 1_700_000_000)
full += shortstr("enrollment.update") + shortstr("fleet")
nested = b"F" + table([])
for _ in range(120):
    nested = b"F" + table([("n", nested)])
write("FuzzAMQPHeaders", [
    full, struct.pack(">H", 0), struct.pack(">H", 0x2000) + headers, struct.pack(">H", 0x2000) + table([]),
    struct.pack(">H", 0x8000) + shortstr("text/plain"), full[:-3], struct.pack(">H", 0x2000) + table([("n", nested)]),
    struct.pack(">H", 0x2000) + table([("bad", b"Z")]), struct.pack(">H", 0x0001) + struct.pack(">H", 0),
])
