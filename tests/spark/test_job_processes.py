"""Jobs as separate processes, the way users run them: ``headwater job run`` builds
the spark-submit call. A run SIGKILLed mid-write, then rerun, lands every row once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

HEADWATER = [sys.executable, "-m", "engine.cli.app", "--profile", "local"]
ROWS_PER_FILE = 150_000


def _project(tmp_path: Path, jobs: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "headwater.yaml").write_text(yaml.safe_dump({"jobs": jobs}))
    return {
        **os.environ,
        "HEADWATER_PROJECT_FILE": str(tmp_path / "headwater.yaml"),
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_PROFILE": "local",
    }


def _land(tmp_path: Path, name: str, first_id: int) -> range:
    ids = range(first_id, first_id + ROWS_PER_FILE)
    folder = tmp_path / "home" / "lake" / "landing" / "grow"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w") as out:
        out.write("id,label,amount\n")
        out.writelines(f"{i},row-{i},{i % 997}.25\n" for i in ids)
    return ids


def _pending_driver(state: Path) -> int | None:
    """The job's driver pid once its bookmark entry is PENDING (the write is on)."""
    if not state.exists():
        return None
    try:
        with sqlite3.connect(state, timeout=1) as db:
            pending = db.execute("SELECT 1 FROM job_bookmarks WHERE status = 'PENDING'").fetchall()
            running = db.execute("SELECT pid FROM job_runs WHERE state = 'RUNNING'").fetchall()
    except sqlite3.OperationalError:  # tables not created yet, or busy
        return None
    return int(running[0][0]) if pending and running else None


def test_three_runs_with_the_middle_one_killed_land_each_row_exactly_once(
    tmp_path: Path, spark: Any
) -> None:
    env = _project(
        tmp_path,
        {
            "grow": {
                "arguments": {
                    "source": "s3://landing/grow/",
                    "format": "csv",
                    "source_options": {"header": "true", "inferSchema": "true"},
                    "target": "raw.grow",
                }
            }
        },
    )
    expected = list(_land(tmp_path, "part-1.csv", 1))
    subprocess.run([*HEADWATER, "job", "run", "grow"], env=env, check=True, timeout=300)

    expected += list(_land(tmp_path, "part-2.csv", len(expected) + 1))
    expected += list(_land(tmp_path, "part-3.csv", len(expected) + 1))
    middle = subprocess.Popen([*HEADWATER, "job", "run", "grow"], env=env)
    state = tmp_path / "home" / "state.db"
    deadline = time.monotonic() + 240
    driver = None
    while driver is None and middle.poll() is None:
        assert time.monotonic() < deadline, "the middle run never started writing"
        driver = _pending_driver(state)
        time.sleep(0.05)
    assert driver is not None, "the middle run ended before it could be killed"
    os.killpg(os.getpgid(driver), signal.SIGKILL)  # spark-submit, its JVM and the driver
    assert middle.wait(60) != 0

    subprocess.run([*HEADWATER, "job", "run", "grow"], env=env, check=True, timeout=300)

    location = tmp_path / "home" / "lake" / "raw" / "grow"
    landed = spark.read.format("delta").load(str(location))
    ids = sorted(r[0] for r in landed.select("id").collect())
    assert len(ids) == len(expected)
    assert ids == expected  # each source row once: count and content
    checksum = landed.selectExpr("sum(id * 31 + amount * 100)").first()[0]
    assert checksum == sum(i * 31 + (i % 997) * 100 + 25 for i in expected)

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
