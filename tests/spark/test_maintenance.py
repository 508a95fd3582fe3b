"""Delta table maintenance on the local profile (jobs/maintain.py's body): compaction
of small files, and a vacuum that keeps every file a snapshot pin reads until the pin
is released."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine import handoff
from engine.config import Settings
from engine.ingest.context import JobContext
from engine.maintenance import run_maintenance
from engine.state.store import open_run_store


def _maintain(settings: Settings, spark: Any, table: str, **args: str) -> int:
    argv = ["--JOB_NAME", f"maintain-{table}", "--table", table]
    for key, value in args.items():
        argv += [f"--{key}", value]
    ctx = JobContext.start(argv, required=("table",), settings=settings)
    ctx._spark = spark
    return ctx.run(run_maintenance)


def _ids(frame: Any) -> list[int]:
    return sorted(int(i) for i in frame["id"])


def test_optimize_compacts_and_vacuum_keeps_what_a_snapshot_pins(
    spark: Any, local_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    location = local_settings.lake_path / "raw" / "maint_events"
    spark.sql("CREATE DATABASE IF NOT EXISTS raw_maint")
    spark.sql(
        "CREATE TABLE raw_maint.events (id BIGINT, label STRING) USING delta "
        f"LOCATION 'file://{location}'"
    )
    for batch in range(5):  # five small commits: five small files at least
        values = ", ".join(f"({10 * batch + i}, 'b{batch}')" for i in range(3))
        spark.sql(f"INSERT INTO raw_maint.events VALUES {values}")
    manifest = handoff.snapshot("raw_maint.events", settings=local_settings)  # pins it
    (pin,) = open_run_store(local_settings).pins(manifest.location.rstrip("/"))
    assert pin.version == manifest.version
    files = len(manifest.files)
    assert files >= 5

    assert _maintain(local_settings, spark, "raw_maint.events", operation="optimize") == 0
    assert f"raw_maint.events: {files} data file(s) compacted into 1" in capsys.readouterr().out

    # the files the pinned version reads are no longer current: a vacuum keeps them
    args = {"operation": "vacuum", "retain_hours": "0"}
    assert _maintain(local_settings, spark, "raw_maint.events", **args) == 0
    said = capsys.readouterr().out
    raised = re.search(rf"retention raised to (\d+) h: version {manifest.version} is pinned", said)
    assert raised is not None, said
    assert f"raw_maint.events: deleted 0 file(s) older than {raised.group(1)} h" in said
    expected = sorted(10 * b + i for b in range(5) for i in range(3))
    assert _ids(handoff.read_snapshot(manifest, settings=local_settings)) == expected

    # released, the next vacuum deletes them; the manifest no longer reads back
    assert open_run_store(local_settings).release_pin(pin.location, pin.version)
    assert _maintain(local_settings, spark, "raw_maint.events", **args) == 0
    assert f"raw_maint.events: deleted {files} file(s) older than 0 h" in capsys.readouterr().out
    with pytest.raises(Exception, match=r"(?i)not found|no such file|does not exist"):
        handoff.read_snapshot(manifest, settings=local_settings)
    assert spark.table("raw_maint.events").count() == 15  # the current version reads on


def test_only_delta_tables_are_maintained(spark: Any, local_settings: Settings) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS raw_maint")
    spark.sql("CREATE TABLE IF NOT EXISTS raw_maint.plain (id BIGINT) USING parquet")
    code = _maintain(local_settings, spark, "raw_maint.plain", operation="optimize")
    run = open_run_store(local_settings).job_runs("maintain-raw_maint.plain", 1)[0]
    assert code == 1 and "raw_maint.plain is a parquet table" in run.error
