"""Parquet and ORC schemas from footers read by byte range: no data pages are fetched
(unless the crawler's ``check_data`` asks for the first rows of each sampled file)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.model import Column
from engine.errors import CrawlError
from engine.lake.types import catalog_type
from engine.storage import ObjectStore


def hive_type(
    data_type: pa.DataType,
    naive_timestamp: str = "timestamp_ntz",
    *,
    column: str = "",
    parquet: bool = False,
) -> str:
    """The type Spark reads a footer's Arrow type as (engine.lake.types), or a
    CrawlError naming the column."""
    found = catalog_type(data_type, naive_timestamp, parquet)
    if found is None:
        raise CrawlError(
            f"column {column or '?'}: type {data_type} is not one Spark reads this file with",
            hint="cast the column when writing the file, or exclude the file from the crawl",
        )
    return found


NTZ = "timestamp_ntz"


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
    """Columns and row count through ``read`` (pyarrow: schema, rows and the names of
    the columns whose naive timestamps Spark reads as ``timestamp``), errors naming
    the file."""
    origin = named or store
    assert not isinstance(origin, _BytesStore)
    try:
        schema, rows, zoned = read(pa.PythonFile(_RangeFile(store, key, size), mode="r"))
    except (pa.ArrowException, OSError) as exc:
        raise CrawlError(
            f"{origin.uri(key)}: not a readable {kind} file ({exc})",
            hint="remove or replace the file, or exclude it from the crawl",
            path=origin.uri(key),
        ) from exc
    try:
        columns = tuple(
            Column(
                f.name,
                hive_type(
                    f.type,
                    "timestamp" if f.name in zoned else NTZ,
                    column=f.name,
                    parquet=kind == "Parquet",
                ),
            )
            for f in schema
        )
    except CrawlError as exc:
        raise CrawlError(
            f"{origin.uri(key)}: {exc.message}", hint=exc.hint, path=origin.uri(key)
        ) from exc
    return columns, int(rows)


PARQUET_MAGIC = b"PAR1"
PARQUET_TAIL = 16 * 1024  # one ranged read holds most footers whole


def read_parquet_footer(store: ObjectStore, key: str, size: int) -> Footer:
    """Columns and row count of one Parquet file, from its footer alone.

    One ranged read of the file's tail (a second one only for a footer larger than
    it); pyarrow then parses the footer framed as a file of no row groups' data.
    """

    def read(source: pa.PythonFile) -> tuple[pa.Schema, int, set[str]]:
        parquet = pq.ParquetFile(source)
        leaves = parquet.schema
        int96 = {
            leaves.column(i).path
            for i in range(len(leaves))
            if leaves.column(i).physical_type == "INT96"  # Spark reads these as timestamp
        }
        return parquet.schema_arrow, parquet.metadata.num_rows, int96

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

    def read(source: pa.PythonFile) -> tuple[pa.Schema, int, set[str]]:
        orc_file = orc.ORCFile(source)
        # Spark reads an ORC timestamp as timestamp (not timestamp_ntz)
        return orc_file.schema, orc_file.nrows, {f.name for f in orc_file.schema}

    return _read_footer(store, key, size, "ORC", read)


FIRST_ROWS = 1024  # rows decoded by check_first_rows: the first pages of each column


def check_first_rows(store: ObjectStore, key: str, size: int, kind: str) -> None:
    """Decode the first rows of a Parquet file (the first page of each column of its
    first row group) or an ORC file (its first stripe): a CrawlError naming the file
    when the data behind a valid footer is corrupt (the crawler's ``check_data``)."""
    import pyarrow.orc as orc

    source = pa.PythonFile(_RangeFile(store, key, size), mode="r")
    try:
        if kind == "parquet":
            parquet = pq.ParquetFile(source, pre_buffer=False)
            if parquet.metadata.num_row_groups:
                next(parquet.iter_batches(batch_size=FIRST_ROWS, row_groups=[0]), None)
        elif kind == "orc":
            orc_file = orc.ORCFile(source)
            if orc_file.nstripes:
                orc_file.read_stripe(0)
    except (pa.ArrowException, OSError, ValueError) as exc:
        where = "row group" if kind == "parquet" else "stripe"
        raise CrawlError(
            f"{store.uri(key)}: its footer reads but its first {where} does not ({exc}): "
            f"queries of its table would fail on it",
            hint="replace the file with a good copy, or remove it from the table's folder",
            path=store.uri(key),
        ) from exc
