"""Triggers and workflows from ``headwater.yaml`` (Glue's Trigger and Workflow).

```yaml
triggers:                            # standalone triggers
  nightly-landing:
    type: schedule                   # schedule | conditional | on_demand
    schedule: "0 2 * * *"            # 5-field cron, or Glue's cron(0 2 * * ? *)
    timezone: Europe/Berlin          # IANA name; default UTC
    catch_up: run_once               # a firing missed while no scheduler ran: skip | run_once
    enabled: true
    actions:
      - crawler: landing
      - job: sales
        arguments: {write_mode: merge, day: "${day}"}   # ${property}: a run property
        timeout_minutes: 30
      - replication: shop            # one batch: start if never started, else resume
  register-sales:
    type: conditional
    predicate:
      logical: ALL                   # ALL | ANY
      conditions:
        - {job: sales, state: SUCCEEDED}   # SUCCEEDED | FAILED | TIMEOUT | STOPPED
    actions:
      - crawler: raw

workflows:
  daily:
    max_concurrent_runs: 1
    run_properties: {day: today}
    triggers:                        # one schedule/on_demand start trigger, then conditionals
      start: {type: schedule, schedule: "* * * * *", actions: [{crawler: landing}]}
      ingest:
        type: conditional
        predicate: {conditions: [{crawler: landing, state: SUCCEEDED}]}
        actions: [{job: sales}]
```

Inside a workflow a conditional trigger watches the states its run's actions
reached; a standalone conditional trigger watches the latest runs of the named
jobs, crawlers and tasks, however they were started. Each action appears once in a
workflow (it is a node of the graph), and the graph may not loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.config import SAFE_NAME, definition_error, project_file, project_section
from engine.definitions import load_crawlers
from engine.errors import ConfigError
from engine.ingest.definitions import load_jobs
from engine.orchestrate.cron import CronSchedule
from engine.replicate.definitions import load_tasks
from engine.vocabulary import FINAL_STATES, RunState

SCHEDULE, CONDITIONAL, ON_DEMAND = "schedule", "conditional", "on_demand"
WATCHABLE_STATES = FINAL_STATES
KINDS = ("crawler", "job", "replication", "maintenance")
REPLICATION_RUNS = ("auto", "start", "resume", "reload", "validate")
HINT = "see docs/scheduling.md"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_kind(model: BaseModel) -> tuple[str, str]:
    given = [(kind, getattr(model, kind)) for kind in KINDS if getattr(model, kind) is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of 'crawler', 'job', 'replication' or 'maintenance'")
    return given[0]


class ActionDefinition(_Strict):
    """What a trigger starts: a crawler, a job (with arguments) or a replication batch."""

    crawler: str | None = None
    job: str | None = None
    replication: str | None = None
    maintenance: str | None = None  # a Delta table (database.table) to compact or vacuum
    arguments: dict[str, Any] = Field(default_factory=dict)
    # replication only: what the run does (auto: start if never started, else resume)
    run: Literal["auto", "start", "resume", "reload", "validate"] = "auto"
    # maintenance only: the operation, and vacuum's retention (engine.maintenance)
    operation: Literal["optimize", "vacuum"] = "optimize"
    retain_hours: float | None = Field(default=None, ge=0)
    timeout_minutes: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> ActionDefinition:
        kind, _ = _one_kind(self)
        if self.arguments and kind != "job":
            raise ValueError("'arguments' are for job actions")
        if self.run != "auto" and kind != "replication":
            raise ValueError("'run' is for replication actions")
        if kind != "maintenance" and (self.operation != "optimize" or self.retain_hours):
            raise ValueError("'operation' and 'retain_hours' are for maintenance actions")
        if self.retain_hours is not None and self.operation != "vacuum":
            raise ValueError("'retain_hours' is for the vacuum operation")
        return self

    @property
    def kind(self) -> str:
        return _one_kind(self)[0]

    @property
    def name(self) -> str:
        return _one_kind(self)[1]

    @property
    def node(self) -> str:
        """The action's node id in a workflow graph: ``kind:name``."""
        return f"{self.kind}:{self.name}"


class ConditionDefinition(_Strict):
    crawler: str | None = None
    job: str | None = None
    replication: str | None = None
    maintenance: str | None = None
    state: RunState = RunState.SUCCEEDED

    @field_validator("state", mode="before")
    @classmethod
    def _final(cls, value: Any) -> Any:
        if value not in WATCHABLE_STATES:
            raise ValueError(
                f"a condition watches how a run ended: one of {', '.join(WATCHABLE_STATES)}"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> ConditionDefinition:
        _one_kind(self)
        return self

    @property
    def node(self) -> str:
        kind, name = _one_kind(self)
        return f"{kind}:{name}"


class PredicateDefinition(_Strict):
    logical: Literal["ALL", "ANY", "AND"] = "ALL"  # Glue spells ALL "AND"
    conditions: list[ConditionDefinition] = Field(min_length=1, max_length=500)

    @property
    def is_any(self) -> bool:
        return self.logical == "ANY"


class TriggerDefinition(_Strict):
    type: Literal["schedule", "conditional", "on_demand"]
    schedule: str | None = None
    timezone: str = "UTC"
    catch_up: Literal["skip", "run_once"] = "skip"
    predicate: PredicateDefinition | None = None
    actions: list[ActionDefinition] = Field(min_length=1)
    enabled: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _shape(self) -> TriggerDefinition:
        if (self.type == SCHEDULE) != (self.schedule is not None):
            raise ValueError("a schedule trigger needs 'schedule' (and only it has one)")
        if (self.type == CONDITIONAL) != (self.predicate is not None):
            raise ValueError("a conditional trigger needs 'predicate' (and only it has one)")
        if self.type == SCHEDULE:
            assert self.schedule is not None
            try:
                CronSchedule.parse(self.schedule, self.timezone)
            except ConfigError as exc:
                raise ValueError(exc.message) from exc
        nodes = [action.node for action in self.actions]
        if len(set(nodes)) != len(nodes):
            raise ValueError("an action appears twice")
        return self

    @property
    def cron(self) -> CronSchedule:
        assert self.schedule is not None
        return CronSchedule.parse(self.schedule, self.timezone)


class WorkflowDefinition(_Strict):
    description: str = ""
    max_concurrent_runs: int = Field(default=1, ge=1, le=100)
    run_properties: dict[str, str | int | float | bool] = Field(default_factory=dict)
    triggers: dict[str, TriggerDefinition] = Field(min_length=1)

    @model_validator(mode="after")
    def _graph(self) -> WorkflowDefinition:
        starts = [name for name, t in self.triggers.items() if t.type != CONDITIONAL]
        if len(starts) != 1:
            raise ValueError(
                "a workflow has exactly one schedule or on_demand trigger (its start), "
                f"found {len(starts)}"
            )
        producers: dict[str, str] = {}
        for name, trigger in self.triggers.items():
            if not SAFE_NAME.fullmatch(name):
                raise ValueError(f"trigger name {name!r}: letters, digits, _ . -")
            for action in trigger.actions:
                if action.node in producers:
                    raise ValueError(
                        f"{action.node} is started by both triggers {producers[action.node]} "
                        f"and {name}: each action is one node of the workflow"
                    )
                producers[action.node] = name
        for name, trigger in self.triggers.items():
            for condition in trigger.predicate.conditions if trigger.predicate else ():
                if condition.node not in producers:
                    raise ValueError(
                        f"trigger {name} watches {condition.node}, which no trigger of this "
                        f"workflow starts (nodes: {', '.join(sorted(producers))})"
                    )
        _check_acyclic(self)
        return self

    @property
    def start(self) -> str:
        return next(n for n, t in self.triggers.items() if t.type != CONDITIONAL)

    def nodes(self) -> dict[str, ActionDefinition]:
        return {a.node: a for t in self.triggers.values() for a in t.actions}


def _check_acyclic(workflow: WorkflowDefinition) -> None:
    """A conditional trigger whose actions feed its own predicate would never settle."""
    downstream: dict[str, set[str]] = {}
    for trigger in workflow.triggers.values():
        for condition in trigger.predicate.conditions if trigger.predicate else ():
            downstream.setdefault(condition.node, set()).update(a.node for a in trigger.actions)
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            loop = " → ".join((*path[path.index(node) :], node))
            raise ValueError(f"the workflow loops: {loop}")
        if node in done:
            return
        for after in sorted(downstream.get(node, ())):
            visit(after, (*path, node))
        done.add(node)

    for node in sorted(downstream):
        visit(node, ())


@dataclass(frozen=True)
class Flow:
    """What the scheduler runs: a workflow, or a standalone trigger (a flow of one
    trigger). Runs of both are recorded the same way."""

    name: str
    kind: Literal["workflow", "trigger"]
    triggers: dict[str, TriggerDefinition]
    start: str
    max_concurrent_runs: int | None  # None: no limit (a standalone trigger)
    run_properties: dict[str, str]

    @property
    def start_trigger(self) -> TriggerDefinition:
        return self.triggers[self.start]

    @property
    def owner(self) -> str:
        """The key its firings and settings are stored under."""
        return f"{self.kind}:{self.name}"

    def nodes(self) -> dict[str, ActionDefinition]:
        return {a.node: a for t in self.triggers.values() for a in t.actions}


def _load(section: str, model: type[BaseModel]) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    for name, body in project_section(section).items():
        if not SAFE_NAME.fullmatch(str(name)):
            raise ConfigError(
                f"{project_file()}: {section}.{name}: a name is letters, digits, _ . - "
                "(at most 128)",
                key=f"{section}.{name}",
            )
        try:
            loaded[str(name)] = model.model_validate(body or {})
        except ValidationError as exc:
            raise definition_error(exc, section, name, HINT) from exc
    return loaded


def load_flows(check_references: bool = True) -> dict[str, Flow]:
    """Every workflow and standalone trigger, keyed by ``workflow:NAME`` /
    ``trigger:NAME``; the crawlers, jobs and tasks they name must be defined."""
    flows: dict[str, Flow] = {}
    for name, workflow in _load("workflows", WorkflowDefinition).items():
        properties = {k: _text(v) for k, v in workflow.run_properties.items()}
        flow = Flow(
            name,
            "workflow",
            workflow.triggers,
            workflow.start,
            workflow.max_concurrent_runs,
            properties,
        )
        flows[flow.owner] = flow
    for name, trigger in _load("triggers", TriggerDefinition).items():
        flow = Flow(name, "trigger", {name: trigger}, name, None, {})
        flows[flow.owner] = flow
    if check_references:
        _check_references(flows)
    return flows


def _text(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_references(flows: dict[str, Flow]) -> None:
    defined = {
        "crawler": set(load_crawlers()),
        "job": set(load_jobs()),
        "replication": set(load_tasks()),
    }
    for flow in flows.values():
        section = "workflows" if flow.kind == "workflow" else "triggers"
        for trigger_name, trigger in flow.triggers.items():
            named = [a.node for a in trigger.actions]
            named += [c.node for c in (trigger.predicate.conditions if trigger.predicate else [])]
            for node in named:
                kind, name = node.split(":", 1)
                if kind in defined and name not in defined[kind]:  # tables: when run
                    where = (
                        f"{section}.{flow.name}.triggers.{trigger_name}"
                        if flow.kind == "workflow"
                        else f"{section}.{flow.name}"
                    )
                    section_name = "replication_tasks" if kind == "replication" else f"{kind}s"
                    raise ConfigError(
                        f"{project_file()}: {where} names {kind} {name!r}, which is not "
                        f"defined (defined: {', '.join(sorted(defined[kind])) or 'none'})",
                        hint=f"define it under '{section_name}:'",
                        key=where,
                    )


def flow(name: str, kind: Literal["workflow", "trigger"]) -> Flow:
    flows = load_flows()
    key = f"{kind}:{name}"
    if key not in flows:
        known = sorted(f.name for f in flows.values() if f.kind == kind)
        section = "workflows" if kind == "workflow" else "triggers"
        raise ConfigError(
            f"no {kind} named {name!r} in {project_file()} (defined: {', '.join(known) or 'none'})",
            hint=f"define it under '{section}:' ({HINT})",
            key=f"{section}.{name}",
        )
    return flows[key]
