"""The decisions of the current-state MERGE (engine/replicate/current.py), pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.replicate.current import (
    apply,
    fill_unchanged,
    latest,
    literal,
    merge_statement,
    prunable,
    truncated_at,
)
from engine.replicate.pgoutput import Change

pytestmark = pytest.mark.unit
KEY, COLUMNS = ("id",), ("id", "v", "doc")


def change(
    op: str, lsn: int, unchanged: tuple[str, ...] = (), old: Any = None, **values: Any
) -> Change:
    return Change(
        op,
        "public",
        "t",
        lsn,
        lsn,
        0,
        1,
        values=values,
        unchanged=unchanged,
        old_key=None if old is None else {"id": old},
    )


def after(table: dict[Any, dict[str, Any]], *changes: Change) -> dict[Any, dict[str, Any]]:
    rows = {(k,): v for k, v in table.items()}
    found = apply(rows, fill_unchanged(changes, KEY), KEY, COLUMNS)
    return {k[0]: v for k, v in found.items()}


def row(id_: Any, v: Any, doc: Any) -> dict[str, Any]:
    return {"id": id_, "v": v, "doc": doc}


def test_the_last_change_per_key_wins() -> None:
    assert after(
        {"1": row("1", "old", "d")},
        change("U", 10, id="1", v="a", doc="d"),
        change("I", 11, id="2", v="b", doc="e"),
        change("U", 12, id="1", v="c", doc="d"),
        change("D", 13, id="2"),
    ) == {"1": row("1", "c", "d")}


def test_a_truncate_empties_the_table_and_drops_the_changes_before_it() -> None:
    changes = [
        change("I", 10, id="5", v="gone", doc="x"),
        change("T", 11),
        change("I", 12, id="6", v="kept", doc="y"),
    ]
    assert truncated_at(changes) == 11
    assert after({"1": row("1", "a", "b")}, *changes) == {"6": row("6", "kept", "y")}
    assert latest(changes, KEY)[0] is True


def test_an_update_that_moves_the_key_deletes_the_old_one() -> None:
    assert after(
        {"1": row("1", "a", "d"), "3": row("3", "c", "f")},
        change("U", 10, old="1", id="2", v="a", doc="d"),
        change("U", 11, old="3", id="1", v="c", doc="f"),  # back onto the freed key
    ) == {"2": row("2", "a", "d"), "1": row("1", "c", "f")}


def test_a_key_moved_and_moved_back_at_one_position_ends_where_it_ended() -> None:
    # the old key's delete sorts before the row itself at the same position
    _, winners = latest([change("U", 10, old="1", id="1", v="z", doc="d")], KEY)
    assert winners[("1",)][0] == "U"


def test_unchanged_toast_keeps_the_tables_value() -> None:
    assert after(
        {"1": row("1", "a", "big document")},
        change("U", 10, unchanged=("doc",), id="1", v="b", doc=None),
    ) == {"1": row("1", "b", "big document")}


def test_unchanged_toast_takes_the_batchs_earlier_value_not_the_tables() -> None:
    """The MERGE sees only a key's last change: an earlier update of the TOASTed
    column in the same batch must not be lost to the table's older value."""
    changes = [
        change("U", 10, id="1", v="b", doc="new document"),
        change("U", 11, unchanged=("doc",), id="1", v="c", doc=None),
    ]
    filled = fill_unchanged(changes, KEY)
    assert filled[1].values["doc"] == "new document" and filled[1].unchanged == ()
    assert after({"1": row("1", "a", "old document")}, *changes) == {
        "1": row("1", "c", "new document")
    }


def test_unchanged_toast_follows_a_moved_key_and_forgets_a_deleted_one() -> None:
    changes = [
        change("I", 10, id="1", v="a", doc="inserted"),
        change("U", 11, old="1", id="2", v="b", doc="inserted"),
        change("U", 12, unchanged=("doc",), id="2", v="c", doc=None),
        change("D", 13, id="2"),
        change("U", 14, unchanged=("doc",), id="2", v="d", doc=None),  # no earlier value
    ]
    filled = fill_unchanged(changes, KEY)
    assert filled[2].values["doc"] == "inserted" and filled[2].unchanged == ()
    assert filled[4].unchanged == ("doc",)


def test_without_a_key_nothing_is_filled() -> None:
    changes = [change("U", 10, unchanged=("doc",), id="1", v="b", doc=None)]
    assert fill_unchanged(changes, ()) == changes


def test_the_merge_statement_spells_the_decisions() -> None:
    statement = merge_statement(
        [("id", "id"), ("v", "v"), ("loaded", None)],
        ("id",),
        op="Op",
        unchanged="unchanged",
        truncated=False,
        key_range=(3, 9),
    )
    assert statement.condition == "t.`id` <=> s.`id` AND t.`id` >= 3 AND t.`id` <= 9"
    assert statement.delete_when == "s.Op = 'D'"
    assert statement.insert_when == "s.Op <> 'D'"
    assert statement.update_set["`v`"] == (
        "CASE WHEN array_contains(s.unchanged, 'v') THEN t.`v` ELSE s.`v` END"
    )
    assert statement.update_set["`loaded`"] == "s.`loaded`"  # computed: never TOASTed
    assert statement.insert_values == {"`id`": "s.`id`", "`v`": "s.`v`", "`loaded`": "s.`loaded`"}
    assert not statement.delete_unmatched


def test_a_truncating_merge_deletes_unmatched_rows_and_is_never_pruned_by_range() -> None:
    statement = merge_statement(
        [("id", "id")], ("id",), op="Op", unchanged="u", truncated=True, key_range=(1, 2)
    )
    assert statement.delete_unmatched
    assert statement.condition == "t.`id` <=> s.`id`"


def test_key_literals_and_prunable_types() -> None:
    assert literal(3) == "3" and literal(Decimal("1.50")) == "1.50"
    assert literal(date(2026, 1, 2)) == "DATE '2026-01-02'"
    assert literal("it's") == "'it\\'s'" and literal(b"\x01\xff") == "X'01ff'"
    assert literal(True) == "true"
    assert prunable("bigint") and prunable("decimal(10,2)") and not prunable("double")
