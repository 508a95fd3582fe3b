"""Schema history and run records: ``catalog versions``, ``catalog diff``, ``runs``."""

from __future__ import annotations

import typer

from catalog.output import render, say
from catalog.versions import diff_tables
from engine.cli.context import STATE
from engine.errors import ConfigError


def _split(name: str) -> tuple[str, str]:
    database, _, table = name.partition(".")
    if not database or not table:
        raise ConfigError(f"{name!r} is not database.table", hint="e.g. landing.sales")
    return database, table


def versions(
    name: str = typer.Argument(..., help="database.table"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List a table's schema versions (one per crawl that changed its definition).

    Example: headwater catalog versions landing.sales
    """
    from engine.state.store import open_run_store

    database, table = _split(name)
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
    name: str = typer.Argument(..., help="database.table"),
    old: int = typer.Argument(..., help="The older version number."),
    new: int = typer.Argument(..., help="The newer version number."),
) -> None:
    """Show what changed in a table's definition between two versions.

    Example: headwater catalog diff landing.sales 1 2
    """
    from engine.state.store import open_run_store

    database, table = _split(name)
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
    crawler: str = typer.Option(None, "--crawler", help="Only this crawler's runs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recent crawl runs with their state and metrics.

    Example: headwater runs --crawler landing
    """
    from dataclasses import asdict

    from engine.state.store import open_run_store

    records = open_run_store(STATE.settings).crawl_runs(crawler, limit)
    if as_json:
        render([asdict(r) for r in records], as_json=True)
        return
    render(
        [
            {
                "run": r.run_id,
                "crawler": r.crawler,
                "state": r.state,
                "started": r.started_at,
                "created": r.tables_created,
                "updated": r.tables_updated,
                "partitions": r.partitions_added,
                "sampled": r.files_sampled,
                "bytes read": r.bytes_read,
                "errors": len(r.errors),
            }
            for r in records
        ],
        title="crawl runs",
    )
