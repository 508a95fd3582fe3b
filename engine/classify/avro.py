"""Avro object container files: the schema is JSON in the file header.

Header layout (Avro spec): the magic ``Obj\\x01``, then a metadata map of
(string key, bytes value) blocks in zig-zag varint framing; ``avro.schema`` holds
the writer schema and ``avro.codec`` the block codec.
"""

from __future__ import annotations

import json
from typing import Any

from catalog.model import Column
from engine.classify.model import Classification, Sample, no_match

NAME = "avro"
MAGIC = b"Obj\x01"
_PRIMITIVES = {
    "null": "string",
    "boolean": "boolean",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "double": "double",
    "bytes": "binary",
    "string": "string",
}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def long(self) -> int:
        shift = result = 0
        while True:
            if self.position >= len(self.data):
                raise EOFError("header cut by the sample end")
            byte = self.data[self.position]
            self.position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7

    def bytes(self) -> bytes:
        length = self.long()
        if length < 0 or self.position + length > len(self.data):
            raise EOFError("header cut by the sample end")
        value = self.data[self.position : self.position + length]
        self.position += length
        return value


def read_header(head: bytes) -> dict[str, bytes]:
    reader = _Reader(head)
    reader.position = len(MAGIC)
    metadata: dict[str, bytes] = {}
    while True:
        count = reader.long()
        if count == 0:
            return metadata
        if count < 0:  # a negative count is followed by the block's byte size
            count = -count
            reader.long()
        for _ in range(count):
            key = reader.bytes().decode("utf-8")
            metadata[key] = reader.bytes()


MAX_PRECISION = 38  # Spark's decimals


class UnreadableAvroError(ValueError):
    """An Avro type Spark cannot read the file with."""


def hive_type(schema: Any) -> str:
    """The type Spark's Avro reader gives an Avro schema (``SchemaConverters``):
    a nullable union is its other branch, ``int``+``long`` ``bigint``,
    ``float``+``double`` ``double``, other unions ``struct<member0:…,member1:…>``;
    ``local-timestamp-*`` is ``timestamp_ntz``.

    Raises:
        UnreadableAvroError: a decimal wider than Spark's 38 digits.
    """
    if isinstance(schema, str):
        return _PRIMITIVES.get(schema, "string")
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        if len(branches) == 1:
            return hive_type(branches[0])
        kinds = {b if isinstance(b, str) else b.get("type") for b in branches}
        if len(branches) == 2 and kinds in ({"int", "long"}, {"float", "double"}):
            return "bigint" if "long" in kinds else "double"
        members = ",".join(f"member{i}:{hive_type(b)}" for i, b in enumerate(branches))
        return f"struct<{members}>"
    logical = schema.get("logicalType")
    if logical == "date":
        return "date"
    if logical in ("timestamp-millis", "timestamp-micros"):
        return "timestamp"
    if logical in ("local-timestamp-millis", "local-timestamp-micros"):
        return "timestamp_ntz"
    if logical == "decimal":
        precision = int(schema.get("precision", MAX_PRECISION))
        if precision > MAX_PRECISION:
            raise UnreadableAvroError(
                f"decimal({precision},{schema.get('scale', 0)}) is wider than Spark's "
                f"{MAX_PRECISION} digits"
            )
        return f"decimal({precision},{schema.get('scale', 0)})"
    kind = schema.get("type")
    if kind == "record":
        fields = ",".join(f"{f['name']}:{hive_type(f['type'])}" for f in schema["fields"])
        return f"struct<{fields}>"
    if kind == "array":
        return f"array<{hive_type(schema['items'])}>"
    if kind == "map":
        return f"map<string,{hive_type(schema['values'])}>"
    if kind == "enum":
        return "string"
    if kind == "fixed":
        return "binary"
    return hive_type(kind)


def classify_avro(sample: Sample) -> Classification:
    if sample.compression != "none" or not sample.head.startswith(MAGIC):
        return no_match(NAME, "no Avro magic bytes Obj\\x01 at the start")
    try:
        metadata = read_header(sample.head)
        schema = json.loads(metadata["avro.schema"])
    except (EOFError, KeyError, UnicodeDecodeError, ValueError) as exc:
        return no_match(NAME, f"Avro magic bytes but an unreadable header ({exc})", near=0.9)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return no_match(NAME, "the Avro schema is not a record", near=0.9)
    columns = []
    for field in schema["fields"]:
        try:
            columns.append(Column(field["name"], hive_type(field["type"])))
        except UnreadableAvroError as exc:
            reason = f"column {field['name']}: {exc}: Spark cannot read this file"
            return no_match(NAME, reason, near=0.9)
    codec = metadata.get("avro.codec", b"null").decode()
    return Classification(
        NAME,
        "avro",
        1.0,
        f"Avro header with a {len(columns)}-field record schema",
        tuple(columns),
        properties={"classification": "avro", "compressionType": "none", "avroCodec": codec},
    )
