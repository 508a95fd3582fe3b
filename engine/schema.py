"""Column types of inferred schemas, and how they widen when samples disagree.

Pure functions, no Spark: the crawler infers a type per value, widens per column
and merges schemas across files with the same lattice. Types are Hive type strings;
nested ones (``struct<a:bigint,b:array<string>>``) widen field by field.

Widening rules: equal types stay; ``null`` (no evidence) yields to anything;
integers widen to the larger one (``tinyint`` < ``smallint`` < ``int`` < ``bigint``);
an integer or ``float`` with ``double`` -> ``double``; ``decimal(p,s)`` with an
integer or decimal -> a decimal holding both (at most 38 digits), with ``float`` or
``double`` -> ``double``; ``date`` + ``timestamp`` -> ``timestamp``;
``struct`` + ``struct`` -> the union of their fields, each widened; ``array<x>`` +
``array<y>`` -> ``array<widen(x, y)>``; ``map`` likewise; anything else -> ``string``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

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

# ASCII digits only: what Spark's readers parse everywhere.
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(
    r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I | re.ASCII
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
_BOOLEANS = {"true", "false"}
_NUMBER_START = frozenset("0123456789+-.")
_SPECIAL_DOUBLES = frozenset({"nan", "inf", "infinity"})
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64 = 2**63

# Direct widenings; anything else that disagrees becomes STRING.
_WIDER = {frozenset({DATE, TIMESTAMP}): TIMESTAMP}


def infer_value_type(value: str) -> str:
    """The narrowest type a single text value parses as (empty -> NULL)."""
    text = value.strip()
    if not text:
        return NULL
    if text[0] not in _NUMBER_START:  # fast path: most text is neither number nor date
        lower = text.lower()
        if lower in _BOOLEANS:
            return BOOLEAN
        return DOUBLE if lower in _SPECIAL_DOUBLES else STRING
    if text.isascii() and text.isdigit() and len(text) < 19:
        return BIGINT
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


_INTEGRAL = ("tinyint", "smallint", "int", BIGINT)
_INTEGRAL_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, BIGINT: 19}
_FRACTIONAL = ("float", DOUBLE)
_DECIMAL_TYPE = re.compile(r"decimal\((\d+),\s*(\d+)\)")
MAX_DECIMAL_DIGITS = 38


def _decimal(type_: str) -> tuple[int, int] | None:
    """(integer digits, scale) of a decimal type; integers count as scale 0."""
    if type_ in _INTEGRAL_DIGITS:
        return _INTEGRAL_DIGITS[type_], 0
    match = _DECIMAL_TYPE.fullmatch(type_)
    if match is None:
        return None
    precision, scale = int(match.group(1)), int(match.group(2))
    return precision - scale, scale


def decimal_type(integer_digits: int, scale: int) -> str:
    scale = min(scale, MAX_DECIMAL_DIGITS)
    return f"decimal({min(MAX_DECIMAL_DIGITS, integer_digits + scale)},{scale})"


def _widen_numbers(left: str, right: str) -> str | None:
    if left in _INTEGRAL and right in _INTEGRAL:
        return max(left, right, key=_INTEGRAL.index)
    numeric = (*_INTEGRAL, *_FRACTIONAL)
    if left in numeric and right in numeric:
        return DOUBLE
    left_decimal, right_decimal = _decimal(left), _decimal(right)
    if left_decimal and right_decimal:
        digits = max(left_decimal[0], right_decimal[0])
        return decimal_type(digits, max(left_decimal[1], right_decimal[1]))
    if (left_decimal and right in _FRACTIONAL) or (right_decimal and left in _FRACTIONAL):
        return DOUBLE
    return None


def widen(left: str, right: str) -> str:
    """The narrowest type both ``left`` and ``right`` values fit in."""
    if left == right:
        return left
    if left == NULL:
        return right
    if right == NULL:
        return left
    if "<" in left and "<" in right:
        return render_type(widen_nodes(parse_type(left), parse_type(right)))
    return _widen_numbers(left, right) or _WIDER.get(frozenset({left, right}), STRING)


# -- nested types ----------------------------------------------------------------------
# A parsed type is a primitive name, ("array", element), ("map", key, value) or
# ("struct", ((name, type), ...)).
TypeNode = Any


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside <...> or (...) (``decimal(20,0)``)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_type(text: str) -> TypeNode:
    text = text.strip()
    lower = text.lower()
    if lower.startswith("array<") and text.endswith(">"):
        return ("array", parse_type(text[6:-1]))
    if lower.startswith("map<") and text.endswith(">"):
        key, value = _split_top(text[4:-1])
        return ("map", parse_type(key), parse_type(value))
    if lower.startswith("struct<") and text.endswith(">"):
        fields = []
        for part in _split_top(text[7:-1]):
            name, _, type_ = part.partition(":")
            fields.append((name.strip().strip("`"), parse_type(type_)))
        return ("struct", tuple(fields))
    return lower


def render_type(node: TypeNode) -> str:
    if isinstance(node, str):
        return node
    kind = node[0]
    if kind == "array":
        return f"array<{render_type(node[1])}>"
    if kind == "map":
        return f"map<{render_type(node[1])},{render_type(node[2])}>"
    fields = ",".join(f"{_field_name(name)}:{render_type(t)}" for name, t in node[1])
    return f"struct<{fields}>"


def _field_name(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else "`" + name.replace("`", "``") + "`"


def widen_nodes(left: TypeNode, right: TypeNode) -> TypeNode:
    if isinstance(left, str) and isinstance(right, str):
        return widen(left, right)
    if isinstance(left, str) or isinstance(right, str):
        if left == NULL:
            return right
        if right == NULL:
            return left
        return STRING
    if left[0] != right[0]:
        return STRING
    if left[0] == "array":
        return ("array", widen_nodes(left[1], right[1]))
    if left[0] == "map":
        return ("map", widen_nodes(left[1], right[1]), widen_nodes(left[2], right[2]))
    merged: dict[str, TypeNode] = dict(left[1])
    for name, type_ in right[1]:
        merged[name] = widen_nodes(merged[name], type_) if name in merged else type_
    return ("struct", tuple(merged.items()))


def finalize_nested(node: TypeNode) -> TypeNode:
    """Replace ``null`` (never seen with a value) by ``string``, at every depth."""
    if isinstance(node, str):
        return STRING if node == NULL else node
    if node[0] == "array":
        return ("array", finalize_nested(node[1]))
    if node[0] == "map":
        return ("map", finalize_nested(node[1]), finalize_nested(node[2]))
    return ("struct", tuple((n, finalize_nested(t)) for n, t in node[1]))


def _all_of(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Matches newline-terminated values that each fully match ``pattern``."""
    return re.compile(f"(?:(?:{pattern})\n)*", flags | re.ASCII)


# One C-level match per column instead of one Python call per value; the result
# is the one infer_value_type + widen give value by value (a unit test holds them equal).
_ALL_BOOLEANS = _all_of("true|false", re.I)
_ALL_INTEGERS = _all_of(_INTEGER.pattern)
_ALL_DOUBLES = _all_of(_DECIMAL.pattern, re.I)
_ALL_DATES = _all_of(_DATE.pattern)
_ALL_TEMPORAL = _all_of(f"{_DATE.pattern}|{_TIMESTAMP.pattern}")


def infer_column_type(values: Iterable[str]) -> str:
    """The narrowest type all ``values`` fit in (empty ones carry no evidence)."""
    present = [text for text in (value.strip() for value in values) if text]
    if not present:
        return NULL
    joined = "\n".join(present) + "\n"
    if _ALL_BOOLEANS.fullmatch(joined):
        return BOOLEAN
    if _ALL_INTEGERS.fullmatch(joined):
        long_ones = (v for v in present if len(v) > 18)
        return DOUBLE if any(not -_INT64 <= int(v) < _INT64 for v in long_ones) else BIGINT
    if _ALL_DOUBLES.fullmatch(joined):
        return DOUBLE
    if _ALL_TEMPORAL.fullmatch(joined) and all(_is_real_date(v[:10]) for v in present):
        return DATE if _ALL_DATES.fullmatch(joined) else TIMESTAMP
    return STRING


def finalize(type_: str) -> str:
    """A column (or nested field) seen only empty is a string."""
    if "<" in type_:
        return render_type(finalize_nested(parse_type(type_)))
    return STRING if type_ == NULL else type_


def merge_schemas(schemas: Sequence[Sequence[Column]]) -> tuple[Column, ...]:
    """Union of columns by name, in first-seen order, types widened. Names match
    regardless of case, as Spark resolves them (``Id`` in one file, ``id`` in
    another: one column, spelled as first seen)."""
    merged: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for schema in schemas:
        for column in schema:
            key = spelled.setdefault(column.name.lower(), column.name)
            merged[key] = widen(merged.get(key, NULL), column.type)
    return tuple(Column(name, finalize(type_)) for name, type_ in merged.items())
