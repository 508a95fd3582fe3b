"""What an ingestion job reads, how it maps columns and where it writes: plain values
parsed from Glue-style arguments (every value a string; lists comma-separated,
structures JSON), validated with errors that name the argument.

```
--source landing.sales                       a catalog table
--source s3://landing/events/ --format json  a path with a format
--connection shop --source public.orders     a JDBC table (or --query "SELECT …")
--target raw.sales --write_mode merge --merge_keys id --partition_keys dt
--mapping '[["id","string","order_id","bigint"],["customer.name","string","name","string"]]'
--bookmark_keys updated_at,id                JDBC high-water mark columns
```
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError
from engine.lake.sink import APPEND, MERGE, MODES
from engine.vocabulary import BOOKMARK_OPTIONS, BookmarkOption

CATALOG, PATH, JDBC = "catalog", "path", "jdbc"
WRITE_MODES = MODES
PATH_FORMATS = ("csv", "json", "parquet", "orc", "avro", "xml", "text")
# Formats whose malformed records are set aside: Spark's columnNameOfCorruptRecord
# for CSV and JSON, unmatched lines of log (regex) tables.
QUARANTINABLE = ("csv", "json", "regex")
RESOLVE_ACTIONS = ("cast", "project", "make_cols", "make_struct")
TYPE = re.compile(
    r"(boolean|tinyint|smallint|int|integer|bigint|long|float|double|string|binary|date"
    r"|timestamp|timestamp_ntz|decimal(\(\d{1,2},\s*\d{1,2}\))?)",
    re.IGNORECASE,
)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SOURCE_CONTEXT = "source"  # the generic ingest job's transformation_ctx


@dataclass(frozen=True)
class ColumnMapping:
    """One ApplyMapping entry: a source field (``a.b`` selects a nested field), its
    type as read, the target column and its type (a cast when they differ)."""

    source: str
    source_type: str | None
    target: str
    target_type: str | None


@dataclass(frozen=True)
class ChoiceSpec:
    """resolve-choice for one column: ``cast:T``/``project:T`` keep values that
    convert to T (others null, counted); ``make_cols:T1,T2`` splits the column into
    ``col_T1``, ``col_T2``; ``make_struct:T1,T2`` into a struct of both."""

    column: str
    action: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # catalog | path | jdbc
    name: str  # database.table, a path URI, or schema.table ("" for a JDBC query)
    format: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    connection: str | None = None
    query: str | None = None
    push_down_predicate: str | None = None
    bookmark_keys: tuple[str, ...] = ()
    bookmark_descending: bool = False
    partition_column: str | None = None
    num_partitions: int = 4

    @property
    def described(self) -> str:
        if self.kind == JDBC:
            return f"{self.connection}:{self.name or '(query)'}"
        return self.name


@dataclass(frozen=True)
class SinkSpec:
    database: str
    table: str
    mode: str = APPEND
    merge_keys: tuple[str, ...] = ()
    partition_keys: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.table}"


@dataclass(frozen=True)
class IngestSpec:
    job_name: str
    source: SourceSpec
    sink: SinkSpec
    mapping: tuple[ColumnMapping, ...] = ()
    choices: tuple[ChoiceSpec, ...] = ()
    bookmark_option: str = BookmarkOption.ENABLE
    lineage: bool = True
    quarantine: bool = True
    max_bad_records: int | None = None  # None: no limit (bad records only quarantined)


def _list(options: dict[str, str], key: str) -> tuple[str, ...]:
    items = tuple(p.strip() for p in options.get(key, "").split(",") if p.strip())
    for item in items:
        if not NAME.fullmatch(item):
            raise ConfigError(f"--{key}: {item!r} is not a column name", key=key)
    return items


def _json(options: dict[str, str], key: str) -> Any:
    text = options.get(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--{key} is not valid JSON ({exc.msg} at character {exc.pos})", key=key
        ) from exc


def _flag(options: dict[str, str], key: str, default: bool) -> bool:
    value = options.get(key)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise ConfigError(f"--{key} {value!r} must be true or false", key=key)
    return value.lower() == "true"


def _table_name(value: str, key: str) -> tuple[str, str]:
    parts = value.split(".")
    if len(parts) != 2 or not all(NAME.fullmatch(p) for p in parts):
        raise ConfigError(
            f"--{key} {value!r} must be database.table", hint="e.g. raw.sales", key=key
        )
    return parts[0], parts[1].lower()


def parse_mapping(raw: Any) -> tuple[ColumnMapping, ...]:
    """Glue's ApplyMapping list: ``[source, source_type, target, target_type]`` (or
    ``[source, target]`` to rename without a cast)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise ConfigError("--mapping must be a non-empty JSON list of entries", key="mapping")
    mappings = []
    for index, entry in enumerate(raw):
        where = f"--mapping[{index}]"
        if not isinstance(entry, list) or len(entry) not in (2, 4):
            raise ConfigError(
                f"{where} = {entry!r}: give [source, source_type, target, target_type] or "
                "[source, target]",
                key="mapping",
            )
        if len(entry) == 2:
            source, target, source_type, target_type = entry[0], entry[1], None, None
        else:
            source, source_type, target, target_type = entry
        for label, value in (("source_type", source_type), ("target_type", target_type)):
            if value is not None and not TYPE.fullmatch(str(value)):
                raise ConfigError(
                    f"{where}: {label} {value!r} is not a type (e.g. bigint, string, "
                    "decimal(10,2), timestamp)",
                    key="mapping",
                )
        if not isinstance(source, str) or not source or not isinstance(target, str):
            raise ConfigError(f"{where}: source and target must be names", key="mapping")
        if not NAME.fullmatch(target):
            raise ConfigError(
                f"{where}: target {target!r} must be a plain column name (letters, digits, _)",
                key="mapping",
            )
        mappings.append(
            ColumnMapping(
                source,
                str(source_type).lower() if source_type else None,
                target,
                str(target_type).lower() if target_type else None,
            )
        )
    targets = [m.target.lower() for m in mappings]
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    if duplicated:
        raise ConfigError(
            f"--mapping writes column(s) {', '.join(duplicated)} more than once", key="mapping"
        )
    return tuple(mappings)


def parse_choices(raw: Any) -> tuple[ChoiceSpec, ...]:
    """``[["price", "cast:double"], ["code", "make_cols:bigint,string"]]``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("--resolve_choice must be a JSON list", key="resolve_choice")
    specs = []
    for index, entry in enumerate(raw):
        where = f"--resolve_choice[{index}]"
        if not (
            isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)
        ):
            raise ConfigError(f"{where} = {entry!r}: give [column, action]", key="resolve_choice")
        column, action = entry
        kind, _, types_text = action.partition(":")
        types = tuple(t.strip().lower() for t in types_text.split(",") if t.strip())
        if kind not in RESOLVE_ACTIONS or not types or not all(TYPE.fullmatch(t) for t in types):
            raise ConfigError(
                f"{where}: action {action!r} must be cast:TYPE, project:TYPE, "
                "make_cols:T1,T2 or make_struct:T1,T2",
                key="resolve_choice",
            )
        if kind in ("cast", "project") and len(types) != 1:
            raise ConfigError(f"{where}: {kind} takes one type", key="resolve_choice")
        specs.append(ChoiceSpec(column, kind, types))
    return tuple(specs)


def parse_source(options: dict[str, str]) -> SourceSpec:
    connection = options.get("connection")
    source = options.get("source", "")
    query = options.get("query")
    keys = _list(options, "bookmark_keys")
    order = options.get("bookmark_order", "asc").lower()
    if order not in ("asc", "desc"):
        raise ConfigError(f"--bookmark_order {order!r} must be asc or desc", key="bookmark_order")
    try:
        partitions = int(options.get("num_partitions", "4"))
    except ValueError:
        partitions = 0
    if partitions < 1:
        raise ConfigError("--num_partitions must be a positive number", key="num_partitions")
    common: dict[str, Any] = {
        "push_down_predicate": options.get("push_down_predicate"),
        "bookmark_keys": keys,
        "bookmark_descending": order == "desc",
        "partition_column": options.get("partition_column"),
        "num_partitions": partitions,
    }
    if connection:
        if bool(source) == bool(query):
            raise ConfigError(
                "a JDBC source needs exactly one of --source schema.table or --query",
                hint="e.g. --connection shop --source public.orders",
                key="source",
            )
        return SourceSpec(JDBC, source, connection=connection, query=query, **common)
    if not source:
        raise ConfigError(
            "missing job argument --source (a catalog table, a path, or with --connection "
            "a database table)",
            hint="e.g. --source landing.sales",
            key="source",
        )
    if keys:
        raise ConfigError(
            "--bookmark_keys applies to JDBC sources; file sources are bookmarked by file",
            key="bookmark_keys",
        )
    source_options = _json(options, "source_options") or {}
    if not isinstance(source_options, dict):
        raise ConfigError("--source_options must be a JSON object", key="source_options")
    pairs = tuple(sorted((str(k), str(v)) for k, v in source_options.items()))
    if "://" in source or source.startswith("/"):
        fmt = options.get("format", "").lower()
        if fmt not in PATH_FORMATS:
            raise ConfigError(
                f"--source {source} is a path: give --format ({', '.join(PATH_FORMATS)})",
                key="format",
            )
        return SourceSpec(PATH, source, format=fmt, options=pairs, **common)
    database, table = _table_name(source, "source")
    return SourceSpec(CATALOG, f"{database}.{table}", options=pairs, **common)


def parse_spec(options: dict[str, str]) -> IngestSpec:
    """An :class:`IngestSpec` from resolved ``--KEY value`` options."""
    database, table = _table_name(options.get("target", ""), "target")
    mode = options.get("write_mode", APPEND).lower()
    if mode not in WRITE_MODES:
        raise ConfigError(
            f"--write_mode {mode!r} must be one of {', '.join(WRITE_MODES)}", key="write_mode"
        )
    merge_keys = _list(options, "merge_keys")
    if (mode == MERGE) != bool(merge_keys):
        raise ConfigError(
            "--merge_keys goes with --write_mode merge (and merge needs them)",
            hint="e.g. --write_mode merge --merge_keys id",
            key="merge_keys",
        )
    bookmark = options.get("job-bookmark-option", BookmarkOption.ENABLE)
    if bookmark not in BOOKMARK_OPTIONS:
        raise ConfigError(
            f"--job-bookmark-option {bookmark!r} must be one of {', '.join(BOOKMARK_OPTIONS)}",
            key="job-bookmark-option",
        )
    limit = options.get("max_bad_records")
    try:
        max_bad = None if limit is None else int(limit)
    except ValueError:
        max_bad = -1
    if max_bad is not None and max_bad < 0:
        raise ConfigError("--max_bad_records must be a number ≥ 0", key="max_bad_records")
    return IngestSpec(
        job_name=options["JOB_NAME"],
        source=parse_source(options),
        sink=SinkSpec(database, table, mode, merge_keys, _list(options, "partition_keys")),
        mapping=parse_mapping(_json(options, "mapping")),
        choices=parse_choices(_json(options, "resolve_choice")),
        bookmark_option=bookmark,
        lineage=_flag(options, "lineage", True),
        quarantine=_flag(options, "quarantine", True),
        max_bad_records=max_bad,
    )
