"""DMS table mappings: the JSON DMS users already have, parsed to rules and applied to
the source's tables (plain Python, no Spark, no database).

Supported, as DMS documents them:

- ``selection`` rules: ``object-locator`` ``schema-name`` / ``table-name`` with DMS
  wildcards (``%`` any run, ``_`` one character, ``[_]`` a literal underscore,
  ``[ab]`` a set, ``[a-d]`` a range; case-sensitive), ``table-type``
  (table | view | all), ``rule-action`` include | exclude | explicit, ``load-order``
  and source ``filters`` (``eq``, ``noteq``, ``ste``/``lte``, ``gte``, ``between``,
  ``notbetween``, ``null``, ``notnull``; conditions of one filter are ORed, filters
  are ANDed).
- ``transformation`` rules on ``schema``, ``table`` and ``column``: ``rename``,
  ``convert-lowercase``, ``convert-uppercase``, ``add-prefix``, ``remove-prefix``,
  ``replace-prefix``, ``add-suffix``, ``remove-suffix``, ``replace-suffix``;
  ``remove-column``, ``include-column``, ``add-column`` (``data-type`` and an
  ``expression`` with ``$COLUMN`` references), ``change-data-type``.
- ``table-settings`` rules: ``parallel-load`` of type ``ranges`` (``columns`` and
  ``boundaries``: N boundaries, N + 1 segments) and ``none``; ``lob-settings`` is
  accepted and has no effect (LOBs are never truncated here).

Anything else is an error naming the rule id and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from catalog.ddl import quote_name
from engine.errors import MappingError, ReplicationError

SELECTION, TRANSFORMATION, TABLE_SETTINGS = "selection", "transformation", "table-settings"
NAME_ACTIONS = (
    "rename",
    "convert-lowercase",
    "convert-uppercase",
    "add-prefix",
    "remove-prefix",
    "replace-prefix",
    "add-suffix",
    "remove-suffix",
    "replace-suffix",
)
COLUMN_ACTIONS = ("remove-column", "include-column", "add-column", "change-data-type")
FILTER_OPERATORS = ("eq", "noteq", "ste", "lte", "gte", "between", "notbetween", "null", "notnull")
# DMS data types (the ``data-type.type`` of add-column / change-data-type) as Spark types.
DMS_TYPES: dict[str, str] = {
    "string": "string",
    "wstring": "string",
    "clob": "string",
    "nclob": "string",
    "boolean": "boolean",
    "int1": "tinyint",
    "int2": "smallint",
    "int4": "int",
    "int8": "bigint",
    "uint1": "smallint",
    "uint2": "int",
    "uint4": "bigint",
    "uint8": "decimal(20,0)",
    "real4": "float",
    "real8": "double",
    "numeric": "decimal",
    "date": "date",
    "time": "string",
    "datetime": "timestamp",
    "bytes": "binary",
    "blob": "binary",
}


@dataclass(frozen=True)
class SourceColumn:
    name: str
    spark_type: str  # as Spark's JDBC reader types it (``int``, ``decimal(10,2)``, …)
    as_text: bool = False  # a type landed in its text form (arrays, intervals, …)


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...] = ()
    kind: str = "table"  # table | view


def source_tables(
    columns: list[tuple[str, str, str, SourceColumn]], keys: dict[tuple[str, str], list[str]]
) -> list[SourceTable]:
    """Tables from discovery rows (schema, table, table type, column) in column order
    and primary-key columns per table; a table type containing VIEW is a view."""
    tables: dict[tuple[str, str], tuple[str, list[SourceColumn]]] = {}
    for schema, table, kind, column in columns:
        tables.setdefault((schema, table), (kind, []))[1].append(column)
    return [
        SourceTable(
            schema,
            table,
            tuple(found),
            tuple(keys.get((schema, table), ())),
            "view" if "VIEW" in kind.upper() else "table",
        )
        for (schema, table), (kind, found) in tables.items()
    ]


def refuse_views(plans: list[TablePlan]) -> None:
    """CDC captures tables only (as DMS): a view among the plans is an error."""
    for plan in plans:
        if plan.source.kind == "view":
            raise ReplicationError(
                f"{plan.source_name} is a view: CDC captures tables only (as DMS)",
                hint="exclude views from CDC tasks, or use migration_type full-load",
                table=plan.source_name,
            )


@dataclass(frozen=True)
class Condition:
    operator: str
    value: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class SourceFilter:
    column: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Rule:
    """One rule of any type; the fields a type does not use stay empty."""

    rule_id: str
    rule_type: str
    action: str
    schema: str = "%"
    table: str = "%"
    column: str = "%"
    target: str = ""  # transformation: schema | table | column
    table_type: str = "table"
    load_order: int = 0
    filters: tuple[SourceFilter, ...] = ()
    value: str | None = None
    old_value: str | None = None
    data_type: str | None = None  # a Spark type
    expression: str | None = None
    ranges: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None  # columns, bounds


@dataclass(frozen=True)
class ColumnPlan:
    """One target column: from a source column (``source``) or an expression."""

    name: str
    source: str | None
    spark_type: str
    cast: bool = False  # change-data-type: cast the source value
    expression: str | None = None  # add-column, in Spark SQL
    rule_id: str | None = None


@dataclass(frozen=True)
class TablePlan:
    """What to do with one selected source table."""

    source: SourceTable
    target_schema: str
    target_table: str
    columns: tuple[ColumnPlan, ...]
    primary_key: tuple[str, ...]  # target names
    filters: tuple[SourceFilter, ...] = ()
    load_order: int = 0
    ranges: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None  # parallel-load

    @property
    def source_name(self) -> str:
        return f"{self.source.schema}.{self.source.name}"

    def filter_sql(self, quote: Callable[[str], str]) -> str | None:
        """The source filters as one SQL predicate (``quote`` quotes identifiers)."""
        return filters_sql(self.filters, quote)

    def segments(self, quote: Callable[[str], str]) -> tuple[str, ...]:
        """DMS ``ranges``: N boundaries (upper bounds, compared as row values) give
        N + 1 source predicates; none without a parallel-load rule."""
        if self.ranges is None:
            return ()
        columns, bounds = self.ranges
        row = "(" + ", ".join(quote(c) for c in columns) + ")"
        values = ["(" + ", ".join(sql_string(v) for v in bound) + ")" for bound in bounds]
        segments = [f"{row} <= {values[0]}"]
        segments += [f"{row} > {low} AND {row} <= {high}" for low, high in pairwise(values)]
        segments.append(f"{row} > {values[-1]}")
        return tuple(segments)


@dataclass(frozen=True)
class TableMapping:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def select(self, tables: Sequence[SourceTable]) -> list[TablePlan]:
        """The plans of the tables the selection rules keep, transformed, in load
        order (higher first, as DMS), then by name."""
        selections = [r for r in self.rules if r.rule_type == SELECTION]
        plans = []
        for table in tables:
            matched = [r for r in selections if _selects(r, table)]
            if not matched or any(r.action == "exclude" for r in matched):
                continue
            filters = tuple(f for r in matched for f in r.filters)
            plans.append(self._plan(table, filters, max(r.load_order for r in matched)))
        _check_unique(plans)
        return sorted(plans, key=lambda p: (-p.load_order, p.source_name))

    def _plan(self, table: SourceTable, filters: tuple[SourceFilter, ...], order: int) -> TablePlan:
        names = {c.name for c in table.columns}
        for condition_filter in filters:
            if condition_filter.column not in names:
                raise MappingError(
                    f"a filter of the selection rules names column {condition_filter.column!r}, "
                    f"which {table.schema}.{table.name} does not have "
                    f"(it has {', '.join(sorted(names))})",
                    hint="column names in filters are case-sensitive",
                    table=f"{table.schema}.{table.name}",
                )
        schema, name = table.schema, table.name
        columns = [ColumnPlan(c.name, c.name, c.spark_type) for c in table.columns]
        ranges = None
        included: set[str] | None = None
        for rule in (r for r in self.rules if r.rule_type != SELECTION):
            if not (_like(rule.schema, table.schema) and _like(rule.table, table.name)):
                continue
            if rule.rule_type == TABLE_SETTINGS:
                ranges = _check_ranges(rule, table) if rule.ranges else ranges
            elif rule.target == "schema":
                schema = rename(rule, schema)
            elif rule.target == "table":
                name = rename(rule, name)
            elif rule.action == "add-column":
                assert rule.value is not None and rule.data_type is not None
                columns.append(
                    ColumnPlan(
                        rule.value,
                        None,
                        rule.data_type,
                        expression=spark_expression(rule.expression, table),
                        rule_id=rule.rule_id,
                    )
                )
            else:
                matching = [c for c in columns if c.source and _like(rule.column, c.source)]
                if rule.action == "include-column":
                    included = (included or set()) | {c.name for c in matching}
                elif rule.action == "remove-column":
                    columns = [c for c in columns if c not in matching]
                elif rule.action == "change-data-type":
                    assert rule.data_type is not None
                    columns = [
                        replace(c, spark_type=rule.data_type, cast=True, rule_id=rule.rule_id)
                        if c in matching
                        else c
                        for c in columns
                    ]
                else:
                    columns = [
                        replace(c, name=rename(rule, c.name)) if c in matching else c
                        for c in columns
                    ]
        if included is not None:
            columns = [c for c in columns if c.name in included or c.source is None]
        target_of = {c.source: c.name for c in columns if c.source}
        missing = [k for k in table.primary_key if k not in target_of]
        if missing:
            raise MappingError(
                f"the transformation rules remove primary-key column(s) {', '.join(missing)} "
                f"of {table.schema}.{table.name}: changes could not be applied without them",
                hint="keep the key columns (rename them if needed)",
                table=f"{table.schema}.{table.name}",
            )
        return TablePlan(
            source=table,
            target_schema=schema,
            target_table=name,
            columns=tuple(columns),
            primary_key=tuple(target_of[k] for k in table.primary_key),
            filters=filters,
            load_order=order,
            ranges=ranges,
        )


# -- parsing ------------------------------------------------------------------------------
def parse_mapping(document: str | dict[str, Any] | list[Any], origin: str) -> TableMapping:
    """Parse DMS table-mapping JSON (text, or the decoded object): ``{"rules": [...]}``."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise MappingError(
                f"{origin}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                hint='table mappings are DMS\'s JSON: {"rules": [...]}',
            ) from exc
    rules_list = document.get("rules") if isinstance(document, dict) else document
    if not isinstance(rules_list, list) or not rules_list:
        raise MappingError(
            f"{origin}: table mappings need a non-empty 'rules' list",
            hint='e.g. {"rules": [{"rule-type": "selection", "rule-id": "1", '
            '"object-locator": {"schema-name": "public", "table-name": "%"}, '
            '"rule-action": "include"}]}',
        )
    rules = tuple(_rule(body, index, origin) for index, body in enumerate(rules_list))
    seen: set[str] = set()
    for rule in rules:
        if rule.rule_id in seen:
            raise MappingError(
                f"{origin}: rule-id {rule.rule_id} is used twice", hint="give each rule its own id"
            )
        seen.add(rule.rule_id)
    if not any(r.rule_type == SELECTION and r.action != "exclude" for r in rules):
        raise MappingError(
            f"{origin}: no selection rule includes anything",
            hint='add a rule with "rule-type": "selection" and "rule-action": "include"',
        )
    ordered = sorted(rules, key=lambda r: (_numeric(r.rule_id), r.rule_id))
    return TableMapping(tuple(ordered))


def _numeric(rule_id: str) -> int:
    return int(rule_id) if rule_id.isdigit() else 1 << 62


class _Fields:
    """Read one rule's fields, each error naming the rule id and the field."""

    def __init__(self, body: dict[str, Any], rule_id: str, origin: str) -> None:
        self.body, self.rule_id, self.origin = body, rule_id, origin

    def fail(self, field_name: str, problem: str, hint: str | None = None) -> MappingError:
        return MappingError(
            f"{self.origin}: rule {self.rule_id}: {field_name}: {problem}",
            hint=hint,
            rule_id=self.rule_id,
            field=field_name,
        )

    def text(
        self, name: str, where: dict[str, Any] | None = None, default: str | None = None
    ) -> str:
        source = self.body if where is None else where
        value = source.get(name, default)
        if value is None:
            raise self.fail(name, "missing")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise self.fail(name, f"must be a string, not {value!r}")
        return str(value)

    def choice(self, name: str, allowed: Sequence[str], where: dict[str, Any] | None = None) -> str:
        value = self.text(name, where)
        if value not in allowed:
            raise self.fail(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value


def _rule(body: Any, index: int, origin: str) -> Rule:
    if not isinstance(body, dict):
        raise MappingError(f"{origin}: rule #{index + 1} is not an object")
    rule_id = str(body.get("rule-id", f"#{index + 1}"))
    fields = _Fields(body, rule_id, origin)
    if "rule-id" not in body:
        raise fields.fail("rule-id", "missing", "every rule needs a unique rule-id")
    rule_type = fields.choice("rule-type", (SELECTION, TRANSFORMATION, TABLE_SETTINGS))
    locator = body.get("object-locator")
    if not isinstance(locator, dict):
        raise fields.fail("object-locator", "missing or not an object")
    schema = fields.text("schema-name", locator)
    table = fields.text("table-name", locator, default="%")
    _check_pattern(fields, "object-locator.schema-name", schema)
    _check_pattern(fields, "object-locator.table-name", table)
    if rule_type == SELECTION:
        return _selection(fields, body, locator, schema, table)
    if rule_type == TABLE_SETTINGS:
        return _table_settings(fields, body, schema, table)
    return _transformation(fields, body, locator, schema, table)


def _selection(
    fields: _Fields, body: dict[str, Any], locator: dict[str, Any], schema: str, table: str
) -> Rule:
    action = fields.choice("rule-action", ("include", "exclude", "explicit"))
    if action == "explicit" and (_has_wildcard(schema) or _has_wildcard(table)):
        raise fields.fail("object-locator", "an explicit rule names one table, without wildcards")
    table_type = locator.get("table-type", "table")
    if table_type not in ("table", "view", "all"):
        raise fields.fail("object-locator.table-type", f"{table_type!r} is not table, view or all")
    order = body.get("load-order", 0)
    if not isinstance(order, int) or isinstance(order, bool):
        try:
            order = int(order)
        except (TypeError, ValueError):
            raise fields.fail("load-order", f"must be a whole number, not {order!r}") from None
    filters = tuple(_filter(fields, f, i) for i, f in enumerate(body.get("filters") or []))
    if filters and action == "exclude":
        raise fields.fail("filters", "filters apply to include rules only")
    return Rule(
        rule_id=fields.rule_id,
        rule_type=SELECTION,
        action="include" if action == "explicit" else action,
        schema=schema,
        table=table,
        table_type=table_type,
        load_order=order,
        filters=filters,
    )


def _filter(fields: _Fields, body: Any, index: int) -> SourceFilter:
    where = f"filters[{index}]"
    if not isinstance(body, dict):
        raise fields.fail(where, "not an object")
    kind = body.get("filter-type", "source")
    if kind != "source":
        raise fields.fail(f"{where}.filter-type", f"{kind!r}: only 'source' filters exist")
    column = fields.text("column-name", body)
    conditions = body.get("filter-conditions")
    if not isinstance(conditions, list) or not conditions:
        raise fields.fail(f"{where}.filter-conditions", "needs at least one condition")
    parsed = []
    for j, condition in enumerate(conditions):
        at = f"{where}.filter-conditions[{j}]"
        if not isinstance(condition, dict):
            raise fields.fail(at, "not an object")
        operator = condition.get("filter-operator")
        if operator not in FILTER_OPERATORS:
            raise fields.fail(
                f"{at}.filter-operator", f"{operator!r} is not one of {', '.join(FILTER_OPERATORS)}"
            )
        if operator in ("between", "notbetween"):
            if "start-value" not in condition or "end-value" not in condition:
                raise fields.fail(at, f"{operator} needs start-value and end-value")
            parsed.append(
                Condition(
                    operator, start=str(condition["start-value"]), end=str(condition["end-value"])
                )
            )
        elif operator in ("null", "notnull"):
            parsed.append(Condition(operator))
        else:
            if "value" not in condition:
                raise fields.fail(at, f"{operator} needs a value")
            parsed.append(Condition(operator, value=str(condition["value"])))
    if len(parsed) > 1 and any(c.operator in ("noteq", "notbetween", "notnull") for c in parsed):
        raise fields.fail(f"{where}.filter-conditions", "a negative operator allows one condition")
    return SourceFilter(column, tuple(parsed))


def _transformation(
    fields: _Fields, body: dict[str, Any], locator: dict[str, Any], schema: str, table: str
) -> Rule:
    target = fields.choice("rule-target", ("schema", "table", "column"))
    allowed = NAME_ACTIONS + (COLUMN_ACTIONS if target == "column" else ())
    action = fields.text("rule-action")
    if action not in allowed:
        raise fields.fail(
            "rule-action",
            f"{action!r} is not supported on a {target} (supported: {', '.join(allowed)})",
        )
    column = "%"
    if target == "column" and action != "add-column":
        column = fields.text("column-name", locator)
        _check_pattern(fields, "object-locator.column-name", column)
    value = old_value = data_type = expression = None
    if action in ("rename", "add-prefix", "add-suffix", "replace-prefix", "replace-suffix"):
        value = fields.text("value")
    if action in ("remove-prefix", "remove-suffix", "replace-prefix", "replace-suffix"):
        old_value = fields.text("old-value")
    if action in ("add-column", "change-data-type"):
        data_type = _data_type(fields, body.get("data-type"))
    if action == "add-column":
        value = fields.text("value")
        raw = body.get("expression")
        if raw is not None and not isinstance(raw, str):
            raise fields.fail("expression", "must be a string")
        expression = raw
    return Rule(
        rule_id=fields.rule_id,
        rule_type=TRANSFORMATION,
        action=action,
        target=target,
        schema=schema,
        table=table,
        column=column,
        value=value,
        old_value=old_value,
        data_type=data_type,
        expression=expression,
    )


def _data_type(fields: _Fields, body: Any) -> str:
    if not isinstance(body, dict):
        raise fields.fail("data-type", 'missing or not an object (e.g. {"type": "int8"})')
    kind = fields.choice("type", tuple(DMS_TYPES), body)
    if kind != "numeric":
        return DMS_TYPES[kind]
    try:
        precision, scale = int(body.get("precision", 38)), int(body.get("scale", 0))
    except (TypeError, ValueError):
        raise fields.fail("data-type", "precision and scale must be whole numbers") from None
    if not 1 <= precision <= 38 or not 0 <= scale <= precision:
        raise fields.fail("data-type", f"numeric({precision},{scale}) is out of range (1-38)")
    return f"decimal({precision},{scale})"


def _table_settings(fields: _Fields, body: dict[str, Any], schema: str, table: str) -> Rule:
    for name, value in (("schema-name", schema), ("table-name", table)):
        if _has_wildcard(value):
            raise fields.fail(
                f"object-locator.{name}", "table-settings name one table: no wildcards"
            )
    parallel = body.get("parallel-load")
    ranges = None
    if parallel is not None:
        if not isinstance(parallel, dict):
            raise fields.fail("parallel-load", "must be an object")
        kind = fields.choice("type", ("ranges", "none", "partitions-auto"), parallel)
        if kind == "partitions-auto":
            raise fields.fail(
                "parallel-load.type",
                "partitions-auto is not supported for PostgreSQL or MySQL sources here",
                "use 'ranges' (as DMS does for PostgreSQL), or the task's partitions setting",
            )
        if kind == "ranges":
            columns = parallel.get("columns")
            bounds = parallel.get("boundaries")
            if not isinstance(columns, list) or not columns or len(columns) > 10:
                raise fields.fail("parallel-load.columns", "give 1 to 10 column names")
            if not isinstance(bounds, list) or not bounds:
                raise fields.fail("parallel-load.boundaries", "give at least one boundary")
            for i, bound in enumerate(bounds):
                if not isinstance(bound, list) or len(bound) != len(columns):
                    raise fields.fail(
                        f"parallel-load.boundaries[{i}]",
                        f"must list {len(columns)} value(s), one per column",
                    )
            ranges = (
                tuple(str(c) for c in columns),
                tuple(tuple(str(v) for v in bound) for bound in bounds),
            )
    return Rule(
        rule_id=fields.rule_id,
        rule_type=TABLE_SETTINGS,
        action="table-settings",
        schema=schema,
        table=table,
        ranges=ranges,
    )


# -- names and wildcards ------------------------------------------------------------------
_WILDCARD = re.compile(r"[%_\[]")


def _has_wildcard(pattern: str) -> bool:
    return bool(_WILDCARD.search(pattern.replace("[_]", "")))


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """A DMS name pattern as a regex: ``%``, ``_``, ``[_]``, ``[ab]``, ``[a-d]``."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError(f"unclosed '[' in {pattern!r}")
            inner = pattern[i + 1 : end]
            if not inner:
                raise ValueError(f"empty '[]' in {pattern!r}")
            if inner == "_":
                out.append("_")
            else:
                out.append("[" + "".join("\\" + c if c in "\\^]" else c for c in inner) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _check_pattern(fields: _Fields, name: str, pattern: str) -> None:
    try:
        wildcard_regex(pattern)
    except ValueError as exc:
        raise fields.fail(name, str(exc)) from None


def _like(pattern: str, name: str) -> bool:
    return wildcard_regex(pattern).fullmatch(name) is not None


def _selects(rule: Rule, table: SourceTable) -> bool:
    if rule.table_type != "all" and rule.table_type != table.kind:
        return False
    return _like(rule.schema, table.schema) and _like(rule.table, table.name)


def rename(rule: Rule, name: str) -> str:
    """A name after a rename / case / prefix / suffix rule (DMS semantics: a prefix
    or suffix that is not there is left alone)."""
    value, old = rule.value or "", rule.old_value or ""
    if rule.action == "rename":
        return value
    if rule.action == "convert-lowercase":
        return name.lower()
    if rule.action == "convert-uppercase":
        return name.upper()
    if rule.action == "add-prefix":
        return value + name
    if rule.action == "add-suffix":
        return name + value
    if rule.action in ("remove-prefix", "replace-prefix"):
        return (
            (value if rule.action == "replace-prefix" else "") + name.removeprefix(old)
            if (name.startswith(old))
            else name
        )
    if rule.action in ("remove-suffix", "replace-suffix"):
        return (
            name.removesuffix(old) + (value if rule.action == "replace-suffix" else "")
            if (name.endswith(old))
            else name
        )
    raise AssertionError(rule.action)


def _check_unique(plans: list[TablePlan]) -> None:
    seen: dict[str, str] = {}
    for plan in plans:
        key = plan.target_table.lower()
        if key in seen:
            raise MappingError(
                f"{seen[key]} and {plan.source_name} both land as table {plan.target_table}",
                hint="add a transformation rule (rename or add-prefix) to tell them apart",
                table=plan.source_name,
            )
        seen[key] = plan.source_name
        names = [c.name.lower() for c in plan.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise MappingError(
                f"{plan.source_name}: the transformation rules give two columns the name "
                f"{duplicated[0]}",
                table=plan.source_name,
            )


# -- SQL fragments -------------------------------------------------------------------------
def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filters_sql(filters: Sequence[SourceFilter], quote: Callable[[str], str]) -> str | None:
    """Filters as SQL that PostgreSQL, MySQL and Spark all read (values as string
    literals, which each compares with the column's type)."""
    parts = []
    for source_filter in filters:
        column = quote(source_filter.column)
        ors = [_condition_sql(column, c) for c in source_filter.conditions]
        parts.append("(" + " OR ".join(ors) + ")")
    return " AND ".join(parts) or None


def _condition_sql(column: str, condition: Condition) -> str:
    op = condition.operator
    if op == "null":
        return f"{column} IS NULL"
    if op == "notnull":
        return f"{column} IS NOT NULL"
    if op in ("between", "notbetween"):
        assert condition.start is not None and condition.end is not None
        inner = f"{column} BETWEEN {sql_string(condition.start)} AND {sql_string(condition.end)}"
        return inner if op == "between" else f"NOT ({inner})"
    assert condition.value is not None
    symbol = {"eq": "=", "noteq": "<>", "ste": "<=", "lte": "<=", "gte": ">="}[op]
    return f"{column} {symbol} {sql_string(condition.value)}"


def _check_ranges(
    rule: Rule, table: SourceTable
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    assert rule.ranges is not None
    columns, _ = rule.ranges
    names = {c.name for c in table.columns}
    for column in columns:
        if column not in names:
            raise MappingError(
                f"rule {rule.rule_id}: parallel-load.columns: {table.schema}.{table.name} has no "
                f"column {column!r}",
                rule_id=rule.rule_id,
                field="parallel-load.columns",
            )
    return rule.ranges


_COLUMN_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def spark_expression(expression: str | None, table: SourceTable) -> str:
    """A DMS add-column expression (SQLite syntax, ``$COLUMN`` references) as Spark
    SQL: ``$x`` becomes the column; ``$AR_M_SOURCE_SCHEMA`` / ``$AR_M_SOURCE_TABLE_NAME``
    the source's names. No expression gives NULL."""
    if not expression:
        return "NULL"
    metadata = {
        "AR_M_SOURCE_SCHEMA": sql_string(table.schema),
        "AR_M_SOURCE_TABLE_NAME": sql_string(table.name),
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return metadata.get(name) or quote_name(name)

    return _COLUMN_REF.sub(substitute, expression)
