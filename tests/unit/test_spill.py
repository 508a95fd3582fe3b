"""A CDC batch's changes bounded in the driver (engine/replicate/spill.py): past the
limit they go to Parquet files, come back in order, and the TOAST fill over the files
matches the in-memory one."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from engine.replicate import spill as spill_module
from engine.replicate.current import fill_unchanged
from engine.replicate.pgoutput import Change
from engine.replicate.spill import Spill
from engine.storage import LocalStore

pytestmark = pytest.mark.unit
KEYS = {("public", "big"): ("id",), ("public", "small"): ("id",), ("public", "log"): ()}


def change(
    table: str, op: str, lsn: int, unchanged: tuple[str, ...] = (), old: Any = None, **values: Any
) -> Change:
    return Change(
        op,
        "public",
        table,
        lsn,
        lsn + 1000,
        lsn * 10,
        7,
        values=values,
        unchanged=unchanged,
        columns=("id", "v", "doc"),
        old_key=None if old is None else {"id": old},
    )


def new_spill(tmp_path: Path, memory: int) -> Spill:
    return Spill(LocalStore(tmp_path, "raw"), "_headwater/replicate/t/spill", KEYS, memory)


def test_a_small_batch_stays_in_memory(tmp_path: Path) -> None:
    spill = new_spill(tmp_path, 100)
    for lsn in range(10):
        spill.add(change("small", "I", lsn, id=str(lsn), v="x", doc=None))
    spill.close()
    table = spill.tables[("public", "small")]
    assert not table.spilled and len(table.held) == 10 and spill.files_written == 0
    assert not (tmp_path / "raw" / "_headwater").exists()


def test_past_the_limit_the_largest_table_goes_to_files_and_comes_back_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill_module, "FILE_ROWS", 7)
    spill = new_spill(tmp_path, 20)
    written = []
    for lsn in range(100):
        name = "big" if lsn % 10 else "small"
        found = change(name, "U" if lsn % 3 else "I", lsn, id=str(lsn % 17), v=f"v{lsn}", doc="d")
        spill.add(found)
        assert spill.held <= 20  # never more than the limit in memory
        if name == "big":
            written.append(found)
    spill.close()
    big, small = spill.tables[("public", "big")], spill.tables[("public", "small")]
    assert big.spilled and not big.held and not small.spilled and len(small.held) == 10
    assert list(spill.read(big, big.files)) == written
    assert big.count == 90 and big.ops == {"U": 60, "I": 30} and big.last == written[-1]
    assert all(f.startswith("_headwater/replicate/t/spill/public.big/part-") for f in big.files)
    spill.clear()
    assert not list(LocalStore(tmp_path, "raw").list("_headwater/"))


def test_the_toast_fill_over_files_matches_the_one_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill_module, "FILE_ROWS", 5)
    random.seed(3)
    changes = []
    for lsn in range(1, 301):
        row, kind = str(random.randint(1, 12)), random.random()
        if kind < 0.3:
            changes.append(change("big", "I", lsn, id=row, v=str(lsn), doc=f"doc {lsn}"))
        elif kind < 0.7:  # leaves the TOASTed document out
            changes.append(change("big", "U", lsn, ("doc",), id=row, v=str(lsn)))
        elif kind < 0.8:  # moves the row to another key
            changes.append(
                change("big", "U", lsn, old=row, id=str(random.randint(1, 12)), v="m", doc="m")
            )
        elif kind < 0.95:
            changes.append(change("big", "U", lsn, id=row, v=str(lsn), doc=f"doc {lsn}"))
        else:
            changes.append(change("big", "D", lsn, id=row))
    spill = new_spill(tmp_path, 10)
    for found in changes:
        spill.add(found)
    spill.close()
    table = spill.tables[("public", "big")]
    assert table.spilled and table.toasted
    spill.fill(table)
    expected = fill_unchanged(changes, ("id",))
    assert any(a.unchanged != b.unchanged for a, b in zip(changes, expected, strict=True))
    assert list(spill.read(table, table.files)) == expected
    # the keys remembered are those of the updates leaving TOAST out, and before moves
    assert table.keys_to_follow() >= table.needs and len(table.needs) <= 12


def test_a_table_without_a_key_is_spilled_as_it_came(tmp_path: Path) -> None:
    spill = new_spill(tmp_path, 3)
    rows = [change("log", "I", lsn, id=None, v=str(lsn), doc=None) for lsn in range(8)]
    for found in rows:
        spill.add(found)
    spill.close()
    table = spill.tables[("public", "log")]
    spill.fill(table)
    assert list(spill.read(table, table.files)) == rows
