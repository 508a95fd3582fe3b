"""One meaning of a merge key for every writer (issue 17): a NULL key matches the
NULL key (null-safe), and a batch holding a key twice is refused before anything is
written — through the Spark job writer and the python job's delta-rs writer alike."""

from __future__ import annotations

from typing import Any

import pytest

from engine.config import Settings
from engine.state.store import open_run_store
from tests.spark.jobs_helpers import land, run_ingest

BATCHES = [
    "id,name\n1,a\n,no key\n",
    "id,name\n,no key again\n2,b\n",  # the NULL key is updated, not added
    "id,name\n3,x\n3,y\n",  # a key twice: refused
]


def _run(writer: str, settings: Settings, spark: Any, job: str) -> int:
    args = {
        "source": f"s3://mergekeys/{job}/",
        "format": "csv",
        "target": f"raw.{job}",
        "write_mode": "merge",
        "merge_keys": "id",
    }
    if writer == "spark":
        args["source_options"] = '{"header": "true", "inferSchema": "true"}'
        return run_ingest(settings, spark, job, **args)[1]
    from engine.ingest.context import JobContext
    from jobs.ingest_python import ingest

    argv = ["--JOB_NAME", job] + [item for k, v in args.items() for item in (f"--{k}", v)]
    ctx = JobContext.start(argv, settings=settings, job_type="python")
    return ctx.run(ingest)


def _landed(writer: str, settings: Settings, spark: Any, job: str) -> list[tuple[Any, Any]]:
    location = str(settings.lake_path / "raw" / job)
    if writer == "spark":
        found = [(r["id"], r["name"]) for r in spark.read.format("delta").load(location).collect()]
    else:
        from deltalake import DeltaTable

        table = DeltaTable(location).to_pyarrow_table()
        found = list(
            zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True)
        )
    return sorted(found, key=lambda row: (row[0] is not None, row))


@pytest.mark.parametrize("writer", ["spark", "python"])
def test_null_and_repeated_keys_mean_the_same_to_every_writer(
    writer: str, local_settings: Settings, spark: Any
) -> None:
    job = f"mk_{writer}"
    for number, text in enumerate(BATCHES[:2]):
        land(local_settings, f"{job}/{number}.csv", text, "mergekeys")
        assert _run(writer, local_settings, spark, job) == 0
    assert _landed(writer, local_settings, spark, job) == [
        (None, "no key again"),
        (1, "a"),
        (2, "b"),
    ]

    land(local_settings, f"{job}/2.csv", BATCHES[2], "mergekeys")
    assert _run(writer, local_settings, spark, job) != 0
    refused = open_run_store(local_settings).job_runs(job)[0]
    assert refused.state == "FAILED"
    assert "1 merge key(s) on more than one row (e.g. id=3)" in refused.error
    assert "nothing was written" in refused.error
    assert len(_landed(writer, local_settings, spark, job)) == 3
