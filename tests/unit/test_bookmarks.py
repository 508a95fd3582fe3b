"""Bookmark decisions: reconciling a killed run, reset/rewind, file selection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import JobError
from engine.state import bookmarks as bm
from engine.state.bookmarks import BookmarkEntry, FileMark, HighWater
from engine.vocabulary import BookmarkKind, BookmarkStatus

DATA, RESET, REWIND = BookmarkKind
PENDING, COMMITTED, ABANDONED = BookmarkStatus


def data(
    seq: int, status: str, *paths: str, run: str = "", mark: int | None = None
) -> BookmarkEntry:
    return BookmarkEntry(
        seq,
        DATA,
        status,
        run or f"r{seq}",
        files=tuple(FileMark(p, 10, 1.0) for p in paths),
        high_water=HighWater(("id",), (mark,)) if mark is not None else None,
        target="s3a://raw/t",
    )


def test_a_pending_entry_commits_when_the_table_has_its_txn_and_is_dropped_otherwise() -> None:
    entries = [data(0, COMMITTED, "a"), data(1, PENDING, "b")]
    assert bm.reconcile(entries, table_txn=1) == {1: COMMITTED}  # landed, then the run died
    assert bm.reconcile(entries, table_txn=0) == {1: ABANDONED}  # killed before the commit
    assert bm.reconcile(entries, table_txn=None) == {1: ABANDONED}


def test_next_seq_skips_abandoned_entries_and_stays_above_the_table() -> None:
    entries = [data(0, COMMITTED, "a"), data(1, ABANDONED, "b")]
    assert bm.next_seq(entries, table_txn=0) == 1  # the abandoned seq is reused
    assert bm.next_seq(entries, table_txn=4) == 5  # never a version Delta would skip
    assert bm.next_seq([], None) == 0


def test_state_accumulates_files_and_keeps_the_newest_high_water_mark() -> None:
    entries = [
        data(0, COMMITTED, "a", mark=5),
        data(1, COMMITTED, "b", mark=9),
    ]
    entries.append(data(2, ABANDONED, "c", mark=12))
    state = bm.current_state(entries)
    assert sorted(state.files) == ["a", "b"]
    assert state.high_water == HighWater(("id",), (9,))


def test_reset_and_rewind() -> None:
    entries = [
        data(0, COMMITTED, "a", run="first"),
        data(1, COMMITTED, "b", run="second"),
        BookmarkEntry(2, RESET, COMMITTED, "cli"),
    ]
    assert bm.current_state(entries).is_empty
    entries.append(data(3, COMMITTED, "c"))
    assert sorted(bm.current_state(entries).files) == ["c"]
    base = bm.rewind_base(entries, "first")
    entries.append(BookmarkEntry(4, REWIND, COMMITTED, "cli", base_seq=base))
    assert sorted(bm.current_state(entries).files) == ["a"]
    entries.append(data(5, COMMITTED, "b2"))
    assert sorted(bm.current_state(entries).files) == ["a", "b2"]
    with pytest.raises(JobError, match="no committed bookmark entry from run 'nope'"):
        bm.rewind_base(entries, "nope")


def test_files_are_new_changed_or_unchanged() -> None:
    state = bm.current_state([data(0, COMMITTED, "a", "b")])
    listed = [FileMark("a", 10, 1.0), FileMark("b", 11, 2.0), FileMark("c", 5, 3.0)]
    selection = bm.select_files(listed, state)
    assert [m.path for m in selection.new] == ["c"]
    assert [m.path for m in selection.changed] == ["b"]
    assert selection.unchanged == 1


def test_a_replaced_target_table_is_an_error_naming_it() -> None:
    entries = [data(0, COMMITTED, "a"), data(1, COMMITTED, "b")]
    bm.check_target(entries, 1, "s3a://raw/t")
    with pytest.raises(JobError, match=r"s3a://raw/t.*only seq 0"):
        bm.check_target(entries, 0, "s3a://raw/t")
    with pytest.raises(JobError, match="no record of it"):
        bm.check_target(entries, None, "s3a://raw/t")


def test_state_survives_its_json_round_trip() -> None:
    entry = data(3, PENDING, "s3a://landing/x y.csv", mark=7)
    files, high_water, target = BookmarkEntry.parse_state(entry.state_json())
    assert (files, high_water, target) == (entry.files, entry.high_water, entry.target)


@given(st.lists(st.sets(st.integers(0, 30), max_size=4), min_size=1, max_size=8))
def test_each_file_is_selected_by_exactly_one_run(batches: list[set[int]]) -> None:
    """Runs over a growing folder: every file is processed once, whatever arrives when."""
    entries: list[BookmarkEntry] = []
    listed: set[int] = set()
    processed: list[str] = []
    for batch in batches:
        listed |= batch
        state = bm.current_state(entries)
        selection = bm.select_files([FileMark(f"f{n}", n, 0.0) for n in listed], state)
        assert not selection.changed
        processed += [m.path for m in selection.new]
        seq = bm.next_seq(entries, entries[-1].seq if entries else None)
        entries.append(BookmarkEntry(seq, DATA, COMMITTED, "r", files=selection.new))
    assert sorted(processed) == sorted(f"f{n}" for n in listed)
