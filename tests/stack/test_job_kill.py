"""Exactly-once on the real stack: files in MinIO, run state in PostgreSQL, Delta on
S3A, the landed table read through the Thrift Server. The middle of three runs is
SIGKILLed while it writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import yaml
from pyhive import hive

from engine import storage
from engine.state.store import STATE_DATABASE
from tests.helpers import HEADWATER, run_cli, run_cli_json
from tests.kill_scenario import PENDING_RUNS_SQL, ROWS_PER_FILE, checksum, csv_part, kill_mid_write
from tests.stack_fixture import StackRun, connections_yaml


def _writing_driver(stack: StackRun) -> Callable[[], int | None]:
    def probe() -> int | None:
        try:
            with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
                found = db.execute(PENDING_RUNS_SQL).fetchall()
        except psycopg.errors.UndefinedTable:
            return None
        return int(found[0][0]) if found else None

    return probe


def test_on_minio_the_middle_run_killed_mid_write_loses_and_duplicates_nothing(
    stack: StackRun, tmp_path: Path
) -> None:
    store = storage.open_store(stack.settings, "landing")

    def land(name: str, first_id: int) -> list[int]:
        data, ids = csv_part(first_id)
        store.put(f"grow_s3/{name}", data)
        return ids

    jobs = {
        "grow_s3": {
            "arguments": {
                "source": "s3://landing/grow_s3/",
                "format": "csv",
                "source_options": {"header": "true", "inferSchema": "true"},
                "target": "raw.grow_s3",
            }
        }
    }
    project = tmp_path / "headwater.yaml"
    project.write_text(connections_yaml(stack.settings) + yaml.safe_dump({"jobs": jobs}))
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}

    expected = land("part-1.csv", 1)
    first = run_cli(["job", "run", "grow_s3"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    expected += land("part-2.csv", len(expected) + 1)
    expected += land("part-3.csv", len(expected) + 1)
    assert kill_mid_write([*HEADWATER, "job", "run", "grow_s3"], env, _writing_driver(stack)) != 0
    third = run_cli(["job", "run", "grow_s3"], env)
    assert third.returncode == 0, third.stderr[-3000:]

    with hive.connect(host="127.0.0.1", port=stack.settings.stack.thrift_port) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT count(*), count(DISTINCT id), min(id), max(id), "
            "sum(id * 31 + amount * 100) FROM raw.grow_s3"
        )
        count, distinct, low, high, total = cursor.fetchall()[0]
    assert (count, distinct, low, high) == (len(expected), len(expected), 1, len(expected))
    assert total == checksum(expected)

    runs = run_cli_json(["job", "runs", "grow_s3", "--json"], env)[::-1]
    assert [r["state"] for r in runs] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert [r["rows_written"] for r in runs][::2] == [ROWS_PER_FILE, 2 * ROWS_PER_FILE]
