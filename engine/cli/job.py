"""``headwater job``: run jobs, see their runs, stop them, manage their bookmarks."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from catalog.output import render, say
from engine.cli.context import STATE, key_values, open_state
from engine.errors import ConfigError, JobError
from engine.vocabulary import RunState

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Run ingestion jobs and manage their bookmarks.", no_args_is_help=True)
bookmark_app = typer.Typer(help="Show, reset or rewind a job's bookmarks.", no_args_is_help=True)
app.add_typer(bookmark_app, name="bookmark")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="A job defined under 'jobs:' in headwater.yaml."),
    arg: list[str] = typer.Option([], "--arg", help="Override an argument: KEY=VALUE."),
    source: str = typer.Option(None, "--source", help="Ad hoc ingest: source table or path."),
    target: str = typer.Option(None, "--target", help="Ad hoc ingest: target database.table."),
    master: str = typer.Option(None, "--master", help="e.g. spark://127.0.0.1:7077."),
    run_id: str = typer.Option(
        None, "--run-id", hidden=True, help="The run's id (headwater serve)."
    ),
) -> None:
    """Run a job through spark-submit (or Python, for python jobs) and wait for it.

    Examples:
      headwater job run sales
      headwater job run sales --arg job-bookmark-option=job-bookmark-disable
      headwater job run demo_sales --source landing.sales --target raw.sales
    """
    from engine.ingest.definitions import JobDefinition, load_jobs
    from engine.ingest.runner import run_job

    settings = STATE.settings
    overrides = key_values(arg, "--arg", "write_mode=merge")
    jobs = load_jobs()
    if name in jobs:
        definition = jobs[name]
    elif source and target:
        definition = JobDefinition()
    else:
        raise ConfigError(
            f"no job named {name!r} in headwater.yaml "
            f"(defined: {', '.join(sorted(jobs)) or 'none'})",
            hint="define it under 'jobs:', or give --source and --target for an ad hoc ingest",
        )
    if source:
        overrides["source"] = source
    if target:
        overrides["target"] = target
    record = run_job(
        settings, open_state(), name, definition, overrides, master=master, run_id=run_id
    )
    say(
        f"run {record.run_id} (attempt {record.attempt}): {record.state} · read "
        f"{record.rows_read} · written {record.rows_written} · quarantined "
        f"{record.rows_quarantined} · log {record.log_path}"
    )
    if record.state != RunState.SUCCEEDED:
        raise JobError(
            f"job {name} ended {record.state}"
            + (f" in step '{record.failed_step}'" if record.failed_step else "")
            + (f": {record.error}" if record.error else ""),
            hint=f"its log: {record.log_path}",
        )


@app.command("runs")
def runs(
    name: str = typer.Argument(None, help="Only this job's runs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List job runs, newest first, with state, metrics, the quality check's outcome
    (details: headwater quality results --run RUN) and error.

    Example: headwater job runs sales
    """
    store = open_state()
    records = store.job_runs(name, limit)
    checks: dict[str, str] = {}
    for check in store.quality_checks([r.run_id for r in records], limit=10 * limit):
        found = checks.get(check.run_id)
        checks[check.run_id] = f"{found}; {check.summary}" if found else check.summary
    if as_json:
        render([{**asdict(r), "quality": checks.get(r.run_id)} for r in records], as_json=True)
        return
    render(
        [
            {
                "run": r.run_id,
                "job": r.job,
                "attempt": r.attempt,
                "state": r.state,
                "started": r.started_at,
                "ended": r.ended_at or "",
                "read": r.rows_read,
                "written": r.rows_written,
                "quarantined": r.rows_quarantined,
                "bytes": r.bytes_read,
                "delta v": "" if r.delta_version is None else r.delta_version,
                "quality": checks.get(r.run_id, ""),
                "error": (f"[{r.failed_step}] " if r.failed_step else "") + r.error[:120],
            }
            for r in records
        ],
        title="job runs",
    )


@app.command("stop")
def stop(name: str = typer.Argument(..., help="The job whose running runs to stop.")) -> None:
    """Stop a job's running runs (state STOPPED).

    Example: headwater job stop sales
    """
    from engine.ingest.runner import stop_runs

    stopped = stop_runs(open_state(), name)
    say(f"stopped {', '.join(stopped)}" if stopped else f"job {name} has no running run")


@bookmark_app.command("show")
def bookmark_show(
    name: str = typer.Argument(..., help="The job."),
    context: str = typer.Option(None, "--context", help="One bookmark (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show what a job has processed: files and high-water marks, entry by entry.

    Example: headwater job bookmark show sales
    """
    from engine.ingest import control
    from engine.state.bookmarks import current_state

    store = open_state()
    rows = []
    for ctx in control.contexts(store, name, context):
        entries = store.bookmark_entries(name, ctx)
        state = current_state(entries)
        for entry in entries:
            rows.append(
                {
                    "context": ctx,
                    "seq": entry.seq,
                    "kind": entry.kind,
                    "status": entry.status,
                    "run": entry.run_id,
                    "created": entry.created_at,
                    "files": len(entry.files),
                    "high water": list(entry.high_water.values) if entry.high_water else "",
                    "rewinds to": "" if entry.base_seq is None else entry.base_seq,
                }
            )
        say(
            f"{name}/{ctx}: {len(state.files)} file(s) processed"
            + (f", high-water mark {list(state.high_water.values)}" if state.high_water else "")
        )
    render(rows, title=f"bookmark entries of {name}", as_json=as_json)


@bookmark_app.command("reset")
def bookmark_reset(
    name: str = typer.Argument(..., help="The job."),
    context: str = typer.Option(None, "--context", help="One bookmark (default: all)."),
) -> None:
    """Forget what a job processed: its next run reads everything again.

    Example: headwater job bookmark reset sales
    """
    _control(name, context, None)


@bookmark_app.command("rewind")
def bookmark_rewind(
    name: str = typer.Argument(..., help="The job."),
    to_run: str = typer.Option(..., "--to-run", help="Return to the state after this run."),
    context: str = typer.Option(None, "--context", help="One bookmark (default: all)."),
) -> None:
    """Return a bookmark to its state after an earlier run; the next run reprocesses
    what came after it.

    Example: headwater job bookmark rewind sales --to-run jr_0123456789abcdef
    """
    _control(name, context, to_run)


def _control(name: str, context: str | None, to_run: str | None) -> None:
    from engine.ingest import control

    if to_run is None:
        for ctx in control.reset(open_state(), name, context):
            say(f"{name}/{ctx}: reset; the next run reads everything")
    else:
        for ctx in control.rewind(open_state(), name, to_run, context):
            say(f"{name}/{ctx}: rewound to the state after run {to_run}")
