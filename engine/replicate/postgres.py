"""A PostgreSQL source over psycopg: discovery, the CDC prerequisites, the publication
and replication slot, reading changes and acknowledging them.

Changes are read with ``pg_logical_slot_peek_binary_changes`` (never ``get``): a peek
does not move the slot, so a batch can be read again after a crash, and the slot
is moved with ``pg_replication_slot_advance`` only after the lake commit that
records the batch's position.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from engine.connections import Connection
from engine.errors import ReplicationError, SourceUnavailableError
from engine.replicate.mapping import (
    SourceColumn,
    SourceTable,
    TablePlan,
    refuse_views,
    source_tables,
)
from engine.replicate.pgoutput import Bounded, Change, decode, format_lsn, parse_lsn

# information_schema data_type → Spark type, as Spark's PostgreSQL dialect reads them
# (checked against Spark 4.2: ``tests/stack/test_replication.py``). Anything else
# (arrays, intervals, time, money, ranges, geometry, enums, …) lands as its text form,
# in the full load and in CDC alike.
_SPARK_TYPES = {
    "smallint": "smallint",
    "integer": "int",
    "bigint": "bigint",
    "real": "float",
    "double precision": "double",
    "boolean": "boolean",
    "text": "string",
    "character varying": "string",
    "character": "string",
    "uuid": "string",
    "json": "string",
    "jsonb": "string",
    "date": "date",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamp",
    "bytea": "binary",
}


def spark_type(data_type: str, precision: int | None, scale: int | None) -> tuple[str, bool]:
    """(Spark type, landed as text?) of a PostgreSQL column."""
    if data_type == "numeric":
        if precision is None:
            return "decimal(38,18)", False
        return f"decimal({min(precision, 38)},{min(scale or 0, 38)})", False
    if data_type in _SPARK_TYPES:
        return _SPARK_TYPES[data_type], False
    return "string", True


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


class PostgresSource:
    """One PostgreSQL connection of a task (opened lazily, closed by :meth:`close`)."""

    dialect = "postgresql"
    quote = staticmethod(quote)

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._conn: psycopg.Connection[Any] | None = None
        # One statement or snapshot transaction at a time on the shared connection: a
        # full load's threads would otherwise open a transaction inside another's (a
        # savepoint, where SET TRANSACTION fails and aborts both).
        self._turn = threading.RLock()

    def connect(self, **extra: str) -> psycopg.Connection[Any]:
        """A new connection; wrong credentials and an unreachable server are named
        errors (the password never appears in them)."""
        name = self.connection.name
        where = f"{self.connection.host}:{self.connection.port}/{self.connection.database}"
        try:
            options = {**self.connection.libpq_options(), **extra}
            return psycopg.connect(autocommit=True, **options)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            text = str(exc)
            if "password authentication failed" in text or "no password supplied" in text:
                raise ReplicationError(
                    f"connection {name}: PostgreSQL at {where} refused user "
                    f"{self.connection.user}: password authentication failed",
                    hint="check the password in the connection's password_env/password_file",
                    connection=name,
                ) from None
            if "does not exist" in text:
                raise ReplicationError(
                    f"connection {name}: {text.splitlines()[-1].strip()} ({where})",
                    connection=name,
                ) from None
            raise SourceUnavailableError(
                f"connection {name}: cannot reach PostgreSQL at {where}: "
                f"{text.strip().splitlines()[-1] if text.strip() else type(exc).__name__}",
                hint="check that the database is up and reachable from here",
                connection=name,
            ) from None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self.connect()
            self._conn.execute("SET TimeZone = 'UTC'")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._turn:
                return self.conn.execute(sql, params).fetchall()
        except psycopg.OperationalError as exc:
            raise SourceUnavailableError(
                f"connection {self.connection.name}: lost the source: {exc}",
                connection=self.connection.name,
            ) from exc

    # -- discovery -----------------------------------------------------------------------
    def discover(self) -> list[SourceTable]:
        """Every user table and view with its columns (typed as Spark reads them) and
        primary key."""
        rows = self.query(
            """SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type,
                      c.numeric_precision, c.numeric_scale
               FROM information_schema.columns c
               JOIN information_schema.tables t
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name
               WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
                 AND c.table_schema NOT LIKE 'pg\\_toast%%'
               ORDER BY c.table_schema, c.table_name, c.ordinal_position"""
        )
        keys: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in self.query(
            """SELECT n.nspname, c.relname, a.attname
               FROM pg_index i
               JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
               WHERE i.indisprimary
               ORDER BY n.nspname, c.relname, k.pos"""
        ):
            keys.setdefault((schema, table), []).append(column)
        columns = [
            (schema, table, kind, SourceColumn(column, *spark_type(data_type, precision, scale)))
            for schema, table, kind, column, data_type, precision, scale in rows
        ]
        return source_tables(columns, keys)

    # -- CDC prerequisites ---------------------------------------------------------------
    def check_cdc(self, plans: list[TablePlan]) -> None:
        """wal_level=logical and a replica identity that identifies rows, per table."""
        (level,) = self.query("SHOW wal_level")[0]
        if level != "logical":
            raise ReplicationError(
                f"connection {self.connection.name}: wal_level is {level!r}; change data "
                "capture needs wal_level = logical",
                hint="set wal_level = logical in postgresql.conf (RDS: rds.logical_replication "
                "= 1) and restart PostgreSQL",
                connection=self.connection.name,
            )
        refuse_views(plans)
        for plan in plans:
            (identity,) = self.query(
                "SELECT relreplident FROM pg_class WHERE oid = %s::regclass",
                (qualified(plan.source.schema, plan.source.name),),
            )[0]
            if identity == "n" or (identity == "d" and not plan.source.primary_key):
                raise ReplicationError(
                    f"{plan.source_name} has no primary key and no REPLICA IDENTITY: its "
                    "updates and deletes cannot be captured",
                    hint=f"add a primary key, or ALTER TABLE {plan.source_name} REPLICA "
                    "IDENTITY FULL",
                    table=plan.source_name,
                )

    def ensure_publication(self, name: str, plans: list[TablePlan]) -> None:
        """The publication pgoutput decodes through: exactly the task's tables."""
        tables = ", ".join(qualified(p.source.schema, p.source.name) for p in plans)
        try:
            exists = self.query("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,))
            verb = (
                f"ALTER PUBLICATION {quote(name)} SET"
                if exists
                else (f"CREATE PUBLICATION {quote(name)} FOR")
            )
            self.conn.execute(f"{verb} TABLE {tables}")
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ReplicationError(
                f"connection {self.connection.name}: user {self.connection.user} may not "
                f"create publication {name}: {exc.diag.message_primary}",
                hint="CDC needs the REPLICATION attribute and ownership of the tables (or a "
                "superuser); or create the publication yourself with these tables",
                connection=self.connection.name,
            ) from None

    def slot_position(self, slot: str) -> int | None:
        """The slot's confirmed position, None when it does not exist."""
        rows = self.query(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (slot,),
        )
        return parse_lsn(rows[0][0]) if rows and rows[0][0] else None

    @contextlib.contextmanager
    def exported_snapshot(self, slot: str) -> Iterator[tuple[int, str]]:
        """Create the logical slot over a replication connection and keep its exported
        snapshot open while the caller reads: (consistent LSN, snapshot name). Reads
        in that snapshot see exactly the transactions before the slot's first change."""
        replication = self.connect(replication="database")
        try:
            try:
                row = replication.execute(
                    f"CREATE_REPLICATION_SLOT {quote(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT"
                ).fetchone()
            except psycopg.Error as exc:
                raise ReplicationError(
                    f"connection {self.connection.name}: cannot create replication slot {slot}: "
                    f"{exc.diag.message_primary or exc}",
                    hint="the user needs the REPLICATION attribute, and max_replication_slots "
                    "a free slot",
                    connection=self.connection.name,
                ) from None
            assert row is not None
            yield parse_lsn(row[1]), str(row[2])
        finally:
            replication.close()

    @contextlib.contextmanager
    def temporary_snapshot(self, slot: str) -> Iterator[tuple[int, str]]:
        """A temporary slot's exported snapshot and its LSN: the source as of exactly
        the position a CDC batch can catch up to (for validation)."""
        replication = self.connect(replication="database")
        try:
            row = replication.execute(
                f"CREATE_REPLICATION_SLOT {quote(slot)} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT"
            ).fetchone()
            assert row is not None
            yield parse_lsn(row[1]), str(row[2])
        finally:
            replication.close()

    @contextlib.contextmanager
    def plain_snapshot(self) -> Iterator[str]:
        """An exported snapshot of a held transaction (full loads without CDC)."""
        holder = self.connect()
        try:
            holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            row = holder.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            yield str(row[0])
        finally:
            holder.close()

    def in_snapshot(self, snapshot: str | None, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` in ``snapshot`` (a REPEATABLE READ transaction importing it)."""
        if snapshot is None:
            return self.query(sql)
        conn = self.conn
        try:
            with self._turn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                return conn.execute(sql).fetchall()
        except psycopg.Error as exc:
            raise ReplicationError(
                f"connection {self.connection.name}: query failed: "
                f"{exc.diag.message_primary or exc}",
                connection=self.connection.name,
            ) from None

    def drop_slot(self, slot: str) -> None:
        if self.slot_position(slot) is not None:
            self.query("SELECT pg_drop_replication_slot(%s)", (slot,))

    def current_lsn(self) -> int:
        return parse_lsn(self.query("SELECT pg_current_wal_lsn()::text")[0][0])

    def peek(
        self, slot: str, publication: str, upto: int, messages: int | None = None
    ) -> Iterator[tuple[str, Any, bytes]]:
        """The slot's messages of transactions committed before ``upto``, streamed;
        with ``messages``, decoding stops after the transaction in which that many
        messages were reached (PostgreSQL's ``upto_nchanges``: whole transactions)."""
        with self.conn.cursor(name="headwater_peek") as cursor:
            self.conn.autocommit = False
            try:
                cursor.itersize = 5000
                cursor.execute(
                    "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_binary_changes("
                    "%s, %s::pg_lsn, %s, 'proto_version', '1', 'publication_names', %s)",
                    (slot, format_lsn(upto), messages, publication),
                )
                yield from cursor
            finally:
                self.conn.rollback()
                self.conn.autocommit = True

    format_position = staticmethod(format_lsn)
    parse_position = staticmethod(parse_lsn)

    def changes(
        self,
        slot: str,
        start: int | None,
        upto: int,
        keys: dict[tuple[str, str], tuple[str, ...]],
        messages: int | None = None,
        size: int | None = None,
    ) -> PeekBatch:
        """The slot's changes committed before ``upto`` in bounds (the slot is where the
        last batch ended: ``start`` is for sources without one; the publication
        selects the tables)."""
        return PeekBatch(self.peek(slot, slot, upto, messages), messages, size)

    def advance(self, slot: str, position: int) -> None:
        """Acknowledge everything before ``position`` (after the lake committed it)."""
        current = self.slot_position(slot)
        if current is not None and current < position:
            self.query(
                "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (slot, format_lsn(position))
            )

    def heartbeat(self) -> None:
        """A non-transactional logical message (any user may write one): a WAL record
        of this database for the slot to move past when its tables are idle."""
        self.query(
            "SELECT pg_logical_emit_message(false, 'headwater_heartbeat', now()::text)::text"
        )

    def retained_wal_bytes(self, slot: str) -> int | None:
        """WAL the slot keeps on the source's disk (from its restart position)."""
        rows = self.query(
            "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint FROM pg_replication_slots "
            "WHERE slot_name = %s",
            (slot,),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def lag_bytes(self, slot: str) -> int | None:
        position = self.slot_position(slot)
        return None if position is None else max(0, self.current_lsn() - position)


class PeekBatch:
    """A peek's messages decoded into changes, in bounds (:class:`Bounded`)."""

    def __init__(
        self, rows: Iterator[tuple[str, Any, bytes]], messages: int | None, size: int | None
    ) -> None:
        self.rows = rows
        self.bounded = Bounded(rows, messages, size)

    def __iter__(self) -> Iterator[Change]:
        return decode(self.bounded)

    @property
    def end(self) -> int | None:
        return self.bounded.end

    @property
    def cut(self) -> bool:
        return self.bounded.cut

    def close(self) -> None:
        """The peek's cursor, before the connection is used again."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
