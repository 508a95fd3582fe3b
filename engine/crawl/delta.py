"""A Delta table found by a crawl: its catalog entry, from its log (engine.lake.log).

The crawler registers it with ``USING DELTA LOCATION``; Delta keeps owning its log and
properties.
"""

from __future__ import annotations

from catalog.ddl import DELTA
from catalog.model import Table
from engine.crawl.layout import TableLayout
from engine.lake.log import DeltaSchema, read_delta_schema
from engine.storage import ObjectStore


def delta_table(
    store: ObjectStore, layout: TableLayout, database: str, run_id: str
) -> tuple[Table, DeltaSchema]:
    """The catalog entry of a Delta table found by the crawl (its log is the schema)."""
    found = read_delta_schema(store, layout.prefix, layout.delta_log)
    keys = set(found.partition_columns)
    by_name = {c.name: c for c in found.columns}
    files = layout.files
    table = Table(
        database=database,
        name=layout.name,
        columns=tuple(c for c in found.columns if c.name not in keys),
        location=store.uri(layout.prefix.rstrip("/")),
        format=DELTA,
        partition_keys=tuple(by_name[k] for k in found.partition_columns if k in by_name),
        # Shown by --plan and kept in the schema history; not written to the metastore
        # (Delta owns its table properties, see catalog.ddl).
        parameters={
            "classification": "delta",
            "deltaVersion": str(found.version),
            "sizeKey": str(sum(f.size for f in files)),
            "objectCount": str(len(files)),
            "UPDATED_BY_CRAWLER": "headwater",
            "CRAWL_RUN_ID": run_id,
        },
    )
    return table, found
