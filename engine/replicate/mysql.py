"""A MySQL / MariaDB source: discovery and source-side queries (PyMySQL), the CDC
prerequisites, and the binlog read over the replication protocol
(python-mysql-replication) into :mod:`engine.replicate.binlog` events.

No slot: the binlog is read from the position the last committed batch recorded
(a re-read of the same range returns the same changes while the server keeps the
files: ``binlog_expire_logs_seconds``). The full load of a CDC task cannot share
one snapshot with Spark's parallel JDBC reads (MySQL has no exported snapshots),
so CDC starts from the binlog position taken *before* the load: the changes made
while the tables were read are applied again, as full row images, which the
current-state MERGE makes exact (an upsert or delete of the whole row). Validation
uses one connection's consistent snapshot and the binlog position it sits at.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication import event as ev
from pymysqlreplication import row_event as rows
from pymysqlreplication.constants import FIELD_TYPE

from engine.connections import Connection
from engine.errors import ReplicationError, SourceUnavailableError
from engine.replicate import binlog
from engine.replicate.mapping import (
    SourceColumn,
    SourceTable,
    TablePlan,
    refuse_views,
    source_tables,
)

LOG = logging.getLogger("headwater.replicate")
ACCESS_DENIED, NO_PRIVILEGE, CANNOT_CONNECT = 1045, 1227, 2003
DAY = 86_400

SYSTEM_SCHEMAS = ("information_schema", "mysql", "performance_schema", "sys")
_INTEGERS = {"tinyint": "tinyint", "smallint": "smallint", "mediumint": "int", "int": "int"}
_SIMPLE = {
    "float": "float",
    "double": "double",
    "real": "double",
    "date": "date",
    "datetime": "timestamp",
    "timestamp": "timestamp",
    "binary": "binary",
    "varbinary": "binary",
    "tinyblob": "binary",
    "blob": "binary",
    "mediumblob": "binary",
    "longblob": "binary",
}
_STRINGS = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json")


def spark_type(data_type: str, column_type: str, precision: Any, scale: Any) -> tuple[str, bool]:
    """(Spark type, landed as text?) of a MySQL column, as Spark's MySQL dialect reads
    it; TIME, YEAR, BIT(n > 1) and spatial types land as their text."""
    unsigned = "unsigned" in column_type
    if column_type.startswith(("tinyint(1)", "bit(1)")):
        return "boolean", False
    if data_type in _INTEGERS:
        widened = {"tinyint": "smallint", "smallint": "int", "int": "bigint"}
        kind = _INTEGERS[data_type]
        return (widened.get(kind, "bigint") if unsigned else kind), False
    if data_type == "bigint":
        return ("decimal(20,0)" if unsigned else "bigint"), False
    if data_type == "decimal":
        return f"decimal({min(int(precision or 10), 38)},{min(int(scale or 0), 38)})", False
    if data_type in _SIMPLE:
        return _SIMPLE[data_type], False
    if data_type in _STRINGS:
        return "string", False
    return "string", True


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySQLSource:
    """One MySQL / MariaDB connection of a task (opened lazily, closed by :meth:`close`)."""

    dialect = "mysql"
    quote = staticmethod(quote)

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._conn: pymysql.connections.Connection[Any] | None = None
        self._held: dict[str, pymysql.connections.Connection[Any]] = {}
        self._turn = threading.RLock()
        self._log_base: tuple[str, int] | None = None  # binlog basename, index width

    # -- connections ---------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """PyMySQL's connect arguments (the password read now: never log them)."""
        options: dict[str, Any] = {
            "host": self.connection.host,
            "port": self.connection.port,
            "user": self.connection.user,
            "password": self.connection.password(),
            "connect_timeout": 10,
            "charset": "utf8mb4",
        }
        mode, root = self.connection.ssl_mode, self.connection.ssl_root_cert
        if mode and mode != "disable":
            options["ssl"] = {"ca": str(root)} if root else {}
            options["ssl_verify_cert"] = mode in ("verify-ca", "verify-full")
            options["ssl_verify_identity"] = mode == "verify-full"
        return options

    def _where(self) -> str:
        return f"{self.connection.host}:{self.connection.port}"

    def connect(self) -> pymysql.connections.Connection[Any]:
        name = self.connection.name
        try:
            return pymysql.connect(
                **self.settings(), database=self.connection.database or None, autocommit=True
            )
        except pymysql.err.OperationalError as exc:
            code = exc.args[0] if exc.args else 0
            if code == ACCESS_DENIED:
                raise ReplicationError(
                    f"connection {name}: MySQL at {self._where()} refused user "
                    f"{self.connection.user}: access denied",
                    hint="check the password in the connection's password_env/password_file "
                    "and that the user may connect from this host",
                    connection=name,
                ) from None
            raise SourceUnavailableError(
                f"connection {name}: cannot reach MySQL at {self._where()}: "
                f"{exc.args[-1] if exc.args else type(exc).__name__}",
                hint="check that the database is up and reachable from here",
                connection=name,
            ) from None

    @property
    def conn(self) -> pymysql.connections.Connection[Any]:
        if self._conn is None or not self._conn.open:
            self._conn = self.connect()
            with self._conn.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
        return self._conn

    def close(self) -> None:
        for held in [self._conn, *self._held.values()]:
            if held is not None and held.open:
                held.close()
        self._conn, self._held = None, {}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(self.conn, sql, params)

    def _run(
        self, conn: pymysql.connections.Connection[Any], sql: str, params: tuple[Any, ...] = ()
    ) -> list[tuple[Any, ...]]:
        try:
            with self._turn, conn.cursor() as cursor:
                cursor.execute(sql, params or None)
                return list(cursor.fetchall())
        except pymysql.err.MySQLError as exc:
            raise self._failed(exc, "the source") from exc

    def _failed(self, exc: pymysql.err.MySQLError, what: str) -> Exception:
        """The error to raise for ``exc``: the connection (to ``what``) lost — a
        recoverable error —, a missing privilege with its grant, or the server's
        message."""
        code = exc.args[0] if exc.args else 0
        if isinstance(exc, pymysql.err.OperationalError) and code >= 2000:
            return SourceUnavailableError(  # client errors: the connection is gone
                f"connection {self.connection.name}: lost {what}: {exc.args[-1]}",
                connection=self.connection.name,
            )
        text = exc.args[-1] if exc.args else str(exc)
        if code == NO_PRIVILEGE:
            return ReplicationError(
                f"connection {self.connection.name}: user {self.connection.user} lacks a "
                f"privilege: {text}",
                hint=f"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO "
                f"'{self.connection.user}'@'<host>' (MariaDB 10.5+: BINLOG MONITOR instead "
                "of REPLICATION CLIENT)",
                connection=self.connection.name,
            )
        return ReplicationError(
            f"connection {self.connection.name}: query failed: {text}",
            connection=self.connection.name,
        )

    # -- discovery -----------------------------------------------------------------------
    def discover(self) -> list[SourceTable]:
        schemas = ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS)
        rows = self.query(
            "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, "
            "c.COLUMN_TYPE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.COLUMN_KEY "
            "FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
            "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
            f"WHERE c.TABLE_SCHEMA NOT IN ({schemas}) "
            "ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION"
        )
        keys: dict[tuple[str, str], list[str]] = {}  # primary-key columns in key order
        for schema, table, column in self.query(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            f"WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA NOT IN ({schemas}) "
            "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
        ):
            keys.setdefault((schema, table), []).append(column)
        columns = []
        for schema, table, kind, column, data_type, column_type, precision, scale, _ in rows:
            typed, as_text = spark_type(
                _text(data_type).lower(), _text(column_type).lower(), precision, scale
            )
            columns.append((schema, table, _text(kind), SourceColumn(column, typed, as_text)))
        return source_tables(columns, keys)

    # -- snapshots -----------------------------------------------------------------------
    @contextlib.contextmanager
    def plain_snapshot(self) -> Iterator[None]:
        yield None  # Spark's parallel reads cannot share a MySQL snapshot

    @contextlib.contextmanager
    def exported_snapshot(self, slot: str) -> Iterator[tuple[int, None]]:
        """The CDC start of a task with a full load: the binlog position now, before
        the load reads (see the module's text); no shared snapshot."""
        yield self.current_lsn(), None

    @contextlib.contextmanager
    def temporary_snapshot(self, name: str) -> Iterator[tuple[int, str]]:
        """A consistent snapshot held on its own connection and the binlog position
        it sits at (MariaDB's ``binlog_snapshot_file/position``; elsewhere the
        position read before and after it started, retried until they agree)."""
        holder = self.connect()
        try:
            position = None
            for _ in range(50):
                before = self.current_lsn()
                self._run(holder, "SET time_zone = '+00:00'")
                self._run(holder, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                status = dict(
                    (str(k).lower(), v)
                    for k, v in self._run(holder, "SHOW STATUS LIKE 'binlog_snapshot_%'")
                )
                if status.get("binlog_snapshot_file"):
                    position = binlog.position(
                        str(status["binlog_snapshot_file"]), int(status["binlog_snapshot_position"])
                    )
                    break
                if self.current_lsn() == before:
                    position = before
                    break
                self._run(holder, "ROLLBACK")
            if position is None:
                raise ReplicationError(
                    f"connection {self.connection.name}: no quiet moment to take a snapshot "
                    "at a known binlog position in 50 tries",
                    hint="validate again when the source is less busy",
                    connection=self.connection.name,
                )
            self._held[name] = holder
            yield position, name
        finally:
            self._held.pop(name, None)
            holder.close()

    def in_snapshot(self, snapshot: str | None, sql: str) -> list[tuple[Any, ...]]:
        if snapshot is None:
            return self.query(sql)
        return self._run(self._held[snapshot], sql)

    # -- CDC -----------------------------------------------------------------------------
    def check_cdc(self, plans: list[TablePlan]) -> None:
        """The binlog on, in ROW format with full row images (and full metadata where
        the server has it), retained, readable by this user; tables with keys."""
        name = self.connection.name
        settings = {
            str(k).lower(): _text(v)
            for k, v in self.query(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', "
                "'binlog_row_image', 'binlog_row_metadata', 'expire_logs_days', "
                "'binlog_expire_logs_seconds', 'binlog_transaction_compression')"
            )
        }
        wanted = [
            ("log_bin", "ON", "log_bin (--log-bin) and a server_id"),
            ("binlog_format", "ROW", "binlog_format = ROW"),
            ("binlog_row_image", "FULL", "binlog_row_image = FULL"),
            ("binlog_row_metadata", "FULL", "binlog_row_metadata = FULL"),
        ]
        for variable, value, fix in wanted:
            found = settings.get(variable)
            if variable == "binlog_row_metadata" and found is None:
                continue  # servers before MySQL 8.0.1 / MariaDB 10.5: names from the schema
            if (found or "").upper() != value:
                raise ReplicationError(
                    f"connection {name}: {variable} is {found!r}; change data capture from "
                    f"the binlog needs {variable} = {value}",
                    hint=f"set {fix} in the server's configuration and restart it (RDS/Aurora: "
                    "in its parameter group)",
                    connection=name,
                )
        if (settings.get("binlog_transaction_compression") or "OFF").upper() == "ON":
            raise ReplicationError(  # MySQL 8.0.20+: rows inside payload events we do not read
                f"connection {name}: binlog_transaction_compression is ON; headwater reads "
                "uncompressed row events only",
                hint="SET GLOBAL binlog_transaction_compression = OFF (and in the server's "
                "configuration)",
                connection=name,
            )
        seconds = float(settings.get("binlog_expire_logs_seconds") or 0) or (
            float(settings.get("expire_logs_days") or 0) * DAY
        )
        if 0 < seconds < DAY:
            print(
                f"connection {name}: the server keeps binlogs {seconds / 3600:.1f} hour(s); "
                "a task stopped longer loses its place (set binlog_expire_logs_seconds to at "
                "least 86400)",
                flush=True,
            )
        refuse_views(plans)
        for plan in plans:
            if not plan.source.primary_key:
                raise ReplicationError(
                    f"{plan.source_name} has no primary key: its updates and deletes cannot "
                    "be matched to rows in the lake",
                    hint=f"add a primary key to {plan.source_name}, or use migration_type "
                    "full-load for it",
                    table=plan.source_name,
                )
        self.current_lsn()  # REPLICATION CLIENT / BINLOG MONITOR
        check = self._stream(self.current_lsn(), self.server_id(f"{plans[0].source_name}/check"))
        with contextlib.closing(check) as stream:
            self._next(stream)  # REPLICATION SLAVE

    def ensure_publication(self, slot: str, plans: list[TablePlan]) -> None:
        """Nothing to create: the binlog has every table."""

    def drop_slot(self, slot: str) -> None:
        """No slot: the binlog is read from a recorded position."""

    def advance(self, slot: str, position: int) -> None:
        """No slot to acknowledge: the next batch starts at the recorded position."""

    def current_lsn(self) -> int:
        """The binlog's end now (a transaction boundary)."""
        try:
            rows = self.query("SHOW MASTER STATUS")
        except ReplicationError as exc:
            if "syntax" not in exc.message:
                raise
            rows = self.query("SHOW BINARY LOG STATUS")  # MySQL 8.4 removed the old name
        if not rows:
            raise ReplicationError(
                f"connection {self.connection.name}: the server at {self._where()} writes no "
                "binlog (SHOW MASTER STATUS is empty)",
                hint="start it with log_bin and a server_id, binlog_format = ROW",
                connection=self.connection.name,
            )
        file, offset = _text(rows[0][0]), int(rows[0][1])
        base, digits = file.rsplit(".", 1)
        self._log_base = (base, len(digits))
        return binlog.position(file, offset)

    def _base(self) -> tuple[str, int]:
        if self._log_base is None:
            self.current_lsn()
        assert self._log_base is not None
        return self._log_base

    def format_position(self, value: int) -> str:
        return binlog.format_position(value, *self._base())

    @staticmethod
    def parse_position(text: str) -> int:
        return binlog.parse_position(text)

    def changes(
        self,
        slot: str,
        start: int,
        upto: int,
        keys: dict[tuple[str, str], tuple[str, ...]],
        messages: int | None = None,
        size: int | None = None,
    ) -> binlog.BinlogBatch:
        """The changes of the tables in ``keys`` committed from ``start`` (a batch's
        recorded end) to ``upto``, read once, in bounds (:class:`binlog.BinlogBatch`)."""
        self.check_retained(start)
        stream = self._stream(
            start, self.server_id(slot), schemas=sorted({schema for schema, _ in keys})
        )
        return binlog.BinlogBatch(
            self._events(stream), upto, keys, messages, size, close=stream.close
        )

    def check_retained(self, start: int) -> None:
        file, _ = binlog.file_of(start, *self._base())
        files = [_text(row[0]) for row in self.query("SHOW BINARY LOGS")]
        if file not in files:
            raise ReplicationError(
                f"connection {self.connection.name}: binlog {file} is gone from the server "
                f"(it keeps {files[0] if files else 'none'} onwards): the changes since "
                f"{self.format_position(start)} cannot be read",
                hint="reload the task (headwater replicate reload TASK) and keep binlogs longer "
                "than the task may stop (binlog_expire_logs_seconds)",
                connection=self.connection.name,
            )

    def server_id(self, slot: str = "") -> int:
        """The replica id this reader registers with (unique per task: a second reader
        with the same id would cut the first off)."""
        return 1_000_000 + zlib.crc32(f"{self.connection.name}/{slot}".encode()) % 1_000_000_000

    def _stream(self, start: int, server_id: int, schemas: list[str] | None = None) -> Any:
        file, offset = binlog.file_of(start, *self._base())
        return BinLogStreamReader(
            connection_settings=self.settings(),
            server_id=server_id,
            log_file=file,
            log_pos=offset,
            resume_stream=True,
            blocking=False,
            only_schemas=schemas,
            only_events=[
                ev.RotateEvent,
                ev.FormatDescriptionEvent,
                ev.QueryEvent,
                ev.XidEvent,
                ev.GtidEvent,
                ev.MariadbGtidEvent,
                rows.WriteRowsEvent,
                rows.UpdateRowsEvent,
                rows.DeleteRowsEvent,
            ],
            enable_logging=False,
        )

    def _next(self, stream: Any) -> Any:
        try:
            return stream.fetchone()
        except pymysql.err.MySQLError as exc:
            raise self._failed(exc, "the binlog stream") from exc

    def _events(self, stream: Any) -> Iterator[binlog.Event]:
        ops = {rows.WriteRowsEvent: "I", rows.UpdateRowsEvent: "U", rows.DeleteRowsEvent: "D"}
        while True:
            file, before = stream.log_file, stream.log_pos
            event = self._next(stream)
            if event is None:
                return
            start = binlog.position(file, before)
            end = binlog.position(stream.log_file, stream.log_pos)
            stamp = int(event.timestamp or 0)
            kind = type(event)
            if kind in ops:
                op = ops[kind]
                values = [
                    (r["before_values"], r["after_values"]) if op == "U" else r["values"]
                    for r in event.rows
                ]
                fixes = _as_printed(event.columns)
                if fixes:
                    values = [_fixed(v, fixes, op) for v in values]
                yield binlog.Event(
                    "rows",
                    start,
                    end,
                    stamp,
                    op=op,
                    schema=_text(event.schema),
                    table=_text(event.table),
                    columns=tuple(c.name for c in event.columns),
                    rows=values,
                )
            elif kind is ev.QueryEvent:
                yield binlog.Event(
                    "query",
                    start,
                    end,
                    stamp,
                    schema=_text(event.schema),
                    query=_text(event.query),
                )
            elif kind is ev.XidEvent:
                yield binlog.Event("commit", start, end, stamp)
            elif kind in (ev.GtidEvent, ev.MariadbGtidEvent):
                seq = getattr(event, "gtid_seq_no", None) or getattr(event, "gno", None)
                yield binlog.Event("begin", start, end, stamp, gtid_seq=seq or None)
            else:
                yield binlog.Event("other", end, end, stamp)

    def lag_bytes(self, position: int) -> int:
        """Binlog bytes written after ``position`` (across files)."""
        current = self.current_lsn()
        total = 0
        for row in self.query("SHOW BINARY LOGS"):
            index, size = binlog.file_index(_text(row[0])), int(row[1])
            first = binlog.pack(index, 0)
            if first > current:
                continue
            low = max(position, first)
            high = min(current, binlog.pack(index, size))
            total += max(0, high - low)
        return total


def _as_printed(columns: list[Any]) -> dict[str, Callable[[Any], Any]]:
    """Per column whose decoded value would print otherwise than MySQL prints it (what
    the full load reads): SET members in the column's order, TIME(n) with n digits."""
    fixes: dict[str, Callable[[Any], Any]] = {}
    for column in columns:
        if column.set_values:
            fixes[column.name] = functools.partial(_set_text, list(column.set_values))
        elif column.type == FIELD_TYPE.TIME2:
            fixes[column.name] = functools.partial(_time_text, int(column.fsp or 0))
    return fixes


def _set_text(order: list[str], value: Any) -> Any:
    return ",".join(m for m in order if m in value) if isinstance(value, set) else value


def _time_text(digits: int, value: Any) -> Any:
    return binlog.time_text(value, digits) if isinstance(value, timedelta) else value


def _fixed(row: Any, fixes: dict[str, Callable[[Any], Any]], op: str) -> Any:
    """A row (an update's pair of images) with the fixes applied."""
    if op == "U":
        return tuple(_fixed(image, fixes, "") for image in row)
    return {name: fixes[name](v) if name in fixes else v for name, v in row.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)
