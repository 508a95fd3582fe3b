"""Replication state in the run-state database: per-table statistics (DMS's
TableStatistics) and the CDC batches of each task.

A batch entry is written PENDING with its sequence number and end position before
any lake commit, and COMMITTED after every table committed it; the slot is only
advanced past a COMMITTED batch. Mixed into :class:`engine.state.store.RunStore`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from engine.vocabulary import BatchStatus, TableLoadState

REPLICATION_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS replication_tables (
        task TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'Before load',
        full_load_rows BIGINT NOT NULL DEFAULT 0, inserts BIGINT NOT NULL DEFAULT 0,
        updates BIGINT NOT NULL DEFAULT 0, deletes BIGINT NOT NULL DEFAULT 0,
        truncates BIGINT NOT NULL DEFAULT 0, ddls TEXT NOT NULL DEFAULT '',
        last_position TEXT NOT NULL DEFAULT '', last_commit_at TEXT NOT NULL DEFAULT '',
        validation_state TEXT NOT NULL DEFAULT 'Not enabled',
        validation_detail TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '', skipped BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (task, source))""",
    """CREATE TABLE IF NOT EXISTS replication_batches (
        task TEXT NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL,
        start_position TEXT NOT NULL, end_position TEXT NOT NULL, run_id TEXT NOT NULL,
        created_at TEXT NOT NULL, changes BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (task, seq))""",
    """CREATE TABLE IF NOT EXISTS replication_health (
        task TEXT PRIMARY KEY, state TEXT NOT NULL, retries BIGINT NOT NULL DEFAULT 0,
        failing_since TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',
        last_error_at TEXT NOT NULL DEFAULT '', restarts BIGINT NOT NULL DEFAULT 0,
        heartbeat_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '')""",
)
# Columns added since a table was first created: (table, column, its definition),
# added to a run-state database made before them (RunStore.__init__)
ADDED_COLUMNS = (
    ("replication_tables", "error", "TEXT NOT NULL DEFAULT ''"),
    ("replication_tables", "skipped", "BIGINT NOT NULL DEFAULT 0"),
)
# Committed batch entries kept per task beyond the first (the generation): enough to
# see recent history; older ones are deleted as batches commit (weeks of continuous
# replication would otherwise grow the table by one row per batch).
KEPT_BATCHES = 200


@dataclass
class TableStats:
    task: str
    source: str
    target: str = ""
    state: str = TableLoadState.BEFORE_LOAD
    full_load_rows: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    truncates: int = 0
    ddls: str = ""
    last_position: str = ""
    last_commit_at: str = ""
    validation_state: str = "Not enabled"
    validation_detail: str = ""
    updated_at: str = ""
    error: str = ""  # why the table failed its load or was suspended
    skipped: int = 0  # changes left out by data_error_policy skip-record


@dataclass
class Batch:
    task: str
    seq: int
    status: str
    start_position: str
    end_position: str
    run_id: str
    created_at: str
    changes: int = 0


@dataclass
class TaskHealth:
    """How a task's supervised run is doing: ``state`` running, retrying (a
    recoverable error, waiting to try again), failed (a fatal error: ``last_error``)
    or stopped; ``retries`` counts recoverable errors since the task started,
    ``failing_since`` when the current run of them began (empty: none);
    ``restarts``: runs the supervisor started again after the driver died."""

    task: str
    state: str = "running"
    retries: int = 0
    failing_since: str = ""
    last_error: str = ""
    last_error_at: str = ""
    restarts: int = 0
    heartbeat_at: str = ""
    updated_at: str = ""


_STATS = tuple(f.name for f in fields(TableStats))
_HEALTH = tuple(f.name for f in fields(TaskHealth))
_BATCH = tuple(f.name for f in fields(Batch))


class ReplicationStateMixin:
    """SQL for replication; the host class provides ``_cursor`` and ``_sql``."""

    _cursor: Any
    _sql: Any

    def table_stats(self, task: str) -> list[TableStats]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_STATS)} FROM replication_tables WHERE task = ? "
                    "ORDER BY source"
                ),
                (task,),
            )
            return [TableStats(*row) for row in cursor.fetchall()]

    def save_table_stats(self, stats: TableStats) -> None:
        values = asdict(stats)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM replication_tables WHERE task = ? AND source = ?"),
                (stats.task, stats.source),
            )
            cursor.execute(
                self._sql(
                    f"INSERT INTO replication_tables ({', '.join(_STATS)}) "
                    f"VALUES ({', '.join('?' for _ in _STATS)})"
                ),
                tuple(values[name] for name in _STATS),
            )

    def forget_task(self, task: str) -> None:
        """A fresh start (reload): statistics and batches go, the history of runs stays."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("DELETE FROM replication_tables WHERE task = ?"), (task,))
            cursor.execute(self._sql("DELETE FROM replication_batches WHERE task = ?"), (task,))
            cursor.execute(self._sql("DELETE FROM replication_health WHERE task = ?"), (task,))

    def task_health(self, task: str) -> TaskHealth | None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(f"SELECT {', '.join(_HEALTH)} FROM replication_health WHERE task = ?"),
                (task,),
            )
            row = cursor.fetchone()
            return None if row is None else TaskHealth(*row)

    def save_task_health(self, health: TaskHealth) -> None:
        values = asdict(health)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM replication_health WHERE task = ?"), (health.task,)
            )
            cursor.execute(
                self._sql(
                    f"INSERT INTO replication_health ({', '.join(_HEALTH)}) "
                    f"VALUES ({', '.join('?' for _ in _HEALTH)})"
                ),
                tuple(values[name] for name in _HEALTH),
            )

    def prune_batches(self, task: str, below: int) -> None:
        """Delete committed batch entries older than ``below`` (never the first)."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "DELETE FROM replication_batches WHERE task = ? AND seq > 0 AND seq < ? "
                    "AND status = ?"
                ),
                (task, below, BatchStatus.COMMITTED),
            )

    def batches(self, task: str) -> list[Batch]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_BATCH)} FROM replication_batches WHERE task = ? "
                    "ORDER BY seq"
                ),
                (task,),
            )
            return [Batch(*row) for row in cursor.fetchall()]

    def save_batch(self, batch: Batch) -> None:
        values = asdict(batch)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM replication_batches WHERE task = ? AND seq = ?"),
                (batch.task, batch.seq),
            )
            cursor.execute(
                self._sql(
                    f"INSERT INTO replication_batches ({', '.join(_BATCH)}) "
                    f"VALUES ({', '.join('?' for _ in _BATCH)})"
                ),
                tuple(values[name] for name in _BATCH),
            )
