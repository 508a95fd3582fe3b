"""Row changes from a MySQL / MariaDB binary log (``binlog_format=ROW``,
``binlog_row_image=FULL``), in the same :class:`Change` records as PostgreSQL's
pgoutput. Plain Python: :mod:`engine.replicate.mysql` reads the events over the
replication protocol (python-mysql-replication) and turns them into
:class:`Event` records; this module makes them changes, batch by batch.

Positions. A binlog position is a file and an offset in it
(``mariadb-bin.000003:1234``). As a number it is ``file index << 32 | offset``,
so positions compare as numbers across files, as LSNs do. A change's own
position (``Change.lsn``) is its rows event's start plus the row's index in the
event (a row takes at least a byte of its event, so these never reach the next
event); its transaction's position (``commit_lsn``) is where the transaction
begins in the log: the binlog holds transactions in commit order, whole.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.replicate.pgoutput import DELETE, INSERT, TRUNCATE, UPDATE, Change

OFFSET_BITS = 32
_POSITION = re.compile(r"^(?P<base>.+)\.(?P<index>\d+):(?P<offset>\d+)$")
# statements inside a transaction that do not end it
_INSIDE = ("BEGIN", "SAVEPOINT", "ROLLBACK TO", "RELEASE SAVEPOINT", "XA START", "XA END")
_NAME = r"(?:`(?P<q{0}>(?:[^`]|``)+)`|(?P<{0}>[\w$]+))"
_TRUNCATE = re.compile(
    rf"^\s*TRUNCATE\s+(?:TABLE\s+)?(?:{_NAME.format('s')}\s*\.\s*)?{_NAME.format('t')}\s*;?\s*$",
    re.IGNORECASE,
)


def pack(index: int, offset: int) -> int:
    return (index << OFFSET_BITS) | offset


def file_index(file: str) -> int:
    """``mariadb-bin.000003`` → 3."""
    return int(file.rsplit(".", 1)[1])


def position(file: str, offset: int) -> int:
    return pack(file_index(file), offset)


def parse_position(text: str) -> int:
    """``mariadb-bin.000003:1234`` as a number."""
    match = _POSITION.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a binlog position (file:offset, e.g. mysql-bin.000003:4)"
        )
    return pack(int(match["index"]), int(match["offset"]))


def format_position(value: int, base: str, width: int = 6) -> str:
    """The number as ``<base>.<index>:<offset>`` (``base``: the log's basename)."""
    index, offset = value >> OFFSET_BITS, value & ((1 << OFFSET_BITS) - 1)
    return f"{base}.{index:0{width}d}:{offset}"


def file_of(value: int, base: str, width: int = 6) -> tuple[str, int]:
    """(file name, offset) of a position number."""
    text = format_position(value, base, width)
    name, offset = text.rsplit(":", 1)
    return name, int(offset)


@dataclass
class Event:
    """One binlog event, as much as a batch needs of it.

    kind: ``begin`` (a GTID event or a BEGIN statement), ``rows`` (write, update or
    delete rows of one table), ``query`` (any other statement), ``commit`` (an XID
    event: the end of a transactional commit), ``other`` (anything else)."""

    kind: str
    start: int  # position of the event's first byte
    end: int  # position after the event
    timestamp: int = 0  # seconds since 1970 (the statement's start on the source)
    op: str = ""  # rows: I | U | D
    schema: str = ""
    table: str = ""
    columns: tuple[str, ...] = ()
    # rows: one dict per row; an update's are (before, after) pairs
    rows: list[Any] = field(default_factory=list)
    query: str = ""  # query: the statement text
    gtid_seq: int | None = None  # begin: the GTID's sequence number (MariaDB, MySQL)


def ends_transaction(query: str) -> bool:
    """A statement in the binlog that ends the transaction it is in (COMMIT, DDL's
    implicit commit) rather than one inside it (BEGIN, SAVEPOINT …)."""
    head = " ".join(query.strip().upper().split())
    return not head.startswith(_INSIDE)


def truncated_table(query: str, default_schema: str) -> tuple[str, str] | None:
    """(schema, table) of a ``TRUNCATE [TABLE] [schema.]table`` statement."""
    match = _TRUNCATE.match(query)
    if match is None:
        return None
    schema = match["qs"] or match["s"]
    table = match["qt"] or match["t"]
    unquote = lambda name: name.replace("``", "`")  # noqa: E731
    return (unquote(schema) if schema else default_schema), unquote(table)


def text_value(value: Any) -> str | None:
    """A decoded binlog value in the text form the full load reads for its column:
    numbers and dates as MySQL prints them, TIME as ``[-]HH:MM:SS[.ffffff]``,
    binary as ``\\x<hex>`` (as PostgreSQL's bytea), SET as its members in order,
    JSON as MySQL prints it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return time_text(value)
    if isinstance(value, bytes | bytearray):
        return "\\x" + bytes(value).hex()
    if isinstance(value, set | frozenset):
        return ",".join(sorted(str(v) for v in value))
    return json.dumps(value, ensure_ascii=False, default=str)


def time_text(value: dt.timedelta, digits: int | None = None) -> str:
    """A TIME value as MySQL prints it: ``[-]HH:MM:SS`` and ``digits`` fractional
    digits (the column's precision; ``None``: six when there is a fraction)."""
    micros = round(value.total_seconds() * 1_000_000)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    seconds, fraction = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    text = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if digits is None:
        digits = 6 if fraction else 0
    return f"{text}.{fraction:06d}"[: len(text) + 1 + digits] if digits else text


class BinlogBatch:
    """The changes of the transactions read from ``events`` that end at or before
    ``upto``, of the tables in ``tables`` (their primary keys by (schema, table)), cut
    after the transaction in which ``messages`` events or ``size`` bytes were
    reached (a batch applies whole transactions only). ``end``: where the last
    whole transaction read ends; ``cut``: the bounds stopped the batch early."""

    def __init__(
        self,
        events: Iterable[Event],
        upto: int,
        tables: dict[tuple[str, str], tuple[str, ...]],
        messages: int | None = None,
        size: int | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.events, self.upto, self.tables = events, upto, tables
        self._close = close
        self.messages, self.size = messages, size
        self.read = self.bytes = 0
        self.end: int | None = None
        self.cut = False

    def close(self) -> None:
        """Close the event stream (its connection) before the source is used again."""
        if self._close is not None:
            self._close()

    def _wanted(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables

    def __iter__(self) -> Iterator[Change]:
        begin: Event | None = None  # the open transaction's first event
        for event in self.events:
            if begin is None:
                if event.kind in ("other", "commit"):
                    continue  # between transactions: format, rotate, checkpoint events
                if event.start >= self.upto:
                    return  # the first transaction past the batch
                begin = event
            self.read += 1
            self.bytes += event.end - event.start if event.end > event.start else 0
            if event.kind == "rows" and self._wanted(event.schema, event.table):
                yield from self._rows(event, begin)
            elif event.kind == "query" and ends_transaction(event.query):
                truncated = truncated_table(event.query, event.schema)
                if truncated is not None and self._wanted(*truncated):
                    yield self._change(TRUNCATE, truncated, event, 0, begin)
            ended = event.kind == "commit" or (
                event.kind == "query" and ends_transaction(event.query)
            )
            if not ended:
                continue
            begin = None
            self.end = event.end
            if self.end >= self.upto:
                return
            if (self.size is not None and self.bytes >= self.size) or (
                self.messages is not None and self.read >= self.messages
            ):
                self.cut = True
                return

    def _change(
        self,
        op: str,
        table: tuple[str, str],
        event: Event,
        index: int,
        begin: Event,
        values: dict[str, str | None] | None = None,
        old_key: dict[str, str | None] | None = None,
    ) -> Change:
        return Change(
            op,
            table[0],
            table[1],
            event.start + index,
            begin.start,
            begin.timestamp * 1_000_000,
            begin.gtid_seq if begin.gtid_seq is not None else begin.start,
            values=values or {},
            columns=event.columns,
            old_key=old_key,
        )

    def _rows(self, event: Event, begin: Event) -> Iterator[Change]:
        table = (event.schema, event.table)
        for index, row in enumerate(event.rows):
            if event.op == UPDATE:
                before, after = row
                values = {k: text_value(v) for k, v in after.items()}
                key = self.tables[table]
                old = {k: text_value(before.get(k)) for k in key}
                old_key = old if any(old[k] != values.get(k) for k in key) else None
                yield self._change(UPDATE, table, event, index, begin, values, old_key)
            else:
                values = {k: text_value(v) for k, v in row.items()}
                yield self._change(event.op, table, event, index, begin, values)


__all__ = ["DELETE", "INSERT", "UPDATE", "BinlogBatch", "Event"]
