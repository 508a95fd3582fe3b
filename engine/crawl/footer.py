"""Parquet and ORC schemas from footers read by byte range: no data pages are fetched."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.model import Column
from engine.errors import CrawlError
from engine.storage import ObjectStore

_INTEGERS = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}
_UNSIGNED = {8: "smallint", 16: "int", 32: "bigint", 64: "bigint"}


def hive_type(data_type: pa.DataType) -> str:
    """The Hive type string of an Arrow type."""
    t = pa.types
    if t.is_boolean(data_type):
        return "boolean"
    if t.is_signed_integer(data_type):
        return _INTEGERS[data_type.bit_width]
    if t.is_unsigned_integer(data_type):
        return _UNSIGNED[data_type.bit_width]
    if t.is_float16(data_type) or t.is_float32(data_type):
        return "float"
    if t.is_float64(data_type):
        return "double"
    if t.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if t.is_string(data_type) or t.is_large_string(data_type) or t.is_null(data_type):
        return "string"
    if t.is_binary(data_type) or t.is_large_binary(data_type) or t.is_fixed_size_binary(data_type):
        return "binary"
    if t.is_date(data_type):
        return "date"
    if t.is_timestamp(data_type):
        return "timestamp"
    if t.is_list(data_type) or t.is_large_list(data_type):
        return f"array<{hive_type(data_type.value_type)}>"
    if t.is_map(data_type):
        return f"map<{hive_type(data_type.key_type)},{hive_type(data_type.item_type)}>"
    if t.is_struct(data_type):
        fields = ",".join(f"{f.name}:{hive_type(f.type)}" for f in data_type)
        return f"struct<{fields}>"
    if t.is_dictionary(data_type):
        return hive_type(data_type.value_type)
    raise CrawlError(
        f"Parquet column type {data_type} has no Hive equivalent",
        hint="cast the column when writing the file, or exclude the file from the crawl",
    )


class _RangeFile(io.RawIOBase):
    """A seekable read-only file over an object store's ranged reads."""

    def __init__(self, store: ObjectStore | _BytesStore, key: str, size: int) -> None:
        self.store, self.key, self.length, self.position = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self.length - self.position)
        if want <= 0:
            return 0
        data = self.store.read(self.key, self.position, want)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


Footer = tuple[tuple[Column, ...], int]


class _BytesStore:
    """Bytes already fetched, read like a one-object store."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        return self.data[start:] if length is None else self.data[start : start + length]


def _read_footer(
    store: ObjectStore | _BytesStore,
    key: str,
    size: int,
    kind: str,
    read: Callable[[pa.PythonFile], Any],
    named: ObjectStore | None = None,
) -> Footer:
    """Columns and row count through ``read`` (pyarrow), errors naming the file."""
    origin = named or store
    assert not isinstance(origin, _BytesStore)
    try:
        schema, rows = read(pa.PythonFile(_RangeFile(store, key, size), mode="r"))
    except (pa.ArrowException, OSError) as exc:
        raise CrawlError(
            f"{origin.uri(key)}: not a readable {kind} file ({exc})",
            hint="remove or replace the file, or exclude it from the crawl",
            path=origin.uri(key),
        ) from exc
    return tuple(Column(f.name.lower(), hive_type(f.type)) for f in schema), int(rows)


PARQUET_MAGIC = b"PAR1"
PARQUET_TAIL = 16 * 1024  # one ranged read holds most footers whole


def read_parquet_footer(store: ObjectStore, key: str, size: int) -> Footer:
    """Columns and row count of one Parquet file, from its footer alone.

    One ranged read of the file's tail (a second one only for a footer larger than
    it); pyarrow then parses the footer framed as a file of no row groups' data.
    """

    def read(source: pa.PythonFile) -> tuple[pa.Schema, int]:
        parquet = pq.ParquetFile(source)
        return parquet.schema_arrow, parquet.metadata.num_rows

    tail = store.read(key, max(0, size - PARQUET_TAIL), min(size, PARQUET_TAIL))
    if size >= 12 and tail.endswith(PARQUET_MAGIC):
        footer_length = int.from_bytes(tail[-8:-4], "little")
        if footer_length + 8 <= size - 4:
            if footer_length + 8 > len(tail):
                footer = store.read(key, size - 8 - footer_length, footer_length)
            else:
                footer = tail[-8 - footer_length : -8]
            framed = PARQUET_MAGIC + footer + tail[-8:]
            return _read_footer(_BytesStore(framed), key, len(framed), "Parquet", read, store)
    return _read_footer(store, key, size, "Parquet", read)  # pyarrow names what is wrong


def read_orc_footer(store: ObjectStore, key: str, size: int) -> Footer:
    """Columns and row count of one ORC file."""
    import pyarrow.orc as orc

    def read(source: pa.PythonFile) -> tuple[pa.Schema, int]:
        orc_file = orc.ORCFile(source)
        return orc_file.schema, orc_file.nrows

    return _read_footer(store, key, size, "ORC", read)
