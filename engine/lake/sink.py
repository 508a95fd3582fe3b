"""The one sink: what every write of table data goes through (issue 17).

Jobs (Spark and python shell) and replication (change tables, current-state tables,
full loads) describe a write as a :class:`Write` and hand it, with their rows, to a
:class:`TableWriter`: :class:`engine.spark.lake.SparkWriter` for DataFrames,
:class:`engine.lake.deltars.DeltaRsWriter` for Arrow tables (python jobs, no JVM).
Both give back the same :class:`Commit`, compare merge keys null-safe and refuse a
batch holding a key twice (:mod:`engine.lake.merge`), record ``txn`` (the bookmark's
or the batch's Delta transaction) and ``user_metadata`` in the commit, and map Arrow
types with :mod:`engine.lake.types`.

Around a write, :func:`writing` holds the table's one-writer lock (Delta on S3 allows
one writing driver per table): a job, a python job and a replication batch on one
table take turns. After it, :func:`register` registers the landed table in the
catalog from its Delta log — the one registration path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from catalog.hive import HiveCatalog
from catalog.model import Table
from engine.errors import HeadwaterError, JobError
from engine.lake.log import read_delta_schema
from engine.storage import ObjectStore

APPEND, OVERWRITE, MERGE = "append", "overwrite", "merge"
MODES = (APPEND, OVERWRITE, MERGE)


@dataclass(frozen=True)
class Write:
    """One Delta commit at ``location``.

    ``mode``: append, overwrite, or merge on ``merge_keys`` (an update of the rows
    whose key matches, an insert of the others). ``txn`` (app id, version) makes the
    commit idempotent and is recorded in it. ``add_columns`` lets the batch's new
    columns into the table; ``replace_schema`` lets an overwrite replace the schema
    (and partitioning); ``replace_where`` limits an overwrite to matching rows.
    ``error`` is the class raised when the write fails (the caller's stage).
    """

    location: str
    mode: str = APPEND
    partition_by: tuple[str, ...] = ()
    merge_keys: tuple[str, ...] = ()
    txn: tuple[str, int] | None = None
    user_metadata: Mapping[str, Any] = field(default_factory=dict)
    add_columns: bool = False
    replace_schema: bool = False
    replace_where: str | None = None
    error: type[HeadwaterError] = JobError

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"a write's mode is one of {', '.join(MODES)}, not {self.mode!r}")
        if (self.mode == MERGE) != bool(self.merge_keys):
            raise ValueError("a merge, and only a merge, has merge keys")


@dataclass(frozen=True)
class Commit:
    """What a write committed: its Delta version, the rows it inserted or updated
    (not the rows a MERGE copied), the files it added and Delta's operation name."""

    version: int
    rows_written: int
    files_written: int
    operation: str


class TableWriter(Protocol):
    """Writes one batch of rows (a DataFrame, an Arrow table) as one Delta commit."""

    def write(self, rows: Any, request: Write) -> Commit: ...


class TableLocks(Protocol):
    """The run-state store's one-writer locks (``engine.state``)."""

    def lock_table(self, location: str, run_id: str, now: str) -> None: ...

    def unlock_table(self, location: str, run_id: str) -> None: ...


@contextlib.contextmanager
def writing(
    locks: TableLocks, owner: str, locations: tuple[str, ...], clock: Callable[[], str]
) -> Iterator[None]:
    """Hold the one-writer lock of each table at ``locations`` (in order) for
    ``owner`` (a run id): another run writing one of them is waited for, and waits."""
    taken: list[str] = []
    try:
        for location in locations:
            locks.lock_table(location, owner, clock())
            taken.append(location)
        yield
    finally:
        for location in reversed(taken):
            locks.unlock_table(location, owner)


def landed_columns(store: ObjectStore, prefix: str) -> list[tuple[str, str]] | None:
    """The (name, catalog type) of the Delta table's columns; None when there is none."""
    log = tuple(store.list(f"{prefix.rstrip('/')}/_delta_log/".lstrip("/")))
    if not log:
        return None
    return [(c.name, c.type) for c in read_delta_schema(store, prefix, log).columns]


def register(
    catalog: HiveCatalog | None,
    store: ObjectStore,
    prefix: str,
    table: tuple[str, str],
    location: str,
    parameters: Mapping[str, str],
) -> Table:
    """Register the Delta table at ``location`` as ``table`` (database, name) —
    idempotent; skipped without a catalog — and return its definition as its Delta
    log has it (columns, partition keys), for the schema history."""
    database, name = table
    if catalog is not None:
        catalog.create_database(database)
        catalog.create_table(
            Table(database=database, name=name, columns=(), location=location, format="delta")
        )
    log = tuple(store.list(f"{prefix.rstrip('/')}/_delta_log/".lstrip("/")))
    found = read_delta_schema(store, prefix, log)
    keys = set(found.partition_columns)
    by_name = {c.name: c for c in found.columns}
    return Table(
        database=database,
        name=name,
        columns=tuple(c for c in found.columns if c.name not in keys),
        location=location,
        format="delta",
        partition_keys=tuple(by_name[k] for k in found.partition_columns if k in by_name),
        parameters={"classification": "delta", **parameters},
    )
