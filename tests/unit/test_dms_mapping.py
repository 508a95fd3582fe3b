"""DMS table mappings: parsing, selection, transformation, errors naming rule ids."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import MappingError
from engine.replicate.mapping import (
    SourceColumn,
    SourceTable,
    filters_sql,
    parse_mapping,
    wildcard_regex,
)

pytestmark = pytest.mark.unit


def table(schema: str, name: str, *columns: str, pk: tuple[str, ...] = ("id",)) -> SourceTable:
    cols = tuple(SourceColumn(c, "int" if c == "id" else "string") for c in ("id", *columns))
    return SourceTable(schema, name, cols, pk)


TABLES = [
    table("public", "orders", "amount", "status"),
    table("public", "order_items", "sku"),
    table("public", "customers", "name", "email"),
    table("audit", "orders", "note"),
    table("public", "orders_v", "amount"),
]


def include(rule_id: str, schema: str, name: str, **extra: object) -> dict[str, object]:
    return {
        "rule-type": "selection",
        "rule-id": rule_id,
        "rule-name": rule_id,
        "object-locator": {"schema-name": schema, "table-name": name},
        "rule-action": "include",
        **extra,
    }


def mapping(*rules: dict[str, object]) -> str:
    return json.dumps({"rules": list(rules)})


def test_selection_wildcards_exclude_and_load_order() -> None:
    parsed = parse_mapping(
        mapping(
            include("1", "public", "order%"),
            include("2", "public", "customers", **{"load-order": 5}),
            {**include("3", "public", "order[_]items"), "rule-action": "exclude"},
        ),
        "task t",
    )
    plans = parsed.select(TABLES)
    assert [p.source_name for p in plans] == [
        "public.customers",
        "public.orders",
        "public.orders_v",
    ]
    assert plans[0].load_order == 5


def test_transformations_rename_prefix_case_remove_add_and_change_type() -> None:
    rules = [
        include("1", "public", "%"),
        {
            "rule-type": "transformation",
            "rule-id": "2",
            "rule-target": "table",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "add-prefix",
            "value": "src_",
        },
        {
            "rule-type": "transformation",
            "rule-id": "3",
            "rule-target": "column",
            "object-locator": {
                "schema-name": "%",
                "table-name": "customers",
                "column-name": "email",
            },
            "rule-action": "remove-column",
        },
        {
            "rule-type": "transformation",
            "rule-id": "4",
            "rule-target": "column",
            "object-locator": {
                "schema-name": "%",
                "table-name": "customers",
                "column-name": "name",
            },
            "rule-action": "convert-uppercase",
        },
        {
            "rule-type": "transformation",
            "rule-id": "5",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "customers"},
            "rule-action": "add-column",
            "value": "label",
            "expression": "$name || '@' || $AR_M_SOURCE_TABLE_NAME",
            "data-type": {"type": "string", "length": 50},
        },
        {
            "rule-type": "transformation",
            "rule-id": "6",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "orders", "column-name": "amount"},
            "rule-action": "change-data-type",
            "data-type": {"type": "numeric", "precision": 12, "scale": 2},
        },
        {
            "rule-type": "transformation",
            "rule-id": "7",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "orders", "column-name": "id"},
            "rule-action": "rename",
            "value": "order_id",
        },
    ]
    plans = {p.source_name: p for p in parse_mapping(mapping(*rules), "t").select(TABLES)}
    customers = plans["public.customers"]
    assert customers.target_table == "src_customers"
    assert [(c.name, c.source, c.expression) for c in customers.columns] == [
        ("id", "id", None),
        ("NAME", "name", None),
        ("label", None, "`name` || '@' || 'customers'"),
    ]
    orders = plans["public.orders"]
    assert orders.primary_key == ("order_id",)
    amount = next(c for c in orders.columns if c.source == "amount")
    assert (amount.spark_type, amount.cast) == ("decimal(12,2)", True)


def test_filters_become_one_predicate() -> None:
    rule = include(
        "1",
        "public",
        "orders",
        filters=[
            {
                "filter-type": "source",
                "column-name": "status",
                "filter-conditions": [
                    {"filter-operator": "eq", "value": "paid"},
                    {"filter-operator": "eq", "value": "it's"},
                ],
            },
            {
                "filter-type": "source",
                "column-name": "id",
                "filter-conditions": [
                    {"filter-operator": "between", "start-value": "10", "end-value": "20"}
                ],
            },
        ],
    )
    (plan,) = parse_mapping(mapping(rule), "t").select(TABLES)
    assert plan.filter_sql(lambda c: f'"{c}"') == (
        "(\"status\" = 'paid' OR \"status\" = 'it''s') AND (\"id\" BETWEEN '10' AND '20')"
    )
    assert filters_sql((), str) is None


def test_table_settings_ranges_give_segments() -> None:
    rules = [
        include("1", "public", "orders"),
        {
            "rule-type": "table-settings",
            "rule-id": "2",
            "object-locator": {"schema-name": "public", "table-name": "orders"},
            "parallel-load": {
                "type": "ranges",
                "columns": ["id"],
                "boundaries": [["100"], ["200"]],
            },
        },
    ]
    (plan,) = parse_mapping(mapping(*rules), "t").select(TABLES)
    assert plan.segments(lambda c: f'"{c}"') == (
        "(\"id\") <= ('100')",
        "(\"id\") > ('100') AND (\"id\") <= ('200')",
        "(\"id\") > ('200')",
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({**include("7", "public", "%"), "rule-action": "copy"}, "rule 7: rule-action"),
        (
            {
                "rule-type": "transformation",
                "rule-id": "9",
                "rule-target": "column",
                "object-locator": {"schema-name": "%", "table-name": "%", "column-name": "x"},
                "rule-action": "rename",
            },
            "rule 9: value: missing",
        ),
        (
            include(
                "4",
                "public",
                "orders",
                filters=[
                    {
                        "filter-type": "source",
                        "column-name": "id",
                        "filter-conditions": [{"filter-operator": "like", "value": "1"}],
                    }
                ],
            ),
            "rule 4: filters[0].filter-conditions[0].filter-operator",
        ),
        (
            {
                "rule-type": "transformation",
                "rule-id": "5",
                "rule-target": "column",
                "object-locator": {"schema-name": "%", "table-name": "%", "column-name": "x"},
                "rule-action": "change-data-type",
                "data-type": {"type": "varchar2"},
            },
            "rule 5: type: 'varchar2' is not one of",
        ),
        ({"rule-type": "selection", "rule-action": "include"}, "rule #1: rule-id: missing"),
        (include("3", "public", "[ab"), "rule 3: object-locator.table-name: unclosed"),
    ],
)
def test_bad_rules_name_the_rule_and_field(rule: dict[str, object], expected: str) -> None:
    rules = [rule] if rule.get("rule-type") == "selection" else [include("1", "%", "%"), rule]
    with pytest.raises(MappingError) as caught:
        parse_mapping(mapping(*rules), "task shop").select(TABLES)
    assert expected in str(caught.value)


def test_not_json_and_collisions_are_errors() -> None:
    with pytest.raises(MappingError, match="not valid JSON"):
        parse_mapping("{rules: [", "task shop")
    with pytest.raises(MappingError, match="both land as table orders"):
        parse_mapping(mapping(include("1", "%", "orders")), "t").select(TABLES)
    removing_key = {
        "rule-type": "transformation",
        "rule-id": "2",
        "rule-target": "column",
        "object-locator": {"schema-name": "%", "table-name": "orders", "column-name": "id"},
        "rule-action": "remove-column",
    }
    with pytest.raises(MappingError, match="primary-key"):
        parse_mapping(mapping(include("1", "public", "orders"), removing_key), "t").select(TABLES)


def _sql_like_reference(pattern: str, name: str) -> bool:
    """An independent reading of DMS wildcards: match character by character."""

    def match(p: int, n: int) -> bool:
        if p == len(pattern):
            return n == len(name)
        if pattern[p] == "%":
            return any(match(p + 1, k) for k in range(n, len(name) + 1))
        if n == len(name):
            return False
        if pattern[p] == "_":
            return match(p + 1, n + 1)
        return pattern[p] == name[n] and match(p + 1, n + 1)

    return match(0, 0)


@given(
    st.text(alphabet="ab%_", max_size=6),
    st.text(alphabet="ab_", max_size=6),
)
def test_wildcards_agree_with_a_reference_matcher(pattern: str, name: str) -> None:
    assert (wildcard_regex(pattern).fullmatch(name) is not None) == _sql_like_reference(
        pattern, name
    )


def test_bracket_sets_ranges_and_literal_underscore() -> None:
    assert wildcard_regex("t[_]x").fullmatch("t_x")
    assert not wildcard_regex("t[_]x").fullmatch("tax")
    assert wildcard_regex("t[a-c]").fullmatch("tb")
    assert not wildcard_regex("t[a-c]").fullmatch("td")
    assert wildcard_regex("Orders").fullmatch("orders") is None  # case-sensitive, as DMS
