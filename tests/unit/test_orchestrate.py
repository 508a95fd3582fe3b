"""Triggers and workflows as plain decisions: predicates, workflow steps, schedule
catch-up, standalone conditions, definitions and graphs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.errors import ConfigError
from engine.orchestrate.cron import CronSchedule
from engine.orchestrate.definitions import (
    Flow,
    PredicateDefinition,
    WorkflowDefinition,
    load_flows,
)
from engine.orchestrate.graph import dot, tree_lines
from engine.orchestrate.plan import (
    decide_conditional,
    decide_schedule,
    final_state,
    is_satisfied,
    plan_step,
    substitute,
)

pytestmark = pytest.mark.unit
UTC = timezone.utc

DAILY: dict[str, Any] = {
    "run_properties": {"day": "2026-11-28"},
    "triggers": {
        "start": {
            "type": "schedule",
            "schedule": "* * * * *",
            "actions": [{"crawler": "landing"}, {"replication": "shop"}],
        },
        "ingest": {
            "type": "conditional",
            "predicate": {"conditions": [{"crawler": "landing"}]},
            "actions": [{"job": "sales", "arguments": {"day": "${day}"}}],
        },
        "register": {
            "type": "conditional",
            "predicate": {
                "logical": "ALL",
                "conditions": [{"job": "sales"}, {"replication": "shop"}],
            },
            "actions": [{"crawler": "raw"}],
        },
        "alert": {
            "type": "conditional",
            "predicate": {
                "logical": "ANY",
                "conditions": [
                    {"job": "sales", "state": "FAILED"},
                    {"job": "sales", "state": "TIMEOUT"},
                ],
            },
            "actions": [{"job": "notify"}],
        },
    },
}


def _flow(body: dict[str, Any] = DAILY) -> Flow:
    workflow = WorkflowDefinition.model_validate(body)
    return Flow("daily", "workflow", workflow.triggers, workflow.start, 1, {})


def _predicate(logical: str, *states: str) -> PredicateDefinition:
    return PredicateDefinition.model_validate(
        {
            "logical": logical,
            "conditions": [{"job": f"j{i}", "state": s} for i, s in enumerate(states)],
        }
    )


def test_all_needs_every_condition_and_any_needs_one() -> None:
    both = _predicate("ALL", "SUCCEEDED", "FAILED")
    either = _predicate("ANY", "SUCCEEDED", "FAILED")
    assert is_satisfied(both, {"job:j0": "SUCCEEDED", "job:j1": "FAILED"})
    assert not is_satisfied(both, {"job:j0": "SUCCEEDED", "job:j1": "SUCCEEDED"})
    assert not is_satisfied(both, {"job:j0": "SUCCEEDED"})
    assert is_satisfied(either, {"job:j0": "SUCCEEDED", "job:j1": "RUNNING"})
    assert is_satisfied(either, {"job:j1": "FAILED"})
    assert not is_satisfied(either, {"job:j0": "TIMEOUT", "job:j1": "STOPPED"})
    glue_and = _predicate("AND", "STOPPED")  # Glue's spelling of ALL
    assert is_satisfied(glue_and, {"job:j0": "STOPPED"})


def test_a_workflow_run_steps_through_its_graph() -> None:
    flow = _flow()
    fired = {"start"}
    # the start trigger fired with the run: its actions start
    step = plan_step(flow, {}, fired)
    assert step.start == [("start", "crawler:landing"), ("start", "replication:shop")]
    # the crawler succeeded while the replication batch runs: ingest fires
    step = plan_step(flow, {"crawler:landing": "SUCCEEDED", "replication:shop": "RUNNING"}, fired)
    assert step.fire == ["ingest"] and step.start == [("ingest", "job:sales")]
    assert step.final_state is None
    fired.add("ingest")
    states = {
        "crawler:landing": "SUCCEEDED",
        "replication:shop": "RUNNING",
        "job:sales": "SUCCEEDED",
    }
    # ALL of sales and shop: not yet
    assert plan_step(flow, states, fired).fire == []
    states["replication:shop"] = "SUCCEEDED"
    step = plan_step(flow, states, fired)
    assert step.fire == ["register"] and step.start == [("register", "crawler:raw")]
    fired.add("register")
    states["crawler:raw"] = "SUCCEEDED"
    step = plan_step(flow, states, fired)
    assert (step.fire, step.start, step.final_state) == ([], [], "SUCCEEDED")


def test_a_failure_takes_the_failure_branch_and_the_run_ends_failed() -> None:
    flow = _flow()
    fired = {"start", "ingest"}
    states = {
        "crawler:landing": "SUCCEEDED",
        "replication:shop": "SUCCEEDED",
        "job:sales": "TIMEOUT",
    }
    step = plan_step(flow, states, fired)
    assert step.fire == ["alert"] and step.start == [("alert", "job:notify")]
    states["job:notify"] = "SUCCEEDED"
    step = plan_step(flow, states, fired | {"alert"})
    assert step.final_state == "FAILED" and "job:sales (TIMEOUT)" in step.error
    assert final_state({"a": "SUCCEEDED", "b": "STOPPED"}) == ("STOPPED", "stopped: b")


def test_fired_triggers_whose_nodes_are_missing_start_them_again() -> None:
    """After a crash between firing and launching, and for a resumed run whose
    failed node was not carried over."""
    flow = _flow()
    states = {"crawler:landing": "SUCCEEDED", "replication:shop": "SUCCEEDED"}
    step = plan_step(flow, states, {"start", "ingest"})
    assert step.fire == [] and step.start == [("ingest", "job:sales")]


def test_schedule_decisions_on_time_missed_and_caught_up() -> None:
    cron = CronSchedule.parse("*/10 * * * *")
    grace = timedelta(seconds=90)
    at = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)
    on_time = decide_schedule(cron, at - timedelta(seconds=10), at, "skip", grace)
    assert on_time.fire == datetime(2026, 11, 28, 12, 0, tzinfo=UTC) and not on_time.skipped
    nothing = decide_schedule(cron, at, at + timedelta(minutes=5), "skip", grace)
    assert nothing.fire is None and not nothing.skipped
    # down from 11:05 to 12:35: 11:10 … 12:30 missed
    back = datetime(2026, 11, 28, 12, 35, tzinfo=UTC)
    down_since = datetime(2026, 11, 28, 11, 5, tzinfo=UTC)
    skipped = decide_schedule(cron, down_since, back, "skip", grace)
    assert skipped.fire is None and len(skipped.skipped) == 9
    once = decide_schedule(cron, down_since, back, "run_once", grace)
    assert once.fire == datetime(2026, 11, 28, 12, 30, tzinfo=UTC) and once.late
    assert len(once.skipped) == 8
    # back just after a firing: that one is on time, the earlier ones were missed
    back = datetime(2026, 11, 28, 12, 40, 30, tzinfo=UTC)
    mixed = decide_schedule(cron, down_since, back, "run_once", grace)
    assert mixed.fire == datetime(2026, 11, 28, 12, 40, tzinfo=UTC) and not mixed.late
    assert len(mixed.skipped) == 9


def test_a_standalone_condition_counts_each_run_once() -> None:
    watch_all = _predicate("ALL", "SUCCEEDED", "SUCCEEDED")
    consumed = {"job:j0": "r0", "job:j1": "r1"}  # what had run when the trigger was first seen
    latest = {"job:j0": ("r2", "SUCCEEDED"), "job:j1": ("r1", "SUCCEEDED")}
    fire, after = decide_conditional(watch_all, latest, consumed)
    assert not fire and after == consumed  # j1's run was consumed already
    latest["job:j1"] = ("r3", "SUCCEEDED")
    fire, after = decide_conditional(watch_all, latest, consumed)
    assert fire and after == {"job:j0": "r2", "job:j1": "r3"}
    assert decide_conditional(watch_all, latest, after) == (False, after)  # no second firing
    watch_any = _predicate("ANY", "FAILED", "SUCCEEDED")
    fire, after = decide_conditional(watch_any, {"job:j0": ("r9", "FAILED")}, {})
    assert fire and after == {"job:j0": "r9"}


def test_run_properties_fill_arguments() -> None:
    filled = substitute({"path": "s3://landing/${day}/", "n": 3}, {"day": "2026-11-28"}, "w")
    assert filled == {"path": "s3://landing/2026-11-28/", "n": 3}
    with pytest.raises(ConfigError, match=r"argument path uses \$\{hour\}, which is not a run"):
        substitute({"path": "${hour}"}, {"day": "x"}, "w")
    assert substitute({"path": "${hour}"}, {}, "w", strict=False) == {"path": "${hour}"}


def test_the_graph_prints_as_a_tree_and_as_dot() -> None:
    flow = _flow()
    lines = tree_lines(flow, {"crawler:landing": "SUCCEEDED"})
    assert lines[0] == "trigger start [schedule * * * * * UTC]"
    assert "    └─ crawler:landing  SUCCEEDED" in lines
    assert sum("trigger register" in line for line in lines) == 2  # reached from two nodes
    assert any(line.endswith("trigger register (see above)") for line in lines)
    text = dot(flow, {"job:sales": "FAILED"})
    assert '"trigger:start" -> "crawler:landing";' in text
    assert '"job:sales" -> "trigger:alert" [label="FAILED"];' in text
    assert "fillcolor=salmon" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"extra": {"type": "on_demand", "actions": [{"job": "other"}]}},
            "exactly one schedule or on_demand trigger",
        ),
        (
            {
                "again": {
                    "type": "conditional",
                    "predicate": {"conditions": [{"job": "sales"}]},
                    "actions": [{"crawler": "landing"}],
                }
            },
            "crawler:landing is started by both triggers",
        ),
        (
            {
                "loop": {
                    "type": "conditional",
                    "predicate": {"conditions": [{"crawler": "raw"}]},
                    "actions": [{"job": "back"}],
                },
                "ingest": {
                    "type": "conditional",
                    "predicate": {
                        "logical": "ANY",
                        "conditions": [{"crawler": "landing"}, {"job": "back"}],
                    },
                    "actions": [{"job": "sales"}],
                },
            },
            "the workflow loops: job:sales → crawler:raw → job:back → job:sales",
        ),
        (
            {
                "odd": {
                    "type": "conditional",
                    "predicate": {"conditions": [{"job": "elsewhere"}]},
                    "actions": [{"job": "x"}],
                }
            },
            "watches job:elsewhere, which no trigger of this workflow starts",
        ),
    ],
)
def test_bad_workflows_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    body = {**DAILY, "triggers": {**DAILY["triggers"], **change}}
    with pytest.raises(ValueError, match=message):
        WorkflowDefinition.model_validate(body)


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]) -> None:
    path = tmp_path / "headwater.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))


def test_definitions_load_and_name_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {
        "crawlers": {"landing": {"database": "landing", "targets": [{"path": "s3://landing/"}]}},
        "jobs": {"sales": {"arguments": {"source": "landing.sales", "target": "raw.sales"}}},
        "triggers": {
            "nightly": {
                "type": "schedule",
                "schedule": "cron(0 2 * * ? *)",
                "timezone": "Europe/Berlin",
                "catch_up": "run_once",
                "actions": [{"crawler": "landing"}, {"job": "sales", "timeout_minutes": 5}],
            },
            "after": {
                "type": "conditional",
                "predicate": {"conditions": [{"job": "sales", "state": "FAILED"}]},
                "actions": [{"crawler": "landing"}],
                "enabled": False,
            },
        },
    }
    _project(tmp_path, monkeypatch, base)
    flows = load_flows()
    assert sorted(flows) == ["trigger:after", "trigger:nightly"]
    nightly = flows["trigger:nightly"]
    assert nightly.start_trigger.cron.tz == "Europe/Berlin"
    assert list(nightly.nodes()) == ["crawler:landing", "job:sales"]
    assert flows["trigger:after"].start_trigger.enabled is False

    broken = {
        **base,
        "triggers": {
            "t": {"type": "schedule", "schedule": "0 25 * * *", "actions": [{"job": "sales"}]}
        },
    }
    _project(tmp_path, monkeypatch, broken)
    with pytest.raises(ConfigError, match=r"triggers\.t: .*hour 25 is outside 0-23"):
        load_flows()
    missing = {**base, "triggers": {"t": {"type": "on_demand", "actions": [{"job": "nope"}]}}}
    _project(tmp_path, monkeypatch, missing)
    with pytest.raises(ConfigError, match=r"triggers\.t names job 'nope', which is not defined"):
        load_flows()
    wrong = {
        **base,
        "triggers": {
            "t": {"type": "on_demand", "actions": [{"crawler": "landing", "arguments": {"a": 1}}]}
        },
    }
    _project(tmp_path, monkeypatch, wrong)
    with pytest.raises(ConfigError, match="'arguments' are for job actions"):
        load_flows()
