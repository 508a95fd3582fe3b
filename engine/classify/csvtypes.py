"""Column types of a CSV sample, and the reader options Spark needs to read them.

Per column, from every sampled value (empty ones are nulls and carry no evidence):

* the lattice of :mod:`engine.schema` (``boolean``, ``bigint``, ``double``, ISO
  ``date`` / ``timestamp``, else ``string``). Integers are ``bigint``, never
  ``int``: a sample is the head of a file, and a larger value further down would
  read as null in an ``int`` column;
* a ``double`` column of plain decimals that a double cannot hold exactly (more
  than 15 significant digits, e.g. ids or money at full precision) becomes
  ``decimal(p,s)`` with the sampled integer digits and scale;
* a ``string`` column whose values all follow one non-ISO date or timestamp
  layout (``2026/01/31``, ``01/31/2026``, ``31.01.2026``, with ``HH:mm[:ss[.SSS]]``
  …) becomes ``date`` / ``timestamp`` and the table reads with that
  ``dateFormat`` / ``timestampFormat``. Spark takes one format per kind per table:
  a second layout of the same kind, or an ISO column beside it, stays ``string``;
* a custom classifier may restrict the types inference picks from (Glue's custom
  datatypes) and name a column's type outright.

Values are trimmed before typing (Glue's default); when a typed column's values
carry surrounding blanks, the table reads with ``ignoreLeadingWhiteSpace`` /
``ignoreTrailingWhiteSpace`` so Spark parses them as the crawler did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.schema import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    STRING,
    TIMESTAMP,
    decimal_type,
    finalize,
    infer_column_type,
)

DOUBLE_DIGITS = 15  # significant digits a double always holds exactly
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d*)(?:\.(\d+))?")


@dataclass(frozen=True)
class Layout:
    """One non-ISO date/timestamp layout: a regex and Spark's datetime pattern."""

    kind: str
    regex: re.Pattern[str]
    pattern: str
    day_first: bool = False


def _layouts() -> tuple[Layout, ...]:
    dates = (
        (r"(\d{4})/(\d{1,2})/(\d{1,2})", "yyyy/M/d", False),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "M/d/yyyy", False),  # US first …
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "d/M/yyyy", True),  # … unless a day > 12
        (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "d.M.yyyy", True),
        (r"(\d{1,2})-(\d{1,2})-(\d{4})", "d-M-yyyy", True),
    )
    times = (
        (r" \d{1,2}:\d{2}:\d{2}\.\d{3}", " H:mm:ss.SSS"),
        (r" \d{1,2}:\d{2}:\d{2}", " H:mm:ss"),
        (r" \d{1,2}:\d{2}", " H:mm"),
    )
    layouts = [
        Layout(TIMESTAMP, re.compile(date + time), pattern + time_pattern, day_first)
        for date, pattern, day_first in dates
        for time, time_pattern in times
    ]
    layouts += [Layout(DATE, re.compile(d), p, day_first) for d, p, day_first in dates]
    return tuple(layouts)


LAYOUTS = _layouts()
# What a restricted type list falls back to, narrowest first (string always fits).
_FALLBACKS = {
    BIGINT: (BIGINT, "decimal", DOUBLE),
    DOUBLE: (DOUBLE,),
    "decimal": ("decimal", DOUBLE),
    BOOLEAN: (BOOLEAN,),
    DATE: (DATE, TIMESTAMP),
    TIMESTAMP: (TIMESTAMP,),
}


@dataclass(frozen=True)
class TypedColumns:
    types: tuple[str, ...]
    options: dict[str, str]


_PADDED = re.compile(r"^[^\S\n]+\S|\S[^\S\n]+$", re.MULTILINE)


def _any_padded(values: Sequence[str]) -> bool:
    """Whether a value has blanks around its text (blank-only values are nulls)."""
    return _PADDED.search("\n".join(values)) is not None


def _valid_date(match: re.Match[str], layout: Layout) -> bool:
    first, second, third = (int(g) for g in match.groups()[:3])
    if layout.pattern.startswith("yyyy"):
        month, day = second, third
    elif layout.day_first:
        day, month = first, second
    else:
        month, day = first, second
    return 1 <= month <= 12 and 1 <= day <= 31


def temporal_layout(values: Sequence[str]) -> Layout | None:
    """The one non-ISO layout every non-empty value follows, if any."""
    present = [v.strip() for v in values if v.strip()]
    if not present:
        return None
    for layout in LAYOUTS:
        if layout.regex.fullmatch(present[0]) is None:
            continue  # most columns fail here, on their first value
        matches = (layout.regex.fullmatch(v) for v in present)
        if all(m is not None and _valid_date(m, layout) for m in matches):
            return layout
    return None


def exact_decimal(values: Sequence[str]) -> str | None:
    """``decimal(p,s)`` when plain decimals exceed what a double holds exactly."""
    if max(map(len, values), default=0) <= DOUBLE_DIGITS:
        return None  # too short to hold more digits than a double keeps
    integer_digits = scale = 0
    lossy = False
    for value in values:
        text = value.strip()
        if not text:
            continue
        match = _PLAIN_DECIMAL.fullmatch(text)
        if match is None or not (match.group(1) or match.group(2)):
            return None
        whole = match.group(1).lstrip("0")
        fraction = match.group(2) or ""
        integer_digits = max(integer_digits, len(whole))
        scale = max(scale, len(fraction))
        lossy = lossy or len((whole + fraction).strip("0")) > DOUBLE_DIGITS
    if not lossy or integer_digits + scale > 38:
        return None
    return decimal_type(max(integer_digits, 1), scale)


def restrict(type_: str, allowed: frozenset[str]) -> str:
    """The narrowest allowed type that holds ``type_`` (``string`` always does)."""
    if not allowed or type_ == STRING:
        return type_
    family = "decimal" if type_.startswith("decimal") else type_
    for candidate in _FALLBACKS.get(family, ()):
        if candidate in allowed:
            if candidate == "decimal":
                return type_ if family == "decimal" else decimal_type(19, 0)
            return candidate
    return STRING


def type_columns(
    names: Sequence[str],
    data: Sequence[Sequence[str]],
    *,
    trim: bool = True,
    allowed: frozenset[str] = frozenset(),
    declared: Mapping[str, str] | None = None,
) -> TypedColumns:
    """Each column's type, and the reader options those types need."""
    declared = declared or {}
    types: list[str] = []
    layouts: dict[int, Layout] = {}
    padded = False
    for i in range(len(names)):
        values = [row[i] for row in data if i < len(row)]
        if not trim and _any_padded(values):
            types.append(STRING)  # untrimmed " 1" is text
            continue
        type_ = finalize(infer_column_type(values))
        if type_ == DOUBLE:
            type_ = exact_decimal(values) or DOUBLE
        elif type_ == STRING and (layout := temporal_layout(values)) is not None:
            layouts[i] = layout
            type_ = layout.kind
        type_ = restrict(type_, allowed)
        if type_ != STRING and not padded:
            padded = _any_padded(values)
        types.append(type_)
    options: dict[str, str] = {}
    for kind, option in ((DATE, "dateFormat"), (TIMESTAMP, "timestampFormat")):
        custom = {i: layout for i, layout in layouts.items() if types[i] == kind}
        patterns = {layout.pattern for layout in custom.values()}
        iso = any(t == kind and i not in layouts for i, t in enumerate(types))
        if len(patterns) == 1 and not iso:
            options[option] = patterns.pop()
        else:
            for i in custom:
                types[i] = STRING  # Spark reads one layout per kind and table
    for i, name in enumerate(names):
        if name in declared:
            types[i] = declared[name]
    if padded:
        options["ignoreLeadingWhiteSpace"] = "true"
        options["ignoreTrailingWhiteSpace"] = "true"
    return TypedColumns(tuple(types), options)
