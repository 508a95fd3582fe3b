"""Advancing flow runs: start a run, launch its nodes as processes, watch them,
fire the conditional triggers their states satisfy, settle the run.

One process drives a run at a time (``flow_runs.driver``, renewed every step); the
scheduler adopts runs whose driver is gone (a crashed or restarted scheduler, a
killed ``workflow run``). Node processes run in their own sessions, so they outlive
their launcher; an adopted run watches them by pid and reads the outcome they record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from engine.config import Settings
from engine.errors import FlowError
from engine.orchestrate.definitions import Flow
from engine.orchestrate.plan import final_state, plan_step
from engine.state.jobs import is_alive, this_host
from engine.state.orchestrate import (
    Firing,
    FlowNode,
    FlowRun,
)
from engine.state.store import RunStore, now
from engine.vocabulary import ACTIVE_STATES, RunState

# A STARTING node whose launch did not take it for this long is launched again.
STALE_START_SECONDS = 30
# A driver that has not stepped its run for this long is presumed gone.
DRIVER_STALE_SECONDS = 60


def new_flow_run_id() -> str:
    return f"wr_{uuid.uuid4().hex[:16]}"


def check_resumable(flow: Flow, previous: FlowRun) -> None:
    """Only a FAILED or STOPPED run can be resumed (``workflow resume``, the API's
    ResumeWorkflowRun)."""
    if previous.state not in (RunState.FAILED, RunState.STOPPED):
        raise FlowError(
            f"run {previous.run_id} of workflow {flow.name} is {previous.state}: only a "
            "FAILED or STOPPED run can be resumed",
            hint=f"headwater workflow status {flow.name} --run {previous.run_id}",
        )


def node_log(settings: Settings, run: FlowRun, node: str) -> Path:
    return settings.home_path / "logs" / "flows" / run.name / run.run_id / f"{node}.log"


class Driver:
    """Advances flow runs on behalf of one process (the scheduler, or the CLI)."""

    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        holder: str | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.store = store
        self.holder = holder or f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.report = report
        self.children: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        self.shown: dict[tuple[str, str], str] = {}
        self.halted: set[str] = set()  # runs being stopped: nothing more is launched

    # -- runs ------------------------------------------------------------------------------
    def start_run(
        self,
        flow: Flow,
        started_by: str,
        properties: dict[str, str] | None = None,
        firing: Firing | None = None,
        previous: FlowRun | None = None,
        run_id: str | None = None,
    ) -> FlowRun | None:
        """Record a new run (None if its firing was already decided or was refused
        for concurrency) and launch the start trigger's actions.

        With ``previous`` (a resume): its succeeded nodes are carried over and not run
        again, the triggers it fired count as fired, so its failed, timed-out and
        stopped nodes are launched again and the graph continues from them.
        """
        stamp = now()
        base = dict(previous.properties) if previous else dict(flow.run_properties)
        run = FlowRun(
            run_id=run_id or new_flow_run_id(),  # given: the API handed it out already
            flow=flow.owner,
            started_at=stamp,
            started_by=started_by,
            previous_run_id=previous.run_id if previous else None,
            properties={**base, **(properties or {})},
            driver=self.holder,
            driver_pid=os.getpid(),
            driver_host=this_host(),
            driver_seen=stamp,
        )
        carried: list[FlowNode] = []
        fired = [flow.start]
        if previous is not None:
            fired = sorted(self.store.fired_triggers(previous.run_id) | {flow.start})
            for node in self.store.flow_nodes(previous.run_id):
                if node.state == RunState.SUCCEEDED and node.node in flow.nodes():
                    node.run_id, node.carried = run.run_id, 1
                    carried.append(node)
        if not self.store.start_flow_run(run, flow.max_concurrent_runs, firing, (carried, fired)):
            return None
        self.report(f"{run.flow}: run {run.run_id} started ({started_by})")
        self.step(flow, run)
        return run

    def step(self, flow: Flow, run: FlowRun) -> str | None:
        """One pass over a run; its final state once it settled."""
        for node in self.store.flow_nodes(run.run_id):
            if node.state in ACTIVE_STATES:
                self._check(run, node)
        nodes = {n.node: n for n in self.store.flow_nodes(run.run_id)}
        for node in nodes.values():
            self._show(run, node)
        if run.run_id in self.halted:
            if any(n.state in ACTIVE_STATES for n in nodes.values()):
                return None
            state, error = final_state({k: n.state for k, n in nodes.items()})
            if state == RunState.SUCCEEDED:
                state, error = RunState.STOPPED, "stopped before it finished"
            return self._settle(run, state, error)
        step = plan_step(
            flow, {k: n.state for k, n in nodes.items()}, self.store.fired_triggers(run.run_id)
        )
        for trigger in step.fire:
            if self.store.mark_fired(run.run_id, trigger, now()):
                self.report(f"{run.flow}: run {run.run_id}: trigger {trigger} fired")
        for trigger, node_id in step.start:
            self._launch(run, trigger, node_id)
        if step.final_state is None:
            return None
        return self._settle(run, step.final_state, step.error)

    def _settle(self, run: FlowRun, state: str, error: str) -> str:
        self.store.finish_flow_run(run.run_id, state, error, now())
        self.report(f"{run.flow}: run {run.run_id} {state}" + (f" ({error})" if error else ""))
        self.halted.discard(run.run_id)
        return state

    def drive(self, flows: dict[str, Flow]) -> int:
        """Step every running run this process may drive; how many it stepped."""
        stepped = 0
        for run in self.store.flow_runs(state=RunState.RUNNING, limit=1000):
            if not self.claim(run):
                continue
            flow = flows.get(run.flow)
            if flow is None:
                self._orphan(run)
                continue
            self.step(flow, run)
            stepped += 1
        return stepped

    def claim(self, run: FlowRun) -> bool:
        """Drive ``run`` (or keep driving it: a heartbeat), unless another live
        process does."""
        return self.store.claim_driver(
            run.run_id, self.holder, os.getpid(), this_host(), now(), DRIVER_STALE_SECONDS
        )

    def _orphan(self, run: FlowRun) -> None:
        self.stop(run)
        if not any(n.state in ACTIVE_STATES for n in self.store.flow_nodes(run.run_id)):
            message = f"{run.flow} is no longer defined in headwater.yaml"
            self.store.finish_flow_run(run.run_id, RunState.FAILED, message, now())
            self.report(f"{run.flow}: run {run.run_id} FAILED ({message})")

    def release(self) -> list[str]:
        """Hand every run this process drives to the next driver (a scheduler)."""
        handed = []
        for run in self.store.flow_runs(state=RunState.RUNNING, limit=1000):
            if run.driver == self.holder:
                self.store.release_driver(run.run_id, self.holder)
                handed.append(run.run_id)
        return handed

    def stop(self, run: FlowRun) -> None:
        """Stop the run: SIGTERM its running actions (they record STOPPED), mark the
        ones not yet taken STOPPED, launch nothing more; it ends STOPPED."""
        self.halted.add(run.run_id)
        for node in self.store.flow_nodes(run.run_id):
            if node.state == RunState.STARTING:
                self.store.finish_node(
                    run.run_id, node.node, RunState.STOPPED, "stopped before it started", "", now()
                )
            elif node.state == RunState.RUNNING and node.pid and node.host == this_host():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(node.pid, signal.SIGTERM)

    # -- nodes -----------------------------------------------------------------------------
    def _launch(
        self, run: FlowRun, trigger: str, node_id: str, stale: FlowNode | None = None
    ) -> None:
        token = uuid.uuid4().hex
        log = node_log(self.settings, run, node_id)
        if stale is not None:
            taken = self.store.reclaim_node(run.run_id, node_id, stale.token, token, now())
        else:
            node = FlowNode(
                run.run_id,
                node_id,
                RunState.STARTING,
                trigger,
                token,
                now(),
                pid=os.getpid(),
                host=this_host(),
                log_path=str(log),
            )
            taken = self.store.claim_node(node)
        if not taken:
            return
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.children[(run.run_id, node_id)] = subprocess.Popen(
                [sys.executable, "-m", "engine.orchestrate.actions", run.run_id, node_id, token],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.report(f"{run.flow}: run {run.run_id}: {node_id} launched (log {log})")

    def _check(self, run: FlowRun, node: FlowNode) -> None:
        """A node that should be running: is its process still there?"""
        child = self.children.get((run.run_id, node.node))
        if child is not None:
            code = child.poll()
            if code is None:
                return
            del self.children[(run.run_id, node.node)]
            self._ended_silently(run, node, f"its process exited with code {code}")
            return
        if node.state == RunState.RUNNING:
            if not is_alive(node.pid, node.host):
                self._ended_silently(run, node, f"its process (pid {node.pid}) is gone")
            return
        age = datetime.fromisoformat(now()) - datetime.fromisoformat(node.started_at)
        if age > timedelta(seconds=STALE_START_SECONDS) and not is_alive(node.pid, node.host):
            self.report(f"{run.flow}: run {run.run_id}: {node.node} was never taken; launching")
            self._launch(run, node.trigger_name, node.node, stale=node)

    def _ended_silently(self, run: FlowRun, node: FlowNode, why: str) -> None:
        message = f"the action ended without recording an outcome ({why}); see {node.log_path}"
        self.store.finish_node(
            run.run_id, node.node, RunState.FAILED, message, node.action_runs, now()
        )

    def _show(self, run: FlowRun, node: FlowNode) -> None:
        key = (run.run_id, node.node)
        if self.shown.get(key) == node.state:
            return
        self.shown[key] = node.state
        if node.state not in ACTIVE_STATES:
            detail = (
                " (carried over)" if node.carried else (f": {node.error}" if node.error else "")
            )
            self.report(f"{run.flow}: run {run.run_id}: {node.node} {node.state}{detail}")


def run_to_end(driver: Driver, flow: Flow, run: FlowRun, poll_seconds: float = 1.0) -> FlowRun:
    """Drive ``run`` in this process until it settles. SIGINT/SIGTERM stop its
    actions (they record STOPPED) and the run ends STOPPED."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    stopped = False
    try:
        while True:
            current = driver.store.flow_run(run.run_id)
            if current is None or current.state != RunState.RUNNING:
                break
            if stopping.is_set() and not stopped:
                driver.report(f"{run.flow}: run {run.run_id}: stopping its actions")
                driver.stop(current)
                stopped = True
            if driver.claim(current) and driver.step(flow, current) is not None:
                break
            time.sleep(poll_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    final = driver.store.flow_run(run.run_id)
    assert final is not None
    return final
