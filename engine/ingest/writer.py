"""Landing a batch: one Delta commit carrying the data and the bookmark, then the
catalog registration (the "re-crawl" of the landed table).

The order is what makes a killed run safe to rerun:

1. take the table's writer lock (one writer per Delta table) and pick the
   bookmark's ``seq`` (:class:`engine.lake.commit.BookmarkCommit`);
2. malformed records, when the run has a threshold, are quarantined and counted
   first, so a run past the threshold commits nothing;
3. the bookmark entry is written PENDING with ``seq`` = the next transaction
   version;
4. the Delta commit carries ``txnAppId``/``txnVersion = seq`` (and the run in its
   ``userMetadata``): the data and the bookmark land together or not at all;
5. the entry is marked COMMITTED (if the process dies before this, the next run
   sees ``seq`` in the table and marks it then);
6. malformed records of runs without a threshold are quarantined (replacing any
   earlier attempt's rows for the same ``seq``);
7. the table is registered in the catalog and its schema version recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from catalog.hive import HiveCatalog
from engine import storage
from engine.errors import JobError
from engine.ingest.evolution import plan_evolution
from engine.ingest.quality import check_batch
from engine.ingest.quarantine import QUARANTINE_DATABASE, quarantine_records, quarantine_table
from engine.ingest.sources import SourceBatch
from engine.ingest.spec import SinkSpec
from engine.lake.sink import Write, landed_columns
from engine.lake.sink import register as sink_register
from engine.quality.definitions import QualitySuite

if TYPE_CHECKING:
    from engine.ingest.context import JobContext


class BadRecordsError(JobError):
    """More malformed records than the job's threshold allows."""


def land(
    ctx: JobContext,
    batch: SourceBatch,
    df: Any,
    sink: SinkSpec,
    *,
    max_bad_records: int | None,
    lineage: bool,
    quality: QualitySuite | None = None,
) -> None:
    from engine.spark import lake  # deferred: pyspark (python jobs import this module)
    from engine.spark.transforms import add_lineage  # deferred: pyspark

    location = ctx.target_location(sink)
    run = ctx.run_record
    run.target = sink.qualified_name
    protocol = ctx.bookmark_commit(batch, location, sink.qualified_name)
    store, prefix = protocol.store, protocol.prefix
    checked = None
    try:
        seq = protocol.seq
        quarantined = 0
        if batch.may_have_corrupt and max_bad_records is not None:
            with ctx.step("quarantine malformed records"):
                quarantined = quarantine_records(ctx, batch, seq)
            if quarantined > max_bad_records:
                raise BadRecordsError(
                    f"{quarantined} malformed record(s) in {batch.described}, more than "
                    f"--max_bad_records {max_bad_records}: nothing was written to "
                    f"{sink.qualified_name}",
                    hint=f"see them in {QUARANTINE_DATABASE}.{quarantine_table(ctx.job_name)} "
                    "(reason and source file per record), fix the files or raise the threshold",
                    table=sink.qualified_name,
                )
        rejected = 0
        if quality is not None:
            from engine.spark.quality import persist  # deferred: pyspark

            with ctx.step(f"check quality suite {quality.name}"):
                checked = df = persist(df)  # scanned once per metric, then written
                df, rejected = check_batch(ctx, df, quality, sink.qualified_name, seq)
        if lineage:
            df = add_lineage(df, ctx.run_id, ctx.started)
        existing = landed_columns(store, prefix)
        add_columns = False
        if existing is not None:
            evolution = plan_evolution(sink.qualified_name, existing, lake.column_types(df))
            df = lake.cast_columns(df, evolution.casts)
            add_columns = bool(evolution.added)
        protocol.pending()
        with ctx.step(f"commit to {sink.qualified_name}"):
            commit = lake.SparkWriter().write(
                df,
                Write(
                    location,
                    mode=sink.mode,
                    partition_by=sink.partition_keys
                    or tuple(k for k in batch.partition_keys if k in df.columns),
                    merge_keys=sink.merge_keys,
                    txn=protocol.txn,
                    user_metadata=protocol.metadata(),
                    add_columns=add_columns,
                ),
            )
        with ctx.step("confirm bookmark"):
            protocol.confirm()
        read_rows = commit.rows_written + rejected
        if batch.observation is not None:
            observed = batch.observation.get
            read_rows = int(observed.get("rows") or 0)
            bad = int(observed.get("bad") or 0)
            if bad and max_bad_records is None:
                with ctx.step("quarantine malformed records"):
                    quarantined = quarantine_records(ctx, batch, seq)
        run.rows_read += read_rows
        run.rows_written += commit.rows_written
        run.rows_quarantined += quarantined + rejected
        run.delta_version = commit.version
        with ctx.step("record run metrics"):
            ctx.store.save_job_run(run)
        with ctx.step(f"register {sink.qualified_name}"):
            register(ctx, sink, location, store, prefix, ctx.catalog())
    finally:
        protocol.release()
        if checked is not None:
            checked.unpersist()
    print(
        f"job {ctx.job_name}: {commit.rows_written} row(s) from {batch.described} -> "
        f"{sink.qualified_name} ({commit.operation}, Delta version {commit.version}, "
        f"{location}); {read_rows} record(s) read = {commit.rows_written} written + "
        f"{quarantined} malformed + {rejected} failing quality"
    )


def register(
    ctx: JobContext,
    sink: SinkSpec,
    location: str,
    store: storage.ObjectStore,
    prefix: str,
    catalog: HiveCatalog | None,
) -> None:
    """Register the landed Delta table (idempotent; skipped without a catalog) and
    record its schema version."""
    table = sink_register(
        catalog,
        store,
        prefix,
        (sink.database, sink.table),
        location,
        {"UPDATED_BY_JOB": ctx.job_name},
    )
    ctx.store.add_table_version(table, ctx.run_id)
