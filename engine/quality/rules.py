"""Quality rules: the compact list in ``headwater.yaml``, as great-expectations
expectations and as the row condition that picks a failing row for quarantine.

```yaml
rules:
  - not_null: [order_id, customer_id]        # one rule per column
  - unique: order_id                          # a list: unique together
  - in_set: {column: country, values: [DE, FR, NL]}
  - between: {column: quantity, min: 1, max: 100}   # min or max may be left out
  - regex: {column: email, pattern: '^[^@]+@[^@]+$'}
  - row_count: {min: 1, max: 5000000}
  - schema: {order_id: bigint, amount: double} # present with these types (or a list)
  - {not_null: email, mostly: 0.95, name: email_mostly_there}
```

Each rule has a name (``not_null:order_id`` unless given), the expectation it becomes
(type and kwargs) and, for row-level rules, a Spark SQL condition true for exactly the
rows great-expectations counts as unexpected (nulls are not unexpected except for
``not_null``; ``regex`` matches anywhere, as ``rlike``). Table-level rules
(``row_count``, ``schema``, expectations headwater cannot express per row) have no
condition: no row can be set aside for them. Pure: no Spark, no great-expectations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError

NOT_NULL, UNIQUE, IN_SET, BETWEEN, REGEX, ROW_COUNT, SCHEMA = (
    "not_null",
    "unique",
    "in_set",
    "between",
    "regex",
    "row_count",
    "schema",
)
KINDS = (NOT_NULL, UNIQUE, IN_SET, BETWEEN, REGEX, ROW_COUNT, SCHEMA)
OPTIONS = ("name", "mostly")
ROW_LEVEL = {
    "expect_column_values_to_not_be_null": NOT_NULL,
    "expect_column_values_to_be_unique": UNIQUE,
    "expect_compound_columns_to_be_unique": UNIQUE,
    "expect_column_values_to_be_in_set": IN_SET,
    "expect_column_values_to_be_between": BETWEEN,
    "expect_column_values_to_match_regex": REGEX,
}
# Hive type names (as the catalog shows them) -> the Spark type class names
# great-expectations' expect_column_values_to_be_of_type compares with.
SPARK_TYPE_CLASSES = {
    "bigint": "LongType",
    "int": "IntegerType",
    "smallint": "ShortType",
    "tinyint": "ByteType",
    "double": "DoubleType",
    "float": "FloatType",
    "string": "StringType",
    "boolean": "BooleanType",
    "date": "DateType",
    "timestamp": "TimestampType",
    "timestamp_ntz": "TimestampNTZType",
    "binary": "BinaryType",
    "decimal": "DecimalType",
}


@dataclass(frozen=True)
class Rule:
    """One expectation with headwater's name for it."""

    name: str
    kind: str  # one of KINDS, or "expectation" for a native one headwater passes through
    expectation_type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()

    @property
    def is_row_level(self) -> bool:
        return self.kind in ROW_LEVEL.values()

    def failing_condition(self) -> str | None:
        """A Spark SQL condition true for the rows this rule counts as unexpected;
        None for a table-level rule."""
        if not self.is_row_level:
            return None
        cols = [quote_name(c) for c in self.columns]
        kwargs = self.kwargs
        if self.kind == NOT_NULL:
            return f"{cols[0]} IS NULL"
        if self.kind == UNIQUE:
            over = f"count(1) OVER (PARTITION BY {', '.join(cols)}) > 1"
            if len(cols) == 1:
                return f"({cols[0]} IS NOT NULL AND {over})"
            # great-expectations skips rows whose key columns are all null
            return f"(NOT ({' AND '.join(f'{c} IS NULL' for c in cols)}) AND {over})"
        column = cols[0]
        if self.kind == IN_SET:
            values = ", ".join(literal(v) for v in kwargs["value_set"])
            return f"({column} IS NOT NULL AND NOT ({column} IN ({values})))"
        if self.kind == BETWEEN:
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            outside = []
            if low is not None:
                outside.append(
                    f"{column} {'<=' if kwargs.get('strict_min') else '<'} {literal(low)}"
                )
            if high is not None:
                outside.append(
                    f"{column} {'>=' if kwargs.get('strict_max') else '>'} {literal(high)}"
                )
            return f"({column} IS NOT NULL AND ({' OR '.join(outside)}))"
        return f"({column} IS NOT NULL AND NOT ({column} RLIKE {literal(kwargs['regex'])}))"


def parse_rules(raw: Sequence[Any], where: str) -> list[Rule]:
    """The compact rule list; errors name the rule's position and what is allowed."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(f"{where}: rules must be a list", key=where)
    rules: list[Rule] = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(
                f"{at}: a rule is a mapping such as {{not_null: id}}, not {item!r}",
                hint=f"rule kinds: {', '.join(KINDS)}",
                key=at,
            )
        kinds = [k for k in item if k in KINDS]
        unknown = [k for k in item if k not in KINDS and k not in OPTIONS]
        if len(kinds) != 1 or unknown:
            raise ConfigError(
                f"{at}: a rule has exactly one of {', '.join(KINDS)} "
                f"(and optionally {', '.join(OPTIONS)}); got {', '.join(map(str, item))}",
                key=at,
            )
        rules += _expand(kinds[0], item[kinds[0]], item, at)
    check_names(rules, where)
    return rules


def check_names(rules: Sequence[Rule], where: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(
                f"{where}: two rules are named {rule.name!r}",
                hint="give one of them its own 'name:'",
                key=where,
            )
        seen.add(rule.name)


def _expand(kind: str, value: Any, item: Mapping[str, Any], at: str) -> list[Rule]:
    name = item.get("name")
    mostly = item.get("mostly")
    if mostly is not None and (
        not isinstance(mostly, int | float) or isinstance(mostly, bool) or not 0 < mostly <= 1
    ):
        raise ConfigError(f"{at}: mostly must be a fraction in (0, 1], not {mostly!r}", key=at)
    extra = {} if mostly is None else {"mostly": float(mostly)}
    if kind in (NOT_NULL, UNIQUE):
        columns = _names(value, at, kind)
        if kind == UNIQUE and len(columns) > 1:
            return [
                Rule(
                    str(name or f"unique:{','.join(columns)}"),
                    UNIQUE,
                    "expect_compound_columns_to_be_unique",
                    {"column_list": list(columns), **extra},
                    columns,
                )
            ]
        expectation = (
            "expect_column_values_to_not_be_null"
            if kind == NOT_NULL
            else "expect_column_values_to_be_unique"
        )
        return [
            Rule(
                str(name or f"{kind}:{c}") if len(columns) == 1 else f"{name or kind}:{c}",
                kind,
                expectation,
                {"column": c, **extra},
                (c,),
            )
            for c in columns
        ]
    if kind in (IN_SET, BETWEEN, REGEX):
        spec = _mapping(value, at, kind, required=("column",))
        column = _names(spec["column"], f"{at}.{kind}.column", kind)
        if len(column) != 1:
            raise ConfigError(f"{at}: {kind} checks one column", key=f"{at}.{kind}.column")
        (col,) = column
        if kind == IN_SET:
            values = _mapping(value, at, kind, required=("column", "values"))["values"]
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{at}: in_set.values must be a non-empty list", key=at)
            args: dict[str, Any] = {"value_set": values}
            expectation = "expect_column_values_to_be_in_set"
        elif kind == BETWEEN:
            args = _bounds(
                spec, at, kind, allowed=("column", "min", "max", "strict_min", "strict_max")
            )
            expectation = "expect_column_values_to_be_between"
        else:
            pattern = _mapping(value, at, kind, required=("column", "pattern"))["pattern"]
            if not isinstance(pattern, str) or not pattern:
                raise ConfigError(f"{at}: regex.pattern must be a non-empty string", key=at)
            args = {"regex": pattern}
            expectation = "expect_column_values_to_match_regex"
        return [
            Rule(
                str(name or f"{kind}:{col}"),
                kind,
                expectation,
                {"column": col, **args, **extra},
                (col,),
            )
        ]
    if mostly is not None:
        raise ConfigError(f"{at}: mostly applies to row-level rules, not {kind}", key=at)
    if kind == ROW_COUNT:
        spec = _mapping(value, at, kind, required=())
        bounds = _bounds(spec, at, kind, allowed=("min", "max"))
        return [
            Rule(str(name or ROW_COUNT), ROW_COUNT, "expect_table_row_count_to_be_between", bounds)
        ]
    return _schema_rules(value, str(name or SCHEMA), at)


def _schema_rules(value: Any, name: str, at: str) -> list[Rule]:
    typed: dict[str, str | None]
    if isinstance(value, Mapping):
        typed = {str(k): (None if v is None else str(v).strip().lower()) for k, v in value.items()}
    else:
        typed = dict.fromkeys(_names(value, at, SCHEMA))
    if not typed:
        raise ConfigError(f"{at}: schema names at least one column", key=at)
    rules = [
        Rule(
            name,
            SCHEMA,
            "expect_table_columns_to_match_set",
            {"column_set": list(typed), "exact_match": False},
            tuple(typed),
        )
    ]
    for column, hive_type in typed.items():
        if hive_type is None:
            continue
        base = hive_type.split("(", 1)[0]
        if base not in SPARK_TYPE_CLASSES:
            raise ConfigError(
                f"{at}: schema type {hive_type!r} of {column} is not one of "
                f"{', '.join(SPARK_TYPE_CLASSES)}",
                key=f"{at}.schema.{column}",
            )
        rules.append(
            Rule(
                f"{name}:{column}",
                SCHEMA,
                "expect_column_values_to_be_of_type",
                {"column": column, "type_": SPARK_TYPE_CLASSES[base]},
                (column,),
            )
        )
    return rules


def _names(value: Any, at: str, kind: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(
            f"{at}: {kind} takes a column name or a list of them, not {value!r}", key=at
        )
    return tuple(names)


def _mapping(value: Any, at: str, kind: str, required: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{at}: {kind} takes a mapping with {', '.join(required) or 'min/max'}, not {value!r}",
            key=at,
        )
    missing = [k for k in required if k not in value]
    if missing:
        raise ConfigError(f"{at}: {kind} needs {', '.join(missing)}", key=at)
    return value


def _bounds(
    spec: Mapping[str, Any], at: str, kind: str, allowed: tuple[str, ...]
) -> dict[str, Any]:
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        raise ConfigError(
            f"{at}: {kind} takes {', '.join(allowed)}; not {', '.join(unknown)}", key=at
        )
    low, high = spec.get("min"), spec.get("max")
    if low is None and high is None:
        raise ConfigError(f"{at}: {kind} needs min, max or both", key=at)
    for bound in (low, high):
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, int | float | str)
        ):
            raise ConfigError(
                f"{at}: {kind} bounds are numbers or ISO dates, not {bound!r}", key=at
            )
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        raise ConfigError(f"{at}: {kind} min {low} is above max {high}", key=at)
    bounds: dict[str, Any] = {"min_value": low, "max_value": high}
    for flag in ("strict_min", "strict_max"):
        if spec.get(flag):
            bounds[flag] = True
    return bounds


def rules_from_suite(document: Mapping[str, Any], where: str) -> list[Rule]:
    """A native great-expectations suite (its JSON): each expectation becomes a rule,
    row-level when headwater knows its row condition."""
    expectations = document.get("expectations")
    if not isinstance(expectations, list):
        raise ConfigError(f"{where}: a suite has an 'expectations' list", key=where)
    rules = []
    for index, item in enumerate(expectations):
        found = isinstance(item, Mapping)
        kind_name = (item.get("type") or item.get("expectation_type")) if found else None
        if not isinstance(kind_name, str):
            raise ConfigError(f"{where}: expectations[{index}] has no 'type'", key=where)
        kwargs = dict(item.get("kwargs") or {})
        kind = ROW_LEVEL.get(kind_name, "expectation")
        columns = tuple(
            kwargs.get("column_list") or ([kwargs["column"]] if "column" in kwargs else [])
        )
        meta = item.get("meta") or {}
        label = meta.get("name") or (f"{kind_name}:{','.join(columns)}" if columns else kind_name)
        rules.append(Rule(str(label), kind, kind_name, kwargs, columns))
    check_names(rules, where)
    return rules


def quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(value: Any) -> str:
    """A Spark SQL literal for a rule's value (strings quoted, numbers as they are)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
