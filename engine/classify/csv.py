"""The built-in CSV classifier: dialect, header and column types from a byte sample.

Header rule (Glue's, research-glue-crawler.md §2): the first row is a header when its
values are all strings, short, distinct, and at least one data column is typed.
Glue then gives up on all-string files (its most complained-about behaviour); here an
all-string file still gets a header when every first-row value looks like a column
name and none of them repeats in the data below it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from catalog.model import Column
from engine.classify.csvtypes import type_columns
from engine.classify.model import Classification, Sample, no_match
from engine.schema import STRING, finalize, infer_column_type, infer_value_type

NAME = "csv"
DELIMITERS = (",", "\t", ";", "|")
MAX_ROWS = 500
PROBE_LINES = 20  # a delimiter must occur in the first lines to be tried
MIN_CONSISTENCY = 0.8
MAX_HEADER_VALUE = 150
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".psv", ".dat")
_NAME_LIKE = re.compile(r"[^\W\d][\w .\-/()#%]*", re.UNICODE)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quoted: bool
    width: int
    consistency: float
    multiline: bool


def _complete_lines(text: str, truncated: bool) -> str:
    if truncated and "\n" in text:
        return text[: text.rindex("\n") + 1]
    return text


def _parse(text: str, delimiter: str, quote: str = '"') -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote, strict=False)
    rows = []
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= MAX_ROWS:
                break
    except csv.Error:
        pass  # a malformed tail; the rows before it still vote
    return rows


def looks_like_record(line: str, delimiter: str, width: int) -> bool:
    """A line inside a quoted value that has a whole record's fields: a sign that a
    quote never closed and swallowed the rows below it."""
    return width > 1 and line.count(delimiter) >= width - 1


def is_multiline(
    rows: list[list[str]], delimiter: str, width: int, closed_at_end: bool = False
) -> bool:
    """Whether the sample proves a quoted value spans lines: a row of the right width
    with a line break in a value whose quote closed — a row is parsed after it, or
    ``closed_at_end`` (the whole file is in the sample and ends with a quote) — and
    whose continuation lines are not records of their own. An unterminated quote
    (``1,"abc`` up to the end of the sample) proves nothing."""
    for row in rows if closed_at_end else rows[:-1]:
        if len(row) != width:
            continue
        broken = [cell for cell in row if "\n" in cell]
        if broken and not any(
            looks_like_record(line, delimiter, width)
            for cell in broken
            for line in cell.split("\n")[1:]
        ):
            return True
    return False


def sniff(
    text: str,
    key: str,
    delimiters: tuple[str, ...] = DELIMITERS,
    quote: str = '"',
    complete: bool = False,
) -> tuple[Dialect, list[list[str]]] | None:
    """Pick the delimiter whose rows have the most consistent width (> 1)."""
    best: tuple[tuple[float, int, int], Dialect, list[list[str]]] | None = None
    prefer_tab = key.lower().endswith((".tsv", ".tab"))
    opening = "\n".join(text.split("\n", PROBE_LINES)[:PROBE_LINES])
    present = tuple(d for d in delimiters if d in opening)
    for delimiter in present or delimiters[:1]:  # a delimiter absent up top cannot win
        rows = _parse(text, delimiter, quote)
        if not rows:
            continue
        # The data rows decide the width: a header may carry a trailing delimiter
        # or a name too many (it is fitted to the width afterwards).
        voters = rows[1:] if len(rows) > 2 else rows
        widths = Counter(len(row) for row in voters)
        width, count = widths.most_common(1)[0]
        consistency = count / len(voters)
        dialect = Dialect(
            delimiter=delimiter,
            quoted=quote in text,
            width=width,
            consistency=consistency,
            multiline=is_multiline(
                rows, delimiter, width, complete and text.rstrip().endswith(quote)
            ),
        )
        rank = (
            consistency if width > 1 else 0.0,
            1 if prefer_tab and delimiter == "\t" else 0,
            width,
        )
        if best is None or rank > best[0]:
            best = (rank, dialect, rows)
    if best is None:
        return None
    return best[1], best[2]


def detect_header(first: list[str], data: list[list[str]]) -> tuple[bool, str]:
    """Whether ``first`` is a header row above ``data``, and why."""
    values = [value.strip() for value in first]
    if not data:
        return False, "only one row: no data to compare a header with"
    if any(infer_value_type(v) not in (STRING, "null") for v in values):
        return False, "the first row has typed (non-string) values"
    if any(len(v) > MAX_HEADER_VALUE for v in values[:-1]):
        return False, f"a first-row value is longer than {MAX_HEADER_VALUE} characters"
    named = [v for v in values if v]
    if len({v.lower() for v in named}) != len(named):
        return False, "first-row values repeat"
    typed = next(
        (
            i
            for i in range(len(values))
            if finalize(infer_column_type(row[i] for row in data if i < len(row))) != STRING
        ),
        None,
    )
    if typed is not None:
        return True, f"first row is all strings while data column {typed + 1} is typed"
    if not all(_NAME_LIKE.fullmatch(v) for v in named) or len(named) < len(values) - 1:
        return False, "all columns are strings and the first row does not look like names"
    seen_below = any(
        i < len(row) and row[i].strip() == v for row in data for i, v in enumerate(values) if v
    )
    if seen_below:
        return False, "all columns are strings and first-row values recur in the data"
    return True, "all columns are strings; the first row looks like column names"


def column_names(header: list[str] | None, width: int) -> list[str]:
    """Glue naming: lower-cased header values, ``col0…`` for missing ones, unique."""
    names: list[str] = []
    for i in range(width):
        raw = header[i].strip().lower() if header and i < len(header) else ""
        name = raw or f"col{i}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


HEADER_MODES = ("detect", "present", "absent")


@dataclass(frozen=True)
class CsvRules:
    """What a custom CSV classifier fixes; the defaults are the built-in's sniffing.

    ``allow_single_column`` None: only for .csv/.tsv/.txt-like names. ``header_names``
    name the columns (a header row in the file is still skipped). ``allowed_types``
    restrict inference (Glue's custom datatypes); ``column_types`` set a column's
    type outright. ``trim``: type values without their surrounding blanks.
    """

    delimiter: str | None = None
    quote: str = '"'
    header: str = "detect"
    allow_single_column: bool | None = None
    header_names: tuple[str, ...] = ()
    trim: bool = True
    allowed_types: frozenset[str] = frozenset()
    column_types: tuple[tuple[str, str], ...] = ()


def csv_classifier(
    name: str = NAME, rules: CsvRules | None = None
) -> Callable[[Sample], Classification]:
    """A CSV classifier: the built-in one sniffs everything, a custom one follows ``rules``."""
    fixed = rules or CsvRules()

    def classify(sample: Sample) -> Classification:
        return _classify_csv(sample, name, fixed)

    classify.__name__ = f"classify_{name}"
    return classify


def _classify_csv(sample: Sample, name: str, rules: CsvRules) -> Classification:
    delimiters = (rules.delimiter,) if rules.delimiter else DELIMITERS
    quote, header, allow_single_column = rules.quote, rules.header, rules.allow_single_column
    decoded = sample.text
    if decoded is None:
        return no_match(name, "binary data (NUL or control bytes) in the sample")
    text, encoding = decoded
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends (Spark reads \r too)
    if sample.is_truncated and "\n" not in text:
        return no_match(name, "no complete line in the sample (a record longer than it)")
    text = _complete_lines(text, sample.is_truncated)
    sniffed = sniff(text, sample.key, delimiters, quote, complete=not sample.is_truncated)
    if sniffed is None:
        return no_match(name, "no rows in the sample")
    dialect, rows = sniffed
    file_name = sample.key.lower()
    if sample.compression != "none":
        file_name = file_name.rsplit(".", 1)[0]  # data.csv.gz: judged as data.csv
    single_ok = (
        file_name.endswith(TEXT_EXTENSIONS) if allow_single_column is None else allow_single_column
    )
    if dialect.width < 2 and not single_ok:
        return no_match(name, "a single column (not allowed for this file)")
    if dialect.consistency < MIN_CONSISTENCY:
        return no_match(
            name,
            f"rows disagree on the column count (best: {dialect.consistency:.0%} of rows "
            f"have {dialect.width} columns with delimiter {dialect.delimiter!r})",
        )
    first = (rows[0] + [""] * dialect.width)[: dialect.width]
    rows = [first, *(row for row in rows[1:] if len(row) == dialect.width)]
    if header == "detect":
        has_header, why = detect_header(rows[0], rows[1:])
    else:
        has_header, why = header == "present", f"{header} (set by the classifier)"
    data = rows[1:] if has_header else rows
    names = column_names(
        list(rules.header_names) or (rows[0] if has_header else None), dialect.width
    )
    typed = type_columns(
        names,
        data,
        trim=rules.trim,
        allowed=rules.allowed_types,
        declared=dict(rules.column_types),
    )
    columns = tuple(Column(column, type_) for column, type_ in zip(names, typed.types, strict=True))
    record_bytes = max(1, len(text.encode("utf-8")) // max(1, len(rows)))
    properties = {
        "classification": "csv",
        "delimiter": dialect.delimiter,
        "areColumnsQuoted": str(dialect.quoted).lower(),
        "columnsOrdered": "true",
        "compressionType": sample.compression,
        "typeOfData": "file",
        "averageRecordSize": str(record_bytes),
        "encoding": encoding,
    }
    if has_header:
        properties["skip.header.line.count"] = "1"
    options = {
        "header": str(has_header).lower(),
        "sep": dialect.delimiter,
        "quote": quote,
        "escape": quote,
        "encoding": encoding,
        "multiLine": str(dialect.multiline).lower(),
        "mode": "PERMISSIVE",
        **typed.options,
    }
    reason = (
        f"{dialect.width} columns split by {dialect.delimiter!r} in "
        f"{dialect.consistency:.0%} of {len(rows)} sampled rows; header: {why}"
    )
    return Classification(name, "csv", 1.0, reason, columns, properties, options)


classify_csv = csv_classifier()
