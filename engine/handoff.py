"""The hand-off to ML code: read a landed table by its catalog name, at the latest or
a pinned Delta version (or timestamp), into pandas, pyarrow or Spark; and pin what a
training run read in a manifest that reads back to the same rows.

```python
from engine import handoff

frame = handoff.read_table("raw.sales", version=3, columns=["order_id", "amount"],
                           partitions=[("dt", ">=", "2026-01-02")])
manifest = handoff.snapshot("raw.sales")          # store manifest.to_json() with the model
same = handoff.read_snapshot(manifest)            # exactly those rows, later
```

pandas and pyarrow reads go through delta-rs (no JVM); ``engine="spark"`` reads with
the session factory. The table is found through the catalog (the Thrift Server in
the stack profile).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from catalog.cli import split_name
from engine.catalogs import open_catalog
from engine.config import Settings, load_settings
from engine.errors import HeadwaterError
from engine.state.pins import Pin
from engine.state.store import open_run_store
from engine.storage import delta_uri

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

    from catalog.model import Table

Engine = Literal["pandas", "arrow", "spark"]
PartitionFilter = list[tuple[str, str, Any]]
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")
MANIFEST_FORMAT = "headwater.snapshot/1"


class HandoffError(HeadwaterError):
    """A table, version or manifest could not be read as asked. Terminal."""


@dataclass(frozen=True)
class TableSnapshot:
    """What a training run read: enough to read exactly the same rows again."""

    table: str
    location: str
    version: int
    timestamp: str  # when that version was committed
    schema: list[dict[str, str]]
    row_count: int
    files: list[dict[str, Any]]  # path (relative to the table), size
    checksum: str  # sha256 over the version's files and sizes
    created_at: str
    format: str = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TableSnapshot:
        values = json.loads(text)
        if values.get("format") != MANIFEST_FORMAT:
            raise HandoffError(
                f"not a headwater snapshot manifest (format {values.get('format')!r})",
                hint="write one with `headwater snapshot DB.TABLE`",
            )
        return cls(**values)


def _locate(settings: Settings, name: str) -> Table:
    table = open_catalog(settings).get_table(*split_name(name))
    if table.format != "delta":
        raise HandoffError(
            f"{name} is a {table.format} table; pinned reads need a Delta table",
            hint="ingest it into the raw bucket first: headwater job run …",
            table=name,
        )
    return table


def open_delta(
    name: str,
    *,
    version: int | None = None,
    timestamp: datetime | str | None = None,
    settings: Settings | None = None,
) -> tuple[DeltaTable, Table]:
    """The catalog table ``name`` as a delta-rs table at ``version``/``timestamp``."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    settings = settings or load_settings()
    table = _locate(settings, name)
    uri, options = delta_uri(settings, table.location)
    try:
        delta = DeltaTable(uri, storage_options=options)
        latest = delta.version()
        if version is not None:
            if not 0 <= version <= latest:
                raise HandoffError(
                    f"{name} has no version {version} (versions 0-{latest})",
                    hint=f"see them: headwater catalog history {name}",
                    table=name,
                )
            delta.load_as_version(version)
        elif timestamp is not None:
            delta.load_as_version(timestamp)
    except DeltaError as exc:
        raise HandoffError(f"cannot read {name} at {table.location}: {exc}", table=name) from exc
    return delta, table


def _check_filter(partitions: PartitionFilter | None, keys: list[str], name: str) -> None:
    for column, operator, _ in partitions or []:
        if column not in keys:
            raise HandoffError(
                f"{name}: {column!r} is not a partition column (partition columns: "
                f"{', '.join(keys) or 'none'})",
                hint="filter other columns after reading",
            )
        if operator not in OPERATORS:
            raise HandoffError(f"{name}: operator {operator!r} is not one of {OPERATORS}")


def read_table(
    name: str,
    *,
    version: int | None = None,
    timestamp: datetime | str | None = None,
    columns: list[str] | None = None,
    partitions: PartitionFilter | None = None,
    engine: Engine = "pandas",
    settings: Settings | None = None,
) -> Any:
    """Read catalog table ``name`` (``database.table``).

    Args:
        version: a Delta version (default: the latest); or ``timestamp``: the
            version current at that time.
        columns: the columns to read (default: all).
        partitions: ``[(column, op, value), …]`` over partition columns, ANDed;
            ops ``= != < <= > >= in not in``.
        engine: ``pandas`` (a DataFrame), ``arrow`` (a pyarrow Table) or ``spark``.
    """
    settings = settings or load_settings()
    delta, table = open_delta(name, version=version, timestamp=timestamp, settings=settings)
    return _read(delta, table, columns, partitions, engine, settings)


def _read(
    delta: DeltaTable,
    table: Table,
    columns: list[str] | None,
    partitions: PartitionFilter | None,
    engine: Engine,
    settings: Settings,
) -> Any:
    _check_filter(partitions, list(delta.metadata().partition_columns), table.qualified_name)
    if engine == "spark":
        from engine.spark.lake import read_delta_version
        from engine.spark.session import build_session

        spark = build_session(settings, app_name="headwater-handoff")
        return read_delta_version(spark, table.location, delta.version(), columns, partitions or [])
    data = _query(delta, columns, partitions, table.qualified_name)
    return data if engine == "arrow" else data.to_pandas()


def _query(
    delta: DeltaTable, columns: list[str] | None, partitions: PartitionFilter | None, name: str
) -> pa.Table:
    """The rows, read by delta-rs's own engine (DataFusion) into a pyarrow Table.

    Not ``DeltaTable.to_pyarrow_table``: its pyarrow scan calls delta-rs's S3 handler
    from pyarrow's I/O threads, and the interpreter then aborts at exit ("terminate
    called without an active exception", exit 134) in about one run in ten."""
    import pyarrow as pa
    from deltalake import QueryBuilder
    from deltalake.exceptions import DeltaError

    select = ", ".join(_identifier(c) for c in columns) if columns else "*"
    where = " AND ".join(_condition(*f) for f in partitions or [])
    sql = f"SELECT {select} FROM snapshot" + (f" WHERE {where}" if where else "")
    try:
        found = pa.table(QueryBuilder().register("snapshot", delta).execute(sql).read_all())
    except DeltaError as exc:
        raise HandoffError(f"cannot read {name}: {str(exc).strip()[:500]}", table=name) from exc
    return found.cast(pa.schema([f.with_type(_plain(f.type)) for f in found.schema]))


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _condition(column: str, operator: str, value: Any) -> str:
    if operator in ("in", "not in"):
        values = ", ".join(_literal(v) for v in value)
        return f"{_identifier(column)} {operator.upper()} ({values})"
    return f"{_identifier(column)} {'<>' if operator == '!=' else operator} {_literal(value)}"


def _plain(kind: pa.DataType) -> pa.DataType:
    """Arrow's view types (DataFusion's strings) as the plain ones pandas and most
    readers expect, at any depth."""
    import pyarrow as pa

    if kind == pa.string_view() or kind == pa.large_string():
        return pa.string()
    if kind == pa.binary_view() or kind == pa.large_binary():
        return pa.binary()
    if isinstance(kind, pa.ListType | pa.LargeListType | pa.ListViewType):
        return pa.list_(kind.value_field.with_type(_plain(kind.value_type)))
    if isinstance(kind, pa.MapType):
        return pa.map_(_plain(kind.key_type), kind.item_field.with_type(_plain(kind.item_type)))
    if isinstance(kind, pa.StructType):
        return pa.struct(
            [kind.field(i).with_type(_plain(kind.field(i).type)) for i in range(kind.num_fields)]
        )
    return kind


def _files(delta: DeltaTable) -> list[dict[str, Any]]:
    import pyarrow as pa

    actions = pa.table(delta.get_add_actions(flatten=True))
    rows = actions.select(
        [c for c in ("path", "size_bytes", "num_records") if c in actions.column_names]
    ).to_pylist()
    return sorted(
        (
            {"path": r["path"], "size": int(r["size_bytes"]), "rows": r.get("num_records")}
            for r in rows
        ),
        key=lambda f: str(f["path"]),
    )


def _row_count(files: list[dict[str, Any]]) -> int | None:
    """Rows from the files' statistics (None if a file has none)."""
    counted = [f["rows"] for f in files]
    return sum(int(n) for n in counted) if all(isinstance(n, int) for n in counted) else None


def _checksum(version: int, files: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(f"v{version}".encode())
    for file in files:
        digest.update(f"\n{file['path']}\t{file['size']}".encode())
    return digest.hexdigest()


def snapshot(
    name: str,
    *,
    version: int | None = None,
    timestamp: datetime | str | None = None,
    settings: Settings | None = None,
    pin: bool = True,
) -> TableSnapshot:
    """Pin ``name`` at a version: its schema, files, row count and a checksum.

    With ``pin`` (the default) the version is recorded in the run-state database, and
    ``headwater table vacuum`` keeps its files until the pin is released
    (``headwater table unpin``): the manifest keeps reading back."""
    settings = settings or load_settings()
    delta, table = open_delta(name, version=version, timestamp=timestamp, settings=settings)
    files = _files(delta)
    rows = _row_count(files)
    if rows is None:  # a writer without statistics: count
        rows = _query(delta, [delta.schema().fields[0].name], None, table.qualified_name).num_rows
    committed = _commit_time(delta)
    manifest = TableSnapshot(
        table=table.qualified_name,
        location=table.location,
        version=delta.version(),
        timestamp=committed,
        schema=[{"name": f.name, "type": str(f.type)} for f in _arrow_schema(delta)],
        row_count=rows,
        files=[{"path": f["path"], "size": f["size"]} for f in files],
        checksum=_checksum(delta.version(), files),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    if pin:
        open_run_store(settings).save_pin(
            Pin(
                location=table.location.rstrip("/"),
                version=manifest.version,
                table_name=manifest.table,
                committed_at=committed,
                checksum=manifest.checksum,
                created_at=manifest.created_at,
            )
        )
    return manifest


def _arrow_schema(delta: DeltaTable) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(delta.schema())


def _commit_time(delta: DeltaTable) -> str:
    for entry in delta.history():
        if entry.get("version") == delta.version():
            stamp = int(entry.get("timestamp", 0))
            return datetime.fromtimestamp(stamp / 1000, timezone.utc).isoformat()
    return ""


def delta_facts(settings: Settings, table: Table) -> dict[str, Any]:
    """Version, rows, size and files of a catalogued Delta table, from its log."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    uri, options = delta_uri(settings, table.location)
    try:
        delta = DeltaTable(uri, storage_options=options)
    except DeltaError as exc:
        return {"delta log": f"unreadable: {exc}"}
    files = _files(delta)
    rows = _row_count(files)
    return {
        "delta version": delta.version(),
        "last commit": _commit_time(delta),
        "rows": "?" if rows is None else rows,
        "size bytes": sum(int(f["size"]) for f in files),
        "files": len(files),
    }


def delta_row_count(settings: Settings, table: Table) -> int | None:
    """Rows of a catalogued Delta table from its log's file statistics (each file's
    ``numRecords``, exact); None when a file has none or carries a deletion vector
    (its deleted rows are not in that figure), or the log cannot be read: then a
    query counts."""
    import pyarrow as pa
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    uri, options = delta_uri(settings, table.location)
    try:
        delta = DeltaTable(uri, storage_options=options)
        actions = pa.table(delta.get_add_actions(flatten=True))
    except (DeltaError, OSError):
        return None
    for name in actions.column_names:
        if name.startswith(("deletionVector", "deletion_vector")) and (
            actions[name].null_count < len(actions)
        ):
            return None
    if "num_records" not in actions.column_names:
        return None if len(actions) else 0
    counts = actions["num_records"]
    if counts.null_count:
        return None
    return int(sum(counts.to_pylist()))


def history(name: str, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The table's Delta commits, newest first: version, time, operation, rows written."""
    delta, _ = open_delta(name, settings=settings)
    commits = []
    for entry in delta.history():
        metrics = entry.get("operationMetrics") or {}
        stamp = int(entry.get("timestamp", 0))
        commits.append(
            {
                "version": entry.get("version"),
                "committed": datetime.fromtimestamp(stamp / 1000, timezone.utc).isoformat(),
                "operation": entry.get("operation", ""),
                "rows written": metrics.get("numOutputRows", metrics.get("num_added_rows", "")),
                "files added": metrics.get("numAddedFiles", metrics.get("num_added_files", "")),
                "engine": str(entry.get("engineInfo", entry.get("clientVersion", ""))),
            }
        )
    return commits


def read_snapshot(
    manifest: TableSnapshot | str | Path,
    *,
    columns: list[str] | None = None,
    engine: Engine = "pandas",
    settings: Settings | None = None,
) -> Any:
    """The rows a manifest pinned. Fails if the table's files at that version are no
    longer the ones recorded (e.g. rewritten or vacuumed)."""
    if not isinstance(manifest, TableSnapshot):
        text = Path(manifest).read_text() if Path(str(manifest)).is_file() else str(manifest)
        manifest = TableSnapshot.from_json(text)
    settings = settings or load_settings()
    delta, table = open_delta(manifest.table, version=manifest.version, settings=settings)
    found = _checksum(delta.version(), _files(delta))
    if found != manifest.checksum:
        raise HandoffError(
            f"{manifest.table} version {manifest.version} no longer has the files the "
            f"manifest recorded (checksum {found[:12]} != {manifest.checksum[:12]})",
            hint="the table was rewritten or vacuumed past that version; the manifest "
            "cannot be reproduced",
            table=manifest.table,
        )
    return _read(delta, table, columns, None, engine, settings)
