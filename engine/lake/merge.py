"""The one meaning of a MERGE key, for every writer (issue 17). Pure.

A key column compares **null-safe**: a row whose key is NULL matches the target row
whose key is NULL (Spark SQL ``<=>``, DataFusion ``IS NOT DISTINCT FROM``), as a
GROUP BY groups NULLs together; a plain ``=`` would never match it, and each run would
add the row again. A batch holding one key on several rows is refused before anything
is written, whether or not the key is in the table yet: Delta itself refuses only
duplicates that match a target row, and inserts the others twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from catalog.ddl import quote_name
from engine.errors import JobError

Dialect = Literal["spark", "datafusion"]
SHOWN_DUPLICATES = 3


def _quoted(name: str, dialect: Dialect) -> str:
    if dialect == "spark":
        return quote_name(name)
    return '"' + name.replace('"', '""') + '"'


def merge_condition(keys: Sequence[str], dialect: Dialect) -> str:
    """``t.k <=> s.k AND …`` between the target (``t``) and the batch (``s``)."""
    if not keys:
        raise ValueError("a merge needs at least one key")
    same = "<=>" if dialect == "spark" else "IS NOT DISTINCT FROM"
    return " AND ".join(f"t.{_quoted(k, dialect)} {same} s.{_quoted(k, dialect)}" for k in keys)


def duplicate_keys_error(
    keys: Sequence[str], examples: Sequence[tuple[object, ...]], count: int, location: str
) -> JobError:
    """The error for a batch with ``count`` keys on more than one row (``examples`` of them)."""
    shown = "; ".join(
        ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
        for values in examples[:SHOWN_DUPLICATES]
    )
    return JobError(
        f"the batch has {count} merge key(s) on more than one row (e.g. {shown}); "
        f"nothing was written to {location}",
        hint="deduplicate the rows in the job, or merge on finer --merge_keys",
        path=location,
    )
