"""Reading a Delta table's ``_delta_log`` without Spark: the sink's memory (issue 17).

The newest ``metaData`` action holds the schema (Spark's JSON schema) and the
partition columns. Commits are read newest first, down to the newest checkpoint;
only when none of them changed the metadata is the checkpoint itself read (its
Parquet through pyarrow, or a V2 checkpoint's JSON). Nothing is written.

The same walk finds the newest ``txn`` action of an application (a job bookmark's or
a replication batch's ``txnAppId``): the transaction version the table has recorded
for it, and the commit that recorded it (what a killed run's record is healed from).
Used by jobs, python jobs and replication to commit exactly once, and by the crawler
for a Delta table's schema.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

from catalog.metastore import spark_type_name
from catalog.model import Column
from engine.errors import CrawlError
from engine.storage import ObjectInfo, ObjectStore

_COMMIT = re.compile(r"(\d{20})\.json$")
# classic, multi-part (.k.n) and V2 (.<uuid>, Parquet or JSON) checkpoints
_CHECKPOINT = re.compile(r"(\d{20})\.checkpoint(\.\d+\.\d+|\.[0-9a-f-]{36})?\.(parquet|json)$")


@dataclass(frozen=True)
class DeltaSchema:
    columns: tuple[Column, ...]
    partition_columns: tuple[str, ...]
    version: int
    files_read: int


def read_delta_schema(store: ObjectStore, root: str, log: tuple[ObjectInfo, ...]) -> DeltaSchema:
    """The current schema of the Delta table at ``root`` (``log``: its log objects)."""
    commits = sorted(
        ((int(m.group(1)), o) for o in log if (m := _COMMIT.search(o.key))), reverse=True
    )
    checkpoints = sorted(
        ((int(m.group(1)), o) for o in log if (m := _CHECKPOINT.search(o.key))),
        key=lambda pair: pair[0],
    )
    newest_checkpoint = checkpoints[-1][0] if checkpoints else -1
    latest = max([v for v, _ in commits] + [newest_checkpoint])
    if latest < 0:
        raise CrawlError(
            f"{store.uri(root)}: a _delta_log without commits or checkpoints",
            hint="is a writer still creating the table? crawl again when it has committed",
        )
    files = 0
    for version, obj in commits:
        if version < newest_checkpoint:
            break
        text = store.read(obj.key, 0, obj.size)
        files += 1
        for line in text.decode("utf-8").splitlines():
            if '"metaData"' in line:
                action = json.loads(line).get("metaData")
                if action:
                    return _schema(action, latest, files)
    if checkpoints:
        part_version = newest_checkpoint
        for version, obj in checkpoints:
            if version != part_version:
                continue
            data = store.read(obj.key, 0, obj.size)
            files += 1
            action = _checkpoint_metadata(data)
            if action:
                return _schema(action, latest, files)
    raise CrawlError(
        f"{store.uri(root)}: no metaData action in the _delta_log (version {latest})",
        hint="the log is incomplete; check the table with Spark: DESCRIBE DETAIL delta.`<path>`",
    )


def read_txn_version(store: ObjectStore, root: str, app_id: str) -> int | None:
    """The newest ``txnVersion`` the Delta table at ``root`` recorded for ``app_id``
    (None: no such transaction, or no table yet). Checkpoints keep the newest ``txn``
    per application, so this survives log clean-up."""
    log = tuple(store.list(f"{root.rstrip('/')}/_delta_log/".lstrip("/")))
    commits = sorted(
        ((int(m.group(1)), o) for o in log if (m := _COMMIT.search(o.key))), reverse=True
    )
    checkpoints = [(int(m.group(1)), o) for o in log if (m := _CHECKPOINT.search(o.key))]
    newest_checkpoint = max((v for v, _ in checkpoints), default=-1)
    needle = json.dumps(app_id)
    for version, obj in commits:
        if version <= newest_checkpoint:
            break
        for line in store.read(obj.key, 0, obj.size).decode("utf-8").splitlines():
            if '"txn"' in line and needle in line:
                action = json.loads(line).get("txn")
                if action and action.get("appId") == app_id:
                    return int(action["version"])
    for version, obj in checkpoints:
        if version == newest_checkpoint:
            found = _checkpoint_txn(store.read(obj.key, 0, obj.size), app_id)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class TxnCommit:
    """The Delta commit that recorded one transaction of an application."""

    version: int
    operation: str
    metrics: dict[str, str]
    user_metadata: dict[str, Any]

    @property
    def rows_written(self) -> int:
        metrics = self.metrics
        if self.operation == "MERGE":  # numOutputRows there counts copied rows too
            inserted = metrics.get("numTargetRowsInserted", metrics.get("num_target_rows_inserted"))
            updated = metrics.get("numTargetRowsUpdated", metrics.get("num_target_rows_updated"))
            return int(inserted or 0) + int(updated or 0)
        # Spark names it numOutputRows, delta-rs num_added_rows
        return int(metrics.get("numOutputRows", metrics.get("num_added_rows", 0)))


def find_txn_commit(store: ObjectStore, root: str, app_id: str, txn: int) -> TxnCommit | None:
    """The commit whose ``txn`` action is ``app_id`` at ``txn`` (None when the table
    has no such commit file left: not committed, or its log was cleaned up)."""
    log = tuple(store.list(f"{root.rstrip('/')}/_delta_log/".lstrip("/")))
    commits = sorted(
        ((int(m.group(1)), o) for o in log if (m := _COMMIT.search(o.key))), reverse=True
    )
    needle = json.dumps(app_id)
    for version, obj in commits:
        text = store.read(obj.key, 0, obj.size).decode("utf-8")
        if needle not in text:
            continue
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
        txns = [a["txn"] for a in actions if "txn" in a]
        if not any(t.get("appId") == app_id for t in txns):
            continue
        if not any(t.get("appId") == app_id and int(t["version"]) == txn for t in txns):
            return None  # the application's newest commit is another transaction
        info: dict[str, Any] = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        try:
            metadata = json.loads(info.get("userMetadata") or "{}")
        except ValueError:
            metadata = {}
        return TxnCommit(
            version=version,
            operation=str(info.get("operation", "")),
            metrics={k: str(v) for k, v in (info.get("operationMetrics") or {}).items()},
            user_metadata=metadata if isinstance(metadata, dict) else {},
        )
    return None


def _checkpoint_txn(data: bytes, app_id: str) -> int | None:
    if not data.startswith(b"PAR1"):
        for line in data.decode("utf-8").splitlines():
            action = json.loads(line).get("txn") if '"txn"' in line else None
            if action and action.get("appId") == app_id:
                return int(action["version"])
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data), columns=["txn"])
    for row in table.column("txn").to_pylist():
        if row and row.get("appId") == app_id:
            return int(row["version"])
    return None


def _checkpoint_metadata(data: bytes) -> dict[str, Any] | None:
    if not data.startswith(b"PAR1"):  # a V2 checkpoint in JSON: actions, one per line
        for line in data.decode("utf-8").splitlines():
            if '"metaData"' in line and (action := json.loads(line).get("metaData")):
                return dict(action)
        return None
    import pyarrow.parquet as pq  # only for checkpoints; pyarrow comes with pyspark's pandas

    table = pq.read_table(io.BytesIO(data), columns=["metaData"])
    for row in table.column("metaData").to_pylist():
        if row:
            return dict(row)
    return None


def _schema(action: dict[str, Any], version: int, files: int) -> DeltaSchema:
    schema = json.loads(action["schemaString"])
    columns = tuple(
        Column(f["name"], spark_type_name(f["type"]), (f.get("metadata") or {}).get("comment"))
        for f in schema["fields"]
    )
    return DeltaSchema(columns, tuple(action.get("partitionColumns") or ()), version, files)
