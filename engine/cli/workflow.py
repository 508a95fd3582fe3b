"""``headwater workflow``, ``headwater trigger`` and ``headwater scheduler``."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

import typer

from catalog.output import render, say
from engine.cli.context import STATE, key_values, open_state
from engine.errors import ConfigError, FlowError
from engine.vocabulary import RunState

if TYPE_CHECKING:
    from engine.orchestrate.definitions import Flow
    from engine.state.orchestrate import FlowRun
    from engine.state.store import RunStore

app = typer.Typer(
    help="Run workflows (DAGs of crawlers, jobs and replication batches) and see their runs.",
    no_args_is_help=True,
)
trigger_app = typer.Typer(
    help="Standalone triggers: list, fire, enable, disable, see decisions.", no_args_is_help=True
)
WORKFLOW = typer.Argument(..., help="A workflow defined under 'workflows:' in headwater.yaml.")
TRIGGER = typer.Argument(..., help="A trigger defined under 'triggers:' in headwater.yaml.")
NO_WAIT = typer.Option(
    False, "--no-wait", help="Record the run and return; a running scheduler drives it."
)
AS_JSON = typer.Option(False, "--json", help="Print JSON.")
RUN_ID = typer.Option(None, "--run-id", hidden=True, help="The new run's id (the API's).")


def _start(
    flow: Flow,
    started_by: str,
    properties: dict[str, str],
    wait: bool,
    previous: FlowRun | None = None,
    run_id: str | None = None,
) -> None:
    from engine.orchestrate.driver import Driver, run_to_end

    store = open_state()
    driver = Driver(STATE.settings, store, report=say)
    run = driver.start_run(flow, started_by, properties, previous=previous, run_id=run_id)
    assert run is not None  # refusals raise FlowConcurrencyError
    if not wait:
        driver.release()
        say(f"run {run.run_id} recorded; `headwater scheduler` drives it")
        return
    final = run_to_end(driver, flow, run)
    if final.state != RunState.SUCCEEDED:
        raise FlowError(
            f"{flow.kind} {flow.name} run {final.run_id} ended {final.state}: {final.error}",
            hint=f"see headwater workflow status {flow.name} --run {final.run_id}; resume the "
            f"failed nodes: headwater workflow resume {flow.name} {final.run_id}"
            if flow.kind == "workflow"
            else f"see headwater runs --name {flow.name}",
        )


@app.command("run")
def run(
    name: str = WORKFLOW,
    prop: list[str] = typer.Option([], "--property", "-p", help="A run property: KEY=VALUE."),
    no_wait: bool = NO_WAIT,
    new_run_id: str = RUN_ID,
) -> None:
    """Start a workflow run now (on demand) and drive it to the end here.

    Exit 0 when every action succeeded, 1 otherwise.

    Examples:
      headwater workflow run daily
      headwater workflow run daily --property day=2026-11-28
    """
    from engine.orchestrate.definitions import flow

    _start(
        flow(name, "workflow"),
        "on demand",
        key_values(prop, "--property", "day=2026-11-28"),
        not no_wait,
        run_id=new_run_id,
    )


@app.command("resume")
def resume(
    name: str = WORKFLOW,
    run_id: str = typer.Argument(None, help="The run to resume (default: the latest one)."),
    no_wait: bool = NO_WAIT,
    new_run_id: str = RUN_ID,
) -> None:
    """Resume a failed or stopped run from its failed nodes.

    Its failed, timed-out and stopped actions run again and the graph continues from
    them; succeeded ones are carried over, not re-run.

    Example: headwater workflow resume daily wr_0123456789abcdef
    """
    from engine.orchestrate.definitions import flow
    from engine.orchestrate.driver import check_resumable

    definition = flow(name, "workflow")
    previous = _run_of(open_state(), definition, run_id)
    check_resumable(definition, previous)
    _start(definition, f"resume of {previous.run_id}", {}, not no_wait, previous, new_run_id)


def _run_of(store: RunStore, flow: Flow, run_id: str | None) -> FlowRun:
    if run_id:
        found = store.flow_run(run_id)
        if found is None or found.flow != flow.owner:
            raise ConfigError(
                f"{flow.kind} {flow.name} has no run {run_id}",
                hint=f"list its runs: headwater runs --name {flow.name}",
            )
        return found
    latest = store.flow_runs(flow.owner, limit=1)
    if not latest:
        raise ConfigError(
            f"{flow.kind} {flow.name} has not run yet",
            hint=f"headwater workflow run {flow.name}",
        )
    return latest[0]


@app.command("status")
def status(
    name: str = WORKFLOW,
    run_id: str = typer.Option(None, "--run", help="A run id (default: the latest run)."),
    as_json: bool = AS_JSON,
) -> None:
    """Show a run (the latest by default): its state, properties and every node.

    Example: headwater workflow status daily
    """
    from engine.orchestrate.definitions import flow
    from engine.state.history import seconds_between

    definition = flow(name, "workflow")
    store = open_state()
    current = _run_of(store, definition, run_id)
    nodes = {n.node: n for n in store.flow_nodes(current.run_id)}
    rows = []
    for node_id in definition.nodes():
        node = nodes.get(node_id)
        rows.append(
            {
                "node": node_id,
                "state": node.state if node else "NOT STARTED",
                "started": node.started_at if node else "",
                "ended": (node.ended_at or "") if node else "",
                "seconds": seconds_between(node.started_at, node.ended_at) if node else None,
                "runs": node.action_runs if node else "",
                "carried over": bool(node.carried) if node else False,
                "error": node.error if node else "",
                "log": node.log_path if node else "",
            }
        )
    if as_json:
        render([{**asdict(current), "nodes": rows}], as_json=True)
        return
    say(
        f"{definition.kind} {name} run {current.run_id}: {current.state} · started "
        f"{current.started_at} by {current.started_by}"
        + (f" · ended {current.ended_at}" if current.ended_at else "")
        + (f" · resumes {current.previous_run_id}" if current.previous_run_id else "")
    )
    if current.properties:
        say("properties: " + ", ".join(f"{k}={v}" for k, v in sorted(current.properties.items())))
    if current.error:
        say(f"error: {current.error}")
    render(rows, title="nodes", columns=["node", "state", "started", "seconds", "runs", "error"])


@app.command("graph")
def graph(
    name: str = WORKFLOW,
    as_dot: bool = typer.Option(False, "--dot", help="Print Graphviz DOT instead of a tree."),
    run_id: str = typer.Option(None, "--run", help="Colour nodes by this run's states."),
) -> None:
    """Print the workflow's graph of triggers and actions.

    Examples:
      headwater workflow graph daily
      headwater workflow graph daily --dot | dot -Tsvg > daily.svg
    """
    from engine.orchestrate.definitions import flow
    from engine.orchestrate.graph import dot, tree_lines

    definition = flow(name, "workflow")
    states: dict[str, str] = {}
    if run_id:
        store = open_state()
        states = {
            n.node: n.state for n in store.flow_nodes(_run_of(store, definition, run_id).run_id)
        }
    print(dot(definition, states) if as_dot else "\n".join(tree_lines(definition, states)))


@app.command("list")
def list_workflows(as_json: bool = AS_JSON) -> None:
    """List workflows with their start trigger, state and latest run.

    Example: headwater workflow list
    """
    _list_flows("workflow", as_json)


@app.command("enable")
def enable(name: str = WORKFLOW) -> None:
    """Let the workflow's schedule fire again (firings while disabled are not caught up).

    Example: headwater workflow enable daily
    """
    _set_enabled(name, "workflow", True)


@app.command("disable")
def disable(name: str = WORKFLOW) -> None:
    """Stop the workflow's schedule or condition from firing (on demand runs still work).

    Example: headwater workflow disable daily
    """
    _set_enabled(name, "workflow", False)


def _set_enabled(name: str, kind: Literal["workflow", "trigger"], enabled: bool) -> None:
    from engine.orchestrate.definitions import flow

    definition = flow(name, kind)
    store = open_state()
    setting = store.trigger_setting(definition.owner)
    setting.enabled = enabled
    store.save_trigger_setting(setting)
    say(
        f"{kind} {name}: {'enabled' if enabled else 'disabled'} "
        "(recorded in the run-state database)"
    )


def _list_flows(kind: str, as_json: bool) -> None:
    from engine.orchestrate.definitions import SCHEDULE, load_flows
    from engine.orchestrate.scheduler import is_enabled

    store = open_state()
    rows = []
    for flow in load_flows().values():
        if flow.kind != kind:
            continue
        trigger = flow.start_trigger
        latest = store.flow_runs(flow.owner, limit=1)
        enabled = is_enabled(flow, store.trigger_setting(flow.owner))
        upcoming = ""
        if trigger.type == SCHEDULE and enabled:
            upcoming = trigger.cron.next_after(datetime.now(timezone.utc)).isoformat()
        rows.append(
            {
                "name": flow.name,
                "type": trigger.type,
                "schedule": f"{trigger.schedule} ({trigger.timezone})" if trigger.schedule else "",
                "enabled": enabled,
                "next firing": upcoming,
                "actions": ", ".join(flow.nodes()),
                "latest run": latest[0].run_id if latest else "",
                "state": latest[0].state if latest else "",
            }
        )
    render(rows, title=f"{kind}s", as_json=as_json)


# -- standalone triggers -----------------------------------------------------------------
@trigger_app.command("list")
def trigger_list(as_json: bool = AS_JSON) -> None:
    """List standalone triggers: type, schedule, enabled, next firing, latest run.

    Example: headwater trigger list
    """
    _list_flows("trigger", as_json)


@trigger_app.command("run")
def trigger_run(name: str = TRIGGER, no_wait: bool = NO_WAIT, new_run_id: str = RUN_ID) -> None:
    """Fire a trigger now (an on_demand trigger, or any other out of turn) and wait.

    Example: headwater trigger run reload-shop
    """
    from engine.orchestrate.definitions import flow

    _start(flow(name, "trigger"), "on demand", {}, not no_wait, run_id=new_run_id)


@trigger_app.command("enable")
def trigger_enable(name: str = TRIGGER) -> None:
    """Let a trigger fire again.

    Example: headwater trigger enable nightly-landing
    """
    _set_enabled(name, "trigger", True)


@trigger_app.command("disable")
def trigger_disable(name: str = TRIGGER) -> None:
    """Keep a trigger from firing until enabled.

    Example: headwater trigger disable nightly-landing
    """
    _set_enabled(name, "trigger", False)


@trigger_app.command("decisions")
def trigger_decisions(
    name: str = typer.Argument(None, help="A trigger or workflow (default: all)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1),
    as_json: bool = AS_JSON,
) -> None:
    """Every firing the scheduler decided: FIRED, SKIPPED (catch-up) or REFUSED.

    Example: headwater trigger decisions daily
    """
    store = open_state()
    flows: list[str | None] = [None]
    if name:
        flows = [f"workflow:{name}", f"trigger:{name}"]
    rows = [asdict(f) for owner in flows for f in store.firings(owner, limit)]
    rows.sort(key=lambda r: (r["decided_at"], r["fire_key"]), reverse=True)
    render(
        rows[:limit],
        title="trigger decisions",
        as_json=as_json,
        columns=None
        if as_json
        else ["flow", "fire_key", "outcome", "run_id", "decided_at", "detail"],
    )


def scheduler(
    tick: float = typer.Option(5.0, "--tick", min=0.2, help="Seconds between passes."),
    ticks: int = typer.Option(None, "--ticks", min=1, help="Stop after this many passes."),
) -> None:
    """Run the scheduler: fire schedules and conditions, drive workflow runs.

    Runs until SIGTERM, then hands its running runs to the next scheduler. A second
    scheduler stands by until the first one's lease lapses.

    Example: headwater scheduler
    """
    from engine.orchestrate.scheduler import Scheduler

    Scheduler(STATE.settings, open_state(), tick, report=say).serve(ticks)
