"""The short fault soak of issue 20, on the real stack: a continuous replication task
follows a stream of changes while PostgreSQL (its source, the run-state database and
the metastore's database), MinIO and the metastore are restarted and its driver is
SIGKILLed — one fault of each kind. It keeps going by itself through all of them, and
at the end nothing is lost or doubled: validation passes, the change table holds each
position once, the statistics count each change once.

Last in the stack phase (restarting shared services is the one thing the other
stack tests must not see): the stack is brought fully up again at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from engine.stack import launcher
from engine.stack.postgres import STATE_DATABASE
from tests.helpers import HEADWATER, run_cli, run_cli_json
from tests.stack_fixture import StackRun, connections_yaml

pytestmark = pytest.mark.stack

TASK = "soak"
WAIT_SECONDS = 240


def _state(stack: StackRun, sql: str) -> list[tuple[Any, ...]] | None:
    """Rows from the run-state database, or None while it is down."""
    try:
        with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
            return db.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None


class Stream:
    """Waves of inserts, updates and deletes on the source; what was done, counted."""

    def __init__(self, stack: StackRun) -> None:
        self.stack, self.next_id = stack, 1
        self.inserts = self.updates = self.deletes = 0
        with stack.source() as source:
            source.execute(f"DROP SCHEMA IF EXISTS {TASK} CASCADE")
            source.execute(f"CREATE SCHEMA {TASK}")
            source.execute(f"CREATE TABLE {TASK}.events (id int PRIMARY KEY, v int, note text)")
        self.wave(loaded=True)

    def wave(self, loaded: bool = False) -> None:
        first, self.next_id = self.next_id, self.next_id + 60
        with self.stack.source() as source:
            source.execute(
                f"INSERT INTO {TASK}.events SELECT g, g, 'row ' || g "
                f"FROM generate_series({first}, {first + 59}) g"
            )
            if loaded:
                return  # the full load's rows: not changes
            updated = source.execute(f"UPDATE {TASK}.events SET v = v + 1 WHERE id % 7 = 0")
            self.updates += updated.rowcount
            source.execute(f"DELETE FROM {TASK}.events WHERE id BETWEEN {first} AND {first + 4}")
        self.inserts += 60
        self.deletes += 5

    def applied(self) -> tuple[int, int, int] | None:
        rows = _state(
            self.stack,
            f"SELECT inserts, updates, deletes FROM replication_tables WHERE task = '{TASK}'",
        )
        return (int(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None

    def wait_applied(self, follower: subprocess.Popen[bytes], log: Path) -> None:
        expected = (self.inserts, self.updates, self.deletes)
        deadline = time.monotonic() + WAIT_SECONDS
        while (seen := self.applied()) != expected:
            assert follower.poll() is None, f"the supervisor ended:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"applied {seen}, expected {expected}"
            time.sleep(1)


def _restart(stack: StackRun, service: str) -> Callable[[], None]:
    def fault() -> None:
        launcher.down(stack.settings, [service])
        time.sleep(3)  # down for a while: batches meet it
        launcher.up(stack.settings, [service])

    return fault


def _kill_driver(stack: StackRun) -> Callable[[], None]:
    def fault() -> None:
        rows = _state(
            stack,
            f"SELECT pid FROM job_runs WHERE job = 'replicate-{TASK}' AND state = 'RUNNING'",
        )
        assert rows, "no running driver to kill"
        os.kill(int(rows[0][0]), signal.SIGKILL)

    return fault


def test_continuous_replication_rides_out_restarts_and_a_killed_driver(
    stack: StackRun, tmp_path: Path
) -> None:
    stream = Stream(stack)
    rules = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "object-locator": {"schema-name": TASK, "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
    project = tmp_path / "headwater.yaml"
    task = {
        "connection": "shop",
        "table_mappings": json.dumps(rules),
        "continuous_interval_seconds": 1,
        "recoverable_error_interval_seconds": 1,
        "recoverable_error_throttling_max_seconds": 4,
        "heartbeat_frequency_minutes": 0.05,
    }
    project.write_text(
        connections_yaml(stack.settings) + yaml.safe_dump({"replication_tasks": {TASK: task}})
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    started = run_cli(["replicate", "start", TASK], env)
    assert started.returncode == 0, started.stderr[-3000:]
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        follower = subprocess.Popen(
            [*HEADWATER, "replicate", "resume", TASK, "--continuous"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    faults = {
        "postgres": _restart(stack, "postgres"),
        "minio": _restart(stack, "minio"),
        "metastore": _restart(stack, "metastore"),
        "driver": _kill_driver(stack),
    }
    try:
        for name, fault in faults.items():
            stream.wave()
            stream.wait_applied(follower, log)
            stream.wave()  # changes waiting while the fault hits
            fault()
            print(f"fault: {name}")
        stream.wave()
        stream.wait_applied(follower, log)
        stopped = run_cli(["replicate", "stop", TASK], env)
        assert "stopped: jr_" in stopped.stdout, stopped.stdout + stopped.stderr
        assert follower.wait(180) == 0, log.read_text()[-3000:]
    finally:
        if follower.poll() is None:
            follower.kill()
        launcher.up(stack.settings)  # every service back for whatever runs next
    said = log.read_text()
    assert "starting it again" in said, said[-3000:]  # the killed driver was replaced
    status = run_cli_json(["replicate", "status", TASK], env)[0]
    assert status["restarts"] >= 1 and status["retries"] >= 1, status
    assert status["health"] == "stopped" and status["heartbeat_at"], status
    assert status["retained_wal_bytes"] is not None
    validated = run_cli(["replicate", "validate", TASK], env)
    assert validated.returncode == 0, validated.stderr[-3000:]
    rows = stream.next_id - 1 - (stream.deletes)
    assert f"{TASK}.events: Validated (rows: source {rows}, lake {rows})" in validated.stdout
    changes = stream.inserts + stream.updates + stream.deletes
    assert stack.query(f"SELECT count(*), count(DISTINCT _lsn) FROM {TASK}.events__ct") == [
        (changes, changes)
    ]
    assert stream.applied() == (stream.inserts, stream.updates, stream.deletes)

    # the change table, appended to by every batch: compacted, then vacuumed around a pin
    table = f"{TASK}.events__ct"
    optimized = run_cli(["table", "optimize", table], env)
    assert optimized.returncode == 0, optimized.stderr[-3000:]
    counts = re.search(rf"{table}: (\d+) data file\(s\) compacted into (\d+)", optimized.stdout)
    assert counts is not None and int(counts[2]) < int(counts[1]), optimized.stdout[-2000:]
    manifest = tmp_path / "events.manifest.json"
    assert run_cli(["snapshot", table, "-o", str(manifest)], env).returncode == 0
    version = json.loads(manifest.read_text())["version"]
    assert [p["version"] for p in run_cli_json(["table", "pins", table], env)] == [version]
    vacuumed = run_cli(["table", "vacuum", table, "--retain-hours", "0"], env)
    assert vacuumed.returncode == 0, vacuumed.stderr[-3000:]
    assert f"version {version} is pinned by a snapshot" in vacuumed.stdout, vacuumed.stdout
    released = run_cli(["table", "unpin", table, "--version", str(version)], env)
    assert released.returncode == 0 and run_cli_json(["table", "pins", table], env) == []
