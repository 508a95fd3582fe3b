"""A CDC batch's decoded changes, bounded in the driver: past ``memory_changes`` held
in memory, a table's changes go to Parquet files in the lake (``<raw
bucket>/_headwater/replicate/<task>/spill/<table>/part-NNNNN.parquet``, rows of
``CHANGE_SCHEMA``) and Spark reads them from there; a small batch stays in memory
and goes to Spark directly, as before.

What stays in memory per table whatever the batch's size: the counts by operation,
the last change (its position and commit time), and — only for tables whose batch
has updates that leave TOASTed values unchanged — the keys of those updates (and of
key moves), so a second pass over the files fills those values from earlier changes
of the same row in the batch (:func:`engine.replicate.current.fill_unchanged`,
restricted to those keys).

The spill is scratch: written again when a batch is replayed (the peek returns the
same changes), removed before each batch's read and after its commit.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from engine.replicate.current import UPDATE, Key, iter_filled
from engine.replicate.pgoutput import Change
from engine.storage import ObjectStore

# CHANGE_SCHEMA (engine.spark.replicate) in Arrow terms, and the Change fields beside
TEXT_MAP = pa.map_(pa.string(), pa.string())
ARROW_SCHEMA = pa.schema(
    [
        pa.field("op", pa.string(), False),
        pa.field("lsn", pa.int64(), False),
        pa.field("commit_lsn", pa.int64(), False),
        pa.field("commit_micros", pa.int64(), False),
        pa.field("xid", pa.int64(), False),
        pa.field("values", TEXT_MAP, False),
        pa.field("unchanged", pa.list_(pa.string()), False),
        pa.field("old_key", TEXT_MAP, True),
        pa.field("columns", pa.list_(pa.string()), False),
    ]
)
FILE_ROWS = 50_000  # rows per spilled file: the most a reader holds at once


@dataclass
class TableChanges:
    """One table's changes in a batch: in memory (``held``) or spilled (``files``)."""

    schema: str
    table: str
    key: tuple[str, ...]
    held: list[Change] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # store keys, in change order
    count: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    last: Change | None = None
    toasted: bool = False  # an update left TOASTed values unchanged
    needs: set[Key] = field(default_factory=set)  # keys of such updates
    moves: list[tuple[Key, Key]] = field(default_factory=list)  # (old key, new key)

    @property
    def spilled(self) -> bool:
        return bool(self.files)

    def note(self, change: Change) -> None:
        self.count += 1
        self.ops[change.op] += 1
        self.last = change
        if not self.key or change.op != UPDATE:
            return
        if change.old_key is not None:
            self.moves.append(
                (
                    tuple(change.old_key.get(k) for k in self.key),
                    tuple(change.values.get(k) for k in self.key),
                )
            )
        if change.unchanged:
            self.toasted = True
            self.needs.add(tuple(change.values.get(k) for k in self.key))

    def keys_to_follow(self) -> set[Key]:
        """The keys whose earlier values the fill needs: those of the updates that
        left TOASTed values out, and the keys their rows had before a move."""
        needed = set(self.needs)
        for old, new in reversed(self.moves):
            if new in needed:
                needed.add(old)
        return needed


class Spill:
    """The batch's changes by table, ``memory_changes`` at most held in memory."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        keys: dict[tuple[str, str], tuple[str, ...]],
        memory_changes: int,
    ) -> None:
        self.store, self.prefix = store, prefix.rstrip("/")
        self.keys, self.memory_changes = keys, max(1, memory_changes)
        self.tables: dict[tuple[str, str], TableChanges] = {}
        self.held = 0
        self.files_written = 0

    def clear(self) -> None:
        """Remove what an earlier read left (a crash before its batch committed)."""
        self.store.delete(self.prefix + "/")

    def add(self, change: Change) -> None:
        name = (change.schema, change.table)
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = TableChanges(
                change.schema, change.table, self.keys.get(name, ())
            )
        table.note(change)
        table.held.append(change)
        self.held += 1
        if table.spilled and len(table.held) >= FILE_ROWS:
            self._flush(table)
        elif self.held > self.memory_changes:
            self._flush(max(self.tables.values(), key=lambda t: len(t.held)))

    def close(self) -> None:
        """Every spilled table's remaining changes to its files too."""
        for table in self.tables.values():
            if table.spilled and table.held:
                self._flush(table)

    def _flush(self, table: TableChanges) -> None:
        rows, table.held = table.held, []
        self.held -= len(rows)
        for start in range(0, len(rows), FILE_ROWS):
            self._write(table, rows[start : start + FILE_ROWS])

    def _write(self, table: TableChanges, rows: Sequence[Change]) -> None:
        key = f"{self.folder(table)}/part-{self.files_written:05d}.parquet"
        buffer = io.BytesIO()
        pq.write_table(to_arrow(rows), buffer, compression="zstd")
        self.store.put(key, buffer.getvalue())
        table.files.append(key)
        self.files_written += 1

    def folder(self, table: TableChanges) -> str:
        return f"{self.prefix}/{table.schema}.{table.table}"

    def fill(self, table: TableChanges) -> None:
        """Fill unchanged TOAST values of a spilled table from earlier changes of the
        same rows (a second pass over its files, written again)."""
        if not table.spilled or not table.toasted or not table.key:
            return
        old, table.files = table.files, []
        follow = table.keys_to_follow()
        filled = iter_filled(self.read(table, old), table.key, follow=follow.__contains__)
        batch: list[Change] = []
        for change in filled:
            batch.append(change)
            if len(batch) >= FILE_ROWS:
                self._write(table, batch)
                batch = []
        if batch:
            self._write(table, batch)
        for key in old:
            self.store.delete(key)

    def read(self, table: TableChanges, files: Iterable[str]) -> Iterator[Change]:
        """The changes in ``files``, in order, one file in memory at a time."""
        for key in files:
            for row in pq.read_table(io.BytesIO(self.store.read(key))).to_pylist():
                yield Change(
                    row["op"],
                    table.schema,
                    table.table,
                    row["lsn"],
                    row["commit_lsn"],
                    row["commit_micros"],
                    row["xid"],
                    values=dict(row["values"]),
                    unchanged=tuple(row["unchanged"]),
                    columns=tuple(row["columns"]),
                    old_key=None if row["old_key"] is None else dict(row["old_key"]),
                )

    def uri(self, table: TableChanges) -> str:
        """The Hadoop URI of a spilled table's files (for Spark)."""
        return self.store.uri(self.folder(table))


def to_arrow(changes: Sequence[Change]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "op": [c.op for c in changes],
            "lsn": [c.lsn for c in changes],
            "commit_lsn": [c.commit_lsn for c in changes],
            "commit_micros": [c.commit_micros for c in changes],
            "xid": [c.xid for c in changes],
            "values": [list(c.values.items()) for c in changes],
            "unchanged": [list(c.unchanged) for c in changes],
            "old_key": [None if c.old_key is None else list(c.old_key.items()) for c in changes],
            "columns": [list(c.columns) for c in changes],
        },
        schema=ARROW_SCHEMA,
    )
