"""Glue's operations (``AWSGlue.*``) over headwater's catalog, crawlers and jobs.

Each maps to what the CLI does: the catalog through :mod:`catalog.hive`, crawlers and
jobs from ``headwater.yaml``, runs from the run-state database. Crawls and job runs
are launched as the CLI's own commands (``headwater crawl NAME``, ``headwater job run
NAME --run-id ID``) and return at once; their state comes from the run store.
"""

from __future__ import annotations

import json
import re
from statistics import median
from typing import Any

from catalog import ddl
from catalog.errors import DatabaseNotFoundError, TableNotFoundError
from catalog.glue import (
    glue_database,
    glue_partition,
    glue_table,
    hadoop_location,
    partition_location,
    table_from_input,
)
from catalog.model import Partition, Table
from engine.api.context import Api, not_found, operation, page
from engine.api.protocol import ApiError
from engine.definitions import S3TargetDefinition, classifier_definitions, load_crawlers
from engine.errors import ConfigError
from engine.ingest import control
from engine.ingest.context import new_run_id
from engine.ingest.definitions import argument_text, load_jobs
from engine.ingest.runner import check_arguments, stop_runs
from engine.state.bookmarks import current_state
from engine.state.history import seconds_between
from engine.state.store import now
from engine.vocabulary import ACTIVE_STATES, RunState

API_RUN = "api"  # the run id recorded with a table version the API wrote


# -- the Data Catalog -------------------------------------------------------------------
def _table(api: Api, database: str, name: str) -> Table:
    try:
        return api.catalog.get_table(database, name)
    except DatabaseNotFoundError:
        raise not_found(f"Database {database}") from None
    except TableNotFoundError:
        raise not_found(f"Table {name} in database {database}") from None


def _check_database(api: Api, name: str) -> None:
    if not api.catalog.has_database(name):
        raise not_found(f"Database {name}")


def _described(api: Api, table: Table) -> dict[str, Any]:
    versions = api.store.table_versions(table.database, table.name)
    latest = versions[-1] if versions else None
    return glue_table(
        table,
        api.account,
        latest.version if latest else None,
        latest.created_at if latest else None,
    )


@operation("glue", "GetDatabases")
def get_databases(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    names = [d.name for d in api.catalog.databases()]
    items, token = page(names, params)
    return {
        "DatabaseList": [glue_database(api.catalog.database(n), api.account) for n in items],
        "NextToken": token,
    }


@operation("glue", "GetDatabase")
def get_database(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    try:
        return {"Database": glue_database(api.catalog.database(name), api.account)}
    except DatabaseNotFoundError:
        raise not_found(f"Database {name}") from None


@operation("glue", "CreateDatabase")
def create_database(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    given = params["DatabaseInput"]
    name = given["Name"]
    if api.catalog.has_database(name):
        raise ApiError("AlreadyExistsException", f"Database {name} already exists.")
    location = given.get("LocationUri")
    api.catalog.create_database(name, hadoop_location(location) if location else None)
    if given.get("Description"):
        api.catalog.describe_database(name, given["Description"])
    return {}


@operation("glue", "UpdateDatabase")
def update_database(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name, given = params["Name"], params["DatabaseInput"]
    current = api.catalog.database(name) if api.catalog.has_database(name) else None
    if current is None:
        raise not_found(f"Database {name}")
    if given["Name"] != name:
        raise ApiError("InvalidInputException", f"Database {name} cannot be renamed")
    location = given.get("LocationUri")
    if location and current.location and hadoop_location(location) != current.location:
        raise ApiError(
            "InvalidInputException",
            f"Database {name}: its LocationUri cannot change (the metastore keeps tables' "
            "folders under it); create a new database instead",
        )
    api.catalog.describe_database(name, given.get("Description") or "")
    return {}


@operation("glue", "DeleteDatabase")
def delete_database(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    _check_database(api, params["Name"])
    api.catalog.drop_database(params["Name"])
    return {}


def _summaries(api: Api, database: str, pattern: str | None) -> list[Table]:
    _check_database(api, database)
    found = api.catalog.table_summaries(database)
    if pattern:
        matcher = name_pattern(pattern)
        found = [t for t in found if matcher.fullmatch(t.name)]
    return found


def name_pattern(expression: str) -> re.Pattern[str]:
    """Glue's (and the Hive metastore's) table-name Expression: alternatives split by
    ``|``, each a regular expression in which ``*`` stands for ``.*``; case-blind."""
    parts = [part.replace("*", ".*").replace("..*", ".*") for part in expression.split("|")]
    try:
        return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)
    except re.error as exc:
        raise ApiError("InvalidInputException", f"Expression {expression!r}: {exc}") from None


@operation("glue", "GetTables")
def get_tables(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    database = params["DatabaseName"]
    items, token = page(_summaries(api, database, params.get("Expression")), params)
    # a Delta table's columns are in its log: read each one's full definition
    tables = [_table(api, database, t.name) if t.format == ddl.DELTA else t for t in items]
    return {"TableList": [_described(api, t) for t in tables], "NextToken": token}


@operation("glue", "GetTable")
def get_table(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return {"Table": _described(api, _table(api, params["DatabaseName"], params["Name"]))}


@operation("glue", "CreateTable")
def create_table(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    database = params["DatabaseName"]
    _check_database(api, database)
    table = table_from_input(database, params["TableInput"])
    if api.catalog.has_table(database, table.name):
        raise ApiError("AlreadyExistsException", f"Table {table.name} already exists.")
    api.catalog.create_table(table)
    api.store.add_table_version(table, API_RUN)
    return {}


@operation("glue", "UpdateTable")
def update_table(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    database = params["DatabaseName"]
    table = table_from_input(database, params["TableInput"])
    current = _table(api, database, table.name)
    if table.format == ddl.VIEW or current.format == ddl.VIEW:
        raise ApiError("InvalidInputException", f"Table {table.name} is a view: drop and create it")
    api.catalog.replace_table(table)
    api.store.add_table_version(table, API_RUN)
    return {}


@operation("glue", "DeleteTable")
def delete_table(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    table = _table(api, params["DatabaseName"], params["Name"])
    api.catalog.drop_table(table.database, table.name, view=table.format == ddl.VIEW)
    return {}


@operation("glue", "GetTableVersions")
def get_table_versions(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    database, name = params["DatabaseName"], params["TableName"]
    _table(api, database, name)
    versions = list(reversed(api.store.table_versions(database, name)))  # newest first
    items, token = page(versions, params)
    return {
        "TableVersions": [
            {
                "Table": glue_table(v.definition, api.account, v.version, v.created_at),
                "VersionId": str(v.version),
            }
            for v in items
        ],
        "NextToken": token,
    }


def _partitions(api: Api, table: Table, expression: str | None) -> list[tuple[str, ...]]:
    values = api.catalog.partitions(table)
    if expression:
        values = api.catalog.filter_partitions(table, values, expression)
    return values


@operation("glue", "GetPartitions")
def get_partitions(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    table = _table(api, params["DatabaseName"], params["TableName"])
    items, token = page(_partitions(api, table, params.get("Expression")), params)
    return {
        "Partitions": [
            glue_partition(table, Partition(v, partition_location(table, v)), api.account)
            for v in items
        ],
        "NextToken": token,
    }


@operation("glue", "BatchGetPartition")
def batch_get_partition(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    table = _table(api, params["DatabaseName"], params["TableName"])
    have = set(api.catalog.partitions(table))
    found, missing = [], []
    for wanted in params["PartitionsToGet"]:
        values = tuple(wanted["Values"])
        if values in have:
            found.append(
                glue_partition(
                    table, Partition(values, partition_location(table, values)), api.account
                )
            )
        else:
            missing.append({"Values": list(values)})
    return {"Partitions": found, "UnprocessedKeys": missing}


@operation("glue", "SearchTables")
def search_tables(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    text = str(params.get("SearchText") or "").lower()
    matched = []
    for database in api.catalog.databases():
        for table in api.catalog.table_summaries(database.name):
            words = [table.name, *(c.name for c in table.columns), *table.parameters.values()]
            if not text or any(text in str(w).lower() for w in words):
                matched.append(table)
    items, token = page(matched, params)
    return {"TableList": [_described(api, t) for t in items], "NextToken": token}


# -- crawlers and classifiers -----------------------------------------------------------
def _crawler_names() -> list[str]:

    return sorted(load_crawlers())


def _crawler_definition(name: str) -> Any:

    found = load_crawlers().get(name)
    if found is None:
        raise not_found(f"Crawler {name}")
    return found


_CRAWL_STATUS: dict[str, str] = {
    RunState.SUCCEEDED: RunState.SUCCEEDED,
    RunState.FAILED: RunState.FAILED,
    RunState.STOPPED: "CANCELLED",
}


def _crawler(api: Api, name: str) -> dict[str, Any]:

    definition = _crawler_definition(name)
    key = f"crawler:{name}"
    launched = api.launcher.get(key)
    state = "READY"
    if launched is not None and launched.running:
        state = "STOPPING" if launched.stopping else RunState.RUNNING
    s3 = [t for t in definition.targets if isinstance(t, S3TargetDefinition)]
    jdbc = [t for t in definition.targets if not isinstance(t, S3TargetDefinition)]
    described: dict[str, Any] = {
        "Name": name,
        "DatabaseName": definition.database,
        "Targets": {
            "S3Targets": [{"Path": t.path, "Exclusions": t.exclusions} for t in s3],
            "JdbcTargets": [
                {"ConnectionName": t.connection, "Path": t.path, "Exclusions": t.exclusions}
                for t in jdbc
            ],
        },
        "Classifiers": definition.classifiers,
        "TablePrefix": definition.table_prefix or None,
        "SchemaChangePolicy": {
            "UpdateBehavior": definition.schema_change_policy.update_behavior.upper(),
            "DeleteBehavior": definition.schema_change_policy.delete_behavior.upper(),
        },
        "RecrawlPolicy": {"RecrawlBehavior": definition.recrawl_policy.upper()},
        "State": state,
    }
    runs = api.store.crawl_runs(name, 1)
    if runs:
        last = runs[0]
        described["LastCrawl"] = {
            "Status": _CRAWL_STATUS.get(last.state, RunState.FAILED),
            "ErrorMessage": last.log[:2000] if last.state != RunState.SUCCEEDED else None,
            "StartTime": last.started_at,
            "MessagePrefix": last.run_id,
        }
        if last.ended_at:
            described["CrawlElapsedTime"] = int(
                1000 * (seconds_between(last.started_at, last.ended_at) or 0)
            )
    if (
        launched is not None
        and not launched.running
        and launched.process.returncode
        and (not runs or runs[0].started_at < launched.started_at)  # died before recording
    ):
        described["LastCrawl"] = {
            "Status": RunState.FAILED,
            "ErrorMessage": api.launcher.tail(key) or "the crawl ended without a record",
            "StartTime": launched.started_at,
        }
    return described


@operation("glue", "GetCrawler")
def get_crawler(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return {"Crawler": _crawler(api, params["Name"])}


@operation("glue", "GetCrawlers")
def get_crawlers(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(_crawler_names(), params)
    return {"Crawlers": [_crawler(api, n) for n in items], "NextToken": token}


@operation("glue", "StartCrawler")
def start_crawler(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    _crawler_definition(name)
    if api.launcher.running(f"crawler:{name}"):
        raise ApiError("CrawlerRunningException", f"Crawler with name {name} has already started")
    api.launcher.start(f"crawler:{name}", ["crawl", name])
    return {}


@operation("glue", "StopCrawler")
def stop_crawler(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    _crawler_definition(name)
    if not api.launcher.stop(f"crawler:{name}"):
        raise ApiError("CrawlerNotRunningException", f"Crawler with name {name} is not running")
    return {}


@operation("glue", "GetCrawlerMetrics")
def get_crawler_metrics(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    names = params.get("CrawlerNameList") or _crawler_names()
    metrics = []
    for name in names:
        _crawler_definition(name)
        runs = api.store.crawl_runs(name, 20)
        finished = [r for r in runs if r.ended_at and r.state == RunState.SUCCEEDED]
        seconds = [seconds_between(r.started_at, r.ended_at) or 0.0 for r in finished]
        last = finished[0] if finished else None
        metrics.append(
            {
                "CrawlerName": name,
                "TimeLeftSeconds": 0.0,
                "StillEstimating": api.launcher.running(f"crawler:{name}"),
                "LastRuntimeSeconds": seconds[0] if seconds else 0.0,
                "MedianRuntimeSeconds": median(seconds) if seconds else 0.0,
                "TablesCreated": last.tables_created if last else 0,
                "TablesUpdated": last.tables_updated if last else 0,
                "TablesDeleted": last.tables_deleted if last else 0,
            }
        )
    return {"CrawlerMetricsList": metrics}


_CRAWL_STATE: dict[str, str] = {
    RunState.SUCCEEDED: "COMPLETED",
    RunState.FAILED: RunState.FAILED,
    RunState.STOPPED: RunState.STOPPED,
    RunState.RUNNING: RunState.RUNNING,
}


@operation("glue", "ListCrawls")
def list_crawls(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = params["CrawlerName"]
    _crawler_definition(name)
    runs = api.store.crawl_runs(name, int(params.get("MaxResults") or 20))
    return {
        "Crawls": [
            {
                "CrawlId": r.run_id,
                "State": _CRAWL_STATE.get(r.state, RunState.FAILED),
                "StartTime": r.started_at,
                "EndTime": r.ended_at,
                "Summary": json.dumps(
                    {
                        "TABLE": {
                            "ADD": r.tables_created,
                            "UPDATE": r.tables_updated,
                            "DELETE": r.tables_deleted,
                        },
                        "PARTITION": {"ADD": r.partitions_added},
                    }
                ),
                "ErrorMessage": r.log[:2000] if r.state == RunState.FAILED else None,
            }
            for r in runs
        ]
    }


def _classifier(name: str, definition: Any) -> dict[str, Any]:
    if definition.grok is not None:
        grok = definition.grok
        return {
            "GrokClassifier": {
                "Name": name,
                "Classification": grok.classification,
                "GrokPattern": grok.pattern,
                "CustomPatterns": grok.custom_patterns or None,
            }
        }
    if definition.xml is not None:
        return {
            "XMLClassifier": {
                "Name": name,
                "Classification": "xml",
                "RowTag": definition.xml.row_tag,
            }
        }
    if definition.json_ is not None:
        return {"JsonClassifier": {"Name": name, "JsonPath": definition.json_.json_path}}
    csv = definition.csv
    return {
        "CsvClassifier": {
            "Name": name,
            "Delimiter": csv.delimiter,
            "QuoteSymbol": csv.quote,
            "ContainsHeader": {"present": "PRESENT", "absent": "ABSENT"}.get(csv.header, "UNKNOWN"),
            "Header": list(csv.header_names) or None,
            "AllowSingleColumn": csv.allow_single_column,
        }
    }


def _classifiers() -> dict[str, Any]:

    return classifier_definitions()


@operation("glue", "GetClassifier")
def get_classifier(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = _classifiers().get(params["Name"])
    if found is None:
        raise not_found(f"Classifier {params['Name']}")
    return {"Classifier": _classifier(params["Name"], found)}


@operation("glue", "GetClassifiers")
def get_classifiers(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = _classifiers()
    items, token = page(sorted(found), params)
    return {"Classifiers": [_classifier(n, found[n]) for n in items], "NextToken": token}


# -- jobs -------------------------------------------------------------------------------
def _job_definition(name: str) -> Any:

    found = load_jobs().get(name)
    if found is None:
        raise not_found(f"Job {name}")
    return found


def _job(name: str, definition: Any) -> dict[str, Any]:

    return {
        "Name": name,
        "Command": {
            "Name": "pythonshell" if definition.type == "python" else "glueetl",
            "ScriptLocation": definition.entry_point,
            "PythonVersion": "3",
        },
        "DefaultArguments": {
            f"--{k.removeprefix('--')}": argument_text(v) for k, v in definition.arguments.items()
        },
        "ExecutionProperty": {"MaxConcurrentRuns": definition.max_concurrent_runs},
        "MaxRetries": definition.max_retries,
        "Timeout": max(1, round(definition.timeout_minutes)),
        "GlueVersion": "headwater",
    }


@operation("glue", "GetJob")
def get_job(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return {"Job": _job(params["JobName"], _job_definition(params["JobName"]))}


@operation("glue", "GetJobs")
def get_jobs(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    jobs = load_jobs()
    items, token = page(sorted(jobs), params)
    return {"Jobs": [_job(n, jobs[n]) for n in items], "NextToken": token}


def _overrides(arguments: dict[str, str] | None) -> dict[str, str]:
    overrides = {}
    for key, value in (arguments or {}).items():
        if not key.startswith("--") or len(key) < 3:
            raise ApiError(
                "InvalidInputException", f"Arguments: {key!r} must be written --name, as in Glue"
            )
        overrides[key[2:]] = str(value)
    return overrides


@operation("glue", "StartJobRun")
def start_job_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    name = params["JobName"]
    definition = _job_definition(name)
    overrides = _overrides(params.get("Arguments"))
    check_arguments(name, definition, overrides)
    active = [r for r in api.store.job_runs(name, 100) if r.state in ACTIVE_STATES]
    starting = [
        k for k, v in api.launcher.launched.items() if k.startswith(f"job:{name}:") and v.running
    ]
    known = {r.run_id for r in active}
    pending = [k for k in starting if k.split(":", 2)[2] not in known]
    if len(active) + len(pending) >= definition.max_concurrent_runs:
        raise ApiError(
            "ConcurrentRunsExceededException",
            f"Job {name}: {len(active) + len(pending)} run(s) going, its MaxConcurrentRuns is "
            f"{definition.max_concurrent_runs}",
        )
    run_id = new_run_id()
    args = ["job", "run", name, "--run-id", run_id]
    for key, value in overrides.items():
        args += ["--arg", f"{key}={value}"]
    api.launcher.start(f"job:{name}:{run_id}", args)
    return {"JobRunId": run_id}


_JOB_STATE = {state: str(state) for state in RunState}


def _job_run(api: Api, record: Any) -> dict[str, Any]:

    return {
        "Id": record.run_id,
        "Attempt": record.attempt,
        "PreviousRunId": record.previous_run_id,
        "JobName": record.job,
        "StartedOn": record.started_at,
        "LastModifiedOn": record.ended_at or record.started_at,
        "CompletedOn": record.ended_at,
        "JobRunState": _JOB_STATE.get(record.state, RunState.FAILED),
        "Arguments": {f"--{k}": v for k, v in record.arguments.items()},
        "ErrorMessage": ((f"[{record.failed_step}] " if record.failed_step else "") + record.error)
        or None,
        "ExecutionTime": int(seconds_between(record.started_at, record.ended_at) or 0),
        "LogGroupName": record.log_path or None,
    }


def _launched_run(api: Api, name: str, run_id: str) -> dict[str, Any] | None:
    """A run the API launched that has not reached the run store (yet, or ever)."""
    key = f"job:{name}:{run_id}"
    launched = api.launcher.get(key)
    if launched is None:
        return None
    record = api.store.job_run(run_id)
    if record is not None and record.state in ACTIVE_STATES and not launched.running:
        # its process is gone without settling the run: stopped by BatchStopJobRun
        # before its runner took its signals, or killed
        record.state = RunState.STOPPED if launched.stopping else RunState.FAILED
        record.error = record.error or (
            "stopped on request" if launched.stopping else api.launcher.tail(key)
        )
        record.ended_at = record.ended_at or now()
        api.store.save_job_run(record)
    if record is not None:
        return _job_run(api, record)
    if launched.running:
        return {
            "Id": run_id,
            "JobName": name,
            "StartedOn": launched.started_at,
            "JobRunState": RunState.STARTING,
        }
    if launched.stopping:
        return {
            "Id": run_id,
            "JobName": name,
            "StartedOn": launched.started_at,
            "JobRunState": RunState.STOPPED,
            "ErrorMessage": "stopped on request before it started",
        }
    return {
        "Id": run_id,
        "JobName": name,
        "StartedOn": launched.started_at,
        "JobRunState": RunState.FAILED,
        "ErrorMessage": api.launcher.tail(key) or "the run ended before it was recorded",
    }


@operation("glue", "GetJobRun")
def get_job_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name, run_id = params["JobName"], params["RunId"]
    _job_definition(name)
    found = _launched_run(api, name, run_id)
    if found is None:
        record = api.store.job_run(run_id)
        if record is None or record.job != name:
            raise not_found(f"Job run {run_id} of job {name}")
        found = _job_run(api, record)
    return {"JobRun": found}


@operation("glue", "GetJobRuns")
def get_job_runs(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = params["JobName"]
    _job_definition(name)
    runs = [_job_run(api, r) for r in api.store.job_runs(name, 200)]
    known = {r["Id"] for r in runs}
    for key in list(api.launcher.launched):
        if key.startswith(f"job:{name}:") and key.split(":", 2)[2] not in known:
            found = _launched_run(api, name, key.split(":", 2)[2])
            if found is not None:
                runs.insert(0, found)
    items, token = page(runs, params)
    return {"JobRuns": items, "NextToken": token}


@operation("glue", "BatchStopJobRun")
def batch_stop_job_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    name = params["JobName"]
    _job_definition(name)
    wanted = list(params["JobRunIds"])
    stopped = set(stop_runs(api.store, name, only=set(wanted)))
    for run_id in wanted:  # launched, not yet recorded: end the launch itself
        if run_id not in stopped and api.launcher.stop(f"job:{name}:{run_id}"):
            stopped.add(run_id)
    return {
        "SuccessfulSubmissions": [{"JobName": name, "JobRunId": r} for r in wanted if r in stopped],
        "Errors": [
            {
                "JobName": name,
                "JobRunId": r,
                "ErrorDetail": {
                    "ErrorCode": "InvalidInputException",
                    "ErrorMessage": f"Job run {r} of job {name} is not running",
                },
            }
            for r in wanted
            if r not in stopped
        ],
    }


def _bookmark_entry(api: Api, name: str) -> dict[str, Any]:

    state: dict[str, Any] = {}
    last = None
    for context in control.contexts(api.store, name):
        entries = api.store.bookmark_entries(name, context)
        current = current_state(entries)
        state[context] = {
            "files": len(current.files),
            "high_water": list(current.high_water.values) if current.high_water else None,
        }
        if entries:
            last = entries[-1] if last is None or entries[-1].seq > last.seq else last
    return {
        "JobName": name,
        "Version": last.seq if last else 0,
        "Run": last.seq if last else 0,
        "RunId": last.run_id if last else None,
        "JobBookmark": json.dumps(state),
    }


@operation("glue", "GetJobBookmark")
def get_job_bookmark(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    _job_definition(params["JobName"])
    return {"JobBookmarkEntry": _bookmark_entry(api, params["JobName"])}


@operation("glue", "ResetJobBookmark")
def reset_job_bookmark(api: Api, params: dict[str, Any]) -> dict[str, Any]:

    name = params["JobName"]
    _job_definition(name)
    try:
        if params.get("RunId"):
            control.rewind(api.store, name, params["RunId"])
        else:
            control.reset(api.store, name)
    except ConfigError as exc:
        raise ApiError("EntityNotFoundException", exc.message) from None
    return {"JobBookmarkEntry": _bookmark_entry(api, name)}
