"""A MySQL / MariaDB source for full loads: discovery and source-side queries, run
through Spark's JDBC reader (Connector/J from the jar cache; no Python driver).

MySQL cannot share one snapshot between connections, so a full load of a MySQL
table is consistent per read partition, not across tables; validation compares
with the source as it is when validation runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from engine.connections import Connection
from engine.replicate.mapping import SourceColumn, SourceTable, source_tables

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
    """The part of a source a full-load task needs, for MySQL and MariaDB."""

    dialect = "mysql"

    def __init__(self, connection: Connection, spark: Callable[[], Any]) -> None:
        self.connection = connection
        self._spark = spark

    quote = staticmethod(quote)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        from engine.spark.lake import jdbc_query

        return jdbc_query(self._spark(), self.connection, sql)

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
                str(data_type).lower(), str(column_type).lower(), precision, scale
            )
            columns.append((schema, table, str(kind), SourceColumn(column, typed, as_text)))
        return source_tables(columns, keys)

    @contextlib.contextmanager
    def plain_snapshot(self) -> Iterator[None]:
        yield None  # no snapshot MySQL can share between connections

    def in_snapshot(self, snapshot: str | None, sql: str) -> list[tuple[Any, ...]]:
        return self.query(sql)

    def drop_slot(self, slot: str) -> None:
        """No slot: full loads only."""

    def close(self) -> None:
        """Connections belong to Spark."""
