"""Malformed records set aside: the job's quarantine table, one row per record with
the reason, the source file, the run and the bookmark ``seq`` it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import storage
from engine.ingest.sources import SourceBatch
from engine.lake.sink import APPEND, OVERWRITE, Write, register

if TYPE_CHECKING:
    from engine.ingest.context import JobContext

QUARANTINE_DATABASE = "quarantine"
REASONS = {
    "csv": "malformed CSV record: wrong number of fields, or a value that does not fit its "
    "column's type",
    "json": "malformed JSON record: not valid JSON, or a value that does not fit its column's type",
    "regex": "malformed log line: the log pattern does not match it, or a value does not parse",
}


def quarantine_table(job: str) -> str:
    """The job's quarantine table name (its name with non-alphanumerics as ``_``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in job.lower())


def quarantine_records(ctx: JobContext, batch: SourceBatch, seq: int | None) -> int:
    """Write the batch's malformed records (record, reason, source file, run, seq) to
    the job's quarantine table; an earlier attempt's rows for ``seq`` are replaced."""
    from engine.spark import lake  # deferred: pyspark (python jobs import this package)
    from engine.spark.transforms import SOURCE_FILE  # deferred: pyspark

    name = quarantine_table(ctx.job_name)
    location = f"{ctx.settings.bucket_uri(ctx.settings.buckets.raw)}/_quarantine/{name}"
    values = {
        "run_id": ctx.run_id,
        "context": batch.context,
        "seq": -1 if seq is None else seq,
        "quarantined_at": ctx.started,
    }
    bad = lake.corrupt_rows(
        batch.df, REASONS.get(batch.format, REASONS["csv"]), SOURCE_FILE, values
    )
    replace = None if seq is None else f"context = '{batch.context}' AND seq = {seq}"
    commit = lake.SparkWriter().write(
        bad,
        Write(
            location,
            mode=OVERWRITE if replace else APPEND,
            user_metadata={"job": ctx.job_name, "run_id": ctx.run_id, "quarantine": True},
            replace_where=replace,
        ),
    )
    store, prefix = storage.locate(ctx.settings, location)
    register(ctx.catalog(), store, prefix, (QUARANTINE_DATABASE, name), location, {})
    return commit.rows_written
