"""Run-state tables for jobs: runs, bookmark entries and the one-writer lock."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.state import bookmarks as bm
from engine.state.jobs import JobRun, TableBusyError, this_host
from engine.state.store import RunStore
from engine.vocabulary import BookmarkKind, BookmarkStatus


def store(tmp_path: Path) -> RunStore:
    return RunStore(sqlite3.connect(tmp_path / "state.db"), "?")


def test_bookmark_entries_round_trip_and_an_abandoned_seq_is_replaced(tmp_path: Path) -> None:
    runs = store(tmp_path)
    entry = bm.BookmarkEntry(
        0,
        BookmarkKind.DATA,
        BookmarkStatus.PENDING,
        "r1",
        "t",
        files=(bm.FileMark("f", 1, 2.0),),
        target="s3a://raw/t",
    )
    runs.put_bookmark_entry("j", "source", entry)
    assert runs.bookmark_entries("j", "source") == [entry]
    runs.set_bookmark_status("j", "source", 0, BookmarkStatus.ABANDONED)
    again = bm.BookmarkEntry(
        0, BookmarkKind.DATA, BookmarkStatus.PENDING, "r2", "t", target="s3a://raw/t"
    )
    runs.put_bookmark_entry("j", "source", again)
    assert [e.run_id for e in runs.bookmark_entries("j", "source")] == ["r2"]
    assert runs.bookmark_contexts("j") == ["source"]


def test_one_writer_per_table_whatever_the_uri_spelling(tmp_path: Path) -> None:
    runs = store(tmp_path)
    runs.lock_table("file:///lake/raw/t", "r1", "now")
    runs.lock_table("file:/lake/raw/t", "r1", "now")  # the same run may take it again
    # a live holder in another process keeps it
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with sqlite3.connect(tmp_path / "state.db") as db:
            db.execute("UPDATE table_writers SET pid = ?, run_id = 'other'", (holder.pid,))
        with pytest.raises(TableBusyError, match=r"file:/lake/raw/t is being written by run other"):
            runs.lock_table("file:///lake/raw/t/", "r2", "now", wait=0.6)
    finally:
        holder.kill()
        holder.wait()
    runs.lock_table("file:///lake/raw/t", "r2", "now")  # the holder is gone: released
    runs.unlock_table("file:/lake/raw/t", "r2")
    runs.lock_table("s3a://raw/t", "r3", "now")


def test_a_second_writer_waits_for_the_first_to_finish(tmp_path: Path) -> None:
    """Two processes (a job and a replication batch, say) on one table take turns."""
    runs = store(tmp_path)
    script = (
        "import sqlite3, sys, time\n"
        "from engine.state.store import RunStore\n"
        "runs = RunStore(sqlite3.connect(sys.argv[1]), '?')\n"
        "runs.lock_table('s3a://raw/t', 'first', 'now')\n"
        "print('locked', flush=True)\n"
        "time.sleep(1.5)\n"
        "runs.unlock_table('s3a://raw/t', 'first')\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "state.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "locked"
        started = time.monotonic()
        runs.lock_table("s3a://raw/t/", "second", "now", wait=30)
        waited = time.monotonic() - started
    finally:
        first.wait(30)
    assert first.returncode == 0
    assert waited >= 0.5  # it took its turn after the first let go
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT run_id FROM table_writers").fetchall() == [("second",)]


def test_runs_are_listed_newest_first_with_their_arguments(tmp_path: Path) -> None:
    runs = store(tmp_path)
    for number in range(3):
        run = JobRun(f"jr_{number}", "j", f"2026-01-0{number + 1}T00:00:00+00:00")
        run.arguments, run.pid, run.host = {"n": str(number)}, os.getpid(), this_host()
        runs.claim_job_run(run, max_concurrent=5, now="now")
    listed = runs.job_runs("j", limit=2)
    assert [r.run_id for r in listed] == ["jr_2", "jr_1"]
    assert listed[0].arguments == {"n": "2"}


def test_the_local_store_serves_a_runs_threads(tmp_path: Path) -> None:
    """A replication's full-load threads take their tables' writer locks on the run's
    store: SQLite refused a connection made in another thread ('SQLite objects
    created in a thread can only be used in that same thread')."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.config import load_settings
    from engine.state.store import open_run_store

    runs = open_run_store(load_settings(profile="local", home=tmp_path))

    def write(n: int) -> None:
        runs.lock_table(f"file:/lake/raw/t{n}", "run", "now")
        runs.unlock_table(f"file:/lake/raw/t{n}", "run")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(40)))
    with runs._cursor() as cursor:
        cursor.execute("SELECT count(*) FROM table_writers")
        assert cursor.fetchone() == (0,)


def test_a_state_database_made_before_a_column_gains_it(tmp_path: Path) -> None:
    """replication_tables.error came later: a database made without it gets it when
    opened, and statistics saved before read back with it empty."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE replication_tables (task TEXT NOT NULL, source TEXT NOT NULL, "
            "target TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'Before load', "
            "full_load_rows BIGINT NOT NULL DEFAULT 0, inserts BIGINT NOT NULL DEFAULT 0, "
            "updates BIGINT NOT NULL DEFAULT 0, deletes BIGINT NOT NULL DEFAULT 0, "
            "truncates BIGINT NOT NULL DEFAULT 0, ddls TEXT NOT NULL DEFAULT '', "
            "last_position TEXT NOT NULL DEFAULT '', last_commit_at TEXT NOT NULL DEFAULT '', "
            "validation_state TEXT NOT NULL DEFAULT 'Not enabled', "
            "validation_detail TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '', "
            "PRIMARY KEY (task, source))"
        )
        old.execute("INSERT INTO replication_tables (task, source, inserts) VALUES ('t', 's', 3)")
    store = RunStore(sqlite3.connect(path), "?")
    (stats,) = store.table_stats("t")
    assert (stats.inserts, stats.error) == (3, "")
    stats.error = "suspended at batch 4"
    store.save_table_stats(stats)
    assert RunStore(sqlite3.connect(path), "?").table_stats("t")[0].error == "suspended at batch 4"
