"""Reading and writing run state. Plain SQL that SQLite and PostgreSQL both accept."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from catalog.model import Table
from catalog.versions import TableVersion, table_from_json, table_to_json
from engine.config import Settings
from engine.errors import HeadwaterError
from engine.state.jobs import JOB_SCHEMA, JobStateMixin
from engine.state.orchestrate import ORCHESTRATE_SCHEMA, OrchestrateStateMixin
from engine.state.pins import PINS_SCHEMA, PinStateMixin
from engine.state.quality import QUALITY_SCHEMA, QualityStateMixin
from engine.state.replication import ADDED_COLUMNS, REPLICATION_SCHEMA, ReplicationStateMixin
from engine.vocabulary import RunState

STATE_DATABASE = "headwater"
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS crawl_runs (
        run_id TEXT PRIMARY KEY, crawler TEXT NOT NULL, target TEXT NOT NULL,
        database_name TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
        state TEXT NOT NULL, tables_created INTEGER NOT NULL DEFAULT 0,
        tables_updated INTEGER NOT NULL DEFAULT 0, tables_unchanged INTEGER NOT NULL DEFAULT 0,
        tables_deleted INTEGER NOT NULL DEFAULT 0, partitions_added INTEGER NOT NULL DEFAULT 0,
        files_listed INTEGER NOT NULL DEFAULT 0, files_sampled INTEGER NOT NULL DEFAULT 0,
        bytes_read BIGINT NOT NULL DEFAULT 0, errors TEXT NOT NULL DEFAULT '[]',
        log TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS table_versions (
        database_name TEXT NOT NULL, table_name TEXT NOT NULL, version INTEGER NOT NULL,
        created_at TEXT NOT NULL, run_id TEXT NOT NULL, definition TEXT NOT NULL,
        PRIMARY KEY (database_name, table_name, version))""",
    # Leaf folders a crawler has seen (recrawl policy "new folders only").
    """CREATE TABLE IF NOT EXISTS crawled_folders (
        crawler TEXT NOT NULL, folder TEXT NOT NULL, run_id TEXT NOT NULL,
        PRIMARY KEY (crawler, folder))""",
)
CRAWL_RUN_COLUMNS = (
    "run_id",
    "crawler",
    "target",
    "database_name",
    "started_at",
    "ended_at",
    "state",
    "tables_created",
    "tables_updated",
    "tables_unchanged",
    "tables_deleted",
    "partitions_added",
    "files_listed",
    "files_sampled",
    "bytes_read",
    "errors",
    "log",
)


# A connection unused this long is pinged before use (its server may have restarted).
IDLE_PING_SECONDS = 5.0


class StateError(HeadwaterError):
    """The run-state database refused or failed."""

    transient = True


def now() -> str:
    """The current UTC instant for run records: milliseconds, so two runs started within
    one second (a fast python job and its rerun) still list in the order they ran."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class CrawlRun:
    """What one crawl did, as Glue's crawler metrics report it."""

    run_id: str
    crawler: str
    target: str
    database_name: str
    started_at: str
    state: str = RunState.RUNNING
    ended_at: str | None = None
    tables_created: int = 0
    tables_updated: int = 0
    tables_unchanged: int = 0
    tables_deleted: int = 0
    partitions_added: int = 0
    files_listed: int = 0
    files_sampled: int = 0
    bytes_read: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    log: str = ""


class RunStore(
    JobStateMixin, ReplicationStateMixin, OrchestrateStateMixin, QualityStateMixin, PinStateMixin
):
    """Run state over a DB-API connection (sqlite3 or psycopg)."""

    def __init__(
        self, connection: Any, placeholder: str, reconnect: Callable[[], Any] | None = None
    ) -> None:
        self.connection = connection
        self.placeholder = placeholder
        # a new connection when the server went away (a restart): PostgreSQL only
        self.reconnect = reconnect
        self._used = time.monotonic()
        # one transaction at a time on the connection: a replication's full-load
        # threads share the run's store (their writer locks, statistics)
        self.turn = threading.RLock()
        with self._cursor() as cursor:
            for statement in (
                *SCHEMA,
                *JOB_SCHEMA,
                *REPLICATION_SCHEMA,
                *ORCHESTRATE_SCHEMA,
                *QUALITY_SCHEMA,
                *PINS_SCHEMA,
            ):
                cursor.execute(statement)
        for table, column, definition in ADDED_COLUMNS:
            self._add_column(table, column, definition)

    def _add_column(self, table: str, column: str, definition: str) -> None:
        """A column added since ``table`` was created, in a database made before it
        (looked up first: an ALTER locks the table even when it has nothing to do)."""
        with self._cursor() as cursor:
            if self.placeholder == "?":
                cursor.execute(f"PRAGMA table_info({table})")
                exists = any(row[1] == column for row in cursor.fetchall())
            else:
                cursor.execute(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = %s AND column_name = %s",
                    (table, column),
                )
                exists = bool(cursor.fetchall())
            if not exists:
                if_absent = "" if self.placeholder == "?" else "IF NOT EXISTS "
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN {if_absent}{column} {definition}")

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    class _Cursor:
        def __init__(self, store: RunStore, exclusive: bool = False) -> None:
            self.store = store
            self.exclusive = exclusive

        def __enter__(self) -> Any:
            self.store.turn.acquire()
            try:
                self.store.heal()
                self.cursor = self.store.connection.cursor()
                if self.exclusive:
                    if self.store.placeholder == "?":  # SQLite: take the write lock now
                        self.cursor.execute("BEGIN IMMEDIATE")
                    else:  # PostgreSQL: one advisory lock for headwater's claims
                        self.cursor.execute("SELECT pg_advisory_xact_lock(4812031)")
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    self.store.connection.rollback()
                self.store.turn.release()
                self.store.unavailable(exc)
                raise
            return self.cursor

        def __exit__(self, kind: object, error: BaseException | None, *_: object) -> None:
            try:
                if kind is None:
                    self.store.connection.commit()
                else:
                    with contextlib.suppress(Exception):
                        self.store.connection.rollback()
                self.cursor.close()
            except BaseException as exc:
                self.store.unavailable(exc)
                raise
            finally:
                self.store.turn.release()
            if error is not None:
                self.store.unavailable(error)

    def heal(self) -> None:
        """A fresh connection when the server closed this one (PostgreSQL restarted):
        known from the connection, or, after a pause, from a ping."""
        if self.reconnect is None:
            return
        connection = self.connection
        lost = getattr(connection, "closed", False) or getattr(connection, "broken", False)
        if not lost and time.monotonic() - self._used > IDLE_PING_SECONDS:
            try:
                self.connection.execute("SELECT 1")
                self.connection.commit()
            except Exception:
                lost = True
        if lost:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = self.reconnect()
        self._used = time.monotonic()

    def unavailable(self, exc: BaseException) -> None:
        """A lost server as a StateError (transient: worth waiting out); other errors
        pass as they are."""
        if any(
            kind.__module__.startswith("psycopg")
            and kind.__name__ in ("OperationalError", "InterfaceError")
            for kind in type(exc).__mro__
        ):
            raise StateError(
                f"the run-state database is unavailable: {str(exc).strip().splitlines()[0]}"
                if str(exc).strip()
                else "the run-state database is unavailable",
                hint="start the stack with `make up` (the run goes on when it is back)",
            ) from exc

    def _cursor(self) -> RunStore._Cursor:
        return RunStore._Cursor(self)

    def _exclusive(self) -> RunStore._Cursor:
        """A transaction no other headwater process can interleave with (claims)."""
        return RunStore._Cursor(self, exclusive=True)

    # -- crawl runs ------------------------------------------------------------------
    def save_crawl_run(self, run: CrawlRun) -> None:
        values = asdict(run)
        values["errors"] = json.dumps(run.errors)
        names = ", ".join(CRAWL_RUN_COLUMNS)
        marks = ", ".join("?" for _ in CRAWL_RUN_COLUMNS)
        with self._cursor() as cursor:
            cursor.execute(self._sql("DELETE FROM crawl_runs WHERE run_id = ?"), (run.run_id,))
            cursor.execute(
                self._sql(f"INSERT INTO crawl_runs ({names}) VALUES ({marks})"),
                tuple(values[c] for c in CRAWL_RUN_COLUMNS),
            )

    def crawl_runs(self, crawler: str | None = None, limit: int = 20) -> list[CrawlRun]:
        where, args = ("WHERE crawler = ?", (crawler,)) if crawler else ("", ())
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(CRAWL_RUN_COLUMNS)} FROM crawl_runs {where} "
                    f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}"
                ),
                args,
            )
            rows = cursor.fetchall()
        runs = []
        for row in rows:
            values = dict(zip(CRAWL_RUN_COLUMNS, row, strict=True))
            values["errors"] = json.loads(values["errors"])
            runs.append(CrawlRun(**values))
        return runs

    # -- folders seen (recrawl policy) -------------------------------------------------
    def seen_folders(self, crawler: str) -> set[str]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("SELECT folder FROM crawled_folders WHERE crawler = ?"), (crawler,)
            )
            return {str(row[0]) for row in cursor.fetchall()}

    def add_seen_folders(self, crawler: str, folders: set[str], run_id: str) -> None:
        new = folders - self.seen_folders(crawler)
        with self._cursor() as cursor:
            for folder in sorted(new):
                cursor.execute(
                    self._sql(
                        "INSERT INTO crawled_folders (crawler, folder, run_id) VALUES (?, ?, ?)"
                    ),
                    (crawler, folder, run_id),
                )

    # -- table versions --------------------------------------------------------------
    def table_versions(self, database: str, table: str) -> list[TableVersion]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT version, created_at, run_id, definition FROM table_versions "
                    "WHERE database_name = ? AND table_name = ? ORDER BY version"
                ),
                (database, table),
            )
            rows = cursor.fetchall()
        return [
            TableVersion(database, table, int(v), str(at), str(run), table_from_json(body))
            for v, at, run, body in rows
        ]

    def add_table_version(self, table: Table, run_id: str) -> int | None:
        """Record ``table`` as a new version if its definition changed; its number."""
        body = table_to_json(table)
        versions = self.table_versions(table.database, table.name)
        if versions and table_to_json(versions[-1].definition) == body:
            return None
        number = versions[-1].version + 1 if versions else 1
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO table_versions (database_name, table_name, version, "
                    "created_at, run_id, definition) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (table.database, table.name, number, now(), run_id, body),
            )
        return number

    def latest_definitions(self, database: str) -> dict[str, Table]:
        """The latest recorded definition of each table of ``database``, by name."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT t.table_name, t.definition FROM table_versions t "
                    "WHERE t.database_name = ? AND t.version = (SELECT max(v.version) "
                    "FROM table_versions v WHERE v.database_name = t.database_name "
                    "AND v.table_name = t.table_name)"
                ),
                (database,),
            )
            rows = cursor.fetchall()
        return {str(name): table_from_json(body) for name, body in rows}

    def known_tables(self) -> list[str]:
        """``database.table`` of every table with a recorded schema version."""
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT database_name, table_name FROM table_versions "
                "ORDER BY database_name, table_name"
            )
            return [f"{db}.{table}" for db, table in cursor.fetchall()]

    def close(self) -> None:
        self.connection.close()


def open_run_store(settings: Settings) -> RunStore:
    """SQLite under ``<home>`` (local) or the stack's PostgreSQL (stack)."""
    if settings.profile == "local":
        settings.home_path.mkdir(parents=True, exist_ok=True)
        database = settings.home_path / "state.db"
        return RunStore(sqlite3.connect(database, timeout=30, check_same_thread=False), "?")
    import psycopg

    stack = settings.stack

    def connect() -> Any:
        try:
            return psycopg.connect(
                host=stack.host,
                port=stack.postgres_port,
                user=stack.postgres_user,
                password=stack.postgres_password.get_secret_value(),
                dbname=STATE_DATABASE,
                connect_timeout=5,
            )
        except psycopg.OperationalError as exc:
            raise StateError(
                f"cannot reach the run-state database on {stack.host}:{stack.postgres_port}",
                hint="start the stack with `make up`",
            ) from exc

    return RunStore(connect(), "%s", reconnect=connect)
