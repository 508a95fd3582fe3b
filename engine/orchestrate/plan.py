"""The scheduler's decisions as plain functions: which firings are due, whether a
predicate holds, what a workflow run does next, and how a run ended. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.errors import ConfigError
from engine.orchestrate.cron import CronSchedule
from engine.orchestrate.definitions import (
    CONDITIONAL,
    WATCHABLE_STATES,
    Flow,
    PredicateDefinition,
)
from engine.vocabulary import ACTIVE_STATES, RunState

PROPERTY = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


def is_satisfied(predicate: PredicateDefinition, states: Mapping[str, str]) -> bool:
    """ALL: every condition's node reached its state; ANY: at least one did."""
    results = [states.get(c.node) == c.state for c in predicate.conditions]
    return any(results) if predicate.is_any else all(results)


@dataclass
class Step:
    """What a workflow run does next."""

    fire: list[str] = field(default_factory=list)  # conditional triggers that now fire
    start: list[tuple[str, str]] = field(default_factory=list)  # (trigger, node) to start
    final_state: str | None = None  # set when nothing runs and nothing more can fire
    error: str = ""


def plan_step(flow: Flow, nodes: Mapping[str, str], fired: set[str]) -> Step:
    """The next step of a run, from its nodes' states and the triggers it fired.

    Nodes of fired triggers that do not exist yet are started (also after a crash
    between firing and starting, and the failed nodes of a resumed run).
    """
    step = Step()
    finished = {node: state for node, state in nodes.items() if state in WATCHABLE_STATES}
    now_fired = set(fired)
    for name, trigger in flow.triggers.items():
        if name in now_fired or trigger.type != CONDITIONAL or flow.kind != "workflow":
            continue
        assert trigger.predicate is not None
        if is_satisfied(trigger.predicate, finished):
            step.fire.append(name)
            now_fired.add(name)
    for name, trigger in flow.triggers.items():
        if name not in now_fired:
            continue
        step.start += [(name, a.node) for a in trigger.actions if a.node not in nodes]
    if not step.fire and not step.start and not any(s in ACTIVE_STATES for s in nodes.values()):
        step.final_state, step.error = final_state(nodes)
    return step


def final_state(nodes: Mapping[str, str]) -> tuple[str, str]:
    """A settled run: FAILED if an action failed or timed out, STOPPED if one was
    stopped, else SUCCEEDED; the error names the nodes."""
    failed = sorted(n for n, s in nodes.items() if s in (RunState.FAILED, RunState.TIMEOUT))
    stopped = sorted(n for n, s in nodes.items() if s == RunState.STOPPED)
    if failed:
        return RunState.FAILED, "failed: " + ", ".join(f"{n} ({nodes[n]})" for n in failed)
    if stopped:
        return RunState.STOPPED, "stopped: " + ", ".join(stopped)
    return RunState.SUCCEEDED, ""


@dataclass
class ScheduleDecision:
    """Firings of a schedule in ``(evaluated_to, now]``: at most one to start, the
    rest recorded as skipped by the catch-up policy."""

    fire: datetime | None = None
    skipped: list[datetime] = field(default_factory=list)
    late: bool = False  # the fired one was missed and is caught up now


def decide_schedule(
    cron: CronSchedule,
    evaluated_to: datetime,
    now: datetime,
    catch_up: str,
    grace: timedelta,
) -> ScheduleDecision:
    """A firing no later than ``grace`` ago is on time and fires. Older ones were
    missed (no scheduler was running): ``skip`` records them all as skipped;
    ``run_once`` fires the latest of them once (if no on-time firing) and skips
    the others."""
    due = cron.firings_between(evaluated_to, now)
    decision = ScheduleDecision()
    on_time = [t for t in due if now - t <= grace]
    missed = [t for t in due if now - t > grace]
    if on_time:
        decision.fire = on_time[-1]
        decision.skipped = missed + on_time[:-1]
    elif missed and catch_up == "run_once":
        decision.fire, decision.skipped, decision.late = missed[-1], missed[:-1], True
    else:
        decision.skipped = missed
    return decision


def decide_conditional(
    predicate: PredicateDefinition,
    latest: Mapping[str, tuple[str, str]],
    consumed: Mapping[str, str],
) -> tuple[bool, dict[str, str]]:
    """A standalone conditional trigger over the latest finished runs of what it
    watches (node → (run id, state)). A run counts once: the trigger fires on runs
    it has not consumed yet, and consumes them. Returns (fire, consumed after)."""
    fresh = {
        c.node: latest[c.node][1]
        for c in predicate.conditions
        if c.node in latest and latest[c.node][0] != consumed.get(c.node)
    }
    fire = is_satisfied(predicate, fresh)
    after = dict(consumed)
    if fire:
        for condition in predicate.conditions:
            if fresh.get(condition.node) == condition.state:
                after[condition.node] = latest[condition.node][0]
    return fire, after


def substitute(
    arguments: Mapping[str, Any], properties: Mapping[str, str], where: str, strict: bool = True
) -> dict[str, Any]:
    """``${name}`` in argument values replaced by the run property ``name``
    (without ``strict``, references to properties the run lacks stay as written).

    Raises:
        ConfigError: naming the argument and the undefined property (``strict``).
    """
    result: dict[str, Any] = {}
    for key, value in arguments.items():
        if not isinstance(value, str):
            result[key] = value
            continue

        def replace(match: re.Match[str], key: str = key) -> str:
            name = match.group(1)
            if name not in properties and not strict:
                return match.group(0)
            if name not in properties:
                raise ConfigError(
                    f"{where}: argument {key} uses ${{{name}}}, which is not a run property "
                    f"(properties: {', '.join(sorted(properties)) or 'none'})",
                    hint="define it under the workflow's run_properties, or pass it: "
                    f"headwater workflow run NAME --property {name}=VALUE",
                )
            return properties[name]

        result[key] = PROPERTY.sub(replace, value)
    return result
