"""Python shell jobs: new files read with pyarrow, landed with delta-rs — no Spark,
the same bookmark protocol as Spark jobs (the Delta commit carries the app
transaction), for data small enough for one process.

```python
def body(ctx: JobContext) -> None:
    batch = read_new_files(ctx, parse_source(ctx.args))
    if batch.table is not None:
        batch.table = batch.table.filter(pc.field("amount") > 0)
    write_table(ctx, batch, SinkSpec("raw", "payments"))
```
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pj
import pyarrow.parquet as pq

from engine import storage
from engine.catalogs import open_catalog
from engine.config import Settings
from engine.errors import ConfigError, JobError
from engine.ingest.context import JobContext, default_location
from engine.ingest.evolution import plan_evolution
from engine.ingest.sources import list_files, path_uri
from engine.ingest.spec import PATH, SinkSpec, SourceSpec
from engine.ingest.writer import register
from engine.lake.deltars import DeltaRsWriter
from engine.lake.sink import Write, landed_columns
from engine.lake.types import catalog_type
from engine.state import bookmarks as bm
from engine.state.store import now
from engine.vocabulary import BookmarkOption

ARROW_FORMATS = ("csv", "json", "parquet")


@dataclass
class ArrowBatch:
    """What a python job read: the rows (None when nothing is new) and the files."""

    table: pa.Table | None
    described: str
    files: tuple[bm.FileMark, ...] = ()
    high_water: bm.HighWater | None = None
    context: str = "source"
    bytes_read: int = 0


def _parse(fmt: str, data: bytes, options: dict[str, str]) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data))
    if fmt == "json":
        return pj.read_json(io.BytesIO(data))
    delimiter = options.get("sep", options.get("delimiter", ","))
    return pcsv.read_csv(io.BytesIO(data), parse_options=pcsv.ParseOptions(delimiter=delimiter))


def read_new_files(
    ctx: JobContext, source: SourceSpec, transformation_ctx: str = "source"
) -> ArrowBatch:
    """The files under a path source the bookmark has not seen, as one Arrow table
    with ``_source_file``."""
    if source.kind != PATH or source.format not in ARROW_FORMATS:
        raise ConfigError(
            f"a python job reads a path source in {', '.join(ARROW_FORMATS)} "
            f"(got {source.described})",
            hint="e.g. --source s3://landing/payments/ --format csv; use a spark job otherwise",
            key="source",
        )
    with ctx.step(f"read {source.described}"):
        bookmarked = ctx.bookmark_option != BookmarkOption.DISABLE
        state = ctx.bookmark_state(transformation_ctx) if bookmarked else bm.BookmarkState()
        ctx.record_dead_runs()  # no quarantine to redo: python jobs fail on bad records
        base = path_uri(ctx.settings, source.name)
        listed = list(list_files(ctx.settings, base).values())
        if not listed:
            raise JobError(f"no files under {source.name} ({base})", path=source.name)
        selection = bm.select_files(listed, state)
        chosen = [*selection.new, *selection.changed]
        tables = []
        for mark in chosen:
            store, key = storage.locate(ctx.settings, mark.path)
            try:
                part = _parse(str(source.format), store.read(key), dict(source.options))
            except pa.ArrowInvalid as exc:
                raise JobError(
                    f"{mark.path} is not valid {source.format}: {exc}",
                    hint="fix or move the file (python jobs do not quarantine records)",
                    path=mark.path,
                ) from exc
            tables.append(part.append_column("_source_file", pa.array([mark.path] * part.num_rows)))
        table = pa.concat_tables(tables, promote_options="permissive") if tables else None
        batch = ArrowBatch(
            table,
            source.described,
            tuple(chosen),
            context=transformation_ctx,
            bytes_read=sum(m.size for m in chosen),
        )
        ctx.run_record.source = source.described
        ctx.run_record.files_read += len(chosen)
        ctx.run_record.bytes_read += batch.bytes_read
        ctx.run_record.rows_read += 0 if table is None else table.num_rows
        return batch


def hive_type(name: str, arrow_type: pa.DataType) -> str:
    """A batch column's type in the catalog's words (as delta-rs writes it: a naive
    timestamp is ``timestamp_ntz``), for the schema evolution rules."""
    found = catalog_type(arrow_type, "timestamp_ntz")
    if found is None:
        raise JobError(
            f"column {name} has type {arrow_type}, which a Delta table cannot hold",
            hint="cast it in the source, or run the job as a spark job",
            column=name,
        )
    return found


def write_table(ctx: JobContext, batch: ArrowBatch, sink: SinkSpec, lineage: bool = True) -> None:
    """Land ``batch.table`` in ``sink`` with the bookmark in the same commit."""
    if ctx.args.get("quality"):
        raise ConfigError(
            f"job {ctx.job_name}: --quality suites are checked by spark jobs, not python "
            "shell jobs",
            hint="run the batch through jobs/ingest.py (type: spark) to check it",
            key="quality",
        )
    location = default_location(ctx.settings, sink)
    if batch.table is None:
        print(f"job {ctx.job_name}: nothing new in {batch.described}")
        catalog = _catalog(ctx.settings)
        if catalog is not None and not catalog.has_table(sink.database, sink.table):
            store, prefix = storage.locate(ctx.settings, location)
            if landed_columns(store, prefix) is not None:  # a run died after its commit
                register(ctx, sink, location, store, prefix, catalog)
        return
    ctx.run_record.target = sink.qualified_name
    table = batch.table
    if lineage:
        table = table.append_column(
            "_ingested_at", pa.array([ctx.started] * table.num_rows, pa.timestamp("us", "UTC"))
        ).append_column("_run_id", pa.array([ctx.run_id] * table.num_rows))
    protocol = ctx.bookmark_commit(batch, location, sink.qualified_name)
    store, prefix = protocol.store, protocol.prefix
    try:
        existing = landed_columns(store, prefix)
        if existing is not None:  # fails on an incompatible change, before writing
            incoming = [(f.name, hive_type(f.name, f.type)) for f in table.schema]
            plan_evolution(sink.qualified_name, existing, incoming)
        request = Write(
            location,
            mode=sink.mode,
            partition_by=sink.partition_keys,
            merge_keys=sink.merge_keys,
            txn=protocol.txn,
            user_metadata=protocol.metadata(),
            add_columns=existing is not None,
        )
        protocol.pending()
        with ctx.step(f"commit to {sink.qualified_name}"):
            commit = DeltaRsWriter(ctx.settings).write(table, request)
        with ctx.step("confirm bookmark"):
            protocol.confirm()
        run = ctx.run_record
        run.rows_written += commit.rows_written
        run.delta_version = commit.version
        with ctx.step("record run metrics"):
            ctx.store.save_job_run(run)
        with ctx.step(f"register {sink.qualified_name}"):
            register(ctx, sink, location, store, prefix, _catalog(ctx.settings))
    finally:
        protocol.release()
    print(
        f"job {ctx.job_name}: {commit.rows_written} row(s) from {batch.described} -> "
        f"{sink.qualified_name} (Delta version {commit.version}, {location}) at {now()}"
    )


def _catalog(settings: Settings) -> Any:
    """The catalog without a JVM: the metastore's API (local: the local metastore
    service) and the Thrift Server (stack) for what needs SQL."""
    return open_catalog(settings)
