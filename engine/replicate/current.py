"""What one CDC batch does to a current-state table: the decisions of its MERGE, pure.

:func:`engine.spark.replicate.merge_current` executes these decisions in one Delta
MERGE; :func:`apply` is the same decisions over Python rows (the reference the tests
hold the MERGE to):

0. **Unchanged TOAST within the batch** (:func:`fill_unchanged`, before the MERGE):
   an update that left a TOASTed value out takes it from the key's earlier insert or
   update in the same batch — the MERGE sees only a key's last change, and the
   table's value is older than the batch's.
1. **TRUNCATE**: changes at or before the batch's last TRUNCATE are dropped and the
   table is emptied first (the MERGE deletes the rows no change matches).
2. **Key changes**: an update that moved a row's key (``old_key``) deletes the row
   under the old key; at the same position the delete comes first (``sub`` 0, the
   row itself 1), so an update moving a key back and forth ends where it ended.
3. **Last change per key**: of a key's changes the one at the highest (position,
   sub) wins; a delete deletes, an insert or update writes the whole row.
4. **Unchanged TOAST**: an update that left a TOASTed value out (``unchanged``)
   keeps the table's value of that column — or NULL when the table lacks the row.
   Known limit: an update that moves the key *and* leaves a TOASTed value out, of
   a row no earlier change in the batch holds, gets NULL there (the value is under
   the old key in the table, which a MERGE row cannot read).
5. **Keys compare null-safe** (:mod:`engine.lake.merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from catalog.ddl import quote_name
from engine.lake.merge import merge_condition
from engine.replicate.pgoutput import Change

INSERT, UPDATE, DELETE, TRUNCATE = "I", "U", "D", "T"
OLD_KEY_SUB, ROW_SUB = 0, 1  # a moved key's delete sorts before the row at one position
# key types whose batch range (min, max) may prune the MERGE's target files
RANGE_TYPES = ("tinyint", "smallint", "int", "bigint", "string", "date")

Key = tuple[Any, ...]
Row = dict[str, Any]


def fill_unchanged(changes: Sequence[Change], key: Sequence[str]) -> list[Change]:
    """The batch with each update's unchanged TOAST values taken from the same row's
    earlier change in the batch (following a moved key; a delete or TRUNCATE forgets
    it); what no earlier change holds stays unchanged (the table's value is kept)."""
    return list(iter_filled(changes, key))


def iter_filled(
    changes: Iterable[Change], key: Sequence[str], follow: Callable[[Key], bool] | None = None
) -> Iterator[Change]:
    """:func:`fill_unchanged` streamed; ``follow`` (when given) names the keys whose
    values are remembered — a batch read from files remembers only the rows that an
    update leaving TOAST out needs (engine.replicate.spill)."""
    if not key:
        yield from changes
        return
    known: dict[Key, dict[str, str | None]] = {}
    for change in changes:
        if change.op == TRUNCATE:
            known.clear()
            yield change
            continue
        row_key = tuple(change.values.get(k) for k in key)
        if change.op == DELETE:
            known.pop(row_key, None)
            yield change
            continue
        earlier = known.pop(
            row_key if change.old_key is None else tuple(change.old_key.get(k) for k in key), {}
        )
        if change.op == UPDATE and change.unchanged:
            filled = {c: earlier[c] for c in change.unchanged if c in earlier}
            if filled:
                change = replace(
                    change,
                    values={**change.values, **filled},
                    unchanged=tuple(c for c in change.unchanged if c not in filled),
                )
        if follow is None or follow(row_key):
            known[row_key] = {c: v for c, v in change.values.items() if c not in change.unchanged}
        yield change


def truncated_at(changes: Iterable[Change]) -> int | None:
    """The position of the batch's last TRUNCATE (None: no TRUNCATE)."""
    found = [c.lsn for c in changes if c.op == TRUNCATE]
    return max(found) if found else None


def latest(
    changes: Sequence[Change], key: Sequence[str]
) -> tuple[bool, dict[Key, tuple[str, Change]]]:
    """(whether the table is emptied first, the winning change per key as (op, change))."""
    cut = truncated_at(changes)
    kept = [c for c in changes if c.op != TRUNCATE and (cut is None or c.lsn > cut)]
    ranked: list[tuple[int, int, Key, str, Change]] = []
    for change in kept:
        new_key = tuple(change.values.get(k) for k in key)
        if change.old_key is not None:
            old = tuple(change.old_key.get(k) for k in key)
            ranked.append((change.lsn, OLD_KEY_SUB, old, DELETE, change))
        ranked.append((change.lsn, ROW_SUB, new_key, change.op, change))
    winners: dict[Key, tuple[str, Change]] = {}
    for _, _, found, op, change in sorted(ranked, key=lambda r: (r[0], r[1])):
        winners[found] = (op, change)
    return cut is not None, winners


def apply(
    table: Mapping[Key, Row], changes: Sequence[Change], key: Sequence[str], columns: Sequence[str]
) -> dict[Key, Row]:
    """The table (rows by key) after the batch (already through :func:`fill_unchanged`)."""
    emptied, winners = latest(changes, key)
    after = {} if emptied else {k: dict(v) for k, v in table.items()}
    for found, (op, change) in winners.items():
        if op == DELETE:
            after.pop(found, None)
            continue
        before = after.get(found, {})
        after[found] = {
            c: before.get(c) if c in change.unchanged else change.values.get(c) for c in columns
        }
    return after


@dataclass(frozen=True)
class MergeStatement:
    """The current-state MERGE in Spark SQL over the target ``t`` and the batch's
    latest change per key ``s`` (its columns, ``op`` and ``unchanged``)."""

    condition: str
    delete_when: str
    update_set: dict[str, str]
    insert_when: str
    insert_values: dict[str, str]
    delete_unmatched: bool


def merge_statement(
    columns: Sequence[tuple[str, str | None]],
    keys: Sequence[str],
    *,
    op: str,
    unchanged: str,
    truncated: bool,
    key_range: tuple[Any, Any] | None = None,
) -> MergeStatement:
    """``columns``: (target name, source column or None for a computed one); ``op``
    and ``unchanged``: the batch's columns holding the operation and the TOASTed
    source columns left out. ``key_range`` (a single key's batch min and max) lets
    Delta skip files outside it; never with a TRUNCATE, which must see every row."""
    condition = merge_condition(keys, "spark")
    if key_range is not None and not truncated:
        first = quote_name(keys[0])
        low, high = (literal(v) for v in key_range)
        condition += f" AND t.{first} >= {low} AND t.{first} <= {high}"
    update = {}
    for name, source in columns:
        quoted = quote_name(name)
        update[quoted] = (
            f"CASE WHEN array_contains(s.{unchanged}, {literal(source)}) "
            f"THEN t.{quoted} ELSE s.{quoted} END"
            if source
            else f"s.{quoted}"
        )
    return MergeStatement(
        condition=condition,
        delete_when=f"s.{op} = '{DELETE}'",
        update_set=update,
        insert_when=f"s.{op} <> '{DELETE}'",
        insert_values={quote_name(n): f"s.{quote_name(n)}" for n, _ in columns},
        delete_unmatched=truncated,
    )


def prunable(key_type: str) -> bool:
    """Whether a single key of this Spark type bounds the MERGE by the batch's range."""
    return key_type in RANGE_TYPES or key_type.startswith("decimal")


def literal(value: Any) -> str:
    """A Spark SQL literal of a key value (numbers, strings, dates, bytes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (bytes, bytearray)):
        return f"X'{bytes(value).hex()}'"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
