"""The one output layer: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def _console(stderr: bool = False) -> Console:
    """rich's console, made on first use: ``--json`` output never imports rich, which
    costs a command 30 ms. Wide enough for locations when output is piped (rich
    assumes 80 columns then)."""
    from rich.console import Console  # deferred: rich, for output to people

    return Console(stderr=stderr, width=None if Console(stderr=stderr).is_terminal else 160)


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
    from rich.markup import escape  # deferred: rich, for output to people
    from rich.table import Table as RichTable  # deferred: rich

    names = list(columns or (rows[0].keys() if rows else []))
    table = RichTable(title=title, title_justify="left")
    for name in names:
        table.add_column(name)
    for row in rows:
        # escaped: "[read landing.sales] …" is text, not rich markup
        table.add_row(*("" if row.get(n) is None else escape(str(row.get(n))) for n in names))
    _console().print(table)


def say(text: str) -> None:
    _console().print(text, highlight=False)


def fail(text: str, hint: str | None = None) -> None:
    _console(stderr=True).print(f"[bold red]error:[/] {text}", highlight=False)
    if hint:
        _console(stderr=True).print(f"[yellow]hint:[/] {hint}", highlight=False)
