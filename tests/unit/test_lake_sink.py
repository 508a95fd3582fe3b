"""The one sink (engine/lake): the write request, the writer lock, registration from
the Delta log, and the delta-rs writer on a real local Delta table (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from engine import storage
from engine.config import load_settings
from engine.errors import JobError, ReplicationError
from engine.lake.deltars import DeltaRsWriter
from engine.lake.log import read_txn_version
from engine.lake.sink import MERGE, OVERWRITE, Write, landed_columns, register, writing

pytestmark = pytest.mark.unit


def test_a_write_is_one_of_three_modes_and_only_a_merge_has_keys() -> None:
    assert Write("file:/x").mode == "append"
    with pytest.raises(ValueError, match="one of append, overwrite, merge"):
        Write("file:/x", mode="upsert")
    with pytest.raises(ValueError, match="only a merge"):
        Write("file:/x", mode=MERGE)
    with pytest.raises(ValueError, match="only a merge"):
        Write("file:/x", merge_keys=("id",))


class Locks:
    def __init__(self, busy: str | None = None) -> None:
        self.calls: list[str] = []
        self.busy = busy

    def lock_table(self, location: str, run_id: str, now: str) -> None:
        if location == self.busy:
            raise JobError(f"{location} is being written")
        self.calls.append(f"lock {location} {run_id}")

    def unlock_table(self, location: str, run_id: str) -> None:
        self.calls.append(f"unlock {location} {run_id}")


def test_the_writer_lock_is_released_in_reverse_even_when_the_write_fails() -> None:
    locks = Locks()
    with pytest.raises(RuntimeError), writing(locks, "r1", ("a", "b"), lambda: "now"):
        raise RuntimeError("the write failed")
    assert locks.calls == ["lock a r1", "lock b r1", "unlock b r1", "unlock a r1"]
    busy = Locks(busy="b")  # a lock not taken is not released
    with pytest.raises(JobError), writing(busy, "r2", ("a", "b"), lambda: "now"):
        pass
    assert busy.calls == ["lock a r2", "unlock a r2"]


@pytest.fixture
def lake(tmp_path: Path) -> tuple[DeltaRsWriter, str, Path]:
    settings = load_settings(profile="local", home=tmp_path / "home")
    location = f"file:{settings.lake_path}/raw/people"
    return DeltaRsWriter(settings), location, settings.lake_path / "raw" / "people"


def _rows(path: Path) -> list[tuple[object, object]]:
    table = DeltaTable(str(path)).to_pyarrow_table()
    found = zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True)
    return sorted(found, key=lambda r: (r[0] is not None, r))


def test_the_delta_rs_writer_merges_null_keys_null_safe_and_records_the_txn(
    lake: tuple[DeltaRsWriter, str, Path],
) -> None:
    writer, location, path = lake
    first = pa.table({"id": pa.array([1, None], pa.int64()), "name": ["a", "no key"]})
    commit = writer.write(first, Write(location, mode=MERGE, merge_keys=("id",), txn=("app", 0)))
    assert (commit.version, commit.rows_written) == (0, 2)
    second = pa.table({"id": pa.array([None, 2], pa.int64()), "name": ["no key again", "b"]})
    commit = writer.write(
        second,
        Write(location, mode=MERGE, merge_keys=("id",), txn=("app", 1), user_metadata={"r": 1}),
    )
    assert (commit.version, commit.operation, commit.rows_written) == (1, "MERGE", 2)
    assert _rows(path) == [(None, "no key again"), (1, "a"), (2, "b")]
    store, prefix = storage.locate(writer.settings, location)
    assert read_txn_version(store, prefix, "app") == 1


def test_the_delta_rs_writer_refuses_a_batch_holding_a_key_twice(
    lake: tuple[DeltaRsWriter, str, Path],
) -> None:
    writer, location, path = lake
    writer.write(pa.table({"id": [1], "name": ["a"]}), Write(location))
    twice = pa.table({"id": [3, 3], "name": ["x", "y"]})
    with pytest.raises(JobError, match=r"1 merge key\(s\) on more than one row \(e.g. id=3\)"):
        writer.write(twice, Write(location, mode=MERGE, merge_keys=("id",)))
    assert _rows(path) == [(1, "a")]


def test_a_failed_delta_rs_write_raises_the_callers_error_and_names_the_table(
    lake: tuple[DeltaRsWriter, str, Path],
) -> None:
    writer, location, _ = lake
    writer.write(pa.table({"id": [1], "name": ["a"]}), Write(location))
    clash = pa.table({"id": ["not a number"], "name": ["b"]})
    with pytest.raises(ReplicationError, match=r"writing the Delta table at file:.*people failed"):
        writer.write(clash, Write(location, error=ReplicationError))


def test_register_reads_the_landed_definition_from_the_delta_log(
    lake: tuple[DeltaRsWriter, str, Path],
) -> None:
    writer, location, _ = lake
    store, prefix = storage.locate(writer.settings, location)
    assert landed_columns(store, prefix) is None
    batch = pa.table({"id": [1], "name": ["a"], "dt": ["2026-01-01"]})
    writer.write(batch, Write(location, mode=OVERWRITE, partition_by=("dt",)))
    assert landed_columns(store, prefix) == [("id", "bigint"), ("name", "string"), ("dt", "string")]
    table = register(None, store, prefix, ("raw", "people"), location, {"UPDATED_BY_JOB": "j"})
    assert [c.name for c in table.columns] == ["id", "name"]
    assert [c.name for c in table.partition_keys] == ["dt"]
    assert table.parameters == {"classification": "delta", "UPDATED_BY_JOB": "j"}
