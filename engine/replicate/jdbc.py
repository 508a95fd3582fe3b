"""Any other JDBC database (a connection given by its driver's Maven coordinates) as a
full-load source: tables and primary keys from the driver's ``DatabaseMetaData``,
column types as Spark's dialect for the driver maps them, reads and queries through
Spark's JDBC reader. No change data capture; validation computes both sides'
checksums in Spark (engine.replicate.validation)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from engine.connections import Connection
from engine.replicate.mapping import SourceColumn, SourceTable, source_tables

DIALECT = "jdbc"


def quote(name: str) -> str:
    """SQL's standard quoted identifier (H2, Derby, DB2, Oracle, SQL Server, …)."""
    return '"' + name.replace('"', '""') + '"'


class JdbcSource:
    """The part of a source a full-load task needs, for a database given by its driver."""

    dialect = DIALECT
    quote = staticmethod(quote)

    def __init__(self, connection: Connection, spark: Callable[[], Any]) -> None:
        self.connection = connection
        self._spark = spark

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        from engine.spark.lake import jdbc_query  # deferred: pyspark

        return jdbc_query(self._spark(), self.connection, sql)

    def discover(self) -> list[SourceTable]:
        from engine.spark.lake import jdbc_schema, jdbc_tables  # deferred: pyspark

        spark = self._spark()
        tables, keys = jdbc_tables(spark, self.connection)
        columns = []
        for schema, table, kind in tables:
            relation = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
            for name, spark_type in jdbc_schema(spark, self.connection, relation):
                columns.append((schema, table, kind, SourceColumn(name, spark_type, False)))
        return source_tables(columns, keys)

    @contextlib.contextmanager
    def plain_snapshot(self) -> Iterator[None]:
        yield None  # no snapshot shared between connections

    def in_snapshot(self, snapshot: str | None, sql: str) -> list[tuple[Any, ...]]:
        return self.query(sql)

    def drop_slot(self, slot: str) -> None:
        """No slot: full loads only."""

    def close(self) -> None:
        """Connections belong to Spark."""
