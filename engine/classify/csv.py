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
from functools import partial

from catalog.model import Column
from engine.classify.csvtypes import type_columns
from engine.classify.model import Classification, Sample, no_match
from engine.schema import STRING, finalize, infer_column_type, infer_value_type

NAME = "csv"
DELIMITERS = (",", "\t", ";", "|")
FALLBACK_DELIMITER = " "  # tried only when no other delimiter splits the rows
BLANK_CERTAINTY = 0.5  # of a table split by blanks: a log pattern that came nearer wins
QUOTES = ('"', "'")
MAX_ROWS = 500
PROBE_LINES = 20  # a delimiter must occur in the first lines to be tried
MIN_CONSISTENCY = 0.8
TEXT_NEAR = 0.6  # a text file CSV refuses: its reason unless a log pattern came nearer
MAX_HEADER_VALUE = 150
_BLANK_LINE = re.compile(r"\n[ \t\r]*+\n")
MAX_BLOCKS = 20  # blocks below a blank line looked at for another table's header
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".psv", ".dat")
# Reader options of a table read line by line (Spark's CSV reader has neither):
# the lines above its data in each file (text above the header, the header rows),
# and "only the first of the tables one after another" (the rest is quarantined).
SKIP_LINES, FIRST_TABLE = "headwater.skipLines", "headwater.firstTable"
LINE_ENCODINGS = ("UTF-8", "ASCII", "US-ASCII")  # Spark's text reader decodes UTF-8 only
_NAME_LIKE = re.compile(r"[^\W\d][\w .\-/()#%]*", re.UNICODE)


@dataclass(frozen=True)
class Dialect:
    """How a file's records are written.

    ``quote`` "" when values are never quoted (a quote is then data). ``escape`` is
    ``quote`` when a quote inside a quoted value is doubled (RFC 4180)
    and ``\\`` when it is backslash-escaped; ``initial_space``: a blank follows every
    delimiter (``a, b, c``) and is not part of the value."""

    delimiter: str
    quoted: bool
    width: int
    consistency: float
    multiline: bool
    quote: str = '"'
    escape: str = '"'
    initial_space: bool = False


def _complete_lines(text: str, truncated: bool) -> str:
    if truncated and "\n" in text:
        return text[: text.rindex("\n") + 1]
    return text


def _reader_options(delimiter: str, quote: str, escape: str, initial_space: bool) -> dict:
    return {
        "delimiter": delimiter,
        "quotechar": quote,
        "escapechar": None if escape == quote else escape,
        "doublequote": escape == quote,
        "skipinitialspace": initial_space,
        "strict": False,
    }


def _parse(
    text: str,
    delimiter: str,
    quote: str = '"',
    escape: str | None = None,
    initial_space: bool = False,
    by_line: bool = False,
) -> list[list[str]]:
    """The sample's non-blank rows. ``by_line``: each line a record of its own, so
    a quote that opens a value and never closes on its line spoils that line only."""
    options = _reader_options(delimiter, quote, escape or quote, initial_space)
    if not quote:
        options = {"delimiter": delimiter, "quoting": csv.QUOTE_NONE, "strict": False}
    rows: list[list[str]] = []
    try:
        if by_line:
            for line in text.split("\n"):
                if line.strip():
                    rows.extend(r for r in csv.reader([line.rstrip("\r")], **options) if r)
                if len(rows) >= MAX_ROWS:
                    break
            return [row for row in rows if any(cell.strip() for cell in row)][:MAX_ROWS]
        for row in csv.reader(io.StringIO(text), **options):
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


def _quotes_to_try(lines: list[str], delimiter: str, quote: str | None) -> tuple[str, ...]:
    """``"``, and ``'`` too when a value starts with one (an apostrophe inside a
    value is not a quote), and no quoting at all (``""``) when no value is wrapped in
    quotes (a quote that opens a value is then data); a custom classifier's quote only."""
    if quote is not None:
        return (quote,)
    values = [v.strip() for line in lines for v in line.split(delimiter)]
    opens = any(v[:1] == "'" for v in values)
    edge = re.escape(delimiter)
    wrapped = re.compile(rf'(?:^|{edge})\s*(["\'])(?:(?!\1).|\1\1)*\1\s*(?:{edge}|$)')
    quoting = any(wrapped.search(line) for line in lines)
    return ('"', *(("'",) if opens else ()), *(() if quoting else ("",)))


def _initial_space(lines: list[str], delimiter: str) -> bool:
    """A blank after (nearly) every delimiter: ``a, b, c``."""
    if delimiter in (" ", "\t"):
        return False
    total = sum(line.count(delimiter) for line in lines)
    spaced = sum(line.count(delimiter + " ") for line in lines)
    return total >= len(lines) and spaced >= 0.9 * total


def _shape(rows: list[list[str]]) -> tuple[int, float]:
    # The data rows decide the width: a header may carry a trailing delimiter
    # or a name too many (it is fitted to the width afterwards).
    voters = rows[1:] if len(rows) > 2 else rows
    width, count = Counter(len(row) for row in voters).most_common(1)[0]
    return width, count / len(voters)


def _dialect_for(
    text: str, delimiter: str, quote: str, complete: bool
) -> tuple[Dialect, list[list[str]]] | None:
    """The best reading of ``text`` split by ``delimiter``: quotes doubled or
    backslash-escaped, and records one per line unless the sample proves a quoted
    line break (a stray quote in a value must not merge the rows below it)."""
    lines = [line for line in text.split("\n", PROBE_LINES)[:PROBE_LINES] if line.strip()]
    initial_space = _initial_space(lines, delimiter)
    escapes = [quote, "\\"] if quote and "\\" + quote in text else [quote or "\\"]
    backslashed = False
    if len(escapes) > 1:  # a backslash before a quote escapes it unless quotes are doubled
        doubled = len(re.findall(rf"[^\s{re.escape(delimiter + quote)}]{quote}{quote}", text))
        backslashed = text.count("\\" + quote) > doubled
    best: tuple[tuple[float, int], Dialect, list[list[str]]] | None = None
    for escape in escapes:
        whole = _parse(text, delimiter, quote, escape, initial_space)
        spans = bool(quote) and any("\n" in cell for row in whole for cell in row)
        # One record per line, unless a value spans lines (else the same rows).
        rows = (
            _parse(text, delimiter, quote, escape, initial_space, by_line=True) if spans else whole
        )
        if not rows:
            continue
        width, consistency = _shape(rows)
        multiline = False
        if spans:
            whole_width, whole_consistency = _shape(whole) if whole else (0, 0.0)
            closed = complete and text.rstrip().endswith(quote)
            if whole_consistency >= consistency and is_multiline(
                whole, delimiter, whole_width, closed
            ):
                rows, width, consistency, multiline = whole, whole_width, whole_consistency, True
        dialect = Dialect(
            delimiter=delimiter,
            quoted=bool(quote) and quote in text,
            width=width,
            consistency=consistency,
            multiline=multiline,
            quote=quote,
            escape=escape,
            initial_space=initial_space,
        )
        rank = (consistency, int((escape == quote) != backslashed))
        if best is None or rank > best[0]:
            best = (rank, dialect, rows)
    return None if best is None else (best[1], best[2])


def sniff(
    text: str,
    key: str,
    delimiters: tuple[str, ...] = DELIMITERS,
    quote: str | None = None,
    complete: bool = False,
) -> tuple[Dialect, list[list[str]]] | None:
    """Pick the delimiter whose rows have the most consistent width (> 1); a blank
    is a delimiter only when no other one splits the rows. ``quote`` None: sniffed."""
    best: tuple[tuple[float, int, int, int], Dialect, list[list[str]]] | None = None
    prefer_tab = key.lower().endswith((".tsv", ".tab"))
    opening = "\n".join(text.split("\n", PROBE_LINES)[:PROBE_LINES])
    lines = [line for line in opening.split("\n") if line.strip()]
    present = tuple(d for d in delimiters if d in opening)
    candidates = present or delimiters[:1]  # a delimiter absent up top cannot win
    if delimiters == DELIMITERS:
        candidates = (*candidates, FALLBACK_DELIMITER)
    for delimiter in candidates:
        if delimiter == FALLBACK_DELIMITER and best is not None:
            width, consistency = best[1].width, best[1].consistency
            if width > 1 and consistency >= MIN_CONSISTENCY:
                break  # a delimiter split the rows: blanks are inside values
        for quoting in _quotes_to_try(lines, delimiter, quote):
            found = _dialect_for(text, delimiter, quoting, complete)
            if found is None:
                continue
            dialect, rows = found
            rank = (
                dialect.consistency if dialect.width > 1 else 0.0,
                int(abs(len(rows[0]) - dialect.width) <= 1),  # the header fits too
                1 if prefer_tab and delimiter == "\t" else 0,
                dialect.width,
            )
            if delimiter == FALLBACK_DELIMITER and (
                dialect.width < 2
                or dialect.consistency < MIN_CONSISTENCY
                or len(rows) < 3
                or len(rows[0]) != dialect.width  # a header of one name over timestamps
            ):
                continue  # blanks inside the values of one column, or a line of words
            if best is None or rank > best[0]:  # ties: the earlier delimiter, and "
                best = (rank, dialect, rows)
    if best is None:
        return None
    return best[1], best[2]


def detect_header(
    first: list[str], data: list[list[str]], whole_file: bool = False
) -> tuple[bool, str]:
    """Whether ``first`` is a header row above ``data``, and why. With no data rows,
    a first row of distinct name-like values in a ``whole_file`` sample is a header
    (a file with a header and no rows yet)."""
    values = [value.strip() for value in first]
    named = [v for v in values if v]
    if not data:
        if (
            whole_file
            and len(values) > 1
            and len(named) == len(values)
            and all(_NAME_LIKE.fullmatch(v) for v in named)
            and len({v.lower() for v in named}) == len(named)
        ):
            return True, "the only row is distinct name-like values: a header and no rows"
        return False, "only one row: no data to compare a header with"
    if any(infer_value_type(v) not in (STRING, "null") for v in values):
        return False, "the first row has typed (non-string) values"
    if any(len(v) > MAX_HEADER_VALUE for v in values[:-1]):
        return False, f"a first-row value is longer than {MAX_HEADER_VALUE} characters"
    if len({v.lower() for v in named}) != len(named):
        return False, "first-row values repeat"
    typed = _typed_column(values, data)
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


def _typed_column(values: list[str], data: list[list[str]]) -> int | None:
    """The first column typed in ``data`` (a header's values above it being strings)."""
    return next(
        (
            i
            for i in range(len(values))
            if finalize(infer_column_type(row[i] for row in data if i < len(row))) != STRING
        ),
        None,
    )


def fit_header(first: list[str], width: int) -> list[str]:
    """The first row fitted to the data's width: empty values beyond it dropped (a
    trailing or doubled delimiter), from the end first; then cut, or padded with
    empty names (named ``colN`` later)."""
    row = list(first)
    for i in reversed(range(len(row))):
        if len(row) <= width:
            break
        if not row[i].strip():
            del row[i]
    return (row + [""] * width)[:width]


_BLANKS = re.compile(r"\s+")


def column_name(value: str) -> str:
    """A header value as a column name: spelled as in the file, with surrounding
    blanks removed and each run of blanks or line breaks inside made one space
    (the one normalisation; docs/classifiers.md)."""
    return _BLANKS.sub(" ", value).strip()


def column_names(header: list[str] | None, width: int) -> list[str]:
    """Header values as spelled (``column_name``), ``colN`` for missing ones, unique
    regardless of case (Spark resolves names case-insensitively): ``id``, ``ID_2``."""
    names: list[str] = []
    taken: set[str] = set()
    for i in range(width):
        raw = column_name(header[i]) if header and i < len(header) else ""
        name = raw or f"col{i}"
        base, n = name, 2
        while name.lower() in taken:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
        taken.add(name.lower())
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
    quote: str | None = None  # None: sniffed (" or ')
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


def _preamble(rows: list[list[str]], width: int) -> int:
    """How many leading rows are text above the table, in a table of three columns
    or more: rows narrower than a header fitted to the width can be (one field
    short), and title rows (a value in the first cell only, as spreadsheets export
    them) when the row below them is a header."""
    if width < 3:
        return 0
    lead = narrow = 0
    while lead < len(rows) - 1:
        row = rows[lead]
        if len(row) < width - 1:
            narrow = lead = lead + 1
        elif _is_title(row):
            lead += 1
        else:
            break
    below = rows[lead:]
    if lead > narrow and not (detect_header(below[0], below[1:])[0] or two_row_header(below)):
        return narrow
    return lead


def _is_title(row: list[str]) -> bool:
    return bool(row[0].strip()) and not any(cell.strip() for cell in row[1:])


def _preview(row: list[str]) -> str:
    text = ",".join(row)
    return repr(text if len(text) <= 40 else text[:37] + "...")


@dataclass(frozen=True)
class TwoRowHeader:
    names: list[str]  # each column's group name and its own, joined by a space


def two_row_header(rows: list[list[str]]) -> TwoRowHeader | None:
    """A header over two rows: a row of group names (some cells empty, for cells
    merged to the right, or repeated) above a row of names above typed data.

    A group name carries right over empty cells: ``,Sales,,Returns,`` over
    ``id,q1,q2,q1,q2`` names ``id, Sales q1, Sales q2, Returns q1, Returns q2``."""
    if len(rows) < 4:
        return None
    top, leaf, data = rows[0], rows[1], rows[2:]
    if any(infer_value_type(v.strip()) not in (STRING, "null") for v in (*top, *leaf)):
        return None
    groups = [v.strip() for v in top if v.strip()]
    if not groups or (len(groups) == len(top) and len(set(groups)) == len(groups)):
        return None  # no merged or repeated cells: one header row
    if _is_title(top):
        return None  # no merged or repeated cells: one header row
    typed = [
        i
        for i in range(len(leaf))
        if finalize(infer_column_type(row[i] for row in data if i < len(row))) != STRING
    ]
    if not typed or any(len(v.strip()) > MAX_HEADER_VALUE for v in (*top, *leaf)):
        return None
    names, group = [], ""
    for i, leaf_name in enumerate(leaf):
        group = top[i].strip() or (group if i else "")
        names.append(" ".join(part for part in (group, leaf_name.strip()) if part))
    if not all(names) or len({n.lower() for n in names}) != len(names):
        return None  # the joined names must name every column once
    return TwoRowHeader(names)


def _several_tables(rows: list[list[str]]) -> str:
    """A hint when the rows fall in blocks of different widths: tables one after
    another in one file."""
    blocks: list[list[int]] = []
    for row in rows:
        if blocks and blocks[-1][0] == len(row):
            blocks[-1][1] += 1
        else:
            blocks.append([len(row), 1])
    if len(blocks) < 2 or any(count < 2 for _, count in blocks):
        return ""
    widths = ", ".join(str(width) for width, _ in blocks)
    return (
        f"; the file holds {len(blocks)} tables one after another ({widths} columns): "
        f"split it into one file per table"
    )


def _first_table(
    text: str, key: str, delimiters: tuple[str, ...], quote: str | None, disagree: bool
) -> tuple[Dialect, list[list[str]], str] | None:
    """The first of several tables one after another: the first block of lines
    between blank lines that is a table of its own (two rows or more of one width,
    two columns or more), when more lines follow it; its rows (with any text above
    it) and what the file holds, for the reason. Tables of one width are told
    apart when a later block opens with a header (the first one again, or names
    above typed rows); otherwise only when the rows ``disagree`` on their width."""
    if not _BLANK_LINE.search(text.strip()):
        return None  # no blank line between lines of text: one table
    lines = text.split("\n")
    blocks, start = [], None
    for number, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            blocks.append((start, number))
            start = None
    for first, end in blocks[:-1][:MAX_BLOCKS]:  # the last block has no table below it
        block = "\n".join(lines[first:end]) + "\n"
        found = sniff(block, key, delimiters, quote, complete=True)
        if found is None:
            continue
        dialect, rows = found
        if dialect.width > 1 and len(rows) > 1 and dialect.consistency >= MIN_CONSISTENCY:
            break
    else:
        return None
    rest = "\n".join(lines[end:])
    if dialect.multiline:
        return None
    if not disagree and not _opens_a_table(rest, dialect, rows[0]):
        return None
    read = partial(
        _parse,
        delimiter=dialect.delimiter,
        quote=dialect.quote,
        escape=dialect.escape,
        initial_space=dialect.initial_space,
        by_line=True,
    )
    held = _several_tables(read("\n".join(lines[first:])))
    what = held.removeprefix("; ").split(":")[0] if held else "the file holds several tables"
    return dialect, read("\n".join(lines[:end])), what


def _opens_a_table(rest: str, dialect: Dialect, header: list[str]) -> bool:
    """Whether a block below a blank line opens with a header: the first table's
    again, or string values above a typed column."""
    same = [v.strip().lower() for v in header]
    for block in re.split(r"\n\s*\n", rest.strip("\n"))[:MAX_BLOCKS]:
        rows = _parse(block, dialect.delimiter, dialect.quote, by_line=True)
        if not rows:
            continue
        first = [v.strip() for v in rows[0]]
        if [v.lower() for v in first] == same:
            return True
        if len(rows) < 2 or any(infer_value_type(v) not in (STRING, "null") for v in first):
            continue
        typed = _typed_column(first, rows[1:])
        if typed is not None and typed < len(first) and first[typed]:
            return True
    return False


def _line_refusal(dialect: Dialect, encoding: str, comment: str) -> str:
    """Why a table that must be read line by line cannot be: the reason's tail."""
    if dialect.multiline:
        return "and values that span lines: Spark cannot skip lines of such a file; remove them"
    if encoding.upper() not in LINE_ENCODINGS:
        return (
            f"in a file encoded {encoding}: Spark skips lines only of UTF-8 files; re-encode "
            f"it as UTF-8, or remove the lines"
        )
    if comment:
        return "and comment lines: remove the lines above the table"
    return ""


def _physical_lines(text: str, rows: int, dialect: Dialect) -> int:
    """How many lines of the file hold its first ``rows`` rows (blank lines, and
    lines of nothing but delimiters, between them included)."""
    if rows == 0:
        return 0
    empty = " \t\r" + dialect.delimiter + dialect.quote
    seen = 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip(empty):
            seen += 1
            if seen == rows:
                return number
    return rows


COMMENT_CHARS = "#%"


def comment_lines(text: str) -> tuple[str, list[str]]:
    """The character of comment lines above the header (``# exported by …``), and
    the lines below that block that start with it too (Spark's ``comment`` option
    skips those as well: the caller checks they are not records)."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first[:1] not in tuple(COMMENT_CHARS):
        return "", []
    char, block, later = first[0], True, []
    for line in lines:
        if not line.strip():
            continue
        if block and not line.startswith(char):
            block = False
        elif not block and line.startswith(char):
            later.append(line)
    return ("", []) if block else (char, later)


def _comment_free(text: str, comment: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(comment))


def _classify_csv(sample: Sample, name: str, rules: CsvRules) -> Classification:
    delimiters = (rules.delimiter,) if rules.delimiter else DELIMITERS
    quote, header, allow_single_column = rules.quote, rules.header, rules.allow_single_column
    decoded = sample.text
    if decoded is None:
        return no_match(name, "binary data (NUL or control bytes) in the sample", near=0.05)
    text, encoding = decoded
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends (Spark reads \r too)
    if sample.is_truncated and "\n" not in text:
        return no_match(
            name, "no complete line in the sample (a record longer than it)", near=TEXT_NEAR
        )
    text = _complete_lines(text, sample.is_truncated)
    comment, later = comment_lines(text)
    complete = not sample.is_truncated
    sniffed = None
    if comment:
        sniffed = sniff(_comment_free(text, comment), sample.key, delimiters, quote, complete)
        if sniffed is not None and any(  # a line below starting with it is a record
            len(row) == sniffed[0].width
            for row in _parse("\n".join(later), sniffed[0].delimiter, by_line=True)
        ):
            comment, sniffed = "", None
    if sniffed is None:
        sniffed = sniff(text, sample.key, delimiters, quote, complete)
    if sniffed is None:
        return no_match(name, "no rows in the sample (blank lines only)", near=TEXT_NEAR)
    dialect, rows = sniffed
    file_name = sample.key.lower()
    if sample.compression != "none":
        file_name = file_name.rsplit(".", 1)[0]  # data.csv.gz: judged as data.csv
    single_ok = (
        file_name.endswith(TEXT_EXTENSIONS) if allow_single_column is None else allow_single_column
    )
    if dialect.width < 2 and not single_ok:
        return no_match(name, "a single column (not allowed for this file)", near=TEXT_NEAR)
    first_table = ""
    if dialect.consistency < MIN_CONSISTENCY:
        found = _first_table(text, sample.key, delimiters, quote, disagree=True)
        if found is None:
            return no_match(
                name,
                f"rows disagree on the column count (best: {dialect.consistency:.0%} of rows "
                f"have {dialect.width} columns with delimiter {dialect.delimiter!r})"
                + _several_tables(rows),
                near=TEXT_NEAR,
            )
        dialect, rows, first_table = found
    elif header == "detect" and (
        found := _first_table(text, sample.key, delimiters, quote, disagree=False)
    ):
        dialect, rows, first_table = found
    preamble = _preamble(rows, dialect.width) if header == "detect" else 0
    starting = _preview(rows[0])
    if preamble:
        rows = rows[preamble:]
    first = fit_header(rows[0], dialect.width)
    rows = [first, *(row for row in rows[1:] if len(row) == dialect.width)]
    header_rows, two = 1, None
    if header == "detect":
        has_header, why = detect_header(rows[0], rows[1:], whole_file=not sample.is_truncated)
        if (two := two_row_header(rows)) is not None:
            has_header, header_rows, why = True, 2, "a header over two rows (names joined)"
    else:
        has_header, why = header == "present", f"{header} (set by the classifier)"
    data = rows[header_rows:] if has_header else rows
    spelled = two.names if header_rows == 2 and two else rows[0]
    names = column_names(
        list(rules.header_names) or (spelled if has_header else None), dialect.width
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
    above = preamble + (header_rows if has_header else 0)
    by_line = bool(preamble or first_table) or header_rows > 1
    if by_line:
        refusal = _line_refusal(dialect, encoding, comment)
        if refusal:
            what = (
                f"{preamble} line(s) of text above the first row of {dialect.width} columns "
                f"(starting {starting})"
                if preamble
                else first_table or f"a header over {header_rows} rows"
            )
            return no_match(name, f"{what}, {refusal}", near=TEXT_NEAR)
        skip = _physical_lines(text, above, dialect)
        properties["skip.header.line.count"] = str(skip)
        if preamble:
            why = f"{preamble} line(s) of text above it, skipped; {why}"
        if first_table:
            why = f"{why}; {first_table}: only the first is read, the rest quarantined"
    elif has_header:
        properties["skip.header.line.count"] = str(header_rows)
    options = {
        "header": str(has_header).lower(),
        "sep": dialect.delimiter,
        "quote": dialect.quote,
        "escape": dialect.escape,
        "encoding": encoding,
        "multiLine": str(dialect.multiline).lower(),
        **({"ignoreLeadingWhiteSpace": "true"} if dialect.initial_space else {}),
        **({"comment": comment} if comment else {}),
        **({SKIP_LINES: properties["skip.header.line.count"]} if by_line else {}),
        **({FIRST_TABLE: "true"} if first_table else {}),
        "mode": "PERMISSIVE",
        **typed.options,
    }
    reason = (
        f"{dialect.width} columns split by {dialect.delimiter!r} in "
        f"{dialect.consistency:.0%} of {len(rows)} sampled rows; header: {why}"
    )
    # Split by blanks, a file is a weaker match: lines of words split alike too.
    certainty = BLANK_CERTAINTY if dialect.delimiter == FALLBACK_DELIMITER else 1.0
    return Classification(name, "csv", certainty, reason, columns, properties, options)


classify_csv = csv_classifier()
