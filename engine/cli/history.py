"""Schema history and run records: ``catalog versions``, ``catalog diff``, ``runs``."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from typing import Any

import typer

from catalog.cli import split_name
from catalog.model import Table
from catalog.output import render, say
from catalog.versions import diff_tables
from engine.cli.context import STATE
from engine.errors import ConfigError, HeadwaterError


def known_tables() -> list[str]:
    """Table names for shell completion, from the run-state database (no JVM, no
    Thrift Server): what crawls and jobs registered."""
    from engine.cli.context import open_state

    try:
        return open_state().known_tables()
    except HeadwaterError:
        return []


def recorded_tables(database: str) -> dict[str, Table]:
    """The latest definitions crawls and jobs recorded for ``database``'s tables (the
    Delta tables' schemas without reading their logs); none when the run-state
    database cannot be read."""
    from engine.cli.context import open_state

    try:
        return open_state().latest_definitions(database)
    except HeadwaterError:
        return {}


def delta_rows(table: Table) -> int | None:
    """A Delta table's rows from its log (``catalog tables --counts``), None otherwise."""
    if table.format != "delta" or not table.location:
        return None
    from engine.handoff import delta_row_count

    return delta_row_count(STATE.settings, table)


def complete_table(incomplete: str) -> list[str]:
    return [name for name in known_tables() if name.startswith(incomplete)]


def table_facts(table: Table) -> dict[str, Any]:
    """What headwater knows of a table beyond the metastore (for ``catalog describe``):
    size and rows, the crawl and job runs that touched it, its schema versions."""
    from engine.cli.context import open_state

    facts: dict[str, Any] = {}
    if table.format == "delta":
        from engine.handoff import delta_facts  # deferred: a Delta table's log

        facts.update(delta_facts(STATE.settings, table))
    else:
        known = {
            "recordCount": "rows (crawler estimate)",
            "sizeKey": "size bytes",
            "objectCount": "files",
        }
        facts.update(
            {label: table.parameters[k] for k, label in known.items() if k in table.parameters}
        )
    store = open_state()
    name = table.qualified_name
    crawls = [r for r in store.crawl_runs(None, 500) if f" {name}:" in f" {r.log}"]
    if crawls:
        last = crawls[0]
        facts["last crawl"] = f"{last.run_id} by {last.crawler}, {last.state}, {last.ended_at}"
    jobs = [r for r in store.job_runs(None, 500) if r.target == name]
    if jobs:
        last_job = jobs[0]
        facts["last job run"] = (
            f"{last_job.run_id} of {last_job.job}, {last_job.state}, {last_job.ended_at or ''}"
        )
    facts["schema versions"] = [
        {
            "version": v.version,
            "created": v.created_at,
            "crawl run": v.run_id,
            "columns": len(v.definition.columns),
        }
        for v in store.table_versions(table.database, table.name)
    ]
    return facts


def versions(
    name: str = typer.Argument(..., help="database.table", autocompletion=complete_table),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List a table's schema versions (one per crawl that changed its definition).

    Example: headwater catalog versions landing.sales
    """
    from engine.state.store import open_run_store

    database, table = split_name(name)
    store = open_run_store(STATE.settings)
    rows = [
        {
            "version": v.version,
            "created": v.created_at,
            "crawl run": v.run_id,
            "columns": ", ".join(f"{c.name}:{c.type}" for c in v.definition.columns),
        }
        for v in store.table_versions(database, table)
    ]
    render(rows, title=f"versions of {name}", as_json=as_json)


def diff(
    name: str = typer.Argument(..., help="database.table", autocompletion=complete_table),
    old: int = typer.Argument(..., help="The older version number."),
    new: int = typer.Argument(..., help="The newer version number."),
) -> None:
    """Show what changed in a table's definition between two versions.

    Example: headwater catalog diff landing.sales 1 2
    """
    from engine.state.store import open_run_store

    database, table = split_name(name)
    found = {v.version: v for v in open_run_store(STATE.settings).table_versions(database, table)}
    for number in (old, new):
        if number not in found:
            raise ConfigError(
                f"{name} has no version {number} (versions: {sorted(found) or 'none'})",
                hint=f"list them with `headwater catalog versions {name}`",
            )
    lines = diff_tables(found[old].definition, found[new].definition)
    say("\n".join(lines) if lines else f"versions {old} and {new} of {name} are the same")


def runs(
    kind: str = typer.Option(
        None, "--kind", help="crawl | job | replication | workflow | trigger (default: all)."
    ),
    name: str = typer.Option(None, "--name", help="Only runs of this crawler, job, task …"),
    crawler: str = typer.Option(None, "--crawler", help="Only this crawler's runs."),
    state: str = typer.Option(None, "--state", help="Only runs in this state, e.g. FAILED."),
    since: str = typer.Option(None, "--since", help="Only runs started since: 30m, 2h, 1d, ISO."),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recent runs of everything (crawls, jobs, tasks, workflows), newest first.

    Each with its state, duration and error.

    Exit codes (like grep): 0 at least one run listed, 1 none matched, 3 the
    run-state database is unreachable.

    Examples:
      headwater runs
      headwater runs --kind workflow --name daily
      headwater runs --state FAILED --since 1d --json
    """
    from engine.state.history import recent_runs, since_time
    from engine.state.store import open_run_store

    if crawler:
        kind, name = "crawl", crawler
    found = recent_runs(
        open_run_store(STATE.settings),
        kind,
        name,
        state,
        since_time(since) if since else None,
        limit,
    )
    if as_json:
        render([r.as_json() for r in found], as_json=True)
    else:
        render(
            [
                {
                    "kind": r.kind,
                    "name": r.name,
                    "run": r.run_id,
                    "state": r.state,
                    "started": r.started_at,
                    "seconds": "" if r.seconds is None else f"{r.seconds:g}",
                    "error": r.error[:160],
                }
                for r in found
            ],
            title="runs",
            columns=["kind", "name", "run", "state", "started", "seconds", "error"],
        )
    if not found:
        raise typer.Exit(1)
