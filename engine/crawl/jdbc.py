"""Crawling a database connection (Glue's JDBC targets) through Spark's JDBC catalog.

Every Spark session and the Thrift Server carry one JDBC catalog per connection
(:mod:`engine.connections`), so the crawl needs no driver of its own: it lists the
catalog's namespaces and tables (``SHOW NAMESPACES`` / ``SHOW TABLES``), keeps those
the include path matches, reads each table's columns as Spark types them
(``DESCRIBE``), and registers it as a view over the source — queryable, always
current, and with no data or secret in the metastore.

Include paths are Glue's: ``database/schema/table`` for PostgreSQL and
``database/table`` for MySQL and MariaDB (a MySQL database is a schema: Spark's
catalog lists them as namespaces), with ``%`` (any run) and ``_`` (one character) as
in SQL ``LIKE``. System schemas are never included.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from catalog.ddl import VIEW, source_name
from catalog.errors import CatalogError
from catalog.hive import HiveCatalog
from catalog.model import Table
from engine.connections import Connection, load_connections
from engine.crawl.exclude import glob_to_regex, is_excluded
from engine.crawl.layout import table_name
from engine.crawl.plan import (
    DEPRECATE_IN_DATABASE,
    DEPRECATED_KEY,
    UPDATE_IN_DATABASE,
    CrawlPlan,
    TableDeletion,
    plan_table,
)
from engine.errors import ConfigError, CrawlError

SYSTEM_SCHEMAS = frozenset(
    {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
)


@dataclass(frozen=True)
class JdbcCrawlTarget:
    """Tables of connection ``connection`` matching ``path``, into ``database``."""

    connection: str
    path: str
    database: str = "landing"
    exclusions: tuple[str, ...] = ()
    table_prefix: str = ""
    update_behavior: str = UPDATE_IN_DATABASE
    delete_behavior: str = DEPRECATE_IN_DATABASE

    @property
    def where(self) -> str:
        return f"jdbc://{self.connection}/{self.path}"


def like(pattern: str) -> re.Pattern[str]:
    """SQL ``LIKE`` as a regex (case-insensitive, as identifiers mostly are)."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE)


@dataclass(frozen=True)
class SourceTable:
    database: str
    schema: str
    table: str
    two_part: bool = False  # MySQL: database and schema are one

    @property
    def path(self) -> str:
        if self.two_part:
            return f"{self.schema}/{self.table}"
        return f"{self.database}/{self.schema}/{self.table}"


def _split(connection: Connection, path: str) -> tuple[str, str, str]:
    """(database, schema, table) patterns of an include path; for MySQL the database
    is the schema; other databases (given by their driver) have schema/table paths."""
    parts = path.strip("/").split("/")
    if connection.kind != "postgresql":
        if len(parts) != 2:
            shape = (
                "database/table (e.g. shop/%)"
                if connection.kind == "mysql"
                else ("schema/table, as the driver names them (e.g. PUBLIC/%)")
            )
            raise ConfigError(
                f"include path {path!r} of connection {connection.name}: its paths are {shape}",
                key="path",
            )
        return parts[0], parts[0], parts[1]
    if len(parts) != 3:
        raise ConfigError(
            f"include path {path!r} of connection {connection.name}: PostgreSQL paths are "
            "database/schema/table (e.g. shop/public/%)",
            key="path",
        )
    return parts[0], parts[1], parts[2]


def find_tables(
    catalog: HiveCatalog, connection: Connection, path: str, exclusions: tuple[str, ...]
) -> list[SourceTable]:
    """The source tables the include path matches, minus the excluded ones."""
    database, schema, table = _split(connection, path)
    two_part = connection.kind != "postgresql"
    if not two_part and not like(database).fullmatch(connection.database):
        raise ConfigError(
            f"include path {path!r} names database {database!r}, but connection "
            f"{connection.name} is to database {connection.database!r}",
            hint="one connection reaches one database; define another connection",
            key="path",
        )
    excluded = [glob_to_regex(p) for p in exclusions]
    found = []
    try:
        for namespace in catalog.source_namespaces(connection.name):
            if namespace.lower() in SYSTEM_SCHEMAS or namespace.startswith("pg_"):
                continue
            if not like(schema).fullmatch(namespace):
                continue
            for name in catalog.source_tables(connection.name, namespace):
                source = SourceTable(connection.database, namespace, name, two_part=two_part)
                if like(table).fullmatch(name) and not is_excluded(source.path, excluded):
                    found.append(source)
    except CatalogError as exc:
        raise CrawlError(
            f"connection {connection.name} ({connection.describe()}): {exc}",
            hint="check the connection's url, user and password (they reach Spark when a "
            "session or the Thrift Server starts: restart it after changing them)",
        ) from exc
    return found


def plan_jdbc_crawl(catalog: HiveCatalog, target: JdbcCrawlTarget) -> tuple[CrawlPlan, str, int]:
    """The plan of a JDBC crawl, its run id and the number of tables described."""
    connections = load_connections()
    if target.connection not in connections:
        known = ", ".join(sorted(connections)) or "none defined"
        raise ConfigError(
            f"no connection named {target.connection!r} (known: {known})",
            hint="define it under 'connections:' in headwater.yaml",
            key=f"connections.{target.connection}",
        )
    connection = connections[target.connection]
    run_id = uuid.uuid4().hex[:12]
    plan = CrawlPlan(target.database, not catalog.has_database(target.database))
    existing = {} if plan.create_database else catalog.tables(target.database)
    sources = find_tables(catalog, connection, target.path, target.exclusions)
    for source in sources:
        namespace = source.schema
        columns = catalog.source_columns(connection.name, namespace, source.table)
        table = Table(
            database=target.database,
            name=table_name(target.table_prefix + source.path.replace("/", "_")),
            columns=columns,
            location="",
            format=VIEW,
            options={"source": source_name(connection.name, namespace, source.table)},
            parameters={
                "classification": connection.subprotocol,
                "connectionName": connection.name,
                "sourceTable": source.path,
                "typeOfData": "table",
                "UPDATED_BY_CRAWLER": "headwater",
                "CRAWL_RUN_ID": run_id,
            },
        )
        before = existing.get(table.name)
        plan.changes.append(plan_table(table, [], before, set(), target.update_behavior))
    produced = {change.table.name for change in plan.changes}
    pattern = like(target.path.strip("/"))
    for old in existing.values():
        made_here = (
            old.parameters.get("UPDATED_BY_CRAWLER") == "headwater"
            and old.parameters.get("connectionName") == connection.name
            and pattern.fullmatch(old.parameters.get("sourceTable", ""))
        )
        if not made_here or old.name in produced:
            continue
        if target.delete_behavior == DEPRECATE_IN_DATABASE and DEPRECATED_KEY in old.parameters:
            continue
        plan.deletions.append(TableDeletion(old, target.delete_behavior))
    return plan, run_id, len(sources)
