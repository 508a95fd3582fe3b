"""Jobs as separate processes, the way users run them: ``headwater job run`` builds
the spark-submit call. A run SIGKILLed mid-write, then rerun, lands every row once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import until
from tests.kill_scenario import PENDING_RUNS_SQL, ROWS_PER_FILE, checksum, csv_part, kill_mid_write

HEADWATER = [sys.executable, "-m", "engine.cli.app", "--profile", "local"]


def _project(tmp_path: Path, jobs: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "headwater.yaml").write_text(yaml.safe_dump({"jobs": jobs}))
    return {
        **os.environ,
        "HEADWATER_PROJECT_FILE": str(tmp_path / "headwater.yaml"),
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_PROFILE": "local",
    }


def _csv_job(target: str) -> dict[str, Any]:
    """A job over the CSV files _land writes."""
    source_options = {"header": "true", "inferSchema": "true"}
    return {
        "arguments": {
            "source": "s3://landing/grow/",
            "format": "csv",
            "source_options": source_options,
            "target": target,
        }
    }


def _land(tmp_path: Path, name: str, first_id: int) -> list[int]:
    data, ids = csv_part(first_id)
    folder = tmp_path / "home" / "lake" / "landing" / "grow"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return ids


def _writing_driver(state: Path) -> Callable[[], int | None]:
    def probe() -> int | None:
        if not state.exists():
            return None
        try:
            with sqlite3.connect(state, timeout=1) as db:
                found = db.execute(PENDING_RUNS_SQL).fetchall()
        except sqlite3.OperationalError:  # tables not created yet, or busy
            return None
        return int(found[0][0]) if found else None

    return probe


def test_three_runs_with_the_middle_one_killed_land_each_row_exactly_once(
    tmp_path: Path, spark: Any
) -> None:
    env = _project(tmp_path, {"grow": _csv_job("raw.grow")})
    expected = _land(tmp_path, "part-1.csv", 1)
    subprocess.run([*HEADWATER, "job", "run", "grow"], env=env, check=True, timeout=300)

    expected += _land(tmp_path, "part-2.csv", len(expected) + 1)
    expected += _land(tmp_path, "part-3.csv", len(expected) + 1)
    state = tmp_path / "home" / "state.db"
    assert kill_mid_write([*HEADWATER, "job", "run", "grow"], env, _writing_driver(state)) != 0

    subprocess.run([*HEADWATER, "job", "run", "grow"], env=env, check=True, timeout=300)

    location = tmp_path / "home" / "lake" / "raw" / "grow"
    landed = spark.read.format("delta").load(str(location))
    ids = sorted(r[0] for r in landed.select("id").collect())
    assert len(ids) == len(expected)
    assert ids == expected  # each source row once: count and content
    assert landed.selectExpr("sum(id * 31 + amount * 100)").first()[0] == checksum(expected)

    shown = subprocess.run(
        [*HEADWATER, "job", "runs", "grow", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    runs = json.loads(shown.stdout)[::-1]  # oldest first
    assert [r["state"] for r in runs] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert "exited with code -9" in runs[1]["error"]
    assert runs[0]["rows_written"] == ROWS_PER_FILE
    assert runs[2]["rows_written"] == 2 * ROWS_PER_FILE
    assert all(Path(r["log_path"]).is_file() for r in runs)


def test_two_local_jobs_run_at_the_same_time(tmp_path: Path, spark: Any) -> None:
    """The local profile's metastore is a service (issue 18): a job held after it
    registered its table, its Spark session open, does not stop a second one."""
    from engine.faults import FAULT_AFTER, FAULT_MODE

    env = _project(tmp_path, {"first": _csv_job("raw.first"), "second": _csv_job("raw.second")})
    expected = _land(tmp_path, "part-1.csv", 1)
    held = {**env, FAULT_AFTER: "register raw.first", FAULT_MODE: f"pause:{tmp_path}"}
    first = subprocess.Popen([*HEADWATER, "job", "run", "first"], env=held)
    try:
        until(lambda: (tmp_path / "paused").exists(), "the first job to register", 300)
        second = subprocess.run(
            [*HEADWATER, "job", "run", "second"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert second.returncode == 0, second.stderr
        assert first.poll() is None  # still in its run: the two were under way together
    finally:
        (tmp_path / "resume").touch()
    assert first.wait(timeout=300) == 0
    listed = subprocess.run(
        [*HEADWATER, "catalog", "tables", "raw", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert {t["table"] for t in json.loads(listed.stdout)} >= {"first", "second"}
    for name in ("first", "second"):
        landed = spark.read.format("delta").load(str(tmp_path / "home" / "lake" / "raw" / name))
        assert sorted(r[0] for r in landed.select("id").collect()) == expected


JAVA = """
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello from the jar: " + String.join(" ", args));
        if (java.util.Arrays.asList(args).contains("fail")) System.exit(2);
    }
}
"""


@pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK (make system-deps)")
def test_a_jvm_job_is_submitted_with_its_main_class(tmp_path: Path) -> None:
    (tmp_path / "Hello.java").write_text(JAVA)
    subprocess.run(["javac", "Hello.java"], cwd=tmp_path, check=True)
    subprocess.run(["jar", "cf", "hello.jar", "Hello.class"], cwd=tmp_path, check=True)
    jvm = {"type": "jvm", "jar": str(tmp_path / "hello.jar"), "main_class": "Hello"}
    env = _project(tmp_path, {"hello": jvm, "hello_fail": {**jvm, "arguments": {"mode": "fail"}}})
    ok = subprocess.run(
        [*HEADWATER, "job", "run", "hello"], env=env, capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert "hello from the jar: --JOB_NAME hello" in ok.stdout
    failed = subprocess.run(
        [*HEADWATER, "job", "run", "hello_fail"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "exited with code 2" in failed.stderr


def test_a_python_job_lands_new_files_with_delta_rs_and_spark_reads_them(
    tmp_path: Path, spark: Any
) -> None:
    from engine.lake.log import read_txn_version
    from engine.storage import LocalStore

    env = _project(
        tmp_path,
        {
            "small": {
                "type": "python",
                "script": "jobs/ingest_python.py",
                "arguments": {
                    "source": "s3://landing/small/",
                    "format": "csv",
                    "target": "raw.small",
                },
            }
        },
    )
    folder = tmp_path / "home" / "lake" / "landing" / "small"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id,name\n1,a\n2,b\n")
    (folder / "b.csv").write_text("id,name\n3,c\n")
    for _ in range(2):  # the second run finds nothing new
        subprocess.run([*HEADWATER, "job", "run", "small"], env=env, check=True, timeout=120)
    (folder / "c.csv").write_text("id,name,score\n4,d,0.5\n")  # and a new column
    subprocess.run([*HEADWATER, "job", "run", "small"], env=env, check=True, timeout=120)

    location = tmp_path / "home" / "lake" / "raw" / "small"
    landed = spark.read.format("delta").load(str(location))
    assert sorted((r["id"], r["name"], r["score"]) for r in landed.collect()) == [
        (1, "a", None),
        (2, "b", None),
        (3, "c", None),
        (4, "d", 0.5),
    ]
    assert {r["_source_file"].rsplit("/", 1)[1] for r in landed.collect()} == {
        "a.csv",
        "b.csv",
        "c.csv",
    }
    store = LocalStore(tmp_path / "home" / "lake", "raw")
    assert read_txn_version(store, "small", "headwater/small/source") == 1
    shown = subprocess.run(
        [*HEADWATER, "job", "runs", "small", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    runs = json.loads(shown.stdout)[::-1]
    assert [(r["state"], r["job_type"], r["rows_written"]) for r in runs] == [
        ("SUCCEEDED", "python", 3),
        ("SUCCEEDED", "python", 0),
        ("SUCCEEDED", "python", 1),
    ]
    # registered by the job itself, no JVM: the local metastore's API (issue 18)
    described = subprocess.run(
        [*HEADWATER, "catalog", "describe", "raw.small", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    (table,) = json.loads(described.stdout)
    assert table["format"] == "delta" and table["rows"] == 4
    assert {"id", "name", "score"} <= {c["column"] for c in table["columns"]}


def test_a_driver_killed_right_after_its_commit_is_registered_by_the_rerun(
    tmp_path: Path, spark: Any
) -> None:
    from engine.faults import FAULT_AFTER

    env = _project(tmp_path, {"fresh": _csv_job("raw.fresh")})
    expected = _land(tmp_path, "part-1.csv", 1)
    killed = subprocess.run(
        [*HEADWATER, "job", "run", "fresh"],
        env={**env, FAULT_AFTER: "commit to"},  # SIGKILL once the Delta commit is written
        timeout=300,
    )
    assert killed.returncode != 0
    subprocess.run([*HEADWATER, "job", "run", "fresh"], env=env, check=True, timeout=300)

    described = subprocess.run(
        [*HEADWATER, "catalog", "describe", "raw.fresh", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert described.returncode == 0, described.stderr[-2000:]
    (table,) = json.loads(described.stdout)
    assert table["format"] == "delta" and table["location"].endswith("/lake/raw/fresh")
    location = tmp_path / "home" / "lake" / "raw" / "fresh"
    assert spark.read.format("delta").load(str(location)).count() == len(expected)
    shown = subprocess.run(
        [*HEADWATER, "job", "runs", "fresh", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    runs = json.loads(shown.stdout)[::-1]
    assert [(r["state"], r["rows_written"]) for r in runs] == [
        ("FAILED", ROWS_PER_FILE),  # killed after its commit: its rows did land
        ("SUCCEEDED", 0),
    ]
    assert "its commit landed" in runs[0]["error"]
