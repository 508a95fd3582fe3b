"""A job that dies at any step boundary heals on the next run (issue 16).

Each case lets a run die right after one step (a :class:`SimulatedCrash` passes
through every handler, as a dead process would; its pid is then made a dead one),
reruns the job, and checks the table is registered, every row landed once, the
malformed record quarantined once, and the run history adding up to the table.
"""

from __future__ import annotations

from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.faults import FAULT_AFTER, FAULT_MODE, SimulatedCrash
from engine.state.store import open_run_store
from tests.spark.jobs_helpers import land, rows, run_ingest

DEAD_PID = 2**22 + 12345  # above Linux's pid_max default: no such process

STEPS = [
    ("read", None),  # before anything is written
    ("quarantine malformed records", "0"),  # before the commit (a threshold)
    ("commit to", None),
    ("confirm bookmark", None),
    ("quarantine malformed records", None),  # after the commit (no threshold)
    ("record run metrics", None),
    ("register", None),
]


@pytest.mark.parametrize(("step", "threshold"), STEPS)
def test_a_run_dying_after_a_step_heals_on_the_next_run(
    step: str,
    threshold: str | None,
    local_settings: Settings,
    spark: Any,
    catalog: HiveCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = f"crash_{step.split()[0]}_{'strict' if threshold else 'loose'}"
    text = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(1, 11)) + "11,n11,extra\n"
    land(local_settings, f"{job}/a.csv", text, "crashes")  # not crawled by other tests
    args = {
        "source": f"s3://crashes/{job}/",
        "format": "csv",
        "source_options": '{"header": "true", "inferSchema": "true"}',
        "target": f"raw.{job}",
    }
    if threshold is not None:
        args["max_bad_records"] = "1"  # the one malformed record is allowed
    monkeypatch.setenv(FAULT_AFTER, step)
    monkeypatch.setenv(FAULT_MODE, "raise")
    with pytest.raises(SimulatedCrash):
        run_ingest(local_settings, spark, job, **args)
    monkeypatch.delenv(FAULT_AFTER)
    store = open_run_store(local_settings)
    (dead,) = store.job_runs(job)
    dead.pid = DEAD_PID  # the process is gone
    store.save_job_run(dead)

    healed, code = run_ingest(local_settings, spark, job, **args)
    assert code == 0 and healed.state == "SUCCEEDED", healed.error
    assert rows(spark, f"raw.{job}", "id", "name") == [(i, f"n{i}") for i in range(1, 11)]
    assert catalog.get_table("raw", job).format == "delta"
    bad = spark.table(f"quarantine.{job}").collect()
    assert [r["record"] for r in bad] == ["11,n11,extra"]

    history = {r.run_id: r for r in store.job_runs(job)}
    first = history[dead.run_id]
    assert first.state == "FAILED"
    assert first.rows_written + healed.rows_written == 10  # the history adds up to the table
    assert store.table_versions("raw", job), "the landed schema is recorded"


@pytest.mark.parametrize("step", ["read", "commit to", "confirm bookmark", "record run metrics"])
def test_a_python_job_dying_after_a_step_heals_on_the_next_run(
    step: str, local_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    from engine.ingest.context import JobContext
    from jobs.ingest_python import ingest

    job = f"py_crash_{step.split()[0]}"
    land(local_settings, f"{job}/a.csv", "id,name\n1,a\n2,b\n3,c\n", "crashes")
    argv = ["--JOB_NAME", job, "--source", f"s3://crashes/{job}/", "--format", "csv"]
    argv += ["--target", f"raw.{job}"]

    def run() -> int:
        ctx = JobContext.start(argv, settings=local_settings, job_type="python")
        return ctx.run(ingest)

    monkeypatch.setenv(FAULT_AFTER, step)
    monkeypatch.setenv(FAULT_MODE, "raise")
    with pytest.raises(SimulatedCrash):
        run()
    monkeypatch.delenv(FAULT_AFTER)
    store = open_run_store(local_settings)
    (dead,) = store.job_runs(job)
    dead.pid = DEAD_PID
    store.save_job_run(dead)

    assert run() == 0
    table = DeltaTable(str(local_settings.lake_path / "raw" / job)).to_pyarrow_table()
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3]  # once each
    runs = store.job_runs(job)
    assert sum(r.rows_written for r in runs) == 3  # the history adds up to the table
    assert [r.state for r in runs if r.run_id == dead.run_id] == ["FAILED"]
