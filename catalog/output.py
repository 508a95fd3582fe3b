"""The one output layer: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

# Wide enough for locations when output is piped (rich assumes 80 columns then).
console = Console(width=None if Console().is_terminal else 160)
error_console = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)


def render(
    rows: Sequence[dict[str, Any]],
    *,
    title: str | None = None,
    as_json: bool = False,
    columns: Sequence[str] | None = None,
) -> None:
    if as_json:
        print(json.dumps(list(rows), indent=2, default=str))
        return
    names = list(columns or (rows[0].keys() if rows else []))
    table = RichTable(title=title, title_justify="left")
    for name in names:
        table.add_column(name)
    for row in rows:
        # escaped: "[read landing.sales] …" is text, not rich markup
        table.add_row(*("" if row.get(n) is None else escape(str(row.get(n))) for n in names))
    console.print(table)


def say(text: str) -> None:
    console.print(text, highlight=False)


def fail(text: str, hint: str | None = None) -> None:
    error_console.print(f"[bold red]error:[/] {text}", highlight=False)
    if hint:
        error_console.print(f"[yellow]hint:[/] {hint}", highlight=False)
