"""Delta table maintenance on Spark: compaction (OPTIMIZE) and retention (VACUUM)."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from engine.spark.lake import _session_conf

# Delta refuses a retention under 7 days unless told; headwater decides it (pins).
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
# VACUUM lists the table's folders in this many tasks: Spark's default, 10,000, made
# a vacuum of a small table take a minute on two cores (1.4 s with one task per core).
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def _path(location: str) -> str:
    return "delta.`" + location.replace("`", "``") + "`"


def file_count(spark: SparkSession, location: str) -> int:
    """Data files of the table's current version."""
    return int(DeltaTable.forPath(spark, location).detail().collect()[0]["numFiles"])


def optimize(spark: SparkSession, location: str) -> tuple[int, int]:
    """Compact the table's small files (bin-packing, per partition); the number of
    data files before and after."""
    before = file_count(spark, location)
    spark.sql(f"OPTIMIZE {_path(location)}").collect()
    return before, file_count(spark, location)


def vacuum(spark: SparkSession, location: str, hours: float, dry_run: bool) -> list[str]:
    """Delete files no version within ``hours`` references (or with ``dry_run`` only
    list them); the files deleted."""
    tasks = str(max(spark.sparkContext.defaultParallelism, 1))
    with _session_conf(spark, {RETENTION_CHECK: "false", LISTING_PARALLELISM: tasks}):
        listed = spark.sql(f"VACUUM {_path(location)} RETAIN {hours:g} HOURS DRY RUN").collect()
        files = [str(row[0]) for row in listed]
        if files and not dry_run:
            spark.sql(f"VACUUM {_path(location)} RETAIN {hours:g} HOURS").collect()
    return files
