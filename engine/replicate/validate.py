"""Validation: the same row counts and checksums computed on the source (SQL) and on
the lake (Spark SQL), per key range, then compared. Plain Python: this module writes
the two dialects' expressions and compares what they return.

Each compared column becomes a canonical text both engines print alike (integers
and strings as they are, decimals at the target's scale, floats rounded to 4
places, timestamps as epoch microseconds, binary as lower-case hex, NULL as
``\\N``). A row's hash is the first 60 bits of the MD5 of its canonical columns
joined by U+001F; a range's checksum is the sum of its rows' hashes, so the order
rows are read in does not matter.

Ranges: a single integer primary key is cut into equal value ranges between its
minimum and maximum; any other key into hash buckets of its canonical text.
Columns the task computes (add-column) or retypes (change-data-type) are not
compared; rows are counted all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.replicate.mapping import TablePlan

SEPARATOR = "\u001f"
NULL_TEXT = "\\N"
INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")


@dataclass(frozen=True)
class ComparedColumn:
    source: str
    target: str
    spark_type: str
    as_text: bool = False


def compared_columns(plan: TablePlan) -> list[ComparedColumn]:
    types = {c.name: c for c in plan.source.columns}
    return [
        ComparedColumn(c.source, c.name, c.spark_type, types[c.source].as_text)
        for c in plan.columns
        if c.source is not None and not c.cast and c.source in types
    ]


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mysql_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _spark_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def source_canonical(column: ComparedColumn, dialect: str) -> str:
    """The column's canonical text in the source's SQL (postgresql | mysql)."""
    return pg_canonical(column) if dialect == "postgresql" else mysql_canonical(column)


def mysql_canonical(column: ComparedColumn) -> str:
    c, kind = _mysql_quote(column.source), column.spark_type
    if kind in ("float", "double"):
        text = f"CAST(CAST(ROUND({c}, 4) AS DECIMAL(38,4)) AS CHAR)"
    elif kind == "boolean":
        text = f"IF({c}, 'true', 'false')"
    elif kind == "date":
        text = f"DATE_FORMAT({c}, '%Y-%m-%d')"
    elif kind == "timestamp":  # as Spark reads it: the server's and the JVM's zone agree
        text = f"CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {c}) AS CHAR)"
    elif kind == "binary":
        text = f"LOWER(HEX({c}))"
    else:
        text = f"CAST({c} AS CHAR)"
    return f"COALESCE({text}, '{NULL_TEXT.replace(chr(92), chr(92) * 2)}')"


def pg_canonical(column: ComparedColumn) -> str:
    c, kind = _pg_quote(column.source), column.spark_type
    if column.as_text or kind == "string":
        # format() prints the type's own output (char(n) keeps its padding, as the
        # lake has it) but makes NULL an empty string: keep NULL NULL
        text = f"CASE WHEN {c} IS NOT NULL THEN format('%s', {c}) END"
    elif kind.startswith("decimal("):
        precision, scale = kind[8:-1].split(",")
        text = f"{c}::numeric({precision},{scale})::text"
    elif kind in ("float", "double"):
        text = (
            f"CASE WHEN {c}::float8 IN ('NaN', 'Infinity', '-Infinity') THEN {c}::float8::text "
            f"ELSE round({c}::float8::numeric, 4)::text END"
        )
    elif kind == "timestamp":
        text = f"(extract(epoch FROM {c}) * 1000000)::bigint::text"
    elif kind == "binary":
        text = f"encode({c}, 'hex')"
    else:  # integers, boolean, date
        text = f"{c}::text"
    return f"coalesce({text}, '{NULL_TEXT}')"


def spark_canonical(column: ComparedColumn) -> str:
    c, kind = _spark_quote(column.target), column.spark_type
    if kind.startswith("decimal(") or kind in INTEGER_TYPES or kind in ("string", "boolean"):
        text = f"cast({c} AS string)"
    elif kind == "date":
        text = f"date_format({c}, 'yyyy-MM-dd')"
    elif kind in ("float", "double"):
        d = f"cast({c} AS double)"
        text = (
            f"CASE WHEN isnan({d}) OR abs({d}) = double('infinity') THEN cast({d} AS string) "
            f"ELSE cast(cast(round({d}, 4) AS decimal(38,4)) AS string) END"
        )
    elif kind == "timestamp":
        text = f"cast(unix_micros({c}) AS string)"
    elif kind == "binary":
        text = f"lower(hex({c}))"
    else:
        text = f"cast({c} AS string)"
    return f"coalesce({text}, '{NULL_TEXT.replace(chr(92), chr(92) * 2)}')"


def source_row_hash(columns: list[ComparedColumn], dialect: str) -> str:
    joined = _source_join(columns, dialect)
    if dialect == "postgresql":
        return f"('x' || substr(md5({joined}), 1, 15))::bit(60)::bigint"
    return f"CAST(CONV(SUBSTR(MD5({joined}), 1, 15), 16, 10) AS UNSIGNED)"


def _source_join(columns: tuple[ComparedColumn, ...] | list[ComparedColumn], dialect: str) -> str:
    separator = "chr(31)" if dialect == "postgresql" else "CHAR(31 USING utf8mb4)"
    texts = ", ".join(source_canonical(c, dialect) for c in columns)
    return f"concat_ws({separator}, {texts})"


def spark_row_hash(columns: list[ComparedColumn]) -> str:
    joined = f"concat_ws('\\u001f', {', '.join(spark_canonical(c) for c in columns)})"
    return f"cast(conv(substr(md5({joined}), 1, 15), 16, 10) AS decimal(20,0))"


@dataclass(frozen=True)
class Bucketing:
    """How a table's rows fall into ranges: ``range`` over one integer key between
    ``low`` and ``low + width * count``, else ``hash`` of the key's text."""

    kind: str
    keys: tuple[ComparedColumn, ...]
    count: int
    low: int = 0
    width: int = 1

    def source(self, dialect: str) -> str:
        """The bucket of a row in the source's SQL."""
        if self.kind == "range":
            if dialect == "postgresql":
                key = _pg_quote(self.keys[0].source)
                return f"floor(({key} - {self.low})::numeric / {self.width})::bigint"
            key = _mysql_quote(self.keys[0].source)
            return f"FLOOR(({key} - {self.low}) / {self.width})"
        text = _source_join(self.keys, dialect)
        if dialect == "postgresql":
            return f"(('x' || substr(md5({text}), 1, 8))::bit(32)::bigint % {self.count})"
        return f"(CAST(CONV(SUBSTR(MD5({text}), 1, 8), 16, 10) AS UNSIGNED) % {self.count})"

    def spark(self) -> str:
        if self.kind == "range":
            key = _spark_quote(self.keys[0].target)
            return (
                f"cast(floor((cast({key} AS decimal(38,0)) - {self.low}) / {self.width}) AS bigint)"
            )
        text = f"concat_ws('\\u001f', {', '.join(spark_canonical(k) for k in self.keys)})"
        return f"pmod(cast(conv(substr(md5({text}), 1, 8), 16, 10) AS bigint), {self.count})"

    def describe(self, bucket: int) -> str:
        if self.kind == "range":
            low = self.low + bucket * self.width
            return f"{self.keys[0].target} {low}..{low + self.width - 1}"
        return f"hash bucket {bucket} of {self.count}"

    def source_key(self, dialect: str) -> str:
        return _source_join(self.keys, dialect)

    def spark_key(self) -> str:
        return f"concat_ws('\\u001f', {', '.join(spark_canonical(k) for k in self.keys)})"


def bucketing(plan: TablePlan, bounds: tuple[int, int] | None, count: int = 16) -> Bucketing:
    """Ranges for ``plan``: value ranges of a single integer key (``bounds`` its
    min and max on the source), else hash buckets of the whole key (or the row)."""
    columns = {c.source: c for c in compared_columns(plan)}
    keys = tuple(columns[k] for k in plan.source.primary_key if k in columns)
    if not keys or len(keys) != len(plan.source.primary_key):
        keys = tuple(columns.values())
    if len(keys) == 1 and keys[0].spark_type in INTEGER_TYPES and bounds is not None:
        low, high = bounds
        width = max(1, -(-(high - low + 1) // count))
        return Bucketing("range", keys, count, low, width)
    return Bucketing("hash", keys, count)


@dataclass(frozen=True)
class TableValidation:
    """A table's comparison: DMS's states ``Validated`` / ``Mismatched records``."""

    source_rows: int
    target_rows: int
    mismatched: tuple[str, ...]  # the first differing ranges, described
    missing_in_target: tuple[str, ...] = ()
    missing_in_source: tuple[str, ...] = ()
    different: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return "Validated" if self.ok else "Mismatched records"

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and not self.mismatched

    def describe(self) -> str:
        text = f"rows: source {self.source_rows}, lake {self.target_rows}"
        if self.mismatched:
            text += f"; differing ranges: {', '.join(self.mismatched)}"
        for label, keys in (
            ("missing in the lake", self.missing_in_target),
            ("not in the source", self.missing_in_source),
            ("different", self.different),
        ):
            if keys:
                text += f"; {label}: {', '.join(keys)}"
        return text


def mismatched_buckets(
    source: dict[int, tuple[int, int]], target: dict[int, tuple[int, int]]
) -> list[int]:
    """Buckets whose (count, checksum) differ, in bucket order."""
    return sorted(b for b in set(source) | set(target) if source.get(b) != target.get(b))


def key_differences(
    source: dict[str, int], target: dict[str, int], limit: int = 10
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(missing in target, missing in source, different) keys, the first ``limit`` each."""
    missing_target = sorted(k for k in source if k not in target)[:limit]
    missing_source = sorted(k for k in target if k not in source)[:limit]
    different = sorted(k for k in source if k in target and source[k] != target[k])[:limit]
    return tuple(missing_target), tuple(missing_source), tuple(different)
