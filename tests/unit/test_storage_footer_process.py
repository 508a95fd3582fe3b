from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.crawl.footer import hive_type, read_parquet_footer
from engine.errors import CrawlError, StackError
from engine.process import ManagedProcess, is_pid_alive
from engine.storage import LocalStore


def test_local_store_lists_reads_ranges_and_gives_hadoop_uris(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "landing")
    store.put("t/dt=2026-01-01/a.csv", b"0123456789")
    (info,) = list(store.list())
    assert (info.key, info.size) == ("t/dt=2026-01-01/a.csv", 10)
    assert store.read(info.key, 2, 3) == b"234"
    # Hadoop takes %3D literally: partition folders must stay unescaped
    assert store.uri("t/dt=2026-01-01") == f"file://{tmp_path}/landing/t/dt=2026-01-01"


def test_int96_timestamps_are_spark_timestamps(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "b")
    (tmp_path / "b").mkdir()
    table = pa.table({"at": pa.array([0], pa.timestamp("ns"))})
    pq.write_table(table, tmp_path / "b" / "old.parquet", use_deprecated_int96_timestamps=True)
    columns, _ = read_parquet_footer(store, "old.parquet", store.size("old.parquet"))
    assert [(c.name, c.type) for c in columns] == [("at", "timestamp")]


def test_parquet_footer_gives_columns_and_rows(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "b")
    table = pa.table(
        {
            "ID": pa.array([1, 2, 3], pa.int64()),
            "when": pa.array([0, 1, 2], pa.timestamp("us")),
            "zoned": pa.array([0, 1, 2], pa.timestamp("us", "UTC")),
            "day": pa.array([0, 1, 2], pa.date32()),
            "tags": pa.array([["a"], [], ["b", "c"]]),
            "price": pa.array([1, 2, 3], pa.decimal128(10, 2)),
        }
    )
    (tmp_path / "b").mkdir()
    pq.write_table(table, tmp_path / "b" / "t.parquet")
    columns, rows = read_parquet_footer(store, "t.parquet", store.size("t.parquet"))
    assert rows == 3
    assert [(c.name, c.type) for c in columns] == [
        ("ID", "bigint"),  # spelled as in the file
        ("when", "timestamp_ntz"),  # what Spark reads a naive Parquet timestamp as
        ("zoned", "timestamp"),
        ("day", "date"),
        ("tags", "array<string>"),
        ("price", "decimal(10,2)"),
    ]


def test_a_corrupt_parquet_file_is_named(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "b")
    store.put("bad.parquet", b"PAR1 this is not parquet PAR1")
    with pytest.raises(CrawlError, match=r"bad\.parquet"):
        read_parquet_footer(store, "bad.parquet", store.size("bad.parquet"))


def test_struct_and_map_types() -> None:
    assert hive_type(pa.struct([("a", pa.int32())])) == "struct<a:int>"
    assert hive_type(pa.map_(pa.string(), pa.float64())) == "map<string,double>"


def test_parquet_columns_get_the_types_spark_reads_them_as(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "b")
    table = pa.table(
        {
            "nulls": pa.array([None, None], pa.null()),
            "null_list": pa.array([[None], []], pa.list_(pa.null())),
            "big": pa.array([2**64 - 1, 1], pa.uint64()),
            "nested": pa.array([{"u": 2**64 - 1}, {"u": 1}], pa.struct([("u", pa.uint64())])),
        }
    )
    (tmp_path / "b").mkdir()
    pq.write_table(table, tmp_path / "b" / "t.parquet")
    columns, rows = read_parquet_footer(store, "t.parquet", store.size("t.parquet"))
    assert rows == 2
    assert [(c.name, c.type) for c in columns] == [
        ("nulls", "int"),  # Spark reads a null-only (UNKNOWN) column as INT32
        ("null_list", "array<int>"),
        ("big", "decimal(20,0)"),
        ("nested", "struct<u:decimal(20,0)>"),
    ]


def test_a_parquet_type_spark_cannot_read_is_refused_naming_file_and_column(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path, "b")
    half = pa.array(np.array([1.5, 2.5], dtype=np.float16), pa.float16())
    (tmp_path / "b").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "h": half}), tmp_path / "b" / "h.parquet")
    with pytest.raises(CrawlError, match=r"h\.parquet: column h: type halffloat is not one Spark"):
        read_parquet_footer(store, "h.parquet", store.size("h.parquet"))


def test_managed_process_starts_waits_and_stops(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", tmp_path / "s.pid", tmp_path / "s.log")
    pid = process.start(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    )
    process.wait_until(lambda: "up" in (tmp_path / "s.log").read_text(), timeout=10, what="up")
    assert process.is_running()
    assert process.stop(grace=5)
    assert not is_pid_alive(pid)
    assert not (tmp_path / "s.pid").exists()


def test_a_process_that_dies_while_starting_reports_its_log(tmp_path: Path) -> None:
    process = ManagedProcess("crasher", tmp_path / "c.pid", tmp_path / "c.log")
    process.start([sys.executable, "-c", "import sys; print('bad config: port'); sys.exit(3)"])
    with pytest.raises(StackError, match="bad config: port"):
        process.wait_until(lambda: False, timeout=10, what="never")


def test_cli_help_starts_no_jvm_and_imports_no_pyspark() -> None:
    code = (
        "import sys\n"
        "from engine.cli.app import main\n"
        "rc = main(['--help'])\n"
        "assert rc == 0, rc\n"
        "assert 'pyspark' not in sys.modules, 'pyspark imported by --help'\n"
        "rc = main(['catalog', '--help'])\n"
        "assert 'pyspark' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "crawl" in result.stdout and "Example" not in result.stderr
