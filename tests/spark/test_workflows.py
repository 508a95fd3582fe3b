"""Workflows and the scheduler in the local profile, as users run them: real crawls
and spark-submit jobs in separate processes, state in SQLite.

- crawl landing → ingest → register, forced to fail in the middle, then resumed:
  the crawl is not run again, the rest completes, the rows land once;
- two schedulers at once (one stands by), the driving one SIGKILLed mid-workflow:
  the other takes over, every action runs exactly once, a per-minute trigger fires
  once per minute throughout, SIGTERM stops the survivor cleanly;
- catch-up after downtime: run_once fires the latest missed firing, skip skips.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import HEADWATER, clean_env, run_cli, run_cli_json

PYTHON_JOB = str(Path(__file__).resolve().parents[1] / "data" / "jobs" / "python_job.py")


def _landing_csv(folder: Path, rows: int, seed: int) -> list[tuple[int, str, float]]:
    """A seeded sales file with the usual mess: quoted commas, empty amounts."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines, expected = ["id,customer,amount"], []
    for i in range(1, rows + 1):
        customer = rng.choice(["Acme, Inc.", "Globex", "Initech", "Umbrella"])
        amount = round(rng.uniform(1, 500), 2)
        lines.append(f'{i},"{customer}",{amount}')
        expected.append((i, customer, amount))
    (folder / "part-0001.csv").write_text("\n".join(lines) + "\n")
    return expected


def _project(tmp_path: Path, document: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "headwater.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return clean_env(
        HEADWATER_PROJECT_FILE=str(tmp_path / "headwater.yaml"),
        HEADWATER_HOME=str(tmp_path / "home"),
        HEADWATER_PROFILE="local",
        HEADWATER_SPARK__MASTER="local[2]",
        HEADWATER_SPARK__SHUFFLE_PARTITIONS="2",
    )


def _pipeline(source: str, start: dict[str, Any]) -> dict[str, Any]:
    return {
        "crawlers": {
            "landing": {"database": "landing", "targets": [{"path": "s3://landing/"}]},
            "registered": {"database": "raw", "targets": [{"path": "s3://raw/sales/"}]},
        },
        "jobs": {
            "sales": {
                "arguments": {
                    "source": source,
                    "target": "raw.sales",
                    "write_mode": "merge",
                    "merge_keys": ["id"],
                    "batch_day": "${day}",
                }
            },
            "tick": {"type": "python", "script": PYTHON_JOB},
        },
        "workflows": {
            "daily": {
                "run_properties": {"day": "2026-11-28"},
                "triggers": {
                    "start": {**start, "actions": [{"crawler": "landing"}]},
                    "ingest": {
                        "type": "conditional",
                        "predicate": {"conditions": [{"crawler": "landing", "state": "SUCCEEDED"}]},
                        "actions": [{"job": "sales"}],
                    },
                    "register": {
                        "type": "conditional",
                        "predicate": {"conditions": [{"job": "sales", "state": "SUCCEEDED"}]},
                        "actions": [{"crawler": "registered"}],
                    },
                },
            }
        },
    }


def _landed(tmp_path: Path) -> list[tuple[int, str, float]]:
    from deltalake import DeltaTable

    table = DeltaTable(str(tmp_path / "home" / "lake" / "raw" / "sales")).to_pyarrow_table()
    rows = zip(*(table.column(c).to_pylist() for c in ("id", "customer", "amount")), strict=True)
    return sorted((int(i), str(c), float(a)) for i, c, a in rows)


def _nodes(env: dict[str, str], run_id: str | None = None) -> dict[str, dict[str, Any]]:
    args = ["workflow", "status", "daily", "--json"] + (["--run", run_id] if run_id else [])
    status = run_cli_json(args, env)[0]
    return {"run": status, **{n["node"]: n for n in status["nodes"]}}


def test_a_failed_workflow_run_resumes_from_the_failed_node(tmp_path: Path) -> None:
    expected = _landing_csv(tmp_path / "home" / "lake" / "landing" / "sales", 400, seed=6)
    # forced failure: the job reads a table the crawl does not make
    env = _project(tmp_path, _pipeline("landing.no_such_table", {"type": "on_demand"}))

    graph = run_cli(["workflow", "graph", "daily"], env)
    assert graph.returncode == 0, graph.stderr
    assert "└─ job:sales" in graph.stdout and "trigger register [ALL of job:sales=SUCCEEDED]" in (
        graph.stdout
    )

    failed = run_cli(["workflow", "run", "daily"], env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "ended FAILED" in " ".join(failed.stderr.split())
    first = _nodes(env)
    assert first["run"]["state"] == "FAILED"
    assert first["crawler:landing"]["state"] == "SUCCEEDED"
    assert first["job:sales"]["state"] == "FAILED"
    assert "landing.no_such_table" in first["job:sales"]["error"]
    assert first["crawler:registered"]["state"] == "NOT STARTED"

    # the user fixes the job's source and resumes the run
    _project(tmp_path, _pipeline("landing.sales", {"type": "on_demand"}))
    resumed = run_cli(["workflow", "resume", "daily", first["run"]["run_id"]], env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = _nodes(env)
    assert second["run"]["state"] == "SUCCEEDED"
    assert second["run"]["previous_run_id"] == first["run"]["run_id"]
    assert second["crawler:landing"]["carried over"] is True
    assert second["crawler:landing"]["runs"] == first["crawler:landing"]["runs"]
    assert [second[n]["state"] for n in ("job:sales", "crawler:registered")] == ["SUCCEEDED"] * 2
    assert _landed(tmp_path) == expected

    # the crawl ran once; the job twice (failed, then resumed) with the run's properties
    crawls = run_cli_json(["runs", "--kind", "crawl", "--name", "landing", "--json"], env)
    assert len(crawls) == 1
    jobs = run_cli_json(["runs", "--kind", "job", "--name", "sales", "--json"], env)
    assert [j["state"] for j in jobs] == ["SUCCEEDED", "FAILED"]
    assert jobs[0]["arguments"]["WORKFLOW_RUN_ID"] == second["run"]["run_id"]
    assert jobs[0]["arguments"]["batch_day"] == "2026-11-28"
    flows = run_cli_json(["runs", "--kind", "workflow", "--json"], env)
    assert [(f["state"], f["name"]) for f in flows] == [("SUCCEEDED", "daily"), ("FAILED", "daily")]
    # scripting: a filter that matches exits 0, one that matches nothing exits 1
    assert run_cli(["runs", "--state", "FAILED", "--since", "1h"], env).returncode == 0
    assert run_cli(["runs", "--name", "nothing-by-this-name"], env).returncode == 1
    again = run_cli(["workflow", "resume", "daily"], env)
    assert again.returncode == 1 and "only a FAILED or STOPPED run" in " ".join(
        again.stderr.split()
    )


def _scheduler(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*HEADWATER, "scheduler", "--tick", "1"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_schedulers_and_a_crash_mid_workflow_run_every_action_once(tmp_path: Path) -> None:
    expected = _landing_csv(tmp_path / "home" / "lake" / "landing" / "sales", 300, seed=7)
    document = _pipeline("landing.sales", {"type": "on_demand"})
    document["triggers"] = {
        "tick": {
            "type": "schedule",
            "schedule": "* * * * *",
            "actions": [{"job": "tick", "arguments": {"sleep": "1"}}],
        }
    }
    env = _project(tmp_path, document)
    first_log, second_log = tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"
    first = _scheduler(env, first_log)
    second = None
    try:
        _wait_for(lambda: "holds the lease" in first_log.read_text(), 60, "the first scheduler")
        second = _scheduler(env, second_log)
        _wait_for(lambda: "standing by" in second_log.read_text(), 60, "the second to stand by")

        started = run_cli(["workflow", "run", "daily", "--no-wait"], env)
        assert started.returncode == 0, started.stderr
        _wait_for(
            lambda: _nodes(env).get("job:sales", {}).get("state") == "RUNNING",
            240,
            "the ingest job to run",
        )
        first.kill()  # the driving scheduler crashes mid-workflow
        first.wait(30)
        _wait_for(lambda: "holds the lease" in second_log.read_text(), 60, "the takeover")
        done = _wait_for(
            lambda: (n := _nodes(env))["run"]["state"] != "RUNNING" and n, 300, "the run"
        )
        # let the per-minute trigger fire at least once under the second scheduler
        _wait_for(
            lambda: any(
                d["outcome"] == "FIRED" and d["decided_by"] in second_log.read_text()
                for d in run_cli_json(["trigger", "decisions", "tick", "--json"], env)
            ),
            130,
            "a firing by the second scheduler",
        )
        # a run still going at SIGTERM is handed over (left RUNNING for the next
        # scheduler): let the firing's run end first
        _wait_for(
            lambda: all(
                r["state"] not in ("STARTING", "RUNNING")
                for r in run_cli_json(
                    ["runs", "--kind", "trigger", "--name", "tick", "--json"], env
                )
            ),
            120,
            "the tick run to end",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(30)
    assert "stopped;" in second_log.read_text()

    assert done["run"]["state"] == "SUCCEEDED", done
    assert done["run"]["started_by"] == "on demand"
    for node in ("crawler:landing", "job:sales", "crawler:registered"):
        assert done[node]["state"] == "SUCCEEDED" and "," not in done[node]["runs"]
    # exactly once: one crawl per crawler, one job run
    assert len(run_cli_json(["runs", "--kind", "crawl", "--json"], env)) == 2
    assert len(run_cli_json(["runs", "--kind", "job", "--name", "sales", "--json"], env)) == 1
    assert _landed(tmp_path) == expected

    # every per-minute firing was decided once and started one run of the tick job
    decisions = run_cli_json(["trigger", "decisions", "tick", "--json"], env)
    fired = [d for d in decisions if d["outcome"] == "FIRED"]
    assert fired and all(d["fire_key"].endswith(":00+00:00") for d in fired)
    assert len({d["fire_key"] for d in fired}) == len(fired)
    tick_runs = run_cli_json(["runs", "--kind", "trigger", "--name", "tick", "--json"], env)
    assert sorted(r["run_id"] for r in tick_runs) == sorted(d["run_id"] for d in fired)
    assert {r["state"] for r in tick_runs} == {"SUCCEEDED"}
    jobs = run_cli_json(["runs", "--kind", "job", "--name", "tick", "--json"], env)
    assert len(jobs) == len(fired)
    # nothing is left running
    assert not [
        r for r in run_cli_json(["runs", "--json", "-n", "100"], env) if r["state"] == "RUNNING"
    ]


def test_missed_firings_follow_the_catch_up_policy(tmp_path: Path) -> None:
    fire_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    schedule = f"{fire_at.minute} {fire_at.hour} * * *"  # daily, last fired 5 minutes ago
    tick = {"actions": [{"job": "tick"}], "type": "schedule", "schedule": schedule}
    document = {
        "jobs": {"tick": {"type": "python", "script": PYTHON_JOB}},
        "triggers": {
            "once": {**tick, "catch_up": "run_once"},
            "skipped": {**tick, "catch_up": "skip"},
            "paused": {**tick, "catch_up": "run_once"},
        },
    }
    env = _project(tmp_path, document)
    assert run_cli(["trigger", "disable", "paused"], env).returncode == 0
    first_look = run_cli(["scheduler", "--ticks", "1"], env)
    assert first_look.returncode == 0, first_look.stderr
    assert run_cli_json(["trigger", "decisions", "--json"], env) == []  # first sight: no history

    # the scheduler was down for two days
    two_days_ago = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(timespec="seconds")
    with sqlite3.connect(tmp_path / "home" / "state.db") as db:
        db.execute("UPDATE trigger_settings SET evaluated_to = ?", (two_days_ago,))
    back = run_cli(["scheduler", "--tick", "0.5", "--ticks", "30"], env)
    assert back.returncode == 0, back.stderr

    decisions = run_cli_json(["trigger", "decisions", "--json"], env)
    by_flow: dict[str, list[str]] = {}
    for decision in decisions:
        by_flow.setdefault(decision["flow"], []).append(decision["outcome"])
    assert sorted(by_flow["trigger:once"]) == ["FIRED", "SKIPPED"]
    assert by_flow["trigger:skipped"] == ["SKIPPED", "SKIPPED"]
    assert "trigger:paused" not in by_flow
    once = next(d for d in decisions if d["flow"] == "trigger:once" and d["outcome"] == "FIRED")
    assert once["fire_key"].startswith(fire_at.strftime("%Y-%m-%dT%H:%M"))
    assert "caught up" in once["detail"]
    runs = run_cli_json(["runs", "--kind", "trigger", "--json"], env)
    assert [(r["name"], r["state"]) for r in runs] == [("once", "SUCCEEDED")]

    # decided once: another pass decides nothing new
    assert run_cli(["scheduler", "--ticks", "2", "--tick", "0.5"], env).returncode == 0
    assert len(run_cli_json(["trigger", "decisions", "--json"], env)) == len(decisions)
    listed = {t["name"]: t for t in run_cli_json(["trigger", "list", "--json"], env)}
    assert listed["paused"]["enabled"] is False and listed["once"]["next firing"]
    assert listed["once"]["latest run"] == runs[0]["run_id"]


def test_ctrl_c_stops_a_workflow_run_which_then_resumes(tmp_path: Path) -> None:
    def document(sleep: str) -> dict[str, Any]:
        return {
            "jobs": {
                "slow": {"type": "python", "script": PYTHON_JOB, "arguments": {"sleep": sleep}},
                "after": {"type": "python", "script": PYTHON_JOB},
            },
            "workflows": {
                "stoppable": {
                    "triggers": {
                        "go": {"type": "on_demand", "actions": [{"job": "slow"}]},
                        "next": {
                            "type": "conditional",
                            "predicate": {"conditions": [{"job": "slow"}]},
                            "actions": [{"job": "after"}],
                        },
                    }
                }
            },
        }

    env = _project(tmp_path, document("120"))
    running = subprocess.Popen(
        [*HEADWATER, "workflow", "run", "stoppable"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def slow_state() -> str:
        status = run_cli(["workflow", "status", "stoppable", "--json"], env)
        if status.returncode != 0:
            return ""
        nodes = {n["node"]: n["state"] for n in yaml.safe_load(status.stdout)[0]["nodes"]}
        return str(nodes["job:slow"])

    _wait_for(lambda: slow_state() == "RUNNING", 60, "the slow job")
    running.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = running.communicate(timeout=120)
    assert running.returncode == 1, err
    status = run_cli_json(["workflow", "status", "stoppable", "--json"], env)[0]
    nodes = {n["node"]: n for n in status["nodes"]}
    assert status["state"] == "STOPPED"
    assert nodes["job:slow"]["state"] == "STOPPED"
    assert nodes["job:after"]["state"] == "NOT STARTED"
    slow_runs = run_cli_json(["runs", "--kind", "job", "--name", "slow", "--json"], env)
    assert [r["state"] for r in slow_runs] == ["STOPPED"]

    _project(tmp_path, document("0"))
    resumed = run_cli(["workflow", "resume", "stoppable"], env)
    assert resumed.returncode == 0, resumed.stderr
    status = run_cli_json(["workflow", "status", "stoppable", "--json"], env)[0]
    assert status["state"] == "SUCCEEDED"
    assert {n["node"]: n["state"] for n in status["nodes"]} == {
        "job:slow": "SUCCEEDED",
        "job:after": "SUCCEEDED",
    }


def test_a_standalone_condition_fires_once_per_watched_run(tmp_path: Path) -> None:
    document = {
        "jobs": {
            "upstream": {"type": "python", "script": PYTHON_JOB},
            "downstream": {"type": "python", "script": PYTHON_JOB},
        },
        "triggers": {
            "after-upstream": {
                "type": "conditional",
                "predicate": {"conditions": [{"job": "upstream", "state": "SUCCEEDED"}]},
                "actions": [{"job": "downstream"}],
            }
        },
    }
    env = _project(tmp_path, document)
    # a run from before the scheduler first saw the trigger does not count
    assert run_cli(["job", "run", "upstream"], env).returncode == 0
    assert run_cli(["scheduler", "--ticks", "1"], env).returncode == 0
    assert run_cli(["job", "run", "upstream"], env).returncode == 0
    assert run_cli(["scheduler", "--tick", "0.5", "--ticks", "16"], env).returncode == 0
    assert run_cli(["job", "run", "upstream", "--arg", "fail=terminal"], env).returncode == 1
    assert run_cli(["scheduler", "--tick", "0.5", "--ticks", "6"], env).returncode == 0

    downstream = run_cli_json(["runs", "--kind", "job", "--name", "downstream", "--json"], env)
    assert [r["state"] for r in downstream] == ["SUCCEEDED"]
    decisions = run_cli_json(["trigger", "decisions", "after-upstream", "--json"], env)
    assert [d["outcome"] for d in decisions] == ["FIRED"]
    upstream = run_cli_json(["runs", "--kind", "job", "--name", "upstream", "--json"], env)
    assert upstream[1]["run_id"] in decisions[0]["fire_key"]  # the run that fired it
