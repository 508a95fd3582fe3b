"""Table versions (Glue's TableVersion) and the difference between two of them. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from catalog.model import Column, Table

# Statistics change on every crawl; a new version is about the definition.
STAT_KEYS = frozenset(
    {
        "recordCount",
        "deltaVersion",
        "sizeKey",
        "objectCount",
        "averageRecordSize",
        "CRAWL_RUN_ID",
        "UPDATED_BY_CRAWLER",
        "transient_lastDdlTime",
    }
)


@dataclass(frozen=True)
class TableVersion:
    database: str
    table: str
    version: int
    created_at: str
    run_id: str
    definition: Table


def table_to_json(table: Table) -> str:
    body = {
        "database": table.database,
        "name": table.name,
        "columns": [[c.name, c.type] for c in table.columns],
        "partition_keys": [[c.name, c.type] for c in table.partition_keys],
        "location": table.location,
        "format": table.format,
        "parameters": {k: v for k, v in table.parameters.items() if k not in STAT_KEYS},
        "options": table.options,
    }
    return json.dumps(body, sort_keys=True)


def table_from_json(text: str) -> Table:
    body: dict[str, Any] = json.loads(text)
    return Table(
        database=body["database"],
        name=body["name"],
        columns=tuple(Column(n, t) for n, t in body["columns"]),
        location=body["location"],
        format=body["format"],
        partition_keys=tuple(Column(n, t) for n, t in body["partition_keys"]),
        parameters=dict(body["parameters"]),
        options=dict(body["options"]),
    )


def diff_tables(old: Table, new: Table) -> list[str]:
    """Human-readable differences between two definitions of a table, in order."""
    lines = []
    old_cols = {c.name: c.type for c in old.columns}
    new_cols = {c.name: c.type for c in new.columns}
    for name, type_ in new_cols.items():
        if name not in old_cols:
            lines.append(f"+ column {name} {type_}")
        elif old_cols[name] != type_:
            lines.append(f"~ column {name} {old_cols[name]} -> {type_}")
    lines += [
        f"- column {name} {type_}" for name, type_ in old_cols.items() if name not in new_cols
    ]
    old_keys = [k.name for k in old.partition_keys]
    new_keys = [k.name for k in new.partition_keys]
    if old_keys != new_keys:
        lines.append(f"~ partition keys {old_keys} -> {new_keys}")
    if old.format != new.format:
        lines.append(f"~ format {old.format} -> {new.format}")
    if old.location != new.location:
        lines.append(f"~ location {old.location} -> {new.location}")
    for key in sorted(set(old.parameters) | set(new.parameters)):
        if key in STAT_KEYS:
            continue
        before, after = old.parameters.get(key), new.parameters.get(key)
        if before != after:
            lines.append(f"~ property {key}: {before} -> {after}")
    return lines
