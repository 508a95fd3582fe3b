from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from catalog.model import Column
from engine.schema import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    NULL,
    STRING,
    TIMESTAMP,
    infer_column_type,
    infer_value_type,
    merge_schemas,
    parse_type,
    render_type,
    widen,
)

TYPES = [NULL, BOOLEAN, BIGINT, DOUBLE, DATE, TIMESTAMP, STRING]


def test_infer_value_type_recognises_each_type() -> None:
    assert infer_value_type("") == NULL
    assert infer_value_type(" 42 ") == BIGINT
    assert infer_value_type("-3.5e2") == DOUBLE
    assert infer_value_type("TRUE") == BOOLEAN
    assert infer_value_type("2026-01-31") == DATE
    assert infer_value_type("2026-01-31 10:00:00.123") == TIMESTAMP
    assert infer_value_type("2026-01-31T10:00:00Z") == TIMESTAMP
    assert infer_value_type("2026-13-31") == STRING  # month 13 is no date
    assert infer_value_type("12abc") == STRING
    assert infer_value_type(str(2**63)) == DOUBLE  # too big for bigint


def test_column_types_widen_as_glue_does() -> None:
    assert infer_column_type(["1", "2", ""]) == BIGINT
    assert infer_column_type(["1", "2.5"]) == DOUBLE
    assert infer_column_type(["2026-01-01", "2026-01-01 10:00"]) == TIMESTAMP
    assert infer_column_type(["1", "x"]) == STRING
    assert infer_column_type(["true", "1"]) == STRING


@given(st.sampled_from(TYPES), st.sampled_from(TYPES))
def test_widen_is_commutative(a: str, b: str) -> None:
    assert widen(a, b) == widen(b, a)


@given(st.sampled_from(TYPES), st.sampled_from(TYPES), st.sampled_from(TYPES))
def test_widen_is_associative(a: str, b: str, c: str) -> None:
    assert widen(widen(a, b), c) == widen(a, widen(b, c))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_int64_is_bigint(value: int) -> None:
    assert infer_value_type(str(value)) == BIGINT


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
def test_non_integral_floats_are_double(value: float) -> None:
    assert infer_value_type(repr(value)) == DOUBLE


def test_merge_schemas_unions_columns_and_widens() -> None:
    merged = merge_schemas(
        [
            [Column("id", BIGINT), Column("price", BIGINT)],
            [Column("id", BIGINT), Column("price", DOUBLE), Column("note", NULL)],
        ]
    )
    assert merged == (Column("id", BIGINT), Column("price", DOUBLE), Column("note", STRING))


@given(
    st.lists(
        st.sampled_from(
            [
                "",
                " ",
                "1",
                "-7",
                "+3",
                "99999999999999999999",
                "1.5",
                ".5",
                "1e3",
                "NaN",
                "-inf",
                "true",
                "FALSE",
                "2026-01-31",
                "2026-13-01",
                "2026-01-31 10:00",
                "2026-01-31T10:00:00.5Z",
                "abc",
                "1,5",
                " 42 ",
                "१२",
            ]
        ),
        max_size=8,
    )
)
def test_column_inference_equals_widening_value_by_value(values: list[str]) -> None:
    expected = NULL
    for value in values:
        expected = widen(expected, infer_value_type(value))
    assert infer_column_type(values) == expected


def test_a_decimal_inside_a_struct_keeps_its_scale() -> None:
    text = "struct<u:decimal(20,0),v:array<decimal(9,2)>>"
    assert render_type(parse_type(text)) == text


def test_names_merge_regardless_of_case_spelled_as_first_seen() -> None:
    merged = merge_schemas(
        [[Column("Id", "bigint"), Column("Name", "string")], [Column("id", "double")]]
    )
    assert merged == (Column("Id", "double"), Column("Name", "string"))
