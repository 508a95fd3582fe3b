"""Running the ingest job in-process on the test session, and landing files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.config import Settings
from engine.ingest.context import JobContext
from engine.ingest.job import REQUIRED_ARGS, ingest
from engine.state.jobs import JobRun


def run_ingest(settings: Settings, spark: Any, job: str, **args: str) -> tuple[JobRun, int]:
    """One run of jobs/ingest.py's body, as spark-submit would run it."""
    argv = ["--JOB_NAME", job]
    for key, value in args.items():
        argv += [f"--{key.replace('__', '-')}", value]
    ctx = JobContext.start(argv, required=REQUIRED_ARGS, settings=settings)
    ctx._spark = spark
    code = ctx.run(ingest)
    return ctx.run_record, code


def land(settings: Settings, key: str, text: str, bucket: str = "landing") -> Path:
    path = settings.lake_path / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def csv_rows(ids: range, name: str = "n") -> str:
    return "id,name,amount\n" + "".join(f"{i},{name}{i},{i * 1.5}\n" for i in ids)


def json_lines(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def rows(spark: Any, table: str, *columns: str) -> list[tuple[Any, ...]]:
    found = [tuple(r) for r in spark.table(table).select(*columns).collect()]
    return sorted(found, key=lambda row: tuple((v is not None, v) for v in row))  # nulls first


def version(spark: Any, table: str) -> int:
    return int(spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()["version"])
