"""``headwater table``: Delta table maintenance (compaction, retention) and the
snapshot pins retention honours."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer

from catalog.output import render, say
from engine.cli.context import STATE
from engine.cli.history import complete_table
from engine.errors import JobError
from engine.vocabulary import RunState

app = typer.Typer(
    help="Maintain Delta tables: compact small files, vacuum old ones, list snapshot pins.",
    no_args_is_help=True,
)
TABLE = typer.Argument(..., help="database.table (a Delta table).", autocompletion=complete_table)
MASTER = typer.Option(None, "--master", help="e.g. spark://127.0.0.1:7077.")


def _run(table: str, operation: str, master: str | None, **arguments: Any) -> None:
    from engine.ingest.runner import run_job
    from engine.maintenance import maintenance_job
    from engine.state.store import open_run_store

    settings = STATE.settings
    name, definition = maintenance_job(table, operation, **arguments)
    record = run_job(settings, open_run_store(settings), name, definition, {}, master=master)
    if record.state != RunState.SUCCEEDED:
        raise JobError(
            f"{operation} of {table} ended {record.state}"
            + (f": {record.error}" if record.error else ""),
            hint=f"its log: {record.log_path}",
        )
    say(f"run {record.run_id}: {record.state} · log {record.log_path}")


@app.command("optimize")
def optimize(table: str = TABLE, master: str = MASTER) -> None:
    """Compact the table's small files (Delta OPTIMIZE), holding its writer lock.

    Example: headwater table optimize shop.orders
    """
    _run(table, "optimize", master)


@app.command("vacuum")
def vacuum(
    table: str = TABLE,
    retain_hours: float = typer.Option(
        168.0, "--retain-hours", min=0, help="Keep files a version this recent reads."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; delete nothing."),
    master: str = MASTER,
) -> None:
    """Delete files no recent version reads (Delta VACUUM). Versions pinned by a
    `headwater snapshot` stay readable: the retention covers the oldest pin.

    Examples:
      headwater table vacuum shop.orders --dry-run
      headwater table vacuum shop.orders --retain-hours 24
    """
    _run(table, "vacuum", master, retain_hours=retain_hours, dry_run=dry_run)


def _location(table: str) -> str:
    from catalog.cli import split_name
    from engine.cli.context import open_catalog

    database, name = split_name(table)
    return open_catalog().get_table(database, name).location.rstrip("/")


@app.command("pins")
def pins(table: str = TABLE, as_json: bool = typer.Option(False, "--json")) -> None:
    """The table's versions pinned by snapshot manifests (vacuum keeps them readable).

    Example: headwater table pins raw.sales
    """
    from engine.state.store import open_run_store

    found = open_run_store(STATE.settings).pins(_location(table))
    render([asdict(p) for p in found], title=f"pins of {table}", as_json=as_json)


@app.command("unpin")
def unpin(
    table: str = TABLE,
    version: int = typer.Option(..., "--version", min=0, help="The pinned version."),
) -> None:
    """Release a pin: a later vacuum may delete the files only that version read.

    Example: headwater table unpin raw.sales --version 3
    """
    from engine.state.store import open_run_store

    if not open_run_store(STATE.settings).release_pin(_location(table), version):
        raise JobError(
            f"{table} version {version} is not pinned", hint=f"headwater table pins {table}"
        )
    say(f"{table} version {version}: released")
