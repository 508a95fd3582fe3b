"""Reading sources and writing Delta tables: the Spark edge of ingestion."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from engine.errors import JobError, SourceNotFoundError


@dataclass(frozen=True)
class DeltaCommit:
    version: int
    rows_written: int
    files_written: int


def read_table(spark: SparkSession, qualified_name: str) -> tuple[DataFrame, list[str]]:
    """A catalogued table and its partition columns."""
    database = qualified_name.partition(".")[0]
    try:
        df = spark.table(qualified_name)
        columns = spark.catalog.listColumns(qualified_name)
        partition_columns = [c.name for c in columns if c.isPartition]
    except AnalysisException as exc:
        raise SourceNotFoundError(
            f"source table {qualified_name} is not in the catalog",
            hint=f"crawl its files first (headwater crawl … --database {database})",
            table=qualified_name,
        ) from exc
    return df, partition_columns


def write_delta(
    df: DataFrame,
    location: str,
    *,
    partition_by: list[str],
    user_metadata: dict[str, Any],
) -> DeltaCommit:
    """Replace the Delta table at ``location`` with ``df`` in one atomic commit."""
    writer = (
        df.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("userMetadata", json.dumps(user_metadata, sort_keys=True))
    )
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    try:
        writer.save(location)
    except AnalysisException as exc:
        raise JobError(
            f"writing the Delta table at {location} failed: {exc}", path=location
        ) from exc
    spark = df.sparkSession
    last = DeltaTable.forPath(spark, location).history(1).collect()[0]
    metrics = last["operationMetrics"] or {}
    return DeltaCommit(
        version=int(last["version"]),
        rows_written=int(metrics.get("numOutputRows", 0)),
        files_written=int(metrics.get("numFiles", 0)),
    )
