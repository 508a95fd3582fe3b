"""A starting suite from a profile of a table: types, null rates, ranges, small sets.

Two SQL statements over the catalog's SQL endpoint (the Thrift Server, or the local
session): one pass of aggregates for every column, then exact distinct counts and
value sets only for the columns the first pass makes candidates. The rules are
plain data for the user to edit; nothing here runs Spark itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.model import Column
from engine.quality.rules import SPARK_TYPE_CLASSES, quote_name

NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")
SET_AT_MOST = 10  # distinct values a string column may have to get an in_set rule
SET_FROM_ROWS = 20  # ... in a table of at least this many rows
UNIQUE_CANDIDATE = 0.95  # approximate distinct / rows above which the exact count is taken


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    non_null: int
    approx_distinct: int
    minimum: Any = None
    maximum: Any = None
    distinct: int | None = None  # exact, for unique candidates
    values: tuple[Any, ...] | None = None  # the value set, for small-set string columns

    @property
    def base_type(self) -> str:
        return self.type.split("(", 1)[0].lower()


@dataclass(frozen=True)
class TableProfile:
    table: str
    rows: int
    columns: tuple[ColumnProfile, ...]


def stats_sql(table: str, columns: Sequence[Column]) -> str:
    """The first pass: row count, then per column non-null and approximate distinct
    counts, min and max for numbers."""
    parts = ["count(1)"]
    for column in columns:
        name = quote_name(column.name)
        parts += [f"count({name})", f"approx_count_distinct({name})"]
        if column.type.split("(", 1)[0].lower() in NUMERIC:
            parts += [f"min({name})", f"max({name})"]
    return f"SELECT {', '.join(parts)} FROM {table}"


def parse_stats(table: str, columns: Sequence[Column], row: Sequence[Any]) -> TableProfile:
    values = iter(row)
    rows = int(next(values) or 0)
    profiles = []
    for column in columns:
        non_null, approx = int(next(values) or 0), int(next(values) or 0)
        low = high = None
        if column.type.split("(", 1)[0].lower() in NUMERIC:
            low, high = next(values), next(values)
        profiles.append(ColumnProfile(column.name, column.type, non_null, approx, low, high))
    return TableProfile(table, rows, tuple(profiles))


def detail_sql(profile: TableProfile) -> str | None:
    """The second pass: exact distinct counts of unique candidates, value sets of
    small-set string columns (None when no column needs either)."""
    parts = []
    for column in profile.columns:
        name = quote_name(column.name)
        if _unique_candidate(profile, column):
            parts.append(f"count(DISTINCT {name})")
        if _set_candidate(profile, column):
            parts.append(f"slice(array_sort(collect_set({name})), 1, {SET_AT_MOST + 1})")
    return f"SELECT {', '.join(parts)} FROM {profile.table}" if parts else None


def with_details(profile: TableProfile, row: Sequence[Any]) -> TableProfile:
    values = iter(row)
    columns = []
    for column in profile.columns:
        distinct = int(next(values)) if _unique_candidate(profile, column) else None
        found = _array(next(values)) if _set_candidate(profile, column) else None
        columns.append(
            ColumnProfile(
                column.name,
                column.type,
                column.non_null,
                column.approx_distinct,
                column.minimum,
                column.maximum,
                distinct,
                found,
            )
        )
    return TableProfile(profile.table, profile.rows, tuple(columns))


def _array(value: Any) -> tuple[Any, ...]:
    """An array result: a list from Spark, JSON text through HiveServer2."""
    return tuple(json.loads(value) if isinstance(value, str) else value or ())


def _unique_candidate(profile: TableProfile, column: ColumnProfile) -> bool:
    return profile.rows > 1 and column.approx_distinct >= UNIQUE_CANDIDATE * column.non_null > 0


def _set_candidate(profile: TableProfile, column: ColumnProfile) -> bool:
    return (
        column.base_type == "string"
        and profile.rows >= SET_FROM_ROWS
        and 0 < column.approx_distinct <= SET_AT_MOST
    )


def suggest_rules(profile: TableProfile) -> list[dict[str, Any]]:
    """The compact rules a profile supports: schema, not_null (with ``mostly`` when a
    few values are missing), unique, between (numbers), in_set (small string sets)."""
    rules: list[dict[str, Any]] = []
    schema = {c.name: c.type.lower() for c in profile.columns if c.base_type in SPARK_TYPE_CLASSES}
    if schema:
        rules.append({"schema": schema})
    if profile.rows:
        rules.append({"row_count": {"min": 1}})
    for column in profile.columns:
        if not profile.rows:
            break
        missing = 1 - column.non_null / profile.rows
        if missing == 0:
            rules.append({"not_null": column.name})
        elif missing < 0.05:
            mostly = math.floor(round((1 - missing) * 100, 6)) / 100
            rules.append({"not_null": column.name, "mostly": mostly})
        if column.distinct is not None and column.distinct == column.non_null:
            rules.append({"unique": column.name})
        if column.minimum is not None and column.maximum is not None:
            low, high = _number(column.minimum), _number(column.maximum)
            rules.append({"between": {"column": column.name, "min": low, "max": high}})
        if column.values is not None and len(column.values) <= SET_AT_MOST:
            rules.append({"in_set": {"column": column.name, "values": list(column.values)}})
    return rules


def _number(value: Any) -> int | float:
    """A bound as YAML writes it (decimals arrive as Decimal or text)."""
    number = float(value)
    return int(number) if number.is_integer() else number
