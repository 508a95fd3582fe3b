"""A python job and a Spark job writing one table at the same time take turns
(issue 17): the one-writer lock of the sink serializes them and neither commit is
lost. The python job is held inside its lock (``HEADWATER_FAULT_MODE=pause:…``
after its commit) while the Spark job starts; the Spark job must wait for it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from engine.config import Settings
from engine.faults import FAULT_AFTER, FAULT_MODE
from engine.ingest.context import JobContext
from engine.state.store import open_run_store
from jobs.ingest_python import ingest as python_ingest
from tests.helpers import until
from tests.spark.jobs_helpers import land, run_ingest


def test_a_python_job_and_a_spark_job_on_one_table_take_turns(
    local_settings: Settings,
    spark: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    land(local_settings, "turns/py/a.csv", "id,name\n1,from python\n2,from python\n", "turnsrc")
    land(local_settings, "turns/spark/b.csv", "id,name\n3,from spark\n", "turnsrc")
    monkeypatch.setenv(FAULT_AFTER, "commit to raw.turns")
    monkeypatch.setenv(FAULT_MODE, f"pause:{tmp_path}")
    codes: dict[str, int] = {}

    def python_job() -> None:
        argv = ["--JOB_NAME", "turns_py", "--source", "s3://turnsrc/turns/py/"]
        argv += ["--format", "csv", "--target", "raw.turns"]
        codes["python"] = JobContext.start(argv, settings=local_settings, job_type="python").run(
            python_ingest
        )

    def spark_job() -> None:
        codes["spark"] = run_ingest(
            local_settings,
            spark,
            "turns_spark",
            source="s3://turnsrc/turns/spark/",
            format="csv",
            source_options='{"header": "true", "inferSchema": "true"}',
            target="raw.turns",
        )[1]

    first = threading.Thread(target=python_job)
    first.start()
    until((tmp_path / "paused").exists, "the python job to hold its commit")
    second = threading.Thread(target=spark_job)
    second.start()
    seen: list[str] = []

    def waiting() -> bool:
        seen.append(capsys.readouterr().out)
        return "waiting for run" in "".join(seen)

    until(waiting, "the spark job to wait for the python job's lock")
    assert codes == {}  # both still running: one held, one waiting
    (tmp_path / "resume").touch()
    first.join(120)
    second.join(300)
    runs = open_run_store(local_settings)
    assert codes == {"python": 0, "spark": 0}, [
        runs.job_runs("turns_py"),
        runs.job_runs("turns_spark"),
    ]

    location = str(local_settings.lake_path / "raw" / "turns")
    history = spark.sql(f"DESCRIBE HISTORY delta.`{location}`").orderBy("version").collect()
    jobs = [row["userMetadata"] for row in history]
    assert len(history) == 2
    assert '"job": "turns_py"' in jobs[0] and '"job": "turns_spark"' in jobs[1]
    landed = spark.read.format("delta").load(location).select("id", "name").collect()
    assert sorted((r["id"], r["name"]) for r in landed) == [
        (1, "from python"),
        (2, "from python"),
        (3, "from spark"),
    ]
