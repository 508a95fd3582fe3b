"""The ingestion job: a catalogued source table -> a Delta table in the raw bucket.

One atomic Delta commit replaces the target (so a rerun never duplicates and a
failed run leaves the previous version intact), then the table is registered in
the ``raw`` database of the catalog. Bookmarks for incremental loads come next
(issue 4).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from catalog.hive import HiveCatalog
from catalog.model import Table
from engine.config import Settings
from engine.crawl.layout import table_name
from engine.errors import ConfigError
from engine.spark.lake import read_table, write_delta
from engine.spark.session import SparkSqlRunner

REQUIRED_ARGS = ("JOB_NAME", "source", "target")


@dataclass(frozen=True)
class IngestSpec:
    job_name: str
    source: str  # database.table
    target: str  # database.table

    @classmethod
    def from_options(cls, options: dict[str, str]) -> IngestSpec:
        for key in ("source", "target"):
            value = options[key]
            if value.count(".") != 1 or not all(value.split(".")):
                raise ConfigError(
                    f"--{key} {value!r} must be database.table",
                    hint="e.g. --source landing.sales --target raw.sales",
                    key=key,
                )
        return cls(options["JOB_NAME"], options["source"], options["target"])

    @property
    def target_database(self) -> str:
        return self.target.split(".")[0]

    @property
    def target_table(self) -> str:
        return table_name(self.target.split(".")[1])


@dataclass(frozen=True)
class IngestResult:
    run_id: str
    target: str
    location: str
    delta_version: int
    rows_written: int
    partition_by: tuple[str, ...]
    seconds: float


def run_ingest(settings: Settings, spark: Any, spec: IngestSpec) -> IngestResult:
    """Copy ``spec.source`` into a Delta table and register it as ``spec.target``."""
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:12]
    df, partition_by = read_table(spark, spec.source)
    location = f"{settings.bucket_uri(settings.buckets.raw)}/{spec.target_table}"
    commit = write_delta(
        df,
        location,
        partition_by=partition_by,
        user_metadata={"job": spec.job_name, "run_id": run_id, "source": spec.source},
    )
    catalog = HiveCatalog(SparkSqlRunner(spark))
    catalog.create_database(spec.target_database)
    catalog.create_table(
        Table(
            database=spec.target_database,
            name=spec.target_table,
            columns=(),
            location=location,
            # Delta keeps its own properties in its log (CREATE … TBLPROPERTIES must
            # match them); the job's name and run id are in the commit's userMetadata.
            format="delta",
        )
    )
    return IngestResult(
        run_id=run_id,
        target=f"{spec.target_database}.{spec.target_table}",
        location=location,
        delta_version=commit.version,
        rows_written=commit.rows_written,
        partition_by=tuple(partition_by),
        seconds=time.monotonic() - started,
    )
