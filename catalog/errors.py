"""headwater's root error, and the catalog's own errors.

The root lives here, in the lowest package, so ``catalog`` (which never imports
``engine``) and ``engine`` (which re-exports it from ``engine.errors``) share one
hierarchy and the CLI catches one class.
"""

from __future__ import annotations

from typing import Any


class HeadwaterError(Exception):
    """Root of headwater's errors. ``hint`` says what the user should do.

    ``transient`` says whether retrying can help (a refused connection, a Delta
    concurrent-append conflict) or not (bad config, a schema conflict).
    """

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


class CatalogError(HeadwaterError):
    """The metastore or SQL endpoint refused or failed a catalog operation."""


class DatabaseNotFoundError(CatalogError):
    """A named database is not in the catalog."""


class TableNotFoundError(CatalogError):
    """A named table is not in the catalog."""


class DefinitionRefusedError(CatalogError):
    """The metastore refused a table's new definition as an in-place change (changed
    partition keys, or column types its policy calls incompatible)."""


class CatalogUnavailableError(CatalogError):
    """The SQL endpoint cannot be reached (is the stack up?)."""

    transient = True
