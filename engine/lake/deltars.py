"""The delta-rs writer of the sink: Arrow tables to Delta without a JVM (python jobs).

Same meaning as the Spark writer (:mod:`engine.lake.sink`): a merge compares keys
null-safe (DataFusion ``IS NOT DISTINCT FROM``) and refuses a batch holding a key
twice; the commit carries ``txn`` and ``user_metadata``; ``add_columns`` merges the
schema (new columns added, columns the batch lacks left null).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from catalog.metastore import field_column
from catalog.model import Column
from engine import storage
from engine.config import Settings
from engine.errors import HeadwaterError
from engine.lake.merge import SHOWN_DUPLICATES, duplicate_keys_error, merge_condition
from engine.lake.sink import MERGE, OVERWRITE, Commit, Write


class DeltaRsWriter:
    """:class:`engine.lake.sink.TableWriter` for ``pyarrow.Table`` batches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def write(self, rows: pa.Table, request: Write) -> Commit:
        location = request.location
        if request.mode == MERGE:
            check_unique_keys(rows, request.merge_keys, location)
        uri, options = storage.delta_uri(self.settings, location)
        props = CommitProperties(
            custom_metadata={"userMetadata": json.dumps(dict(request.user_metadata), default=str)},
            app_transactions=[] if request.txn is None else [Transaction(*request.txn)],
        )
        with _errors(request):
            exists = DeltaTable.is_deltatable(uri, storage_options=options)
            if request.mode == MERGE and exists:
                metrics = (
                    DeltaTable(uri, storage_options=options)
                    .merge(
                        rows,
                        merge_condition(request.merge_keys, "datafusion"),
                        source_alias="s",
                        target_alias="t",
                        commit_properties=props,
                    )
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute()
                )
                written = int(metrics.get("num_target_rows_inserted", 0)) + int(
                    metrics.get("num_target_rows_updated", 0)
                )
                files = int(metrics.get("num_target_files_added", 0))
                operation = "MERGE"
            else:
                schema_mode: Literal["merge", "overwrite"] | None = None
                if exists and (request.add_columns or request.mode == MERGE):
                    schema_mode = "merge"
                if request.replace_schema:
                    schema_mode = "overwrite"
                common: dict[str, Any] = {
                    "partition_by": list(request.partition_by) or None,
                    "schema_mode": schema_mode,
                    "storage_options": options,
                    "commit_properties": props,
                }
                if request.mode == OVERWRITE:
                    write_deltalake(
                        uri, rows, mode="overwrite", predicate=request.replace_where, **common
                    )
                else:
                    write_deltalake(uri, rows, mode="append", **common)
                written, files = rows.num_rows, 0
                operation = "WRITE"
            version = DeltaTable(uri, storage_options=options).version()
        return Commit(version, written, files, operation)


def check_unique_keys(table: pa.Table, keys: tuple[str, ...], location: str) -> None:
    """Refuse a merge batch that holds a key on several rows (engine.lake.merge)."""
    counts = table.select(list(keys)).group_by(list(keys)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    if repeated.num_rows:
        rows = repeated.select(list(keys)).to_pylist()[:SHOWN_DUPLICATES]
        shown = [tuple(row[k] for k in keys) for row in rows]
        raise duplicate_keys_error(keys, shown, repeated.num_rows, location)


@contextlib.contextmanager
def _errors(request: Write) -> Iterator[None]:
    try:
        yield
    except HeadwaterError:
        raise
    except Exception as exc:  # delta-rs raises plain Exception too (a failed cast)
        raise request.error(
            f"writing the Delta table at {request.location} failed: {exc}", path=request.location
        ) from exc


def describe_delta(
    settings: Settings, location: str
) -> tuple[tuple[Column, ...], tuple[Column, ...], dict[str, str]] | None:
    """The Delta table at ``location`` as Spark's Delta catalog describes it: columns,
    partition keys, and its properties (the log's configuration, the protocol
    versions, ``delta.feature.<name>`` for each table feature); None when its log
    cannot be read."""
    from deltalake.exceptions import DeltaError

    uri, options = storage.delta_uri(settings, location)
    try:
        table = DeltaTable(uri, storage_options=options)
        schema = json.loads(table.schema().to_json())
        metadata = table.metadata()
        protocol = table.protocol()
    except (DeltaError, OSError):
        return None
    fields = [field_column(f) for f in schema.get("fields", [])]
    keys = list(metadata.partition_columns)
    by_name = {c.name: c for c in fields}
    properties = dict(metadata.configuration)
    properties["delta.minReaderVersion"] = str(protocol.min_reader_version)
    properties["delta.minWriterVersion"] = str(protocol.min_writer_version)
    for feature in {*(protocol.reader_features or ()), *(protocol.writer_features or ())}:
        properties[f"delta.feature.{feature}"] = "supported"
    return (
        tuple(c for c in fields if c.name not in keys),
        tuple(by_name[k] for k in keys if k in by_name),
        properties,
    )
