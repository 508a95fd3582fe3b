"""The acceptance scenario of the scheduler on the real stack: a workflow in
headwater.yaml (crawl landing → ingest → register, plus a replication batch from
PostgreSQL) on a one-minute schedule under ``headwater scheduler``; the scheduler
is stopped with SIGTERM in the middle of a run and a new one finishes it; the
history is read back through the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import storage
from tests.helpers import HEADWATER, run_cli_json, selection
from tests.stack_fixture import StackRun, connections_yaml

pytestmark = pytest.mark.stack


def _csv(first: int, count: int) -> bytes:
    lines = ["id,item,qty"] + [
        f"{i},item-{i % 17},{i % 5 + 1}" for i in range(first, first + count)
    ]
    return ("\n".join(lines) + "\n").encode()


def _project(stack: StackRun, tmp_path: Path) -> dict[str, str]:
    rules = {"rules": [selection("sched")]}
    document = {
        "crawlers": {
            "landing_orders": {
                "database": "lsched",
                "targets": [{"path": "s3://landing/sched/"}],
            },
            "registered_orders": {
                "database": "raw",
                "targets": [{"path": "s3://raw/sched_orders/"}],
            },
        },
        "jobs": {
            "orders": {
                "arguments": {
                    "source": "lsched.orders",
                    "target": "raw.sched_orders",
                    "write_mode": "merge",
                    "merge_keys": ["id"],
                }
            }
        },
        "replication_tasks": {
            "schedsrc": {"connection": "shop", "table_mappings": json.dumps(rules)}
        },
        "workflows": {
            "minutely": {
                "max_concurrent_runs": 1,
                "triggers": {
                    "every-minute": {
                        "type": "schedule",
                        "schedule": "* * * * *",
                        "timezone": "Europe/Berlin",
                        "catch_up": "run_once",
                        "actions": [{"crawler": "landing_orders"}, {"replication": "schedsrc"}],
                    },
                    "ingest": {
                        "type": "conditional",
                        "predicate": {"conditions": [{"crawler": "landing_orders"}]},
                        "actions": [{"job": "orders"}],
                    },
                    "register": {
                        "type": "conditional",
                        "predicate": {"conditions": [{"job": "orders"}]},
                        "actions": [{"crawler": "registered_orders"}],
                    },
                },
            }
        },
    }
    project = tmp_path / "headwater.yaml"
    project.write_text(connections_yaml(stack.settings) + yaml.safe_dump(document))
    return {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}


def _scheduler(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*HEADWATER, "scheduler", "--tick", "2"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _runs(env: dict[str, str]) -> list[dict[str, Any]]:
    found = subprocess.run(
        [*HEADWATER, "runs", "--kind", "workflow", "--name", "minutely", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return list(reversed(json.loads(found.stdout))) if found.returncode == 0 else []


def _wait(check: Any, timeout: float, what: str, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    shown = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{shown}")


def test_a_workflow_on_a_one_minute_schedule_survives_a_scheduler_restart(
    stack: StackRun, tmp_path: Path
) -> None:
    source = stack.source()
    source.execute("DROP SCHEMA IF EXISTS sched CASCADE")
    source.execute("CREATE SCHEMA sched")
    source.execute("CREATE TABLE sched.events (id int PRIMARY KEY, kind text)")
    source.execute("INSERT INTO sched.events SELECT g, 'k' || g % 3 FROM generate_series(1, 100) g")
    landing = storage.open_store(stack.settings, "landing")
    landing.put("sched/orders/part-1.csv", _csv(1, 50))
    env = _project(stack, tmp_path)
    first_log, second_log = tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"
    logs = [first_log, second_log]

    first = _scheduler(env, first_log)
    second = None
    try:
        # run 1: the first full minute after the scheduler looked
        _wait(lambda: [r for r in _runs(env) if r["state"] == "SUCCEEDED"], 240, "run 1", logs)
        source.execute("INSERT INTO sched.events SELECT g, 'new' FROM generate_series(101, 120) g")
        source.execute("UPDATE sched.events SET kind = 'changed' WHERE id <= 10")
        landing.put("sched/orders/part-2.csv", _csv(51, 30))
        # run 2 starts on a later minute; the scheduler gets SIGTERM while it runs
        _wait(
            lambda: len(_runs(env)) >= 2 and _runs(env)[1]["state"] == "RUNNING", 180, "run 2", logs
        )
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0
        assert "runs handed over" in first_log.read_text()
        second = _scheduler(env, second_log)
        done = _wait(
            lambda: (r := _runs(env)) and len(r) >= 2 and r[1]["state"] != "RUNNING" and r,
            300,
            "run 2 to finish under the new scheduler",
            logs,
        )
        # the new scheduler goes on: a run it fired (after the changes) succeeds
        holder = second_log.read_text().split()[1]

        def fired_by_second() -> bool:
            states = {r["run_id"]: r["state"] for r in _runs(env)}
            return any(
                d["decided_by"] == holder and states.get(d["run_id"]) == "SUCCEEDED"
                for d in run_cli_json(["trigger", "decisions", "minutely", "--json"], env)
            )

        _wait(fired_by_second, 240, "a run fired and finished by the new scheduler", logs)
        disabled = subprocess.run(
            [*HEADWATER, "workflow", "disable", "minutely"], env=env, check=False
        )
        assert disabled.returncode == 0
        _wait(lambda: all(r["state"] != "RUNNING" for r in _runs(env)), 240, "the last run", logs)
        second.send_signal(signal.SIGTERM)
        assert second.wait(120) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(30)

    history = _runs(env)
    assert [r["state"] for r in done[:2]] == ["SUCCEEDED", "SUCCEEDED"], done
    assert len(history) >= 3 and {r["state"] for r in history} == {"SUCCEEDED"}, history
    assert all(r["started_by"].startswith("schedule ") for r in history)
    # the run the first scheduler handed over was finished by the second
    assert done[1]["run_id"] in second_log.read_text()
    status = run_cli_json(
        ["workflow", "status", "minutely", "--run", done[1]["run_id"], "--json"], env
    )
    nodes = {n["node"]: n for n in status[0]["nodes"]}
    assert {n["state"] for n in nodes.values()} == {"SUCCEEDED"}
    assert all("," not in n["runs"] for n in nodes.values())  # each action ran once

    # the data: both landing files ingested once, the source changes replicated
    assert stack.query("SELECT count(*), count(DISTINCT id) FROM raw.sched_orders") == [(80, 80)]
    assert stack.query("SELECT count(*) FROM schedsrc.events") == [(120,)]
    assert stack.query("SELECT count(*) FROM schedsrc.events WHERE kind = 'changed'") == [(10,)]

    # every firing decided once; every run traces back to one FIRED decision
    decisions = run_cli_json(["trigger", "decisions", "minutely", "--json"], env)
    fired = {d["run_id"] for d in decisions if d["outcome"] == "FIRED"}
    assert {r["run_id"] for r in _runs(env)} <= fired
    assert len({d["fire_key"] for d in decisions}) == len(decisions)
    assert {d["outcome"] for d in decisions} <= {"FIRED", "REFUSED", "SKIPPED"}
    replication = run_cli_json(
        ["runs", "--kind", "replication", "--name", "schedsrc", "--json"], env
    )
    assert len(replication) == len(history)
    assert {r["state"] for r in replication} == {"SUCCEEDED"}
