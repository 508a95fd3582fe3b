"""Landing a batch: one Delta commit carrying the data and the bookmark, then the
catalog registration (the "re-crawl" of the landed table).

The order is what makes a killed run safe to rerun:

1. take the table's writer lock (one writer per Delta table);
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
from catalog.model import Table
from engine import storage
from engine.errors import JobError
from engine.ingest.evolution import plan_evolution
from engine.ingest.sources import SourceBatch
from engine.ingest.spec import SinkSpec
from engine.lake.log import read_delta_schema, read_txn_version
from engine.quality.definitions import QualitySuite
from engine.state import bookmarks as bm
from engine.state.store import now
from engine.vocabulary import BookmarkKind, BookmarkOption, BookmarkStatus

if TYPE_CHECKING:
    from engine.ingest.context import JobContext

QUARANTINE_DATABASE = "quarantine"
REASONS = {
    "csv": "malformed CSV record: wrong number of fields, or a value that does not fit its "
    "column's type",
    "json": "malformed JSON record: not valid JSON, or a value that does not fit its column's type",
}


class BadRecordsError(JobError):
    """More malformed records than the job's threshold allows."""


class BookmarkCommit:
    """Steps 1, 3 and 5 of the protocol around a caller's Delta commit (any writer):
    ``begin`` locks the table and picks ``seq``; ``pending`` records the entry right
    before the commit; ``confirm`` checks the table recorded ``seq`` and marks it
    COMMITTED; ``release`` unlocks. ``seq`` is None when the run advances no bookmark."""

    def __init__(self, ctx: JobContext, batch: Any, location: str, table: str) -> None:
        self.ctx, self.batch, self.location, self.table = ctx, batch, location, table
        self.store, self.prefix = storage.locate(ctx.settings, location)
        self.app = bm.app_id(ctx.job_name, batch.context)
        self.seq: int | None = None

    def begin(self) -> BookmarkCommit:
        ctx = self.ctx
        ctx.store.lock_table(self.location, ctx.run_id, now())
        if ctx.bookmark_option == BookmarkOption.ENABLE and (
            self.batch.files or self.batch.high_water
        ):
            entries = ctx.store.bookmark_entries(ctx.job_name, self.batch.context)
            self.seq = bm.next_seq(entries, read_txn_version(self.store, self.prefix, self.app))
        return self

    @property
    def txn(self) -> tuple[str, int] | None:
        return None if self.seq is None else (self.app, self.seq)

    def metadata(self) -> dict[str, Any]:
        """The commit's ``userMetadata``: the job, run, source and bookmark."""
        batch = self.batch
        return {
            "job": self.ctx.job_name,
            "run_id": self.ctx.run_id,
            "source": batch.described,
            "bookmark": {
                "context": batch.context,
                "seq": self.seq,
                "files": len(batch.files),
                "high_water": list(batch.high_water.values) if batch.high_water else None,
            },
        }

    def pending(self) -> None:
        if self.seq is None:
            return
        batch, ctx = self.batch, self.ctx
        entry = bm.BookmarkEntry(
            self.seq,
            BookmarkKind.DATA,
            BookmarkStatus.PENDING,
            ctx.run_id,
            now(),
            files=batch.files,
            high_water=batch.high_water,
            target=self.location,
        )
        ctx.store.put_bookmark_entry(ctx.job_name, batch.context, entry)

    def confirm(self) -> None:
        if self.seq is None:
            return
        recorded = read_txn_version(self.store, self.prefix, self.app)
        if recorded != self.seq:
            raise JobError(
                f"{self.table}: Delta recorded transaction {recorded} for {self.app}, not this "
                f"run's {self.seq}: another writer committed the same bookmark",
                hint="run one instance of the job at a time (max_concurrent_runs: 1)",
                table=self.table,
            )
        self.ctx.store.set_bookmark_status(
            self.ctx.job_name, self.batch.context, self.seq, BookmarkStatus.COMMITTED
        )

    def release(self) -> None:
        self.ctx.store.unlock_table(self.location, self.ctx.run_id)


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
    from engine.spark import lake
    from engine.spark.transforms import add_lineage

    location = ctx.target_location(sink)
    run = ctx.run_record
    run.target = sink.qualified_name
    protocol = BookmarkCommit(ctx, batch, location, sink.qualified_name).begin()
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
            from engine.ingest.quality import check_batch
            from engine.spark.quality import persist

            with ctx.step(f"check quality suite {quality.name}"):
                checked = df = persist(df)  # scanned once per metric, then written
                df, rejected = check_batch(ctx, df, quality, sink.qualified_name, seq)
        if lineage:
            df = add_lineage(df, ctx.run_id, ctx.started)
        existing = existing_columns(store, prefix)
        add_columns = False
        if existing is not None:
            evolution = plan_evolution(sink.qualified_name, existing, lake.column_types(df))
            df = lake.cast_columns(df, evolution.casts)
            add_columns = bool(evolution.added)
        protocol.pending()
        with ctx.step(f"commit to {sink.qualified_name}"):
            commit = lake.write_delta(
                df,
                location,
                mode=sink.mode,
                partition_by=sink.partition_keys
                or tuple(k for k in batch.partition_keys if k in df.columns),
                merge_keys=sink.merge_keys,
                txn=protocol.txn,
                user_metadata=protocol.metadata(),
                add_columns=add_columns,
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


def existing_columns(store: storage.ObjectStore, prefix: str) -> list[tuple[str, str]] | None:
    log = tuple(store.list(f"{prefix.rstrip('/')}/_delta_log/".lstrip("/")))
    if not log:
        return None
    found = read_delta_schema(store, prefix, log)
    return [(c.name, c.type) for c in found.columns]


def quarantine_table(job: str) -> str:
    """The job's quarantine table name (its name with non-alphanumerics as ``_``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in job.lower())


def quarantine_records(ctx: JobContext, batch: SourceBatch, seq: int | None) -> int:
    """Write the batch's malformed records (record, reason, source file, run, seq) to
    the job's quarantine table; an earlier attempt's rows for ``seq`` are replaced."""
    from engine.spark import lake
    from engine.spark.transforms import SOURCE_FILE

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
    commit = lake.write_delta(
        bad,
        location,
        mode="overwrite" if replace else "append",
        partition_by=(),
        user_metadata={"job": ctx.job_name, "run_id": ctx.run_id, "quarantine": True},
        replace_where=replace,
    )
    catalog = ctx.catalog()
    catalog.create_database(QUARANTINE_DATABASE)
    catalog.create_table(
        Table(
            database=QUARANTINE_DATABASE, name=name, columns=(), location=location, format="delta"
        )
    )
    return commit.rows_written


def register(
    ctx: JobContext,
    sink: SinkSpec,
    location: str,
    store: storage.ObjectStore,
    prefix: str,
    catalog: HiveCatalog | None,
) -> None:
    """Register the Delta table (idempotent; skipped without a catalog) and record its
    schema version."""
    if catalog is None:
        return _record_version(ctx, sink, location, store, prefix)
    catalog.create_database(sink.database)
    catalog.create_table(
        Table(
            database=sink.database, name=sink.table, columns=(), location=location, format="delta"
        )
    )
    return _record_version(ctx, sink, location, store, prefix)


def _record_version(
    ctx: JobContext, sink: SinkSpec, location: str, store: storage.ObjectStore, prefix: str
) -> None:
    log = tuple(store.list(f"{prefix.rstrip('/')}/_delta_log/".lstrip("/")))
    found = read_delta_schema(store, prefix, log)
    keys = set(found.partition_columns)
    by_name = {c.name: c for c in found.columns}
    ctx.store.add_table_version(
        Table(
            database=sink.database,
            name=sink.table,
            columns=tuple(c for c in found.columns if c.name not in keys),
            location=location,
            format="delta",
            partition_keys=tuple(by_name[k] for k in found.partition_columns if k in by_name),
            parameters={"classification": "delta", "UPDATED_BY_JOB": ctx.job_name},
        ),
        ctx.run_id,
    )
