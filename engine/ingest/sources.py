"""Reading a job's source: only what its bookmark has not seen.

Files (a catalog table's or a path's): listed, compared with the bookmark by path,
size and modification time, and exactly the new ones read. JDBC: the rows after
the bookmark's high-water mark up to the newest key present *now* (a fixed
window, so rows inserted during the run are next run's), read in parallel ranges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from catalog.ddl import DELTA, REGEX, VIEW
from engine import storage
from engine.config import Settings
from engine.connections import GENERIC, Connection, load_connections
from engine.errors import ConfigError, JobError
from engine.ingest.spec import CATALOG, JDBC, QUARANTINABLE, SourceSpec
from engine.state.bookmarks import (
    BookmarkState,
    FileMark,
    HighWater,
    select_files,
)

LOG = logging.getLogger(__name__)
NUMERIC_OR_TIME = ("tinyint", "smallint", "int", "bigint", "float", "double", "date", "timestamp")


@dataclass
class SourceBatch:
    """A source read for one run, and the bookmark progress it would make."""

    df: Any  # pyspark DataFrame
    described: str
    files: tuple[FileMark, ...] = ()
    high_water: HighWater | None = None
    bytes_read: int = 0
    may_have_corrupt: bool = False
    is_empty: bool = False  # nothing new since the bookmark
    format: str = ""
    partition_keys: tuple[str, ...] = ()  # the source table's, the sink's default
    context: str = "source"  # the bookmark it advances (Glue's transformation_ctx)
    observation: Any = None  # total and malformed row counts, filled by the write


def _hidden(key: str, prefix: str) -> bool:
    """Spark skips files and folders named ``_…`` or ``.…`` (besides ``k=v`` ones)."""
    rest = key[len(prefix) :].lstrip("/") if key.startswith(prefix) else key
    return any(part.startswith(("_", ".")) for part in rest.split("/"))


def list_files(settings: Settings, uri: str) -> dict[str, FileMark]:
    """Files under ``uri`` keyed by their Hadoop URI."""
    store, prefix = storage.locate(settings, uri)
    root = prefix.rstrip("/")
    found = {}
    for info in store.list(f"{root}/" if root else ""):
        if not _hidden(info.key, root):
            found[store.uri(info.key)] = FileMark(store.uri(info.key), info.size, info.modified)
    return found


def one_file(settings: Settings, uri: str) -> dict[str, FileMark]:
    """The file at ``uri`` keyed by ``uri`` (a table the crawler located at one file),
    or nothing."""
    store, key = storage.locate(settings, uri)
    for info in store.list(key):
        if info.key == key:
            return {uri: FileMark(uri, info.size, info.modified)}
    return {}


def path_uri(settings: Settings, path: str) -> str:
    """``s3://bucket/prefix`` as the profile's Hadoop URI (the local lake or s3a)."""
    if path.startswith(("s3://", "s3a://")):
        bucket, _, prefix = path.split("://", 1)[1].partition("/")
        return f"{settings.bucket_uri(bucket)}/{prefix}".rstrip("/")
    if path.startswith("/"):
        return f"file://{path.rstrip('/')}"
    return path.rstrip("/")


def read_source(
    spark: Any,
    settings: Settings,
    spec: SourceSpec,
    state: BookmarkState,
    *,
    quarantine: bool,
    bookmarked: bool,
    only: set[str] | None = None,
) -> SourceBatch:
    """The source's unprocessed part (everything when not ``bookmarked``); of a file
    source, ``only`` these files when given."""
    from engine.spark import lake  # deferred: pyspark (python jobs list files here)

    if spec.kind == JDBC:
        return _read_jdbc(spark, spec, state, bookmarked)
    if spec.kind == CATALOG:
        table = lake.catalog_table(spark, spec.name)
        if table.format in (DELTA, VIEW):  # no files of their own to bookmark
            if bookmarked:
                raise JobError(
                    f"{spec.name} is a {table.format} table: file bookmarks do not apply",
                    hint="run it with --job-bookmark-option job-bookmark-disable",
                    key="job-bookmark-option",
                )
            return _read_whole_table(spark, spec, table.format)
        located = list_files(settings, table.location)
        single = not located and bool(located := one_file(settings, table.location))
        if table.format == REGEX:  # Hive names a log table's location, not its files
            listed = sorted(located)
        else:
            listed = lake.table_files(spark, spec.name, spec.push_down_predicate)
        marks = [located.get(uri) or FileMark(uri, -1, 0.0) for uri in listed]
        fmt, options = table.format, dict(table.options) | dict(spec.options)
        schema, base = lake.spark_schema(table), table.location
        if single:  # a table of one file: Spark's base path must be a folder
            base = table.location.rsplit("/", 1)[0]
        partitions: tuple[str, ...] = tuple(c.name for c in table.partition_keys)
    else:
        base = path_uri(settings, spec.name)
        marks = list(list_files(settings, base).values())
        if not marks:
            raise JobError(
                f"no files under {spec.name} ({base})",
                hint="check the --source path (and that the files have landed)",
                path=spec.name,
            )
        fmt, options, schema = str(spec.format), dict(spec.options), None
        partitions = ()
    if only is not None:
        marks = [m for m in marks if m.path in only]
    selection = select_files(marks, state)
    for mark in selection.changed:
        LOG.warning("%s changed since it was processed: it is read again", mark.path)
    chosen = [*selection.new, *selection.changed]
    batch = SourceBatch(
        df=None,
        described=spec.described,
        files=tuple(chosen),
        bytes_read=sum(max(m.size, 0) for m in chosen),
        may_have_corrupt=quarantine and fmt in QUARANTINABLE,
        is_empty=not chosen,
        format=fmt,
        partition_keys=partitions,
    )
    if chosen:
        batch.df = lake.read_files(
            spark,
            fmt,
            [m.path for m in chosen],
            base_path=base,
            options=options,
            schema=schema,
            quarantine=batch.may_have_corrupt,
            partition_columns=partitions,
        )
        if spec.push_down_predicate and (spec.kind != CATALOG or fmt == REGEX):
            batch.df = lake.where(batch.df, spec.push_down_predicate, spec.described)
    return batch


def _read_whole_table(spark: Any, spec: SourceSpec, fmt: str) -> SourceBatch:
    from engine.spark import lake  # deferred: pyspark (python jobs list files here)

    df = spark.table(spec.name)
    if spec.push_down_predicate:
        df = lake.where(df, spec.push_down_predicate, spec.name)
    return SourceBatch(df=df, described=f"{spec.name} ({fmt}, read whole)")


# -- JDBC ------------------------------------------------------------------------------
def connection(name: str | None) -> Connection:
    connections = load_connections()
    if name not in connections:
        raise ConfigError(
            f"--connection {name!r} is not defined "
            f"(defined: {', '.join(sorted(connections)) or 'none'})",
            hint="define it under 'connections:' in headwater.yaml",
            key="connection",
        )
    return connections[str(name)]


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def json_value(value: Any) -> Any:
    """A high-water value as the bookmark stores it (JSON)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _tuple(columns: tuple[str, ...]) -> str:
    return columns[0] if len(columns) == 1 else "(" + ", ".join(columns) + ")"


def _compare(columns: tuple[str, ...], op: str, values: tuple[Any, ...]) -> str:
    rendered = [sql_literal(v) for v in values]
    right = rendered[0] if len(rendered) == 1 else "(" + ", ".join(rendered) + ")"
    return f"{_tuple(columns)} {op} {right}"


def primary_key(spark: Any, conn: Connection, table: str) -> tuple[str, ...]:
    from engine.spark import lake  # deferred: pyspark (python jobs list files here)

    if conn.kind == GENERIC:  # the driver's metadata
        schema, _, name = table.rpartition(".")
        _, keys = lake.jdbc_tables(spark, conn, schema or None, name)
        return tuple(next(iter(keys.values()), ()))
    if conn.kind == "postgresql":
        sql = (
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = "
            f"{sql_literal(table)}::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)"
        )
    else:
        schema, _, name = table.rpartition(".")
        owner = sql_literal(schema) if schema else "DATABASE()"
        sql = (
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = "
            f"{owner} AND TABLE_NAME = {sql_literal(name)} AND CONSTRAINT_NAME = 'PRIMARY' "
            "ORDER BY ORDINAL_POSITION"
        )
    return tuple(str(row[0]) for row in lake.jdbc_query(spark, conn, sql))


def bookmark_keys(spark: Any, conn: Connection, spec: SourceSpec) -> tuple[str, ...]:
    """The given keys, or (as Glue) the table's primary key."""
    if spec.bookmark_keys:
        return spec.bookmark_keys
    keys = primary_key(spark, conn, spec.name) if spec.name else ()
    if not keys:
        raise ConfigError(
            f"{spec.described}: no --bookmark_keys given and no primary key to use",
            hint="name an increasing column: --bookmark_keys updated_at,id (or disable "
            "bookmarks: --job-bookmark-option job-bookmark-disable)",
            key="bookmark_keys",
        )
    return keys


def _read_jdbc(spark: Any, spec: SourceSpec, state: BookmarkState, bookmarked: bool) -> SourceBatch:
    from engine.spark import lake  # deferred: pyspark (python jobs list files here)

    conn = connection(spec.connection)
    relation = spec.name if spec.name else f"({spec.query}) hw_query"
    where: list[str] = []
    high_water = None
    if bookmarked:
        keys = bookmark_keys(spark, conn, spec)
        op_after, op_upto = ("<", ">=") if spec.bookmark_descending else (">", "<=")
        if state.high_water is not None:
            if tuple(state.high_water.columns) != tuple(keys):
                raise JobError(
                    f"the bookmark's keys ({', '.join(state.high_water.columns)}) differ from "
                    f"--bookmark_keys ({', '.join(keys)})",
                    hint="reset the bookmark after changing the keys: headwater job bookmark reset",
                    key="bookmark_keys",
                )
            where.append(_compare(keys, op_after, state.high_water.values))
        direction = "ASC" if spec.bookmark_descending else "DESC"
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        found = lake.jdbc_query(
            spark,
            conn,
            f"SELECT {', '.join(keys)} FROM {relation}{condition} "
            f"ORDER BY {', '.join(f'{k} {direction}' for k in keys)} LIMIT 1",
        )
        if not found:
            return SourceBatch(df=None, described=spec.described, is_empty=True)
        upper = tuple(json_value(v) for v in found[0])
        where.append(_compare(keys, op_upto, upper))
        high_water = HighWater(tuple(keys), upper, spec.bookmark_descending)
    window = (
        f"(SELECT * FROM {relation} WHERE {' AND '.join(where)}) hw_window" if where else relation
    )
    bounds = None
    column = spec.partition_column or (high_water.columns[0] if high_water else None)
    if column and spec.num_partitions > 1:
        probe = lake.read_jdbc(
            spark, conn, window, partition_column=None, bounds=None, num_partitions=1
        )
        types = {f.name.lower(): f.dataType.simpleString() for f in probe.schema.fields}
        if types.get(column.lower(), "").split("(")[0] in (*NUMERIC_OR_TIME, "decimal"):
            low_high = lake.jdbc_query(
                spark, conn, f"SELECT min({column}), max({column}) FROM {window}"
            )
            if low_high and low_high[0][0] is not None:
                bounds = (json_value(low_high[0][0]), json_value(low_high[0][1]))
        else:
            LOG.warning("%s is not numeric, date or timestamp: read in one partition", column)
    df = lake.read_jdbc(
        spark,
        conn,
        window,
        partition_column=column if bounds else None,
        bounds=bounds,
        num_partitions=spec.num_partitions,
    )
    return SourceBatch(df=df, described=spec.described, high_water=high_water)
