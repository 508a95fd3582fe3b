"""The Data Catalog over a Hive metastore, spoken to in HiveQL.

:class:`HiveCatalog` needs only a :class:`SqlRunner` — anything that runs one
statement and returns rows. The ``stack`` profile hands it a PyHive connection to
the Spark Thrift Server (no JVM in the caller); the ``local`` profile hands it a
Spark session on the embedded metastore. Delta tables carry no columns in the
metastore; ``DESCRIBE`` through Spark's Delta catalog reads their real schema from
the Delta log, so :meth:`HiveCatalog.get_table` shows it either way.
"""

from __future__ import annotations

import dataclasses
import difflib
import getpass
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from catalog import ddl
from catalog.definitions import is_staging, merged_definition, same_partition_keys, staging_name
from catalog.errors import (
    CatalogError,
    DatabaseNotFoundError,
    DefinitionRefusedError,
    TableNotFoundError,
)
from catalog.metastore import MetastoreReader, described_table
from catalog.model import Column, Database, Partition, Table
from catalog.spark_tables import metastore_partitions

Row = Sequence[Any]
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # a null partition value, as Hive names it


class SqlRunner(Protocol):
    def sql(self, statement: str) -> list[Row]: ...

    def query(self, statement: str) -> tuple[list[str], list[Row]]: ...


_NOT_FOUND_MARKERS = ("TABLE_OR_VIEW_NOT_FOUND", "NoSuchTableException", "not found")


# A Delta table's columns, partition keys and properties from its log (at a location),
# or None when the log cannot be read
DeltaDescriber = Callable[
    [str], tuple[tuple[Column, ...], tuple[Column, ...], dict[str, str]] | None
]


class HiveCatalog:
    """Read and write databases, tables and partitions through a SQL runner."""

    def __init__(
        self,
        runner: SqlRunner,
        metastore: MetastoreReader | None = None,
        delta: DeltaDescriber | None = None,
        write_through_metastore: bool = False,
    ) -> None:
        self.runner = runner
        # listings and definitions straight from the metastore's thrift API when it can
        # be reached; a Delta table's schema then from its log through ``delta``
        self.metastore = metastore
        self.delta = delta
        # databases, tables (not views) and partitions written through that API in
        # Spark's form (catalog.spark_tables) instead of SQL: no JVM for a crawl
        self.writer = metastore if write_through_metastore else None
        self.owner = getpass.getuser()

    # -- reading ---------------------------------------------------------------------
    def databases(self) -> list[Database]:
        if self.metastore is not None:
            return self.metastore.databases()
        return [Database(str(row[0])) for row in self.runner.sql("SHOW DATABASES")]

    def database(self, name: str) -> Database:
        """One database, with its location and description where the metastore has them."""
        if not self.has_database(name):
            raise self._database_not_found(name)
        return self.metastore.database(name) if self.metastore is not None else Database(name)

    def table_names(self, database: str) -> list[str]:
        if self.metastore is not None:
            names = self.metastore.table_names(database)
            if not names and not self.has_database(database):
                raise self._database_not_found(database)
            return sorted(names)
        try:
            rows = self.runner.sql(f"SHOW TABLES IN {ddl.quote_name(database)}")
        except CatalogError as exc:
            if "SCHEMA_NOT_FOUND" in str(exc):
                raise self._database_not_found(database) from exc
            raise
        # Spark returns (namespace, tableName, isTemporary)
        return sorted(str(row[1]) for row in rows if not (len(row) > 2 and row[2]))

    def has_database(self, database: str) -> bool:
        return any(db.name == database for db in self.databases())

    def has_table(self, database: str, name: str) -> bool:
        """Whether ``database.name`` is catalogued (False also when the database is not)."""
        if not self.has_database(database):
            return False
        return name.lower() in {t.lower() for t in self.table_names(database)}

    def get_table(self, database: str, name: str) -> Table:
        """One table as Spark describes it: from the metastore's thrift API (and a Delta
        table's log) when this catalog has both, else through the SQL endpoint."""
        if self.metastore is not None and self.delta is not None:
            found = self._described(database, name)
            if found is not None:
                return found
        target = ddl.qualified(database, name)
        try:
            rows = self.runner.sql(f"DESCRIBE TABLE EXTENDED {target}")
        except CatalogError as exc:
            if any(marker in str(exc) for marker in _NOT_FOUND_MARKERS):
                raise self._not_found(database, name) from exc
            raise
        properties = {
            str(row[0]): str(row[1]) for row in self.runner.sql(f"SHOW TBLPROPERTIES {target}")
        }
        return _parse_describe(database, name, rows, properties)

    def _described(self, database: str, name: str) -> Table | None:
        """The metastore's definition in DESCRIBE's form; None to ask the SQL endpoint (a
        Delta log that cannot be read: Spark says why)."""
        assert self.metastore is not None and self.delta is not None
        try:
            table = described_table(self.metastore.raw_table(database, name))
        except TableNotFoundError:
            raise self._not_found(database, name) from None
        if table.format != ddl.DELTA:
            return table
        logged = self.delta(table.location)
        if logged is None:
            return None
        columns, keys, properties = logged
        return dataclasses.replace(
            table, columns=columns, partition_keys=keys, parameters=properties, options={}
        )

    def _not_found(self, database: str, name: str) -> CatalogError:
        """Table not found: say what exists nearby (a close table, or the database)."""
        if not self.has_database(database):
            return self._database_not_found(database)
        names = self.table_names(database)
        near = difflib.get_close_matches(name, names, n=3)
        return TableNotFoundError(
            f"table {database}.{name} does not exist"
            + (f"; did you mean {', '.join(f'{database}.{n}' for n in near)}?" if near else ""),
            hint=f"list tables with `headwater catalog tables {database}`",
            table=f"{database}.{name}",
        )

    def _database_not_found(self, database: str) -> CatalogError:
        near = difflib.get_close_matches(database, [d.name for d in self.databases()], n=3)
        return DatabaseNotFoundError(
            f"database {database} does not exist"
            + (f"; did you mean {', '.join(near)}?" if near else ""),
            hint="list databases with `headwater catalog databases`",
            database=database,
        )

    def tables(self, database: str) -> dict[str, Table]:
        """Every table of ``database`` by name (one dropped meanwhile is left out)."""
        tables = {}
        for name in self.table_names(database):
            if is_staging(name):
                continue  # a definition being swapped in (catalog.definitions)
            try:
                tables[name] = self.get_table(database, name)
            except TableNotFoundError:
                continue
        return tables

    # -- source catalogs (a database connection's Spark JDBC catalog) ----------------
    def source_namespaces(self, catalog: str) -> list[str]:
        rows = self.runner.sql(f"SHOW NAMESPACES IN {ddl.quote_name(catalog)}")
        return sorted(str(row[0]) for row in rows)

    def source_tables(self, catalog: str, namespace: str) -> list[str]:
        rows = self.runner.sql(f"SHOW TABLES IN {ddl.source_name(catalog, namespace)}")
        return sorted(str(row[1]) for row in rows)  # (namespace, tableName, …)

    def source_columns(self, catalog: str, namespace: str, table: str) -> tuple[Column, ...]:
        """The columns as Spark's JDBC dialect types them (what a view over it shows)."""
        rows = self.runner.sql(f"DESCRIBE TABLE {ddl.source_name(catalog, namespace, table)}")
        columns = []
        for row in rows:
            name = str(row[0] or "").strip()
            if not name or name.startswith("#"):
                break
            columns.append(Column(name, str(row[1]).strip()))
        return tuple(columns)

    def table_summaries(self, database: str, like: str = "*") -> list[Table]:
        """Every table of ``database`` whose name matches ``like`` (``*`` any run,
        ``|`` alternatives), from one statement: name, format, location, properties and
        (except Delta, whose schema lives in its log) top-level columns."""
        if self.metastore is not None:
            found = self.metastore.table_summaries(database, like)
            if not found and not self.has_database(database):
                raise self._database_not_found(database)
            return found
        try:
            rows = self.runner.sql(
                f"SHOW TABLE EXTENDED IN {ddl.quote_name(database)} LIKE {ddl.quote_value(like)}"
            )
        except CatalogError as exc:
            if "SCHEMA_NOT_FOUND" in str(exc):
                self.table_names(database)  # raises with "did you mean"
            raise
        # (namespace, tableName, isTemporary, information)
        return sorted(
            (_parse_extended(database, str(r[1]), str(r[3])) for r in rows if not r[2]),
            key=lambda t: t.name,
        )

    def query(self, statement: str) -> tuple[list[str], list[Row]]:
        """Any SQL statement: column names and rows."""
        return self.runner.query(statement)

    def filter_partitions(
        self, table: Table, values: list[tuple[str, ...]], expression: str
    ) -> list[tuple[str, ...]]:
        """The partitions whose values satisfy a SQL ``expression`` over the partition
        keys (Glue's GetPartitions Expression: = <> < > AND OR IN BETWEEN LIKE NOT IS
        NULL …), evaluated by the SQL endpoint over the values only: no data is read."""
        if not values:
            return []
        keys = [k.name for k in table.partition_keys]
        rows = ", ".join(
            "(" + ", ".join(ddl.quote_value(v) for v in partition) + ")" for partition in values
        )
        names = ", ".join(ddl.quote_name(k) for k in keys)
        found = self.runner.sql(f"SELECT * FROM VALUES {rows} AS p({names}) WHERE {expression}")
        return [tuple(str(v) for v in row) for row in found]

    def partitions(self, table: Table) -> list[tuple[str, ...]]:
        if not table.partition_keys:
            return []
        if table.format == ddl.DELTA:  # in its log: Delta's SHOW PARTITIONS gives the values
            rows = self.runner.sql(f"SHOW PARTITIONS {ddl.qualified(table.database, table.name)}")
            return [tuple(NULL_PARTITION if v is None else str(v) for v in row) for row in rows]
        if self.metastore is not None:
            names = self.metastore.partition_names(table.database, table.name)
            return [_partition_values(name) for name in names]
        rows = self.runner.sql(f"SHOW PARTITIONS {ddl.qualified(table.database, table.name)}")
        return [_partition_values(str(row[0])) for row in rows]

    def preview(self, database: str, name: str, limit: int = 10) -> list[dict[str, Any]]:
        """The first ``limit`` rows, as column -> value (partition keys included)."""
        table = self.get_table(database, name)
        names = [c.name for c in (*table.columns, *table.partition_keys)]
        rows = self.runner.sql(f"SELECT * FROM {ddl.qualified(database, name)} LIMIT {int(limit)}")
        return [dict(zip(names, row, strict=False)) for row in rows]

    def count_rows(self, database: str, name: str) -> int:
        rows = self.runner.sql(f"SELECT COUNT(*) FROM {ddl.qualified(database, name)}")
        return int(rows[0][0])

    # -- writing ---------------------------------------------------------------------
    def create_database(self, name: str, location: str | None = None) -> None:
        # Checked first: the metastore logs IF NOT EXISTS hits as errors.
        if self.has_database(name):
            return
        if self.writer is not None and location is None:
            self.writer.create_database(name, self.owner)
        else:
            self.runner.sql(ddl.create_database_sql(name, location))

    def create_table(self, table: Table) -> None:
        if self.writer is not None and table.format != ddl.VIEW:
            self.writer.create_table(table, self.owner, if_not_exists=table.format == ddl.DELTA)
        else:
            self.runner.sql(ddl.create_table_sql(table))

    def set_properties(
        self, database: str, name: str, properties: dict[str, str], view: bool = False
    ) -> None:
        if self.writer is not None and not view:
            raw = self.writer.raw_table(database, name)
            raw.parameters = {**(raw.parameters or {}), **properties}
            self.writer.put_raw_table(database, name, raw)
            self._refresh(database, name)
        else:
            self.runner.sql(ddl.set_properties_sql(database, name, properties, view))

    def replace_table(self, table: Table) -> None:
        """Give an existing table (not a view) a new definition in one metastore call."""
        if self.writer is None:
            raise CatalogError(
                f"table {table.qualified_name}: a new definition needs the metastore's API",
                hint="open the catalog with write_through_metastore",
            )
        self.writer.replace_table(table, self.owner)
        self._refresh(table.database, table.name)

    def describe_database(self, name: str, description: str) -> None:
        if self.writer is None:
            self.runner.sql(
                f"ALTER DATABASE {ddl.quote_name(name)} SET DBPROPERTIES "
                f"('description' = {ddl.quote_value(description)})"
            )
        else:
            self.writer.describe_database(name, description)

    def drop_database(self, name: str) -> None:
        """Drop a database with its tables' definitions; their files stay."""
        if self.writer is not None:
            self.writer.drop_database(name)
        else:
            self.runner.sql(f"DROP DATABASE {ddl.quote_name(name)} CASCADE")

    def drop_table(self, database: str, name: str, view: bool = False) -> None:
        if self.writer is not None:
            self.writer.drop_table(database, name)
        else:
            self.runner.sql(ddl.drop_table_sql(database, name, view))

    def _refresh(self, database: str, name: str) -> None:
        """Drop what a SQL endpoint's session cached of a table changed underneath it."""
        self.runner.sql(f"REFRESH TABLE {ddl.qualified(database, name)}")

    # -- a new definition for an existing table (see catalog.definitions) ------------
    def stage_table(self, table: Table) -> Table:
        """``table`` created under its staging name (a crashed attempt's is dropped first)."""
        staged = dataclasses.replace(table, name=staging_name(table.name))
        self.drop_table(staged.database, staged.name)
        self.create_table(staged)
        return staged

    def alter_from_staging(self, table: Table, owned: frozenset[str]) -> None:
        """Give ``table`` its staged definition in one metastore call, keeping the
        properties users set (those not in ``owned``) and its partitions.

        Raises:
            DefinitionRefusedError: the metastore cannot change it in place (partition
                keys differ, or column types it deems incompatible): swap it instead.
        """
        source = self._definitions()
        current = source.raw_table(table.database, table.name)
        staged = source.raw_table(table.database, staging_name(table.name))
        if not same_partition_keys(current, staged):
            raise DefinitionRefusedError(
                f"table {table.qualified_name}: partition keys cannot change in place"
            )
        source.put_raw_table(table.database, table.name, merged_definition(current, staged, owned))
        self._refresh(table.database, table.name)

    def swap_from_staging(
        self, table: Table, owned: frozenset[str], dropped: Callable[[], None] = lambda: None
    ) -> None:
        """Replace ``table`` by its staged definition: drop it (then ``dropped()``),
        rename the staged one (between the two there is no table; the next crawl
        re-creates it), then give back the properties users had set."""
        source = self._definitions()
        current = source.raw_table(table.database, table.name)
        self.drop_table(table.database, table.name)
        dropped()
        if self.writer is not None:
            moved = self.writer.raw_table(table.database, staging_name(table.name))
            moved.tableName = table.name
            self.writer.put_raw_table(table.database, staging_name(table.name), moved)
        else:
            staged = ddl.qualified(table.database, staging_name(table.name))
            self.runner.sql(
                f"ALTER TABLE {staged} RENAME TO {ddl.qualified(table.database, table.name)}"
            )
        renamed = source.raw_table(table.database, table.name)
        source.put_raw_table(table.database, table.name, merged_definition(current, renamed, owned))
        self._refresh(table.database, table.name)

    def _definitions(self) -> Any:
        """Who reads and replaces raw definitions: the metastore's thrift API (stack
        CLI), or the Spark session's Hive client."""
        for candidate in (self.metastore, self.runner):
            if hasattr(candidate, "put_raw_table"):
                return candidate
        raise CatalogError(
            "this catalog connection cannot change a table's definition",
            hint="crawl with the headwater CLI or the crawl job (jobs/crawl.py)",
        )

    def add_partitions(self, table: Table, partitions: list[Partition], batch: int = 100) -> None:
        if self.writer is not None and table.format != ddl.DELTA:
            raw = self.writer.raw_table(table.database, table.name)
            for start in range(0, len(partitions), batch):
                chunk = metastore_partitions(raw, partitions[start : start + batch])
                self.writer.add_partitions(table.database, table.name, chunk)
            if partitions:
                self._refresh(table.database, table.name)
            return
        for start in range(0, len(partitions), batch):
            chunk = partitions[start : start + batch]
            if chunk:
                self.runner.sql(ddl.add_partitions_sql(table, chunk))


def _partition_values(spec: str) -> tuple[str, ...]:
    return tuple(urllib.parse.unquote(part.split("=", 1)[1]) for part in spec.split("/"))


_NEXT_PAIR = re.compile(r", (?=[\w.\-]+=)")


def _bracketed_pairs(text: str) -> dict[str, str]:
    """Spark's ``[k1=v1, k2=v2]``: a value may hold ``", "`` itself (a log table's
    regex does), so a pair starts only where a key and ``=`` follow."""
    inner = text.strip().removeprefix("[").removesuffix("]")
    pairs = {}
    for item in _NEXT_PAIR.split(inner):
        if "=" in item:
            key, value = item.split("=", 1)
            pairs[key] = value
    return pairs


def _parse_describe(database: str, name: str, rows: list[Row], properties: dict[str, str]) -> Table:
    columns: list[Column] = []
    partition_names: list[str] = []
    details: dict[str, str] = {}
    section = "columns"
    for row in rows:
        key = str(row[0] or "").strip()
        value = str(row[1] or "").strip() if len(row) > 1 else ""
        if key == "# Partition Information":
            section = "partitions"
            continue
        if key.startswith("# Detailed Table Information"):
            section = "details"
            continue
        if not key or key.startswith("#"):
            if section == "partitions" and not key:
                section = "after-partitions"
            continue
        if section == "columns":
            comment = row[2] if len(row) > 2 and row[2] else None
            columns.append(Column(key, value, comment))
        elif section == "partitions":
            partition_names.append(key)
        elif section == "details":
            details[key] = value
    by_name = {c.name: c for c in columns}
    keys = tuple(by_name[n] for n in partition_names if n in by_name)
    data = tuple(c for c in columns if c.name not in partition_names)
    visible = {k: v for k, v in properties.items() if not k.startswith("spark.sql.")}
    table_format = details.get("Provider", "hive").lower()
    options = _bracketed_pairs(details.get("Storage Properties", ""))
    if details.get("Serde Library") == ddl.REGEX_SERDE:
        table_format = ddl.REGEX
    if details.get("Type") == "VIEW":
        table_format = ddl.VIEW
        text = details.get("View Original Text") or details.get("View Text", "")
        options = {"source": text.removeprefix(ddl.VIEW_PREFIX)}
    return Table(
        database=database,
        name=name,
        columns=data,
        location=details.get("Location", ""),
        format=table_format,
        partition_keys=keys,
        parameters=visible,
        options=options,
    )


# Spark's tree strings name a few types differently from the metastore.
_HIVE_NAMES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}


def _parse_extended(database: str, name: str, information: str) -> Table:
    """One table from ``SHOW TABLE EXTENDED``'s text block."""
    details: dict[str, str] = {}
    columns: list[Column] = []
    in_schema = False
    for line in information.splitlines():
        if in_schema:
            if line.startswith(" |-- "):
                column, _, rest = line.removeprefix(" |-- ").partition(": ")
                spark_type = rest.split(" (", 1)[0]
                columns.append(Column(column, _HIVE_NAMES.get(spark_type, spark_type)))
            continue
        key, sep, value = line.partition(": ")
        if key == "Schema":
            in_schema = True
        elif sep:
            details[key] = value
    partition_names = details.get("Partition Columns", "").strip("[]").replace("`", "")
    keys = [k.strip() for k in partition_names.split(",") if k.strip()]
    table_format = details.get("Provider", "hive").lower()
    if details.get("Type") == "VIEW":
        table_format = ddl.VIEW
    elif details.get("Serde Library") == ddl.REGEX_SERDE:
        table_format = ddl.REGEX
    properties = _bracketed_pairs(details.get("Table Properties", ""))
    return Table(
        database=database,
        name=name,
        columns=tuple(c for c in columns if c.name not in keys),
        location=details.get("Location", ""),
        format=table_format,
        partition_keys=tuple(c for c in columns if c.name in keys)
        or tuple(Column(k, "") for k in keys),
        parameters={k: v for k, v in properties.items() if not k.startswith("spark.sql.")},
        options={"serde": details.get("Serde Library", "")},
    )
