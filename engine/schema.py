"""Column types of inferred schemas, and how they widen when samples disagree.

Pure functions, no Spark: the crawler infers a type per value, widens per column
and merges schemas across files with the same lattice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from catalog.model import Column

BOOLEAN, BIGINT, DOUBLE, DATE, TIMESTAMP, STRING = (
    "boolean",
    "bigint",
    "double",
    "date",
    "timestamp",
    "string",
)
NULL = "null"  # no evidence yet (empty values only)

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?"
)
_BOOLEANS = {"true", "false"}
_INT64 = 2**63

# Direct widenings; anything else that disagrees becomes STRING.
_WIDER = {
    frozenset({BIGINT, DOUBLE}): DOUBLE,
    frozenset({DATE, TIMESTAMP}): TIMESTAMP,
}


def infer_value_type(value: str) -> str:
    """The narrowest type a single text value parses as (empty -> NULL)."""
    text = value.strip()
    if not text:
        return NULL
    if text.lower() in _BOOLEANS:
        return BOOLEAN
    if _INTEGER.fullmatch(text):
        return BIGINT if -_INT64 <= int(text) < _INT64 else DOUBLE
    if _DECIMAL.fullmatch(text):
        return DOUBLE
    if _DATE.fullmatch(text):
        return DATE if _is_real_date(text) else STRING
    if _TIMESTAMP.fullmatch(text):
        return TIMESTAMP if _is_real_date(text[:10]) else STRING
    return STRING


def _is_real_date(text: str) -> bool:
    month, day = int(text[5:7]), int(text[8:10])
    return 1 <= month <= 12 and 1 <= day <= 31


def widen(left: str, right: str) -> str:
    """The narrowest type both ``left`` and ``right`` values fit in."""
    if left == right:
        return left
    if left == NULL:
        return right
    if right == NULL:
        return left
    return _WIDER.get(frozenset({left, right}), STRING)


def infer_column_type(values: Iterable[str]) -> str:
    result = NULL
    for value in values:
        result = widen(result, infer_value_type(value))
        if result == STRING:
            break
    return result


def finalize(type_: str) -> str:
    """A column seen only empty is a string column."""
    return STRING if type_ == NULL else type_


def merge_schemas(schemas: Sequence[Sequence[Column]]) -> tuple[Column, ...]:
    """Union of columns by name, in first-seen order, types widened."""
    merged: dict[str, str] = {}
    for schema in schemas:
        for column in schema:
            merged[column.name] = widen(merged.get(column.name, NULL), column.type)
    return tuple(Column(name, finalize(type_)) for name, type_ in merged.items())
