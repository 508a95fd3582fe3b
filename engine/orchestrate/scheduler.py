"""``headwater scheduler``: the daemon that fires triggers and drives flow runs.

Every tick the lease holder (one scheduler; a second one stands by) reads
``headwater.yaml`` and, for each enabled flow:

- a schedule decides the firings since it last looked: on time (within the
  grace) it fires; firings missed while no scheduler ran follow the trigger's
  ``catch_up``: ``skip`` records them as SKIPPED, ``run_once`` fires the latest once;
- a standalone conditional trigger fires when the latest runs of what it watches
  satisfy its predicate, each run counting once;

then it steps every running flow run (adopting those whose driver is gone).
Every decision is a row of ``trigger_firings`` keyed by the firing, so even two
schedulers cannot start one firing twice. SIGTERM ends the loop after the tick:
the lease is released and the running runs are handed over, their actions keep
running, and the next scheduler picks them up.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import FrameType

from engine.config import Settings
from engine.errors import HeadwaterError
from engine.orchestrate.definitions import CONDITIONAL, SCHEDULE, Flow, load_flows
from engine.orchestrate.driver import Driver
from engine.orchestrate.plan import decide_conditional, decide_schedule
from engine.replicate.definitions import job_name_of
from engine.state.jobs import this_host
from engine.state.orchestrate import Firing, TriggerSetting
from engine.state.store import RunStore, now
from engine.vocabulary import FiringOutcome

DEFAULT_TICK_SECONDS = 5.0
LEASE_SECONDS = 30.0
# A firing at most this old when the scheduler sees it is on time; older ones missed.
GRACE = timedelta(seconds=90)
SKIPPED_KEPT = 100  # skipped firings recorded one by one; beyond that, in one row


def is_enabled(flow: Flow, setting: TriggerSetting) -> bool:
    return flow.start_trigger.enabled if setting.enabled is None else setting.enabled


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(timezone.utc)


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
        report: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tick_seconds = tick_seconds
        self.report = report
        self.holder = f"scheduler-{this_host()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.driver = Driver(settings, store, self.holder, report)
        self.stopping = threading.Event()
        self.leading: bool | None = None  # unknown until the first tick
        self.flows: dict[str, Flow] = {}
        self.config_error = ""

    # -- the loop --------------------------------------------------------------------------
    def serve(self, max_ticks: int | None = None) -> None:
        """Tick until SIGTERM/SIGINT (or ``max_ticks``), then hand over cleanly."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.report(f"scheduler {self.holder}: {signal.Signals(signum).name}, stopping")
            self.stopping.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        self.report(f"scheduler {self.holder} started (tick {self.tick_seconds:g}s)")
        ticks = 0
        try:
            while not self.stopping.is_set():
                self.tick()
                ticks += 1
                if max_ticks is not None and ticks >= max_ticks:
                    break
                self.stopping.wait(self.tick_seconds)
        finally:
            handed = self.driver.release()
            if self.leading:  # only the holder's row is deleted
                self.store.release_lease(self.holder)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.report(
                f"scheduler {self.holder} stopped; "
                + (f"runs handed over: {', '.join(handed)}" if handed else "no run was running")
            )

    def tick(self) -> None:
        taken, holder = self.store.take_lease(
            self.holder, os.getpid(), this_host(), now(), LEASE_SECONDS
        )
        if taken != self.leading:
            self.report(
                f"scheduler {self.holder}: "
                + ("holds the lease" if taken else f"standing by; the lease is held by {holder}")
            )
            self.leading = taken
        if not taken:
            return
        self._reload()
        for flow in self.flows.values():
            if self.stopping.is_set():
                return
            try:
                self._consider(flow)
            except HeadwaterError as exc:
                self.report(f"{flow.owner}: {exc.message}")
        self.driver.drive(self.flows)

    def _reload(self) -> None:
        try:
            self.flows = load_flows()
            if self.config_error:
                self.report("headwater.yaml is valid again")
            self.config_error = ""
        except HeadwaterError as exc:
            if exc.message != self.config_error:  # keep the last good definitions
                self.report(f"headwater.yaml: {exc.message}; keeping the last valid definitions")
            self.config_error = exc.message

    # -- decisions -------------------------------------------------------------------------
    def _consider(self, flow: Flow) -> None:
        trigger = flow.start_trigger
        setting = self.store.trigger_setting(flow.owner)
        stamp = now()
        if trigger.type == SCHEDULE:
            if not setting.evaluated_to or not is_enabled(flow, setting):
                # first sight, or disabled: firings from here on count
                if setting.evaluated_to != stamp:
                    setting.evaluated_to = stamp
                    self.store.save_trigger_setting(setting)
                return
            self._schedule(flow, setting, stamp)
        elif trigger.type == CONDITIONAL and is_enabled(flow, setting):
            self._conditional(flow, setting)

    def _schedule(self, flow: Flow, setting: TriggerSetting, stamp: str) -> None:
        trigger = flow.start_trigger
        decision = decide_schedule(
            trigger.cron, _utc(setting.evaluated_to), _utc(stamp), trigger.catch_up, GRACE
        )
        skipped = decision.skipped
        for instant in skipped[-SKIPPED_KEPT:]:
            self.store.record_firing(
                Firing(
                    flow.owner,
                    instant.isoformat(),
                    stamp,
                    FiringOutcome.SKIPPED,
                    detail=f"missed while no scheduler ran (catch_up: {trigger.catch_up})",
                    decided_by=self.holder,
                )
            )
        if len(skipped) > SKIPPED_KEPT:
            self.store.record_firing(
                Firing(
                    flow.owner,
                    f"{skipped[0].isoformat()}..{skipped[-SKIPPED_KEPT - 1].isoformat()}",
                    stamp,
                    FiringOutcome.SKIPPED,
                    detail=f"{len(skipped) - SKIPPED_KEPT} earlier missed firings",
                    decided_by=self.holder,
                )
            )
        if skipped:
            self.report(f"{flow.owner}: {len(skipped)} missed firing(s) skipped")
        if decision.fire is not None:
            key = decision.fire.isoformat()
            late = " (caught up: missed while no scheduler ran)" if decision.late else ""
            firing = Firing(
                flow.owner,
                key,
                stamp,
                FiringOutcome.FIRED,
                detail=late.strip(" ()"),
                decided_by=self.holder,
            )
            run = self.driver.start_run(flow, f"schedule {key}{late}", firing=firing)
            if run is None:
                decided = [f for f in self.store.firings(flow.owner, 5) if f.fire_key == key]
                if decided and decided[0].decided_by == self.holder:
                    self.report(f"{flow.owner}: firing {key} refused: {decided[0].detail}")
        setting.evaluated_to = stamp
        self.store.save_trigger_setting(setting)

    def _conditional(self, flow: Flow, setting: TriggerSetting) -> None:
        predicate = flow.start_trigger.predicate
        assert predicate is not None
        latest = latest_states(self.store, [c.node for c in predicate.conditions])
        if not setting.evaluated_to:  # first sight: what already ran does not count
            setting.consumed = {node: run_id for node, (run_id, _) in latest.items()}
            setting.evaluated_to = now()
            self.store.save_trigger_setting(setting)
            return
        fire, consumed = decide_conditional(predicate, latest, setting.consumed)
        if not fire:
            return
        key = "after " + ",".join(f"{n}={consumed[n]}" for n in sorted(consumed))
        firing = Firing(flow.owner, key, now(), FiringOutcome.FIRED, decided_by=self.holder)
        self.driver.start_run(flow, f"condition met ({key})", firing=firing)
        setting.consumed = consumed
        self.store.save_trigger_setting(setting)


def latest_states(store: RunStore, nodes: list[str]) -> dict[str, tuple[str, str]]:
    """The latest finished run of each watched job, crawler or replication task:
    node → (run id, state)."""
    found: dict[str, tuple[str, str]] = {}
    for node in nodes:
        kind, name = node.split(":", 1)
        if kind == "crawler":
            runs = [(r.run_id, r.state, r.ended_at) for r in store.crawl_runs(name, 20)]
        else:
            job = {"replication": job_name_of(name), "maintenance": f"maintain-{name}"}.get(
                kind, name
            )
            runs = [(r.run_id, r.state, r.ended_at) for r in store.job_runs(job, 20)]
        ended = [(run_id, state) for run_id, state, ended_at in runs if ended_at]
        if ended:
            found[node] = ended[0]
    return found
