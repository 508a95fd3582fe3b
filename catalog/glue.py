"""The catalog model in the Glue API's shapes, and back. Pure: no I/O.

A :class:`Table` becomes Glue's ``Table`` (``StorageDescriptor`` with the columns,
the location and the Hive input/output formats and SerDe of its format; the table's
properties as ``Parameters``), and a ``TableInput`` becomes a :class:`Table`: its
format from ``Parameters.classification``, else from its input format and SerDe.
Locations are written ``s3://`` as AWS tools expect and read back as the ``s3a://``
Spark and the metastore use (:func:`aws_location`, :func:`hadoop_location`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog import ddl
from catalog.errors import CatalogError
from catalog.model import Column, Database, Partition, Table

_TEXT = (
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
)
_PARQUET = (
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
)
# format -> (input format, output format, SerDe), as Glue's crawlers write them
FORMATS: dict[str, tuple[str, str, str]] = {
    "csv": (*_TEXT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    "json": (*_TEXT, "org.openx.data.jsonserde.JsonSerDe"),
    "xml": (*_TEXT, "com.ibm.spss.hive.serde2.xml.XmlSerDe"),
    "text": (*_TEXT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    ddl.REGEX: (*_TEXT, ddl.REGEX_SERDE),
    "parquet": (*_PARQUET, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    ddl.DELTA: (*_PARQUET, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "orc": (
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    ),
    "avro": (
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
    ),
}
# a text table's separator: Glue's SerDe parameter, Spark's reader option
_GLUE_SEPARATOR, _SPARK_SEPARATOR = "field.delim", "sep"


def aws_location(location: str) -> str:
    """``s3a://bucket/key`` → ``s3://bucket/key`` (other schemes as they are)."""
    return "s3://" + location[len("s3a://") :] if location.startswith("s3a://") else location


def hadoop_location(location: str) -> str:
    """``s3://…`` → ``s3a://…``: how Spark and the metastore reach S3."""
    return "s3a://" + location[len("s3://") :] if location.startswith("s3://") else location


def glue_columns(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    return [
        {"Name": c.name, "Type": c.type, **({"Comment": c.comment} if c.comment else {})}
        for c in columns
    ]


def glue_database(database: Database, catalog_id: str) -> dict[str, Any]:
    return {
        "Name": database.name,
        "Description": database.description or None,
        "LocationUri": aws_location(database.location) if database.location else None,
        "CatalogId": catalog_id,
    }


def glue_table(
    table: Table,
    catalog_id: str,
    version: int | None = None,
    updated: datetime | str | None = None,
) -> dict[str, Any]:
    """Glue's ``Table`` for ``table``."""
    view = table.format == ddl.VIEW
    formats = FORMATS.get(table.format)
    serde: dict[str, Any] = {"Parameters": dict(table.options)}
    if formats:
        serde["SerializationLibrary"] = formats[2]
    if _SPARK_SEPARATOR in table.options:
        serde["Parameters"][_GLUE_SEPARATOR] = table.options[_SPARK_SEPARATOR]
    parameters = dict(table.parameters)
    if table.format not in (ddl.VIEW, "") and "classification" not in parameters:
        parameters["classification"] = table.format
    storage: dict[str, Any] = {
        "Columns": glue_columns(table.columns),
        "Location": aws_location(table.location) if table.location else None,
        "SerdeInfo": serde,
        "Compressed": False,
        "StoredAsSubDirectories": False,
    }
    if formats:
        storage["InputFormat"], storage["OutputFormat"] = formats[0], formats[1]
    return {
        "Name": table.name,
        "DatabaseName": table.database,
        "StorageDescriptor": storage,
        "PartitionKeys": glue_columns(table.partition_keys),
        "TableType": "VIRTUAL_VIEW" if view else "EXTERNAL_TABLE",
        "ViewOriginalText": table.location if view else None,
        "Parameters": parameters,
        "CatalogId": catalog_id,
        "VersionId": None if version is None else str(version),
        "UpdateTime": updated,
        "IsRegisteredWithLakeFormation": False,
    }


def glue_partition(table: Table, partition: Partition, catalog_id: str) -> dict[str, Any]:
    described = glue_table(table, catalog_id)
    storage = {**described["StorageDescriptor"], "Location": aws_location(partition.location)}
    return {
        "Values": list(partition.values),
        "DatabaseName": table.database,
        "TableName": table.name,
        "StorageDescriptor": storage,
        "Parameters": {},
        "CatalogId": catalog_id,
    }


def partition_location(table: Table, values: tuple[str, ...]) -> str:
    """Where a partition's files lie: Hive's ``key=value`` folders under the table."""
    folders = "/".join(f"{k.name}={v}" for k, v in zip(table.partition_keys, values, strict=True))
    return f"{table.location.rstrip('/')}/{folders}"


def _columns(items: list[dict[str, Any]] | None, what: str) -> tuple[Column, ...]:
    columns = []
    for item in items or []:
        if not item.get("Type"):
            raise CatalogError(f"{what}: column {item.get('Name')!r} has no Type")
        columns.append(Column(item["Name"], str(item["Type"]).lower(), item.get("Comment")))
    return tuple(columns)


def format_of(table_input: dict[str, Any]) -> str:
    """The storage format a ``TableInput`` describes."""
    if table_input.get("TableType") == "VIRTUAL_VIEW":
        return ddl.VIEW
    parameters = table_input.get("Parameters") or {}
    storage = table_input.get("StorageDescriptor") or {}
    stated = str(parameters.get("classification", "")).lower()
    if stated in FORMATS:
        return stated
    serde = str((storage.get("SerdeInfo") or {}).get("SerializationLibrary", ""))
    input_format = str(storage.get("InputFormat", ""))
    for name in ("parquet", "orc", "avro"):
        if FORMATS[name][0] == input_format or FORMATS[name][2] == serde:
            return name
    if "json" in serde.lower():
        return "json"
    if serde == ddl.REGEX_SERDE:
        return ddl.REGEX
    if input_format == _TEXT[0] or serde:
        return "csv"
    raise CatalogError(
        f"table {table_input.get('Name')!r}: cannot tell its format",
        hint="give Parameters.classification (csv, json, parquet, orc, avro, delta …) "
        "or a StorageDescriptor with InputFormat and SerdeInfo.SerializationLibrary",
    )


def table_from_input(database: str, table_input: dict[str, Any]) -> Table:
    """A :class:`Table` from Glue's ``TableInput``."""
    name = str(table_input["Name"])
    what = f"table {database}.{name}"
    storage = table_input.get("StorageDescriptor") or {}
    kind = format_of(table_input)
    options = {
        str(k): str(v)
        for k, v in ((storage.get("SerdeInfo") or {}).get("Parameters") or {}).items()
        if k not in ("path", "serialization.format")
    }
    if _GLUE_SEPARATOR in options:
        options[_SPARK_SEPARATOR] = options.pop(_GLUE_SEPARATOR)
    location = (
        str(table_input.get("ViewOriginalText") or "")
        if kind == ddl.VIEW
        else hadoop_location(str(storage.get("Location") or ""))
    )
    if not location:
        raise CatalogError(
            f"{what}: no StorageDescriptor.Location",
            hint="give the table's location, e.g. s3://raw/sales/",
        )
    return Table(
        database=database,
        name=name,
        columns=_columns(storage.get("Columns"), what),
        location=location,
        format=kind,
        partition_keys=_columns(table_input.get("PartitionKeys"), what),
        parameters={str(k): str(v) for k, v in (table_input.get("Parameters") or {}).items()},
        options=options,
    )
