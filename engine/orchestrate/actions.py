"""One node of a flow run, run in its own process: ``python -m engine.orchestrate.actions
RUN_ID NODE TOKEN``.

The process first takes its node (STARTING with this token → RUNNING, so a second
launch of the same node does nothing), then runs the action the way the CLI would
(a crawl of every target, ``job run`` through the job runner, a replication
batch), and records the final state, the error and the crawl/job runs it made.
SIGTERM ends it STOPPED; a timeout ends it TIMEOUT.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from engine.catalogs import open_catalog
from engine.config import Settings, load_settings
from engine.crawl.crawler import crawl
from engine.definitions import crawl_targets
from engine.errors import HeadwaterError
from engine.ingest.definitions import argument_text, job
from engine.ingest.runner import run_job
from engine.maintenance import maintenance_job
from engine.orchestrate.definitions import ActionDefinition, load_flows
from engine.orchestrate.plan import substitute
from engine.replicate.definitions import replication_run
from engine.state.jobs import this_host
from engine.state.orchestrate import FlowRun
from engine.state.store import RunStore, now, open_run_store
from engine.vocabulary import RunState

WORKFLOW_NAME_ENV = "HEADWATER_WORKFLOW_NAME"
WORKFLOW_RUN_ID_ENV = "HEADWATER_WORKFLOW_RUN_ID"
WORKFLOW_PROPERTIES_ENV = "HEADWATER_WORKFLOW_RUN_PROPERTIES"


class _Interrupted(BaseException):
    """SIGTERM (STOPPED) or the action's timeout (TIMEOUT) arrived."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass
class Outcome:
    state: str
    error: str = ""
    runs: tuple[str, ...] = ()


def run_action(
    settings: Settings, store: RunStore, run: FlowRun, node: str, action: ActionDefinition
) -> Outcome:
    """Run one action to its end; crawl and job runs are recorded as usual."""
    if action.kind == "crawler":
        return _crawl(settings, store, run, node, action.name)

    if action.kind == "job":
        definition = job(action.name)
        defaults = substitute(definition.arguments, run.properties, node, strict=False)
        definition = definition.model_copy(update={"arguments": defaults})
        arguments = substitute(action.arguments, run.properties, f"{run.flow} {node}")
        overrides = {k: argument_text(v) for k, v in arguments.items()}
        overrides.update(WORKFLOW_NAME=run.name, WORKFLOW_RUN_ID=run.run_id)
        name = action.name
    elif action.kind == "maintenance":
        extra = {} if action.retain_hours is None else {"retain_hours": action.retain_hours}
        name, definition = maintenance_job(action.name, action.operation, **extra)
        overrides = {}
    else:
        what = action.run
        if what == "auto":  # one batch: the first run loads, later ones follow changes
            what = "resume" if store.batches(action.name) else "start"
        task, definition = replication_run(action.name, what)
        overrides, name = {}, task.job_name
    if action.timeout_minutes is not None:
        definition = definition.model_copy(update={"timeout_minutes": action.timeout_minutes})
    record = run_job(settings, store, name, definition, overrides)
    error = (f"[{record.failed_step}] " if record.failed_step else "") + record.error
    return Outcome(
        record.state, error if record.state != RunState.SUCCEEDED else "", (record.run_id,)
    )


def _crawl(settings: Settings, store: RunStore, run: FlowRun, node: str, name: str) -> Outcome:
    targets = crawl_targets(name)
    catalog = open_catalog(settings)
    made: list[str] = []
    for target in targets:
        result = crawl(settings, catalog, target, state=store, crawler_name=name)
        made.append(result.run_id)
        store.set_node_progress(run.run_id, node, ",".join(made))
    return Outcome(RunState.SUCCEEDED, "", tuple(made))


def main(argv: Sequence[str] | None = None) -> int:
    run_id, node, token = list(sys.argv[1:] if argv is None else argv)
    settings = load_settings()
    store = open_run_store(settings)
    if not store.node_started(run_id, node, token, os.getpid(), this_host()):
        print(f"{run_id} {node}: already taken by another launch; nothing to do", flush=True)
        return 0
    outcome = Outcome(RunState.FAILED, "the action ended without an outcome")

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted(RunState.TIMEOUT if signum == signal.SIGALRM else RunState.STOPPED)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGALRM, interrupt)
    try:
        run = store.flow_run(run_id)
        assert run is not None, run_id
        flow = load_flows().get(run.flow)
        if flow is None or node not in flow.nodes():
            raise HeadwaterError(
                f"{run.flow} no longer has {node} in headwater.yaml",
                hint="restore it, or start a new run",
            )
        action = flow.nodes()[node]
        os.environ.update(
            {
                WORKFLOW_NAME_ENV: run.name,
                WORKFLOW_RUN_ID_ENV: run.run_id,
                WORKFLOW_PROPERTIES_ENV: json.dumps(run.properties),
            }
        )
        if action.timeout_minutes is not None and action.kind == "crawler":
            signal.alarm(max(1, round(action.timeout_minutes * 60)))
        print(f"{now()} {run_id} {node}: starting", flush=True)
        outcome = run_action(settings, store, run, node, action)
    except _Interrupted as stop:
        what = "timed out" if stop.state == RunState.TIMEOUT else "stopped on request"
        outcome = Outcome(stop.state, what)
    except HeadwaterError as exc:
        outcome = Outcome(RunState.FAILED, exc.message + (f" ({exc.hint})" if exc.hint else ""))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the record below must be written
        previous = [n for n in store.flow_nodes(run_id) if n.node == node]
        runs = ",".join(outcome.runs) or (previous[0].action_runs if previous else "")
        store.finish_node(run_id, node, outcome.state, outcome.error, runs, now())
        print(f"{now()} {run_id} {node}: {outcome.state} {outcome.error}".rstrip(), flush=True)
    return 0 if outcome.state == RunState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
