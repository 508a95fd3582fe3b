"""HiveQL (Spark SQL dialect) statements for catalog objects. Pure string building."""

from __future__ import annotations

from catalog.model import Column, Partition, Table

DELTA = "delta"
# Log tables: text files parsed by Hive's RegexSerDe (one capture group per column).
REGEX = "regex"
REGEX_SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe"
# A source table of a database connection: a view over the connection's Spark JDBC
# catalog (``options["source"]`` = the quoted ``catalog.schema.table``). No data, no
# location and no secret in the metastore.
VIEW = "view"
VIEW_PREFIX = "SELECT * FROM "


def quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def qualified(database: str, name: str) -> str:
    return f"{quote_name(database)}.{quote_name(name)}"


def _pairs(mapping: dict[str, str]) -> str:
    return ", ".join(f"{quote_value(k)} = {quote_value(v)}" for k, v in sorted(mapping.items()))


def _column(column: Column) -> str:
    comment = f" COMMENT {quote_value(column.comment)}" if column.comment else ""
    # Types keep their case: struct field names are case-sensitive for JSON readers.
    return f"{quote_name(column.name)} {column.type}{comment}"


def create_database_sql(name: str, location: str | None = None) -> str:
    where = f" LOCATION {quote_value(location)}" if location else ""
    return f"CREATE DATABASE IF NOT EXISTS {quote_name(name)}{where}"


def create_table_sql(table: Table) -> str:
    """An external table over files (or a Delta table at its location)."""
    target = qualified(table.database, table.name)
    properties = f" TBLPROPERTIES ({_pairs(table.parameters)})" if table.parameters else ""
    if table.format == DELTA:
        # Delta owns its schema and properties (its log); CREATE … TBLPROPERTIES would
        # have to match them exactly, so the metastore entry carries none of ours.
        where = quote_value(table.location)
        return f"CREATE TABLE IF NOT EXISTS {target} USING DELTA LOCATION {where}"
    if table.format == REGEX:
        return _create_regex_table_sql(table, target, properties)
    if table.format == VIEW:
        return (
            f"CREATE OR REPLACE VIEW {target}{properties} AS {VIEW_PREFIX}{table.options['source']}"
        )
    columns = ", ".join(_column(c) for c in (*table.columns, *table.partition_keys))
    options = f" OPTIONS ({_pairs(table.options)})" if table.options else ""
    partitioned = (
        " PARTITIONED BY (" + ", ".join(quote_name(k.name) for k in table.partition_keys) + ")"
        if table.partition_keys
        else ""
    )
    return (
        f"CREATE TABLE {target} ({columns}) USING {table.format}{options}{partitioned} "
        f"LOCATION {quote_value(table.location)}{properties}"
    )


def _create_regex_table_sql(table: Table, target: str, properties: str) -> str:
    """A Hive-format table (Hive lists partition keys apart from the columns)."""
    columns = ", ".join(_column(c) for c in table.columns)
    partitioned = (
        " PARTITIONED BY (" + ", ".join(_column(k) for k in table.partition_keys) + ")"
        if table.partition_keys
        else ""
    )
    return (
        f"CREATE TABLE {target} ({columns}){partitioned} ROW FORMAT SERDE "
        f"{quote_value(REGEX_SERDE)} WITH SERDEPROPERTIES ({_pairs(table.options)}) "
        f"STORED AS TEXTFILE LOCATION {quote_value(table.location)}{properties}"
    )


def set_properties_sql(
    database: str, name: str, properties: dict[str, str], view: bool = False
) -> str:
    kind = "VIEW" if view else "TABLE"
    return f"ALTER {kind} {qualified(database, name)} SET TBLPROPERTIES ({_pairs(properties)})"


def drop_table_sql(database: str, name: str, view: bool = False) -> str:
    return f"DROP {'VIEW' if view else 'TABLE'} IF EXISTS {qualified(database, name)}"


def source_name(*parts: str) -> str:
    """``catalog.schema.table``, each part quoted."""
    return ".".join(quote_name(p) for p in parts)


def add_partitions_sql(table: Table, partitions: list[Partition]) -> str:
    specs = []
    for partition in partitions:
        values = ", ".join(
            f"{quote_name(key.name)} = {quote_value(value)}"
            for key, value in zip(table.partition_keys, partition.values, strict=True)
        )
        specs.append(f"PARTITION ({values}) LOCATION {quote_value(partition.location)}")
    return f"ALTER TABLE {qualified(table.database, table.name)} ADD IF NOT EXISTS " + " ".join(
        specs
    )
