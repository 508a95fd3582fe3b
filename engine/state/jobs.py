"""Job runs, bookmark entries and table writer locks in the run-state database.

Mixed into :class:`engine.state.store.RunStore`; plain SQL both SQLite and
PostgreSQL accept. Claims (a run slot under max concurrency, a table's writer
lock) happen inside one exclusive transaction, and a holder whose process is gone
(same host, pid no longer alive: a SIGKILLed run) is released first, so a crash
never blocks the next run.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import JobError
from engine.process import is_pid_alive
from engine.state.bookmarks import BookmarkEntry
from engine.vocabulary import ACTIVE_STATES, BookmarkStatus, RunState

# How long a writer waits for another run writing the same table, and how often it looks.
WRITER_WAIT_SECONDS = 900.0
LOCK_POLL_SECONDS = 0.5
JOB_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS job_runs (
        run_id TEXT PRIMARY KEY, job TEXT NOT NULL, attempt INTEGER NOT NULL,
        previous_run_id TEXT, state TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
        pid INTEGER, host TEXT, job_type TEXT NOT NULL DEFAULT 'spark',
        source TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
        rows_read BIGINT NOT NULL DEFAULT 0, rows_written BIGINT NOT NULL DEFAULT 0,
        rows_quarantined BIGINT NOT NULL DEFAULT 0, bytes_read BIGINT NOT NULL DEFAULT 0,
        files_read INTEGER NOT NULL DEFAULT 0, delta_version BIGINT,
        error TEXT NOT NULL DEFAULT '', failed_step TEXT NOT NULL DEFAULT '',
        log_path TEXT NOT NULL DEFAULT '', arguments TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE IF NOT EXISTS job_bookmarks (
        job TEXT NOT NULL, context TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, run_id TEXT NOT NULL, created_at TEXT NOT NULL,
        base_seq INTEGER, state TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (job, context, seq))""",
    """CREATE TABLE IF NOT EXISTS table_writers (
        location TEXT PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
        host TEXT NOT NULL, since TEXT NOT NULL)""",
)
JOB_RUN_COLUMNS = (
    "run_id",
    "job",
    "attempt",
    "previous_run_id",
    "state",
    "started_at",
    "ended_at",
    "pid",
    "host",
    "job_type",
    "source",
    "target",
    "rows_read",
    "rows_written",
    "rows_quarantined",
    "bytes_read",
    "files_read",
    "delta_version",
    "error",
    "failed_step",
    "log_path",
    "arguments",
)


class JobConcurrencyError(JobError):
    """A run was refused: the job already has its maximum of runs going."""


class TableBusyError(JobError):
    """Another live run is writing the same Delta table (one writer per table)."""

    transient = True


@dataclass
class JobRun:
    """One attempt of a job, as Glue's JobRun reports it."""

    run_id: str
    job: str
    started_at: str
    attempt: int = 0
    previous_run_id: str | None = None
    state: str = RunState.STARTING
    ended_at: str | None = None
    pid: int | None = None
    host: str | None = None
    job_type: str = "spark"
    source: str = ""
    target: str = ""
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    bytes_read: int = 0
    files_read: int = 0
    delta_version: int | None = None
    error: str = ""
    failed_step: str = ""
    log_path: str = ""
    arguments: dict[str, str] = field(default_factory=dict)


def this_host() -> str:
    return socket.gethostname()


def is_alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that holds a run or lock still exists (unknowable on
    another host: then it is assumed alive)."""
    if host is not None and host != this_host():
        return True
    return pid is not None and is_pid_alive(pid)


def _canonical(location: str) -> str:
    """One spelling per table: the metastore says ``file:/x``, headwater ``file:///x``."""
    if location.startswith("file:"):
        location = "file:/" + location.removeprefix("file:").lstrip("/")
    return location.rstrip("/")


class JobStateMixin:
    """SQL for jobs; the host class provides ``_cursor``, ``_exclusive`` and ``_sql``."""

    _cursor: Any
    _exclusive: Any
    _sql: Any

    # -- runs ------------------------------------------------------------------------
    def save_job_run(self, run: JobRun) -> None:
        with self._cursor() as cursor:
            self._write_run(cursor, run)

    def _write_run(self, cursor: Any, run: JobRun) -> None:
        values = asdict(run)
        values["arguments"] = json.dumps(run.arguments, sort_keys=True)
        names = ", ".join(JOB_RUN_COLUMNS)
        marks = ", ".join("?" for _ in JOB_RUN_COLUMNS)
        cursor.execute(self._sql("DELETE FROM job_runs WHERE run_id = ?"), (run.run_id,))
        cursor.execute(
            self._sql(f"INSERT INTO job_runs ({names}) VALUES ({marks})"),
            tuple(values[c] for c in JOB_RUN_COLUMNS),
        )

    def claim_job_run(self, run: JobRun, max_concurrent: int, now: str) -> None:
        """Record ``run`` as started, unless the job already has ``max_concurrent``
        live runs. Runs whose process is gone are marked FAILED first."""
        with self._exclusive() as cursor:
            active = self._select_runs(
                cursor, "job = ? AND state IN (?, ?)", (run.job, *ACTIVE_STATES)
            )
            live = []
            for other in active:
                if other.run_id == run.run_id:
                    continue
                if is_alive(other.pid, other.host):
                    live.append(other)
                    continue
                other.state, other.ended_at = RunState.FAILED, now
                other.error = other.error or "the run's process ended without a final state"
                self._write_run(cursor, other)
            if len(live) >= max_concurrent:
                raise JobConcurrencyError(
                    f"job {run.job} already has {len(live)} run(s) going "
                    f"({', '.join(r.run_id for r in live)}); its max_concurrent_runs is "
                    f"{max_concurrent}",
                    hint="wait for it to finish, stop it (headwater job stop "
                    f"{run.job}), or raise max_concurrent_runs in headwater.yaml",
                )
            self._write_run(cursor, run)

    def job_run(self, run_id: str) -> JobRun | None:
        with self._cursor() as cursor:
            found = self._select_runs(cursor, "run_id = ?", (run_id,))
        return found[0] if found else None

    def job_runs(self, job: str | None = None, limit: int = 20) -> list[JobRun]:
        with self._cursor() as cursor:
            if job:
                return self._select_runs(cursor, "job = ?", (job,), limit)
            return self._select_runs(cursor, "1 = 1", (), limit)

    def _select_runs(
        self, cursor: Any, where: str, args: tuple[Any, ...], limit: int = 1000
    ) -> list[JobRun]:
        cursor.execute(
            self._sql(
                f"SELECT {', '.join(JOB_RUN_COLUMNS)} FROM job_runs WHERE {where} "
                f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}"
            ),
            args,
        )
        runs = []
        for row in cursor.fetchall():
            values = dict(zip(JOB_RUN_COLUMNS, row, strict=True))
            values["arguments"] = json.loads(values["arguments"] or "{}")
            runs.append(JobRun(**values))
        return runs

    # -- bookmarks -------------------------------------------------------------------
    def bookmark_entries(self, job: str, context: str) -> list[BookmarkEntry]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT seq, kind, status, run_id, created_at, base_seq, state "
                    "FROM job_bookmarks WHERE job = ? AND context = ? ORDER BY seq"
                ),
                (job, context),
            )
            rows = cursor.fetchall()
        entries = []
        for seq, kind, status, run_id, created_at, base_seq, state in rows:
            files, high_water, target = BookmarkEntry.parse_state(state)
            entries.append(
                BookmarkEntry(
                    int(seq),
                    kind,
                    status,
                    run_id,
                    created_at,
                    None if base_seq is None else int(base_seq),
                    files,
                    high_water,
                    target,
                )
            )
        return entries

    def bookmark_contexts(self, job: str) -> list[str]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("SELECT DISTINCT context FROM job_bookmarks WHERE job = ?"), (job,)
            )
            return sorted(str(row[0]) for row in cursor.fetchall())

    def put_bookmark_entry(self, job: str, context: str, entry: BookmarkEntry) -> None:
        """Insert ``entry``; an abandoned entry with the same seq is replaced."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "DELETE FROM job_bookmarks WHERE job = ? AND context = ? AND seq = ? "
                    "AND status = ?"
                ),
                (job, context, entry.seq, BookmarkStatus.ABANDONED),
            )
            cursor.execute(
                self._sql(
                    "INSERT INTO job_bookmarks (job, context, seq, kind, status, run_id, "
                    "created_at, base_seq, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    job,
                    context,
                    entry.seq,
                    entry.kind,
                    entry.status,
                    entry.run_id,
                    entry.created_at,
                    entry.base_seq,
                    entry.state_json(),
                ),
            )

    def set_bookmark_status(self, job: str, context: str, seq: int, status: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "UPDATE job_bookmarks SET status = ? WHERE job = ? AND context = ? AND seq = ?"
                ),
                (status, job, context, seq),
            )

    # -- one writer per Delta table ----------------------------------------------------
    def lock_table(
        self, location: str, run_id: str, now: str, wait: float = WRITER_WAIT_SECONDS
    ) -> None:
        """Become the one writer of the Delta table at ``location``: a table another
        live run writes is waited for (up to ``wait`` seconds, then TableBusyError),
        so a job, a python job and a replication batch on one table take turns; a
        holder whose process is gone is released."""
        deadline = time.monotonic() + wait
        told = False
        while True:
            holder = self._try_lock(_canonical(location), run_id, now)
            if holder is None:
                return
            if time.monotonic() >= deadline:
                raise TableBusyError(
                    f"{_canonical(location)} is being written by {holder} (waited {wait:.0f} s)",
                    hint="Delta on S3 allows one writer per table: run again when it ended",
                    path=location,
                )
            if not told:
                print(f"waiting for {holder}, which is writing {location}", flush=True)
                told = True
            time.sleep(LOCK_POLL_SECONDS)

    def _try_lock(self, location: str, run_id: str, now: str) -> str | None:
        """Take the lock (None), or describe its live holder."""
        with self._exclusive() as cursor:
            cursor.execute(
                self._sql("SELECT run_id, pid, host FROM table_writers WHERE location = ?"),
                (location,),
            )
            row = cursor.fetchone()
            if row is not None and row[0] != run_id and is_alive(int(row[1]), str(row[2])):
                return f"run {row[0]} (pid {row[1]} on {row[2]})"
            cursor.execute(self._sql("DELETE FROM table_writers WHERE location = ?"), (location,))
            cursor.execute(
                self._sql(
                    "INSERT INTO table_writers (location, run_id, pid, host, since) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (location, run_id, os.getpid(), this_host(), now),
            )
        return None

    def unlock_table(self, location: str, run_id: str) -> None:
        location = _canonical(location)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM table_writers WHERE location = ? AND run_id = ?"),
                (location, run_id),
            )
