"""The fault soak of issue 20 on the real stack, shared by the stack test (one fault of
each kind) and ``make bench ONLY=soak`` (ten minutes of random faults).

A continuous replication task (``headwater replicate resume soak --continuous``, its
own supervisor) follows a stream of inserts, updates and deletes in waves, with now
and then one large transaction, while the harness restarts PostgreSQL (the source,
the run-state database and the metastore's database), MinIO and the metastore, and
SIGKILLs the replication driver. What was done on the source is counted; at the
end nothing may be lost or doubled.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from engine.stack import launcher
from engine.stack.postgres import STATE_DATABASE
from tests.helpers import HEADWATER, run_cli, run_cli_json
from tests.stack_fixture import StackRun, connections_yaml

TASK = "soak"
SLOT = f"headwater_{TASK}"
WAIT_SECONDS = 300
FAULT_KINDS = ("postgres", "minio", "metastore", "driver")


def state_rows(stack: StackRun, sql: str) -> list[tuple[Any, ...]] | None:
    """Rows from the run-state database, or None while it is down."""
    try:
        with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
            return db.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None


@dataclass
class Stream:
    """Waves of inserts, updates and deletes on the source, each one transaction;
    what was committed, counted, and when (for the lag)."""

    stack: StackRun
    next_id: int = 1
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    # (commit time, inserts, updates, deletes) of waves not yet seen applied
    waiting: list[tuple[float, int, int, int]] = field(default_factory=list)
    max_lag: float = 0.0
    max_retained_wal: int = 0

    def create(self) -> None:
        with self.stack.source() as source:
            source.execute(f"DROP SCHEMA IF EXISTS {TASK} CASCADE")
            source.execute(f"CREATE SCHEMA {TASK}")
            source.execute(f"CREATE TABLE {TASK}.events (id int PRIMARY KEY, v int, note text)")
        self.wave(loaded=True)

    @property
    def changes(self) -> int:
        return self.inserts + self.updates + self.deletes

    def wave(self, loaded: bool = False, rows: int = 60) -> None:
        """``rows`` inserted, every 7th of the recent rows updated, 5 deleted."""
        first, self.next_id = self.next_id, self.next_id + rows
        with self.stack.source() as source, source.transaction():
            source.execute(
                f"INSERT INTO {TASK}.events SELECT g, g, 'row ' || g "
                f"FROM generate_series({first}, {first + rows - 1}) g"
            )
            if loaded:
                return  # the full load's rows: not changes
            updated = source.execute(
                f"UPDATE {TASK}.events SET v = v + 1 WHERE id % 7 = 0 AND id >= {first - 300}"
            ).rowcount
            source.execute(f"DELETE FROM {TASK}.events WHERE id BETWEEN {first} AND {first + 4}")
        self.inserts += rows
        self.updates += updated
        self.deletes += 5
        self.waiting.append((time.monotonic(), self.inserts, self.updates, self.deletes))

    def large(self, rows: int) -> None:
        """One transaction inserting ``rows`` rows and updating each of them."""
        first, self.next_id = self.next_id, self.next_id + rows
        with self.stack.source() as source, source.transaction():
            source.execute(
                f"INSERT INTO {TASK}.events SELECT g, g, 'bulk ' || g "
                f"FROM generate_series({first}, {first + rows - 1}) g"
            )
            source.execute(f"UPDATE {TASK}.events SET v = -v WHERE id >= {first}")
        self.inserts += rows
        self.updates += rows
        self.waiting.append((time.monotonic(), self.inserts, self.updates, self.deletes))

    def applied(self) -> tuple[int, int, int] | None:
        rows = state_rows(
            self.stack,
            f"SELECT inserts, updates, deletes FROM replication_tables WHERE task = '{TASK}'",
        )
        return (int(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None

    def poll(self) -> tuple[int, int, int] | None:
        """The counts applied so far; waves seen applied leave ``waiting`` with their lag."""
        seen = self.applied()
        if seen is not None:
            while self.waiting and all(
                a >= w for a, w in zip(seen, self.waiting[0][1:], strict=True)
            ):
                self.max_lag = max(self.max_lag, time.monotonic() - self.waiting.pop(0)[0])
            retained = self.retained_wal()
            if retained is not None:
                self.max_retained_wal = max(self.max_retained_wal, retained)
        return seen

    def retained_wal(self) -> int | None:
        try:
            with self.stack.source() as source:
                rows = source.execute(
                    "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint "
                    "FROM pg_replication_slots WHERE slot_name = %s",
                    (SLOT,),
                ).fetchall()
        except psycopg.OperationalError:
            return None
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def wait_applied(self, follower: subprocess.Popen[bytes], log: Path) -> None:
        expected = (self.inserts, self.updates, self.deletes)
        deadline = time.monotonic() + WAIT_SECONDS
        while (seen := self.poll()) != expected:
            assert follower.poll() is None, f"the supervisor ended:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"applied {seen}, expected {expected}"
            time.sleep(1)


def restart(stack: StackRun, service: str) -> Callable[[], None]:
    def fault() -> None:
        launcher.down(stack.settings, [service])
        time.sleep(3)  # down for a while: batches meet it
        launcher.up(stack.settings, [service])

    return fault


def kill_driver(stack: StackRun) -> Callable[[], None]:
    def fault() -> None:
        deadline = time.monotonic() + 60  # a replacement driver may still be starting
        while not (
            rows := state_rows(
                stack,
                f"SELECT pid FROM job_runs WHERE job = 'replicate-{TASK}' AND state = 'RUNNING'",
            )
        ):
            assert time.monotonic() < deadline, "no running driver to kill"
            time.sleep(1)
        os.kill(int(rows[0][0]), signal.SIGKILL)

    return fault


def faults(stack: StackRun) -> dict[str, Callable[[], None]]:
    return {
        "postgres": restart(stack, "postgres"),
        "minio": restart(stack, "minio"),
        "metastore": restart(stack, "metastore"),
        "driver": kill_driver(stack),
    }


class Soak:
    """Task ``soak`` started (full load) and followed by its supervisor."""

    def __init__(self, stack: StackRun, work: Path, **settings: Any) -> None:
        self.stack, self.work = stack, work
        self.stream = Stream(stack)
        self.stream.create()
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
        task = {
            "connection": "shop",
            "table_mappings": json.dumps(rules),
            "continuous_interval_seconds": 1,
            "recoverable_error_interval_seconds": 1,
            "recoverable_error_throttling_max_seconds": 4,
            "heartbeat_frequency_minutes": 0.05,
            **settings,
        }
        project = work / "headwater.yaml"
        project.write_text(
            connections_yaml(stack.settings) + yaml.safe_dump({"replication_tasks": {TASK: task}})
        )
        self.env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
        started = run_cli(["replicate", "start", TASK], self.env)
        assert started.returncode == 0, started.stderr[-3000:]
        self.log = work / "supervisor.log"
        with self.log.open("wb") as out:
            self.follower = subprocess.Popen(
                [*HEADWATER, "replicate", "resume", TASK, "--continuous"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def settle(self) -> None:
        """Wait until every committed change is applied."""
        self.stream.wait_applied(self.follower, self.log)

    def stop(self) -> None:
        """Stop the task (after its batch) and bring every service back up."""
        try:
            stopped = run_cli(["replicate", "stop", TASK], self.env)
            assert "stopped: jr_" in stopped.stdout, stopped.stdout + stopped.stderr
            assert self.follower.wait(180) == 0, self.log.read_text()[-3000:]
        finally:
            if self.follower.poll() is None:
                self.follower.kill()
            launcher.up(self.stack.settings)  # every service back for whatever runs next

    def check(self) -> dict[str, Any]:
        """Validation passes, each change is in the change table once and counted once;
        the status after the soak."""
        status = run_cli_json(["replicate", "status", TASK], self.env)[0]
        validated = run_cli(["replicate", "validate", TASK], self.env)
        assert validated.returncode == 0, validated.stderr[-3000:]
        stream = self.stream
        rows = stream.next_id - 1 - stream.deletes
        assert f"{TASK}.events: Validated (rows: source {rows}, lake {rows})" in validated.stdout
        ((landed, distinct),) = self.stack.query(
            f"SELECT count(*), count(DISTINCT _lsn) FROM {TASK}.events__ct"
        )
        assert (landed, distinct) == (stream.changes, stream.changes), (landed, distinct)
        assert stream.applied() == (stream.inserts, stream.updates, stream.deletes)
        return {**status, "changes_landed": landed, "distinct_positions": distinct}

    def optimize(self, table: str) -> tuple[int, int]:
        """``headwater table optimize``: (data files before, after)."""
        name = f"{TASK}.{table}"
        optimized = run_cli(["table", "optimize", name], self.env)
        assert optimized.returncode == 0, optimized.stderr[-3000:]
        counts = re.search(rf"{name}: (\d+) data file\(s\) compacted into (\d+)", optimized.stdout)
        assert counts is not None, optimized.stdout[-2000:]
        return int(counts[1]), int(counts[2])
