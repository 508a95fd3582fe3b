"""Decoding PostgreSQL's built-in ``pgoutput`` logical replication messages (protocol
version 1) into row changes. Plain Python over bytes.

Why pgoutput and not wal2json: it ships inside every PostgreSQL since 10 (managed
services included), needs no extension package, marks unchanged TOAST values
explicitly and carries TRUNCATE. The messages come from
``pg_logical_slot_peek_binary_changes(slot, upto_lsn, NULL, 'proto_version', '1',
'publication_names', …)``, one row per message: (lsn, xid, data).

Message layout: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
PG_EPOCH_MICROS = 946_684_800_000_000
INSERT, UPDATE, DELETE, TRUNCATE = "I", "U", "D", "T"


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` as a number (LSNs compare as numbers)."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    table: str
    columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    type_oids: tuple[int, ...]


@dataclass
class Change:
    """One row change of a committed transaction."""

    op: str  # I | U | D | T
    schema: str
    table: str
    lsn: int  # the change's own WAL position (unique within the slot's stream)
    commit_lsn: int
    commit_micros: int  # commit time, microseconds since 1970-01-01 UTC
    xid: int
    values: dict[str, str | None] = field(default_factory=dict)  # text form; None = NULL
    unchanged: tuple[str, ...] = ()  # TOASTed columns the update did not touch
    columns: tuple[str, ...] = ()  # the relation's columns when the change was made
    old_key: dict[str, str | None] | None = None  # an update that changed the key


class DecodeError(ValueError):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise DecodeError("message ends early")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def byte(self) -> str:
        return self.take(1).decode("ascii")

    def int8(self) -> int:
        return self.take(1)[0]

    def int16(self) -> int:
        return int(struct.unpack(">h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self.take(4))[0])

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def int64(self) -> int:
        return int(struct.unpack(">q", self.take(8))[0])

    def string(self) -> str:
        end = self.data.index(b"\x00", self.pos)
        text = self.data[self.pos : end].decode("utf-8")
        self.pos = end + 1
        return text

    def tuple_data(self) -> list[tuple[str, str | None]]:
        """(kind, text) per column: kind n (NULL), u (unchanged TOAST), t (text)."""
        values: list[tuple[str, str | None]] = []
        for _ in range(self.int16()):
            kind = self.byte()
            if kind == "t":
                values.append((kind, self.take(self.int32()).decode("utf-8")))
            elif kind in ("n", "u"):
                values.append((kind, None))
            else:
                raise DecodeError(f"unsupported tuple value kind {kind!r} (binary mode is off)")
        return values


def decode(rows: Iterable[tuple[str, int | str | None, bytes]]) -> Iterator[Change]:
    """The row changes in peek output, in commit order. Relations are learnt from
    their ``R`` messages (sent before a relation's first change in each decoding
    call, and again after its DDL)."""
    relations: dict[int, Relation] = {}
    commit_lsn = commit_micros = xid = 0
    for lsn_text, _, data in rows:
        reader = _Reader(bytes(data))
        kind = reader.byte()
        lsn = parse_lsn(lsn_text)
        if kind == "B":
            commit_lsn = reader.int64()
            commit_micros = reader.int64() + PG_EPOCH_MICROS
            xid = reader.uint32()
        elif kind == "R":
            relation = _relation(reader)
            relations[relation.oid] = relation
        elif kind in (INSERT, UPDATE, DELETE):
            described = relations.get(reader.uint32())
            if described is None:
                raise DecodeError(f"a change at {lsn_text} names a relation not yet described")
            yield _row_change(kind, reader, described, lsn, commit_lsn, commit_micros, xid)
        elif kind == TRUNCATE:
            count = reader.int32()
            reader.int8()  # options: CASCADE / RESTART IDENTITY
            for _ in range(count):
                relation = relations[reader.uint32()]
                yield Change(
                    TRUNCATE,
                    relation.schema,
                    relation.table,
                    lsn,
                    commit_lsn,
                    commit_micros,
                    xid,
                    columns=relation.columns,
                )
        # C (commit), O (origin), Y (type), M (message): nothing to land


def _relation(reader: _Reader) -> Relation:
    oid = reader.uint32()
    schema, table = reader.string(), reader.string()
    reader.int8()  # replica identity setting
    columns, keys, types = [], [], []
    for _ in range(reader.int16()):
        flags = reader.int8()
        name = reader.string()
        types.append(reader.uint32())
        reader.int32()  # type modifier
        columns.append(name)
        if flags & 1:
            keys.append(name)
    return Relation(oid, schema or "pg_catalog", table, tuple(columns), tuple(keys), tuple(types))


def _row_change(
    op: str,
    reader: _Reader,
    relation: Relation,
    lsn: int,
    commit_lsn: int,
    commit_micros: int,
    xid: int,
) -> Change:
    old: list[tuple[str, str | None]] | None = None
    marker = reader.byte()
    if marker in ("K", "O"):
        old = reader.tuple_data()
        if op == UPDATE:
            marker = reader.byte()
    if op == DELETE:
        assert old is not None, "a delete carries the old key or row"
        new = old
    else:
        if marker != "N":
            raise DecodeError(f"expected a new tuple, got {marker!r}")
        new = reader.tuple_data()
    values = {
        name: text for name, (kind, text) in zip(relation.columns, new, strict=False) if kind != "u"
    }
    unchanged = tuple(
        name for name, (kind, _) in zip(relation.columns, new, strict=False) if kind == "u"
    )
    if op == DELETE and marker == "K":  # only the key columns are meaningful
        values = {k: values.get(k) for k in relation.key_columns}
    old_key = None
    if op == UPDATE and old is not None:
        old_values = dict(zip(relation.columns, (text for _, text in old), strict=False))
        old_key = {k: old_values.get(k) for k in relation.key_columns}
        if all(old_key[k] == values.get(k) for k in relation.key_columns):
            old_key = None  # the key did not change (REPLICA IDENTITY FULL sends O always)
    return Change(
        op,
        relation.schema,
        relation.table,
        lsn,
        commit_lsn,
        commit_micros,
        xid,
        values=values,
        unchanged=unchanged,
        columns=relation.columns,
        old_key=old_key,
    )


class Bounded:
    """Peek output read up to a batch's bounds, at a transaction's end.

    ``messages``: the peek was asked to stop after the transaction in which that many
    messages were reached (``upto_nchanges``); ``size``: stop after the transaction in
    which that many bytes of messages were read. A batch so cut ends at its last
    transaction's end (``end``); a transaction larger than the bounds is read whole
    (a batch applies whole transactions only)."""

    def __init__(
        self, rows: Iterable[tuple[str, Any, bytes]], messages: int | None, size: int | None
    ) -> None:
        self.rows, self.messages, self.size = rows, messages, size
        self.read = self.bytes = 0
        self.end: int | None = None  # the end of the last whole transaction read
        self.cut = False

    def __iter__(self) -> Iterator[tuple[str, Any, bytes]]:
        for row in self.rows:
            data = bytes(row[2])
            self.read += 1
            self.bytes += len(data)
            yield row
            if data[:1] == b"C":
                self.end = int.from_bytes(data[10:18], "big")  # flags, commit LSN, end LSN
                if self.size is not None and self.bytes >= self.size:
                    self.cut = True
                    return
        if self.messages is not None and self.read >= self.messages:
            self.cut = self.end is not None  # the server stopped at the bound
