"""Errors of the catalog package (which stands alone and never imports engine).

They share the shape of ``engine.errors.HeadwaterError`` (message, hint, context);
the CLI treats both the same way.
"""

from __future__ import annotations

from typing import Any


class CatalogError(Exception):
    """The metastore or SQL endpoint refused or failed a catalog operation."""

    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class TableNotFoundError(CatalogError):
    """A named table is not in the catalog."""


class CatalogUnavailableError(CatalogError):
    """The SQL endpoint cannot be reached (is the stack up?)."""

    transient = True
