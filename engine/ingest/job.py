"""The generic ingestion job: a source (catalog table, path or JDBC table) -> mapped
columns -> a Delta table in the raw bucket, bookmarked. ``jobs/ingest.py`` runs it;
its arguments are documented in :mod:`engine.ingest.spec` and docs/jobs.md.
"""

from __future__ import annotations

from engine.ingest.context import JobContext
from engine.ingest.spec import parse_spec

REQUIRED_ARGS = ("target",)


def ingest(ctx: JobContext) -> None:
    """Read what is new, set malformed records aside, map, land and register."""
    with ctx.step("parse arguments"):
        spec = parse_spec(ctx.args)
    batch = ctx.read(spec.source, quarantine=spec.quarantine)
    df = ctx.good_rows(batch)
    if df is not None and (spec.choices or spec.mapping):
        from engine.spark.transforms import apply_mapping, resolve_choice

        with ctx.step("map columns"):
            # Glue's order: ApplyMapping, then ResolveChoice on the mapped names
            df = apply_mapping(df, spec.mapping, spec.source.described)
            df = resolve_choice(df, spec.choices, spec.source.described)
    ctx.write(batch, df, spec.sink, max_bad_records=spec.max_bad_records, lineage=spec.lineage)
