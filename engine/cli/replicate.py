"""``headwater replicate``: run replication tasks (DMS), stop them, see their state."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer

from catalog.output import render, say
from engine.cli.context import STATE
from engine.errors import HeadwaterError, JobError
from engine.vocabulary import BatchStatus, RunState, TableLoadState

app = typer.Typer(
    help="Replicate database tables into the lake: full load, CDC, validation.",
    no_args_is_help=True,
)
TASK = typer.Argument(..., help="A task defined under 'replication_tasks:' in headwater.yaml.")
CONTINUOUS = typer.Option(False, "--continuous", help="Run CDC batches back to back until stopped.")
MASTER = typer.Option(None, "--master", help="e.g. spark://127.0.0.1:7077.")


def _run(name: str, action: str, continuous: bool = False, master: str | None = None) -> None:
    from engine.ingest.runner import run_job
    from engine.replicate.definitions import replication_run
    from engine.state.store import open_run_store

    settings = STATE.settings
    store = open_run_store(settings)
    task, definition = replication_run(name, action, continuous)
    if continuous:
        record = _supervise(name, action, master)
    else:
        record = run_job(settings, store, task.job_name, definition, {}, master=master)
    say(
        f"run {record.run_id}: {record.state} · changes read {record.rows_read} · full-load "
        f"rows {record.rows_written} · log {record.log_path}"
    )
    if record.state != RunState.SUCCEEDED and not (continuous and record.state == RunState.STOPPED):
        raise JobError(
            f"replication task {name} ({action}) ended {record.state}"
            + (f" in step '{record.failed_step}'" if record.failed_step else "")
            + (f": {record.error}" if record.error else ""),
            hint=f"its log: {record.log_path}; headwater replicate status {name}",
        )


def _supervise(name: str, action: str, master: str | None) -> Any:
    """Run a continuous task and keep it going: when its driver dies (killed, its JVM
    lost, an error it could not wait out) it is started again (``resume``) after a
    back-off, unless it stopped on request or on a fatal error (docs/replication.md).
    The run-state database may itself be down for a while: that is waited out too."""
    import time

    from engine.ingest.runner import run_job
    from engine.replicate.definitions import replication_run
    from engine.replicate.supervise import FAILED, STOPPED, Health, backoff
    from engine.state.store import open_run_store

    settings = STATE.settings
    store = open_run_store(settings)
    task, definition = replication_run(name, action, True)
    Health(store, task).running()  # supervised from now on (a stop ends that)
    limit = task.definition.recoverable_error_count
    record, restarts = None, 0
    while True:
        try:
            record = run_job(settings, store, task.job_name, definition, {}, master=master)
            if record.state in (RunState.SUCCEEDED, RunState.STOPPED):
                return record
            ended = f"run {record.run_id} ended {record.state} ({record.error})"
        except HeadwaterError as exc:
            if not exc.transient:
                raise
            ended = f"the run could not be started or followed ({exc.message})"
        restarts += 1
        try:
            health = Health(store, task)
            if health.record.state in (FAILED, STOPPED) or 0 <= limit < restarts:
                break
            health.restarted(ended)
        except HeadwaterError as exc:
            if not exc.transient:
                raise
        pause = backoff(
            restarts,
            task.definition.recoverable_error_interval_seconds,
            task.definition.recoverable_error_throttling_max_seconds,
        )
        say(f"task {name}: {ended}; starting it again in {pause:.0f} s (restart {restarts})")
        time.sleep(pause)
        task, definition = replication_run(name, "resume", True)
    if record is None:
        raise JobError(f"replication task {name}: no run could be started ({ended})")
    return record


@app.command("start")
def start(name: str = TASK, continuous: bool = CONTINUOUS, master: str = MASTER) -> None:
    """First run of a task: create the slot, full load (in the slot's snapshot),
    validate, then one CDC batch (or keep going with --continuous).

    Example: headwater replicate start shop
    """
    _run(name, "start", continuous, master)


@app.command("resume")
def resume(name: str = TASK, continuous: bool = CONTINUOUS, master: str = MASTER) -> None:
    """Continue from the last committed position: one CDC batch (a scheduled run),
    or batches every continuous_interval_seconds with --continuous.

    Examples:
      headwater replicate resume shop
      headwater replicate resume shop --continuous
    """
    _run(name, "resume", continuous, master)


@app.command("reload")
def reload(
    name: str = TASK,
    tables: list[str] = typer.Option(
        None,
        "--table",
        help="Reload only this source table (schema.table; repeatable): the others keep streaming.",
    ),
    master: str = MASTER,
) -> None:
    """Start over: drop the slot and the task's state, load every table again; or,
    with --table, load only those tables again (DMS's ReloadTables).

    Examples:
      headwater replicate reload shop
      headwater replicate reload shop --table public.orders
    """
    if not tables:
        _run(name, "reload", False, master)
        return
    from engine.replicate.definitions import replication_task
    from engine.state.store import now, open_run_store
    from engine.vocabulary import ACTIVE_STATES

    task = replication_task(name)
    store = open_run_store(STATE.settings)
    stats = {s.source: s for s in store.table_stats(name)}
    unknown = [t for t in tables if t not in stats]
    if unknown:
        raise JobError(
            f"replication task {name} has no table {', '.join(unknown)} "
            f"(it has: {', '.join(sorted(stats)) or 'none yet'})",
            hint="name a source table as schema.table, as status shows it",
        )
    if not task.definition.has_full_load:
        loaded = [t for t in tables if stats[t].state != TableLoadState.SUSPENDED]
        if loaded:
            raise JobError(
                f"replication task {name} is {task.definition.migration_type}: it has no "
                f"full load to run again for {', '.join(loaded)}",
                hint="use migration_type full-load-and-cdc to reload tables (a cdc task's "
                "reload --table only resumes a suspended table)",
            )
        for table in tables:  # resumed: the changes made while suspended are not landed
            entry = stats[table]
            entry.state, entry.error, entry.updated_at = TableLoadState.BEFORE_LOAD, "", now()
            store.save_table_stats(entry)
        say(
            f"task {name}: {', '.join(tables)} resumed: changes from the next batch on "
            "(those made while suspended are not in the lake)"
        )
        return
    for table in tables:
        entry = stats[table]
        entry.state, entry.error, entry.updated_at = TableLoadState.BEFORE_LOAD, "", now()
        store.save_table_stats(entry)
    running = [r for r in store.job_runs(task.job_name, 5) if r.state in ACTIVE_STATES]
    if running:
        say(
            f"task {name}: {', '.join(tables)} queued for reload: run {running[0].run_id} "
            "loads it again before its next batch; the other tables keep streaming"
        )
        return
    say(f"task {name}: {', '.join(tables)} queued for reload; loading now")
    _run(name, "resume", False, master)


@app.command("validate")
def validate(name: str = TASK, master: str = MASTER) -> None:
    """Catch up to a fresh snapshot of the source, then compare row counts and
    checksums per key range for every table (exit 1 on a difference).

    Example: headwater replicate validate shop
    """
    _run(name, "validate", False, master)


@app.command("stop")
def stop(name: str = TASK) -> None:
    """Stop the task's running run (a continuous one ends after its batch).

    Example: headwater replicate stop shop
    """
    from engine.replicate.definitions import replication_task
    from engine.replicate.supervise import stop_task
    from engine.state.store import open_run_store

    stopped = stop_task(open_run_store(STATE.settings), replication_task(name))
    say(f"stopped: {', '.join(stopped)}" if stopped else f"task {name}: no run is going")


@app.command("status")
def status(
    name: str = TASK, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Per table: state, full-load rows, inserts/updates/deletes, last position and
    commit, validation; for the task: batches, slot position and lag.

    Example: headwater replicate status shop --json
    """
    from engine.replicate.definitions import replication_task
    from engine.replicate.task import open_source
    from engine.state.store import open_run_store

    task = replication_task(name)
    store = open_run_store(STATE.settings)
    tables = store.table_stats(name)
    batches = store.batches(name)
    runs = store.job_runs(task.job_name, 1)
    health = store.task_health(name)
    summary: dict[str, Any] = {
        "task": name,
        "migration_type": task.definition.migration_type,
        "last_run": runs[0].state if runs else "never run",
        "batches": batches[-1].seq if batches else 0,
        "last_batch_position": batches[-1].end_position if batches else "",
        "pending_batch": bool(batches and batches[-1].status != BatchStatus.COMMITTED),
        "suspended_tables": [t.source for t in tables if t.state == TableLoadState.SUSPENDED],
    }
    if health is not None:
        summary.update(
            health=health.state,
            retries=health.retries,
            restarts=health.restarts,
            failing_since=health.failing_since,
            last_error=health.last_error,
            last_error_at=health.last_error_at,
            heartbeat_at=health.heartbeat_at,
        )
    if task.definition.has_cdc and batches:
        source = open_source(task)
        text = source.format_position
        try:
            if source.dialect == "postgresql":
                position = source.slot_position(task.slot)
                summary["slot_position"] = "" if position is None else text(position)
                summary["source_position"] = text(source.current_lsn())
                summary["lag_bytes"] = source.lag_bytes(task.slot)
                summary["retained_wal_bytes"] = source.retained_wal_bytes(task.slot)
            else:  # no slot: the binlog is read on from the last batch's end
                summary["source_position"] = text(source.current_lsn())
                last = batches[-1].end_position
                summary["lag_bytes"] = source.lag_bytes(source.parse_position(last))
        except HeadwaterError as exc:
            summary["source_position"] = f"unknown ({exc.message})"
        finally:
            source.close()
    if as_json:
        render([{**summary, "tables": [asdict(t) for t in tables]}], as_json=True)
        return
    say(" · ".join(f"{k} {v}" for k, v in summary.items()))
    render(
        [
            {
                "table": t.source,
                "target": t.target,
                "state": t.state,
                "full load": t.full_load_rows,
                "inserts": t.inserts,
                "updates": t.updates,
                "deletes": t.deletes,
                "truncates": t.truncates,
                "skipped": t.skipped,
                "last position": t.last_position,
                "last commit": t.last_commit_at,
                "latency s": _latency(t.last_commit_at, t.updated_at),
                "validation": t.validation_state,
                "notes": " ".join(
                    n
                    for n in (
                        t.error,
                        t.validation_detail if t.validation_state != "Validated" else "",
                        t.ddls,
                    )
                    if n
                ),
            }
            for t in tables
        ],
        title=f"replication task {name}",
    )


def _latency(committed: str, applied: str) -> str:
    """Seconds from a table's last change committing on the source to its landing
    (DMS's CDC latency, per table), or empty before its first change."""
    from datetime import datetime

    if not committed or not applied:
        return ""
    try:
        seconds = (
            datetime.fromisoformat(applied) - datetime.fromisoformat(committed)
        ).total_seconds()
    except ValueError:
        return ""
    return f"{max(0.0, seconds):.1f}"
