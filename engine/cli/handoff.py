"""``headwater snapshot`` and ``headwater catalog history``: pinned versions for ML."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from catalog.output import render, say
from engine.cli.context import STATE
from engine.cli.history import complete_table


def snapshot(
    name: str = typer.Argument(
        ..., help="database.table (a Delta table).", autocompletion=complete_table
    ),
    version: int = typer.Option(None, "--version", min=0, help="Pin this Delta version."),
    timestamp: datetime = typer.Option(
        None, "--timestamp", help="Pin the version current at this time (ISO)."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write the manifest here."),
) -> None:
    """Write a manifest (table, version, schema, rows, files, checksum) that a training
    run stores; `engine.handoff.read_snapshot(manifest)` reads exactly those rows.

    Examples:
      headwater snapshot raw.sales -o sales.manifest.json
      headwater snapshot raw.sales --version 3
    """
    from engine import handoff

    manifest = handoff.snapshot(name, version=version, timestamp=timestamp, settings=STATE.settings)
    if output is None:
        print(manifest.to_json())
        return
    output.write_text(manifest.to_json() + "\n")
    say(
        f"{manifest.table} version {manifest.version} ({manifest.timestamp}): "
        f"{manifest.row_count} rows in {len(manifest.files)} files; manifest {output}"
    )


def history(
    name: str = typer.Argument(
        ..., help="database.table (a Delta table).", autocompletion=complete_table
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List a Delta table's versions (commits), newest first: what each wrote.

    Example: headwater catalog history raw.sales
    """
    from engine import handoff

    render(handoff.history(name, STATE.settings), title=f"history of {name}", as_json=as_json)
