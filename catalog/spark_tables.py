"""Tables, partitions and databases as Spark writes them into the Hive metastore.

A crawl's definitions go straight to the metastore's thrift API in the form Spark's
``CREATE TABLE … USING <format>`` (HiveExternalCatalog) and Delta's catalog give
them, so Spark, the Thrift Server and the CLI read back the same tables without a
JVM having written them:

- a data source table (csv, json, parquet, orc, avro, xml, text, delta) keeps its
  schema in ``spark.sql.sources.schema`` (Spark's JSON, partition columns last; in
  parts over 4,000 characters), its format in ``spark.sql.sources.provider``, its
  reader options and location in the SerDe's parameters (``path``), and one
  placeholder column in the metastore's own columns (Spark's form for a table Hive
  cannot read). Its storage location is its database's folder, which exists (Spark
  gives a placeholder folder the metastore creates and Spark deletes; the data's
  location may be one file, which the metastore refuses as a table's folder; Spark
  reads ``path``);
- a Delta table carries no schema (its log has it);
- a regex table is a Hive table (``RegexSerDe`` over text) with Spark's schema
  properties beside its columns.

Pure: builds the thrift objects; :class:`catalog.metastore.MetastoreReader` sends them.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from catalog import ddl
from catalog.errors import CatalogError
from catalog.model import Column, Partition, Table

SCHEMA_PART_LENGTH = 4000  # spark.sql.sources.schemaStringLengthThreshold
_PREFIX = "spark.sql.sources."
_PLACEHOLDER_COLUMN = ("col", "array<string>", "from deserializer")
_SEQUENCE_IN = "org.apache.hadoop.mapred.SequenceFileInputFormat"
_SEQUENCE_OUT = "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat"
_LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_SPARK_NAMES = {
    "bigint": "long",
    "int": "integer",
    "integer": "integer",
    "smallint": "short",
    "tinyint": "byte",
    "long": "long",
    "short": "short",
    "byte": "byte",
    "real": "float",
}
_SIMPLE = {
    "string",
    "boolean",
    "double",
    "float",
    "date",
    "timestamp",
    "timestamp_ntz",
    "timestamp_ltz",
    "binary",
    "void",
    "variant",
}
_TOKEN = re.compile(
    r"\s*(`(?:[^`]|``)*`|[A-Za-z_][A-Za-z0-9_]*(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?|[<>,:])"
)


def spark_version() -> str:
    from importlib import metadata  # deferred: 10 ms, only when a table is written

    try:
        return metadata.version("pyspark")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- Hive type strings -> Spark's JSON data types ------------------------------------
def spark_type(hive_type: str) -> Any:
    """``bigint`` → ``"long"``, ``array<struct<a:int>>`` → Spark's JSON type (the form
    ``spark.sql.sources.schema`` and a Delta log keep). Raises CatalogError on a type
    it cannot read."""
    tokens = _tokens(hive_type)
    parsed, end = _parse(tokens, 0, hive_type)
    if end != len(tokens):
        raise CatalogError(f"cannot read the column type {hive_type!r}")
    return parsed


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise CatalogError(f"cannot read the column type {text!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _parse(tokens: list[str], at: int, text: str) -> tuple[Any, int]:
    if at >= len(tokens):
        raise CatalogError(f"cannot read the column type {text!r}")
    word = tokens[at].lower()
    if word in ("array", "map", "struct"):
        _expect(tokens, at + 1, "<", text)
        if word == "array":
            element, at = _parse(tokens, at + 2, text)
            _expect(tokens, at, ">", text)
            return {"type": "array", "elementType": element, "containsNull": True}, at + 1
        if word == "map":
            key, at = _parse(tokens, at + 2, text)
            _expect(tokens, at, ",", text)
            value, at = _parse(tokens, at + 1, text)
            _expect(tokens, at, ">", text)
            shape = {"type": "map", "keyType": key, "valueType": value}
            return {**shape, "valueContainsNull": True}, at + 1
        fields: list[dict[str, Any]] = []
        at += 2
        while tokens[at : at + 1] != [">"]:
            if fields:
                _expect(tokens, at, ",", text)
                at += 1
            name = tokens[at]
            if name.startswith("`"):
                name = name[1:-1].replace("``", "`")
            _expect(tokens, at + 1, ":", text)
            field_type, at = _parse(tokens, at + 2, text)
            fields.append({"name": name, "type": field_type, "nullable": True, "metadata": {}})
        return {"type": "struct", "fields": fields}, at + 1
    compact = re.sub(r"\s+", "", word)
    if compact.startswith("decimal"):
        return (compact if "(" in compact else "decimal(10,0)"), at + 1
    if compact.startswith(("char(", "varchar(")):
        return "string", at + 1  # the declared type rides in the field's metadata
    if compact in _SPARK_NAMES:
        return _SPARK_NAMES[compact], at + 1
    if compact in _SIMPLE:
        return compact, at + 1
    raise CatalogError(f"cannot read the column type {text!r}: unknown type {tokens[at]!r}")


def _expect(tokens: list[str], at: int, wanted: str, text: str) -> None:
    if tokens[at : at + 1] != [wanted]:
        raise CatalogError(f"cannot read the column type {text!r}")


def _field(column: Column) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if column.comment:
        meta["comment"] = column.comment
    compact = re.sub(r"\s+", "", column.type.lower())
    if compact.startswith(("char(", "varchar(")):
        meta["__CHAR_VARCHAR_TYPE_STRING"] = compact
    return {
        "name": column.name,
        "type": spark_type(column.type),
        "nullable": True,
        "metadata": meta,
    }


def schema_properties(table: Table) -> dict[str, str]:
    """``spark.sql.sources.schema`` (or its parts) and the partition columns' names.

    Raises:
        CatalogError: a column's type cannot be read (the message names the column).
    """
    columns = [] if table.format == ddl.DELTA else [*table.columns, *table.partition_keys]
    fields = []
    for column in columns:
        try:
            fields.append(_field(column))
        except CatalogError as exc:
            raise CatalogError(
                f"table {table.qualified_name}, column {column.name}: {exc.message}",
                hint="give the column a Hive type (bigint, string, decimal(10,2), "
                "array<…>, struct<name:type,…>) in the table's definition",
                table=table.qualified_name,
            ) from exc
    text = json.dumps({"type": "struct", "fields": fields}, separators=(",", ":"))
    found: dict[str, str] = {}
    if len(text) <= SCHEMA_PART_LENGTH:
        found[_PREFIX + "schema"] = text
    else:
        parts = [text[i : i + SCHEMA_PART_LENGTH] for i in range(0, len(text), SCHEMA_PART_LENGTH)]
        found[_PREFIX + "schema.numParts"] = str(len(parts))
        found.update({f"{_PREFIX}schema.part.{i}": part for i, part in enumerate(parts)})
    if table.partition_keys and table.format != ddl.DELTA:
        found[_PREFIX + "schema.numPartCols"] = str(len(table.partition_keys))
        for i, key in enumerate(table.partition_keys):
            found[f"{_PREFIX}schema.partCol.{i}"] = key.name
    return found


# -- thrift objects ------------------------------------------------------------------
def metastore_table(table: Table, owner: str, folder: str | None = None) -> Any:
    """The thrift ``Table`` Spark would write for ``table`` (not a view); ``folder``:
    the storage location of a data source table (its database's), else its own."""
    from pymetastore.hive_metastore import ttypes

    if table.format == ddl.VIEW:
        raise CatalogError(f"{table.qualified_name}: a view is created through SQL")
    parameters = {
        **table.parameters,
        "EXTERNAL": "TRUE",
        **schema_properties(table),
        "spark.sql.create.version": spark_version(),
    }
    if table.format == ddl.REGEX:
        columns = [ttypes.FieldSchema(c.name, c.type, c.comment) for c in table.columns]
        formats = (_TEXT_IN, _TEXT_OUT, ddl.REGEX_SERDE)
        serde_parameters = {**table.options, "serialization.format": "1"}
    else:
        columns = [ttypes.FieldSchema(*_PLACEHOLDER_COLUMN)]
        formats = (_SEQUENCE_IN, _SEQUENCE_OUT, _LAZY_SIMPLE)
        serde_parameters = {"path": table.location, **table.options, "serialization.format": "1"}
        parameters[_PREFIX + "provider"] = table.format
        if table.partition_keys or table.format == ddl.DELTA:
            parameters["spark.sql.partitionProvider"] = "catalog"
    storage = ttypes.StorageDescriptor(
        cols=columns,
        location=table.location if table.format == ddl.REGEX else (folder or table.location),
        inputFormat=formats[0],
        outputFormat=formats[1],
        compressed=False,
        numBuckets=-1,
        serdeInfo=ttypes.SerDeInfo(serializationLib=formats[2], parameters=serde_parameters),
        bucketCols=[],
        sortCols=[],
        parameters={},
        skewedInfo=ttypes.SkewedInfo([], [], {}),
        storedAsSubDirectories=False,
    )
    keys = [] if table.format == ddl.DELTA else table.partition_keys
    return ttypes.Table(
        tableName=table.name,
        dbName=table.database,
        owner=owner,
        createTime=0,
        lastAccessTime=0,
        retention=0,
        sd=storage,
        partitionKeys=[ttypes.FieldSchema(k.name, k.type, k.comment) for k in keys],
        parameters=parameters,
        tableType="EXTERNAL_TABLE",
    )


def metastore_partitions(raw_table: Any, partitions: list[Partition]) -> list[Any]:
    """Thrift ``Partition``s of ``raw_table`` (its storage, each at its own location)."""
    from pymetastore.hive_metastore import ttypes

    made = []
    for partition in partitions:
        storage = copy.deepcopy(raw_table.sd)
        storage.location = partition.location
        made.append(
            ttypes.Partition(
                values=list(partition.values),
                dbName=raw_table.dbName,
                tableName=raw_table.tableName,
                createTime=0,
                lastAccessTime=0,
                sd=storage,
                parameters={},
            )
        )
    return made


def metastore_database(name: str, location: str | None, owner: str) -> Any:
    from pymetastore.hive_metastore import ttypes

    return ttypes.Database(
        name=name, description="", locationUri=location, parameters={}, ownerName=owner,
        ownerType=1,
    )  # fmt: skip
