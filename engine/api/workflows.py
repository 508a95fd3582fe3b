"""Glue's triggers and workflows (``AWSGlue.*Trigger*``, ``*Workflow*``) over
headwater's ``triggers:`` and ``workflows:``.

A standalone trigger keeps its name; a workflow's trigger is ``WORKFLOW/TRIGGER``
(Glue names triggers globally). Replication and maintenance actions, which Glue has no
word for, show as jobs under the names their runs are recorded with. Runs are started
as the CLI's commands (``headwater workflow run NAME --run-id ID``, ``workflow resume``,
``trigger run``), which drive them to their end; their state comes from the run store.
"""

from __future__ import annotations

import re
from typing import Any

from engine.api.context import Api, not_found, operation, page
from engine.api.protocol import ApiError
from engine.errors import ConfigError, FlowError
from engine.maintenance import maintenance_job
from engine.orchestrate.definitions import (
    CONDITIONAL,
    ON_DEMAND,
    SCHEDULE,
    ActionDefinition,
    Flow,
    TriggerDefinition,
    load_flows,
)
from engine.orchestrate.driver import check_resumable, new_flow_run_id
from engine.orchestrate.scheduler import is_enabled
from engine.replicate.definitions import job_name_of
from engine.state.orchestrate import FlowNode, FlowRun
from engine.vocabulary import ACTIVE_STATES, RunState

_TYPES = {SCHEDULE: "SCHEDULED", CONDITIONAL: "CONDITIONAL", ON_DEMAND: "ON_DEMAND"}
# a crawler's final state as Glue's CrawlState names it
_CRAWL_STATES: dict[str, str] = {RunState.STOPPED: "CANCELLED", RunState.TIMEOUT: "ERROR"}


def _flows() -> dict[str, Flow]:
    return load_flows()


def _workflow(name: str) -> Flow:
    found = _flows().get(f"workflow:{name}")
    if found is None:
        raise not_found(f"Workflow {name}")
    return found


def _trigger_name(flow: Flow, trigger: str) -> str:
    return trigger if flow.kind == "trigger" else f"{flow.name}/{trigger}"


def _find_trigger(name: str) -> tuple[Flow, str]:
    workflow, sep, trigger = name.partition("/")
    flows = _flows()
    flow = flows.get(f"workflow:{workflow}") if sep else flows.get(f"trigger:{name}")
    key = trigger if sep else name
    if flow is None or key not in flow.triggers:
        raise not_found(f"Trigger {name}")
    return flow, key


def _action(action: ActionDefinition) -> dict[str, Any]:
    if action.kind == "crawler":
        return {"CrawlerName": action.name}
    described: dict[str, Any] = {"JobName": action.name}
    if action.kind == "job":
        described["Arguments"] = {f"--{k}": str(v) for k, v in action.arguments.items()}
    elif action.kind == "replication":
        described.update(JobName=job_name_of(action.name), Arguments={"--run": action.run})
    else:
        described.update(
            JobName=maintenance_job(action.name, action.operation)[0],
            Arguments={"--table": action.name, "--operation": action.operation},
        )
    if action.timeout_minutes is not None:
        described["Timeout"] = max(1, round(action.timeout_minutes))
    return described


def _condition(node: str, state: str) -> dict[str, Any]:
    kind, name = node.split(":", 1)
    if kind == "crawler":
        return {
            "LogicalOperator": "EQUALS",
            "CrawlerName": name,
            "CrawlState": _CRAWL_STATES.get(state, state),
        }
    job = job_name_of(name) if kind == "replication" else name
    return {"LogicalOperator": "EQUALS", "JobName": job, "State": state}


def _schedule(trigger: TriggerDefinition) -> str | None:
    if trigger.schedule is None:
        return None
    if trigger.schedule.startswith("cron("):
        return trigger.schedule
    minute, hour, day, month, weekday = trigger.schedule.split()
    if weekday == "*":  # Glue wants one of the two day fields to be "?"
        weekday = "?"
    else:
        day = "?" if day == "*" else day
        if "/" not in weekday:  # cron counts days 0-6 from Sunday, Glue 1-7
            weekday = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), weekday)
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def _trigger(api: Api, flow: Flow, name: str) -> dict[str, Any]:
    trigger = flow.triggers[name]
    enabled = is_enabled(flow, api.store.trigger_setting(flow.owner))
    state = "ACTIVATED" if enabled else "DEACTIVATED"
    if trigger.type == ON_DEMAND:
        state = "CREATED" if enabled else "DEACTIVATED"
    described: dict[str, Any] = {
        "Name": _trigger_name(flow, name),
        "Id": _trigger_name(flow, name),
        "WorkflowName": flow.name if flow.kind == "workflow" else None,
        "Type": _TYPES[trigger.type],
        "State": state,
        "Description": trigger.description or None,
        "Schedule": _schedule(trigger),
        "Actions": [_action(a) for a in trigger.actions],
    }
    if trigger.predicate is not None:
        described["Predicate"] = {
            "Logical": "ANY" if trigger.predicate.is_any else "AND",
            "Conditions": [_condition(c.node, c.state) for c in trigger.predicate.conditions],
        }
    return described


@operation("glue", "GetTrigger")
def get_trigger(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    flow, name = _find_trigger(params["Name"])
    return {"Trigger": _trigger(api, flow, name)}


@operation("glue", "GetTriggers")
def get_triggers(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = []
    for key in sorted(_flows()):
        flow = _flows()[key]
        for name in flow.triggers:
            described = _trigger(api, flow, name)
            watched = params.get("DependentJobName")
            if watched and watched not in [a.get("JobName") for a in described["Actions"]]:
                continue
            found.append(described)
    items, token = page(found, params)
    return {"Triggers": items, "NextToken": token}


def _set_enabled(api: Api, flow: Flow, enabled: bool) -> None:
    setting = api.store.trigger_setting(flow.owner)
    setting.enabled = enabled
    api.store.save_trigger_setting(setting)


@operation("glue", "StartTrigger")
def start_trigger(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    """An on-demand trigger fires now (``headwater trigger run``); a scheduled or
    conditional one is activated (``headwater trigger enable``), as in Glue."""
    flow, name = _find_trigger(params["Name"])
    trigger = flow.triggers[name]
    if trigger.type == ON_DEMAND:
        if flow.kind == "workflow":
            raise ApiError(
                "InvalidInputException",
                f"Trigger {params['Name']} starts workflow {flow.name}: use StartWorkflowRun",
            )
        run_id = new_flow_run_id()
        api.launcher.start(
            f"trigger:{flow.name}:{run_id}", ["trigger", "run", flow.name, "--run-id", run_id]
        )
    else:
        _set_enabled(api, flow, True)
    return {"Name": params["Name"]}


@operation("glue", "StopTrigger")
def stop_trigger(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    """Deactivate the trigger's flow (``headwater trigger disable`` / ``workflow
    disable``): its schedule and conditions stop firing; runs going on go on."""
    flow, _ = _find_trigger(params["Name"])
    _set_enabled(api, flow, False)
    return {"Name": params["Name"]}


# -- workflows --------------------------------------------------------------------------
_STATUS: dict[str, str] = {
    RunState.RUNNING: RunState.RUNNING,
    RunState.STARTING: RunState.RUNNING,
    RunState.STOPPED: RunState.STOPPED,
}


def _statistics(nodes: list[FlowNode], flow: Flow) -> dict[str, int]:
    states = [n.state for n in nodes]
    return {
        "TotalActions": len(flow.nodes()),
        "SucceededActions": states.count(RunState.SUCCEEDED),
        "FailedActions": states.count(RunState.FAILED),
        "TimeoutActions": states.count(RunState.TIMEOUT),
        "StoppedActions": states.count(RunState.STOPPED),
        "RunningActions": sum(1 for s in states if s in ACTIVE_STATES),
        "ErroredActions": 0,
        "WaitingActions": 0,
    }


def _graph(api: Api, flow: Flow, nodes: list[FlowNode] | None) -> dict[str, Any]:
    """Glue's graph: a TRIGGER node per trigger, a JOB or CRAWLER node per action;
    edges from a trigger to its actions and from a watched action to its trigger."""
    by_node = {n.node: n for n in nodes or []}
    graph_nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    for name, trigger in flow.triggers.items():
        trigger_id = f"trigger:{name}"
        graph_nodes.append(
            {
                "Type": "TRIGGER",
                "Name": _trigger_name(flow, name),
                "UniqueId": trigger_id,
                "TriggerDetails": {"Trigger": _trigger(api, flow, name)},
            }
        )
        edges += [{"SourceId": trigger_id, "DestinationId": a.node} for a in trigger.actions]
        for condition in trigger.predicate.conditions if trigger.predicate else []:
            edges.append({"SourceId": condition.node, "DestinationId": trigger_id})
    for node_id, action in flow.nodes().items():
        described: dict[str, Any] = {"UniqueId": node_id, **_action(action)}
        node = {
            "Type": "CRAWLER" if action.kind == "crawler" else "JOB",
            "Name": described.get("CrawlerName") or described["JobName"],
            "UniqueId": node_id,
        }
        ran = by_node.get(node_id)
        if ran is not None and action.kind != "crawler":
            runs = [api.store.job_run(r) for r in ran.action_runs.split(",") if r]
            node["JobDetails"] = {
                "JobRuns": [
                    {"Id": r.run_id, "JobName": r.job, "JobRunState": r.state}
                    for r in runs
                    if r is not None
                ]
            }
        graph_nodes.append(node)
    return {"Nodes": graph_nodes, "Edges": edges}


def _run(api: Api, flow: Flow, run: FlowRun, graph: bool) -> dict[str, Any]:
    nodes = api.store.flow_nodes(run.run_id)
    described: dict[str, Any] = {
        "Name": flow.name,
        "WorkflowRunId": run.run_id,
        "PreviousRunId": run.previous_run_id,
        "WorkflowRunProperties": run.properties,
        "StartedOn": run.started_at,
        "CompletedOn": run.ended_at,
        # as in Glue, a run whose actions failed is COMPLETED; the statistics say how
        "Status": _STATUS.get(run.state, "COMPLETED"),
        "ErrorMessage": run.error or None,
        "Statistics": _statistics(nodes, flow),
    }
    if graph:
        described["Graph"] = _graph(api, flow, nodes)
    return described


def _launched_runs(api: Api, flow: Flow, recorded: set[str]) -> list[dict[str, Any]]:
    """Runs the API launched that are not in the run store yet (or never got there)."""
    found = []
    prefix = f"workflow:{flow.name}:"
    for key, launched in api.launcher.launched.items():
        run_id = key.removeprefix(prefix)
        if not key.startswith(prefix) or run_id in recorded:
            continue
        found.append(
            {
                "Name": flow.name,
                "WorkflowRunId": run_id,
                "StartedOn": launched.started_at,
                "Status": RunState.RUNNING if launched.running else "ERROR",
                "ErrorMessage": None if launched.running else api.launcher.tail(key),
            }
        )
    return found


@operation("glue", "GetWorkflow")
def get_workflow(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    flow = _workflow(params["Name"])
    graph = bool(params.get("IncludeGraph"))
    runs = api.store.flow_runs(flow.owner, limit=1)
    definition = {
        "Name": flow.name,
        "Description": None,
        "DefaultRunProperties": flow.run_properties,
        "MaxConcurrentRuns": flow.max_concurrent_runs,
        "LastRun": _run(api, flow, runs[0], graph) if runs else None,
    }
    if graph:
        definition["Graph"] = _graph(api, flow, None)
    return {"Workflow": definition}


@operation("glue", "StartWorkflowRun")
def start_workflow_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    flow = _workflow(params["Name"])
    going = [r for r in api.store.flow_runs(flow.owner, limit=100) if r.state in ACTIVE_STATES]
    pending = [r for r in _launched_runs(api, flow, set()) if r["Status"] == RunState.RUNNING]
    recorded = {r.run_id for r in going}
    count = len(going) + sum(1 for r in pending if r["WorkflowRunId"] not in recorded)
    if flow.max_concurrent_runs is not None and count >= flow.max_concurrent_runs:
        raise ApiError(
            "ConcurrentRunsExceededException",
            f"Workflow {flow.name}: {count} run(s) going, its MaxConcurrentRuns is "
            f"{flow.max_concurrent_runs}",
        )
    run_id = new_flow_run_id()
    args = ["workflow", "run", flow.name, "--run-id", run_id]
    for key, value in (params.get("RunProperties") or {}).items():
        args += ["--property", f"{key}={value}"]
    api.launcher.start(f"workflow:{flow.name}:{run_id}", args)
    return {"RunId": run_id}


@operation("glue", "GetWorkflowRun")
def get_workflow_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    flow = _workflow(params["Name"])
    run = api.store.flow_run(params["RunId"])
    if run is None or run.flow != flow.owner:
        for launched in _launched_runs(api, flow, set()):
            if launched["WorkflowRunId"] == params["RunId"]:
                return {"Run": launched}
        raise not_found(f"Run {params['RunId']} of workflow {flow.name}")
    return {"Run": _run(api, flow, run, bool(params.get("IncludeGraph")))}


@operation("glue", "GetWorkflowRuns")
def get_workflow_runs(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    flow = _workflow(params["Name"])
    graph = bool(params.get("IncludeGraph"))
    runs = api.store.flow_runs(flow.owner, limit=200)
    described = _launched_runs(api, flow, {r.run_id for r in runs})
    described += [_run(api, flow, r, graph) for r in runs]
    items, token = page(described, params)
    return {"Runs": items, "NextToken": token}


@operation("glue", "ResumeWorkflowRun")
def resume_workflow_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    """Run the failed, timed-out and stopped nodes of a run again, and the graph on
    from them (``headwater workflow resume``); ``NodeIds`` must be among those."""
    flow = _workflow(params["Name"])
    previous = api.store.flow_run(params["RunId"])
    if previous is None or previous.flow != flow.owner:
        raise not_found(f"Run {params['RunId']} of workflow {flow.name}")
    try:
        check_resumable(flow, previous)
    except (FlowError, ConfigError) as exc:
        raise ApiError("IllegalWorkflowStateException", exc.message) from None
    again = [
        n.node
        for n in api.store.flow_nodes(previous.run_id)
        if n.state in (RunState.FAILED, RunState.TIMEOUT, RunState.STOPPED)
    ]
    wrong = [n for n in params["NodeIds"] if n not in again]
    if wrong:
        raise ApiError(
            "InvalidInputException",
            f"Run {previous.run_id}: {', '.join(wrong)} did not fail, time out or stop "
            f"(those that did: {', '.join(again) or 'none'}); headwater resumes them all",
        )
    run_id = new_flow_run_id()
    api.launcher.start(
        f"workflow:{flow.name}:{run_id}",
        ["workflow", "resume", flow.name, previous.run_id, "--run-id", run_id],
    )
    return {"RunId": run_id, "NodeIds": again}
