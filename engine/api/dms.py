"""DMS's operations (``AmazonDMSv20160101.*``) over headwater's replication tasks.

A task is named by its ARN, ``arn:aws:dms:<region>:<account>:task:<name>`` (or by its
name). Starting one launches ``headwater replicate start|resume|reload NAME`` (with
``--continuous`` when the task has CDC, as a DMS task keeps replicating until
stopped); statistics and states come from the run store, as ``replicate status``
shows them.
"""

from __future__ import annotations

import json
from typing import Any

from engine.api.context import Api, operation
from engine.api.protocol import ApiError
from engine.errors import ConfigError
from engine.replicate.definitions import load_tasks, replication_task
from engine.replicate.supervise import stop_task
from engine.state.history import seconds_between
from engine.vocabulary import ACTIVE_STATES, RunState, TableLoadState

START_TYPES = {
    "start-replication": "start",
    "resume-processing": "resume",
    "reload-target": "reload",
}


def _task(api: Api, arn: str) -> Any:

    name = api.name_in(arn, "dms", "task")
    try:
        return replication_task(name)
    except ConfigError:
        raise ApiError("ResourceNotFoundFault", f"Replication task {arn} not found") from None


def _status(api: Api, task: Any) -> tuple[str, str | None, str | None, Any]:
    """DMS's Status, LastFailureMessage, StopReason and the last run of a task."""
    launched = api.launcher.get(f"task:{task.name}")
    runs = api.store.job_runs(task.job_name, 1)
    last = runs[0] if runs else None
    if last is not None and last.state in ACTIVE_STATES:
        stopping = launched is not None and launched.stopping
        return ("stopping" if stopping else "running"), None, None, last
    if launched is not None and launched.running:
        if launched.stopping:
            return "stopping", None, None, last
        if last is None or last.started_at < launched.started_at:
            return "starting", None, None, last
        return "running", None, None, last  # the supervisor, between runs
    if last is None:
        return "ready", None, None, None
    if last.state == RunState.SUCCEEDED:
        return "stopped", None, "Stop Reason FULL_LOAD_ONLY_FINISHED", last
    if last.state == RunState.STOPPED:
        return "stopped", None, "Stop Reason STOPPED_BY_USER", last
    return (
        "failed",
        (f"[{last.failed_step}] " if last.failed_step else "") + last.error,
        ("Stop Reason FATAL_ERROR"),
        last,
    )


def _described(api: Api, task: Any) -> dict[str, Any]:
    status, failure, reason, last = _status(api, task)
    tables = api.store.table_stats(task.name)
    definition = task.definition
    counts = {state: sum(1 for t in tables if t.state == state) for state in TableLoadState}
    loaded = counts[TableLoadState.COMPLETED]
    stats: dict[str, Any] = {
        "FullLoadProgressPercent": int(100 * loaded / len(tables)) if tables else 0,
        "TablesLoaded": loaded,
        "TablesLoading": counts[TableLoadState.FULL_LOAD],
        "TablesQueued": counts[TableLoadState.BEFORE_LOAD],
        "TablesErrored": counts[TableLoadState.TABLE_ERROR] + counts[TableLoadState.SUSPENDED],
    }
    if last is not None:
        stats["StartDate"] = last.started_at
        stats["StopDate"] = last.ended_at
        stats["ElapsedTimeMillis"] = int(
            1000 * (seconds_between(last.started_at, last.ended_at) or 0)
        )
    mappings = definition.table_mappings
    return {
        "ReplicationTaskIdentifier": task.name,
        "ReplicationTaskArn": api.arn("dms", "task", task.name),
        "SourceEndpointArn": api.arn("dms", "endpoint", definition.connection),
        "TargetEndpointArn": api.arn("dms", "endpoint", f"lake-{task.database}"),
        "MigrationType": definition.migration_type,
        "TableMappings": mappings if isinstance(mappings, str) else json.dumps(mappings),
        "Status": status,
        "LastFailureMessage": failure or None,
        "StopReason": reason,
        "CdcStartPosition": definition.cdc_start_position,
        "CdcStopPosition": definition.cdc_stop_position,
        "ReplicationTaskStats": stats,
    }


_FILTERS = ("replication-task-arn", "replication-task-id", "migration-type")


@operation("dms", "DescribeReplicationTasks")
def describe_replication_tasks(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    names = sorted(load_tasks())
    for given in params.get("Filters") or []:
        if given["Name"] not in _FILTERS:
            raise ApiError(
                "InvalidParameterValueException",
                f"Filter {given['Name']!r} is not supported (supported: {', '.join(_FILTERS)})",
            )
        values = set(given["Values"])
        if given["Name"] == "replication-task-arn":
            names = [n for n in names if api.arn("dms", "task", n) in values]
        elif given["Name"] == "replication-task-id":
            names = [n for n in names if n in values]
        else:
            tasks = load_tasks()
            names = [n for n in names if tasks[n].migration_type in values]
    if params.get("Filters") and not names:
        raise ApiError("ResourceNotFoundFault", "No replication task matches the filters")
    return {"ReplicationTasks": [_described(api, replication_task(n)) for n in names]}


@operation("dms", "StartReplicationTask")
def start_replication_task(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    task = _task(api, params["ReplicationTaskArn"])
    kind = params["StartReplicationTaskType"]
    status, *_ = _status(api, task)
    if status in ("starting", "running", "stopping"):
        raise ApiError(
            "InvalidResourceStateFault",
            f"Replication task {task.name} is {status}: stop it first",
        )
    action = START_TYPES[kind]
    ran = bool(api.store.job_runs(task.job_name, 1))
    if action == "start" and ran:
        raise ApiError(
            "InvalidResourceStateFault",
            f"Replication task {task.name} has run before: start it with "
            "resume-processing (from where it stopped) or reload-target (from scratch)",
        )
    if action == "resume" and not ran:
        action = "start"  # nothing to resume: DMS starts it
    args = ["replicate", action, task.name]
    if task.definition.has_cdc and action != "reload":
        args.append("--continuous")
    api.launcher.start(f"task:{task.name}", args)
    return {"ReplicationTask": _described(api, task)}


@operation("dms", "StopReplicationTask")
def stop_replication_task(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    task = _task(api, params["ReplicationTaskArn"])
    status, *_ = _status(api, task)
    if status not in ("starting", "running"):
        raise ApiError(
            "InvalidResourceStateFault", f"Replication task {task.name} is not running ({status})"
        )
    stopped = stop_task(api.store, task)
    launched = api.launcher.get(f"task:{task.name}")
    if launched is not None and launched.running:
        launched.stopping = True
        if not stopped:  # not yet recorded: end the launch itself
            api.launcher.stop(f"task:{task.name}")
    return {"ReplicationTask": _described(api, task)}


def _split(source: str) -> tuple[str, str]:
    schema, _, table = source.rpartition(".")
    return schema, table


@operation("dms", "DescribeTableStatistics")
def describe_table_statistics(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    task = _task(api, params["ReplicationTaskArn"])
    rows = []
    for stats in api.store.table_stats(task.name):
        schema, table = _split(stats.source)
        rows.append(
            {
                "SchemaName": schema,
                "TableName": table,
                "Inserts": stats.inserts,
                "Deletes": stats.deletes,
                "Updates": stats.updates,
                "Ddls": len([d for d in stats.ddls.split(";") if d.strip()]),
                "FullLoadRows": stats.full_load_rows,
                "FullLoadErrorRows": 0,
                "LastUpdateTime": stats.updated_at or None,
                "TableState": stats.state,
                "ValidationState": stats.validation_state,
                "ValidationStateDetails": stats.validation_detail or None,
            }
        )
    return {"ReplicationTaskArn": api.arn("dms", "task", task.name), "TableStatistics": rows}


@operation("dms", "ReloadTables")
def reload_tables(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    task = _task(api, params["ReplicationTaskArn"])
    known = {s.source for s in api.store.table_stats(task.name)}
    wanted = [f"{t['SchemaName']}.{t['TableName']}" for t in params["TablesToReload"]]
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise ApiError(
            "InvalidParameterValueException",
            f"Replication task {task.name} has no table {', '.join(unknown)} "
            f"(it has: {', '.join(sorted(known)) or 'none yet'})",
        )
    if params.get("ReloadOption", "data-reload") == "validate-only":
        args = ["replicate", "validate", task.name]
    else:
        args = ["replicate", "reload", task.name]
        for table in wanted:
            args += ["--table", table]
    api.launcher.start(f"reload:{task.name}", args)
    return {"ReplicationTaskArn": api.arn("dms", "task", task.name)}
