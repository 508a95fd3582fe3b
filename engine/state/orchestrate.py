"""Scheduling state in the run-state database: flow runs (workflows and standalone
triggers) and their nodes, every trigger decision, trigger settings, and the
scheduler's lease.

Exactly once, even with two schedulers: a firing is decided by inserting its key
(``trigger_firings`` primary key), a node is started by inserting its row, and the
process that runs it must swap the row's token from STARTING to RUNNING before it
does anything. Mixed into :class:`engine.state.store.RunStore`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.errors import HeadwaterError
from engine.state.jobs import is_alive
from engine.vocabulary import ACTIVE_STATES, FiringOutcome, RunState

ORCHESTRATE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS flow_runs (
        run_id TEXT PRIMARY KEY, flow TEXT NOT NULL, state TEXT NOT NULL,
        started_at TEXT NOT NULL, ended_at TEXT, started_by TEXT NOT NULL,
        previous_run_id TEXT, properties TEXT NOT NULL DEFAULT '{}',
        error TEXT NOT NULL DEFAULT '', driver TEXT NOT NULL DEFAULT '',
        driver_pid INTEGER, driver_host TEXT, driver_seen TEXT)""",
    """CREATE TABLE IF NOT EXISTS flow_nodes (
        run_id TEXT NOT NULL, node TEXT NOT NULL, state TEXT NOT NULL,
        trigger_name TEXT NOT NULL, token TEXT NOT NULL, started_at TEXT NOT NULL,
        ended_at TEXT, pid INTEGER, host TEXT, action_runs TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL DEFAULT '',
        carried INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, node))""",
    """CREATE TABLE IF NOT EXISTS flow_fired (
        run_id TEXT NOT NULL, trigger_name TEXT NOT NULL, fired_at TEXT NOT NULL,
        PRIMARY KEY (run_id, trigger_name))""",
    """CREATE TABLE IF NOT EXISTS trigger_firings (
        flow TEXT NOT NULL, fire_key TEXT NOT NULL, decided_at TEXT NOT NULL,
        outcome TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (flow, fire_key))""",
    """CREATE TABLE IF NOT EXISTS trigger_settings (
        flow TEXT PRIMARY KEY, enabled INTEGER, evaluated_to TEXT NOT NULL DEFAULT '',
        consumed TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE IF NOT EXISTS scheduler_lease (
        name TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL,
        host TEXT NOT NULL, renewed_at TEXT NOT NULL)""",
)
LEASE = "scheduler"
_RUN = (
    "run_id",
    "flow",
    "state",
    "started_at",
    "ended_at",
    "started_by",
    "previous_run_id",
    "properties",
    "error",
    "driver",
    "driver_pid",
    "driver_host",
    "driver_seen",
)
_NODE = (
    "run_id",
    "node",
    "state",
    "trigger_name",
    "token",
    "started_at",
    "ended_at",
    "pid",
    "host",
    "action_runs",
    "error",
    "log_path",
    "carried",
)
_FIRING = ("flow", "fire_key", "decided_at", "outcome", "run_id", "detail", "decided_by")


class FlowConcurrencyError(HeadwaterError):
    """A workflow already has its maximum of runs going (Glue: ConcurrentRunsExceeded)."""


@dataclass
class FlowRun:
    """One run of a workflow or of a standalone trigger (Glue's WorkflowRun)."""

    run_id: str
    flow: str  # workflow:NAME | trigger:NAME
    started_at: str
    started_by: str  # "schedule 2026-11-28T10:00:00+00:00", "on demand", "resume of wr_…"
    state: str = RunState.RUNNING
    ended_at: str | None = None
    previous_run_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    error: str = ""
    driver: str = ""  # the scheduler or CLI process advancing it
    driver_pid: int | None = None
    driver_host: str | None = None
    driver_seen: str | None = None

    @property
    def kind(self) -> str:
        return self.flow.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.flow.split(":", 1)[1]


@dataclass
class FlowNode:
    """One action of a run: its state and the crawl/job runs it made."""

    run_id: str
    node: str  # kind:name
    state: str
    trigger_name: str
    token: str
    started_at: str
    ended_at: str | None = None
    pid: int | None = None
    host: str | None = None
    action_runs: str = ""
    error: str = ""
    log_path: str = ""
    carried: int = 0  # succeeded in the run this one resumed; not run again


@dataclass
class Firing:
    """One decision about a trigger firing: FIRED, SKIPPED (catch-up) or REFUSED."""

    flow: str
    fire_key: str
    decided_at: str
    outcome: str
    run_id: str = ""
    detail: str = ""
    decided_by: str = ""


@dataclass
class TriggerSetting:
    flow: str
    enabled: bool | None = None  # None: as headwater.yaml says
    evaluated_to: str = ""  # schedule: firings up to here are decided
    consumed: dict[str, str] = field(default_factory=dict)  # conditional: node → run id


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


class OrchestrateStateMixin:
    """SQL for scheduling; the host class provides ``_cursor``, ``_exclusive``, ``_sql``."""

    _cursor: Any
    _exclusive: Any
    _sql: Any

    # -- runs --------------------------------------------------------------------------
    def _insert_row(
        self, cursor: Any, table: str, columns: tuple[str, ...], values: dict[str, Any]
    ) -> None:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        cursor.execute(
            self._sql(f"INSERT INTO {table} ({names}) VALUES ({marks})"),
            tuple(values[c] for c in columns),
        )

    def _put_run(self, cursor: Any, run: FlowRun) -> None:
        values = asdict(run)
        values["properties"] = json.dumps(run.properties, sort_keys=True)
        cursor.execute(self._sql("DELETE FROM flow_runs WHERE run_id = ?"), (run.run_id,))
        self._insert_row(cursor, "flow_runs", _RUN, values)

    def save_flow_run(self, run: FlowRun) -> None:
        with self._cursor() as cursor:
            self._put_run(cursor, run)

    def _select_flow_runs(
        self, cursor: Any, where: str, args: tuple[Any, ...], limit: int
    ) -> list[FlowRun]:
        cursor.execute(
            self._sql(
                f"SELECT {', '.join(_RUN)} FROM flow_runs WHERE {where} "
                f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}"
            ),
            args,
        )
        runs = []
        for row in cursor.fetchall():
            values = dict(zip(_RUN, row, strict=True))
            values["properties"] = json.loads(values["properties"] or "{}")
            runs.append(FlowRun(**values))
        return runs

    def flow_run(self, run_id: str) -> FlowRun | None:
        with self._cursor() as cursor:
            found = self._select_flow_runs(cursor, "run_id = ?", (run_id,), 1)
        return found[0] if found else None

    def flow_runs(
        self, flow: str | None = None, state: str | None = None, limit: int = 20
    ) -> list[FlowRun]:
        where, args = ["1 = 1"], []
        if flow:
            where.append("flow = ?")
            args.append(flow)
        if state:
            where.append("state = ?")
            args.append(state)
        with self._cursor() as cursor:
            return self._select_flow_runs(cursor, " AND ".join(where), tuple(args), limit)

    def start_flow_run(
        self,
        run: FlowRun,
        max_concurrent: int | None,
        firing: Firing | None = None,
        carried: tuple[list[FlowNode], list[str]] = ([], []),
    ) -> bool:
        """Record ``run`` and (with ``firing``) the decision that started it, in one
        transaction. False if that firing was already decided (by another scheduler).

        Raises:
            FlowConcurrencyError: the flow has ``max_concurrent`` runs going (the
                refusal is recorded with the firing).
        """
        with self._exclusive() as cursor:
            if firing is not None and self._is_decided(cursor, firing):
                return False
            if max_concurrent is not None:
                going = self._select_flow_runs(
                    cursor, "flow = ? AND state = ?", (run.flow, RunState.RUNNING), 1000
                )
                if len(going) >= max_concurrent:
                    message = (
                        f"Concurrent runs exceeded for {run.kind} {run.name}: "
                        f"{', '.join(r.run_id for r in going)} running, max_concurrent_runs "
                        f"{max_concurrent}"
                    )
                    if firing is not None:
                        firing.outcome, firing.detail = FiringOutcome.REFUSED, message
                        self._insert_row(cursor, "trigger_firings", _FIRING, asdict(firing))
                        return False
                    raise FlowConcurrencyError(
                        message, hint="wait for the running one, or raise max_concurrent_runs"
                    )
            self._put_run(cursor, run)
            if firing is not None:
                firing.run_id = run.run_id
                self._insert_row(cursor, "trigger_firings", _FIRING, asdict(firing))
            nodes, fired = carried
            for node in nodes:
                self._insert_row(cursor, "flow_nodes", _NODE, asdict(node))
            for trigger in fired:
                cursor.execute(
                    self._sql(
                        "INSERT INTO flow_fired (run_id, trigger_name, fired_at) VALUES (?, ?, ?)"
                    ),
                    (run.run_id, trigger, run.started_at),
                )
        return True

    def claim_driver(
        self, run_id: str, holder: str, pid: int, host: str, now: str, stale: float
    ) -> bool:
        """Become the process advancing a run, unless a live one already is."""
        with self._exclusive() as cursor:
            found = self._select_flow_runs(cursor, "run_id = ?", (run_id,), 1)
            if not found or found[0].state != RunState.RUNNING:
                return False
            run = found[0]
            if run.driver and run.driver != holder:
                seen = _parse(run.driver_seen) if run.driver_seen else None
                fresh = seen is not None and _parse(now) - seen < timedelta(seconds=stale)
                if fresh and is_alive(run.driver_pid, run.driver_host):
                    return False
            cursor.execute(
                self._sql(
                    "UPDATE flow_runs SET driver = ?, driver_pid = ?, driver_host = ?, "
                    "driver_seen = ? WHERE run_id = ?"
                ),
                (holder, pid, host, now, run_id),
            )
        return True

    def release_driver(self, run_id: str, holder: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "UPDATE flow_runs SET driver = '', driver_pid = NULL, driver_host = NULL "
                    "WHERE run_id = ? AND driver = ?"
                ),
                (run_id, holder),
            )

    def finish_flow_run(self, run_id: str, state: str, error: str, now: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "UPDATE flow_runs SET state = ?, error = ?, ended_at = ?, driver = '', "
                    "driver_pid = NULL, driver_host = NULL WHERE run_id = ? AND state = ?"
                ),
                (state, error, now, run_id, RunState.RUNNING),
            )

    # -- nodes -------------------------------------------------------------------------
    def flow_nodes(self, run_id: str) -> list[FlowNode]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_NODE)} FROM flow_nodes WHERE run_id = ? "
                    "ORDER BY started_at, node"
                ),
                (run_id,),
            )
            return [FlowNode(**dict(zip(_NODE, row, strict=True))) for row in cursor.fetchall()]

    def claim_node(self, node: FlowNode) -> bool:
        """Insert a STARTING node; False if the run already has that node."""
        with self._exclusive() as cursor:
            cursor.execute(
                self._sql("SELECT state FROM flow_nodes WHERE run_id = ? AND node = ?"),
                (node.run_id, node.node),
            )
            if cursor.fetchone() is not None:
                return False
            self._insert_row(cursor, "flow_nodes", _NODE, asdict(node))
        return True

    def reclaim_node(
        self, run_id: str, node: str, old_token: str, new_token: str, now: str
    ) -> bool:
        """Hand a STARTING node whose launcher died to a new launch (new token)."""
        return self._update_node(
            "token = ?, started_at = ?",
            (new_token, now),
            run_id,
            node,
            "state = ? AND token = ?",
            (RunState.STARTING, old_token),
        )

    def node_started(self, run_id: str, node: str, token: str, pid: int, host: str) -> bool:
        """The action process takes its node: STARTING with its token → RUNNING."""
        return self._update_node(
            "state = ?, pid = ?, host = ?",
            (RunState.RUNNING, pid, host),
            run_id,
            node,
            "state = ? AND token = ?",
            (RunState.STARTING, token),
        )

    def finish_node(
        self, run_id: str, node: str, state: str, error: str, action_runs: str, now: str
    ) -> bool:
        return self._update_node(
            "state = ?, error = ?, action_runs = ?, ended_at = ?",
            (state, error, action_runs, now),
            run_id,
            node,
            "state IN (?, ?)",
            ACTIVE_STATES,
        )

    def _update_node(
        self,
        assignments: str,
        values: tuple[Any, ...],
        run_id: str,
        node: str,
        condition: str,
        condition_values: tuple[Any, ...],
    ) -> bool:
        with self._exclusive() as cursor:
            cursor.execute(
                self._sql(
                    f"UPDATE flow_nodes SET {assignments} WHERE run_id = ? AND node = ? "
                    f"AND {condition}"
                ),
                (*values, run_id, node, *condition_values),
            )
            return bool(cursor.rowcount)

    def set_node_progress(self, run_id: str, node: str, action_runs: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("UPDATE flow_nodes SET action_runs = ? WHERE run_id = ? AND node = ?"),
                (action_runs, run_id, node),
            )

    def fired_triggers(self, run_id: str) -> set[str]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("SELECT trigger_name FROM flow_fired WHERE run_id = ?"), (run_id,)
            )
            return {str(row[0]) for row in cursor.fetchall()}

    def mark_fired(self, run_id: str, trigger: str, now: str) -> bool:
        with self._exclusive() as cursor:
            cursor.execute(
                self._sql("SELECT 1 FROM flow_fired WHERE run_id = ? AND trigger_name = ?"),
                (run_id, trigger),
            )
            if cursor.fetchone() is not None:
                return False
            cursor.execute(
                self._sql(
                    "INSERT INTO flow_fired (run_id, trigger_name, fired_at) VALUES (?, ?, ?)"
                ),
                (run_id, trigger, now),
            )
        return True

    # -- firings and trigger settings ---------------------------------------------------
    def record_firing(self, firing: Firing) -> bool:
        """Record a decision that starts nothing (a skipped firing); False if decided."""
        with self._exclusive() as cursor:
            if self._is_decided(cursor, firing):
                return False
            self._insert_row(cursor, "trigger_firings", _FIRING, asdict(firing))
        return True

    def _is_decided(self, cursor: Any, firing: Firing) -> bool:
        cursor.execute(
            self._sql("SELECT 1 FROM trigger_firings WHERE flow = ? AND fire_key = ?"),
            (firing.flow, firing.fire_key),
        )
        return cursor.fetchone() is not None

    def firings(self, flow: str | None = None, limit: int = 50) -> list[Firing]:
        where, args = ("WHERE flow = ?", (flow,)) if flow else ("", ())
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_FIRING)} FROM trigger_firings {where} "
                    f"ORDER BY decided_at DESC, fire_key DESC LIMIT {int(limit)}"
                ),
                args,
            )
            return [Firing(**dict(zip(_FIRING, row, strict=True))) for row in cursor.fetchall()]

    def trigger_setting(self, flow: str) -> TriggerSetting:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT enabled, evaluated_to, consumed FROM trigger_settings WHERE flow = ?"
                ),
                (flow,),
            )
            row = cursor.fetchone()
        if row is None:
            return TriggerSetting(flow)
        enabled = None if row[0] is None else bool(row[0])
        return TriggerSetting(flow, enabled, str(row[1]), json.loads(row[2] or "{}"))

    def save_trigger_setting(self, setting: TriggerSetting) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM trigger_settings WHERE flow = ?"), (setting.flow,)
            )
            cursor.execute(
                self._sql(
                    "INSERT INTO trigger_settings (flow, enabled, evaluated_to, consumed) "
                    "VALUES (?, ?, ?, ?)"
                ),
                (
                    setting.flow,
                    None if setting.enabled is None else int(setting.enabled),
                    setting.evaluated_to,
                    json.dumps(setting.consumed, sort_keys=True),
                ),
            )

    # -- the scheduler lease -------------------------------------------------------------
    def take_lease(
        self, holder: str, pid: int, host: str, now: str, ttl: float
    ) -> tuple[bool, str]:
        """Hold (or renew) the one scheduler lease. (taken, description of the holder)."""
        with self._exclusive() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT holder, pid, host, renewed_at FROM scheduler_lease WHERE name = ?"
                ),
                (LEASE,),
            )
            row = cursor.fetchone()
            if row is not None and row[0] != holder:
                other, other_pid, other_host, renewed = row
                fresh = _parse(now) - _parse(str(renewed)) < timedelta(seconds=ttl)
                if fresh and is_alive(int(other_pid), str(other_host)):
                    return False, f"{other} (pid {other_pid} on {other_host}, renewed {renewed})"
            cursor.execute(self._sql("DELETE FROM scheduler_lease WHERE name = ?"), (LEASE,))
            cursor.execute(
                self._sql(
                    "INSERT INTO scheduler_lease (name, holder, pid, host, renewed_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (LEASE, holder, pid, host, now),
            )
        return True, holder

    def release_lease(self, holder: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM scheduler_lease WHERE name = ? AND holder = ?"),
                (LEASE, holder),
            )
